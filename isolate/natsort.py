"""Natural order for names: ``ws-2`` before ``ws-10``, as an admin reads a list."""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """``ws-10-1`` → ((1, 'ws-'), (0, 10), (1, '-'), (0, 1), (1, '')): numbers compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(name))


def natural_sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=natural_key)
