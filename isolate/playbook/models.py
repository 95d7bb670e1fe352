"""Playbook models (docs/design.md, "Playbook YAML"). Frozen; unknown keys refused.

``Step.params`` stays a raw mapping: each action validates it with its own param
model at plan time. The loader attaches to every step where it came from, so
:func:`isolate.playbook.param_error` can name ``playbooks/x.yml:12:
steps[2].params.vlan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from isolate.values import (
    BadValue,
    Name,
    Port,
    RestoreStage,
    SelectorName,
    SelectorUser,
    StepId,
    Text,
    TimeoutS,
    parse_timeout,
)
from isolate.yamlsrc import Loc, format_loc

ZoneName = Literal["inside", "management", "vpn", "outside"]


def _param_name(value: object) -> str:
    from isolate.playbook.params import parse_param_name

    try:
        return parse_param_name(value)
    except BadValue as exc:
        raise PydanticCustomError("isolate_value", "{reason}", {"reason": str(exc)}) from None


ParamName = Annotated[str, BeforeValidator(_param_name)]

ActionName = Literal[
    "quarantine",
    "segment-acl",
    "block-smb",
    "revoke-vpn",
    "edge-block",
    "shut-port",
    "disable-smb-host",
    "fence-host",
    "disable-account",
]
Policy = Literal["abort", "continue", "rollback-step", "rollback-all"]

ACTIONS: tuple[str, ...] = get_args(ActionName)
POLICIES: tuple[str, ...] = get_args(Policy)
DEFAULT_TIMEOUT_S = 120


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class StepSource:
    """Where a step came from: file, its index in ``steps`` and the line of every
    location under it (keys relative to the step, e.g. ``("params", "vlan")``)."""

    file: str = "<input>"
    index: int = 0
    line: int = 1
    lines: Mapping[Loc, int] = field(default_factory=dict, repr=False)

    def line_of(self, loc: Loc) -> int:
        for end in range(len(loc), -1, -1):
            hit = self.lines.get(loc[:end])
            if hit is not None:
                return hit
        return self.line


class _Names(_Model):
    devices: tuple[SelectorName, ...] = ()
    groups: tuple[SelectorName, ...] = ()
    roles: tuple[SelectorName, ...] = ()
    tags: tuple[SelectorName, ...] = ()
    segments: tuple[SelectorName, ...] = ()
    hosts: tuple[SelectorName, ...] = ()
    users: tuple[SelectorUser, ...] = ()
    vpn_groups: tuple[SelectorName, ...] = ()
    zones: tuple[ZoneName, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _star_alone(cls, data: Any) -> Any:
        """``segments: "*"`` (or one bare name) means a one-element list."""
        if isinstance(data, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in data.items()}
        return data


class Exclusion(_Names):
    """The ``except:`` part of a selector: the same keys, no nesting."""


class Selector(_Names):
    """Which inventory objects a step targets. Each key lists names or ``"*"``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    except_: Exclusion = Field(default_factory=Exclusion, alias="except")
    # Incident parameters this step targets (isolate.playbook.params binds them).
    parameters: tuple[ParamName, ...] = ()

    def is_empty(self) -> bool:
        return not any(getattr(self, key) for key in SELECTOR_KEYS) and not self.parameters


SELECTOR_KEYS: tuple[str, ...] = (
    "devices",
    "groups",
    "roles",
    "tags",
    "segments",
    "hosts",
    "users",
    "vpn_groups",
    "zones",
)


ParamType = Literal["host", "address", "prefix", "user", "vlan", "account"]


class Parameter(_Model):
    """An incident parameter: given at incident time with ``--set NAME=VALUE``."""

    type: ParamType
    description: Text = ""
    default: list[str | int] | str | int | None = None

    def defaults(self) -> list[str | int]:
        if self.default is None:
            return []
        return list(self.default) if isinstance(self.default, list) else [self.default]

    @model_validator(mode="after")
    def _default_fits(self) -> Parameter:
        from isolate.playbook.params import parse_param_value

        values = self.defaults()
        if self.type == "vlan" and len(values) > 1:
            raise ValueError("a vlan parameter takes one value")
        for value in values:
            try:
                parse_param_value(self.type, value)
            except BadValue as exc:
                raise ValueError(f"default {value!r}: {exc}") from None
        return self


class Defaults(_Model):
    policy: Policy = "abort"
    timeout: TimeoutS = DEFAULT_TIMEOUT_S


class Step(_Model):
    id: StepId
    action: ActionName
    targets: Selector = Field(default_factory=Selector)
    params: dict[str, Any] = Field(default_factory=dict)
    policy: Policy = "abort"
    restore_stage: RestoreStage | None = None
    timeout: TimeoutS = DEFAULT_TIMEOUT_S

    _source: StepSource = PrivateAttr(default_factory=StepSource)

    @property
    def source(self) -> StepSource:
        return self._source

    def where(self, *loc: str | int) -> str:
        """``file:line: steps[i].<loc>`` for a location under this step."""
        src = self._source
        return f"{src.file}:{src.line_of(tuple(loc))}: {format_loc(('steps', src.index, *loc))}"


class FlowExpect(_Model):
    """A flow a drill checks: ``src`` host to ``dst`` host on ``port``/``proto``."""

    src: Name
    dst: Name
    port: Port
    proto: Literal["tcp", "udp"] = "tcp"


class Expect(_Model):
    """What a drill verifies after containment: flows cut and flows kept."""

    blocked: tuple[FlowExpect, ...] = ()
    reachable: tuple[FlowExpect, ...] = ()


def _valid_default(key: str, value: Any) -> bool:
    """Only a valid default is inherited; a bad one is reported once, at ``defaults``."""
    if key == "policy":
        return value in POLICIES
    try:
        parse_timeout(value)
    except BadValue:
        return False
    return True


class Playbook(_Model):
    version: Literal[1]
    name: Name
    description: Text = ""
    defaults: Defaults = Field(default_factory=Defaults)
    parameters: dict[ParamName, Parameter] = Field(default_factory=dict)
    steps: tuple[Step, ...]
    expect: Expect | None = None
    # Set by the loader, never read from YAML.
    source_path: str | None = None
    sha256: str = ""

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        """A step without ``policy``/``timeout`` takes the playbook's defaults."""
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            return data
        defaults = data.get("defaults")
        if not isinstance(defaults, dict):
            return data
        inherit = {k: defaults[k] for k in ("policy", "timeout") if _valid_default(k, defaults.get(k))}
        steps = [{**inherit, **step} if isinstance(step, dict) else step for step in data["steps"]]
        return {**data, "steps": steps}

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def restore_stage_of(self, step: Step) -> int:
        """A step's restore stage; by default the reverse of apply order (the last
        step is restored first, in stage 1)."""
        if step.restore_stage is not None:
            return step.restore_stage
        return len(self.steps) - self.steps.index(step)

    def restore_order(self) -> list[list[Step]]:
        """Steps grouped by restore stage, lowest stage first."""
        staged: dict[int, list[Step]] = {}
        for step in self.steps:
            staged.setdefault(self.restore_stage_of(step), []).append(step)
        return [staged[k] for k in sorted(staged)]
