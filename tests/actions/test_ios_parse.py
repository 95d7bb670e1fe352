"""``parse_blocks`` normalises only the lines that need it: the same blocks as the plain
definition (every line split on whitespace and joined with one space) on any text, including
tabs, runs of spaces, control characters and non-ASCII whitespace a device may print."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from isolate.actions.ios_config import Block, parse_blocks


def reference(text: str) -> list[Block]:
    blocks: list[Block] = []
    header: str | None = None
    children: list[str] = []
    for raw in text.replace("\r", "").split("\n"):
        words = raw.split()
        if not words or words[0][0] == "!":
            continue
        if raw[0] in " \t":
            if header is not None:
                children.append(" ".join(words))
            continue
        if header is not None:
            blocks.append(Block(header, tuple(children)))
        header, children = " ".join(words), []
    if header is not None:
        blocks.append(Block(header, tuple(children)))
    return blocks


PIECES = st.sampled_from(
    ["interface Gi1/0/1", "vlan 999", "!", " ", "  ", "\t", "\r", "\n", "\n ", "\n  ", "\n\t", "deny", "ip",
     "x", "\x0b", "\x0c", "\x1f", "\xa0", "\u3000", "\u2028", "\x85", "é", "  permit   tcp", " !x"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join))
def test_parse_blocks_is_the_plain_definition(text: str) -> None:
    assert parse_blocks(text) == reference(text)


def test_a_running_config_parses_into_its_blocks() -> None:
    text = ("Building configuration...\r\n!\r\ninterface GigabitEthernet1/0/5\r\n description desk  5\r\n"
            " switchport access vlan 100\r\n!\r\nip access-list extended X\r\n deny   tcp any any eq 445\r\n"
            "end\r\n")
    assert parse_blocks(text) == [
        Block("Building configuration..."),
        Block("interface GigabitEthernet1/0/5", ("description desk 5", "switchport access vlan 100")),
        Block("ip access-list extended X", ("deny tcp any any eq 445",)),
        Block("end"),
    ]
