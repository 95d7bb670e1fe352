"""One typed model per journal record kind: the ``data`` each kind carries.

The writer checks every record of a kind listed here against its model before it is
written (every required field present, every value of its type, no field the model does
not name: the same model `journal verify` holds it to), the reader and
restore planning read records through them (:func:`typed`), and docs/journal.md's table
of kinds is generated from them (:func:`kinds_table`; tests/journal/test_journal_schema.py
fails when the page and the models differ). A new kind or field is added here first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from isolate.journal.records import Record

LEGACY_EXEC_PREFIX = "@exec "  # earlier versions' spelling of an exec-mode line in forward
Sha = str  # a SHA-256 hex digest: a captured state file (state/<sha>.txt) or an artifact


class Data(BaseModel):
    """A record's ``data``; subclasses say what each kind carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class InventoryRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    sha256: Sha


class PlaybookRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str | None
    name: str
    sha256: Sha


class Override(BaseModel):
    """A guard the operator lifted (--override STEP --reason TEXT)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    step: str
    guard: str
    detail: str
    reason: str


class Revert(BaseModel):
    """The device-owned revert a --confirm-window push arms: a named revert job (its file on
    the device) or the device's single rollback timer (its window)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["revert-job", "rollback-timer"]
    file: str | None = None
    window_s: int | None = None


class Query(BaseModel):
    """A read-only query isolate asked a device while locating a host (and its answer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    device: str
    command: str
    ok: bool
    output: str


class Answer(BaseModel):
    """What a device printed in answer to a command (scrubbed, capped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    command: str
    output: str


class RunOptions(BaseModel):
    """run-start's ``options``: how the run was asked for. The keys readers use are typed;
    another version's keys are kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)
    parameters: dict[str, list[str]] = {}
    workers: int | None = None
    confirm_window_s: int | None = None
    check: bool = False
    host_key_checking: bool = True
    timeout_s: float | None = None
    transport: str | None = None
    adopted: dict[str, str] = Field(
        {}, description="step@device -> the earlier run whose change it keeps, once read back (precheck kept)"
    )
    taken_over: dict[str, str] = Field({}, description="step@device -> the earlier run it brought back")
    expires: str | None = Field(None, description="--expires as given")
    expires_at: float | None = Field(None, description="when the containment expires (Unix time)")


class RunStart(Data):
    user: str
    host: str
    pid: int
    command: str | list[str] = Field(description="the command (apply, drill…) or its argv")
    incident: str | None = Field(description="incident reference (--incident)")
    reason: str = Field(description="why (--reason; also the override reason)")
    tool_version: str
    inventory: InventoryRef = Field(description="{path, sha256}")
    playbook: PlaybookRef = Field(description="{path, name, sha256}")
    plan_sha256: Sha = Field(description="SHA-256 of plan.json, checked by resume")
    overrides: list[Override] = Field(description="[{step, guard, detail, reason}]")
    options: RunOptions = Field(
        description="{parameters, workers, confirm_window_s, check, host_key_checking, timeout_s, transport, "
        "adopted?: {step@device: run} kept from earlier runs, taken_over?: {step@device: run} brought back "
        "from earlier runs, expires?, expires_at?: Unix time, …}"
    )


class Precheck(Data):
    device: str
    ok: bool
    message: str
    state: Sha | None = Field(description="the captured pre-state (None: not captured)")
    checks: dict[str, bool] = Field(
        description="only what was tested: reachable, authenticated, state_captured (the device answered "
        "a read), platform (false: not what the inventory says), confirm_window, steps (every step's "
        "action pre-check)"
    )
    kept: dict[str, bool] = Field(
        {},
        description="step -> its change, made by an earlier run this run keeps (options.adopted), read "
        "back on the device now: true still there, false gone (this run makes it again)",
    )


class Discovery(Data):
    parameter: str = Field(description="the host parameter (--set NAME=…)")
    value: str = Field(description="its address as given")
    host: str = Field(description="the name the plan gives the located host")
    mac: str
    device: str = Field(description="the access switch")
    interface: str = Field(description="the edge port")
    vlan: int
    queries: list[Query] = Field(description="[{device, command, ok, output}]: read-only queries")


class Excluded(Data):
    ok: bool
    devices: dict[str, str] = Field(description="device → why it was left out")
    message: str = ""
    plan_sha256: Sha | None = Field(None, description="the narrowed plan.json, checked by resume")
    skipped: list[str] = []
    left_open: list[str] = []


class Intent(Data):
    device: str
    step: str
    action: str
    platform: str
    forward: list[str] = Field(description="the commands sent (configuration lines)")
    exec_after: list[str] = Field(
        [], description="exec-mode lines sent after them (earlier versions: `@exec LINE` inside forward)"
    )
    inverse: list[str] = Field(description="the undo, computed from the captured pre-state")
    pre_state: Sha | None
    stage: int = Field(description="restore stage")
    confirm_window_s: int | None
    revert: Revert | None = Field(None, description="the device-owned revert the push arms")


    def lines(self) -> tuple[list[str], list[str]]:
        """(configuration lines, exec-mode lines) sent; a journal of an earlier version spelled
        an exec-mode line ``@exec LINE`` inside ``forward``, read the same way."""
        legacy = [line for line in self.forward if line.startswith(LEGACY_EXEC_PREFIX)]
        config = [line for line in self.forward if not line.startswith(LEGACY_EXEC_PREFIX)]
        return config, [line.removeprefix(LEGACY_EXEC_PREFIX) for line in legacy] + self.exec_after


class Applied(Data):
    device: str
    step: str
    ok: bool
    message: str
    duration_s: float
    answers: list[Answer] = Field(
        [], description="what the device answered: [{command, output}] (scrubbed, output capped)"
    )


class Verified(Data):
    device: str
    step: str
    ok: bool
    problems: list[str]
    post_state: Sha


class Confirmed(Data):
    device: str
    step: str


class RevertCancelled(Data):
    device: str
    steps: list[str]
    ok: bool
    cancelled: list[str]
    pending: list[str]
    message: str


class Failed(Data):
    device: str
    step: str
    phase: str = Field(description="precheck, push, in-flight, verify, confirm, restore, interrupted")
    message: str
    state: Sha | None = Field(None, description="the device's state read back after the failure")
    intent_seq: int | None = Field(None, description="phase interrupted: the seq of the intent it answers")
    outcome: Literal["unknown"] | None = Field(
        None, description="phase in-flight: the device stopped answering or dropped the connection mid-push"
    )
    may_have_run: list[str] | None = Field(None, description="phase in-flight: commands that may have run")


class Policy(Data):
    step: str
    policy: str
    decision: str


class StepEnd(Data):
    step: str
    ok: bool
    duration_s: float


class RestoreStart(Data):
    stages: list[int]
    only_stage: int | None = None
    reason: str = ""
    incident: str = ""
    host_key_checking: bool = Field(True, description="false: --insecure-host-keys")
    user: str
    host: str
    pid: int
    adopted_locks: list[str] = []


class RestoreIntent(Data):
    device: str
    step: str
    stage: int
    commands: list[str]
    target_state: Sha = Field(description="the pre-state the commands bring back")


class Restored(Data):
    device: str
    step: str
    ok: bool
    stage: int
    message: str
    answers: list[Answer] = Field(
        [], description="what the device answered to the inverse: [{command, output}]"
    )


class Gate(Data):
    stage: int
    device: str
    ok: bool
    check: Literal["reachable", "restore", "equality", "equality-deferred"]
    problems: list[str]
    state: Sha | None = Field(description="the read-back")
    expected: Sha | None = Field(description="the captured pre-state it must equal")


class RestoreEnd(Data):
    ok: bool
    message: str = ""


class RunEnd(Data):
    status: Literal["ok", "partial", "failed", "aborted", "prechecks-failed", "rolled-back", "checked"]
    duration_s: float
    time_to_contain_s: float | None


class ResumeStart(Data):
    host_key_checking: bool = Field(True, description="false: --insecure-host-keys")
    user: str
    host: str
    pid: int
    done: list[str] = Field(description="step@device verified before the crash")
    adopted_locks: list[str]


class LocksReleased(Data):
    locks: list[str] = Field(description="the dead process's stale device locks released")


class TornTail(Data):
    line: int
    bytes: int
    sha256: Sha
    file: str = Field(description="journal.torn.<n>, holding the cut bytes")


class Seal(Data):
    alg: str
    key: str
    public_key: str
    sig: str = Field(description="signature of the journal head (docs: Signed heads)")


# kind -> (model, when it is written). The order is the order of docs/journal.md's table.
KIND_MODELS: dict[str, tuple[type[Data], str]] = {
    "run-start": (RunStart, "first, always"),
    "discovery": (Discovery, "per host parameter located on the network at plan time"),
    "precheck": (Precheck, "per device, before any change"),
    "excluded": (Excluded, "--skip-unreachable left devices out"),
    "intent": (Intent, "**before** the device is touched"),
    "applied": (Applied, "after the push"),
    "verified": (Verified, "after the read-back"),
    "confirmed": (Confirmed, "after the device-owned revert was cancelled"),
    "revert-cancelled": (RevertCancelled, "restore/resume cancelled a revert a dead run armed"),
    "failed": (Failed, "instead of `applied`/`restored`; `interrupted` answers a crash"),
    "policy": (Policy, "when a step's failure policy acts"),
    "step-end": (StepEnd, "after each step"),
    "restore-start": (RestoreStart, "a restore begins"),
    "restore-intent": (RestoreIntent, "**before** restore touches the device"),
    "restored": (Restored, "after the inverse was pushed (or found unneeded)"),
    "gate": (Gate, "per device and stage: reachability, then read-back equality"),
    "restore-end": (RestoreEnd, "a restore ends"),
    "run-end": (RunEnd, "the run's steps end"),
    "resume-start": (ResumeStart, "`isolate apply --resume RUN` begins"),
    "locks-released": (LocksReleased, "after a crashed run's successful restore"),
    "torn-tail": (TornTail, "when a crash-cut line was moved aside"),
    "seal": (Seal, "last, when the process that appended closes the journal"),
}


class SchemaError(ValueError):
    """A record's data does not match its kind's model; the message names kind and field."""


def check_data(kind: str, data: dict[str, Any]) -> None:
    """Raise SchemaError unless ``data`` fits ``kind``'s model exactly: every required field
    present, each value of its type (strict), no field the model does not name. The writer
    calls it before a record is written, so the journal never holds a record that
    ``journal verify`` would refuse (an unknown kind is refused too)."""
    try:
        model = KIND_MODELS[kind][0]
    except KeyError:
        raise SchemaError(_unknown_kind(kind)) from None
    try:
        model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise SchemaError(f"{kind} record: {_first(exc)}") from None


def typed(record: Record) -> Data:
    """The record's data as its kind's model (every required field present, each of its
    type); SchemaError if not. A field the model does not name is left out (readers ignore
    what another version of isolate added; the writer refuses it)."""
    data, problem = _fit(record.kind, record.data)
    if data is None:
        raise SchemaError(f"seq {record.seq}: {problem}")
    return data


def misfit(kind: str, data: Mapping[str, Any]) -> str | None:
    """Why a record of ``kind`` with ``data`` does not fit its model — ``KIND record: FIELD:
    problem``, or an unknown kind — or None when it fits (fields the model does not name
    aside: see :func:`unknown_fields`)."""
    return _fit(kind, data)[1]


def _fit(kind: str, data: Mapping[str, Any]) -> tuple[Data | None, str | None]:
    try:
        model = KIND_MODELS[kind][0]
    except KeyError:
        return None, _unknown_kind(kind)
    try:
        known = {k: v for k, v in data.items() if k in model.model_fields}
        return model.model_validate(known, strict=True), None
    except ValidationError as exc:
        return None, f"{kind} record: {_first(exc)}"


def _unknown_kind(kind: str) -> str:
    return f"unknown record kind {kind!r} (isolate/journal/schema.py lists the kinds)"


def unknown_fields(kind: str, data: Mapping[str, Any]) -> list[str]:
    """The fields of ``data`` that ``kind``'s model does not name (another version wrote them)."""
    model = KIND_MODELS.get(kind, (Data, ""))[0]
    return sorted(k for k in data if k not in model.model_fields)


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "data"
    if error["type"] == "extra_forbidden":
        return f"field {where} is not in its model (isolate/journal/schema.py)"
    return f"{where}: {error['msg']}"


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) else None
    text = text or str(annotation).replace("typing.", "").replace("isolate.journal.schema.", "")
    return text.replace(" | ", " or ").replace("Literal[", "one of [")


def kinds_table() -> str:
    """docs/journal.md's table of kinds, generated from the models."""
    lines = ["| kind | data | written |", "|---|---|---|"]
    for kind, (model, when) in KIND_MODELS.items():
        fields = []
        for name, info in model.model_fields.items():
            optional = "" if info.is_required() else "?"
            note = f" — {info.description}" if info.description else ""
            fields.append(f"{name}{optional}: {_type_name(info.annotation)}{note}")
        lines.append(f"| `{kind}` | {'; '.join(fields)} | {when} |")
    return "\n".join(lines) + "\n"
