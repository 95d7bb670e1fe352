"""What a run still holds contained, per device and step: ``isolate status``'s rows.

Read from the run's journal through the record models (isolate/journal/schema.py): a record
that does not fit its model is a JournalError naming the journal, its seq and the field.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Set
from dataclasses import dataclass
from typing import Any

from isolate.execute.inflight import LABEL as IN_FLIGHT
from isolate.execute.inflight import PHASE as IN_FLIGHT_PHASE
from isolate.execute.reverts import armed_windows
from isolate.journal.reader import JournalView
from isolate.journal.records import parse_ts
from isolate.journal.schema import Applied, Failed, Intent, RunEnd, RunStart, Verified
from isolate.restore.staged import entries_from_records

Key = tuple[str, str]  # (device, step)


@dataclass(frozen=True)
class Contained:
    """One run's changes not yet restored."""

    playbook: str
    incident: str
    ended: str  # the run-end status, "" when the run has none
    rows: tuple[dict[str, Any], ...]

    @property
    def armed(self) -> tuple[dict[str, Any], ...]:
        """The rows whose device-side revert the run armed and the journal never saw confirmed
        nor cancelled (``revert``: when it was armed, its window, when it fires)."""
        return tuple(row for row in self.rows if "revert" in row)

    def reverts_note(self, run: str, *, alive: bool, now: float) -> str:
        """What ``status`` says of the armed rows (``alive``: the run's process is running;
        ``now``: the time it is, seconds since the epoch)."""
        devices = ", ".join(sorted({row["device"] for row in self.armed}))
        fires = min(row["revert"]["fires_at"] for row in self.armed)
        if alive:
            armed = f"device-side reverts armed on {devices} (from {fires})"
            return f"{armed}: the run confirms each once verified"
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        if fires <= at:
            when = f"their window ended at {fires} (now {at}): those devices have probably undone the change"
        else:
            when = f"they undo the change on those devices from {fires} (now {at})"
        return (
            f"device-side reverts armed on {devices} by this run were never confirmed "
            "(its process stopped or died): "
            f"{when}, unless a confirmation reached a device just before the process died; "
            f"isolate apply --resume {run} --yes cancels them and keeps the containment (a change "
            "already undone is made again); isolate restore undoes it"
        )


def contained(view: JournalView, taken_over: Callable[[], Set[Key]] = frozenset) -> Contained:
    """Every change of the run that restore would still undo (``taken_over()``: changes a
    later re-apply took over, left out; asked only when some change is left), each with what
    the journal says of it."""
    outcome: dict[Key, str] = {}
    stage: dict[Key, int] = {}
    may_run: dict[Key, list[str]] = {}  # unknown outcomes: what may be on the device
    ended = ""
    for record in view.records:
        if record.kind not in _KINDS:
            continue
        data = view.typed(record)
        if isinstance(data, RunEnd):
            ended = data.status
            continue
        key = (getattr(data, "device", ""), getattr(data, "step", ""))
        if isinstance(data, Intent):
            config, execs = data.lines()
            outcome[key], stage[key], may_run[key] = IN_FLIGHT, data.stage or 1, config + execs
        elif key not in outcome:
            continue
        elif isinstance(data, Applied):
            outcome[key] = "applied, not verified"
        elif isinstance(data, Verified):
            outcome[key] = "contained" if data.ok else "applied, verification failed"
        elif isinstance(data, Failed) and data.phase in (IN_FLIGHT_PHASE, "interrupted"):
            outcome[key] = IN_FLIGHT
            may_run[key] = list(data.may_have_run or may_run.get(key, []))
        elif isinstance(data, Failed):
            outcome[key] = f"failed ({data.phase})"
    armed = armed_windows(view.records, view.path)  # --confirm-window reverts never confirmed
    pending = {(e.device, e.step) for e in entries_from_records(view, lambda *_: "")}
    pending -= taken_over() if pending else set()
    rows = tuple(
        {"device": d, "step": s, "state": outcome[(d, s)], "stage": stage[(d, s)]}
        | ({"may_have_run": may_run.get((d, s), [])} if outcome[(d, s)] == IN_FLIGHT else {})
        | ({"revert": _revert(*armed[(d, s)])} if (d, s) in armed else {})
        for (d, s) in sorted(pending)
        if (d, s) in outcome
    )
    start = view.typed(view.records[0]) if view.records and view.records[0].kind == "run-start" else None
    playbook = start.playbook.name if isinstance(start, RunStart) else ""
    incident = (start.incident or "") if isinstance(start, RunStart) else ""
    return Contained(playbook, incident, ended, rows)


def _revert(armed_at: str, window_s: int) -> dict[str, Any]:
    """A revert armed at ``armed_at`` (the intent's time: the device's timer starts after it,
    with the push) for ``window_s``: it fires at ``fires_at`` at the earliest."""
    fires = parse_ts(armed_at) + dt.timedelta(seconds=window_s)
    return {"armed_at": armed_at, "window_s": window_s, "fires_at": fires.strftime("%Y-%m-%dT%H:%M:%SZ")}


_KINDS = frozenset({"intent", "applied", "verified", "failed", "run-end"})
