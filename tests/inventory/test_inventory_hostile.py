"""Property tests: hostile values in every inventory field never crash the loader,
nothing accepted carries a character outside its type's alphabet, and every command the
fixture playbook's plan renders from an accepted inventory fits its platform's grammar
(isolate.cmdguard): zone IDs, bidi and line-separator characters, control characters and
huge numbers never reach a device line."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isolate.cmdguard import check_lines
from isolate.errors import InventoryError, IsolateError
from isolate.inventory import Inventory, load_inventory
from isolate.plan.builder import build_plan
from isolate.playbook.loader import load_playbook

FIXTURE = Path(__file__).parent.parent / "fixtures" / "inventory" / "valid.yml"
PLAYBOOK = load_playbook(Path(__file__).parent.parent / "fixtures" / "playbooks" / "every-action.yml")
OVERRIDES = [(step.id, "property test") for step in PLAYBOOK.steps]
DATA: dict[str, Any] = yaml.safe_load(FIXTURE.read_text())

Path_ = tuple[str | int, ...]

# Fields that never reach a device CLI: free text, local paths, references.
FREE = {"description", "known_hosts", "key_file", "password", "enable", "ansible_inventory", "source_path"}
SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
TYPED = re.compile(r"[A-Za-z0-9._:/@*-]+")
DANGER = re.compile(r"[\n\r;|&`\x00-\x1f\x7f]|\$\(")


def paths(node: Any, here: Path_ = ()) -> list[Path_]:
    found = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(paths(value, (*here, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(paths(value, (*here, i)))
    return found


PATHS = [p for p in paths(DATA) if p]
CHARS = st.characters(codec="utf-8")
HOSTILE_TEXT = st.one_of(
    st.text(CHARS, max_size=30),
    st.builds(
        lambda a, bad, b: a + bad + b,
        st.sampled_from(["core1", "Gi1/0/1", "10.10.10.11", "env:X", "servers", "alice", "", "fe80::1"]),
        st.sampled_from(
            ["\n", "\r", ";", "|", "&", "`", "$(", "\x00", " reload", "\t", "\x1b[2J", "'", '"', "%eth0",
             "%x } accept #", "\u202e", "\u2028", "\u2029", "\u0085", "\x9b", "#", "}", "?", " "]
        ),
        st.text(CHARS, max_size=10),
    ),
)
HOSTILE = st.one_of(
    HOSTILE_TEXT,
    st.integers(min_value=-(2**40), max_value=2**40),
    st.just(10**4000),
    st.sampled_from(["fe80::1%x } accept #", "fe80::%eth0/64", "10 ", "0x3E7", "01747", "16:39", "9" * 5000]),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.lists(HOSTILE_TEXT, max_size=3),
    st.dictionaries(HOSTILE_TEXT, HOSTILE_TEXT, max_size=2),
)


def replace(data: dict[str, Any], where: Path_, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    return out


def check_alphabets(node: Any, key: str | int = "") -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            check_alphabets(v, k)
    elif isinstance(node, list):
        for v in node:
            check_alphabets(v, key)
    elif isinstance(node, str) and key not in FREE:
        assert TYPED.fullmatch(node), (key, node)
    elif isinstance(node, str):
        assert not DANGER.search(node), (key, node)


def load(tmp_path: Path, text: str) -> Inventory | None:
    path = tmp_path / "city.yml"
    path.write_text(text, encoding="utf-8")
    try:
        inv = load_inventory(path)
    except InventoryError as err:
        assert "\n" not in str(err)
        assert all("\n" not in p and "\r" not in p for p in err.problems)
        return None
    check_alphabets(inv.model_dump(mode="json"))
    check_plan(inv)
    return inv


def test_the_fixture_plan_renders_every_action() -> None:
    plan = build_plan(load_inventory(FIXTURE), PLAYBOOK, overrides=OVERRIDES)
    assert [len(s.changes) for s in plan.steps] == [1, 1, 1, 1, 1]


def check_plan(inv: Inventory) -> None:
    try:
        plan = build_plan(inv, PLAYBOOK, overrides=OVERRIDES)
    except IsolateError:
        return  # refused with a typed error: nothing rendered
    for step in plan.steps:
        for change in step.changes:
            check_lines(change.platform, list(change.commands))
            check_lines(change.platform, list(change.exec_after), mode="exec")


@settings(SETTINGS, max_examples=200)
@given(where=st.sampled_from(PATHS), value=HOSTILE)
def test_hostile_value_anywhere(tmp_path: Path, where: Path_, value: Any) -> None:
    load(tmp_path, yaml.safe_dump(replace(DATA, where, value), allow_unicode=True))


@settings(SETTINGS, max_examples=100)
@given(where=st.sampled_from(PATHS), key=HOSTILE_TEXT)
def test_hostile_extra_key_anywhere(tmp_path: Path, where: Path_, key: str) -> None:
    data = copy.deepcopy(DATA)
    node: Any = data
    for part in where[:-1]:
        node = node[part]
    if isinstance(node, dict):
        node[key] = "x"
    load(tmp_path, yaml.safe_dump(data, allow_unicode=True))


@settings(SETTINGS, max_examples=100)
@given(text=st.text(CHARS, max_size=200))
def test_random_text_file(tmp_path: Path, text: str) -> None:
    load(tmp_path, text)


@settings(SETTINGS, max_examples=100)
@given(cut=st.integers(min_value=0, max_value=len(FIXTURE.read_text())), noise=HOSTILE_TEXT)
def test_mangled_fixture(tmp_path: Path, cut: int, noise: str) -> None:
    text = FIXTURE.read_text()
    load(tmp_path, text[:cut] + noise + text[cut:])
