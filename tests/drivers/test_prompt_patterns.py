"""The prompt searches that replace per-device compiled patterns find exactly what those found."""

from __future__ import annotations

import re

from isolate.drivers.cli import PASSWORD_PROMPT, FirstOf, Prompts
from isolate.platforms import PLATFORMS

TEXTS = [
    "",
    "Password: ",
    "enable\r\nPassword: ",
    "enable\r\nsw-access-017>",
    "enable\r\nsw-access-017#",
    "sw-access-017>enable\r\nPassword:",
    "banner\nPassword: \nsw-access-017#",
    "sw-access-017#\nPassword:",
    "x\nsw-access-017(config)#",
    "Password:sw-access-017#",
    "other-host#",
]


def test_first_of_finds_what_the_alternation_found() -> None:
    dialect = PLATFORMS["cisco_ios"].dialect
    assert dialect is not None
    prompts = Prompts(dialect, "sw-access-017")
    either = FirstOf(PASSWORD_PROMPT, prompts.any)
    compiled = re.compile(either.pattern)
    for text in TEXTS:
        for pos in range(len(text) + 1):
            mine, theirs = either.search(text, pos), compiled.search(text, pos)
            assert (mine and mine.span()) == (theirs and theirs.span()), (text, pos)


def test_enters_mode_is_the_same_remembered() -> None:
    dialect = PLATFORMS["cisco_ios"].dialect
    assert dialect is not None and dialect.contexts
    lines = ["interface Gi1/0/5", "int gi1/0/5", "no interface Vlan9", "vlan 999", "name q", "", "i x"]
    first = [dialect.enters_mode(line) for line in lines]
    assert first == [dialect.enters_mode(line) for line in lines]
    assert first[:5] == [True, True, False, True, False]
