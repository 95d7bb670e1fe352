"""Changes a later run took over (read-only: journals).

A re-apply that finds a change an earlier run of the same playbook left half-made (its
intent without a verified outcome) first brings that device back to the earlier run's
captured pre-state, in its own journal (``run-start`` ``options.taken_over``, then the
``restore-intent``/``restored``/``gate`` records), and then makes the change itself. From
then on that change is the later run's: restoring the earlier run leaves it alone.

``isolate restore`` of such a re-apply continues with the earlier runs it continued
(:func:`continued`), newest first, so that one command brings every device back to its
state before the first of them (``--only-this-run`` restores the re-apply alone).
"""

from __future__ import annotations

from pathlib import Path

from isolate.journal import read_journal
from isolate.journal.reader import run_dirs


def taken_over(run_path: Path) -> set[tuple[str, str]]:
    """(device, step) of run ``run_path`` that a later run brought back and took over."""
    taken: set[tuple[str, str]] = set()
    later = [p for p in run_dirs(run_path.parent.parent) if p.name != run_path.name]
    for path in later:
        records = read_journal(path / "journal.jsonl").records
        if not records:
            continue
        claims = (records[0].data.get("options") or {}).get("taken_over") or {}
        wanted = {tuple(k.split("@", 1)) for k, run in claims.items() if run == run_path.name}
        if not wanted:
            continue
        restored: dict[tuple[str, str], int] = {}
        for r in records:
            key = (str(r.data.get("step")), str(r.data.get("device")))
            if r.kind == "restored" and r.data.get("ok") and key in wanted:
                restored[key] = r.seq
            elif r.kind == "gate" and r.data.get("ok") and r.data.get("check") == "equality":
                device = str(r.data.get("device"))
                taken |= {(d, s) for (s, d), seq in restored.items() if d == device and seq < r.seq}
    return taken


def continued(run_path: Path) -> list[str]:
    """The earlier runs ``run_path`` continued — a re-apply of the same playbook that kept
    (``options.adopted``) or took over (``options.taken_over``) their changes — and the runs
    those continued in turn; newest first."""
    runs: set[str] = set()
    todo = [run_path]
    while todo:
        records = read_journal(todo.pop() / "journal.jsonl").records
        options = (records[0].data.get("options") or {}) if records else {}
        for key in ("adopted", "taken_over"):
            for run in (options.get(key) or {}).values():
                if run not in runs and (run_path.parent / str(run)).is_dir():
                    runs.add(str(run))
                    todo.append(run_path.parent / str(run))
    return sorted(runs, reverse=True)
