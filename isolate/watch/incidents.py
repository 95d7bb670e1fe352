"""Incidents of ``isolate watch``: one append-only, fsynced JSON-lines file under the state
dir (``watch/incidents.jsonl``), written by the watch process and by ``isolate approve`` /
``reject`` alike (each append holds an exclusive flock). An incident's state is its last
state-changing event; every event is kept.

States: ``pending`` (waiting for approve/reject), ``applying``, ``contained`` (its run id),
``restored`` (its run was restored since: the host may be contained again), ``expired``
(its run was restored when its expiry passed), ``released`` (a release alert closed it:
its run restored, or nothing had been sent), ``failed``,
``rejected``. Events that change no state: ``opened``, ``attached``
(a second alert for a target already in an open incident), ``approved``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isolate.errors import InputError, JournalError
from isolate.paths import make_private_dir

OPEN = ("pending", "applying", "contained")
STATES = (*OPEN, "restored", "expired", "released", "failed", "rejected")


@dataclass
class Incident:
    id: str
    opened: dict[str, Any]
    state: str = "opened"
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        return list(self.opened.get("targets", []))

    @property
    def last(self) -> dict[str, Any]:
        return next((e for e in reversed(self.events) if e["event"] in STATES), self.opened)


def run_restored(state_dir: Path, run_id: str) -> bool:
    """The run has no change left on the devices (``isolate restore`` undid it)."""
    from isolate.reopen import load_run

    path = state_dir / "runs" / run_id
    return path.is_dir() and not load_run(path).needs_restore


class IncidentStore:
    def __init__(self, state_dir: Path, *, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.dir = state_dir / "watch"
        self.path = self.dir / "incidents.jsonl"
        self.on_event = on_event  # called after each event is durably recorded (notifications)

    def new_id(self) -> str:
        return time.strftime("W%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(2)

    def append(self, incident: str, event: str, **data: Any) -> dict[str, Any]:
        make_private_dir(self.dir)
        record = {"time": round(time.time(), 3), "incident": incident, "event": event, **data}
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot record incident {incident} {event}: {exc}") from None
        if self.on_event is not None:
            self.on_event(record)
        return record

    def load(self) -> dict[str, Incident]:
        if not self.path.exists():
            return {}
        out: dict[str, Incident] = {}
        for raw in self.path.read_bytes().splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue  # a torn last line (a crash mid-write)
            inc_id = record["incident"]
            if record["event"] == "opened":
                out[inc_id] = Incident(inc_id, record)
            elif inc_id in out:
                out[inc_id].events.append(record)
                if record["event"] in STATES:
                    out[inc_id].state = record["event"]
        return out

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One decision at a time across processes (``decide.lock``): watch deciding an
        alert, ``isolate approve`` applying, ``reject``. Alerts and approvals of one host are
        thus serialised, whichever process takes them."""
        make_private_dir(self.dir)
        fd = os.open(self.dir / "decide.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def deciding(self, incident: str) -> Iterator[Incident]:
        """Hold ``incident`` for one decision (approve, reject): a second ``isolate approve``
        of the same incident waits, then finds it no longer pending."""
        with self.locked():
            yield self.get(incident)

    def get(self, incident: str) -> Incident:
        found = self.load().get(incident)
        if found is None:
            raise InputError(f"no incident {incident!r} in {self.path}")
        return found

    def open_for(self, targets: list[str]) -> Incident | None:
        """The open incident already holding one of ``targets``, if any. A contained
        incident whose run was restored since is closed here (a ``restored`` event)."""
        wanted = set(targets)
        for incident in self.load().values():
            if incident.state not in OPEN or not wanted & set(incident.targets):
                continue
            if incident.state == "contained" and run_restored(self.dir.parent, incident.last["run"]):
                self.append(incident.id, "restored", run=incident.last["run"])
                continue
            return incident
        return None

    def auto_in_last_hour(self, now: float) -> int:
        return sum(
            1 for inc in self.load().values() for e in inc.events
            if e["event"] == "applying" and e.get("by") == "watch" and now - e["time"] < 3600
        )
