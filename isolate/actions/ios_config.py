"""Read Cisco IOS / ASA ``show running-config`` text as blocks.

A block is a top-level line (no indentation) with its indented children, the way
IOS prints ``interface``, ``vlan``, ``ip access-list`` and ASA prints
``username X attributes``. ``!`` separators and blank lines are skipped; nested
children keep their text but lose their depth (no action here needs it).
Everything here is pure text handling: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass

# IOS prints well-known ports by name in ACL entries (``show ip access-lists``,
# running-config): the keyword lists of the IOS extended ``permit``/``deny`` command, per
# protocol (the same number has different names: tcp 514 is ``cmd``, udp 514 ``syslog``).
TCP_PORT_NAMES: dict[str, int] = {
    "bgp": 179, "chargen": 19, "cmd": 514, "daytime": 13, "discard": 9, "domain": 53,
    "drip": 3949, "echo": 7, "exec": 512, "finger": 79, "ftp": 21, "ftp-data": 20,
    "gopher": 70, "hostname": 101, "ident": 113, "irc": 194, "klogin": 543, "kshell": 544,
    "login": 513, "lpd": 515, "msrpc": 135, "nntp": 119, "onep-plain": 15001,
    "onep-tls": 15002, "pim-auto-rp": 496, "pop2": 109, "pop3": 110, "smtp": 25,
    "sunrpc": 111, "tacacs": 49, "talk": 517, "telnet": 23, "time": 37, "uucp": 540,
    "whois": 43, "www": 80,
}  # fmt: skip
UDP_PORT_NAMES: dict[str, int] = {
    "biff": 512, "bootpc": 68, "bootps": 67, "discard": 9, "dnsix": 195, "domain": 53,
    "echo": 7, "isakmp": 500, "mobile-ip": 434, "nameserver": 42, "netbios-dgm": 138,
    "netbios-ns": 137, "netbios-ss": 139, "non500-isakmp": 4500, "ntp": 123,
    "pim-auto-rp": 496, "rip": 520, "ripng": 521, "snmp": 161, "snmptrap": 162,
    "sunrpc": 111, "syslog": 514, "tacacs": 49, "talk": 517, "tftp": 69, "time": 37,
    "who": 513, "xdmcp": 177,
}  # fmt: skip
PORT_NAMES: dict[str, dict[str, int]] = {"tcp": TCP_PORT_NAMES, "udp": UDP_PORT_NAMES}
_PORT_OPERATORS = {"eq": 1, "neq": 1, "gt": 1, "lt": 1, "range": 2}

_ABBREVIATIONS = (
    ("tengigabitethernet", "TenGigabitEthernet"),
    ("te", "TenGigabitEthernet"),
    ("gigabitethernet", "GigabitEthernet"),
    ("gi", "GigabitEthernet"),
    ("fastethernet", "FastEthernet"),
    ("fa", "FastEthernet"),
    ("ethernet", "Ethernet"),
    ("eth", "Ethernet"),
    ("et", "Ethernet"),
    ("port-channel", "Port-channel"),
    ("po", "Port-channel"),
    ("vlan", "Vlan"),
    ("vl", "Vlan"),
    ("loopback", "Loopback"),
    ("lo", "Loopback"),
)
_IFNAME = re.compile(r"^([A-Za-z-]+)\s*([0-9][0-9/.:]*)$")


@dataclass(frozen=True)
class Block:
    """One top-level configuration line and its (stripped, space-normalised) children."""

    header: str
    children: tuple[str, ...] = ()


def norm(line: str) -> str:
    """Collapse runs of whitespace and strip: IOS pads ``deny   tcp`` for alignment."""
    return " ".join(line.split())


def parse_blocks(text: str) -> list[Block]:
    """Split running-config text into blocks, in device order. Lines are normalised as
    ``norm`` does, but only the lines that need it are split and joined again (ASCII lines
    without a double space or a control character, nearly all of a config, already are)."""
    blocks: list[Block] = []
    header: str | None = None
    children: list[str] = []
    for raw in text.replace("\r", "").split("\n"):
        if not raw:
            continue
        child = raw[0] in " \t"
        if child and header is None:
            continue
        line = raw.strip()
        if not line or line[0] == "!":
            continue
        if "  " in line or not line.isascii() or not line.isprintable():
            line = " ".join(line.split())
        if child:
            children.append(line)
            continue
        if header is not None:
            blocks.append(Block(header, tuple(children)))
        header, children = line, []
    if header is not None:
        blocks.append(Block(header, tuple(children)))
    return blocks


def canonical_interface(name: str) -> str:
    """``Gi1/0/5`` / ``gigabitethernet1/0/5`` → ``GigabitEthernet1/0/5`` (unknown kinds kept)."""
    match = _IFNAME.match(name.strip())
    if not match:
        return name.strip()
    kind, number = match.group(1).lower(), match.group(2)
    for short, full in _ABBREVIATIONS:
        if kind == short:
            return f"{full}{number}"
    return f"{match.group(1)}{number}"


class _Parsed:
    """One running-config text, split into blocks and indexed (shared, never changed)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.blocks = tuple(parse_blocks(text))
        self.by_header = {b.header.lower(): b for b in self.blocks}
        self.interfaces: dict[str, Block] = {}
        for block in self.blocks:
            if block.header.lower().startswith("interface "):
                key = canonical_interface(block.header[len("interface ") :]).lower()
                self.interfaces[key] = block


_LAST = threading.local()  # per thread: the texts parsed last (a device's pre-check, inverse, verify)
_KEEP = 2


def _parsed(text: str) -> _Parsed:
    """``text`` parsed, reusing this thread's last parses of an equal text: an action's
    pre-check, inverse and verification each read the same state, one after the other."""
    recent: list[_Parsed] | None = getattr(_LAST, "recent", None)
    if recent is None:
        recent = _LAST.recent = []
    for parsed in recent:
        if parsed.text is text or parsed.text == text:
            return parsed
    parsed = _Parsed(text)
    recent.insert(0, parsed)
    del recent[_KEEP:]
    return parsed


class RunningConfig:
    """Indexed view of one running-config (the parse of an equal text is reused: read-only)."""

    def __init__(self, text: str) -> None:
        parsed = _parsed(text)
        self.blocks: tuple[Block, ...] = parsed.blocks
        self._by_header = parsed.by_header
        self._interfaces = parsed.interfaces

    def block(self, header: str) -> Block | None:
        return self._by_header.get(norm(header).lower())

    def interface(self, name: str) -> Block | None:
        return self._interfaces.get(canonical_interface(name).lower())

    def top_lines(self) -> list[str]:
        return [b.header for b in self.blocks]

    def vlan(self, vlan_id: int) -> Block | None:
        return self.block(f"vlan {vlan_id}")

    def acl(self, name: str) -> Block | None:
        return self.block(f"ip access-list extended {name}")

    def interfaces(self) -> list[Block]:
        return [b for b in self.blocks if b.header.lower().startswith("interface ")]


def child_value(block: Block, keyword: str) -> str | None:
    """The rest of the first child line starting with ``keyword `` (``None`` if absent)."""
    prefix = keyword.lower() + " "
    for child in block.children:
        if child.lower().startswith(prefix):
            return child[len(prefix) :]
    return None


def has_child(block: Block, line: str) -> bool:
    wanted = norm(line).lower()
    return any(child.lower() == wanted for child in block.children)


def access_vlan(block: Block) -> int:
    """The port's access VLAN as IOS means it: no ``switchport access vlan`` line = VLAN 1."""
    value = child_value(block, "switchport access vlan")
    return int(value) if value and value.isdigit() else 1


def access_group(block: Block, direction: str) -> str | None:
    """Name of the ACL bound with ``ip access-group NAME <direction>`` (``None`` if none)."""
    for child in block.children:
        parts = child.split()
        if len(parts) == 4 and parts[:2] == ["ip", "access-group"] and parts[3] == direction:
            return parts[2]
    return None


def is_shutdown(block: Block) -> bool:
    return has_child(block, "shutdown")


def canonical_ace(line: str) -> str:
    """An ACL entry in comparable form: no sequence number, single spaces, ports as numbers,
    ``host A`` and ``A 0.0.0.0`` the same, ``0.0.0.0 255.255.255.255`` the same as ``any``."""
    words = norm(line).lower().split()
    if words and words[0].isdigit():
        words = words[1:]
    names = PORT_NAMES.get(words[1], {}) if len(words) > 1 else {}
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        nxt = words[index + 1] if index + 1 < len(words) else ""
        if word in _PORT_OPERATORS:
            ports = words[index + 1 : index + 1 + _PORT_OPERATORS[word]]
            out += [word, *(str(names[p]) if p in names else p for p in ports)]
            index += 1 + len(ports)
            continue
        if word == "host" and nxt:
            out.append(f"{nxt}/0.0.0.0")
            index += 2
            continue
        if _is_ipv4(word) and _is_ipv4(nxt):
            out.append("any" if (word, nxt) == ("0.0.0.0", "255.255.255.255") else f"{word}/{nxt}")
            index += 2
            continue
        out.append(word)
        index += 1
    return " ".join(out)


def acl_entries(block: Block) -> list[str]:
    """Canonical entries of an ``ip access-list extended`` block (remarks dropped)."""
    return [canonical_ace(c) for c in block.children if not c.lower().startswith("remark")]


def _is_ipv4(word: str) -> bool:
    try:
        ipaddress.IPv4Address(word)
    except ValueError:
        return False
    return True
