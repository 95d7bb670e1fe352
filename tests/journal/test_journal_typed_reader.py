"""Readers read records through their models: `isolate restore`, `journal show/export`
meet a record that does not fit its kind's model with one line naming the journal file,
the seq, the field and the command that checks it (exit 7), never a traceback; `isolate
status` and `journal list` show every other run first, then that line, then exit 7 — also when the
chain and the signed heads are intact (re-chained and re-signed with the station's trusted
key, which is what a buggy writer or an insider holding the key could produce). `journal
verify` checks every record against its model too: FAIL with file:line (seq, kind) and the
field, exit 7."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from isolate.journal import read_journal, verify_journal
from isolate.journal.heads import head_message, seal_data
from isolate.journal.records import Record, make_record
from isolate.journal.signing import load_signer

RunFactory = Callable[..., Path]


def _cli(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state_dir)}
    return subprocess.run([sys.executable, "-m", "isolate", *args], capture_output=True, text=True,
                          env=env, check=False, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip


def _rewrite_and_resign(run_dir: Path, edit: Callable[[Record], dict[str, object]]) -> None:
    """Every record re-chained and every seal re-signed by the trusted key: the journal still
    verifies, so only the readers' models can tell."""
    signer = load_signer()
    out: list[Record] = []
    for rec in read_journal(run_dir).records:
        prev = out[-1].hash if out else rec.prev
        data = edit(rec)
        if rec.kind == "seal":
            blank = make_record(rec.seq, rec.ts, rec.run, "seal", seal_data(signer), prev)
            data = seal_data(signer, signer.sign(head_message(blank)))
        out.append(make_record(rec.seq, rec.ts, rec.run, rec.kind, dict(data), prev))
    (run_dir / "journal.jsonl").write_bytes(b"".join(r.line() for r in out))


def _stage_as_words(run_dir: Path) -> str:
    """The run's first intent's stage made a word (its journal still verifies by chain and
    signature); the one line a reader prints for it."""
    intent_seq = next(r.seq for r in read_journal(run_dir).records if r.kind == "intent")

    def stage_as_words(rec: Record) -> dict[str, object]:
        return {**rec.data, "stage": "first"} if rec.seq == intent_seq else dict(rec.data)

    _rewrite_and_resign(run_dir, stage_as_words)
    return (
        f"error: {run_dir / 'journal.jsonl'}: seq {intent_seq}: intent record: stage: Input should be a "
        "valid integer; the record does not fit its kind's model (isolate/journal/schema.py): the journal "
        f"was edited or not written by isolate (check it: isolate journal verify {run_dir.name})\n"
    )


def test_a_record_not_fitting_its_model_is_one_line_exit_7(make_run: RunFactory, state_dir: Path) -> None:
    run_dir = make_run(restore=False)
    expected = _stage_as_words(run_dir)
    report = verify_journal(run_dir)
    assert report.first_bad is not None and report.first_bad.reason.startswith("intent record: stage: ")
    readers = (("restore", run_dir.name, "--yes"), ("journal", "show", run_dir.name),
               ("journal", "export", run_dir.name, "--format", "md"))  # fmt: skip
    for args in readers:
        result = _cli(*args, state_dir=state_dir)
        assert (result.returncode, result.stderr) == (7, expected), args
        assert result.stdout == "", args
    verify = _cli("journal", "verify", run_dir.name, state_dir=state_dir)  # the command the line names
    assert verify.returncode == 7 and verify.stdout.startswith("FAIL: journal.jsonl:"), verify.stdout


def test_status_and_list_show_every_other_run_and_name_the_bad_one(
    make_run: RunFactory, state_dir: Path
) -> None:
    """One run holding a misfit record does not hide the others: `isolate status` and
    `journal list` show every run, name the bad one in one line (file, seq, field, the
    command that checks it), and exit 7 at the end."""
    good, bad, cut = (make_run(restore=False) for _ in range(3))
    line = _stage_as_words(bad)
    journal = cut / "journal.jsonl"  # a line that is not a record in the middle
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join([*lines[:3], b"not a record\n", *lines[4:]]))
    damaged = (
        f"error: run {cut.name}: journal.jsonl:4: not a journal record: not JSON (Expecting value at "
        f"column 1): the journal is damaged (check it: isolate journal verify {cut.name})\n"
    )
    lines_for = {bad.name: line, cut.name: damaged}
    expected = "".join(lines_for[name] for name in sorted(lines_for))  # runs in order
    status = _cli("status", state_dir=state_dir)
    assert (status.returncode, status.stderr) == (7, expected)
    assert f"run {good.name} (ransomware-lateral, incident INC-7, ok)" in status.stdout
    assert bad.name not in status.stdout and cut.name not in status.stdout
    every_line = sorted(lines_for.values())  # the list's order: an unreadable run has no start time
    listed = _cli("journal", "list", state_dir=state_dir)
    assert (listed.returncode, sorted(listed.stderr.splitlines(keepends=True))) == (7, every_line)
    rows = {row.split()[0]: row.split()[-2:] for row in listed.stdout.splitlines()[1:]}
    assert rows == {good.name: ["ok", "2"], bad.name: ["bad-record", "0"], cut.name: ["unreadable", "0"]}
    as_json = _cli("status", "--json", state_dir=state_dir)
    assert (as_json.returncode, as_json.stderr) == (7, expected)
    report = json.loads(as_json.stdout)
    problems = {entry["run"]: "error: " + entry["problem"] + "\n" for entry in report["bad_runs"]}
    assert problems == lines_for
    assert [run["run"] for run in report["contained"]] == [good.name]
    runs = _cli("journal", "list", "--json", state_dir=state_dir)
    assert (runs.returncode, sorted(runs.stderr.splitlines(keepends=True))) == (7, every_line)
    listed_problems = {run["run"]: run["problem"] for run in json.loads(runs.stdout)}
    assert listed_problems == {good.name: None, **{k: v[7:-1] for k, v in lines_for.items()}}


def test_a_missing_field_names_the_field(make_run: RunFactory, state_dir: Path) -> None:
    run_dir = make_run(restore=False)
    intent_seq = next(r.seq for r in read_journal(run_dir).records if r.kind == "intent")

    def drop_inverse(rec: Record) -> dict[str, object]:
        return {k: v for k, v in rec.data.items() if not (rec.seq == intent_seq and k == "inverse")}

    _rewrite_and_resign(run_dir, drop_inverse)
    result = _cli("status", state_dir=state_dir)
    assert result.returncode == 7
    assert result.stderr.startswith(
        f"error: {run_dir / 'journal.jsonl'}: seq {intent_seq}: intent record: inverse: Field required; "
    )
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def _rechain_and_resign(run_dir: Path, records: list[tuple[str, str, dict[str, object]]]) -> None:
    """(kind, ts, data) written as a fresh chain of the run, every seal re-signed by the trusted key."""
    signer = load_signer()
    run = run_dir.name
    out: list[Record] = []
    for seq, (kind, ts, data) in enumerate(records):
        prev = out[-1].hash if out else "0" * 64
        if kind == "seal":
            blank = make_record(seq, ts, run, "seal", seal_data(signer), prev)
            data = seal_data(signer, signer.sign(head_message(blank)))
        out.append(make_record(seq, ts, run, kind, dict(data), prev))
    (run_dir / "journal.jsonl").write_bytes(b"".join(r.line() for r in out))


def _verify(run_dir: Path, state_dir: Path) -> subprocess.CompletedProcess[str]:
    return _cli("journal", "verify", run_dir.name, state_dir=state_dir)


def test_verify_fails_a_record_of_the_wrong_type_naming_line_seq_kind_and_field(
    make_run: RunFactory, state_dir: Path
) -> None:
    run_dir = make_run()
    records = [(r.kind, r.ts, dict(r.data)) for r in read_journal(run_dir).records]
    gate = next(i for i, (kind, _, _) in enumerate(records) if kind == "gate")
    records[gate][2]["ok"] = "yes"
    _rechain_and_resign(run_dir, records)
    result = _verify(run_dir, state_dir)
    assert (result.returncode, result.stderr) == (7, "")
    assert result.stdout == (
        f"FAIL: journal.jsonl:{gate + 1} (seq {gate}, kind gate): gate record: ok: Input should be a valid "
        "boolean (the record does not fit its kind's model, "
        "isolate/journal/schema.py)\n"
    )


def test_verify_fails_a_missing_field_and_an_unknown_kind(make_run: RunFactory, state_dir: Path) -> None:
    run_dir = make_run()
    original = [(r.kind, r.ts, dict(r.data)) for r in read_journal(run_dir).records]
    start = [(kind, ts, {k: v for k, v in data.items() if k != "reason"} if kind == "run-start" else data)
             for kind, ts, data in original]  # fmt: skip
    _rechain_and_resign(run_dir, start)
    result = _verify(run_dir, state_dir)
    assert (result.returncode, result.stdout) == (
        7,
        "FAIL: journal.jsonl:1 (seq 0, kind run-start): run-start record: reason: Field required (the record "
        "does not fit its kind's model, isolate/journal/schema.py)\n",
    )
    note = [*original[:3], ("note", original[2][1], {"text": "hand-added"}), *original[3:]]
    _rechain_and_resign(run_dir, note)
    result = _verify(run_dir, state_dir)
    assert (result.returncode, result.stdout) == (
        7,
        "FAIL: journal.jsonl:4 (seq 3, kind note): unknown record kind 'note' (isolate/journal/schema.py "
        "lists the kinds) (the record does not fit its kind's model, isolate/journal/schema.py)\n",
    )


def test_verify_warns_of_a_field_no_model_names(make_run: RunFactory, state_dir: Path) -> None:
    """A field another version of isolate added: readers ignore it, verify says so and passes."""
    run_dir = make_run()
    records = [(r.kind, r.ts, dict(r.data)) for r in read_journal(run_dir).records]
    records[1][2]["vendor_note"] = "x"
    _rechain_and_resign(run_dir, records)
    result = _verify(run_dir, state_dir)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[1] == (
        "warning: journal.jsonl:2 (seq 1, kind precheck): field(s) vendor_note not in its model (written "
        "by another version of isolate?): readers ignore them"
    )


def test_a_timestamp_that_is_no_time_fails_verify_and_every_reader_in_one_line(
    make_run: RunFactory, state_dir: Path
) -> None:
    """A ``ts`` of the right shape that is no time (minute 70), re-chained and re-signed: verify
    fails it (it passed before) and show and export say it in one line, exit 7 (they crashed,
    exit 70)."""
    run_dir = make_run()
    records = [(r.kind, r.ts, dict(r.data)) for r in read_journal(run_dir).records]
    at = next(i for i, (kind, _, _) in enumerate(records) if kind == "applied")
    kind, ts, data = records[at]
    bad_ts = ts[:14] + "70" + ts[16:]
    records[at] = (kind, bad_ts, data)
    _rechain_and_resign(run_dir, records)
    verify = _verify(run_dir, state_dir)
    assert verify.returncode == 7, verify.stdout
    assert verify.stdout.startswith(f"FAIL: journal.jsonl:{at + 1}"), verify.stdout
    assert f"ts is not a UTC timestamp: {bad_ts!r} is no date and time" in verify.stdout
    for args in (("journal", "show", run_dir.name), ("journal", "export", run_dir.name, "--format", "md")):
        result = _cli(*args, state_dir=state_dir)
        assert result.returncode == 7, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"journal.jsonl:{at + 1}" in result.stderr and "is no date and time" in result.stderr


def test_verifying_a_readable_export_is_bad_input_not_tampering(
    make_run: RunFactory, state_dir: Path, tmp_path: Path
) -> None:
    """A Markdown or CSV export is for reading: verify says so (exit 2), where it said FAIL
    (exit 7), which an auditor reads as tampering."""
    run_dir = make_run()
    for fmt in ("md", "csv", "html"):
        out = tmp_path / f"run.{fmt}"
        made = _cli("journal", "export", run_dir.name, "--format", fmt, "--out", str(out),
                    state_dir=state_dir)  # fmt: skip
        assert made.returncode == 0, made.stderr
        verify = _cli("journal", "verify", str(out), state_dir=state_dir)
        assert (verify.returncode, verify.stdout) == (2, ""), verify.stderr
        assert verify.stderr == (
            f"error: {out}: a {fmt} export is for reading and carries no proof; verify the run directory, "
            "its journal.jsonl, or a JSON export (isolate journal export RUN --format json)\n"
        )


def test_a_restore_never_shows_nor_sends_inverses_of_a_changed_journal(
    make_run: RunFactory, state_dir: Path
) -> None:
    """One intent's inverse edited in place (the chain not redone): the dry run says the journal
    was changed (exit 7) instead of printing the edited commands as what it would send, and the
    restore stops the same way, naming the command that checks it."""
    run_dir = make_run(restore=False)
    journal = run_dir / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if b'"kind":"intent"' in line)
    record = json.loads(lines[at])
    inverse = record["data"]["inverse"]
    assert inverse, record
    record["data"]["inverse"] = [inverse[0] + "X", *inverse[1:]]
    lines[at] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    journal.write_bytes(b"".join(lines))
    for args in (("--dry-run",), ("--yes",)):
        result = _cli("restore", run_dir.name, *args, state_dir=state_dir)
        assert result.returncode == 7, (args, result.stdout, result.stderr)
        assert inverse[0] + "X" not in result.stdout, args
        (line,) = result.stderr.splitlines()
        assert f"journal.jsonl:{at + 1} (seq {at}, kind intent): hash does not match" in line, line
        assert line.endswith(f"(check it: isolate journal verify {run_dir.name})"), line


def test_status_and_list_name_the_same_bad_run_whatever_kind_the_misfit_is(
    make_run: RunFactory, state_dir: Path
) -> None:
    """A misfit in a kind neither reader goes on to read (a step-end's duration made a word):
    `journal list` said the run was ok and `status` listed it as contained; both now check
    every record and name it, exit 7, like any bad record."""
    good, bad = make_run(restore=False), make_run(restore=False)
    seq = next(r.seq for r in read_journal(bad).records if r.kind == "step-end")

    def slow(rec: Record) -> dict[str, object]:
        return {**rec.data, "duration_s": "slow"} if rec.seq == seq else dict(rec.data)

    _rewrite_and_resign(bad, slow)
    start = f"error: {bad / 'journal.jsonl'}: seq {seq}: step-end record: duration_s: "
    for args in (("status",), ("journal", "list")):
        result = _cli(*args, state_dir=state_dir)
        assert result.returncode == 7, (args, result.stderr)
        (line,) = result.stderr.splitlines()
        assert line.startswith(start) and line.endswith(f"isolate journal verify {bad.name})"), (args, line)
        assert good.name in result.stdout, args
    status = json.loads(_cli("status", "--json", state_dir=state_dir).stdout)
    assert [run["run"] for run in status["contained"]] == [good.name]
    listed = {run["run"]: run["status"] for run in json.loads(_cli("journal", "list", "--json",
                                                                  state_dir=state_dir).stdout)}  # fmt: skip
    assert listed == {good.name: "ok", bad.name: "bad-record"}
