"""Read ``nft list ruleset`` text (nftables 1.0) and compare rules by meaning.

``parse_ruleset`` returns tables → chains → rule lines. ``canonical_rule`` turns one
rule into a comparable value: match keys with their values as merged intervals, so
that ``{ 10.0.0.0/24, 10.0.1.0/24 }``, ``10.0.0.0-10.0.1.255`` and a single value
all compare by what they match, whatever nft's printing (set merging, one-element
sets printed bare, ``priority filter - 10``). Pure text handling: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

_VERDICTS = frozenset({"accept", "drop", "reject", "return", "continue"})
_MATCH_KEYS = frozenset(
    {
        ("ip", "saddr"),
        ("ip", "daddr"),
        ("ip6", "saddr"),
        ("ip6", "daddr"),
        ("tcp", "dport"),
        ("tcp", "sport"),
        ("udp", "dport"),
        ("udp", "sport"),
        ("th", "dport"),
        ("th", "sport"),
        ("meta", "l4proto"),
    }
)
_TOKEN = re.compile(r'"[^"]*"|[{},]|[^\s{},]+')


@dataclass
class Chain:
    name: str
    spec: list[str] = field(default_factory=list)  # "type filter hook forward priority …"
    rules: list[str] = field(default_factory=list)


@dataclass
class Table:
    family: str
    name: str
    chains: dict[str, Chain] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # the table's full text, as printed


def parse_ruleset(text: str) -> dict[tuple[str, str], Table]:
    """Tables keyed by ``(family, name)``; sets, maps and flowtables are kept only as text."""
    tables: dict[tuple[str, str], Table] = {}
    table: Table | None = None
    chain: Chain | None = None
    depth = 0
    for raw in text.replace("\r", "").split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if depth == 0 and words[0] == "table" and len(words) >= 3 and line.endswith("{"):
            table = Table(words[1], words[2])
            tables[(table.family, table.name)] = table
            table.lines.append(line)
            depth = 1
            continue
        if table is None:
            continue
        table.lines.append(line)
        if depth == 1 and words[0] == "chain" and line.endswith("{"):
            chain = Chain(words[1])
            table.chains[chain.name] = chain
            depth = 2
        elif line == "}":
            depth -= 1
            chain = None if depth < 2 else chain
            table = None if depth == 0 else table
        elif depth == 1 and line.endswith("{"):
            depth = 2  # a set/map/flowtable body: kept as text only
        elif depth == 2 and chain is not None:
            if words[0] in ("type", "policy"):
                chain.spec.append(line)
            else:
                chain.rules.append(line)
    return tables


def hooked_to(chain: Chain, hook: str) -> bool:
    """True when the chain is a base chain on ``hook`` (e.g. ``forward``)."""
    return any(re.search(rf"\bhook {re.escape(hook)}\b", spec) for spec in chain.spec)


Interval = tuple[int, int]
CanonicalRule = tuple[tuple[tuple[str, tuple[Interval, ...]], ...], str]


def canonical_rule(rule: str) -> CanonicalRule:
    """``(((key, intervals), …) sorted, verdict)``; counters and comments ignored."""
    tokens = _TOKEN.findall(rule)
    matches: dict[str, tuple[Interval, ...]] = {}
    verdict = ""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        pair = (token, tokens[index + 1]) if index + 1 < len(tokens) else None
        if pair in _MATCH_KEYS and pair is not None:
            values, index = _read_values(tokens, index + 2)
            key = f"{pair[0]} {pair[1]}"
            matches[key] = _merge([_interval(pair[0], v) for v in values])
            continue
        if token in _VERDICTS:
            verdict = token
        elif token == "counter":
            index += 5 if index + 1 < len(tokens) and tokens[index + 1] == "packets" else 1
            continue
        index += 1
    return tuple(sorted(matches.items())), verdict


def _read_values(tokens: list[str], index: int) -> tuple[list[str], int]:
    if index < len(tokens) and tokens[index] == "{":
        values: list[str] = []
        index += 1
        while index < len(tokens) and tokens[index] != "}":
            if tokens[index] != ",":
                values.append(tokens[index])
            index += 1
        return values, index + 1
    if index < len(tokens):
        return [tokens[index]], index + 1
    return [], index


_PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}


def _interval(kind: str, value: str) -> Interval:
    if kind in ("ip", "ip6"):
        if "/" in value:
            net = ipaddress.ip_network(value, strict=False)
            return int(net.network_address), int(net.broadcast_address)
        if "-" in value:
            low, high = value.split("-", 1)
            return int(ipaddress.ip_address(low)), int(ipaddress.ip_address(high))
        address = int(ipaddress.ip_address(value))
        return address, address
    if kind == "meta":
        number = _PROTO_NUMBERS.get(value, int(value) if value.isdigit() else -1)
        return number, number
    if "-" in value:
        low, high = value.split("-", 1)
        return int(low), int(high)
    return int(value), int(value)


def _merge(intervals: list[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def rule_problems(table: Table | None, chain: str, expected: list[str]) -> list[str]:
    """Differences between the rules nft lists in ``table``/``chain`` and ``expected``
    (rule bodies as rendered); empty when they match by meaning, in order."""
    if table is None:
        return [f"table inet {chain} missing"]
    found = table.chains.get(chain)
    if found is None:
        return [f"chain {chain} missing in table {table.family} {table.name}"]
    problems: list[str] = []
    if not hooked_to(found, "forward"):
        problems.append(f"chain {table.name} {chain} is not a forward base chain")
    try:
        actual = [canonical_rule(r) for r in found.rules]
    except ValueError as exc:
        return [*problems, f"table {table.name}: unreadable rule ({exc})"]
    wanted = [canonical_rule(r) for r in expected]
    if actual != wanted:
        problems.append(
            f"table {table.name} chain {chain}: {len(actual)} rule(s) differ from the {len(wanted)} expected"
        )
    return problems
