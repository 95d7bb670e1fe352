"""Tokens of the nft language, with their positions for nft-style error carets."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words the nft scanner turns into keywords: using one where a name is expected is a
# syntax error (``add chain inet t drop`` -> ``unexpected drop, expecting string``).
_KEYWORD_TEXT = """
    table chain rule set map element add insert delete flush create list replace reset
    rename describe monitor export import include define redefine undefine destroy
    accept drop reject jump goto return continue queue counter counters log limit quota
    ip ip6 inet arp bridge netdev tcp udp th icmp icmpv6 sctp meta ct comment fwd dup
    elements flags position handle index type hook priority policy with ruleset tables
    chains sets maps saddr daddr sport dport protocol l4proto iifname oifname iif oif
    packets bytes prefix masquerade snat dnat redirect notrack tproxy vmap
"""
KEYWORDS = frozenset(_KEYWORD_TEXT.split())


@dataclass(frozen=True)
class Token:
    kind: str  # word | string | number | { | } | , | ; | = | != | == | newline | eof
    text: str
    line: int
    col: int  # 1-based first column
    end: int  # 1-based last column

    def describe(self) -> str:
        if self.kind == "word":
            return self.text if self.text in KEYWORDS else "string"
        return {
            "string": "quoted string",
            "number": "number",
            "newline": "newline",
            "eof": "end of file",
            ",": "comma",
            "=": "'='",
            "!=": "'!='",
            "==": "'=='",
        }.get(self.kind, f"'{self.kind}'")


_WORD = re.compile(r'(?:[^ \t\r\n{},;="#!]|!(?!=))+')


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; the caller turns an unterminated string into an error."""
    tokens: list[Token] = []
    line, col, i = 1, 1, 0
    while i < len(text):
        char = text[i]
        if char == "\n":
            tokens.append(Token("newline", "\n", line, col, col))
            line, col, i = line + 1, 1, i + 1
            continue
        if char in " \t\r":
            i, col = i + 1, col + 1
            continue
        if char == "#":
            while i < len(text) and text[i] != "\n":
                i, col = i + 1, col + 1
            continue
        if char == "!" and text[i : i + 2] == "!=":
            tokens.append(Token("!=", "!=", line, col, col + 1))
            i, col = i + 2, col + 2
            continue
        if char == "=" and text[i : i + 2] == "==":
            tokens.append(Token("==", "==", line, col, col + 1))
            i, col = i + 2, col + 2
            continue
        if char in "{},;=":
            tokens.append(Token(char, char, line, col, col))
            i, col = i + 1, col + 1
            continue
        if char == '"':
            end = text.find('"', i + 1)
            newline = text.find("\n", i + 1)
            if end < 0 or (0 <= newline < end):
                end = (newline if newline >= 0 else len(text)) - 1
                tokens.append(Token("badstring", text[i : end + 1], line, col, col + end - i))
                col += end + 1 - i
                i = end + 1
                continue
            tokens.append(Token("string", text[i + 1 : end], line, col, col + end - i))
            col += end + 1 - i
            i = end + 1
            continue
        start = i
        found = _WORD.match(text, i)
        i = found.end() if found else i + 1
        word = text[start:i]
        kind = "number" if word[0].isdigit() and not _is_address_like(word) else "word"
        if kind == "number" and not word.isdigit():  # nft scans "1abc" as 1 then abc
            digits = len(word) - len(word.lstrip("0123456789"))
            tokens.append(Token("number", word[:digits], line, col, col + digits - 1))
            word, col = word[digits:], col + digits
            kind = "word"
        tokens.append(Token(kind, word, line, col, col + len(word) - 1))
        col += len(word)
    tokens.append(Token("eof", "", line, col, col))
    return tokens


def _is_address_like(word: str) -> bool:
    """Digits-first words that are values (addresses, prefixes, ranges), not bare numbers."""
    return word.isdigit() is False and any(ch in word for ch in ".:/-")
