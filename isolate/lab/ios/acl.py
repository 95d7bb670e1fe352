"""Extended IP access-list entries: parse (with IOS error positions), render, evaluate."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from isolate.lab.ios.cli import CliError, Tokens

PROTOCOLS = ("ahp", "eigrp", "esp", "gre", "icmp", "igmp", "ip", "ipinip", "nos", "ospf",
             "pcp", "pim", "tcp", "udp")
PORT_OPS = ("eq", "gt", "lt", "neq", "range")
TCP_NAMES = {"bgp": 179, "chargen": 19, "daytime": 13, "discard": 9, "domain": 53, "echo": 7,
             "finger": 79, "ftp": 21, "ftp-data": 20, "gopher": 70, "ident": 113, "irc": 194,
             "lpd": 515, "nntp": 119, "pop2": 109, "pop3": 110, "smtp": 25,
             "sunrpc": 111, "tacacs": 49, "telnet": 23, "time": 37, "whois": 43,
             "www": 80}
UDP_NAMES = {"biff": 512, "bootpc": 68, "bootps": 67, "domain": 53, "isakmp": 500,
             "netbios-dgm": 138, "netbios-ns": 137, "netbios-ss": 139, "ntp": 123, "snmp": 161,
             "snmptrap": 162, "syslog": 514, "tacacs": 49, "tftp": 69}


def _names(proto: str) -> dict[str, int]:
    return TCP_NAMES if proto == "tcp" else UDP_NAMES if proto == "udp" else {}


_PRINTED = {proto: {v: k for k, v in _names(proto).items()} for proto in ("tcp", "udp")}


@dataclass(frozen=True)
class Address:
    """``any``, ``host A`` or ``A W`` (wildcard mask), normalised as IOS does."""

    ip: str = "0.0.0.0"
    wildcard: str = "255.255.255.255"

    def render(self) -> str:
        if self.wildcard == "255.255.255.255":
            return "any"
        if self.wildcard == "0.0.0.0":
            return f"host {self.ip}"
        return f"{self.ip} {self.wildcard}"

    def matches(self, address: str) -> bool:
        wild = int(ipaddress.IPv4Address(self.wildcard))
        base = int(ipaddress.IPv4Address(self.ip))
        return (int(ipaddress.IPv4Address(address)) & ~wild) == (base & ~wild)


@dataclass(frozen=True)
class PortMatch:
    op: str  # eq | gt | lt | neq | range
    ports: tuple[int, ...]

    def render(self, proto: str) -> str:
        names = _PRINTED.get(proto, {})
        return " ".join([self.op, *(names.get(p, str(p)) for p in self.ports)])

    def matches(self, port: int) -> bool:
        first = self.ports[0]
        if self.op == "eq":
            return port in self.ports
        if self.op == "neq":
            return port not in self.ports
        if self.op == "gt":
            return port > first
        if self.op == "lt":
            return port < first
        return first <= port <= self.ports[-1]


@dataclass(frozen=True)
class Ace:
    """One access-control entry. ``action`` is ``permit``, ``deny`` or ``remark``."""

    seq: int
    action: str
    proto: str = "ip"
    src: Address = Address()
    sport: PortMatch | None = None
    dst: Address = Address()
    dport: PortMatch | None = None
    log: bool = False
    remark: str = ""
    established: bool = False  # tcp only: matches packets with ACK or RST (replies)

    def body(self) -> str:
        """The entry as typed after the action word (canonical form); computed once (an ACL of
        hundreds of entries compares every new entry with each one)."""
        cached: str | None = self.__dict__.get("_body_cache")
        if cached is None:
            cached = self._body()
            self.__dict__["_body_cache"] = cached
        return cached

    def _body(self) -> str:
        if self.action == "remark":
            return self.remark
        parts = [self.proto, self.src.render()]
        if self.sport:
            parts.append(self.sport.render(self.proto))
        parts.append(self.dst.render())
        if self.dport:
            parts.append(self.dport.render(self.proto))
        if self.established:
            parts.append("established")
        if self.log:
            parts.append("log")
        return " ".join(parts)

    def running_line(self) -> str:
        """The line in running-config: ``deny`` padded to the width of ``permit`` (computed
        once: every render of a config lists its ACLs' entries)."""
        cached: str | None = self.__dict__.get("_running_cache")
        if cached is None:
            action = "deny  " if self.action == "deny" else self.action
            cached = f" {action} {self.body()}"
            self.__dict__["_running_cache"] = cached
        return cached

    def show_line(self) -> str:
        """The line in ``show ip access-lists``."""
        return f"    {self.seq} {self.action} {self.body()}"

    def matches(self, proto: str, src_ip: str, dst_ip: str, dport: int | None) -> bool:
        if self.action == "remark":
            return False
        if self.proto != "ip" and self.proto != proto:
            return False
        if not (self.src.matches(src_ip) and self.dst.matches(dst_ip)):
            return False
        if self.sport is not None or self.established:
            return False  # flows model a connection's first packet: unknown source port, no ACK
        if self.dport is not None:
            return dport is not None and self.dport.matches(dport)
        return True

    def to_json(self) -> list[object]:
        return [self.seq, self.action, self.body()]


def _ipv4(tokens: Tokens, index: int) -> str:
    word = tokens.word(index)
    try:
        return str(ipaddress.IPv4Address(word))
    except ValueError:
        raise CliError.invalid(index) from None


def _address(tokens: Tokens, index: int) -> tuple[Address, int]:
    word = tokens.need(index).lower()
    if word in ("an", "any"):
        return Address(), index + 1
    if word == "host":
        return Address(_ipv4(tokens, index + 1), "0.0.0.0"), index + 2
    ip = _ipv4(tokens, index)
    wild = _ipv4(tokens, index + 1)
    base = int(ipaddress.IPv4Address(ip)) & ~int(ipaddress.IPv4Address(wild)) & 0xFFFFFFFF
    return Address(str(ipaddress.IPv4Address(base)), wild), index + 2


def _port(tokens: Tokens, index: int, proto: str) -> int:
    word = tokens.word(index).lower()
    if word.isdigit() and 0 <= int(word) <= 65535:
        return int(word)
    named = _names(proto).get(word)
    if named is None:
        raise CliError.invalid(index)
    return named


def _port_match(tokens: Tokens, index: int, proto: str) -> tuple[PortMatch | None, int]:
    if proto not in ("tcp", "udp") or index >= len(tokens):
        return None, index
    op = tokens.word(index).lower()
    if op not in PORT_OPS:
        return None, index
    if op == "range":
        low, high = _port(tokens, index + 1, proto), _port(tokens, index + 2, proto)
        if high < low:
            raise CliError.invalid(index + 2)
        return PortMatch(op, (low, high)), index + 3
    return PortMatch(op, (_port(tokens, index + 1, proto),)), index + 2


_PARSED: dict[tuple[tuple[str, ...], int, int], Ace] = {}  # entries are immutable: shared


def parse_ace(tokens: Tokens, index: int, seq: int) -> Ace:
    """Parse ``permit|deny PROTO SRC [PORTS] DST [PORTS] [log]`` starting at ``index`` (each
    distinct line parsed once per lab process: a thousand switches share their ACL lines)."""
    key = (tuple(tokens.words), index, seq)
    ace = _PARSED.get(key)
    if ace is None:
        ace = _parse_ace(tokens, index, seq)
        if len(_PARSED) >= 100_000:
            _PARSED.clear()
        _PARSED[key] = ace
    return ace


def _parse_ace(tokens: Tokens, index: int, seq: int) -> Ace:
    action = tokens.keyword(index, ("deny", "permit", "remark"))
    if action == "remark":
        tokens.need(index + 1)
        return Ace(seq, "remark", remark=tokens.rest(index + 1))
    proto_word = tokens.need(index + 1).lower()
    if proto_word.isdigit() and 0 <= int(proto_word) <= 255:
        proto = proto_word
    else:
        proto = tokens.keyword(index + 1, PROTOCOLS)
    src, at = _address(tokens, index + 2)
    sport, at = _port_match(tokens, at, proto)
    dst, at = _address(tokens, at)
    dport, at = _port_match(tokens, at, proto)
    established = False
    if at < len(tokens) and proto == "tcp" and tokens.word(at).lower() == "established":
        established, at = True, at + 1
    log = False
    if at < len(tokens):
        tokens.keyword(at, ("log",))
        log, at = True, at + 1
    if at < len(tokens):
        raise CliError.invalid(at)
    return Ace(seq, action, proto, src, sport, dst, dport, log, established=established)


def ace_from_json(item: list[object]) -> Ace:
    seq, action, body = int(str(item[0])), str(item[1]), str(item[2])
    return parse_ace(Tokens(f"{action} {body}"), 0, seq)
