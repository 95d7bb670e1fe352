"""The plan: what will be sent where, in which order, and what it cuts (docs/plan-json.md).

Frozen pydantic models; ``plan_json`` gives the canonical bytes (every list is built
sorted or in playbook order by the builder, so the same inputs give the same bytes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from isolate.actions.base import WorkItem
from isolate.errors import PlanError
from isolate.files import UnreadableFile, read_input, user_path

PLAN_FORMAT = 1


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


LEGACY_EXEC_PREFIX = "@exec "  # how plans of earlier versions spelled an exec-mode line


class DeviceChange(_Model):
    device: str
    platform: str
    item: WorkItem
    commands: tuple[str, ...]  # configuration lines (or the lines of one nft script…)
    exec_after: tuple[str, ...] = ()  # exec-mode lines, run after them (CLI platforms)

    @model_validator(mode="before")
    @classmethod
    def _legacy_exec_lines(cls, data: Any) -> Any:
        """A plan.json of an earlier version spelled exec-mode lines ``@exec LINE`` inside
        ``commands``: read as ``exec_after``, so its run still resumes."""
        if not isinstance(data, dict) or "exec_after" in data or not isinstance(data.get("commands"), list):
            return data
        lines = [str(line) for line in data["commands"]]
        if not any(line.startswith(LEGACY_EXEC_PREFIX) for line in lines):
            return data
        legacy = [line.startswith(LEGACY_EXEC_PREFIX) for line in lines]
        config = [line for line, exec_line in zip(lines, legacy, strict=True) if not exec_line]
        execs = [line.removeprefix(LEGACY_EXEC_PREFIX) for line, e in zip(lines, legacy, strict=True) if e]
        return {**data, "commands": config, "exec_after": execs}


class PortChange(_Model):
    device: str
    interface: str
    host: str
    change: str  # "vlan 999" | "shutdown"


class ServiceCut(_Model):
    """A service that stops being reachable from some sources."""

    host: str
    service: str
    address: str
    port: int
    proto: str
    sources: tuple[str, ...]  # segment names (all its hosts) or host names
    devices: tuple[str, ...]  # where the cut happens


class ManagementCut(_Model):
    source: str
    device: str
    address: str
    by: str
    port: int = 22  # the device's management port (plans saved before it was recorded: 22)


class StillServed(_Model):
    service: str
    providers: tuple[str, ...]  # protected providers not contained, natural order


class OwnServices(_Model):
    """A host this step contains: its own services go with it (a consequence, not a cut
    of the service while other providers still serve every client)."""

    host: str
    services: tuple[str, ...]
    still_served: tuple[StillServed, ...] = ()  # its protected services: who still serves them


class StepBlast(_Model):
    flows_cut: int  # flows this step cuts (each host × service counted once)
    flows_cut_total: int  # cumulative, after this step
    hosts_cut_off: tuple[str, ...]
    segments_cut_off: tuple[str, ...]
    ports: tuple[PortChange, ...]
    vpn_users: tuple[str, ...]
    accounts_disabled: tuple[str, ...] = ()
    services: tuple[ServiceCut, ...]
    management: tuple[ManagementCut, ...]
    own_services: tuple[OwnServices, ...] = ()  # services of the hosts it contains


class KeptService(_Model):
    host: str
    service: str
    port: int
    proto: str
    reachable_from: int  # sources (host × service flows) still reaching it
    cut_from: int  # sources that reached it before and no longer do


class BlastRadius(_Model):
    flows_total: int  # flows passing before the plan
    flows_cut: int  # flows cut after the last step
    hosts_cut_off: tuple[str, ...]
    segments_cut_off: tuple[str, ...]
    ports: int
    vpn_users: tuple[str, ...]
    accounts_disabled: tuple[str, ...] = ()
    management_kept: bool
    kept: tuple[KeptService, ...]
    flows_closed_at_baseline: int = 0  # flows the devices already stop (not counted above)
    baseline_read: tuple[str, ...] = ()  # devices whose current rules the model read
    baseline_unmodelled: tuple[str, ...] = ()  # devices whose rules it could not model, and why


class ProtectedSummary(_Model):
    management_networks: tuple[str, ...]
    stations: tuple[str, ...]
    tool_address: str | None
    hosts: tuple[str, ...]
    services: tuple[str, ...]
    segments: tuple[str, ...]


class Override(_Model):
    step: str
    guard: str  # management-path | protected-asset
    detail: str
    reason: str


class PlannedStep(_Model):
    id: str
    action: str
    policy: str
    restore_stage: int
    timeout_s: int
    changes: tuple[DeviceChange, ...]
    notes: tuple[str, ...] = ()
    blast: StepBlast


class PlanParameter(_Model):
    """An incident parameter's values: as given (``--set`` or the playbook's default) and
    what they resolved to in the inventory."""

    name: str
    type: str
    given: tuple[str, ...]
    resolved: tuple[str, ...]
    source: str  # "--set" | "default"


class ExcludedDevice(_Model):
    """A device left out of the plan, why, and what stays open because of it."""

    device: str
    reason: str  # "--exclude" | "not in --limit" | "unreachable at pre-check: …"
    steps: tuple[str, ...]  # steps that would have changed it
    left_open: tuple[str, ...]  # one line per step: "block-attacker: attacker prefixes not blocked: …"


class LocatedHost(_Model):
    """A host parameter's address that the inventory does not map, located on the network at
    plan time (isolate.locate): where it was, and the read-only queries that said so."""

    parameter: str
    value: str  # as given, e.g. 10.10.100.23
    host: str  # the name the plan gives it (located-10-10-100-23)
    segment: str
    mac: str
    device: str
    interface: str
    vlan: int
    queries: tuple[tuple[str, str, bool, str], ...] = ()  # (device, command, ok, output)


class Plan(_Model):
    format: int = PLAN_FORMAT
    inventory: str
    inventory_path: str | None
    inventory_sha256: str
    playbook: str
    playbook_path: str | None
    playbook_sha256: str
    tool_address: str | None
    steps: tuple[PlannedStep, ...]
    overrides: tuple[Override, ...]
    blast: BlastRadius
    protected: ProtectedSummary
    parameters: tuple[PlanParameter, ...] = ()
    skipped: tuple[str, ...] = ()  # steps left out (empty parameters, every device excluded)
    excluded: tuple[ExcludedDevice, ...] = ()  # devices left out, and what stays open
    located: tuple[LocatedHost, ...] = ()  # hosts located on the network at plan time
    # SHA-256 of this plan's canonical JSON with this field null: set by to_json(), checked
    # when a saved plan is applied (a hand-edited plan is refused)
    content_sha256: str | None = None

    def parameter_values(self) -> dict[str, list[str]]:
        """The ``--set`` values this plan was made with (to plan it again identically)."""
        return {p.name: list(p.given) for p in self.parameters if p.source == "--set"}

    def to_json(self) -> str:
        """The canonical JSON text (what ``--out`` writes and the journal hashes)."""
        return plan_json(self)


def plan_json(plan: Plan, *, indent: int | None = 2) -> str:
    """The plan's canonical JSON text (field order fixed by the models), its content hash in."""
    sealed = plan.model_copy(update={"content_sha256": content_sha256(plan)})
    return sealed.model_dump_json(indent=indent) + "\n"


def content_sha256(plan: Plan) -> str:
    """SHA-256 of the canonical JSON of ``plan`` with ``content_sha256`` null."""
    bare = plan.model_copy(update={"content_sha256": None})
    return hashlib.sha256(bare.model_dump_json(indent=2).encode()).hexdigest()


def load_plan_file(path: str | Path) -> Plan:
    """A plan saved by ``isolate plan --out``: parsed and re-validated (every work item
    goes through its value types again). Freshness against the inventory and playbook
    is ``isolate.api.load_saved_plan``'s job."""
    source = user_path(path, PlanError)
    try:
        raw = read_input(source).decode("utf-8")
    except UnreadableFile as exc:
        raise PlanError(f"{source}: cannot read: {exc}") from None
    except UnicodeDecodeError:
        raise PlanError(f"{source}: cannot read: not UTF-8 text") from None
    try:
        plan = Plan.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PlanError(f"{source}: not a plan file: {where}: {first['msg']}") from None
    if plan.format != PLAN_FORMAT:
        raise PlanError(f"{source}: plan format {plan.format}, this isolate reads {PLAN_FORMAT}")
    return plan
