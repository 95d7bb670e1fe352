"""The typed result of a drill: every figure, check, step, device and flow the reports show.

Pure data (pydantic, frozen). ``isolate.drill`` builds it; the renderers in this package
(json, junit, markdown, html) only read it. Times are seconds; ``*_at`` are ISO-8601 UTC;
``start_s``/``end_s`` on spans count from the moment apply started.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

REPORT_VERSION = 1
CAEN_BUDGET_S = 40 * 60.0  # "encrypt all the data in forty minutes" (Caen, 2022)
MEDIAN_FAMILY_S = 43 * 60.0  # a median ransomware family encrypts ~100k files in ~43 minutes
FASTEST_FAMILY_S = 4 * 60.0  # the fastest family, about 4 minutes

CheckGroup = Literal["steps", "containment", "restore", "flows", "clock", "drill"]
Expect = Literal["block", "keep", "none"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Check(_Frozen):
    """One pass/fail assertion of the drill; one JUnit testcase."""

    id: str  # stable, e.g. "restore.identical.core1"
    group: CheckGroup
    name: str
    ok: bool
    skipped: bool = False
    message: str = ""
    device: str | None = None
    details: tuple[str, ...] = ()  # differences, flows out of place, …


class Span(_Frozen):
    """One device's work in one step (or its restore), from the journal's timestamps."""

    device: str
    step: str
    phase: Literal["precheck", "apply", "restore"]
    start_s: float
    end_s: float
    ok: bool
    message: str = ""


class DeviceOutcome(_Frozen):
    device: str
    ok: bool
    phase: str
    duration_s: float = 0.0
    message: str = ""
    problems: tuple[str, ...] = ()


class StepOutcome(_Frozen):
    id: str
    action: str
    ok: bool
    duration_s: float
    decision: str = ""
    devices: tuple[DeviceOutcome, ...] = ()


class DeviceRestore(_Frozen):
    """Whether a touched device reads back byte-identical to its captured pre-state."""

    device: str
    identical: bool
    difference: str = ""  # one line: where it differs first
    stage: int | None = None
    diff: tuple[str, ...] = ()  # unified diff, captured pre-state → read back (capped)


class FlowRow(_Frozen):
    """One flow and whether it passed before, during and after containment."""

    src: str
    dst: str
    port: int
    proto: str = "tcp"
    service: str = ""
    src_segment: str = ""
    dst_segment: str = ""
    expect: Expect = "none"  # what containment must do to it (only flows open at baseline)
    before: bool
    during: bool | None = None
    after: bool | None = None

    @property
    def label(self) -> str:
        name = f" ({self.service})" if self.service else ""
        return f"{self.src} → {self.dst}:{self.port}/{self.proto}{name}"

    @property
    def during_ok(self) -> bool:
        if self.during is None:
            return True
        if self.expect == "block":
            return not self.during
        if self.expect == "keep":
            return self.during
        return True

    @property
    def after_ok(self) -> bool:
        return self.after is None or self.after == self.before

    @property
    def as_expected(self) -> bool:
        return self.during_ok and self.after_ok

    @property
    def noteworthy(self) -> bool:
        """Changed at some point, or not what was expected: the rows reports list."""
        return self.before != self.during or self.before != self.after or not self.as_expected


class Clock(_Frozen):
    """Time-to-contain and time-to-restore against the encryption clock."""

    budget_s: float = CAEN_BUDGET_S
    fastest_family_s: float = FASTEST_FAMILY_S
    median_family_s: float = MEDIAN_FAMILY_S
    time_to_contain_s: float | None = None
    time_to_restore_s: float | None = None

    @property
    def within_budget(self) -> bool:
        return self.time_to_contain_s is not None and self.time_to_contain_s <= self.budget_s

    @property
    def within_fastest(self) -> bool:
        return self.time_to_contain_s is not None and self.time_to_contain_s <= self.fastest_family_s


class Blast(_Frozen):
    """What the plan said it cuts, in numbers (for the comparison and the summary)."""

    ports: int = 0
    hosts: int = 0
    vpn_users: int = 0
    services_down: tuple[str, ...] = ()  # unreachable from everywhere (their host contained, …)
    services_cut_between: tuple[str, ...] = ()  # cut only between segments: ``smb on 24 host(s)``
    protected: tuple[str, ...] = ()


class Comparison(_Frozen):
    """This playbook against another (e.g. the Caen-style full isolation), on the baseline flows."""

    playbook: str
    other: str
    flows_cut: int
    other_flows_cut: int
    services_down: tuple[str, ...] = ()
    other_services_down: tuple[str, ...] = ()

    @property
    def extra_flows_lost(self) -> int:
        return self.other_flows_cut - self.flows_cut

    @property
    def extra_services_lost(self) -> tuple[str, ...]:
        return tuple(s for s in self.other_services_down if s not in self.services_down)


class DrillResult(_Frozen):
    version: int = REPORT_VERSION
    tool_version: str
    playbook: str
    playbook_path: str
    inventory_path: str
    lab: bool = False
    incident: str = ""
    run_id: str = ""
    run_dir: str = ""
    journal_head: str = ""  # "seq N hash H signed by key K": the run journal's signed head at report time
    started_at: str
    finished_at: str
    apply_status: str = ""
    restore_ok: bool | None = None
    restore_message: str = ""
    exit_code: int = 0
    clock: Clock = Clock()
    blast: Blast = Blast()
    steps: tuple[StepOutcome, ...] = ()
    spans: tuple[Span, ...] = ()
    restore: tuple[DeviceRestore, ...] = ()
    flows: tuple[FlowRow, ...] = ()
    checks: tuple[Check, ...] = ()
    errors: tuple[str, ...] = ()
    comparison: Comparison | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and all(c.ok or c.skipped for c in self.checks)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok and not c.skipped)

    @property
    def devices(self) -> tuple[str, ...]:
        names = {s.device for s in self.spans} | {r.device for r in self.restore}
        names |= {d.device for s in self.steps for d in s.devices}
        return tuple(sorted(names))

    @property
    def restored_identical(self) -> bool:
        return bool(self.restore) and all(r.identical for r in self.restore)

    @property
    def restored_label(self) -> str:
        """``identical (5/5)``, ``NOT identical (4/5)``, or why nothing was restored."""
        if not self.restore:
            return "nothing to restore (nothing was applied)"
        word = "identical" if self.restored_identical else "NOT identical"
        return f"{word} ({sum(r.identical for r in self.restore)}/{len(self.restore)})"

    @property
    def budget_label(self) -> str:
        """``within``/``OVER`` the budget, or ``not measured``."""
        if self.clock.time_to_contain_s is None:
            return "not measured"
        return "within" if self.clock.within_budget else "OVER"


def fmt_seconds(value: float | None) -> str:
    """``0.84 s``, ``3 min 12 s``; ``–`` when unknown."""
    if value is None:
        return "–"
    if value < 60:
        return f"{value:.2f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"
