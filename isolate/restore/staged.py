"""Staged restore, planned from the journal.

``entries_from_records`` says what a restore undoes (every intent that reached or may have
reached its device and is not yet proven restored), each pre-state read through its hash
(``checked_state_reader``). The undo work itself — per stage a reachability gate, per device
the inverses in reverse apply order (``restore-intent`` before each push, ``restored``
after), then a gate that reads the device back and compares it with its captured pre-state —
runs in the one executor: ``isolate.execute.undo.Restorer`` (re-exported here), the same
runner, session pool, journal and guarded event sink as apply and its rollback policies.
"""

from __future__ import annotations

from collections.abc import Callable

from isolate.errors import JournalError
from isolate.execute.undo import GateResult, Restorer, RestoreResult, UndoEntry, first_difference
from isolate.journal.reader import JournalView
from isolate.journal.schema import Gate, Intent, Restored

__all__ = [
    "GateResult",
    "RestoreResult",
    "Restorer",
    "UndoEntry",
    "checked_state_reader",
    "entries_from_records",
    "first_difference",
]


def entries_from_records(view: JournalView, read_state: Callable[[str, str, str], str]) -> list[UndoEntry]:
    """Every intent that reached or may have reached its device, and is not yet restored.

    An intent counts unless its outcome is a failure in the pre-check phase (nothing sent).
    An intent with no outcome at all (a crash between intent and effect) counts: the
    device may or may not have the change, and restore reads it back to find out.
    ``read_state(sha, device, step)`` gives a captured pre-state's text. Records are read
    through their models (a record that does not fit is a JournalError naming its seq).
    """
    intents: dict[tuple[str, str], tuple[int, Intent]] = {}
    restored_at: dict[tuple[str, str], int] = {}
    gate_ok_at: dict[str, int] = {}
    for record in view.records:
        if record.kind not in _PLANNING_KINDS:
            continue
        data = view.typed(record)
        if isinstance(data, Intent):
            key = (data.device, data.step)
            intents[key] = (record.seq, data)
            restored_at.pop(key, None)
        elif isinstance(data, Restored) and data.ok:
            restored_at[(data.device, data.step)] = record.seq
        elif isinstance(data, Gate) and data.ok and data.check.startswith("equality"):
            gate_ok_at[data.device] = record.seq
    done = {key for key, seq in restored_at.items() if gate_ok_at.get(key[0], -1) > seq}
    entries = []
    for key, (seq, intent) in intents.items():
        if key in done:
            continue
        pre_sha = str(intent.pre_state)
        entries.append(
            UndoEntry(
                seq=seq,
                step=intent.step,
                device=intent.device,
                stage=intent.stage or 1,
                inverse=tuple(intent.inverse),
                pre_sha=pre_sha,
                pre_state=read_state(pre_sha, intent.device, intent.step),
            )
        )
    return sorted(entries, key=lambda e: e.seq)


_PLANNING_KINDS = frozenset({"intent", "restored", "gate"})


def checked_state_reader(view: JournalView) -> Callable[[str, str, str], str]:
    """``read_state`` for :func:`entries_from_records`: each captured pre-state proven by its
    hash; JournalError (exit 7) naming the device, the step and what to do otherwise."""

    def read(sha: str, device: str, step: str) -> str:
        try:
            return view.checked_state(sha)
        except JournalError as exc:
            run = view.path.parent.name
            raise JournalError(
                f"{exc}: {device}'s state before step '{step}' cannot be proven, so it cannot be "
                f"restored safely; put the file back from a backup of the run directory, or bring "
                f"{device} back by hand (isolate journal show {run} lists the inverse)"
            ) from None

    return read
