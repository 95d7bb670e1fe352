"""What earlier runs left on the devices, from their journals (read-only).

Two uses at apply time:
- re-apply converges: a change of this plan that an earlier, unrestored run of the same
  playbook on the same inventory already made and verified, with the very same commands (in a
  run that ended, with no device-side revert left armed and no restore attempted on it since),
  is not made again while it is still on the device (:func:`adopted`, handed to the executor
  as ``kept``: read back at pre-check, and made again if it is gone); the run journals which
  run made it;
- a pre-check that finds this playbook's object already on a device names the run that
  left it and what to do (:func:`naming_lookup`), instead of "left by another run?".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from isolate.execute.executor import ActionLookup, PlatformActionLike
from isolate.execute.undo import UndoEntry
from isolate.journal import read_journal
from isolate.journal.reader import run_dirs
from isolate.journal.schema import Confirmed, Intent, RestoreIntent, RunEnd, RunStart, Verified
from isolate.reopen import load_run


@dataclass(frozen=True)
class Left:
    """A change an earlier run made and that is not restored."""

    run: str
    status: str
    step: str
    device: str
    verified: bool  # verified, in a run that ended, and no device-side revert left armed
    forward: tuple[str, ...]
    inventory_sha256: str = ""
    half_made: UndoEntry | None = None  # not verified, in a run that ended, never restored, no revert armed
    exec_after: tuple[str, ...] = ()  # the exec-mode lines sent after ``forward``


def left_on_devices(state: Path, *, playbook: str | None = None, skip: Iterable[str] = ()) -> list[Left]:
    """Every unrestored change of the earlier runs (of ``playbook`` when given), newest run first."""
    skipped = set(skip)
    found: list[Left] = []
    for path in reversed(run_dirs(state)):
        if path.name in skipped:
            continue
        view = read_journal(path / "journal.jsonl")
        start = view.typed(view.records[0]) if view.records else None
        if not isinstance(start, RunStart):
            continue
        if playbook is not None and start.playbook.name != playbook:
            continue
        entries = {(e.step, e.device): e for e in load_run(path).entries}
        pending = set(entries)
        if not pending:
            continue
        verified = {(d.step, d.device) for _, d in view.of_kind(Verified) if d.ok}
        intents = [d for _, d in view.of_kind(Intent)]
        forward = {(d.step, d.device): d.lines() for d in intents}
        armed = {  # changes made under a device-side revert that was never confirmed
            (d.step, d.device) for d in intents if d.confirm_window_s
        } - {(d.step, d.device) for _, d in view.of_kind(Confirmed)}
        # a restore went there since its last verification: the journal no longer says what the
        # device holds. A roll-back a resume or retry made before doing the change again (and
        # verifying it) is not one: the change verified after it is what the device holds.
        last_verified = {(d.step, d.device): r.seq for r, d in view.of_kind(Verified) if d.ok}
        touched = {
            (d.step, d.device)
            for r, d in view.of_kind(RestoreIntent)
            if r.seq > last_verified.get((d.step, d.device), -1)
        }
        inventory = start.inventory.sha256
        ends = view.of_kind(RunEnd)
        status = ends[-1][1].status if ends else "open"
        restored = any(r.kind == "restore-start" for r in view.records)
        unsettled = set() if restored or status == "open" else pending - verified - armed
        for step, device in sorted(pending):
            key = (step, device)
            settled = key in verified and key not in armed | touched and status != "open"
            config, execs = forward.get(key, ([], []))
            left = Left(
                path.name, status, step, device, settled, tuple(config), inventory, exec_after=tuple(execs)
            )
            found.append(replace(left, half_made=_undoable(entries, unsettled, key)))
    return found


Key = tuple[str, str]


def _undoable(entries: dict[Key, UndoEntry], unsettled: set[Key], key: Key) -> UndoEntry | None:
    """The entry of a half-made change when bringing it back to its pre-state takes nothing
    else with it: no later change of the same run on that device that is kept."""
    entry = entries[key]
    later = [k for k, e in entries.items() if e.device == entry.device and e.seq > entry.seq]
    return entry if key in unsettled and all(k in unsettled for k in later) else None


def adopted(state: Path, plan: Any) -> dict[tuple[str, str], str]:
    """(step, device) of ``plan`` already made and verified by an earlier unrestored run of the
    same playbook with the same commands → that run's id."""
    done: dict[tuple[str, str], str] = {}
    earlier = {(x.step, x.device): x for x in reversed(left_on_devices(state, playbook=plan.playbook))}
    for step in plan.steps:
        for change in step.changes:
            found = earlier.get((step.id, change.device))
            if (
                found is not None
                and found.verified
                and found.inventory_sha256 == plan.inventory_sha256
                and found.forward == tuple(change.commands)
                and found.exec_after == tuple(getattr(change, "exec_after", ()))
            ):
                done[(step.id, change.device)] = found.run
    return done


def half_made(state: Path, plan: Any) -> dict[tuple[str, str], tuple[str, UndoEntry]]:
    """(step, device) of ``plan`` whose change the newest earlier unrestored run of the same
    playbook on the same inventory left without a verified outcome (a refused line, a failed
    verification) → (that run, its undo entry: the captured pre-state and the inverse)."""
    found: dict[tuple[str, str], tuple[str, UndoEntry]] = {}
    earlier = {(x.step, x.device): x for x in reversed(left_on_devices(state, playbook=plan.playbook))}
    for step in plan.steps:
        for change in step.changes:
            left = earlier.get((step.id, change.device))
            same = left is not None and left.inventory_sha256 == plan.inventory_sha256
            if left is not None and same and left.half_made is not None:
                found[(step.id, change.device)] = (left.run, left.half_made)
    return found


class _Naming:
    """An action whose pre-check names the run that left an object of the step."""

    def __init__(self, inner: PlatformActionLike, owners: dict[str, list[Left]]) -> None:
        self.inner = inner
        self.owners = owners
        self.verify_commands = inner.verify_commands

    def precheck(self, item: Any, state: str) -> list[str]:
        problems = self.inner.precheck(item, state)
        runs = self.owners.get(str(getattr(item, "step", "")), [])
        if not runs:
            return problems
        first = runs[0]
        more = f" (and run {', '.join(sorted({r.run for r in runs[1:]}))})" if len(runs) > 1 else ""
        hint = f"left by run {first.run} ({first.status}){more}: "
        hint += f"restore it (isolate restore {first.run} --yes)"
        if first.status != "ok":
            hint += f" or finish it (isolate apply --retry-failed {first.run} --yes)"
        return [p.replace("(left by another run?)", f"({hint})") for p in problems]

    def inverse(self, item: Any, state: str) -> list[str]:
        return self.inner.inverse(item, state)

    def verify(self, item: Any, state: str, extra: dict[str, str]) -> list[str]:
        return self.inner.verify(item, state, extra)


def naming_lookup(lookup: ActionLookup, left: list[Left]) -> Callable[[str, str], PlatformActionLike]:
    owners: dict[str, list[Left]] = {}
    for entry in left:
        if all(o.run != entry.run for o in owners.get(entry.step, [])):
            owners.setdefault(entry.step, []).append(entry)

    def find(action: str, platform: str) -> PlatformActionLike:
        return _Naming(lookup(action, platform), owners)

    return find
