"""Which run a restore is about, and what restoring it re-opens (read-only: journals and
saved plans, never a device).

``restore last`` means the newest run with changes not yet restored — a later run that
changed nothing (a check, a refused pre-check) is never picked by accident. What a run's
restore re-opens is said in the operator's words: attacker prefixes reachable again, VPN
users able to reconnect, ports back in their VLAN, SMB between segments again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isolate.errors import InputError, JournalError
from isolate.execute.undo import UndoEntry
from isolate.files import user_path
from isolate.journal import Record, read_journal
from isolate.journal.reader import journaled_plan_text, run_dirs
from isolate.journal.schema import RestoreEnd, RunEnd, RunStart
from isolate.paths import run_dir, state_dir_from
from isolate.restore.staged import checked_state_reader, entries_from_records


@dataclass(frozen=True)
class RunToRestore:
    """A run and what its restore would undo (``entries`` empty: nothing to undo)."""

    path: Path
    playbook: str
    incident: str
    status: str  # the run-end status, or "open" (no run-end: running or died)
    intents: int  # changes the run journaled (0: it changed nothing)
    entries: tuple[UndoEntry, ...]
    restore_ended_ok: bool
    restore_died: bool = False  # a restore-start without its restore-end: its locks may remain

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def ended(self) -> bool:
        return self.status != "open"

    @property
    def needs_restore(self) -> bool:
        """Changes left on devices, or a run that died before its end (locks, unknown outcomes)."""
        return (
            bool(self.entries) or (not self.ended and not self.restore_ended_ok) or self.restore_died
        )

    def nothing_message(self) -> str:
        if self.intents == 0:
            return f"run {self.run_id} ({self.playbook}, {self.status}) changed nothing: nothing to restore"
        return f"run {self.run_id} ({self.playbook}) is already restored: nothing left to undo"


def load_run(path: Path, *, skip_unreadable: bool = False) -> RunToRestore:
    """The run at ``path``, read for restore. ``skip_unreadable``: another run whose journal
    cannot be read is taken to have taken none of its changes over (isolate status, which
    names that run itself); without it, that run's JournalError is raised."""
    view = read_journal(path / "journal.jsonl")  # records read through their models
    first = view.typed(view.records[0]) if view.records else None
    start = first if isinstance(first, RunStart) else None
    end = view.of_kind(RunEnd)
    restore_end = view.of_kind(RestoreEnd)
    return RunToRestore(
        path=path,
        playbook=start.playbook.name if start is not None else "?",
        incident=(start.incident or "") if start is not None else "",
        status=end[-1][1].status if end else "open",
        intents=sum(1 for r in view.records if r.kind == "intent"),
        entries=_not_taken_over(
            path, entries_from_records(view, checked_state_reader(view)), skip_unreadable
        ),
        restore_ended_ok=bool(restore_end and restore_end[-1][1].ok),
        restore_died=_restore_died(view.records),
    )


def _not_taken_over(path: Path, entries: list[UndoEntry], skip_unreadable: bool) -> tuple[UndoEntry, ...]:
    from isolate.takeover import taken_over

    taken = taken_over(path, skip_unreadable=skip_unreadable) if entries else set()
    return tuple(e for e in entries if (e.device, e.step) not in taken)


def _restore_died(records: Sequence[Record]) -> bool:
    """The last restore started and never ended (its process died): run it again, to close
    its journal and release the locks it left."""
    kinds = [r.kind for r in records if r.kind in ("restore-start", "restore-end")]
    return bool(kinds) and kinds[-1] == "restore-start"


@dataclass(frozen=True)
class Choice:
    run: RunToRestore | None  # None: no run has anything to restore
    passed_over: tuple[RunToRestore, ...] = ()  # newer runs with nothing to restore
    message: str = ""


def choose_run(ref: str | None, state_dir: Path | None) -> Choice:
    """The run ``isolate restore REF`` is about. ``None``/``last``: the newest run that
    needs a restore; newer runs that changed nothing are named in ``passed_over``."""
    state = state_dir_from(state_dir)
    if ref and ref != "last":
        return Choice(load_run(_named(ref, state)))
    runs = run_dirs(state)
    if not runs:
        raise InputError(f"no runs in {state / 'runs'}")
    passed: list[RunToRestore] = []
    for path in reversed(runs):
        found = load_run(path)
        if found.needs_restore:
            return Choice(found, tuple(passed))
        passed.append(found)
    return Choice(None, tuple(passed), "nothing to restore: no run has changes left unrestored")


def _named(ref: str, state: Path) -> Path:
    given = user_path(ref)
    if given.is_dir():
        return given
    if given.is_file():
        return given.parent
    candidate = run_dir(state, ref)
    if candidate.is_dir():
        return candidate
    matches = [p for p in run_dirs(state) if p.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    raise InputError(f"no run {ref!r} in {state / 'runs'}")


# -- what a restore re-opens -------------------------------------------------------------------


def reopens(run: RunToRestore) -> list[str]:
    """One line per step the restore undoes, in the operator's words (taken from the run's
    plan.json, read only when it hashes to the digest its journal holds)."""
    items, unproven = _plan_items(run.path)
    by_step: dict[str, list[UndoEntry]] = {}
    for entry in run.entries:
        by_step.setdefault(entry.step, []).append(entry)
    lines = []
    for step, entries in by_step.items():
        devices = sorted({e.device for e in entries})
        found = [items[(step, d)] for d in devices if (step, d) in items]
        lines.append(f"{step} on {', '.join(devices)}: {_words(found)}")
    if unproven and lines:  # restore does not need the plan (it undoes the journal): say, go on
        lines.append(f"(what each step re-opens is not said: {unproven})")
    return lines


def _plan_items(path: Path) -> tuple[dict[tuple[str, str], Any], str]:
    """(step, device) -> the plan's work item, from the journaled plan.json; or nothing and why."""
    from isolate.plan.models import Plan

    try:
        plan = Plan.model_validate_json(journaled_plan_text(read_journal(path / "journal.jsonl")))
    except JournalError as exc:
        return {}, str(exc)
    except ValueError as exc:
        return {}, f"{path / 'plan.json'}: not a plan: {str(exc).splitlines()[0]}"
    return {(s.id, c.device): c.item for s in plan.steps for c in s.changes}, ""


def _words(items: Sequence[Any]) -> str:
    if not items:
        return "its change is undone"
    action = items[0].action
    if action == "edge-block":
        prefixes = sorted({str(p) for i in items for p in i.prefixes})
        return f"attacker prefixes reachable again: {', '.join(prefixes)}"
    if action == "revoke-vpn":
        users = sorted({u for i in items for u in i.users})
        return f"VPN users can connect again: {', '.join(users)}"
    if action == "quarantine":
        ports = [f"{p.interface} ({p.host}) back to vlan {p.expected_vlan}" for i in items for p in i.ports]
        return f"ports leave quarantine: {', '.join(ports)}"
    if action == "shut-port":
        ports = [f"{p.interface} ({p.host})" for i in items for p in i.ports]
        return f"ports enabled again: {', '.join(ports)}"
    if action == "block-smb":
        segments = sorted({s for i in items for s in i.segments})
        return f"SMB between segments again: {', '.join(segments)}"
    if action == "segment-acl":
        segments = sorted({s for i in items for s in i.segments})
        return f"traffic between segments again: {', '.join(segments)}"
    if action == "disable-smb-host":
        return f"SMB served again by: {', '.join(sorted({i.host for i in items}))}"
    if action == "fence-host":
        return f"hosts unfenced: {', '.join(sorted({i.host for i in items}))}"
    return f"{action} undone"
