"""What a drill report takes from the run's journal: spans per device and step (from the
records' timestamps), time to restore, and per device whether restore read it back identical.

Identical means: the device's last equality gate passed, and the read-back it stored equals
the state captured at pre-check (both are content-addressed files of the run directory).
Every record is read through its kind's model (a record that does not fit is a JournalError
naming the journal, the seq and the field, exit 7); a state file is read only when it
hashes to its name.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from isolate.errors import JournalError
from isolate.journal.schema import (
    Applied,
    Confirmed,
    Data,
    Failed,
    Gate,
    Intent,
    Precheck,
    Restored,
    RestoreIntent,
    Verified,
)
from isolate.reports.model import DeviceRestore, Span

DIFF_MAX_LINES = 120


_ON_STEP = (Intent, Applied, Failed, Verified, Confirmed, RestoreIntent, Restored)
_ON_DEVICE = (Precheck, Gate, *_ON_STEP)


@dataclass(frozen=True)
class Rec:
    t: float  # seconds since the run started
    kind: str
    data: Data  # the record's data, typed by its kind's model

    @property
    def device(self) -> str:
        return self.data.device if isinstance(self.data, _ON_DEVICE) else ""

    @property
    def step(self) -> str:
        return self.data.step if isinstance(self.data, _ON_STEP) else ""


@dataclass(frozen=True)
class JournalTimings:
    records: tuple[Rec, ...]
    restore_s: float | None


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def timings_from_journal(run_dir: Path) -> JournalTimings | None:
    """The run's records with times relative to its run-start; None when there is no journal."""
    from isolate.journal import read_journal

    path = run_dir / "journal.jsonl"
    if not path.is_file():
        return None
    view = read_journal(path)
    if not view.records:
        return None
    t0 = _epoch(view.records[0].ts)
    recs = tuple(Rec(_epoch(r.ts) - t0, r.kind, view.typed(r)) for r in view.records)
    starts = [r.t for r in recs if r.kind == "restore-start"]
    ends = [r.t for r in recs if r.kind == "restore-end"]
    restore_s = ends[-1] - starts[0] if starts and ends else None
    return JournalTimings(recs, restore_s)


def spans_from_journal(timings: JournalTimings) -> tuple[Span, ...]:
    spans: list[Span] = []
    recs = timings.records
    for r in recs:
        if isinstance(r.data, Precheck):
            spans.append(Span(device=r.device, step="pre-check", phase="precheck", start_s=0.0, end_s=r.t,
                              ok=r.data.ok, message=r.data.message))
    open_apply: dict[tuple[str, str], float] = {}
    for r in recs:
        key = (r.device, r.step)
        if r.kind == "intent":
            open_apply[key] = r.t
        elif isinstance(r.data, Verified | Failed) and key in open_apply:
            ok = isinstance(r.data, Verified) and r.data.ok
            message = r.data.message if isinstance(r.data, Failed) else "; ".join(r.data.problems)
            spans.append(Span(device=r.device, step=r.step, phase="apply", start_s=open_apply.pop(key),
                              end_s=r.t, ok=ok, message=message))
    for key, start in open_apply.items():  # applied but never verified (or a crash)
        spans.append(Span(device=key[0], step=key[1], phase="apply", start_s=start, end_s=start,
                          ok=False, message="no outcome journaled"))
    spans.extend(_restore_spans(recs))
    return tuple(sorted(spans, key=lambda s: (s.device, s.start_s)))


def _restore_spans(recs: tuple[Rec, ...]) -> list[Span]:
    spans: list[Span] = []
    stage_start = 0.0
    first: dict[str, float] = {}
    for r in recs:
        if r.kind == "restore-start":
            stage_start = r.t
        elif r.kind in ("restore-intent", "restored"):
            first.setdefault(r.device, r.t)
        elif isinstance(r.data, Gate) and r.data.check != "reachable":
            start = first.pop(r.device, stage_start)
            spans.append(Span(device=r.device, step=f"stage {r.data.stage}", phase="restore",
                              start_s=start, end_s=r.t, ok=r.data.ok, message="; ".join(r.data.problems)))
    return spans


def _read_state(run_dir: Path, sha: str | None) -> str | None:
    """A captured state's text, only when it hashes to its name (None: none, missing, altered)."""
    from isolate.journal.reader import STATE_SUBDIR, check_state_bytes

    if not sha:
        return None
    path = run_dir / STATE_SUBDIR / f"{sha}.txt"
    try:
        return check_state_bytes(path.parent, sha, path.read_bytes())
    except (OSError, JournalError):
        return None


def _diff(run_dir: Path, expected: str | None, actual: str | None) -> tuple[str, ...]:
    """Unified diff from the captured pre-state to the read-back (both stored, scrubbed), capped."""
    old, new = _read_state(run_dir, expected), _read_state(run_dir, actual)
    if old is None or new is None:
        return ()
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), "captured pre-state",
                                      "read back after restore", lineterm="", n=1))
    if len(lines) > DIFF_MAX_LINES:
        lines = [*lines[:DIFF_MAX_LINES], f"… {len(lines) - DIFF_MAX_LINES} more diff lines"]
    return tuple(lines)


def restore_outcomes(timings: JournalTimings, run_dir: Path) -> tuple[DeviceRestore, ...]:
    """Per device the run touched: did restore read it back byte-identical to its pre-state?"""
    from isolate.restore.staged import first_difference

    touched = sorted({r.device for r in timings.records if r.kind == "intent"})
    precheck = {r.data.device: r.data.state for r in timings.records if isinstance(r.data, Precheck)}
    gates: dict[str, Gate] = {}
    for r in timings.records:
        if isinstance(r.data, Gate) and r.data.check != "equality-deferred":
            gates[r.data.device] = r.data
    out = []
    for device in touched:
        gate = gates.get(device)
        if gate is None:
            out.append(DeviceRestore(device=device, identical=False,
                                     difference="restore never read this device back (it stopped before)"))
            continue
        stage = gate.stage or None
        if not gate.ok:
            problems = "; ".join(gate.problems) or "gate failed"
            lines = _diff(run_dir, gate.expected, gate.state)
            out.append(DeviceRestore(device=device, identical=False, difference=problems, stage=stage,
                                     diff=lines))
            continue
        before, now = precheck.get(device), gate.state
        if before is not None and now is not None and before != now:
            old, new = _read_state(run_dir, before), _read_state(run_dir, now)
            known = old is not None and new is not None
            first = first_difference(old or "", new or "") if known else "state digests differ"
            out.append(DeviceRestore(device=device, identical=False,
                                     difference=f"read-back differs from the pre-check capture: {first}",
                                     stage=stage, diff=_diff(run_dir, before, now)))
            continue
        out.append(DeviceRestore(device=device, identical=True, stage=stage))
    return tuple(out)
