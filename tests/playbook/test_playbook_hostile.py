"""Property tests: hostile values in every playbook field never crash,
and nothing accepted carries a character outside its type's alphabet."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isolate.errors import PlaybookError
from isolate.inventory import load_inventory
from isolate.playbook import load_playbook, resolve_step

FIXTURES = Path(__file__).parent.parent / "fixtures"
PLAYBOOK = FIXTURES / "playbooks" / "valid.yml"
DATA: dict[str, Any] = yaml.safe_load(PLAYBOOK.read_text())
INV = load_inventory(FIXTURES / "inventory" / "valid.yml")

TYPED = re.compile(r"[A-Za-z0-9._:/@*-]+")
DANGER = re.compile(r"[\n\r\x00-\x1f\x7f]")
CHARS = st.characters(codec="utf-8")
HOSTILE_TEXT = st.one_of(
    st.text(CHARS, max_size=30),
    st.builds(
        lambda a, bad, b: a + bad + b,
        st.sampled_from(["cut-smb", "quarantine", "ws-17", "*", "abort", "servers", ""]),
        st.sampled_from(["\n", "\r", ";", "|", "&", "`", "$(", "\x00", " reload", "\t", "'"]),
        st.text(CHARS, max_size=10),
    ),
)
HOSTILE = st.one_of(
    HOSTILE_TEXT,
    st.integers(min_value=-(2**40), max_value=2**40),
    st.none(),
    st.booleans(),
    st.floats(),
    st.lists(HOSTILE_TEXT, max_size=3),
    st.dictionaries(HOSTILE_TEXT, HOSTILE_TEXT, max_size=2),
)


def paths(node: Any, here: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(paths(value, (*here, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(paths(value, (*here, i)))
    return found


PATHS = [p for p in paths(DATA) if p]


def check(node: Any, key: str | int = "", under_params: bool = False) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            check(v, k, under_params or k == "params")
    elif isinstance(node, list):
        for v in node:
            check(v, key, under_params)
    elif isinstance(node, str) and key != "description" and not under_params:
        assert TYPED.fullmatch(node), (key, node)
    elif isinstance(node, str) and key == "description":
        assert not DANGER.search(node)


def load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yml"
    path.write_text(text, encoding="utf-8")
    try:
        book = load_playbook(path)
        check(book.model_dump(mode="json", exclude={"source_path"}))
        for step in book.steps:
            resolve_step(step, INV)
    except PlaybookError as err:
        assert all("\n" not in p and "\r" not in p for p in err.problems)


SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@settings(SETTINGS, max_examples=200)
@given(where=st.sampled_from(PATHS), value=HOSTILE)
def test_hostile_value_anywhere(tmp_path: Path, where: tuple[str | int, ...], value: Any) -> None:
    data = copy.deepcopy(DATA)
    node: Any = data
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    load(tmp_path, yaml.safe_dump(data, allow_unicode=True))


@settings(SETTINGS, max_examples=80)
@given(text=st.text(CHARS, max_size=200))
def test_random_text_file(tmp_path: Path, text: str) -> None:
    load(tmp_path, text)
