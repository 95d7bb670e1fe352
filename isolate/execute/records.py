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
class PrecheckResult:
    device: str
    ok: bool
    message: str
    state_sha256: str | None = None
    reachable: bool = True  # False: no connection (refused, no answer): --skip-unreachable leaves it out


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
