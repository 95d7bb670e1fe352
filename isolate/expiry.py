"""Containment that expires: ``isolate apply --expires 4h`` (and a watch rule's ``expires``).

Where it lives (never in a process's memory): the run's ``run-start`` record carries
``options.expires`` (as given) and ``options.expires_at`` (epoch seconds), journaled before
anything is sent; ``isolate extend`` appends to ``STATE/expiries.jsonl`` (append only, each
line fsynced under an exclusive lock, mode 0600): ``extended`` (a new ``expires_at``),
``kept`` (confirmed: it never expires), ``fired`` / ``failed`` (the expiry's restore).

What fires it: :func:`fire_due`, called by ``isolate expire`` (cron, a systemd timer) and by
``isolate watch`` (at start, then every ``--expiry-check`` seconds). A due run is restored by
``isolate.api.restore`` — the normal staged restore, every gate reading the devices back —
with ``restore-start`` reason ``expired: …`` and the run's incident, so the run journal says
why it was re-opened. A restore that fails is recorded ``failed`` and not tried again by
itself: the operator restores it (``isolate restore RUN --yes``) once the cause is fixed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isolate.errors import InputError, IsolateError, JournalError, LockHeld
from isolate.journal import read_journal
from isolate.journal.reader import run_dirs
from isolate.paths import make_private_dir

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
MIN_S, MAX_S = 60, 90 * 86400
# A test hook, like ISOLATE_CRASH_AT_RECORD: a file holding seconds added to the wall clock
# when isolate decides whether an expiry is due (tests move time forward without sleeping).
CLOCK_ENV = "ISOLATE_TEST_CLOCK"


def parse_duration(option: str, text: str) -> int:
    """``90m``, ``4h``, ``1h30m``, ``2d``: seconds, 1 minute .. 90 days; else one-line InputError."""
    found = _DURATION.fullmatch(text.strip())
    if not text.strip() or found is None:
        raise InputError(f"{option} {text!r}: a duration such as 30m, 4h, 1h30m or 2d")
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    total = days * 86400 + hours * 3600 + minutes * 60 + seconds
    if not MIN_S <= total <= MAX_S:
        raise InputError(f"{option} {text!r}: must be between 1m and 90d")
    return total


def now() -> float:
    """The wall clock isolate judges expiries by (plus the test hook's offset, if set)."""
    hook = os.environ.get(CLOCK_ENV)
    if not hook:
        return time.time()
    try:
        return time.time() + float(Path(hook).read_text(encoding="utf-8").strip() or 0)
    except (OSError, ValueError):
        return time.time()


def when(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(moment))


def run_options(given: str, *, at: float | None = None) -> dict[str, Any]:
    """What ``run-start`` options carry for ``--expires GIVEN``."""
    seconds = parse_duration("--expires", given)
    return {"expires": given, "expires_at": round((now() if at is None else at) + seconds, 3)}


@dataclass(frozen=True)
class Expiry:
    run_id: str
    path: Path
    given: str  # as --expires was given ("4h")
    at: float | None  # None: kept (it never expires)
    incident: str
    events: tuple[dict[str, Any], ...]  # this run's lines of expiries.jsonl, oldest first

    @property
    def settled(self) -> bool:
        """Fired already (restored or failed): nothing more fires by itself."""
        return any(e["event"] in ("fired", "failed") for e in self.events)

    def due(self, moment: float) -> bool:
        return self.at is not None and not self.settled and self.at <= moment

    def describe(self) -> str:
        if self.settled:
            last = next(e for e in reversed(self.events) if e["event"] in ("fired", "failed"))
            return f"expiry fired {when(last['time'])}: {last.get('message', '')}"
        if self.at is None:
            kept = next(e for e in reversed(self.events) if e["event"] == "kept")
            return f"kept by {kept.get('by')} (never expires)"
        extended = sum(1 for e in self.events if e["event"] == "extended")
        more = f", extended {extended}x" if extended else ""
        return f"expires {when(self.at)} (--expires {self.given}{more})"


class ExpiryBook:
    """``STATE/expiries.jsonl``: what was decided about expiries after each run started."""

    def __init__(self, state_dir: Path) -> None:
        self.state = state_dir
        self.path = state_dir / "expiries.jsonl"

    def append(self, run_id: str, event: str, **data: Any) -> dict[str, Any]:
        make_private_dir(self.state)
        record = {"time": round(time.time(), 3), "run": run_id, "event": event, **data}
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot record expiry {event} of run {run_id}: {exc}") from None
        return record

    def events(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        if not self.path.exists():
            return out
        for raw in self.path.read_bytes().splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                record = json.loads(raw)  # a torn last line (a crash mid-write) is skipped
                out.setdefault(str(record["run"]), []).append(record)
        return out

    @contextlib.contextmanager
    def deciding(self) -> Iterator[None]:
        """One decision at a time (extend, keep, fire) across processes."""
        make_private_dir(self.state)
        fd = os.open(self.state / "expiries.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def expiries(state: Path, *, skip_unreadable: bool = False) -> list[Expiry]:
    """Every run with an expiry and changes not yet restored, oldest first. A journal that
    cannot be read is a JournalError, or, with ``skip_unreadable`` (isolate status, which
    names such a run itself), left out, and taken to have taken over nothing of the others
    (their expiries are still listed)."""
    from isolate.reopen import load_run

    book = ExpiryBook(state).events()
    out = []
    for path in run_dirs(state):
        try:
            start = read_journal(path / "journal.jsonl").run_start()  # through its model
            if start is None or start.options.expires_at is None:
                continue
            if not load_run(path, skip_unreadable=skip_unreadable).needs_restore:
                continue
        except JournalError:
            if skip_unreadable:
                continue
            raise
        events = tuple(book.get(path.name, []))
        at: float | None = start.options.expires_at
        for event in events:
            if event["event"] == "extended":
                at = float(event["expires_at"])
            elif event["event"] == "kept":
                at = None
        out.append(Expiry(path.name, path, start.options.expires or "", at, start.incident or "", events))
    return out


def find(state: Path, run: str) -> Expiry:
    from isolate.api import resolve_run

    path = resolve_run(run, state)
    found = next((e for e in expiries(state) if e.run_id == path.name), None)
    if found is None:
        raise InputError(f"run {path.name} has no expiry pending (no --expires, or already restored)")
    return found


def extend(state: Path, run: str, *, by_s: int | None, user: str, reason: str) -> Expiry:
    """Push run ``run``'s expiry ``by_s`` seconds later (from its current expiry), or, with
    ``by_s`` None, keep it (it never expires)."""
    with ExpiryBook(state).deciding():
        found = find(state, run)
        if found.settled:
            raise InputError(f"run {found.run_id}: {found.describe()}; nothing to extend")
        if by_s is None:
            ExpiryBook(state).append(found.run_id, "kept", by=user, reason=reason)
        else:
            base = found.at if found.at is not None else now()
            ExpiryBook(state).append(found.run_id, "extended", by=user, reason=reason,
                                     expires_at=round(base + by_s, 3), by_s=by_s)
        return find(state, found.run_id)


@dataclass(frozen=True)
class Fired:
    run_id: str
    incident: str
    ok: bool
    message: str
    retry: bool = False  # the run was busy (locked): the next sweep tries again


def fire_due(
    state: Path,
    *,
    by: str,
    lock_dir: Path | None = None,
    transport: str | None = None,
    on_fired: Callable[[Fired], None] | None = None,
) -> list[Fired]:
    """Restore every run whose expiry has passed, through ``isolate.api.restore``; each
    outcome is recorded in ``expiries.jsonl`` (and the run journal's restore records)."""
    out = []
    moment = now()
    with ExpiryBook(state).deciding():  # held to the end: two sweeps never fire one run twice
        for expiry in [e for e in expiries(state) if e.due(moment)]:
            fired = _fire(state, expiry, by=by, lock_dir=lock_dir, transport=transport)
            out.append(fired)
            if on_fired is not None and not fired.retry:
                on_fired(fired)
    return out


def _fire(state: Path, expiry: Expiry, *, by: str, lock_dir: Path | None, transport: str | None) -> Fired:
    from isolate import api

    assert expiry.at is not None
    reason = f"expired: apply --expires {expiry.given}, due {when(expiry.at)}"
    if any(e["event"] == "extended" for e in expiry.events):
        reason += " (extended)"
    try:
        result = api.restore(str(expiry.path), state_dir=state, lock_dir=lock_dir, transport=transport,
                             reason=f"{reason}, by {by}", incident=expiry.incident)
    except LockHeld as exc:  # the run is still being applied or restored: next time
        return Fired(expiry.run_id, expiry.incident, False, f"not yet: {exc}", retry=True)
    except IsolateError as exc:
        message = f"restore failed: {exc}; isolate restore {expiry.run_id} --yes once fixed"
        ExpiryBook(state).append(expiry.run_id, "failed", by=by, message=message)
        return Fired(expiry.run_id, expiry.incident, False, message)
    message = f"restored: identical to pre-state: {', '.join(result.restored) or 'nothing to undo'}"
    ExpiryBook(state).append(expiry.run_id, "fired", by=by, message=message)
    return Fired(expiry.run_id, expiry.incident, True, message)
