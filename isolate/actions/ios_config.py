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
_FULL_NAMES = dict(_ABBREVIATIONS)  # kind (lower case, as typed) -> the name IOS prints
_IFNAME = re.compile(r"^([A-Za-z-]+)\s*([0-9][0-9/.:]*)$")


class Block:
    """One top-level configuration line and its (stripped, space-normalised) children.

    A parsed block keeps its children's raw lines and normalises them on first use: an
    action reads the children of a handful of the hundred-odd blocks of a running-config
    (the port it quarantines, an ACL), and splitting every line of 600 cost more than the rest
    of a pre-check's parse. Blocks compare and print by header and children, however made."""

    __slots__ = ("_children", "_raw", "header")

    def __init__(self, header: str, children: tuple[str, ...] = ()) -> None:
        self.header = header
        self._children: tuple[str, ...] | None = children
        self._raw = ""

    @classmethod
    def _of_lines(cls, first: str, raw: str) -> Block:
        """The block of a header line as printed (normalised here) and its raw lines after it."""
        block = cls.__new__(cls)
        block.header, block._children, block._raw = _norm_fast(first.strip()), None, raw
        return block

    @property
    def children(self) -> tuple[str, ...]:
        children = self._children
        if children is None:  # two threads may both get here: the same tuple either way
            children = self._children = _children(self._raw)
        return children

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Block):
            return NotImplemented
        return self.header == other.header and self.children == other.children

    def __hash__(self) -> int:
        return hash((self.header, self.children))

    def __repr__(self) -> str:
        return f"Block(header={self.header!r}, children={self.children!r})"


def norm(line: str) -> str:
    """Collapse runs of whitespace and strip: IOS pads ``deny   tcp`` for alignment."""
    return " ".join(line.split())


def _norm_fast(line: str) -> str:
    """``norm`` of a stripped line, split and joined only if it needs it (ASCII lines without
    a double space or a control character, nearly all of a config, already are)."""
    if "  " in line or not line.isascii() or not line.isprintable():
        return " ".join(line.split())
    return line


def _children(raw: str) -> tuple[str, ...]:
    """The child lines among a block's raw lines: indented (space or tab), not blank, not a
    ``!`` comment. Other lines between two headers (blank, ``!``, other whitespace) are skipped."""
    out: list[str] = []
    for line in raw.split("\n"):
        if line[:1] not in (" ", "\t"):
            continue
        line = line.strip()
        if not line or line[0] == "!":
            continue
        out.append(_norm_fast(line))
    return tuple(out)


# A line that starts a block: not indented by a space or tab, and not blank or a ``!`` comment
# once leading whitespace (any kind ``str.split`` knows) is set aside.
_HEADER_START = re.compile(r"\n(?=[^ \t\n])(?=[^\S\n]*[^\s!])")


def parse_blocks(text: str) -> list[Block]:
    """Split running-config text into blocks, in device order: cut at each line that starts a
    block (one regular-expression split), headers normalised as ``norm`` does, children left
    raw until asked for (:class:`Block`)."""
    if "\r" in text:
        text = text.replace("\r", "")
    # The text before the first cut (after the "\n" put in front) holds no header: only the
    # lines no block owns. Every other piece starts with its header line.
    return [Block._of_lines(*chunk.partition("\n")[::2]) for chunk in _HEADER_START.split("\n" + text)[1:]]


def canonical_interface(name: str) -> str:
    """``Gi1/0/5`` / ``gigabitethernet1/0/5`` → ``GigabitEthernet1/0/5`` (unknown kinds kept)."""
    match = _IFNAME.match(name.strip())
    if not match:
        return name.strip()
    kind, number = match.group(1, 2)
    return f"{_FULL_NAMES.get(kind.lower(), kind)}{number}"


class _Parsed:
    """One running-config text, split into blocks and indexed (shared, never changed)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.blocks = tuple(parse_blocks(text))
        self.by_header = {b.header.lower(): b for b in self.blocks}
        self.interfaces: dict[str, Block] = {}
        for low, block in self.by_header.items():
            if low.startswith("interface "):
                self.interfaces[canonical_interface(low[len("interface ") :]).lower()] = block


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
