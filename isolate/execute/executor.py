"""The executor: pre-checks → (per step) intent → push → read-back verify → confirm.

Invariants kept here (shared/BRIEF.md):
1. the intent (forward, inverse, digest of captured pre-state) is appended and fsynced
   before anything reaches the device; a journal write failure stops the run;
2. every inverse is computed by the action from the state read off that device just
   before the step (for a device's first step, that is the pre-check's read: its pre-check
   and inverse, computed then from that very text, are used as they are, not computed again);
8. device locks are held for the whole run.
Devices of one step run in parallel (bounded); one session per device across steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from isolate.drivers.base import (
    Batch,
    BatchCapable,
    ConfirmCapable,
    ConfirmPrerequisites,
    ReadsAfterPush,
    ReadsAhead,
    Session,
    Target,
)
from isolate.errors import (
    AuthError,
    ConnectError,
    DeviceError,
    DeviceTimeout,
    IsolateError,
    JournalError,
    PrecheckFailed,
)
from isolate.execute import inflight
from isolate.execute.events import Event, EventSink, guarded, null_sink
from isolate.execute.records import DeviceResult, Kept, PrecheckResult, RunResult, StepResult
from isolate.execute.reverts import revert_identity, revert_tag
from isolate.execute.runner import Runner, ThreadRunner
from isolate.execute.sessions import SessionPool
from isolate.execute.undo import Restorer, RestoreResult, UndoEntry, answers_of
from isolate.platforms import has_identity, has_revert, precheck_reads, state_reads


class ChangeLike(Protocol):
    @property
    def device(self) -> str: ...

    @property
    def platform(self) -> str: ...

    @property
    def commands(self) -> Sequence[str]: ...

    @property
    def exec_after(self) -> Sequence[str]: ...

    @property
    def item(self) -> Any: ...


class StepLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def policy(self) -> str: ...

    @property
    def timeout_s(self) -> float: ...

    @property
    def restore_stage(self) -> int | None: ...

    @property
    def changes(self) -> Sequence[ChangeLike]: ...


class PlanLike(Protocol):
    @property
    def steps(self) -> Sequence[StepLike]: ...


class JournalLike(Protocol):
    run_dir: Path

    def append(self, kind: str, /, **data: Any) -> Any: ...

    def append_deferred(self, kind: str, /, **data: Any) -> Any: ...

    def store_state(self, text: str) -> str: ...

    def store_artifact(self, name: str, text: str) -> str: ...


class PlatformActionLike(Protocol):
    verify_commands: tuple[str, ...]

    def precheck(self, item: Any, state: str) -> list[str]: ...

    def inverse(self, item: Any, state: str) -> list[str]: ...

    def verify(self, item: Any, state: str, extra: dict[str, str]) -> list[str]: ...


ActionLookup = Callable[[str, str], PlatformActionLike]
IdentityCheck = Callable[[Session], str | None]


@dataclass(frozen=True)
class _Prechecked:
    """A change's pre-check passed on ``state`` (the pre-check's read), and its inverse."""

    state: str
    item: Any
    inverse: list[str]


@dataclass(frozen=True)
class ApplyOptions:
    workers: int = 32
    confirm_window_s: int | None = None
    check_only: bool = False


def restore_stage_of(plan: PlanLike, index: int) -> int:
    """A step's restore stage: its own, else the reverse of apply order (last applied = 1)."""
    stage = plan.steps[index].restore_stage
    return stage if stage is not None else len(plan.steps) - index


@dataclass(frozen=True)
class _NoSteps:
    steps: tuple[StepLike, ...] = ()


_NO_STEPS = _NoSteps()


def _no_action(action: str, platform: str) -> PlatformActionLike:
    raise LookupError(f"an undo-only executor runs no action ({action} on {platform})")


def _verify_reads(session: Session, action: PlatformActionLike) -> tuple[str, ...]:
    """What a step's verification reads: the device's state and the action's own reads."""
    return (*state_reads(session.target.platform), *action.verify_commands)


def _verify_extra(session: Session, action: PlatformActionLike) -> dict[str, str]:
    """The action's own reads beyond the state, each command's output (``verify``'s ``extra``)."""
    return {cmd: session.run(cmd).output for cmd in action.verify_commands}


def _no_identity(session: Session) -> str | None:
    return None


class Executor:
    """Runs one plan against devices, writing the journal ahead of every change; its undo
    work (rollback policies, resume's recovery, restore) runs on the same engine."""

    def __init__(
        self,
        plan: PlanLike,
        targets: Mapping[str, Target],
        journal: JournalLike,
        *,
        run_id: str,
        connect: Callable[[Target], Session],
        lookup: ActionLookup,
        identify: IdentityCheck,
        options: ApplyOptions,
        sink: EventSink = null_sink,
        kept: Mapping[tuple[str, str], str] | None = None,
        runner: Runner | None = None,
        scrub: Callable[[str], str] = str,
    ) -> None:
        self.plan = plan
        self.runner: Runner = runner or ThreadRunner(options.workers)
        self.scrub = scrub
        self.journal = journal
        self.run_id = run_id
        self.lookup = lookup
        self.identify = identify
        self.options = options
        self.sink = guarded(sink)
        self.pool = SessionPool(targets, connect)
        self._timeout_s = max((t.timeout_s for t in targets.values()), default=30.0)
        if isinstance(self.runner, ThreadRunner) and self.runner.on_stop is None:
            self.runner.on_stop = self._stopping
        self.states: dict[str, str] = {}  # device -> last state read off it
        self._stored: dict[str, tuple[str, str]] = {}  # device -> (that state, its stored sha)
        self._prechecked: dict[tuple[str, str], _Prechecked] = {}  # (step id, device) -> first step's
        self._by_device: dict[str, list[tuple[StepLike, ChangeLike]]] = {}  # (precheck_all)
        self.done: list[tuple[int, str]] = []  # (step index, device) applied, in order
        self.entries: dict[tuple[int, str], UndoEntry] = {}  # what undoes each applied change
        # (step id, device) -> the run that made and verified it: an earlier run of the same
        # playbook (re-apply), or an earlier process of this run (--resume, --retry-failed).
        # Each is read back at pre-check; one no longer on the device leaves ``done_before``
        # and is made again by this run.
        self.kept: dict[tuple[str, str], str] = dict(kept or {})
        self.done_before = set(self.kept)

    # -- helpers --------------------------------------------------------------------------
    def _emit(
        self,
        kind: str,
        *,
        step: str | None = None,
        device: str | None = None,
        ok: bool = True,
        message: str = "",
        **data: Any,
    ) -> None:
        self.sink(Event(kind, self.run_id, step, device, ok, message, data=data))

    def _stopping(self, in_flight: int) -> None:
        """A map stopped (Ctrl-C, an error) while devices were still being worked on: said at
        once, since the run waits for them before it can say where it stands."""
        self._emit(
            "stopping",
            ok=False,
            message=(
                f"stopping: waiting for {in_flight} device(s) in flight to finish what they are doing "
                f"(a change sent is completed and read back; a device that stops answering is given up "
                f"after {self._timeout_s:g} s); no other device will be touched"
            ),
            in_flight=in_flight,
        )

    def _remaining(self, step: StepLike) -> list[ChangeLike]:
        return [c for c in step.changes if (step.id, c.device) not in self.done_before]

    def _parallel(self, fn: Callable[[str], Any], devices: Sequence[str]) -> list[Any]:
        return self.runner.map(fn, devices)

    @classmethod
    def for_undo(
        cls,
        targets: Mapping[str, Target],
        journal: JournalLike,
        *,
        run_id: str,
        connect: Callable[[Target], Session],
        workers: int = 32,
        sink: EventSink = null_sink,
        scrub: Callable[[str], str] = str,
    ) -> Executor:
        """An executor with no steps, for ``isolate restore``: its undo work (:meth:`undo`)
        runs on the same runner, guarded session pool, journal and guarded sink as apply's."""
        return cls(
            _NO_STEPS, targets, journal, run_id=run_id, connect=connect, lookup=_no_action,
            identify=_no_identity, options=ApplyOptions(workers), sink=sink, scrub=scrub,
        )  # fmt: skip

    def undo(self, entries: Sequence[UndoEntry], *, only_stage: int | None = None) -> RestoreResult:
        """Undo work on this executor's runner, sessions, journal and sink (rollback policies,
        resume's recovery, restore): the same engine as the apply work."""
        return Restorer(
            self.pool, self.journal, run_id=self.run_id, runner=self.runner, sink=self.sink, scrub=self.scrub
        ).run(entries, only_stage=only_stage)

    # -- pre-checks -------------------------------------------------------------------------
    def precheck_all(self) -> list[PrecheckResult]:
        """Pre-check every device with a remaining change, or with a change an earlier run
        made that this run keeps (read back: still there, or made again)."""
        self._by_device = {}  # each device's changes, kept ones included, in step order (one pass)
        for step in self.plan.steps:
            for change in step.changes:
                self._by_device.setdefault(change.device, []).append((step, change))
        results: list[PrecheckResult] = self._parallel(self._precheck, sorted(self._by_device))
        return results

    def _changes_of(self, device: str) -> list[tuple[StepLike, ChangeLike]]:
        """Every remaining change of ``device``, in step order (each is pre-checked)."""
        return [(s, c) for s, c in self._by_device.get(device, []) if (s.id, device) not in self.done_before]

    def _kept_of(self, device: str) -> list[tuple[StepLike, ChangeLike]]:
        """The changes of ``device`` made earlier that this run keeps if they are still there."""
        return [(s, c) for s, c in self._by_device.get(device, []) if (s.id, device) in self.kept]

    def _read_back_kept(self, device: str, session: Session, state: str) -> tuple[Kept, ...]:
        """Each change of ``device`` an earlier run made and this run would keep, verified on
        ``state`` (the pre-check's read) by its action: still there, it stays the earlier run's;
        gone, it leaves ``done_before`` and this run pre-checks and makes it again."""
        found: list[Kept] = []
        for step, change in self._kept_of(device):
            action = self.lookup(step.action, change.platform)
            extra = _verify_extra(session, action)
            problems = tuple(action.verify(change.item, state, extra))
            found.append(Kept(step.id, self.kept[(step.id, device)], problems))
            if problems:
                self.done_before.discard((step.id, device))
        return tuple(found)

    def _precheck(self, device: str) -> PrecheckResult:
        """Pre-check one device. ``checks`` records only what was tested, when it was tested:
        the device answered a read through an authenticated session (reachable,
        authenticated, state_captured), the declared platform (when the platform has an
        identity check), the revert prerequisites (with --confirm-window), and the action
        pre-check of every step the device takes part in (steps)."""
        checks: dict[str, bool] = {}
        kept: tuple[Kept, ...] = ()
        try:
            session = self.pool.get(device)
            if isinstance(session, ReadsAhead):  # identity, revert probe, state: one round trip
                session.read_ahead((*precheck_reads(session.target.platform), *self._kept_reads(device)))
            problem = self.identify(session)
            if problem:
                checks["platform"] = False
                raise DeviceError(problem, device=device)
            if has_identity(session.target.platform):
                checks["platform"] = True  # its identity probe ran and matched
            state = session.read_state()
            checks.update(reachable=True, authenticated=True, state_captured=True)
            self.states[device] = state
            sha = self._store(device, state)
            kept = self._read_back_kept(device, session, state)
            window = self.options.confirm_window_s is not None and bool(self._changes_of(device))
            if window and isinstance(session, ConfirmPrerequisites):  # (none when all its changes are kept)
                missing = session.confirm_ready(state)
                checks["confirm_window"] = missing is None
                if missing:
                    raise PrecheckFailed(f"{device}: {missing}")
            problems = self._precheck_changes(device, state)
            checks["steps"] = not problems
            ok = not problems
            ready = _ready(session) + _kept_note(kept, self.options.check_only)
            message = f"{device}: {'; '.join(problems)}" if problems else ready
        except JournalError:
            raise
        except IsolateError as exc:
            ok, message, sha = False, str(exc), None
            if isinstance(exc, ConnectError | DeviceTimeout):
                checks["reachable"] = False
            if isinstance(exc, AuthError):
                checks.update(reachable=True, authenticated=False)
        self.journal.append_deferred(  # durable before any intent that follows it, or run-end
            "precheck", device=device, ok=ok, message=message, state=sha, checks=checks,
            **({"kept": {k.step: k.still_there for k in kept}} if kept else {}),
        )  # fmt: skip
        self._emit("precheck", device=device, ok=ok, message=message)
        return PrecheckResult(device, ok, message, sha, reachable=checks.get("reachable", True), kept=kept)

    def _kept_reads(self, device: str) -> tuple[str, ...]:
        """The read-only commands verifying the kept changes of ``device`` beyond its state."""
        reads: list[str] = []
        for step, change in self._kept_of(device):
            reads += [c for c in self.lookup(step.action, change.platform).verify_commands if c not in reads]
        return tuple(reads)

    def _precheck_changes(self, device: str, state: str) -> list[str]:
        """Every remaining change's action pre-check on ``state``; the device's first change,
        when clean, keeps its result and its inverse from that same state (``_prechecked``)."""
        problems: list[str] = []
        for k, (step, change) in enumerate(self._changes_of(device)):
            action = self.lookup(step.action, change.platform)
            found = action.precheck(change.item, state)
            problems += [f"step '{step.id}': {problem}" for problem in found]
            if k == 0 and not found:
                inverse = action.inverse(change.item, state)
                self._prechecked[(step.id, device)] = _Prechecked(state, change.item, inverse)
        return problems

    def _store(self, device: str, state: str) -> str:
        """Store ``state`` (the device's last read) in the journal once; its sha."""
        stored = self._stored.get(device)
        if stored is not None and stored[0] is state:
            return stored[1]
        sha = self.journal.store_state(state)
        self._stored[device] = (state, sha)
        return sha

    # -- steps ------------------------------------------------------------------------------
    def run_step(self, index: int) -> StepResult:
        step = self.plan.steps[index]
        started = time.time()
        self._emit("step-start", step=step.id, message=step.action, devices=len(self._remaining(step)))
        by_device = {c.device: c for c in self._remaining(step)}
        results: list[DeviceResult] = self._parallel(
            lambda device: self._apply_device(index, step, by_device[device]), sorted(by_device)
        )
        ok = all(r.ok for r in results)
        duration = time.time() - started
        self.journal.append("step-end", step=step.id, ok=ok, duration_s=round(duration, 6))
        self._emit("step-end", step=step.id, ok=ok, duration_s=duration)
        return StepResult(step.id, step.action, ok, tuple(results), duration)

    def _apply_device(self, index: int, step: StepLike, change: ChangeLike) -> DeviceResult:
        device = change.device
        started = time.time()
        action = self.lookup(step.action, change.platform)
        state = self.states[device]
        known = self._prechecked.pop((step.id, device), None)
        if known is not None and known.state is state and known.item == change.item:
            inverse = known.inverse  # pre-checked and computed from this very state
        else:
            problems = action.precheck(change.item, state)
            if problems:
                return self._fail(step, device, "precheck", "; ".join(problems), started, state_known=True)
            inverse = action.inverse(change.item, state)
        pre_sha = self._store(device, state)
        # A platform without a device-owned revert is never journaled as having a window.
        window = self.options.confirm_window_s if has_revert(change.platform) else None
        stage = restore_stage_of(self.plan, index)
        record = self.journal.append(
            "intent",
            device=device,
            step=step.id,
            action=step.action,
            platform=change.platform,
            forward=list(change.commands),
            exec_after=list(change.exec_after),
            inverse=inverse,
            pre_state=pre_sha,
            stage=stage,
            confirm_window_s=window,
            revert=revert_identity(change.platform, self.run_id, step.id, window),
        )
        self.entries[(index, device)] = UndoEntry(
            getattr(record, "seq", len(self.entries)), step.id, device, stage, tuple(inverse), pre_sha, state
        )
        session: Session | None = None
        sent = False  # once the push is under way, a timeout or a drop leaves the outcome unknown
        try:
            session = self.pool.get(device)
            confirmable = window is not None and isinstance(session, ConfirmCapable)
            sent = True
            tag = revert_tag(self.run_id, step.id)
            if change.exec_after:  # typed: configuration lines, then exec-mode lines
                batch = Batch(tuple(change.commands), tuple(change.exec_after))
                if not isinstance(session, BatchCapable):
                    no_exec = f"{device}: platform {change.platform} runs no exec-mode lines"
                    raise DeviceError(no_exec, device=device)
                answers = session.push_batch(batch, window_s=window if confirmable else None, tag=tag)
            elif confirmable:
                assert isinstance(session, ConfirmCapable) and window is not None
                answers = session.push_confirmed(change.commands, window_s=window, tag=tag)
            elif isinstance(session, ReadsAfterPush):  # the verification's read: in the last write
                answers = session.push_then_read(change.commands, _verify_reads(session, action))
            else:
                answers = session.push(change.commands)
        except JournalError:
            raise
        except IsolateError as exc:
            self.done.append((index, device))  # part of the batch may be on the device
            if sent and inflight.unknown_outcome(exc):
                sent_lines = [*change.commands, *change.exec_after]
                ran = inflight.may_have_run(sent_lines, exc)
                text = inflight.message(device, exc, ran, len(sent_lines))
                return self._fail(
                    step, device, inflight.PHASE, text, started,
                    read_back=inflight.answered(exc), outcome="unknown", may_have_run=ran,
                )  # fmt: skip
            return self._fail(step, device, "push", str(exc), started)
        self.done.append((index, device))
        self.journal.append_deferred(  # lost to a machine crash: the intent's outcome is unknown
            "applied",
            device=device,
            step=step.id,
            ok=True,
            message="",
            duration_s=round(time.time() - started, 6),
            answers=answers_of(answers),
        )
        return self._verify(step, change, action, session, started, confirmable)

    def _verify(
        self,
        step: StepLike,
        change: ChangeLike,
        action: PlatformActionLike,
        session: Session,
        started: float,
        confirmable: bool,
    ) -> DeviceResult:
        device = change.device
        try:
            if isinstance(session, ReadsAhead):  # the state and the action's reads: one round trip
                session.read_ahead(_verify_reads(session, action))  # none if read with the push
            state = session.read_state()
            extra = _verify_extra(session, action)
        except JournalError:
            raise
        except IsolateError as exc:
            return self._fail(step, device, "verify", str(exc), started, read_back=inflight.answered(exc))
        self.states[device] = state
        problems = action.verify(change.item, state, extra)
        post_sha = self._store(device, state)
        self.journal.append_deferred(  # durable by step-end at the latest (a group commit)
            "verified", device=device, step=step.id, ok=not problems, problems=problems, post_state=post_sha
        )
        if problems:
            message = f"{device}: step '{step.id}' not verified: {'; '.join(problems)}"
            self._emit("device-failed", step=step.id, device=device, ok=False, message=message)
            return DeviceResult(
                device, step.id, False, "verify", message, time.time() - started, tuple(problems)
            )
        if confirmable:
            try:
                assert isinstance(session, ConfirmCapable)
                session.confirm()
                self.journal.append("confirmed", device=device, step=step.id)
            except IsolateError as exc:
                return self._fail(step, device, "confirm", str(exc), started)
        duration = time.time() - started
        self._emit("device-ok", step=step.id, device=device, duration_s=duration)
        return DeviceResult(device, step.id, True, "done", "", duration)

    def _fail(
        self,
        step: StepLike,
        device: str,
        phase: str,
        message: str,
        started: float,
        *,
        state_known: bool = False,
        read_back: bool = True,
        **extra: Any,
    ) -> DeviceResult:
        """Record a failure with the device's exact state read back, never 'unknown' — except
        that a device that did not answer is not asked again (``read_back``: one timeout)."""
        state_sha: str | None = None
        if state_known:
            state_sha = self._store(device, self.states[device])
        elif not read_back:
            self.pool.drop(device)
            message = f"{message} (state not read back: the device did not answer; restore reads it back)"
        else:
            self.pool.drop(device)
            try:
                state = self.pool.get(device).read_state()
                self.states[device] = state
                state_sha = self._store(device, state)
            except IsolateError as exc:
                message = f"{message} (state unreadable afterwards: {exc})"
        self.journal.append(
            "failed", device=device, step=step.id, phase=phase, message=message, state=state_sha, **extra
        )
        self._emit("device-failed", step=step.id, device=device, ok=False, message=message, phase=phase)
        return DeviceResult(device, step.id, False, phase, message, time.time() - started)

    def close(self) -> None:
        self.pool.close()
        if isinstance(self.runner, ThreadRunner):
            self.runner.close()


Prechecks = tuple[PrecheckResult, ...]
Narrow = Callable[["Executor", Prechecks], tuple[Prechecks, tuple[str, ...]]]


def run_plan(
    executor: Executor,
    *,
    started: float,
    undo: Callable[[Executor, list[tuple[int, str]]], bool],
    narrow: Narrow | None = None,
) -> RunResult:
    """Pre-checks, then every step in order, honouring each step's failure policy.
    ``narrow`` (--skip-unreachable) may swap in a plan without the devices whose pre-check
    failed; it returns the pre-checks that count and what stays open (the run is partial)."""
    ex = executor
    prechecks = tuple(ex.precheck_all())
    left_open: tuple[str, ...] = ()
    if narrow is not None and not all(p.ok for p in prechecks):
        prechecks, left_open = narrow(ex, prechecks)
    base = RunResult(
        ex.run_id, str(ex.journal.run_dir), "ok", prechecks=prechecks, started=started, messages=left_open
    )
    if not all(p.ok for p in prechecks):
        return _end(ex, replace(base, status="prechecks-failed"), started, None)
    if ex.options.check_only:
        return _end(ex, replace(base, status="checked"), started, None)
    steps: list[StepResult] = []
    status = "ok"
    for index, step in enumerate(ex.plan.steps):
        if not ex._remaining(step):  # verified by an earlier process of this run (--resume)
            continue
        result = ex.run_step(index)
        if result.ok:
            steps.append(result)
            continue
        decision, status = _apply_policy(ex, index, step.policy, undo)
        ex.journal.append("policy", step=step.id, policy=step.policy, decision=decision)
        ex._emit("policy", step=step.id, ok=False, message=decision, policy=step.policy)
        steps.append(replace(result, decision=decision))
        if status in ("aborted", "rolled-back"):
            break
    failed_any = any(not s.ok for s in steps)
    # what could be contained was: time to contain counts, the run is still partial
    contain = time.time() - started if status == "ok" and not failed_any else None
    if status == "ok" and (failed_any or left_open):
        status = "partial"
    return _end(ex, replace(base, status=status, steps=tuple(steps)), started, contain)


def _apply_policy(
    ex: Executor, index: int, policy: str, undo: Callable[[Executor, list[tuple[int, str]]], bool]
) -> tuple[str, str]:
    if policy == "continue":
        return "continued with the next step", "partial"
    if policy == "rollback-step":
        entries = [(i, d) for (i, d) in ex.done if i == index]
        ok = undo(ex, entries)
        ex.done = [(i, d) for (i, d) in ex.done if i != index]
        return ("rolled this step back; continued" if ok else "rollback of this step failed"), "partial"
    if policy == "rollback-all":
        ok = undo(ex, list(ex.done))
        ex.done = []
        return ("rolled back every change of this run" if ok else "rollback failed"), "rolled-back"
    return "aborted: later steps not run; changes so far stay (see isolate restore)", "aborted"


def _end(ex: Executor, result: RunResult, started: float, contain: float | None) -> RunResult:
    duration = time.time() - started
    ex.journal.append(
        "run-end",
        status=result.status,
        duration_s=round(duration, 6),
        time_to_contain_s=None if contain is None else round(contain, 6),
    )
    ex._emit("run-end", ok=result.ok, message=result.status, duration_s=duration, time_to_contain_s=contain)
    return replace(result, duration_s=duration, time_to_contain_s=contain)


def _kept_note(kept: Sequence[Kept], check_only: bool = False) -> str:
    """What a passed pre-check adds about the changes earlier runs made on the device."""
    there = [f"step '{k.step}' of run {k.run}" for k in kept if k.still_there]
    gone = [f"step '{k.step}' of run {k.run} ({'; '.join(k.problems)})" for k in kept if not k.still_there]
    notes = [f"kept, read back: {', '.join(there)}"] if there else []
    again = "to be made again" if check_only else "made again"
    notes += [f"no longer on the device, {again}: {', '.join(gone)}"] if gone else []
    return "".join(f"; {note}" for note in notes)


def _ready(session: Session) -> str:
    """A passed pre-check's message: ``ready``, with how the device is reached when it is not
    plainly (legacy SSH algorithms, jump hosts, a site worker: which one)."""
    target = session.target
    notes = ["legacy SSH algorithms allowed: a weaker channel"] if target.ssh.legacy else []
    if target.via:
        notes.append(target.path)
    if target.site:
        worker = getattr(session, "worker", None)  # a remote session's (isolate/sites)
        notes.append(f"by site {target.site}'s worker" + (f" {worker}" if worker else ""))
    return f"ready ({'; '.join(notes)})" if notes else "ready"
