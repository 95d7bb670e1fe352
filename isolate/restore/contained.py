"""What a run still holds contained, per device and step: ``isolate status``'s rows.

Read from the run's journal through the record models (isolate/journal/schema.py): a record
that does not fit its model is a JournalError naming the journal, its seq and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass
from typing import Any

from isolate.execute.inflight import LABEL as IN_FLIGHT
from isolate.execute.inflight import PHASE as IN_FLIGHT_PHASE
from isolate.journal.reader import JournalView
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
    pending = {(e.device, e.step) for e in entries_from_records(view, lambda *_: "")}
    pending -= taken_over() if pending else set()
    rows = tuple(
        {"device": d, "step": s, "state": outcome[(d, s)], "stage": stage[(d, s)]}
        | ({"may_have_run": may_run.get((d, s), [])} if outcome[(d, s)] == IN_FLIGHT else {})
        for (d, s) in sorted(pending)
        if (d, s) in outcome
    )
    start = view.typed(view.records[0]) if view.records and view.records[0].kind == "run-start" else None
    playbook = start.playbook.name if isinstance(start, RunStart) else ""
    incident = (start.incident or "") if isinstance(start, RunStart) else ""
    return Contained(playbook, incident, ended, rows)


_KINDS = frozenset({"intent", "applied", "verified", "failed", "run-end"})
