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

from isolate.errors import JournalError
from isolate.journal import read_journal
from isolate.journal.reader import JournalView, run_dirs, unreadable
from isolate.journal.schema import Gate, Restored


def taken_over(run_path: Path, *, skip_unreadable: bool = False) -> set[tuple[str, str]]:
    """(device, step) of run ``run_path`` that a later run brought back and took over. The
    later runs' records are read through their models (JournalError, exit 7, naming the
    journal, seq and field of one that does not fit); with ``skip_unreadable`` (isolate
    status, which names such a run itself) a run that cannot be read is taken to have taken
    nothing over, so the earlier run's changes are still shown as held."""
    taken: set[tuple[str, str]] = set()
    later = [p for p in run_dirs(run_path.parent.parent) if p.name != run_path.name]
    for path in later:
        try:
            view = read_journal(path / "journal.jsonl")
        except JournalError as exc:  # not records: said as status and journal list say it
            problem = unreadable(path, exc)
        else:
            try:
                taken |= _taken_by(view, run_path.name)
                continue
            except JournalError as exc:  # a record that does not fit: its message names the run
                problem = str(exc)
        if not skip_unreadable:
            raise JournalError(f"{problem}; run {run_path.name} is not restored while another run "
                               "cannot be read (every run is read for the changes it took over)")
    return taken


def _taken_by(view: JournalView, earlier: str) -> set[tuple[str, str]]:
    """(device, step) of run ``earlier`` that the run of ``view`` brought back and took over."""
    start = view.run_start()
    claims = start.options.taken_over if start is not None else {}
    wanted = {_step_device(key) for key, run in claims.items() if run == earlier}
    taken: set[tuple[str, str]] = set()
    if not wanted:
        return taken
    restored: dict[tuple[str, str], int] = {}
    for rec in view.records:
        if rec.kind not in ("restored", "gate"):
            continue
        data = view.typed(rec)
        if isinstance(data, Restored) and data.ok and (data.step, data.device) in wanted:
            restored[(data.step, data.device)] = rec.seq
        elif isinstance(data, Gate) and data.ok and data.check == "equality":
            taken |= {(d, s) for (s, d), seq in restored.items() if d == data.device and seq < rec.seq}
    return taken


def _step_device(key: str) -> tuple[str, str]:
    """``step@device`` (how run-start's options name a change) as (step, device)."""
    step, _, device = key.partition("@")
    return step, device


def continued(run_path: Path) -> list[str]:
    """The earlier runs ``run_path`` continued — a re-apply of the same playbook that kept
    (``options.adopted``) or took over (``options.taken_over``) their changes — and the runs
    those continued in turn; newest first."""
    runs: set[str] = set()
    todo = [run_path]
    while todo:
        start = read_journal(todo.pop() / "journal.jsonl").run_start()
        if start is None:
            continue
        for run in [*start.options.adopted.values(), *start.options.taken_over.values()]:
            if run not in runs and (run_path.parent / run).is_dir():
                runs.add(run)
                todo.append(run_path.parent / run)
    return sorted(runs, reverse=True)
