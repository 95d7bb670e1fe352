"""Printing rulesets the way nft 1.0.6 prints them: text (plain, ``-a``, ``-s``) and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from isolate.lab.nft.model import (
    CT_STATES,
    PROTOCOL_NAMES,
    Addr,
    AddrRange,
    Chain,
    Counter,
    CtState,
    Element,
    Log,
    Match,
    NamedSet,
    Num,
    NumRange,
    Reject,
    Rule,
    Ruleset,
    SetLit,
    SetRef,
    Statement,
    Table,
    Value,
    Verdict,
)
from isolate.lab.nft.values import (
    KEY_TYPES,
    named_elements_text,
    priority_text,
    set_display,
    sort_elements,
    value_text,
)

VERSION = "1.0.6"
RELEASE = "Lester Gooch #5"


@dataclass(frozen=True)
class Style:
    handles: bool = False  # -a
    stateless: bool = False  # -s


# -- text ---------------------------------------------------------------------------------


def _h(style: Style, handle: int) -> str:
    return f" # handle {handle}" if style.handles else ""


def _key_text(key: str, previous: list[Statement]) -> str:
    if key.startswith("meta ") and key[5:] in ("iifname", "oifname"):
        return key[5:]
    if key.startswith("th "):
        for statement in previous:
            if isinstance(statement, Match) and statement.key.split()[0] in ("tcp", "udp"):
                return f"{statement.key.split()[0]} {key[3:]}"
    return key


def statement_text(statement: Statement, previous: list[Statement], style: Style) -> str:
    if isinstance(statement, Match):
        op = "!= " if statement.negate else ""
        value = value_text(statement.value, KEY_TYPES[statement.key])
        return f"{_key_text(statement.key, previous)} {op}{value}"
    if isinstance(statement, Counter):
        if style.stateless:
            return "counter"
        return f"counter packets {statement.packets} bytes {statement.bytes}"
    if isinstance(statement, Log):
        return "log" if statement.prefix is None else f'log prefix "{statement.prefix}"'
    if isinstance(statement, Verdict):
        return statement.kind if statement.target is None else f"{statement.kind} {statement.target}"
    if statement.kind is None:
        return "reject"
    if statement.kind == "tcp reset":
        return "reject with tcp reset"
    return f"reject with {statement.kind} {statement.code}"


def rule_text(rule: Rule, style: Style = Style()) -> str:
    parts: list[str] = []
    for index, statement in enumerate(rule.statements):
        parts.append(statement_text(statement, list(rule.statements[:index]), style))
    if rule.comment is not None:
        parts.append(f'comment "{rule.comment}"')
    return " ".join(parts)


def _set_lines(named: NamedSet, style: Style) -> list[str]:
    lines = [f"\tset {named.name} {{{_h(style, named.handle)}", f"\t\ttype {named.type}"]
    if named.flags:
        lines.append(f"\t\tflags {','.join(named.flags)}")
    if named.comment is not None:
        lines.append(f'\t\tcomment "{named.comment}"')
    if named.elements:
        lines.append(f"\t\telements = {named_elements_text(named.elements, named.type)}")
    lines.append("\t}")
    return lines


def _chain_lines(table: Table, chain: Chain, style: Style) -> list[str]:
    lines = [f"\tchain {chain.name} {{{_h(style, chain.handle)}"]
    if chain.comment is not None:
        lines.append(f'\t\tcomment "{chain.comment}"')
    if chain.base is not None:
        base = chain.base
        prio = priority_text(table.family, base.hook, base.priority)
        lines.append(f"\t\ttype {base.type} hook {base.hook} priority {prio}; policy {base.policy};")
    for rule in chain.rules:
        lines.append(f"\t\t{rule_text(rule, style)}{_h(style, rule.handle)}")
    lines.append("\t}")
    return lines


def table_text(
    table: Table,
    style: Style = Style(),
    *,
    chains: list[Chain] | None = None,
    sets: list[NamedSet] | None = None,
    table_handle: bool = True,
) -> str:
    """A table's listing; ``list chain``/``list set`` show only that part, and no table handle."""
    shown = _h(style, table.handle) if table_handle else ""
    lines = [f"table {table.family} {table.name} {{{shown}"]
    if table.comment is not None:
        lines.append(f'\tcomment "{table.comment}"')
    blocks = [_set_lines(s, style) for s in (table.sets.values() if sets is None else sets)]
    chosen = table.chains.values() if chains is None else chains
    blocks += [_chain_lines(table, c, style) for c in chosen]
    for index, block in enumerate(blocks):
        if index:
            lines.append("")
        lines.extend(block)
    lines.append("}")
    return "\n".join(lines) + "\n"


def ruleset_text(ruleset: Ruleset, style: Style = Style(), family: str | None = None) -> str:
    return "".join(table_text(t, style) for t in ruleset.tables if family is None or t.family == family)


# -- JSON ---------------------------------------------------------------------------------


def _json_element(element: Element) -> Any:
    if isinstance(element, Addr):
        if element.length == element.width:
            return element.addr_text()
        return {"prefix": {"addr": element.addr_text(), "len": element.length}}
    if isinstance(element, AddrRange):
        low, _, high = element.text().partition("-")
        return {"range": [low, high]}
    if isinstance(element, Num):
        return element.value
    if isinstance(element, NumRange):
        return {"range": [element.low, element.high]}
    return element.value


def _json_value(value: Value, datatype: str) -> Any:
    if isinstance(value, SetRef):
        return f"@{value.name}"
    if isinstance(value, CtState):
        names = [name for name, bit in CT_STATES.items() if value.mask & bit]
        if value.braced:
            return {"set": names}
        return names[0] if len(names) == 1 else names
    if isinstance(value, SetLit):
        return {"set": [_json_proto(_json_element(set_display(e)), datatype) for e in value.elements]}
    return _json_proto(_json_element(value), datatype)


def _json_proto(item: Any, datatype: str) -> Any:
    if datatype == "inet_proto" and isinstance(item, int):
        return PROTOCOL_NAMES.get(item, item)
    return item


def _json_left(key: str, previous: list[Statement]) -> dict[str, Any]:
    proto, field = key.split()
    if proto == "th":
        proto = _key_text(key, previous).split()[0]
    if proto in ("meta", "ct"):
        return {proto: {"key": field}}
    return {"payload": {"protocol": proto, "field": field}}


def _json_statement(
    statement: Statement, previous: list[Statement], family: str, style: Style
) -> dict[str, Any]:
    if isinstance(statement, Match):
        bitmask = statement.key == "ct state" and not getattr(statement.value, "braced", False)
        op = "!=" if statement.negate else ("in" if bitmask else "==")
        right = _json_value(statement.value, KEY_TYPES[statement.key])
        return {"match": {"op": op, "left": _json_left(statement.key, previous), "right": right}}
    if isinstance(statement, Counter):
        values = {"packets": statement.packets, "bytes": statement.bytes}
        return {"counter": None if style.stateless else values}
    if isinstance(statement, Log):
        return {"log": None if statement.prefix is None else {"prefix": statement.prefix}}
    if isinstance(statement, Verdict):
        if statement.target is None:
            return {statement.kind: None}
        return {statement.kind: {"target": statement.target}}
    return {"reject": _json_reject(statement, family)}


def _json_reject(statement: Reject, family: str) -> Any:
    if statement.kind is None:
        if family in ("inet", "bridge", "netdev"):
            return {"type": "icmpx", "expr": "port-unreachable"}
        return None
    if statement.kind == "tcp reset":
        return {"type": "tcp reset"}
    return {"type": statement.kind, "expr": statement.code}


def _json_table_items(table: Table, style: Style, *, only_chain: str | None = None) -> list[dict[str, Any]]:
    fam, tname = table.family, table.name
    items: list[dict[str, Any]] = [{"table": {"family": fam, "name": tname, "handle": table.handle}}]
    if table.comment is not None:
        items[0]["table"]["comment"] = table.comment
    if only_chain is not None:
        items = []
    for named in table.sets.values() if only_chain is None else ():
        item: dict[str, Any] = {
            "family": fam, "name": named.name, "table": tname, "type": named.type,
            "handle": named.handle,
        }  # fmt: skip
        if named.flags:
            item["flags"] = list(named.flags)
        if named.elements:
            elements = sort_elements(named.elements)
            item["elem"] = [_json_proto(_json_element(set_display(e)), named.type) for e in elements]
        items.append({"set": item})
    chains = [c for c in table.chains.values() if only_chain in (None, c.name)]
    for chain in chains:
        entry: dict[str, Any] = {"family": fam, "table": tname, "name": chain.name, "handle": chain.handle}
        if chain.base is not None:
            entry.update(
                type=chain.base.type, hook=chain.base.hook, prio=chain.base.priority,
                policy=chain.base.policy,
            )  # fmt: skip
        items.append({"chain": entry})
    for chain in chains:
        for rule in chain.rules:
            body: dict[str, Any] = {"family": fam, "table": tname, "chain": chain.name, "handle": rule.handle}
            if rule.comment is not None:
                body["comment"] = rule.comment
            body["expr"] = [
                _json_statement(s, list(rule.statements[:i]), fam, style)
                for i, s in enumerate(rule.statements)
            ]
            items.append({"rule": body})
    return items


def ruleset_json(
    ruleset: Ruleset,
    style: Style = Style(),
    family: str | None = None,
    *,
    only_chain: str | None = None,
) -> str:
    items: list[dict[str, Any]] = [
        {"metainfo": {"version": VERSION, "release_name": RELEASE, "json_schema_version": 1}}
    ]
    for table in ruleset.tables:
        if family is None or table.family == family:
            items.extend(_json_table_items(table, style, only_chain=only_chain))
    return json.dumps({"nftables": items}) + "\n"
