"""The writer: layout, modes, hash chain, fsync before return, failures, threads, reopen."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from journalkit import start_run

from isolate.errors import JournalError, LockHeld
from isolate.journal import Journal, read_journal, run_id_new, verify_journal, writer
from isolate.journal.records import ZERO_HASH, canonical_json
from isolate.secrets import Scrubber

RunFactory = Callable[..., Path]


def _start(journal: Journal) -> None:
    start_run(journal, user="u", host="h", reason="r")


def test_create_lays_out_private_run_directory(state_dir: Path) -> None:
    run_id = run_id_new()
    journal = Journal.create(state_dir, run_id)
    with journal:
        _start(journal)
        sha = journal.store_state("hostname core1\n")
    run_dir = state_dir / "runs" / run_id
    assert journal.run_dir == run_dir
    for directory in (state_dir, state_dir / "runs", run_dir, run_dir / "state"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for file in (run_dir / "journal.jsonl", run_dir / "state" / f"{sha}.txt"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    with pytest.raises(JournalError, match="already exists"):
        Journal.create(state_dir, run_id)


def test_run_id_format() -> None:
    import re

    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run_id_new())


def test_records_are_hash_chained_canonical_lines(make_run: RunFactory) -> None:
    run_dir = make_run()
    lines = (run_dir / "journal.jsonl").read_bytes().splitlines()
    prev = ZERO_HASH
    for seq, line in enumerate(lines):
        obj = json.loads(line)
        assert list(obj) == ["seq", "ts", "run", "kind", "data", "prev", "hash"]
        assert obj["seq"] == seq and obj["prev"] == prev
        body = {k: v for k, v in obj.items() if k != "hash"}
        expected = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        assert obj["hash"] == expected
        assert canonical_json(body) == json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        prev = obj["hash"]
    assert verify_journal(run_dir).ok


def test_append_fsyncs_the_line_before_returning(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal.create(state_dir, run_id_new())
    events: list[tuple[str, object]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        on_disk = Path(target).read_bytes() if Path(target).is_file() else b""
        events.append(("fsync", (target, on_disk.count(b"\n"))))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    with journal:
        _start(journal)
        events.append(("returned", 1))
        journal.append("precheck", device="core1", ok=True, message="", state=None, checks={})
        events.append(("returned", 2))
    journal_syncs = [
        (i, e) for i, e in enumerate(events) if e[0] == "fsync" and str(journal.path) in str(e[1])
    ]
    returns = [i for i, e in enumerate(events) if e[0] == "returned"]
    # each append fsynced the journal holding its whole line before it returned
    assert journal_syncs[0][0] < returns[0] and journal_syncs[0][1][1] == (str(journal.path), 1)
    assert returns[0] < journal_syncs[1][0] < returns[1] and journal_syncs[1][1][1] == (str(journal.path), 2)


def test_a_deferred_outcome_is_written_at_once_and_durable_with_the_next_append(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outcome (applied, verified, a pre-check's result) is in the file when the call
    returns (a kill -9 loses nothing) and fsynced by the next durable append, before that
    append returns: an intent after it is never durable without it."""
    journal = Journal.create(state_dir, run_id_new())
    synced_lines: list[int] = []  # lines in the journal file at each of its fsyncs
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}") == str(journal.path):
            synced_lines.append(journal.path.read_bytes().count(b"\n"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    with journal:
        _start(journal)
        assert synced_lines == [1]
        journal.append_deferred("precheck", device="core1", ok=True, message="", state=None, checks={})
        journal.append_deferred("applied", device="core1", step="s", ok=True, message="", duration_s=0.1)
        assert synced_lines == [1]  # not fsynced yet ...
        assert [json.loads(line)["kind"] for line in journal.path.read_text().splitlines()] == [
            "run-start", "precheck", "applied"
        ]  # ... but written: another process (or a restart after kill -9) reads them
        journal.append("step-end", step="s", ok=True, duration_s=0.2)
        assert synced_lines == [1, 4]  # one fsync made all three durable
    assert verify_journal(journal.run_dir).ok


def test_create_fsyncs_the_directory(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    run_id = run_id_new()
    Journal.create(state_dir, run_id).close()
    assert str(state_dir / "runs" / run_id) in synced


def test_failed_write_raises_and_stops_the_journal(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal.create(state_dir, run_id_new())
    _start(journal)

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(JournalError, match=r"cannot append intent \(seq 1\): Input/output error"):
        journal.append(
            "intent", device="core1", step="s", action="a", platform="cisco_ios", forward=[], inverse=[],
            pre_state=None, stage=1, confirm_window_s=None,
        )  # fmt: skip
    monkeypatch.undo()
    with pytest.raises(JournalError, match="earlier write failed"):
        journal.append("failed", device="core1", step="s", phase="push", message="m")
    journal.close()
    # the half-written record was cut back: the journal still verifies up to run-start
    assert len(read_journal(journal.run_dir).records) == 1


def test_first_record_must_be_run_start(state_dir: Path) -> None:
    with Journal.create(state_dir, run_id_new()) as journal, pytest.raises(JournalError, match="run-start"):
        journal.append("precheck", device="core1", ok=True, message="", state=None, checks={})


def test_concurrent_appends_keep_one_chain(state_dir: Path) -> None:
    journal = Journal.create(state_dir, run_id_new())
    _start(journal)

    def worker(n: int) -> None:
        for i in range(40):
            journal.append("precheck", device=f"d{n}", ok=True, message=str(i), state=None, checks={})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.append("run-end", status="ok", duration_s=1.0, time_to_contain_s=None)
    journal.close()
    report = verify_journal(journal.run_dir)
    assert report.ok, report.summary()
    assert report.records == 1 + 8 * 40 + 1 + 1  # and the seal close() appends


def test_open_continues_the_chain_and_is_exclusive(make_run: RunFactory) -> None:
    run_dir = make_run(finish=False)
    journal = Journal.open(run_dir)
    with pytest.raises(LockHeld, match=r"journal is in use by pid \d+"):
        Journal.open(run_dir)
    with journal:
        record = journal.append("run-end", status="ok", duration_s=2.0, time_to_contain_s=1.0)
    assert record.seq == len(read_journal(run_dir).records) - 2  # then the seal
    assert read_journal(run_dir).records[-1].kind == "seal"
    assert verify_journal(run_dir).ok
    Journal.open(run_dir).close()  # released on close


def test_open_refuses_a_tampered_chain(make_run: RunFactory) -> None:
    run_dir = make_run()
    path = run_dir / "journal.jsonl"
    path.write_bytes(path.read_bytes().replace(b"INC-7", b"INC-8"))
    with pytest.raises(JournalError, match=r"journal.jsonl:1 \(seq 0, kind run-start\): hash"):
        Journal.open(run_dir)


def test_store_state_is_content_addressed_and_checked(state_dir: Path) -> None:
    with Journal.create(state_dir, run_id_new()) as journal:
        sha = journal.store_state("hostname core1\n")
        assert sha == hashlib.sha256(b"hostname core1\n").hexdigest()
        assert journal.store_state("hostname core1\n") == sha
        assert journal.read_state(sha) == "hostname core1\n"
        (journal.run_dir / "state" / f"{sha}.txt").write_text("hostname evil\n")
        with pytest.raises(JournalError, match="does not hash to its name"):
            journal.read_state(sha)
        with pytest.raises(JournalError, match="not a state digest"):
            journal.read_state("../../etc/passwd")


def _record_syncs(monkeypatch: pytest.MonkeyPatch, events: list[tuple[str, str, int]]) -> None:
    """Record every fsync and syncfs of the writer: (call, the path of its fd, the lines the
    journal file held on disk at that moment)."""
    real_fsync, real_syncfs = os.fsync, writer._syncfs

    def journal_lines(fd: int) -> tuple[str, int]:
        target = os.readlink(f"/proc/self/fd/{fd}")
        journal = next(Path(target).parent.rglob("journal.jsonl"), None) if Path(target).is_dir() else None
        on_disk = Path(target) if Path(target).is_file() else journal
        return target, on_disk.read_bytes().count(b"\n") if on_disk is not None else 0

    def recording_fsync(fd: int) -> None:
        events.append(("fsync", *journal_lines(fd)))
        real_fsync(fd)

    def recording_syncfs(fd: int) -> None:
        events.append(("syncfs", *journal_lines(fd)))
        real_syncfs(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(writer, "_syncfs", recording_syncfs)


def test_a_state_is_durable_before_the_record_naming_it(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The states stored since the last commit are made durable (one syncfs of their
    filesystem: the files and their directory entries) before the journal fsync that makes a
    record naming one durable; a state stored twice is written once; a commit with no new
    state makes no syncfs."""
    journal = Journal.create(state_dir, run_id_new())
    events: list[tuple[str, str, int]] = []
    _record_syncs(monkeypatch, events)
    with journal:
        _start(journal)
        events.clear()
        sha = journal.store_state("hostname core1\n")
        other = journal.store_state("hostname core2\n")
        state_file = journal.run_dir / "state" / f"{sha}.txt"
        written = state_file.stat().st_mtime_ns
        assert journal.store_state("hostname core1\n") == sha
        assert state_file.stat().st_mtime_ns == written  # not written again
        assert events == []  # nothing synced until a record is committed
        journal.append("precheck", device="core1", ok=True, message="", state=sha, checks={})
        journal.append("precheck", device="core2", ok=True, message="", state=other, checks={})
    state_dir_path = str(journal.run_dir / "state")
    journal_path = str(journal.path)
    assert events[:3] == [
        ("syncfs", state_dir_path, 2),  # both states, before the first precheck is durable
        ("fsync", journal_path, 2),
        ("fsync", journal_path, 3),  # the second precheck: no new state, no syncfs
    ]


def test_without_syncfs_each_new_state_file_then_its_directory_is_fsynced(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the C library has no syncfs, the commit fsyncs each state file stored since the
    last commit, then the state directory, then the journal."""
    monkeypatch.setattr(writer, "_SYNCFS", None)
    journal = Journal.create(state_dir, run_id_new())
    events: list[tuple[str, str, int]] = []
    _record_syncs(monkeypatch, events)
    with journal:
        _start(journal)
        events.clear()
        sha = journal.store_state("hostname core1\n")
        journal.append("precheck", device="core1", ok=True, message="", state=sha, checks={})
    assert [(call, path) for call, path, _ in events[:3]] == [
        ("fsync", str(journal.run_dir / "state" / f"{sha}.txt")),
        ("fsync", str(journal.run_dir / "state")),
        ("fsync", str(journal.path)),
    ]


def test_a_failed_state_sync_stops_the_journal(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write-back error of a captured state fails the append that would have named it, and
    every later one: the record is cut back and the run must stop."""
    journal = Journal.create(state_dir, run_id_new())
    _start(journal)
    sha = journal.store_state("hostname core1\n")

    def broken_syncfs(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(writer, "_syncfs", broken_syncfs)
    with pytest.raises(JournalError, match=r"cannot append intent \(seq 1\): Input/output error"):
        journal.append(
            "intent", device="core1", step="s", action="a", platform="cisco_ios", forward=["x"], inverse=[],
            pre_state=sha, stage=1, confirm_window_s=None,
        )  # fmt: skip
    monkeypatch.undo()
    with pytest.raises(JournalError, match="earlier write failed"):
        journal.append("failed", device="core1", step="s", phase="push", message="m")
    journal.close()
    assert len(read_journal(journal.run_dir).records) == 1


def test_a_torn_state_file_is_rewritten_when_the_state_is_stored_again(make_run: RunFactory) -> None:
    """A crash mid-write leaves a state file that fails its hash; the next process that stores
    that state (resume, restore) replaces it, and reads then get the right text."""
    run_dir = make_run()
    text = "hostname core1\ninterface Vlan10\n"
    sha = hashlib.sha256(text.encode()).hexdigest()
    path = run_dir / "state" / f"{sha}.txt"
    path.write_bytes(text.encode()[:7])
    with Journal.open(run_dir) as journal:
        with pytest.raises(JournalError, match="does not hash to its name"):
            journal.read_state(sha)
        assert journal.store_state(text) == sha
        assert journal.read_state(sha) == text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p.name for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left


def test_intent_whose_commands_hold_a_secret_is_refused(state_dir: Path) -> None:
    scrubber = Scrubber.of(["Hunter2Secret"])
    with Journal.create(state_dir, run_id_new(), scrubber=scrubber) as journal:
        _start(journal)
        with pytest.raises(
            JournalError, match="core1: intent for step s: a inverse command holds a secret"
        ) as err:
            journal.append(
                "intent", device="core1", step="s", action="a", platform="cisco_ios", forward=["x"],
                inverse=["username bob secret Hunter2Secret"], pre_state=None, stage=1, confirm_window_s=None,
            )  # fmt: skip
        assert "Hunter2Secret" not in str(err.value)


@dataclasses.dataclass(frozen=True)
class _Item:
    command: str
    output: Path


def test_data_accepts_dataclasses_and_paths_and_rejects_objects(state_dir: Path) -> None:
    applied = {"device": "core1", "step": "s", "ok": True, "message": ""}
    with Journal.create(state_dir, run_id_new()) as journal:
        _start(journal)
        rec = journal.append("applied", **applied, duration_s=0.5, answers=(_Item("show x", Path("/x")),))
        assert rec.data["answers"] == [{"command": "show x", "output": "/x"}]
        with pytest.raises(JournalError, match=r"data.answers: a object cannot be journaled"):
            journal.append("applied", **applied, duration_s=0.5, answers=object())
        with pytest.raises(JournalError, match="not a finite number"):
            journal.append("applied", **applied, duration_s=float("nan"))


def test_fast_encoding_equals_the_definition() -> None:
    from isolate.journal.records import line_bytes, make_record, record_hash

    data = {"z": 'quote " back \\ slash', "a": ["é", "\u2028", "\x01"], "n": 1.5, "b": None}
    rec = make_record(3, "2026-11-23T05:40:00.123456Z", "20261123T054000Z-abcdef", "intent", data, "0" * 64)
    assert rec.hash == record_hash(rec.body())
    assert rec.line() == line_bytes(rec.to_dict())
