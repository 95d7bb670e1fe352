"""`isolate drill`: plan → baseline flows → apply → flows during → restore → read-back → flows after.

Unattended: never prompts; every outcome becomes a :class:`DrillResult` (reports render it).
With ``lab=True`` an embedded lab with the default topology is started in a fresh directory
under the state dir and stopped by its pid at the end, also on failure. The engine never
prints: progress goes to the event sink.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isolate import __version__
from isolate.errors import ExitCode, InputError, IsolateError, LockHeld, PlanRefused
from isolate.execute.events import Event, EventSink, guarded, null_sink
from isolate.execute.records import RunResult
from isolate.journal.verify import head_line as journal_head
from isolate.natsort import natural_sorted
from isolate.paths import make_private_dir, state_dir_from
from isolate.reports.flows import (
    Expect,
    FlowMap,
    expectations,
    flow_checks,
    flow_rows,
    is_lab_dir,
    lab_states,
    playbook_expect_checks,
    read_flows,
)
from isolate.reports.model import (
    CAEN_BUDGET_S,
    Blast,
    Check,
    Clock,
    Comparison,
    DeviceOutcome,
    DeviceRestore,
    DrillResult,
    StepOutcome,
    fmt_seconds,
)
from isolate.reports.timeline import restore_outcomes, spans_from_journal, timings_from_journal

if TYPE_CHECKING:
    from isolate.lab.faults import Fault

UNIX_PATH_MAX = 100  # sockaddr_un holds 108 bytes with the terminating NUL; keep a margin
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|m|min|s)?\s*$")


def parse_duration(text: str) -> float:
    """``40m``, ``90s``, ``1.5h`` or plain seconds → seconds. Raises InputError."""
    match = _DURATION.match(text)
    if not match:
        raise InputError(f"--budget {text!r}: expected a duration such as 40m, 90s or 1h")
    value = float(match.group(1))
    unit = match.group(2) or "s"
    seconds = value * {"h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0}[unit]
    if seconds <= 0:
        raise InputError(f"--budget {text!r}: must be more than zero")
    return seconds


@dataclass(frozen=True)
class DrillOptions:
    playbook: Path
    inventory: Path | None = None
    lab: bool = False
    budget_s: float = CAEN_BUDGET_S
    state_dir: Path | None = None
    devices: int | None = None
    compare: Path | None = None
    faults_before_restore: tuple[str, ...] = ()  # DEVICE=KIND[:ARG], lab only
    workers: int = 32
    timeout_s: float = 30.0
    drill_dir: Path | None = None  # where the lab lives (default: a fresh dir under the state dir)
    settle_s: float = 30.0  # after restore, how long flows may take to come back (VPN clients reconnect)
    check_only: bool = False  # plan and pre-check every device; change nothing (a real network)
    parameters: dict[str, list[str]] = field(default_factory=dict)  # incident parameters (--set)
    overrides: tuple[tuple[str, str], ...] = ()  # (STEP or STEP:GUARD, reason): --override … --reason
    topology: Path | None = None  # with lab=True: the lab's topology file (default: city)


@dataclass
class _Acc:
    """What the drill learns as it goes; frozen into a DrillResult at the end."""

    started_at: str
    inventory_path: str = ""
    playbook: str = ""
    run: RunResult | None = None
    restore_ok: bool | None = None
    restore_message: str = ""
    restore_s: float | None = None
    errors: list[str] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK
    blast: Blast = field(default_factory=Blast)
    comparison: Comparison | None = None
    baseline: FlowMap | None = None
    during: FlowMap | None = None
    after: FlowMap | None = None
    expect: Expect = field(default_factory=dict)
    devices: frozenset[str] = frozenset()
    settled_s: float | None = None
    segment_of: dict[str, str] = field(default_factory=dict)  # host -> its segment (flow summaries)
    playbook_expect: Any = None  # the playbook's own expect: (blocked / reachable flows)

    def fail(self, err: IsolateError) -> None:
        self.errors.append(str(err))
        if self.exit_code == ExitCode.OK:
            self.exit_code = err.exit_code if err.exit_code != ExitCode.OK else ExitCode.PARTIAL


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_drill_dir(state_dir: Path | None, playbook: Path) -> Path:
    """``STATE/drills/<UTC stamp>-<playbook stem>``: the lab (with --lab) and the reports."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return state_dir_from(state_dir) / "drills" / f"{stamp}-{playbook.stem}"


@contextmanager
def _lab(options: DrillOptions, drill_dir: Path) -> Iterator[Path | None]:
    """Start the embedded lab for the drill (stopped by pid on the way out); yields its inventory."""
    if not options.lab:
        yield None
        return
    from isolate.lab.process import start_lab

    lab_dir = drill_dir / "lab"
    scratch: Path | None = None
    if len(str(lab_dir.resolve() / "control.sock")) > UNIX_PATH_MAX:
        # the lab's control socket path would not fit in a sockaddr_un: use a short private dir
        scratch = lab_dir = Path(tempfile.mkdtemp(prefix="isolate-drill-lab-"))
    make_private_dir(lab_dir)
    try:
        with start_lab(lab_dir, options.topology or "city", devices=options.devices) as handle:
            yield handle.inventory
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def run_drill(options: DrillOptions, *, sink: EventSink = null_sink) -> DrillResult:
    """Run one drill end to end and return its result; raises only for bad input (before
    anything is changed). Every later failure is a failed check or an error in the result."""
    if options.lab and options.inventory is not None:
        raise InputError("isolate drill: give either -i INVENTORY or --lab, not both")
    if not options.lab and options.inventory is None:
        raise InputError("isolate drill PLAYBOOK needs -i INVENTORY or --lab")
    if options.topology is not None and not options.lab:
        raise InputError("--topology needs --lab (the topology of the lab the drill starts)")
    if options.faults_before_restore and not options.lab:
        raise InputError("--fault-before-restore needs --lab (faults are a lab feature)")
    if options.faults_before_restore and options.check_only:
        raise InputError("--fault-before-restore and --check: a check-mode drill restores nothing")
    faults = _faults(options.faults_before_restore)  # each checked before anything is sent
    acc = _Acc(started_at=_now_iso(), playbook=options.playbook.stem)
    drill_dir = options.drill_dir or default_drill_dir(options.state_dir, options.playbook)
    emit = _emitter(sink)
    if not options.playbook.is_file():  # said in the reports too, like any invalid playbook
        missing = InputError(f"{options.playbook}: no such playbook file")
        acc.fail(missing)
        emit("drill-refused", str(missing), ok=False)
        return _result(options, acc)
    emit("drill-start", f"drill {options.playbook.stem}, budget {fmt_seconds(options.budget_s)}")
    with _lab(options, drill_dir) as lab_inventory:
        inventory_path = lab_inventory or options.inventory
        assert inventory_path is not None
        acc.inventory_path = str(inventory_path)
        lab = lab_inventory is not None or _is_lab(inventory_path)
        try:
            _drill(options, acc, inventory_path, lab, emit, sink, faults)
        except (InputError, PlanRefused, LockHeld) as err:  # invalid, refused, busy: nothing changed
            acc.fail(err)
            emit("drill-refused", str(err), ok=False)
    return _result(options, acc)


def _is_lab(inventory_path: Path) -> bool:
    """An inventory written by `isolate lab up` or `isolate netlab up` (beside the lab's files)."""
    return is_lab_dir(inventory_path.parent)


def _emitter(sink: EventSink) -> Any:
    sink = guarded(sink)

    def emit(kind: str, message: str, ok: bool = True, **data: Any) -> None:
        sink(Event(kind, "drill", None, None, ok, message, data=data))

    return emit


def _faults(specs: Sequence[str]) -> list[tuple[str, str, Fault]]:
    """``--fault-before-restore`` values, parsed (spec, device, fault): InputError naming the
    bad one."""
    from isolate.lab.faults import parse_fault

    parsed: list[tuple[str, str, Fault]] = []
    for spec in specs:
        try:
            parsed.append((spec, *parse_fault(spec)))
        except InputError as err:
            raise InputError(f"--fault-before-restore {spec!r}: {err}") from None
    return parsed


def _drill(
    options: DrillOptions,
    acc: _Acc,
    inventory_path: Path,
    lab: bool,
    emit: Any,
    sink: EventSink,
    faults: Sequence[tuple[str, str, Fault]] = (),
) -> None:
    lab_dir = inventory_path.parent if lab else None
    with _one_drill_at_a_time(lab_dir):
        _drill_on(options, acc, inventory_path, lab_dir, emit, sink, faults)


@contextmanager
def _one_drill_at_a_time(lab_dir: Path | None) -> Iterator[None]:
    """Drills of one lab run one at a time: from the baseline's read to the flows read after
    the restore, another drill's changes would be counted as this one's (its baseline taken
    mid-restore, its must-block flows fewer, a perfect restore blamed). An exclusive ``flock``
    on the lab's ``drill.lock``, held for the drill; a second drill is refused (LockHeld, exit
    5), naming the first."""
    if lab_dir is None:
        yield
        return
    path = lab_dir / "drill.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "a process"
            raise LockHeld(
                f"lab {lab_dir}: another drill is running on it ({holder}); drills of one lab run one "
                "at a time: run this one when it has ended"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, since {_now_iso()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # the lock goes with it


def _drill_on(
    options: DrillOptions,
    acc: _Acc,
    inventory_path: Path,
    lab_dir: Path | None,
    emit: Any,
    sink: EventSink,
    faults: Sequence[tuple[str, str, Fault]],
) -> None:
    from isolate import api

    states = lab_states(lab_dir) if lab_dir is not None else None
    inventory, built = api.plan(
        inventory_path,
        options.playbook,
        parameters=options.parameters,
        baseline=states,
        overrides=[api.Override(step, reason) for step, reason in options.overrides],
    )
    acc.playbook = built.playbook
    acc.playbook_expect = _playbook_expect(options.playbook)
    segments = {h.name: h.segment for h in inventory.hosts}
    acc.segment_of = segments
    acc.blast = _blast(built, segments)
    acc.devices = frozenset(d.name for d in inventory.devices)
    unknown = [device for _, device, _ in faults if device not in acc.devices]
    if unknown:  # before anything is sent: a fault for no device of the lab
        where = f"in the lab's inventory {inventory_path}"
        raise InputError(f"--fault-before-restore: no device {unknown[0]!r} {where}")
    if options.compare is not None:
        acc.comparison = _compare(inventory_path, built, options.compare, segments, states)
    if lab_dir is not None:
        acc.baseline = read_flows(lab_dir)
        acc.expect = expectations(built, inventory, acc.baseline)
        emit("drill-flows", f"baseline: {sum(acc.baseline.values())} of {len(acc.baseline)} flows open")
    state = state_dir_from(options.state_dir)
    before = _run_ids(state)
    request = api.ApplyRequest(
        command="drill",
        incident=f"DRILL-{datetime.now(UTC):%Y-%m-%d}",
        reason=f"scheduled drill of {built.playbook} (isolate drill)"
        + "".join(f"; override {step}: {why}" for step, why in options.overrides),
        workers=options.workers,
        timeout_s=options.timeout_s,
        check_only=options.check_only,
        extra={"drill": True, "budget_s": options.budget_s},
    )
    try:
        acc.run = api.apply(inventory, built, request, state_dir=options.state_dir, sink=sink)
    except IsolateError as err:
        acc.fail(err)
    if acc.run is not None and acc.run.status == "prechecks-failed":
        acc.fail(_precheck_error(acc.run))
        return
    if acc.run is not None and acc.run.status == "checked":
        emit("drill-check", "check mode: every device pre-checked; nothing was changed")
        return
    if lab_dir is not None and acc.run is not None:
        acc.during = read_flows(lab_dir)
        emit("drill-flows", f"during: {sum(acc.during.values())} of {len(acc.during)} flows open")
    try:
        _inject_faults(faults, lab_dir, emit)
    except IsolateError as err:  # the run is applied: said, and restored all the same
        acc.fail(err)
        emit("drill-fault", f"fault not injected: {err}", ok=False)
    runs = [acc.run.run_id] if acc.run is not None else sorted(_run_ids(state) - before)
    for run_id in runs:
        _restore(options, acc, run_id, inventory_path, sink, emit)
    if lab_dir is not None and runs and acc.baseline is not None:
        acc.after, acc.settled_s = _settle(lab_dir, acc.baseline, options.settle_s)
        emit("drill-flows", f"after: {sum(acc.after.values())} of {len(acc.after)} flows open"
             f" ({acc.settled_s:.1f}s after restore)")


def _settle(lab_dir: Path, baseline: FlowMap, settle_s: float) -> tuple[FlowMap, float]:
    """The flow matrix after restore, read until it equals the baseline or ``settle_s`` passed:
    some flows come back only when their clients reconnect by themselves (VPN users)."""
    started = time.monotonic()
    while True:
        after = read_flows(lab_dir)
        waited = time.monotonic() - started
        if after == baseline or waited >= settle_s:
            return after, waited
        time.sleep(0.5)


def _precheck_error(run: RunResult) -> IsolateError:
    from isolate.errors import PrecheckFailed

    bad = [p for p in run.prechecks if not p.ok]
    first = f"{bad[0].device}: {bad[0].message}" if bad else "a pre-check failed"
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return PrecheckFailed(f"pre-checks failed, nothing was changed: {first}{more}")


def _inject_faults(faults: Sequence[tuple[str, str, Fault]], lab_dir: Path | None, emit: Any) -> None:
    if not faults or lab_dir is None:
        return
    from isolate.lab.process import set_fault

    for spec, device, fault in faults:
        set_fault(lab_dir, device, fault)
        emit("drill-fault", f"fault injected before restore: {spec}")


def _restore(
    options: DrillOptions, acc: _Acc, run_id: str, inventory_path: Path, sink: EventSink, emit: Any
) -> None:
    from isolate import api

    started = time.monotonic()
    try:
        result = api.restore(
            run_id,
            state_dir=options.state_dir,
            inventory_path=inventory_path,
            workers=options.workers,
            timeout_s=options.timeout_s,
            sink=sink,
        )
        acc.restore_ok = result.ok if acc.restore_ok is None else acc.restore_ok and result.ok
        acc.restore_message = result.message or f"restored stages {list(result.stages)}"
    except IsolateError as err:
        acc.restore_ok = False
        acc.restore_message = str(err)
        emit("drill-restore", str(err), ok=False)
    acc.restore_s = time.monotonic() - started


def _run_ids(state: Path) -> set[str]:
    runs = state / "runs"
    return {p.name for p in runs.iterdir() if p.is_dir()} if runs.is_dir() else set()


def _blast(built: Any, segments: Mapping[str, str]) -> Blast:
    """The plan's blast radius in numbers. A service is *down* when a step cuts it inside its
    own segment too (its host is contained, or the service is fenced or disabled); one cut
    only between segments (block-smb, segment-acl) is *cut between segments*, not down."""
    down: set[str] = set()
    between: dict[str, set[str]] = {}
    contained = set(built.blast.hosts_cut_off)
    whole = set(segments.values())
    for step in built.steps:
        for cut in step.blast.services:
            own = segments.get(cut.host)
            sources = [s for s in cut.sources if s not in contained]
            if not sources:
                continue  # cut only for contained hosts: the point, not a service down
            if cut.host in contained or any(s == own or segments.get(s) == own for s in sources):
                down.add(f"{cut.service} on {cut.host}")
            elif any(s in whole for s in sources):  # cut for whole segments, not one host
                between.setdefault(cut.service, set()).add(cut.host)
    services = natural_sorted(down)
    protected = [*built.protected.hosts, *built.protected.services]
    return Blast(
        ports=built.blast.ports,
        hosts=len(built.blast.hosts_cut_off),
        vpn_users=len(built.blast.vpn_users),
        services_down=tuple(services),
        services_cut_between=tuple(f"{name} on {len(on)} host(s)" for name, on in sorted(between.items())),
        protected=tuple(protected),
    )


def _compare(
    inventory_path: Path,
    built: Any,
    other_path: Path,
    segments: Mapping[str, str],
    states: Mapping[str, str] | None = None,
) -> Comparison:
    """The same inventory planned with another playbook (e.g. full isolation): what more it
    cuts, on the same device states (``states``) as the drill's own plan."""
    from isolate import api
    from isolate.errors import PlanRefused

    try:
        _, other = api.plan(inventory_path, other_path, baseline=states)
    except PlanRefused:
        # a Caen-style cut is refused by the guards: plan it as if overridden, to count its cost
        overrides = [api.Override(s, "comparison only: never applied") for s in _step_ids(other_path)]
        _, other = api.plan(inventory_path, other_path, overrides=overrides, baseline=states)
    mine, theirs = _blast(built, segments), _blast(other, segments)
    return Comparison(
        playbook=built.playbook,
        other=other.playbook,
        flows_cut=built.blast.flows_cut,
        other_flows_cut=other.blast.flows_cut,
        services_down=mine.services_down,
        other_services_down=theirs.services_down,
    )


def _playbook_expect(playbook_path: Path) -> Any:
    from isolate.playbook.loader import load_playbook

    return load_playbook(playbook_path).expect


def _step_ids(playbook_path: Path) -> list[str]:
    from isolate.playbook.loader import load_playbook

    return [s.id for s in load_playbook(playbook_path).steps]


# -- the result ----------------------------------------------------------------------------------


def _steps(run: RunResult | None) -> tuple[StepOutcome, ...]:
    if run is None:
        return ()
    return tuple(
        StepOutcome(
            id=s.step,
            action=s.action,
            ok=s.ok,
            duration_s=s.duration_s,
            decision=s.decision,
            devices=tuple(
                DeviceOutcome(
                    device=d.device,
                    ok=d.ok,
                    phase=d.phase,
                    duration_s=d.duration_s,
                    message=d.message,
                    problems=d.problems,
                )
                for d in s.devices
            ),
        )
        for s in run.steps
    )


def _restore_checks(acc: _Acc, restore: Sequence[DeviceRestore]) -> list[Check]:
    checks = [
        Check(
            id="restore.completed",
            group="restore",
            name="restore completed every stage",
            ok=bool(acc.restore_ok),
            skipped=acc.restore_ok is None,
            message=acc.restore_message or ("not run" if acc.restore_ok is None else ""),
        )
    ]
    for row in restore:
        checks.append(
            Check(
                id=f"restore.identical.{row.device}",
                group="restore",
                name=f"{row.device} read back identical to its captured pre-state",
                ok=row.identical,
                device=row.device,
                message="identical" if row.identical else row.difference,
                details=() if row.identical else (row.difference, *row.diff),
            )
        )
    return checks


def _clock_check(clock: Clock) -> Check:
    ttc = clock.time_to_contain_s
    return Check(
        id="clock.budget",
        group="clock",
        name=f"contained within the budget of {fmt_seconds(clock.budget_s)}",
        ok=clock.within_budget,
        skipped=ttc is None,
        message=f"time to contain {fmt_seconds(ttc)} of {fmt_seconds(clock.budget_s)}"
        f" (fastest ransomware family: {fmt_seconds(clock.fastest_family_s)})",
    )


def _result(options: DrillOptions, acc: _Acc) -> DrillResult:
    run = acc.run
    run_dir = Path(run.run_dir) if run is not None else None
    records = timings_from_journal(run_dir) if run_dir is not None else None
    spans = spans_from_journal(records) if records is not None else ()
    restore = restore_outcomes(records, run_dir) if records is not None and run_dir is not None else ()
    restore_s = records.restore_s if records is not None and records.restore_s is not None else acc.restore_s
    clock = Clock(
        budget_s=options.budget_s,
        time_to_contain_s=run.time_to_contain_s if run is not None else None,
        time_to_restore_s=restore_s,
    )
    checks: list[Check] = []
    if run is None and acc.errors:
        checks.append(
            Check(id="drill.plan", group="drill", name="the playbook plans (inputs, guards)",
                  ok=False, message=acc.errors[0])
        )
    if run is not None:
        checks.append(
            Check(
                id="apply.status",
                group="steps",
                name="every device pre-checked (check mode)" if run.status == "checked"
                else "every step applied and verified",
                ok=run.ok,
                message=f"run {run.run_id}: {run.status}",
                details=tuple(
                    f"{d.device}: {d.message}" for s in run.steps for d in s.devices if not d.ok
                ),
            )
        )
    checks += flow_checks(
        acc.baseline, acc.during, acc.after, acc.expect, lab=acc.baseline is not None, devices=acc.devices,
        settled_s=acc.settled_s,
    )
    if acc.baseline is not None and (run is None or run.status != "checked"):
        checks += playbook_expect_checks(acc.playbook_expect, acc.during)
    checks += _restore_checks(acc, restore)
    if run is not None:
        checks.append(_clock_check(clock))
    flows = flow_rows(acc.baseline, acc.during, acc.after, acc.expect, segment_of=acc.segment_of)
    exit_code = acc.exit_code
    if exit_code == ExitCode.OK and any(not c.ok and not c.skipped for c in checks):
        exit_code = ExitCode.PARTIAL
    return DrillResult(
        tool_version=__version__,
        playbook=acc.playbook,
        playbook_path=str(options.playbook),
        inventory_path=acc.inventory_path,
        lab=options.lab or acc.baseline is not None,
        incident=f"DRILL-{acc.started_at[:10]}",
        run_id=run.run_id if run is not None else "",
        run_dir=str(run_dir or ""),
        journal_head=journal_head(run_dir) if run_dir is not None else "",
        started_at=acc.started_at,
        finished_at=_now_iso(),
        apply_status=run.status if run is not None else "",
        restore_ok=acc.restore_ok,
        restore_message=acc.restore_message,
        exit_code=int(exit_code),
        clock=clock,
        blast=acc.blast,
        steps=_steps(run),
        spans=spans,
        restore=tuple(restore),
        flows=flows,
        checks=tuple(checks),
        errors=tuple(acc.errors),
        comparison=acc.comparison,
    )
