"""The prompt searches that replace per-device compiled patterns find exactly what those found."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

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


# Texts made of what a device prints around its prompts: the hostname (whole, cut, or inside
# a line), prompt characters, modes, echoes, line ends of every kind.
_PIECES = ["sw-access-017", "sw-access", "sw", "#", ">", "(config)", "(config-if)#", "\n", "\r\n", "\r",
           " ", "\t", "x", "show vlan", "Password:", "(", ")", "sw-access-017#", "\nsw-access-017>"]


def _texts() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(_PIECES), max_size=14).map("".join)


def _span(found: object) -> tuple[int, int] | None:
    return None if found is None else found.span()  # type: ignore[attr-defined]


@settings(max_examples=400, deadline=None)
@given(text=_texts(), host=st.sampled_from(["sw-access-017", "sw", ""]), data=st.data())
def test_prompt_searches_find_what_the_compiled_patterns_found(
    text: str, host: str, data: st.DataObject
) -> None:
    """Each device's prompts are searched without a pattern compiled for its hostname: the
    same spans (and echoed lines) as those patterns compiled, at every start offset."""
    dialect = PLATFORMS["cisco_ios"].dialect
    assert dialect is not None
    prompts = Prompts(dialect, host)
    pos = data.draw(st.integers(0, len(text)))
    for until in (prompts.any, prompts.started, prompts.echoed):
        mine, theirs = until.search(text, pos), re.compile(until.pattern).search(text, pos)
        assert _span(mine) == _span(theirs), (until.pattern, text, pos)
        if until is prompts.echoed and theirs is not None:
            assert mine is not None and mine.group("echo") == theirs.group("echo")
    line = data.draw(st.sampled_from(["show vlan", "x", ""]))
    before = prompts.before(line)
    assert _span(before.search(text, pos)) == _span(re.compile(before.pattern).search(text, pos))
