"""A torn final line (a crash mid-append) is detected, reported and, on request, moved aside
and journaled — never silently dropped. Also: a real process killed with SIGKILL."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import isolate.cli
from isolate.errors import JournalError
from isolate.journal import Journal, RunView, read_journal, verify_journal

RunFactory = Callable[..., Path]
HALF = b'{"seq":11,"ts":"2026-11-23T05:40:00.1234'


def _tear(run_dir: Path) -> None:
    with (run_dir / "journal.jsonl").open("ab") as handle:
        handle.write(HALF)


def test_torn_tail_is_reported_by_read_and_verify(make_run: RunFactory) -> None:
    run_dir = make_run(finish=False)
    _tear(run_dir)
    view = read_journal(run_dir)
    assert view.torn is not None
    assert (view.torn.line, view.torn.length) == (12, len(HALF))  # 10 records and a seal
    assert view.torn.sha256 == hashlib.sha256(HALF).hexdigest()
    report = verify_journal(run_dir)
    assert not report.ok and report.first_bad is not None
    assert report.first_bad.line == 12 and report.first_bad.seq == 11
    assert report.summary().startswith(
        f"FAIL: journal.jsonl:12 (seq 11, kind ?): torn final line: {len(HALF)} bytes"
    )

    isolate.cli._register_all()
    result = CliRunner().invoke(isolate.cli.app, ["journal", "verify", str(run_dir)])
    assert result.exit_code == 7 and "torn final line" in result.output


def test_open_refuses_a_torn_tail_unless_asked_to_recover(make_run: RunFactory) -> None:
    run_dir = make_run(finish=False)
    _tear(run_dir)
    with pytest.raises(JournalError, match=r"journal.jsonl:12: torn final line \(\d+ bytes"):
        Journal.open(run_dir)
    assert (run_dir / "journal.jsonl").read_bytes().endswith(HALF)  # untouched

    with Journal.open(run_dir, recover_torn=True) as journal:
        torn = journal.records[-1]
        journal.append("run-end", status="aborted", duration_s=3.0, time_to_contain_s=None)
    assert torn.kind == "torn-tail"
    assert torn.data == {
        "line": 12, "bytes": len(HALF), "sha256": hashlib.sha256(HALF).hexdigest(), "file": "journal.torn.1",
    }  # fmt: skip
    assert (run_dir / "journal.torn.1").read_bytes() == HALF
    report = verify_journal(run_dir)
    assert report.ok, report.summary()

    (run_dir / "journal.torn.1").write_bytes(HALF + b"x")
    report = verify_journal(run_dir)
    assert report.first_bad is not None and report.first_bad.kind == "torn-tail"
    assert "does not match the length and digest quoted" in report.first_bad.reason


def test_second_torn_tail_gets_its_own_file(make_run: RunFactory) -> None:
    run_dir = make_run(finish=False)
    _tear(run_dir)
    Journal.open(run_dir, recover_torn=True).close()
    _tear(run_dir)
    with Journal.open(run_dir, recover_torn=True) as journal:
        assert journal.records[-1].data["file"] == "journal.torn.2"
    report = verify_journal(run_dir)
    assert report.ok, report.summary()
    assert [r.data["file"] for r in read_journal(run_dir).records if r.kind == "torn-tail"] == [
        "journal.torn.1", "journal.torn.2",
    ]  # fmt: skip


def test_a_run_that_died_writing_run_start_cannot_be_continued(state_dir: Path) -> None:
    from isolate.journal import run_id_new

    journal = Journal.create(state_dir, run_id_new())
    journal.close()
    _tear(journal.run_dir)
    with pytest.raises(JournalError, match="no complete record"):
        Journal.open(journal.run_dir, recover_torn=True)


WRITER = """
import sys
from pathlib import Path
from isolate.journal import Journal
journal = Journal.create(Path(sys.argv[1]), sys.argv[2])
journal.append("run-start", user="u", host="h", pid=0, command="apply", incident=None, reason="kill test",
               tool_version="0.1.0", inventory={"path": "inv.yml", "sha256": "a" * 64},
               playbook={"path": None, "name": "p", "sha256": "b" * 64}, plan_sha256="c" * 64,
               overrides=[], options={})
for i in range(1000000):
    journal.append("intent", device=f"d{i}", step="s", action="a", platform="cisco_ios", forward=["x"],
                   inverse=["y"], pre_state=None, stage=1, confirm_window_s=None)
    if i == 3:
        print("ready", flush=True)
    journal.append("applied", device=f"d{i}", step="s", ok=True, message="", duration_s=0.0)
"""


@pytest.fixture
def writer_process(state_dir: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    from isolate.journal import run_id_new

    run_id = run_id_new()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(state_dir), run_id], stdout=subprocess.PIPE, text=True
    )
    try:
        yield proc, state_dir / "runs" / run_id
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_sigkilled_writer_leaves_a_journal_that_verifies_up_to_the_crash(
    writer_process: tuple[subprocess.Popen[str], Path],
) -> None:
    proc, run_dir = writer_process
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(0.05)  # let it append more (not a timing assertion)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    report = verify_journal(run_dir)
    # the chain is whole; it lacks its signed head, at most the last intent lacks its outcome,
    # or a line is torn
    assert report.first_bad is not None and (
        "has no outcome" in report.first_bad.reason
        or "torn final line" in report.first_bad.reason
        or "without a signed head" in report.first_bad.reason
    ), report.summary()
    with Journal.open(run_dir, recover_torn=True) as journal:  # the dead writer's lock is gone
        closed = journal.close_pending()
        assert all(r.data["phase"] == "interrupted" for r in closed) and len(closed) <= 1
        assert journal.view().pending_intents() == []
        journal.append("run-end", status="aborted", duration_s=0.0, time_to_contain_s=None)
    assert verify_journal(run_dir).ok, verify_journal(run_dir).summary()
    assert RunView.load(run_dir).status == "aborted"
