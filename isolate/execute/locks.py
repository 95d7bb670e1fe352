"""Device locks: two runs never change the same device at the same time.

One file per device, ``LOCKS/<device>.lock``, holding ``{"run","pid","host","user","since",
"state_dir"}``. ``LOCKS`` is shared by every operator of the host — ``--lock-dir``, else
``$ISOLATE_LOCK_DIR``, else ``/run/lock/isolate`` (``isolate.paths.lock_dir_from``) — so
two runs with different state directories still see each other's locks. A lock is taken
atomically: the content is written to a temp file which is then hard-linked to the lock
name (the link fails if the lock exists), so a lock is never seen half-written; the holder is
the same for every device of one ``acquire``, so one temp file is linked to all their names.
``acquire`` is all-or-nothing.
A lock whose process is dead (same host) is *stale*: it is reported in the error and
broken only on request (``break_stale``/``break_lock``), never silently — except that a
run may adopt its own stale locks (restore or resume of that run), which it is told.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from isolate.errors import InputError, LockHeld
from isolate.paths import current_user, lock_dir_from, make_shared_dir, process_alive

DEVICE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_tmp_counter = itertools.count()
# Lock names hard-linked to one holder file; ext4 allows 65,000 links to a file.
LINKS_PER_HOLDER = 10_000


@dataclass(frozen=True)
class LockInfo:
    device: str
    run: str
    pid: int
    host: str
    user: str
    since: str
    state_dir: str = ""

    @property
    def stale(self) -> bool:
        """The holder is a dead process on this host."""
        return not process_alive(self.pid, self.host)

    def describe(self) -> str:
        text = (
            f"{self.device} is locked by run {self.run} "
            f"(pid {self.pid}, user {self.user} on {self.host}, since {self.since}"
            + (f", state dir {self.state_dir}" if self.state_dir else "")
            + ")"
        )
        if self.stale:
            text += (
                f"; stale: pid {self.pid} is not running — break it with 'isolate lock break {self.device}'"
            )
        return text

    def __str__(self) -> str:
        return self.describe()

    def to_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "run": self.run,
            "pid": self.pid,
            "host": self.host,
            "user": self.user,
            "since": self.since,
            "state_dir": self.state_dir,
            "stale": self.stale,
        }


@dataclass
class HeldLocks:
    """The locks one ``acquire`` took; ``adopted`` lists stale locks of the same run taken over."""

    owner: DeviceLocks
    run: str
    devices: tuple[str, ...]
    adopted: tuple[LockInfo, ...] = ()
    released: bool = field(default=False)

    def release(self) -> None:
        if not self.released:
            self.owner._release(self.devices, self.run)
            self.released = True


class DeviceLocks:
    """Per-device lock files in one directory shared by every operator (``at``)."""

    def __init__(self, directory: Path, *, state_dir: Path | None = None) -> None:
        self.dir = directory
        self.state_dir = "" if state_dir is None else str(state_dir.resolve())

    @classmethod
    def at(
        cls, lock_dir: Path | None = None, *, state_dir: Path | None = None, site: Path | None = None
    ) -> DeviceLocks:
        """The site's locks: ``lock_dir``, else $ISOLATE_LOCK_DIR, else ``site`` (the inventory's
        ``lock_dir``), else the shared default. ``state_dir`` (where the holder's journal lives)
        is written into each lock it takes."""
        return cls(lock_dir_from(lock_dir, site=site), state_dir=state_dir)

    @contextlib.contextmanager
    def acquire(
        self, devices: Iterable[str], run_id: str, *, adopt_own_stale: bool = True
    ) -> Iterator[HeldLocks]:
        """Lock every device or none; raises LockHeld naming the first held device."""
        held = self.take(devices, run_id, adopt_own_stale=adopt_own_stale)
        try:
            yield held
        finally:
            held.release()

    def take(self, devices: Iterable[str], run_id: str, *, adopt_own_stale: bool = True) -> HeldLocks:
        """``acquire`` without the context manager: call ``release()`` on the result."""
        names = tuple(dict.fromkeys(devices))
        for name in names:
            _check_name(name)
        try:
            make_shared_dir(self.dir)
        except OSError as err:
            raise InputError(f"{self.dir}: cannot create the lock directory: {err.strerror}") from None
        taken: list[str] = []
        adopted: list[LockInfo] = []
        ordered = sorted(names)  # one global order: no two runs deadlock on retries
        try:
            for first in range(0, len(ordered), LINKS_PER_HOLDER):
                with self._holder_file(run_id) as holder:
                    for name in ordered[first : first + LINKS_PER_HOLDER]:
                        info = self._try_take(name, run_id, holder, adopt_own_stale)
                        taken.append(name)
                        if info is not None:
                            adopted.append(info)
        except BaseException:
            self._release(taken, run_id)
            raise
        return HeldLocks(self, run_id, names, tuple(adopted))

    def _try_take(self, device: str, run_id: str, holder: Path, adopt_own_stale: bool) -> LockInfo | None:
        """Take one lock (``holder``: our holder file); returns the stale lock it adopted, if any."""
        if self._link(device, holder):
            return None
        info = self.read(device)
        if info is None:  # released between our attempt and the read
            if self._link(device, holder):
                return None
            info = self.read(device)
        if info is not None and adopt_own_stale and info.run == run_id and info.stale:
            self._replace(device, info, holder)
            return info
        if info is None:
            raise LockHeld(f"{device} is locked (the lock file changed while it was read)")
        raise LockHeld(info.describe())

    @contextlib.contextmanager
    def _holder_file(self, run_id: str) -> Iterator[Path]:
        """The holder (this run, process, host, user), written whole to a temp file that each
        lock name is then hard-linked to (``_link``); removed when the locks are taken. Not
        fsynced: a lock only keeps live processes apart, and after a machine crash every holder
        is dead (``/run/lock`` is emptied at boot; the journal, not the lock, tells what a
        crashed run left) — an fsync per device cost 1.5 s of a 1,000-device apply on a
        disk-backed lock directory, and a temp file per device another 0.3 s."""
        tmp = self.dir / f".holder.{os.getpid()}.{threading.get_ident()}.{next(_tmp_counter)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # every operator reads the holder
        try:
            try:
                os.fchmod(fd, 0o644)
                os.write(fd, json.dumps(_holder(run_id, self.state_dir), sort_keys=True).encode("utf-8"))
            finally:
                os.close(fd)
            yield tmp
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _link(self, device: str, holder: Path) -> bool:
        """Hard-link the holder file to the device's lock name: atomic (the link fails if the
        lock exists), and other processes never see a lock half-written."""
        try:
            os.link(holder, self._path(device))
        except FileExistsError:
            return False
        return True

    def _replace(self, device: str, stale: LockInfo, holder: Path) -> None:
        """Swap a stale lock for ours, only if it is still that stale lock."""
        if self.read(device) != stale:
            raise LockHeld(f"{device} is locked (the lock changed while it was taken over)")
        self._path(device).unlink(missing_ok=True)
        if not self._link(device, holder):
            info = self.read(device)
            raise LockHeld(info.describe() if info else f"{device} is locked")

    def _release(self, devices: Iterable[str], run_id: str) -> None:
        """Remove our own locks only (never one another process took after a break)."""
        me = (run_id, os.getpid(), socket.gethostname())
        for device in devices:
            info = self.read(device)
            if info is not None and (info.run, info.pid, info.host) == me:
                self._path(device).unlink(missing_ok=True)

    def _path(self, device: str) -> Path:
        return self.dir / f"{device}.lock"

    def read(self, device: str) -> LockInfo | None:
        """The lock on ``device``, or None. An unreadable lock file counts as held by 'unknown'."""
        path = self._path(device)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError:  # e.g. another operator's lock we may not read: held all the same
            raw = ""
        try:
            obj = json.loads(raw)
            return LockInfo(
                device,
                str(obj["run"]),
                int(obj["pid"]),
                str(obj["host"]),
                str(obj["user"]),
                str(obj["since"]),
                str(obj.get("state_dir", "")),
            )
        except (ValueError, KeyError, TypeError):
            return LockInfo(device, "unknown", 0, socket.gethostname(), "unknown", "unknown")

    def held(self) -> list[LockInfo]:
        """Every lock currently in the lock directory, by device name."""
        if not self.dir.is_dir():
            return []
        infos = (self.read(p.name[: -len(".lock")]) for p in sorted(self.dir.glob("*.lock")))
        return [i for i in infos if i is not None]

    def break_stale(self, device: str) -> LockInfo:
        """Remove a stale lock (dead holder on this host). Refuses a live one."""
        _check_name(device)
        info = self.read(device)
        if info is None:
            raise InputError(f"{device} is not locked")
        if not info.stale:
            raise LockHeld(f"{info.describe()}; it is not stale (its process is alive): not broken")
        self._path(device).unlink(missing_ok=True)
        return info

    def release_stale_of_run(self, run_id: str) -> list[LockInfo]:
        """Remove the locks run ``run_id``'s dead process left (after that run was restored or
        resumed elsewhere); returns them, for the caller to journal or show. Live holders and
        other runs' locks are left alone."""
        removed = []
        for info in self.held():
            if info.run == run_id and info.stale and self.read(info.device) == info:
                self._path(info.device).unlink(missing_ok=True)
                removed.append(info)
        return removed

    def break_lock(self, device: str) -> LockInfo:
        """Remove a lock whoever holds it (the operator has checked the holder is gone)."""
        _check_name(device)
        info = self.read(device)
        if info is None:
            raise InputError(f"{device} is not locked")
        self._path(device).unlink(missing_ok=True)
        return info


def _holder(run_id: str, state_dir: str) -> dict[str, object]:
    return {
        "state_dir": state_dir,
        "run": run_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": current_user(),
        "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _check_name(device: str) -> None:
    if not DEVICE_RE.fullmatch(device):
        raise InputError(f"device name {device!r} is not valid for a lock ([A-Za-z0-9][A-Za-z0-9._-]*)")
