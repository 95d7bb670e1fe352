"""Load a playbook YAML file into a :class:`Playbook`, every problem located.

Each step remembers where it came from (:class:`StepSource`), so later stages
(selector resolution, the action's own param model) report ``file:line: steps[i].…``
through :func:`param_error` / :meth:`Step.where`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from isolate.errors import PlaybookError
from isolate.files import UnreadableFile, read_input, user_path
from isolate.playbook.models import ACTIONS, Playbook, Step, StepSource
from isolate.playbook.params import check_references
from isolate.yamlsrc import (
    LineMap,
    Problem,
    did_you_mean,
    display_path,
    error_items,
    format_loc,
    parse_yaml,
    raise_problems,
    validation_problems,
)

_RESERVED = ("source_path", "sha256")
_M = TypeVar("_M", bound=BaseModel)


def _pre_checks(data: dict[str, Any], lines: LineMap) -> list[Problem]:
    """Problems pydantic would word badly: unknown actions, reserved keys."""
    problems = [lines.problem((key,), "unknown key") for key in _RESERVED if key in data]
    steps = data.get("steps")
    if not isinstance(steps, list):
        return problems
    for i, step in enumerate(steps):
        action = step.get("action") if isinstance(step, dict) else None
        if isinstance(action, str) and action not in ACTIONS:
            hint = did_you_mean(action, ACTIONS)
            known = ", ".join(ACTIONS)
            message = f"unknown action {action!r}{hint}; known: {known}"
            problems.append(lines.problem(("steps", i, "action"), message))
    return problems


def _duplicate_ids(playbook: Playbook, lines: LineMap) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for i, step in enumerate(playbook.steps):
        if step.id in first:
            line = lines.locate(("steps", first[step.id], "id"))[1]
            problems.append(
                lines.problem(("steps", i, "id"), f"duplicate step id '{step.id}' (first at line {line})")
            )
        first.setdefault(step.id, i)
    if not playbook.steps:
        problems.append(lines.problem(("steps",), "a playbook needs at least one step"))
    return problems


def _attach_sources(playbook: Playbook, lines: LineMap, file: str) -> None:
    for i, step in enumerate(playbook.steps):
        prefix = ("steps", i)
        relative = {loc[2:]: line for loc, (_, line) in lines.lines.items() if loc[:2] == prefix}
        step._source = StepSource(file=file, index=i, line=relative.get((), 1), lines=relative)


def parse_playbook(raw: bytes, file: str) -> Playbook:
    """Parse and validate playbook bytes; ``file`` is the name used in messages."""
    data, lines, problems = parse_yaml(raw, file)
    raise_problems(PlaybookError, problems)
    if data is None:
        raise PlaybookError(f"{file}:1: the playbook is empty")
    if not isinstance(data, dict):
        raise PlaybookError(f"{file}:1: the top level must be a mapping")
    early = _pre_checks(data, lines)
    try:
        playbook = Playbook.model_validate({k: v for k, v in data.items() if k not in _RESERVED})
    except ValidationError as exc:
        found = validation_problems(exc, data, lines, Playbook)
        taken = {(p.line, format_loc(p.loc[:3])) for p in early}
        found = [p for p in found if (p.line, format_loc(p.loc[:3])) not in taken]
        raise_problems(PlaybookError, early + found)
        raise AssertionError("unreachable") from exc
    raise_problems(PlaybookError, early + _duplicate_ids(playbook, lines))
    _attach_sources(playbook, lines, file)
    _raise_lines(check_references(playbook))
    return playbook.model_copy(update={"source_path": file, "sha256": hashlib.sha256(raw).hexdigest()})


def _raise_lines(problems: list[str]) -> None:
    if problems:
        first = problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)"
        raise PlaybookError(first, problems[:20])


def load_playbook(path: str | Path) -> Playbook:
    """Load one playbook file."""
    source = user_path(path, PlaybookError)
    shown = display_path(path)
    try:
        raw = read_input(source)
    except UnreadableFile as exc:
        raise PlaybookError(f"{shown}: cannot read: {exc}") from None
    return parse_playbook(raw, shown)


def param_error(step: Step, field: str | tuple[str | int, ...], message: str) -> str:
    """The one-line message for a bad param, e.g.
    ``playbooks/x.yml:12: steps[2].params.vlan: must be 1..4094, got 4095``."""
    loc = (field,) if isinstance(field, str) else field
    return f"{step.where('params', *loc)}: {message}" if loc else f"{step.where('params')}: {message}"


def validate_params(step: Step, model: type[_M]) -> _M:
    """Validate ``step.params`` with an action's param model (use ``isolate.values``
    types in it). Raises PlaybookError whose lines name ``file:line: steps[i].params.x``."""
    try:
        return model.model_validate(step.params)
    except ValidationError as exc:
        problems = [param_error(step, loc, msg) for loc, msg in error_items(exc, step.params, model)]
        first = problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)"
        raise PlaybookError(first, problems[:20]) from None
