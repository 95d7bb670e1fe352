"""Device-side reverts of ``--confirm-window`` runs: named, found, cancelled, proven gone.

A confirmed push arms a revert on the device (IOS: the archive rollback timer; Linux: a
revert job applying ``/var/lib/isolate/revert-<run>-<step>.nft``). The ``intent`` record
that precedes it names it (``revert``: what and which tag), so the journal says which
reverts a crash left armed: intents with a ``confirm_window_s`` that no ``confirmed`` (nor
a later ``revert-cancelled``) answers. Before a resume or a restore of that run touches a
device, ``cancel_run_reverts`` cancels them and reads the device back to prove them gone
(``revert-cancelled``). A new run's pre-check refuses a device with a pending revert and
says which run armed it (``pending_revert_check``). docs/journal.md, "Revert timers".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from isolate.drivers.base import ConfirmCapable, Session
from isolate.errors import IsolateError
from isolate.journal.reader import typed_data
from isolate.journal.records import RUN_ID_RE, Record
from isolate.journal.schema import Confirmed, Intent, RevertCancelled
from isolate.platforms import PLATFORMS, ScheduledRevert

RevertOwner = Callable[[str, list[str]], str]  # (device, pending reverts) -> "run R (…)"
_LINUX_FILE = re.compile(r"/revert-(?P<run>" + RUN_ID_RE.pattern + r")-(?P<step>[a-z0-9-]+)\.nft$")


class _Journal(Protocol):
    @property
    def path(self) -> Path: ...

    def append(self, kind: str, /, **data: Any) -> Any: ...


class _Pool(Protocol):
    def get(self, device: str) -> Session: ...


def revert_tag(run_id: str, step: str) -> str:
    """How a run's revert is named on devices where it can carry a name."""
    return f"{run_id}-{step}"


def revert_identity(platform: str, run_id: str, step: str, window_s: int | None) -> dict[str, Any] | None:
    """What the intent journals about the revert its push arms (None: no window)."""
    if window_s is None:
        return None
    if isinstance(PLATFORMS[platform].confirm, ScheduledRevert):  # a job isolate names on the device
        return {"kind": "revert-job", "file": f"/var/lib/isolate/revert-{revert_tag(run_id, step)}.nft"}
    return {"kind": "rollback-timer", "window_s": window_s}


def armed_windows(records: Iterable[Record], journal: Path | None) -> dict[tuple[str, str], tuple[str, int]]:
    """(device, step) -> (the intent's time, its window in seconds) for every revert armed
    (an intent with a window) and never confirmed nor cancelled afterwards, in journal order.
    The records are read through their models (JournalError naming ``journal``, the seq and
    the field of one that does not fit)."""
    armed: dict[tuple[str, str], tuple[str, int]] = {}
    for rec in records:
        if rec.kind not in _REVERT_KINDS:
            continue
        data = typed_data(rec, journal)
        if isinstance(data, Intent) and data.confirm_window_s:
            armed[(data.device, data.step)] = (rec.ts, data.confirm_window_s)
        elif isinstance(data, Confirmed):
            armed.pop((data.device, data.step), None)
        elif isinstance(data, RevertCancelled) and data.ok:
            armed = {key: value for key, value in armed.items() if key[0] != data.device}
    return armed


def armed_unconfirmed(records: Iterable[Record], journal: Path | None) -> dict[str, list[str]]:
    """Device -> steps whose revert was armed and never confirmed nor cancelled afterwards
    (``armed_windows``), in journal order."""
    armed: dict[str, list[str]] = {}
    for device, step in armed_windows(records, journal):
        armed.setdefault(device, []).append(step)
    return armed


_REVERT_KINDS = frozenset({"intent", "confirmed", "revert-cancelled"})


def _of_run(entry: str, run_id: str) -> bool:
    """Whether a pending revert may be this run's: a named one only if it names the run; an
    unnamed one (IOS's single rollback timer) always."""
    match = _LINUX_FILE.search(entry)
    return match is None or match["run"] == run_id


def cancel_run_reverts(
    pool: _Pool, journal: _Journal, run_id: str, records: Iterable[Record], *, devices: Iterable[str]
) -> list[str]:
    """Cancel every revert ``run_id`` armed and never confirmed on ``devices``, then read each
    device back to prove it gone; one ``revert-cancelled`` record per device. Returns the
    problems (a device unreachable, a revert still pending): the caller must not go on."""
    problems: list[str] = []
    reachable = set(devices)
    for device, steps in armed_unconfirmed(records, journal.path).items():
        if device not in reachable:
            continue
        cancelled: list[str] = []
        left: list[str] = []
        message = ""
        try:
            session = pool.get(device)
            if isinstance(session, ConfirmCapable):
                cancelled = session.cancel_reverts(run_id)
                left = [p for p in session.pending_reverts() if _of_run(p, run_id)]
        except IsolateError as exc:
            message = f"{device}: cannot cancel the revert armed by run {run_id}: {exc}"
        if left and not message:
            message = f"{device}: the revert armed by run {run_id} is still pending after cancel: {left[0]}"
        journal.append(
            "revert-cancelled",
            device=device,
            steps=steps,
            ok=not message,
            cancelled=cancelled,
            pending=left,
            message=message,
        )
        if message:
            problems.append(message)
    return problems


IdentityCheck = Callable[[Session], str | None]


def pending_revert_check(identify: IdentityCheck, owner: RevertOwner) -> IdentityCheck:
    """``identify`` extended: a device with a pending revert fails its pre-check, naming the
    run that armed it (a revert fires later and undoes whatever is on the device then)."""

    def check(session: Session) -> str | None:
        problem = identify(session)
        if problem is not None or not isinstance(session, ConfirmCapable):
            return problem
        pending = session.pending_reverts()
        if not pending:
            return None
        device = session.target.name
        who = owner(device, pending)
        named = re.match(r"run (" + RUN_ID_RE.pattern + r")\b", who)
        run = named.group(1) if named else "RUN"
        return (
            f"{device}: a device-side revert is pending ({pending[0]}), armed by {who}; "
            "when it fires it undoes what is on the device: resume or restore that run first "
            f"(isolate apply --resume {run} --yes, or isolate restore {run} --yes), which cancels it"
        )

    return check


def owner_from(runs: Callable[[], Iterable[tuple[Path, Iterable[Record]]]], where: str) -> RevertOwner:
    """Who armed a pending revert: the run a Linux revert file names, else the newest run of
    ``runs()`` (journal path, records) that armed one on the device and never confirmed it."""

    def owner(device: str, pending: list[str]) -> str:
        for entry in pending:
            match = _LINUX_FILE.search(entry)
            if match:
                return f"run {match['run']} (step {match['step']})"
        for journal, records in runs():
            if device in armed_unconfirmed(records, journal):
                return f"run {journal.parent.name} (state dir {where}, never confirmed: its process died)"
        return f"no run of the state dir {where} (another operator's run, or armed by hand)"

    return owner
