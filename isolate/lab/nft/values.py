"""Typed values of match keys: parsing words into values and printing them back."""

from __future__ import annotations

import ipaddress
import re

from isolate.lab.nft.model import (
    CT_STATES,
    PROTOCOL_NAMES,
    PROTOCOLS,
    SERVICES,
    Addr,
    AddrRange,
    CtState,
    Element,
    Name,
    Num,
    NumRange,
    SetLit,
    SetRef,
    Value,
    element_key,
)

# match key -> datatype of its values
KEY_TYPES = {
    "ip saddr": "ipv4_addr",
    "ip daddr": "ipv4_addr",
    "ip protocol": "inet_proto",
    "ip6 saddr": "ipv6_addr",
    "ip6 daddr": "ipv6_addr",
    "ip6 nexthdr": "inet_proto",
    "tcp sport": "inet_service",
    "tcp dport": "inet_service",
    "udp sport": "inet_service",
    "udp dport": "inet_service",
    "th sport": "inet_service",
    "th dport": "inet_service",
    "meta l4proto": "inet_proto",
    "meta iifname": "ifname",
    "meta oifname": "ifname",
    "ct state": "ct_state",
}

SET_TYPES = ("ipv4_addr", "ipv6_addr", "inet_service", "inet_proto", "ifname")

STD_PRIOS = (
    ("raw", -300), ("mangle", -150), ("dstnat", -100), ("filter", 0), ("security", 50),
    ("srcnat", 100),
)  # fmt: skip
BRIDGE_PRIOS = (("dstnat", -300), ("filter", -200), ("out", 100), ("srcnat", 300))


class ValueError_(Exception):
    """A word that is not a value of the expected type; ``message`` is nft's wording."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_RESOLVE_HOST = "Could not resolve hostname: Name or service not known"


def parse_element(word: str, datatype: str, *, quoted: bool = False) -> Element:
    if datatype in ("ipv4_addr", "ipv6_addr"):
        return _parse_addr(word, 4 if datatype == "ipv4_addr" else 6)
    if datatype == "inet_service":
        return _parse_numeric(word, _service)
    if datatype == "inet_proto":
        return _parse_numeric(word, _protocol)
    return Name(word)


def _parse_addr(word: str, version: int) -> Addr | AddrRange:
    if "/" in word:
        base, _, length_text = word.partition("/")
        if not length_text.isdigit():
            raise ValueError_(_RESOLVE_HOST)
        try:
            net = ipaddress.ip_network(f"{base}/{length_text}", strict=False)
        except ValueError as exc:
            raise ValueError_(_RESOLVE_HOST) from exc
        if net.version != version:
            raise ValueError_(_RESOLVE_HOST)
        return Addr(version, int(net.network_address), net.prefixlen)
    if "-" in word:
        low_text, _, high_text = word.partition("-")
        low, high = _one_addr(low_text, version), _one_addr(high_text, version)
        if high < low:
            raise ValueError_(f"Range has zero or negative size: {word}")
        return AddrRange(version, low, high)
    return Addr(version, _one_addr(word, version), 32 if version == 4 else 128)


def _one_addr(text: str, version: int) -> int:
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise ValueError_(_RESOLVE_HOST) from exc
    if address.version != version:
        raise ValueError_(_RESOLVE_HOST)
    return int(address)


def _service(text: str) -> int:
    if text.isdigit():
        value = int(text)
        if value > 65535:
            raise ValueError_(f"Value {value} exceeds valid range 0-65535")
        return value
    if text in SERVICES:
        return SERVICES[text]
    raise ValueError_("Could not resolve service: Servname not supported for ai_socktype")


def _protocol(text: str) -> int:
    if text.isdigit() and int(text) < 256:
        return int(text)
    if text in PROTOCOLS:
        return PROTOCOLS[text]
    raise ValueError_(f"Could not resolve protocol name: {text}")


def _parse_numeric(word: str, one: object) -> Num | NumRange:
    convert = one  # typed as callable below
    assert callable(convert)
    match = re.fullmatch(r"([^-]+)-([^-]+)", word)
    if match:
        low, high = int(convert(match.group(1))), int(convert(match.group(2)))
        if high < low:
            raise ValueError_(f"Range has zero or negative size: {word}")
        return NumRange(low, high)
    return Num(int(convert(word)))


def parse_ct_states(words: list[str]) -> CtState:
    mask = 0
    for word in words:
        if word not in CT_STATES:
            raise ValueError_(f"Could not parse conntrack state: {word}")
        mask |= CT_STATES[word]
    return CtState(mask)


def sort_elements(elements: list[Element]) -> tuple[Element, ...]:
    unique = {element: None for element in elements}
    return tuple(sorted(unique, key=element_key))


def set_display(element: Element) -> Element:
    """Anonymous/interval set display: ranges that are exactly a prefix print as the prefix."""
    if isinstance(element, AddrRange):
        width = 32 if element.version == 4 else 128
        size = element.high - element.low + 1
        if size & (size - 1) == 0 and element.low % size == 0:
            return Addr(element.version, element.low, width - (size.bit_length() - 1))
    return element


# -- printing -----------------------------------------------------------------------------


def element_text(element: Element, datatype: str) -> str:
    if isinstance(element, Addr | AddrRange):
        return element.text()
    if isinstance(element, Num):
        return _num_text(element.value, datatype)
    if isinstance(element, NumRange):
        return f"{_num_text(element.low, datatype)}-{_num_text(element.high, datatype)}"
    return f'"{element.value}"'


def _num_text(value: int, datatype: str) -> str:
    if datatype == "inet_proto":
        return PROTOCOL_NAMES.get(value, str(value))
    return str(value)


def value_text(value: Value, datatype: str) -> str:
    if isinstance(value, SetRef):
        return f"@{value.name}"
    if isinstance(value, CtState):
        names = [name for name, bit in CT_STATES.items() if value.mask & bit]
        return "{ " + ", ".join(names) + " }" if value.braced else ",".join(names)
    if isinstance(value, SetLit):
        shown = [element_text(set_display(e), datatype) for e in value.elements]
        return "{ " + ", ".join(shown) + " }"
    return element_text(value, datatype)


def named_elements_text(elements: list[Element], datatype: str) -> str:
    """``{ a, b,\\n\\t\\t\\t     c }``: nft wraps after 2 addresses or 16 numbers per line."""
    per_line = {"ipv4_addr": 2, "inet_service": 16, "inet_proto": 16}.get(datatype, 1)
    parts: list[str] = []
    for index, element in enumerate(sort_elements(elements)):
        if index:
            parts.append(",\n\t\t\t     " if index % per_line == 0 else ", ")
        parts.append(element_text(set_display(element), datatype))
    return "{ " + "".join(parts) + " }"


def priority_text(family: str, hook: str, priority: int) -> str:
    for name, base in BRIDGE_PRIOS if family == "bridge" else STD_PRIOS:
        if abs(priority - base) <= 10:
            if not priority_compatible(name, family, hook):
                break
            offset = priority - base
            if offset > 0:
                return f"{name} + {offset}"
            if offset < 0:
                return f"{name} - {-offset}"
            return name
    return str(priority)


def priority_compatible(name: str, family: str, hook: str) -> bool:
    if family == "bridge":
        allowed = {"dstnat": ("prerouting",), "out": ("output",), "srcnat": ("postrouting",)}
        return name == "filter" or hook in allowed.get(name, ())
    if name in ("raw", "mangle", "filter", "security"):
        return True
    if name == "dstnat":
        return hook in ("prerouting", "output")
    if name == "srcnat":
        return hook in ("input", "postrouting")
    return False


def priority_value(family: str, name: str) -> int | None:
    for candidate, value in BRIDGE_PRIOS if family == "bridge" else STD_PRIOS:
        if candidate == name:
            return value
    return None
