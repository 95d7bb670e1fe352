"""YAML loading that keeps the file and line of every mapping key and list item.

``load_yaml`` returns a :class:`Source`: plain Python data (safe types only)
plus a :class:`LineMap` from a location such as ``("devices", 3, "port")`` to
``(file, line)``. ``validation_problems`` turns a pydantic ``ValidationError``
into one line per error, ``inventory/city.yml:42: devices[3].port: must be
1..65535, got 70000``, in file order. Duplicate keys and YAML syntax errors are
reported the same way. Nothing here prints.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Union

import yaml
from pydantic import BaseModel, ValidationError

from isolate.errors import InputError
from isolate.files import UnreadableFile, read_input
from isolate.files import display_path as display_path
from isolate.values import safe_repr

Loc = tuple[str | int, ...]
MAX_PROBLEMS: Final = 20
_MAX_NODES: Final = 5_000_000
_MAX_ALIAS_VISITS: Final = 10_000  # nodes reached again through aliases (billion laughs)
_MAX_DEPTH: Final = 64
_STR_TAG: Final = "tag:yaml.org,2002:str"
_INT_TAG: Final = "tag:yaml.org,2002:int"
_PLAIN_INT: Final = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,29})", re.ASCII)
_PLAIN_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_SECRET_KEYS: Final = frozenset(
    {"password", "enable", "secret", "ansible_password", "ansible_become_password"}
)


@dataclass(frozen=True, order=True)
class Problem:
    """One load problem: where it is and what is wrong. ``str()`` is the user's line."""

    file_index: int
    line: int
    file: str
    loc: Loc = field(compare=False)
    message: str = field(compare=False)

    def __str__(self) -> str:
        where = format_loc(self.loc)
        prefix = f"{self.file}:{self.line}: "
        return prefix + (f"{where}: {self.message}" if where else self.message)


@dataclass
class LineMap:
    """Location → (file, line). Lookups fall back to the longest known prefix."""

    files: list[str] = field(default_factory=list)
    lines: dict[Loc, tuple[int, int]] = field(default_factory=dict)  # loc -> (file idx, line)

    def file_index(self, file: str) -> int:
        if file not in self.files:
            self.files.append(file)
        return self.files.index(file)

    def locate(self, loc: Loc) -> tuple[int, int]:
        for end in range(len(loc), -1, -1):
            hit = self.lines.get(loc[:end])
            if hit is not None:
                return hit
        return (0, 1)

    def problem(self, loc: Loc, message: str) -> Problem:
        index, line = self.locate(loc)
        file = self.files[index] if index < len(self.files) else "<input>"
        return Problem(index, line, file, loc, message)


@dataclass
class Source:
    """One parsed YAML document: data plus where each part came from."""

    path: str
    data: Any
    lines: LineMap
    raw: bytes


def format_loc(loc: Iterable[str | int]) -> str:
    """``("devices", 3, "port")`` → ``devices[3].port``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += ("." if out else "") + part
        else:
            out += f"[{safe_repr(part)}]"
    return out


def raise_problems(
    error_cls: type[InputError], problems: list[Problem], files: list[str] | None = None
) -> None:
    """Raise ``error_cls`` with every problem (capped) if there is any, ordered by file
    (``files`` gives the load order) then line."""
    if not problems:
        return
    rank: dict[str, int] = {name: i for i, name in enumerate(files or [])}
    for problem in sorted(problems):
        rank.setdefault(problem.file, len(rank))
    ordered = sorted(problems, key=lambda p: (rank[p.file], p.line))
    lines = [str(p) for p in ordered[:MAX_PROBLEMS]]
    if len(ordered) > MAX_PROBLEMS:
        lines.append(f"{ordered[0].file}: … and {len(ordered) - MAX_PROBLEMS} more errors")
    message = lines[0] if len(ordered) == 1 else f"{lines[0]} (and {len(ordered) - 1} more)"
    raise error_cls(message, lines)


# ---------------------------------------------------------------- loading


# libyaml's loader when PyYAML was built with it (about 10x faster), else pure Python.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str, lines: LineMap) -> None:
        self.loader = loader
        self.file = file
        self.index = lines.file_index(file)
        self.lines = lines
        self.problems: list[Problem] = []
        self.count = 0
        self.seen: set[int] = set()
        self.alias_visits = 0

    def _at(self, node: yaml.Node, loc: Loc) -> None:
        self.lines.lines.setdefault(loc, (self.index, node.start_mark.line + 1))

    def _problem(self, node: yaml.Node, loc: Loc, message: str) -> None:
        line = node.start_mark.line + 1
        self.problems.append(Problem(self.index, line, self.file, loc, message))

    def build(self, node: yaml.Node, loc: Loc, stack: tuple[int, ...] = ()) -> Any:
        self.count += 1
        if id(node) in self.seen:
            self.alias_visits += 1
        self.seen.add(id(node))
        too_many = self.count > _MAX_NODES or self.alias_visits > _MAX_ALIAS_VISITS
        if too_many or len(stack) > _MAX_DEPTH or id(node) in stack:
            raise _TooBig(node)
        stack = (*stack, id(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, stack)
        if isinstance(node, yaml.SequenceNode):
            out = []
            for i, item in enumerate(node.value):
                self._at(item, (*loc, i))
                out.append(self.build(item, (*loc, i), stack))
            return out
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        """Strings as written; integers only in plain decimal (YAML 1.1 also reads ``0x3E7``,
        ``01747`` and ``16:39`` as 999): any other integer form, or one of more than 30
        digits, stays the text it is, for the field's own type to refuse or keep."""
        if node.tag == _STR_TAG:
            return node.value
        if node.tag == _INT_TAG and isinstance(node, yaml.ScalarNode):
            text = str(node.value)
            return int(text) if _PLAIN_INT.fullmatch(text) else text
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, loc: Loc, stack: tuple[int, ...]) -> Any:
        self.loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, loc, "mapping keys must be plain text")
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str | int) or isinstance(key, bool):
                key = str(key)
            if key in first:
                self._problem(key_node, (*loc, key), f"duplicate key (first at line {first[key]})")
                continue
            first[key] = key_node.start_mark.line + 1
            self._at(key_node, (*loc, key))
            out[key] = self.build(value_node, (*loc, key), stack)
        return out


class _TooBig(Exception):
    def __init__(self, node: yaml.Node) -> None:
        super().__init__("too big")
        self.node = node


def _yaml_problem(exc: yaml.YAMLError, text: str, index: int, file: str) -> Problem:
    """One line for a YAML error; the parser's own words, never the document's content."""
    line, reason = 1, "invalid YAML"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = exc.problem or exc.context or reason
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else 0
        reason = f"unacceptable character #x{code:04x}"
    return Problem(index, line, file, (), "YAML syntax error: " + " ".join(reason.split()))


def parse_yaml(raw: bytes, file: str, *, lines: LineMap | None = None) -> tuple[Any, LineMap, list[Problem]]:
    """Parse ``raw`` (the bytes of ``file``). Returns data, line map and problems."""
    lines = lines if lines is not None else LineMap()
    index = lines.file_index(file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, lines, [Problem(index, 1, file, (), f"not UTF-8 text ({exc.reason})")]
    try:
        loader = _LOADER(text)
    except yaml.YAMLError as exc:
        return None, lines, [_yaml_problem(exc, text, index, file)]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines, []
        builder = _Builder(loader, file, lines)
        lines.lines.setdefault((), (index, node.start_mark.line + 1))
        data = builder.build(node, ())
        return data, lines, builder.problems
    except _TooBig as big:
        line = big.node.start_mark.line + 1
        return None, lines, [Problem(index, line, file, (), "document too large or recursive")]
    except yaml.YAMLError as exc:
        return None, lines, [_yaml_problem(exc, text, index, file)]
    finally:
        loader.dispose()


def load_yaml(path: Path, error_cls: type[InputError], *, display: str | None = None) -> Source:
    """Read and parse one YAML file; raise ``error_cls`` on unreadable file or bad YAML."""
    file = display if display is not None else display_path(path)
    try:
        raw = read_input(path)
    except UnreadableFile as exc:
        raise error_cls(f"{file}: cannot read: {exc}") from None
    data, lines, problems = parse_yaml(raw, file)
    raise_problems(error_cls, problems)
    return Source(file, data, lines, raw)


# ---------------------------------------------------------- pydantic errors


def _unwrap(tp: Any) -> list[Any]:
    """The concrete alternatives of an annotation (Annotated, Optional, unions removed)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_unwrap(arg))
        return out
    return [tp]


def _model_keys(model: type[BaseModel]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        keys[info.alias or name] = info.annotation
    return keys


def _step(tp: Any, part: str | int) -> Any:
    for alt in _unwrap(tp):
        if isinstance(alt, type) and issubclass(alt, BaseModel) and isinstance(part, str):
            keys = _model_keys(alt)
            if part in keys:
                return keys[part]
        origin = typing.get_origin(alt)
        args = typing.get_args(alt)
        if origin in (list, tuple) and args and isinstance(part, int):
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model accepts at ``loc`` (used for "did you mean")."""
    tp: Any = model
    for part in loc:
        tp = _step(tp, part)
        if tp is None:
            return []
    for alt in _unwrap(tp):
        if isinstance(alt, type) and issubclass(alt, BaseModel):
            return list(_model_keys(alt))
    return []


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _data_loc(data: Any, loc: Iterable[str | int]) -> Loc:
    """Keep only the parts of a pydantic loc that name real data (drops union tags)."""
    out: list[str | int] = []
    parts = list(loc)
    node = data
    for i, part in enumerate(parts):
        in_map = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_map or in_list:
            node = node[part]
            out.append(part)
        elif i == len(parts) - 1 and isinstance(node, Mapping) and isinstance(part, str):
            out.append(part)
            break
    return tuple(out)


def _shown(value: Any, loc: Loc) -> str:
    if any(isinstance(p, str) and p.lower() in _SECRET_KEYS for p in loc):
        return "(value hidden)"
    if isinstance(value, list | dict):
        return {list: "a list", dict: "a mapping"}[type(value)]
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return safe_repr(value)


_SIMPLE: Final = {
    "missing": "required",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "float_type": "must be a number",
    "none_required": "must be empty",
}


def _message(err: Mapping[str, Any], loc: Loc, model: type[BaseModel]) -> str:
    kind = err["type"]
    if kind == "isolate_value":
        return str(err["msg"])
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        return "unknown key" + did_you_mean(key, allowed_keys(model, loc[:-1]))
    if kind == "missing":
        return "required"
    if kind == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", "")).replace("'", "")
        return f"must be one of {expected}, got {_shown(err['input'], loc)}"
    if kind in _SIMPLE:
        return f"{_SIMPLE[kind]}, got {_shown(err['input'], loc)}"
    text = str(err["msg"])
    return text.removeprefix("Value error, ")


def error_items(exc: ValidationError, data: Any, model: type[BaseModel]) -> list[tuple[Loc, str]]:
    """``(location in data, one-line message)`` for each pydantic error, duplicates dropped."""
    items: list[tuple[Loc, str]] = []
    for err in exc.errors(include_url=False):
        loc = _data_loc(data, err["loc"])
        item = (loc, _message(err, loc, model))
        if item not in items:
            items.append(item)
    return items


def validation_problems(
    exc: ValidationError, data: Any, lines: LineMap, model: type[BaseModel]
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, located in the YAML it came from."""
    return [lines.problem(loc, message) for loc, message in error_items(exc, data, model)]
