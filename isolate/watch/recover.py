"""When ``isolate watch`` starts: incidents left ``applying`` by a process that died (watch
killed mid-containment, an ``approve`` killed) are settled from the run journals, as
``isolate status`` would read them: the run ended ok → ``contained``; it died mid-run →
``failed`` with the way out (``isolate apply --resume RUN`` or ``isolate restore RUN``); no
run started → ``failed``, nothing was changed. An ``applying`` whose process still lives is
left alone."""

from __future__ import annotations

import socket
from pathlib import Path

from isolate.journal import read_journal
from isolate.journal.reader import run_dirs
from isolate.journal.schema import RunEnd
from isolate.paths import process_alive
from isolate.watch.incidents import Incident, IncidentStore


def settle_interrupted(store: IncidentStore, state_dir: Path) -> list[str]:
    """Settle every dead ``applying`` incident; returns one line per incident settled."""
    lines = []
    for incident in store.load().values():
        if incident.state != "applying":
            continue
        applying = incident.last
        if process_alive(int(applying.get("pid", 0)), str(applying.get("host", ""))):
            continue
        lines.append(_settle(store, state_dir, incident))
    return lines


def _settle(store: IncidentStore, state_dir: Path, incident: Incident) -> str:
    run = _run_of(state_dir, incident.id)
    if run is None:
        store.append(incident.id, "failed", message="the process applying it died before its run started; "
                     "nothing was changed")
        return f"incident {incident.id}: failed before its run started (nothing changed)"
    ends = read_journal(run / "journal.jsonl").of_kind(RunEnd)
    if ends and ends[-1][1].status == "ok":
        store.append(incident.id, "contained", run=run.name)
        return f"incident {incident.id}: contained by run {run.name}"
    message = (f"the process applying it died during run {run.name}: "
               f"isolate apply --resume {run.name} --yes, or isolate restore {run.name} --yes")
    store.append(incident.id, "failed", run=run.name, message=message)
    return f"incident {incident.id}: {message}"


def _run_of(state_dir: Path, incident: str) -> Path | None:
    for run in reversed(run_dirs(state_dir)):
        start = read_journal(run / "journal.jsonl").run_start()
        if start is not None and start.incident == incident:
            return run
    return None


def here() -> dict[str, object]:
    """What an ``applying`` event records of its process (to tell a live one from a dead one)."""
    import os

    return {"pid": os.getpid(), "host": socket.gethostname()}
