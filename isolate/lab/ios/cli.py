"""Tokens and IOS parse errors (invalid input with its caret, incomplete, ambiguous)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD = re.compile(r"\S+")

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."


class CliError(Exception):
    """A line IOS would refuse. ``index`` is the offending token (invalid only)."""

    def __init__(self, kind: str, index: int = 0) -> None:
        super().__init__(kind)
        self.kind = kind  # invalid | incomplete | ambiguous
        self.index = index

    @classmethod
    def invalid(cls, index: int) -> CliError:
        return cls("invalid", index)

    @classmethod
    def incomplete(cls) -> CliError:
        return cls("incomplete")

    @classmethod
    def ambiguous(cls) -> CliError:
        return cls("ambiguous")


class Tokens:
    """Whitespace-separated words of one line, with their offsets."""

    def __init__(self, line: str) -> None:
        self.line = line
        found = list(_WORD.finditer(line))
        self.words = [m.group(0) for m in found]
        self.offsets = [m.start() for m in found]

    def tail(self, start: int, end: int | None = None) -> Tokens:
        """A view of words[start:end] keeping their offsets in the original line."""
        view = Tokens("")
        view.line = self.line
        view.words = self.words[start:end]
        view.offsets = self.offsets[start:end]
        return view

    def __len__(self) -> int:
        return len(self.words)

    def word(self, index: int) -> str:
        if index >= len(self.words):
            raise CliError.incomplete()
        return self.words[index]

    need = word

    def offset(self, index: int) -> int:
        if index < len(self.offsets):
            return self.offsets[index]
        return len(self.line.rstrip())

    def rest(self, index: int) -> str:
        return self.line[self.offset(index) :].rstrip()

    def keyword(self, index: int, choices: Sequence[str]) -> str:
        """The keyword the (possibly abbreviated) token stands for, as IOS resolves it."""
        return match_keyword(self.word(index).lower(), choices, index)

    def done(self, index: int) -> None:
        """Nothing may follow token ``index - 1``."""
        if index < len(self.words):
            raise CliError.invalid(index)


def match_keyword(word: str, choices: Sequence[str], index: int) -> str:
    hits = [c for c in choices if c.startswith(word)]
    if word in hits:
        return word
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise CliError.ambiguous()
    raise CliError.invalid(index)


def error_text(err: CliError, tokens: Tokens, prompt_len: int) -> str:
    """The error exactly as IOS prints it after the echoed line."""
    if err.kind == "incomplete":
        return INCOMPLETE + "\n"
    if err.kind == "ambiguous":
        return f'% Ambiguous command:  "{tokens.line.strip()}"\n'
    caret = " " * (prompt_len + tokens.offset(err.index)) + "^"
    return f"{caret}\n{INVALID}\n"


def parse_int(tokens: Tokens, index: int, low: int, high: int) -> int:
    word = tokens.word(index)
    if not word.isdigit() or not low <= int(word) <= high:
        raise CliError.invalid(index)
    return int(word)


def parse_vlan_list(tokens: Tokens, index: int) -> list[int]:
    """``10``, ``10,20``, ``10-12,30`` -> sorted VLAN ids (1..4094)."""
    return vlan_list(tokens.word(index), index)


def vlan_list(text: str, index: int) -> list[int]:
    result: set[int] = set()
    for part in text.split(","):
        low_s, _, high_s = part.partition("-")
        if not low_s.isdigit() or (high_s and not high_s.isdigit()):
            raise CliError.invalid(index)
        low, high = int(low_s), int(high_s or low_s)
        if not 1 <= low <= high <= 4094:
            raise CliError.invalid(index)
        result.update(range(low, high + 1))
    return sorted(result)


def compress(vlans: Sequence[int]) -> str:
    """[10, 11, 12, 20] -> ``10-12,20`` as IOS prints VLAN lists."""
    parts: list[str] = []
    ordered = sorted(set(vlans))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{ordered[i]}-{ordered[j]}")
        else:
            parts.extend(str(v) for v in ordered[i : j + 1])
        i = j + 1
    return ",".join(parts)
