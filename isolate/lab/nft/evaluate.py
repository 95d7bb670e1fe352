"""What nftables does with one packet at one hook.

Base chains of the hook (tables of the packet's family and ``inet``) run in priority
order. ``accept`` ends the current base chain and the packet goes on to the next one;
``drop`` and ``reject`` are final; falling off the end of a base chain applies its
policy. ``jump`` returns to the caller on ``return`` or at the end of the jumped-to
chain; ``goto`` does not come back. Counters are not updated (evaluation is pure).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from isolate.lab.nft.model import (
    CT_STATES,
    PROTOCOLS,
    Addr,
    AddrRange,
    Chain,
    CtState,
    Element,
    Match,
    Name,
    Num,
    NumRange,
    Reject,
    Ruleset,
    SetLit,
    SetRef,
    Table,
    Value,
    Verdict,
)


@dataclass(frozen=True)
class Packet:
    proto: str  # tcp | udp | icmp | ...
    saddr: str
    daddr: str
    dport: int | None = None
    sport: int | None = 40000
    iif: str | None = None
    oif: str | None = None
    ct_state: str = "new"


@dataclass(frozen=True)
class Decision:
    verdict: str  # accept | drop
    table: str | None = None  # "family name" of the deciding table
    chain: str | None = None
    handle: int | None = None  # deciding rule, None for a policy or no chain

    @property
    def accepted(self) -> bool:
        return self.verdict == "accept"

    def describe(self) -> str:
        if self.chain is None:
            return "no base chain"
        where = f"{self.table} {self.chain}"
        if self.handle is None:
            return f"{where} policy {self.verdict}"
        return f"{where} rule handle {self.handle} {self.verdict}"


def evaluate(ruleset: Ruleset, hook: str, packet: Packet) -> Decision:
    version = ipaddress.ip_address(packet.saddr).version
    family = "ip" if version == 4 else "ip6"
    bases: list[tuple[int, int, Table, Chain]] = []
    order = 0
    for table in ruleset.tables:
        if table.family not in (family, "inet"):
            continue
        for chain in table.chains.values():
            if chain.base is not None and chain.base.hook == hook and chain.base.type == "filter":
                bases.append((chain.base.priority, order, table, chain))
                order += 1
    bases.sort(key=lambda item: (item[0], item[1]))
    last = Decision("accept")
    for _, _, table, chain in bases:
        decision = _run_base(table, chain, packet)
        if decision.verdict == "drop":
            return decision
        last = decision
    return last


def _run_base(table: Table, chain: Chain, packet: Packet) -> Decision:
    label = f"{table.family} {table.name}"
    outcome = _run_chain(table, chain, packet, depth=0)
    if outcome is not None:
        verdict, handle = outcome
        return Decision(verdict, label, chain.name, handle)
    assert chain.base is not None
    return Decision(chain.base.policy, label, chain.name, None)


def _run_chain(table: Table, chain: Chain, packet: Packet, depth: int) -> tuple[str, int] | None:
    """The final verdict (accept/drop) and the rule that gave it, or None to fall through."""
    if depth > 16:
        return ("drop", -1)
    for rule in chain.rules:
        result = _run_rule(table, rule.statements, packet, depth)
        if result == "next":
            continue
        if result == "return":
            return None
        if isinstance(result, tuple):
            return (str(result[0]), int(result[1]))
        return (str(result), rule.handle)
    return None


def _run_rule(table: Table, statements: tuple[object, ...], packet: Packet, depth: int) -> object:
    for statement in statements:
        if isinstance(statement, Match):
            if not _matches(table, statement, packet):
                return "next"
        elif isinstance(statement, Reject):
            return "drop"
        elif isinstance(statement, Verdict):
            if statement.kind in ("accept", "drop", "return"):
                return statement.kind
            if statement.kind in ("jump", "goto") and statement.target in table.chains:
                inner = _run_chain(table, table.chains[statement.target], packet, depth + 1)
                if inner is not None:
                    return inner
                return "return" if statement.kind == "goto" else "next"
    return "next"


def _field(statement: Match, packet: Packet) -> int | str | None:
    proto, field = statement.key.split()
    version = ipaddress.ip_address(packet.saddr).version
    if proto in ("ip", "ip6"):
        if (proto == "ip") != (version == 4):
            return None
        if field in ("protocol", "nexthdr"):
            return PROTOCOLS.get(packet.proto)
        return int(ipaddress.ip_address(packet.saddr if field == "saddr" else packet.daddr))
    if proto in ("tcp", "udp", "th"):
        if (proto != "th" and packet.proto != proto) or packet.proto not in ("tcp", "udp"):
            return None
        return packet.sport if field == "sport" else packet.dport
    if proto == "meta":
        if field == "l4proto":
            return PROTOCOLS.get(packet.proto)
        return (packet.iif if field == "iifname" else packet.oif) or ""
    return CT_STATES.get(packet.ct_state, 0)


def _matches(table: Table, statement: Match, packet: Packet) -> bool:
    actual = _field(statement, packet)
    if actual is None:
        return False
    hit = _value_has(table, statement.value, actual)
    return hit != statement.negate


def _value_has(table: Table, value: Value, actual: int | str) -> bool:
    if isinstance(value, CtState):
        return isinstance(actual, int) and bool(value.mask & actual)
    if isinstance(value, SetRef):
        named = table.sets.get(value.name)
        return named is not None and any(_element_has(e, actual) for e in named.elements)
    if isinstance(value, SetLit):
        return any(_element_has(e, actual) for e in value.elements)
    return _element_has(value, actual)


def _element_has(element: Element, actual: int | str) -> bool:
    if isinstance(element, Name):
        wanted = element.value
        if isinstance(actual, str) and wanted.endswith("*"):
            return actual.startswith(wanted[:-1])
        return actual == wanted
    if not isinstance(actual, int):
        return False
    if isinstance(element, Addr):
        return element.value <= actual <= element.last
    if isinstance(element, AddrRange | NumRange):
        return element.low <= actual <= element.high
    assert isinstance(element, Num)
    return element.value == actual
