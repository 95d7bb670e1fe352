"""The journal writer: append, hash-chain, fsync — before the effect it describes.

``Journal.create`` starts a run's journal; ``Journal.open`` continues one (restore,
resume) after checking its chain. ``append`` scrubs the data, chains it to the
previous record, writes the line, fsyncs the file and only then returns; any failure
raises JournalError and the journal refuses every later append (the caller stops the
run). One process at a time holds a run's journal (an flock on ``journal.lock``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import itertools
import json
import os
import signal
import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from isolate.errors import JournalError, LockHeld
from isolate.journal.heads import SEAL_KIND, head_message, mirror_head, seal_data
from isolate.journal.reader import (
    ARTIFACT_RE,
    JOURNAL_NAME,
    LOCK_NAME,
    STATE_SUBDIR,
    TORN_PREFIX,
    JournalSource,
    RunView,
    TornTail,
    check_state_bytes,
    load_source,
)
from isolate.journal.records import (
    KIND_RE,
    RUN_ID_RE,
    SHA256_RE,
    ZERO_HASH,
    Record,
    make_record,
    timestamp,
    to_jsonable,
)
from isolate.journal.schema import SchemaError, check_data
from isolate.journal.signing import Signer, load_signer
from isolate.journal.verify import check_chain
from isolate.paths import current_user, make_private_dir, run_dir
from isolate.secrets import Scrubber

_COMMAND_KEYS = ("forward", "inverse", "commands")
_tmp_counter = itertools.count()

# Crash-test hook (tests/execute/test_crash_points.py; never set in production): with
# ISOLATE_CRASH_AT_RECORD=N the process SIGKILLs itself instead of writing record seq N, every
# earlier record being durable; with ISOLATE_CRASH_TORN=1 it first writes half of that line
# (a crash mid-append). The kill happens under the append mutex, so no later record is written.
# ISOLATE_CRASH_AT_KIND=KIND does the same instead of writing the first record of that kind
# this process appends (a kind whose position varies with the scenario: confirmed, policy…).
CRASH_AT_ENV = "ISOLATE_CRASH_AT_RECORD"
CRASH_KIND_ENV = "ISOLATE_CRASH_AT_KIND"
CRASH_TORN_ENV = "ISOLATE_CRASH_TORN"


def _crash_point() -> int | None:
    value = os.environ.get(CRASH_AT_ENV, "")
    return int(value) if value.isdigit() else None


class Journal:
    """A run's journal, open for appending. Thread-safe. Use as a context manager or close()."""

    def __init__(
        self,
        directory: Path,
        run_id: str,
        records: list[Record],
        fd: int,
        lock_fd: int,
        scrubber: Scrubber | None,
        signer: Signer,
    ) -> None:
        self.run_dir = directory
        self.run_id = run_id
        self.path = directory / JOURNAL_NAME
        self.scrubber = scrubber or Scrubber()
        self._records = records
        self._fd = fd
        self._lock_fd = lock_fd
        self._size = os.fstat(fd).st_size
        self._synced = self._size  # bytes known durable
        self._synced_seq = len(records)  # records known durable
        self._mutex = threading.Lock()
        self._sync_mutex = threading.Lock()
        # Captured states: written by the thread that stores them, made durable (files and
        # directory entries) by the next group commit, before the journal's fsync (_sync).
        self._state_mutex = threading.Lock()
        self._states_known: set[str] = set()  # stored (written whole) by this process
        self._states_written: list[Path] = []  # written since the last commit began
        self._broken: str | None = None
        self._closed = False
        self._signer = signer
        self._appended = False  # by this process: close() then seals the journal
        self.mirror_error: str | None = None  # why the last head could not be mirrored, if so
        self._crash_at = _crash_point()
        self._crash_kind = os.environ.get(CRASH_KIND_ENV) or None

    # --- opening ---------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        state_dir: Path,
        run_id: str,
        *,
        scrubber: Scrubber | None = None,
        signer: Signer | None = None,
    ) -> Journal:
        """Create STATE/runs/<run_id>/journal.jsonl (dirs 0700, files 0600). ``signer``: the key
        that seals it on close (default: this station's, ``signing.load_signer()``)."""
        if not RUN_ID_RE.fullmatch(run_id):
            raise JournalError(f"run id {run_id!r} is not YYYYMMDDTHHMMSSZ-xxxxxx")
        signer = signer or load_signer()
        directory = run_dir(state_dir, run_id)
        try:
            make_private_dir(directory.parent)
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)
            make_private_dir(directory / STATE_SUBDIR)
        except FileExistsError:
            raise JournalError(f"{directory}: run directory already exists") from None
        except OSError as err:
            raise JournalError(f"{directory}: cannot create run directory: {err.strerror}") from None
        lock_fd = _take_run_lock(directory, run_id)
        try:
            fd = os.open(directory / JOURNAL_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
            _fsync_dir(directory)
            _fsync_dir(directory.parent)
        except OSError as err:
            _release_run_lock(lock_fd)
            raise JournalError(f"{directory / JOURNAL_NAME}: cannot create: {err.strerror}") from None
        return cls(directory, run_id, [], fd, lock_fd, scrubber, signer)

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        scrubber: Scrubber | None = None,
        recover_torn: bool = False,
        signer: Signer | None = None,
    ) -> Journal:
        """Reopen a run's journal to append (restore, resume). The chain is checked first.

        A torn final line (a crash mid-append) raises JournalError unless ``recover_torn``:
        then its bytes go to ``journal.torn.<n>``, the journal is cut back to its last whole
        record and a ``torn-tail`` record quotes the bytes' length and SHA-256.
        """
        path = directory / JOURNAL_NAME
        if not path.is_file():
            raise JournalError(f"{path}: no journal in this directory")
        signer = signer or load_signer()
        lock_fd = _take_run_lock(directory, directory.name)
        try:
            source = load_source(path)
            records, bad = check_chain(source)
            if bad is not None:
                raise JournalError(
                    f"cannot append to {path}: " + bad.describe(source.name)
                    + f": the journal was changed after it was written (check it: isolate journal verify "
                    f"{directory.name}); nothing was sent"
                )
            if source.torn is not None and not recover_torn:
                raise JournalError(
                    f"{path}:{source.torn.line}: torn final line ({source.torn.length} bytes, a "
                    "crash mid-append); reopen with recovery to move it aside and journal it"
                )
            if not records:
                raise JournalError(
                    f"{path}: no complete record (the run died writing run-start; nothing was done)"
                )
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as err:
            _release_run_lock(lock_fd)
            raise JournalError(f"{path}: cannot open for appending: {err.strerror}") from None
        except JournalError:
            _release_run_lock(lock_fd)
            raise
        journal = cls(directory, records[0].run, records, fd, lock_fd, scrubber, signer)
        if source.torn is not None:
            try:
                journal._recover_torn(source, source.torn)
            except JournalError:
                journal.close()
                raise
        return journal

    def _recover_torn(self, source: JournalSource, torn: TornTail) -> None:
        taken = [int(n[len(TORN_PREFIX) :]) for n in source.torn_files]
        name = f"{TORN_PREFIX}{max(taken, default=0) + 1}"
        try:
            _write_file_durably(self.run_dir / name, torn.data)
            os.truncate(self.path, torn.offset)
            os.fsync(self._fd)
        except OSError as err:
            self._broken = str(err.strerror)
            raise JournalError(f"{self.path}: cannot move the torn tail aside: {err.strerror}") from None
        self._size = self._synced = torn.offset
        self.append("torn-tail", line=torn.line, bytes=torn.length, sha256=torn.sha256, file=name)

    # --- appending -------------------------------------------------------------------

    @property
    def records(self) -> tuple[Record, ...]:
        with self._mutex:
            return tuple(self._records)

    def view(self) -> RunView:
        return RunView(self.records, alive=True)

    def close_pending(self) -> list[Record]:
        """Answer every intent and restore-intent left without an outcome by a crash with a
        ``failed`` record (phase ``interrupted``): the device's state is unknown until it is
        read back. Restore and resume call this after ``open``; returns the records written."""
        view = self.view()
        pending = [v.intent for v in view.pending_intents()] + view.pending_restores()
        return [
            self.append(
                "failed",
                device=rec.device,
                step=rec.step,
                phase="interrupted",
                message=f"the run stopped before the outcome of {rec.kind} seq {rec.seq} was journaled; "
                "the device's state is unknown until it is read back",
                intent_seq=rec.seq,
            )
            for rec in sorted(pending, key=lambda r: r.seq)
        ]

    def use_scrubber(self, scrubber: Scrubber) -> None:
        """Scrub every later record and state with ``scrubber`` (a run's resolved secrets)."""
        with self._mutex:
            self.scrubber = scrubber

    def append(self, kind: str, /, **data: Any) -> Record:
        """Append one record; it is on disk (fsynced) when this returns. Raises JournalError."""
        record, end = self._append(kind, data)
        self._sync(record, end)
        return record

    def append_deferred(self, kind: str, /, **data: Any) -> Record:
        """Append one record, written now and made durable by the next group commit: the next
        :meth:`append` (of any thread) or the seal, each of which fsyncs every line written
        before it. For outcomes the engine can lose to a machine crash without harm (a
        pre-check's result, ``applied``, ``verified``): a lost outcome leaves its intent without
        one, which restore and resume treat as unknown (the device read back, brought back to
        its captured pre-state). Never for a record a device write must follow (an intent):
        those go through :meth:`append`. A kill -9 loses nothing written: the kernel keeps it."""
        record, _ = self._append(kind, data)
        return record

    def _append(self, kind: str, data: dict[str, Any]) -> tuple[Record, int]:
        """Write one record after the last (checked, hash-chained); the record and the
        journal's size after it (what ``_sync`` must make durable)."""
        if not KIND_RE.fullmatch(kind):
            raise JournalError(f"{self.path}: {kind!r} is not a record kind")
        clean = self._clean(kind, data)
        with self._mutex:
            self._check_writable(kind)
            seq = len(self._records)
            prev = self._records[-1].hash if self._records else ZERO_HASH
            if seq == 0 and kind != "run-start":
                raise JournalError(f"{self.path}: the first record must be run-start, not {kind}")
            record = make_record(seq, timestamp(), self.run_id, kind, clean, prev)
            self._write(record, record.line())
            self._records.append(record)
            self._appended = True
            return record, self._size

    def seal(self) -> Record:
        """Append a signed head (a ``seal`` record, docs/journal.md "Signed heads"), then
        mirror it if ``$ISOLATE_HEAD_MIRROR`` says so. ``close()`` calls it."""
        with self._mutex:
            self._check_writable(SEAL_KIND)
            seq, prev, ts = len(self._records), self._records[-1].hash, timestamp()
            blank = make_record(seq, ts, self.run_id, SEAL_KIND, seal_data(self._signer), prev)
            sig = self._signer.sign(head_message(blank))
            record = make_record(seq, ts, self.run_id, SEAL_KIND, seal_data(self._signer, sig), prev)
            self._write(record, record.line())
            self._records.append(record)
            end = self._size
        self._sync(record, end)
        self.mirror_error = mirror_head(record)
        return record

    @property
    def head(self) -> Record | None:
        """The last record (after close: the signed head, when this process appended)."""
        with self._mutex:
            return self._records[-1] if self._records else None

    def _check_writable(self, kind: str) -> None:
        if self._closed:
            raise JournalError(f"{self.path}: journal is closed; cannot append {kind}")
        if self._broken is not None:
            raise JournalError(f"{self.path}: an earlier write failed ({self._broken}); the run must stop")

    def _clean(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            plain = to_jsonable(data)
        except TypeError as err:
            raise JournalError(f"{self.path}: {kind} record: {err}") from None
        clean: dict[str, Any] = self.scrubber.scrub_data(plain)
        try:
            check_data(kind, clean)
        except SchemaError as err:
            raise JournalError(f"{self.path}: {err}") from None
        if kind in ("intent", "restore-intent"):
            for key in ("device", "step"):
                if not isinstance(clean.get(key), str):
                    raise JournalError(f"{self.path}: {kind} record needs a string {key}")
            self._refuse_secret_commands(kind, plain, clean)
        return clean

    def _refuse_secret_commands(self, kind: str, plain: dict[str, Any], clean: dict[str, Any]) -> None:
        """Commands are replayed on restore: a redacted one would be wrong, so refuse it."""
        for key in _COMMAND_KEYS:
            if plain.get(key) != clean.get(key):
                raise JournalError(
                    f"{clean['device']}: {kind} for step {clean['step']}: a {key} command holds a "
                    "secret; refusing to journal it (commands must not carry secrets)"
                )

    def _write(self, record: Record, line: bytes) -> None:
        """Write one line (under the mutex); a failed write cuts it back and breaks the journal."""
        if record.seq == self._crash_at or record.kind == self._crash_kind:
            self._crash(line)
        try:
            view = memoryview(line)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as err:
            self._broken = err.strerror or str(err)
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise JournalError(
                f"{self.path}: cannot append {record.kind} (seq {record.seq}): {self._broken}"
            ) from None
        self._size += len(line)

    def _crash(self, line: bytes) -> None:
        """The crash-test hook: die here, every earlier record durable (see CRASH_AT_ENV)."""
        if os.environ.get(CRASH_TORN_ENV) == "1":
            os.write(self._fd, line[: len(line) // 2])
        self._sync_new_states()
        os.fsync(self._fd)
        os.kill(os.getpid(), signal.SIGKILL)

    def _sync(self, record: Record, end: int) -> None:
        """fsync until ``end`` is durable. Group commit: one fsync covers every line written
        before it started, so parallel appenders share it. It first makes the captured states
        stored since the last commit durable, files and directory entries (``_sync_states``:
        one ``syncfs`` for them all), so a durable record never names a state that is not.
        On failure every record not yet durable (no caller has been told it is) is cut and the
        journal breaks."""
        with self._sync_mutex:
            if self._synced >= end:
                return
            with self._mutex:
                if self._broken is not None:
                    raise JournalError(
                        f"{self.path}: an earlier write failed ({self._broken}); the run must stop"
                    )
                target, target_seq = self._size, len(self._records)
            try:
                # after ``target`` was read: every state a line up to ``target`` names was
                # stored (its file written whole, and listed) before that line was written
                self._sync_new_states()
                os.fsync(self._fd)
            except OSError as err:
                with self._mutex:
                    self._broken = err.strerror or str(err)
                    with contextlib.suppress(OSError):
                        os.ftruncate(self._fd, self._synced)
                    self._size = self._synced
                    self._records = [r for r in self._records if r.seq < self._synced_seq]
                raise JournalError(
                    f"{self.path}: cannot append {record.kind} (seq {record.seq}): {self._broken}"
                ) from None
            self._synced, self._synced_seq = target, target_seq

    def _sync_new_states(self) -> None:
        """Make durable the states stored since the last call (``_sync_states``)."""
        with self._state_mutex:
            written, self._states_written = self._states_written, []
        _sync_states(self.run_dir / STATE_SUBDIR, written)

    # --- captured states -------------------------------------------------------------

    def store_state(self, text: str) -> str:
        """Store a captured state (scrubbed), content-addressed; return its SHA-256. The file
        ``state/<sha>.txt`` is written whole when this returns and made durable (its bytes and
        its directory entry) by the next group commit, before the journal's fsync (``_sync``):
        a record that names the state is durable only after the state is. The commit makes all
        the states stored since the last one durable at once (one ``syncfs``), where an fsync
        per file cost a commit of the filesystem's own journal each (2,000 at 1,000 devices).

        The name is the hash, so a new file is written in place, not through a temp file and a
        rename: a file torn by a crash is named by no durable record, fails its hash on every
        read, and is replaced (temp file, rename) when that state is stored again. A state this
        journal already stored is neither written nor read again."""
        blob = self.scrubber.scrub(text).encode("utf-8")
        sha = hashlib.sha256(blob).hexdigest()
        path = self.run_dir / STATE_SUBDIR / f"{sha}.txt"
        with self._state_mutex:
            if sha in self._states_known:
                return sha  # written whole and listed: the commit of any record naming it covers it
            try:
                _write_state(path, blob, sha)  # whole, before any other thread looks at it
            except OSError as err:
                raise JournalError(f"{path}: cannot store captured state: {err.strerror}") from None
            self._states_known.add(sha)
            self._states_written.append(path)
        return sha

    def store_artifact(self, name: str, text: str) -> str:
        """Store a run artifact (``plan.json``) in the run directory: 0600, fsynced, renamed
        into place; returns the SHA-256 of its bytes, which a record must then journal (it is
        checked on every read, see ``reader.checked_artifact``). Not scrubbed: an artifact
        holds no secret (a plan carries references, never values)."""
        if not ARTIFACT_RE.fullmatch(name):
            raise JournalError(f"{name!r} is not a run artifact name")
        blob = text.encode("utf-8")
        path = self.run_dir / name
        try:
            _write_file_durably(path, blob)
        except OSError as err:
            raise JournalError(f"{path}: cannot store: {err.strerror}") from None
        return hashlib.sha256(blob).hexdigest()

    def read_state(self, sha: str) -> str:
        """The stored state text of digest ``sha``; JournalError if missing or altered."""
        path = self.run_dir / STATE_SUBDIR / f"{sha}.txt"
        blob = None
        if SHA256_RE.fullmatch(sha):
            with contextlib.suppress(OSError):
                blob = path.read_bytes()
        return check_state_bytes(self.run_dir / STATE_SUBDIR, sha, blob)

    # --- closing ---------------------------------------------------------------------

    def close(self) -> None:
        """Seal (if this process appended and no write failed), then release the journal."""
        with self._mutex:
            sealing = self._appended and not self._closed and self._broken is None
            self._appended = False
        if sealing:
            with contextlib.suppress(JournalError):  # a failed seal leaves the journal unsealed
                self.seal()
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError):
                os.close(self._fd)
            _release_run_lock(self._lock_fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _take_run_lock(directory: Path, run_id: str) -> int:
    """flock the run's journal.lock (released by the kernel if the process dies)."""
    path = directory / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise JournalError(f"{path}: cannot open run lock: {err.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        holder = _read_holder(fd)
        os.close(fd)
        if err.errno in (errno.EAGAIN, errno.EACCES):
            raise LockHeld(f"run {run_id}'s journal is in use by {holder}") from None
        raise JournalError(f"{path}: cannot lock: {err.strerror}") from None
    info = {
        "run": run_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": current_user(),
        "since": timestamp(),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info, sort_keys=True).encode("utf-8"), 0)
    return fd


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} (user {info['user']} on {info['host']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _release_run_lock(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)  # no holder: readers see the run is no longer written
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        os.close(fd)


def _write_file_durably(path: Path, blob: bytes) -> None:
    """temp file (0600) + fsync + rename + fsync of the directory."""
    tmp = _write_temp(path, blob)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_temp(path: Path, blob: bytes, *, sync: bool = True) -> Path:
    """``blob`` in a new temp file (0600) beside ``path``, fsynced unless ``sync`` is False."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{next(_tmp_counter)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _write_all(fd, blob)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view) :]


def _write_state(path: Path, blob: bytes, sha: str) -> None:
    """Write a content-addressed state file (the next group commit makes it durable). A new
    name is created exclusively and written in place; an existing file that hashes to ``sha``
    is kept (made durable all the same: a crashed process may have left it unsynced); any
    other existing file (torn by a crash, or altered) is replaced through a temp file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with contextlib.suppress(OSError):
            if hashlib.sha256(path.read_bytes()).hexdigest() == sha:
                return
        os.replace(_write_temp(path, blob, sync=False), path)
        return
    try:
        _write_all(fd, blob)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)  # a torn file would be replaced anyway; leave none
        raise
    finally:
        os.close(fd)


def _load_syncfs() -> Any:
    """libc's ``syncfs`` (Linux), or None where the C library has none."""
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    except OSError:
        return None


_SYNCFS = _load_syncfs()


def _syncfs(fd: int) -> None:
    """``syncfs(2)``: write back every dirty file of the filesystem that holds ``fd`` and
    commit it, one call; an I/O error of any of its writebacks raises (Linux 5.8 and later)."""
    if _SYNCFS(fd) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _sync_states(directory: Path, written: list[Path]) -> None:
    """Make the state files in ``written`` durable, with their directory entries: one
    ``syncfs`` of their filesystem where the C library has it, else an fsync of each file
    and then of the directory. Nothing to do when ``written`` is empty."""
    if not written:
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _SYNCFS is not None:
            _syncfs(fd)
            return
        for path in written:
            file_fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(file_fd)
            finally:
                os.close(file_fd)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
