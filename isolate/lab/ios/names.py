"""Interface names as IOS spells, abbreviates, orders and shortens them."""

from __future__ import annotations

import re
from functools import lru_cache

# Full type name, short form in `show interfaces status`, sort rank in running-config.
IF_TYPES: dict[str, tuple[str, int]] = {
    "Loopback": ("Lo", 0),
    "Tunnel": ("Tu", 1),
    "Port-channel": ("Po", 2),
    "FastEthernet": ("Fa", 3),
    "GigabitEthernet": ("Gi", 4),
    "TenGigabitEthernet": ("Te", 5),
    "Vlan": ("Vl", 6),
}
VIRTUAL_TYPES = frozenset({"Loopback", "Tunnel", "Port-channel", "Vlan"})
_NUMBER = re.compile(r"^\d+(/\d+){0,2}$")
_SPLIT = re.compile(r"^([A-Za-z-]+)\s*(\S*)$")


class BadInterface(ValueError):
    """``where`` is 0 when the type is wrong, 1 when the number is."""

    def __init__(self, where: int) -> None:
        super().__init__(where)
        self.where = where


def match_type(word: str) -> str | None:
    """Expand an interface-type abbreviation (``gi``, ``Te``, ``int vl``) like IOS."""
    low = word.lower()
    hits = [t for t in IF_TYPES if t.lower().startswith(low)]
    exact = [t for t in hits if t.lower() == low]
    if exact:
        return exact[0]
    return hits[0] if len(hits) == 1 else None


def normalise(text: str) -> str:
    """``gi1/0/5``, ``Gi 1/0/5``, ``GigabitEthernet1/0/5`` -> ``GigabitEthernet1/0/5``.

    Raises BadInterface naming which part (type or number) is wrong.
    """
    found = _SPLIT.match(text.strip())
    if not found:
        raise BadInterface(0)
    kind = match_type(found.group(1))
    if kind is None:
        raise BadInterface(0)
    number = found.group(2)
    if not _NUMBER.match(number):
        raise BadInterface(1)
    if kind == "Vlan" and not 1 <= int(number) <= 4094:
        raise BadInterface(1)
    return kind + number


@lru_cache(maxsize=8192)  # a lab's interface names: every render and snapshot sorts them
def split(name: str) -> tuple[str, str]:
    found = _SPLIT.match(name)
    assert found is not None
    kind = match_type(found.group(1))
    assert kind is not None
    return kind, found.group(2)


def short(name: str) -> str:
    kind, number = split(name)
    return IF_TYPES[kind][0] + number


def is_virtual(name: str) -> bool:
    return split(name)[0] in VIRTUAL_TYPES


@lru_cache(maxsize=8192)
def sort_key(name: str) -> tuple[int, tuple[int, ...]]:
    kind, number = split(name)
    return IF_TYPES[kind][1], tuple(int(p) for p in number.split("/"))
