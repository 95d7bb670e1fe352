"""The nftables ruleset model: values, statements, rules, chains, sets, tables.

Values and statements are frozen; the ruleset containers are mutable because the
simulated kernel changes them in place (a transaction works on a deep copy and
replaces the live ruleset only when every command succeeded).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
HOOKS = ("prerouting", "input", "forward", "output", "postrouting", "ingress", "egress")
CHAIN_TYPES = ("filter", "nat", "route")

# ct state bits, in the order nft prints them
CT_STATES = {"invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64}

PROTOCOLS = {
    "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
    "icmpv6": 58, "sctp": 132, "udplite": 136,
}  # fmt: skip
PROTOCOL_NAMES = {number: name for name, number in PROTOCOLS.items()}

SERVICES = {
    "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80,
    "kerberos": 88, "pop3": 110, "ntp": 123, "netbios-ns": 137, "netbios-dgm": 138,
    "netbios-ssn": 139, "imap": 143, "snmp": 161, "ldap": 389, "https": 443,
    "microsoft-ds": 445, "syslog": 514, "ldaps": 636, "openvpn": 1194,
    "ms-sql-s": 1433, "mysql": 3306, "rdp": 3389, "ms-wbt-server": 3389,
    "postgresql": 5432, "http-alt": 8080,
}  # fmt: skip


@dataclass(frozen=True, order=True)
class Addr:
    """One IPv4/IPv6 address, or a prefix (``length`` < full width)."""

    version: int
    value: int
    length: int

    @property
    def width(self) -> int:
        return 32 if self.version == 4 else 128

    @property
    def last(self) -> int:
        return self.value | ((1 << (self.width - self.length)) - 1)

    def text(self) -> str:
        base = str(ipaddress.ip_address(self.value)) if self.version == 4 else _v6(self.value)
        return base if self.length == self.width else f"{base}/{self.length}"

    def addr_text(self) -> str:
        return str(ipaddress.ip_address(self.value)) if self.version == 4 else _v6(self.value)


def _v6(value: int) -> str:
    """As inet_ntop prints it: IPv4-mapped addresses keep their dotted quad."""
    address = ipaddress.IPv6Address(value)
    mapped = address.ipv4_mapped
    return f"::ffff:{mapped}" if mapped is not None else str(address)


@dataclass(frozen=True, order=True)
class AddrRange:
    version: int
    low: int
    high: int

    def text(self) -> str:
        return f"{_addr_str(self.version, self.low)}-{_addr_str(self.version, self.high)}"


def _addr_str(version: int, value: int) -> str:
    return str(ipaddress.IPv4Address(value)) if version == 4 else _v6(value)


@dataclass(frozen=True, order=True)
class Num:
    """A port, a protocol number or another integer."""

    value: int


@dataclass(frozen=True, order=True)
class NumRange:
    low: int
    high: int


@dataclass(frozen=True, order=True)
class Name:
    """An interface name (printed quoted)."""

    value: str


@dataclass(frozen=True)
class CtState:
    mask: int
    braced: bool = False  # ``ct state { a, b }``: an anonymous set (it takes a handle)


@dataclass(frozen=True)
class SetRef:
    name: str


Element = Addr | AddrRange | Num | NumRange | Name


@dataclass(frozen=True)
class SetLit:
    """An anonymous set ``{ a, b }``: its elements, sorted as nft keeps them."""

    elements: tuple[Element, ...]


Value = Element | CtState | SetRef | SetLit


def element_key(element: Element) -> tuple[int, int, str]:
    if isinstance(element, Addr):
        return (element.value, element.last, "")
    if isinstance(element, AddrRange):
        return (element.low, element.high, "")
    if isinstance(element, Num):
        return (element.value, element.value, "")
    if isinstance(element, NumRange):
        return (element.low, element.high, "")
    return (0, 0, element.value)


def element_bounds(element: Element) -> tuple[int, int] | None:
    key = element_key(element)
    return None if isinstance(element, Name) else (key[0], key[1])


# -- statements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """``<key> [!=] <value>``; key is e.g. ``ip saddr``, ``tcp dport``, ``meta l4proto``."""

    key: str
    value: Value
    negate: bool = False


@dataclass(frozen=True)
class Counter:
    packets: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Log:
    prefix: str | None = None


@dataclass(frozen=True)
class Verdict:
    kind: str  # accept | drop | return | continue | jump | goto
    target: str | None = None


@dataclass(frozen=True)
class Reject:
    """``reject``; ``kind`` None (default), ``tcp reset``, ``icmpx``, ``icmp``, ``icmpv6``."""

    kind: str | None = None
    code: str | None = None


Statement = Match | Counter | Log | Verdict | Reject


@dataclass(frozen=True)
class Rule:
    handle: int
    statements: tuple[Statement, ...]
    comment: str | None = None


@dataclass(frozen=True)
class BaseSpec:
    type: str
    hook: str
    priority: int
    policy: str = "accept"
    device: str | None = None


@dataclass
class Chain:
    name: str
    handle: int
    base: BaseSpec | None = None
    comment: str | None = None
    rules: list[Rule] = field(default_factory=list)


@dataclass
class NamedSet:
    name: str
    handle: int
    type: str
    flags: tuple[str, ...] = ()
    elements: list[Element] = field(default_factory=list)
    comment: str | None = None


@dataclass
class Table:
    family: str
    name: str
    handle: int
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, NamedSet] = field(default_factory=dict)
    next_handle: int = 1
    comment: str | None = None

    def allocate(self) -> int:
        handle = self.next_handle
        self.next_handle += 1
        return handle


@dataclass
class Ruleset:
    tables: list[Table] = field(default_factory=list)
    next_table_handle: int = 1

    def clone(self) -> Ruleset:
        """A copy a transaction may change (rules, elements and values are immutable)."""
        tables = []
        for t in self.tables:
            chains = {n: Chain(c.name, c.handle, c.base, c.comment, list(c.rules))
                      for n, c in t.chains.items()}  # fmt: skip
            sets = {n: NamedSet(s.name, s.handle, s.type, s.flags, list(s.elements), s.comment)
                    for n, s in t.sets.items()}  # fmt: skip
            tables.append(Table(t.family, t.name, t.handle, chains, sets, t.next_handle, t.comment))
        return Ruleset(tables, self.next_table_handle)

    def find(self, family: str, name: str) -> Table | None:
        for table in self.tables:
            if table.family == family and table.name == name:
                return table
        return None
