"""Undo work, run by the one executor: what brings changes back, proven by read-back.

Restore (planned from the journal by ``isolate.restore``), the rollback policies of apply
and resume's recovery of unknown outcomes all run their undo work here, on the same
runner, session pool, journal and guarded event sink as the apply work. For each stage
(ascending): a reachability gate on every device of the stage; then, per device in
parallel, the inverses of that device's changes in reverse apply order (each a
``restore-intent`` record before the push and a ``restored`` record after); then a gate
that reads the device back and compares it, byte for byte after the driver's documented
normalisation, with the state captured before the earliest change undone. A device that
already reads back equal to a step's pre-state is not touched again: restore twice is
harmless.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from isolate.drivers.base import CommandResult, ReadsAfterPush, Session
from isolate.errors import IsolateError, JournalError, RestoreError
from isolate.execute.events import Event, EventSink, guarded, null_sink
from isolate.execute.runner import Runner, ThreadRunner
from isolate.execute.sessions import SessionPool
from isolate.platforms import state_reads


@dataclass(frozen=True)
class UndoEntry:
    """One change to undo: a journaled intent that reached (or may have reached) a device."""

    seq: int
    step: str
    device: str
    stage: int
    inverse: tuple[str, ...]
    pre_sha: str
    pre_state: str = field(repr=False)


@dataclass(frozen=True)
class GateResult:
    stage: int
    device: str
    ok: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestoreResult:
    ok: bool
    stages: tuple[int, ...]
    gates: tuple[GateResult, ...]
    restored: tuple[str, ...]  # devices brought back
    message: str = ""


class JournalLike(Protocol):
    def append(self, kind: str, /, **data: Any) -> Any: ...

    def store_state(self, text: str) -> str: ...


def first_difference(expected: str, actual: str) -> str:
    """One line saying where two states first differ (for gate failures and reports)."""
    diff = [
        line
        for line in difflib.unified_diff(expected.splitlines(), actual.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    if not diff:
        return "states differ only in line endings"
    shown = ", ".join(repr(line) for line in diff[:3])
    more = f" (+{len(diff) - 3} more)" if len(diff) > 3 else ""
    return f"differs from its captured pre-state: {shown}{more}"


ANSWER_CAP = 4000  # characters of one command's answer kept in the journal


def answers_of(results: Sequence[CommandResult]) -> list[dict[str, str]]:
    """What the device answered to a push, for the journal (scrubbed by the writer like every
    string): each command that printed something, its output capped at ANSWER_CAP."""
    return [
        {"command": r.command, "output": r.output[:ANSWER_CAP]} for r in results if r.output.strip()
    ]


class Restorer:
    def __init__(
        self,
        pool: SessionPool,
        journal: JournalLike,
        *,
        run_id: str,
        workers: int = 32,
        runner: Runner | None = None,
        sink: EventSink = null_sink,
        scrub: Callable[[str], str] = str,
    ) -> None:
        # States are compared as the journal stores them: scrubbed of secrets (deterministic).
        self.scrub = scrub
        self.pool = pool
        self.journal = journal
        self.run_id = run_id
        self.runner: Runner = runner or ThreadRunner(workers)
        self.sink = guarded(sink)
        self._of_device: dict[str, list[UndoEntry]] = {}  # device -> its entries (run)

    def _emit(
        self, kind: str, *, device: str | None = None, ok: bool = True, message: str = "", **data: Any
    ) -> None:
        self.sink(Event(kind, self.run_id, None, device, ok, message, data=data))

    def run(self, entries: Sequence[UndoEntry], *, only_stage: int | None = None) -> RestoreResult:
        stages = sorted({e.stage for e in entries})
        if only_stage is not None:
            stages = [s for s in stages if s == only_stage]
        undone: set[int] = set()
        gates: list[GateResult] = []
        restored: set[str] = set()
        self._of_device = {}
        for entry in entries:
            self._of_device.setdefault(entry.device, []).append(entry)
        for stage in stages:
            batch = [e for e in entries if e.stage == stage]
            devices = sorted({e.device for e in batch})
            self._emit("stage-start", message=f"stage {stage}", stage=stage, devices=devices)
            reach = self._reachability_gate(stage, devices)
            gates.extend(reach)
            if not all(g.ok for g in reach):
                return self._stop(stages, gates, restored, stage, reach)
            results = self._parallel(
                functools.partial(self._undo_stage_device, stage, undone), devices
            )
            for gate in results:
                gates.append(gate)
                if gate.ok:
                    restored.add(gate.device)
            undone.update(e.seq for e in batch)
            failed = [g for g in results if not g.ok]
            if failed:
                return self._stop(stages, gates, restored, stage, failed)
        return RestoreResult(True, tuple(stages), tuple(gates), tuple(sorted(restored)))

    def _stop(
        self,
        stages: list[int],
        gates: list[GateResult],
        restored: set[str],
        stage: int,
        failed: Iterable[GateResult],
    ) -> RestoreResult:
        first = next(iter(failed))
        message = f"restore stopped at stage {stage}: {first.device}: {'; '.join(first.problems)}"
        return RestoreResult(False, tuple(stages), tuple(gates), tuple(sorted(restored)), message)

    def _parallel(self, fn: Callable[[str], GateResult], devices: Sequence[str]) -> list[GateResult]:
        return self.runner.map(fn, devices)

    def _reachability_gate(self, stage: int, devices: Sequence[str]) -> list[GateResult]:
        def check(device: str) -> GateResult:
            try:
                self.pool.get(device)
                return GateResult(stage, device, True)
            except IsolateError as exc:
                return self._gate_failed(stage, device, "reachable", f"unreachable: {exc}")

        return self._parallel(check, devices)

    def _undo_stage_device(
        self,
        stage: int,
        undone: set[int],
        device: str,
    ) -> GateResult:
        mine = sorted((e for e in self._of_device[device] if e.stage == stage), key=lambda e: -e.seq)
        expected = {e.seq: self.scrub(e.pre_state) for e in mine}  # each scrubbed once
        try:
            session = self.pool.get(device)
            current = self.scrub(session.read_state())
            for entry in mine:
                if current == expected[entry.seq]:
                    self.journal.append(
                        "restored",
                        device=device,
                        step=entry.step,
                        ok=True,
                        stage=stage,
                        message="already at its pre-state; nothing sent",
                    )
                    continue
                self.journal.append(
                    "restore-intent",
                    device=device,
                    step=entry.step,
                    stage=stage,
                    commands=list(entry.inverse),
                    target_state=entry.pre_sha,
                )
                message = ""
                results: list[CommandResult] = []
                try:
                    if isinstance(session, ReadsAfterPush):  # the read-back: in the push's last write
                        results = session.push_then_read(entry.inverse, state_reads(session.target.platform))
                    else:
                        results = session.push(entry.inverse)
                except JournalError:
                    raise
                except IsolateError as exc:
                    message = str(exc)
                current = self._read_back(session, device, entry.step, stage, message)
                self.journal.append(
                    "restored",
                    device=device,
                    step=entry.step,
                    ok=not message,
                    stage=stage,
                    message=message,
                    answers=answers_of(results),
                )
            return self._equality_gate(stage, device, mine, expected, undone, current)
        except JournalError:
            raise
        except IsolateError as exc:
            self.pool.drop(device)
            return self._gate_failed(stage, device, "restore", str(exc))

    def _read_back(self, session: Session, device: str, step: str, stage: int, failed: str) -> str:
        """The state after an inverse; when the inverse failed and the read fails too, the
        first error (the inverse line that failed) is the one reported."""
        try:
            return self.scrub(session.read_state())
        except JournalError:
            raise
        except IsolateError as exc:
            if not failed:
                raise
            self.journal.append("restored", device=device, step=step, ok=False, stage=stage, message=failed)
            raise RestoreError(f"{failed} (then reading the state back failed: {exc})") from exc

    def _gate_failed(self, stage: int, device: str, check: str, problem: str) -> GateResult:
        self.journal.append(
            "gate",
            stage=stage,
            device=device,
            ok=False,
            check=check,
            problems=[problem],
            state=None,
            expected=None,
        )
        return GateResult(stage, device, False, (problem,))

    def _equality_gate(
        self,
        stage: int,
        device: str,
        mine: Sequence[UndoEntry],
        expected: dict[int, str],
        undone: set[int],
        current: str,
    ) -> GateResult:
        earliest = mine[-1] if mine else None
        state_sha = self.journal.store_state(current)
        later_pending = earliest is not None and any(
            e.seq > earliest.seq and e.seq not in undone and e not in mine for e in self._of_device[device]
        )
        if earliest is None or later_pending:
            self.journal.append(
                "gate",
                stage=stage,
                device=device,
                ok=True,
                check="equality-deferred",
                problems=[],
                state=state_sha,
                expected=None,
            )
            return GateResult(stage, device, True)
        ok = current == expected[earliest.seq]
        problems = [] if ok else [first_difference(expected[earliest.seq], current)]
        self.journal.append(
            "gate",
            stage=stage,
            device=device,
            ok=ok,
            check="equality",
            problems=problems,
            state=state_sha,
            expected=earliest.pre_sha,
        )
        self._emit("gate", device=device, ok=ok, message="identical" if ok else problems[0], stage=stage)
        return GateResult(stage, device, ok, tuple(problems))
