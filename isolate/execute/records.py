"""Typed results of a run: CommandResult lives with the drivers; these sit above it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DeviceResult:
    device: str
    step: str
    ok: bool
    phase: str  # precheck | push | verify | done | rolled-back | skipped
    message: str = ""
    duration_s: float = 0.0
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepResult:
    step: str
    action: str
    ok: bool
    devices: tuple[DeviceResult, ...]
    duration_s: float
    decision: str = ""  # what the failure policy decided, if it had to


@dataclass(frozen=True)
class Kept:
    """A change made and verified earlier (by an earlier run of the same playbook, or by this run
    before --resume / --retry-failed), read back on the device at the pre-check: ``problems``
    empty, it is still there and is kept; else it is gone (a reload without ``write memory``,
    a hand edit) and this run makes it again."""

    step: str
    run: str
    problems: tuple[str, ...] = ()

    @property
    def still_there(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class PrecheckResult:
    device: str
    ok: bool
    message: str
    state_sha256: str | None = None
    reachable: bool = True  # False: no connection (refused, no answer): --skip-unreachable leaves it out
    kept: tuple[Kept, ...] = ()  # changes made earlier that this run keeps, each read back at pre-check


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: str
    status: str  # ok | partial | failed | aborted | prechecks-failed | rolled-back | checked
    prechecks: tuple[PrecheckResult, ...] = ()
    steps: tuple[StepResult, ...] = ()
    started: float = 0.0
    duration_s: float = 0.0
    time_to_contain_s: float | None = None
    messages: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "checked")
