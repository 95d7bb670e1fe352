"""verify: every byte flip names its record; gaps, missing outcomes, states, torn tails, exports."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import isolate.cli
from isolate.errors import JournalError
from isolate.journal import Journal, read_journal, run_id_new, verify_journal
from isolate.journal.records import make_record

RunFactory = Callable[..., Path]


@pytest.fixture(scope="module")
def cli() -> CliRunner:
    isolate.cli._register_all()
    return CliRunner()


def _line_of(blob: bytes, position: int) -> int:
    return blob.count(b"\n", 0, position) + 1


def test_finished_journal_verifies(make_run: RunFactory, cli: CliRunner) -> None:
    run_dir = make_run()
    report = verify_journal(run_dir)
    assert report.ok and report.first_bad is None and report.warnings == ()
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(run_dir)])
    assert result.exit_code == 0
    assert report.signed_by is not None and report.complete
    assert result.output == (
        f"OK: {report.records} records, chain intact, every intent has an outcome, head signed by key "
        f"{report.signed_by}; run complete (status restored)\n"
        f"head: seq {report.records - 1} hash {report.head}\n"
    )


def test_a_noted_head_hash_catches_records_cut_from_the_end(make_run: RunFactory, cli: CliRunner) -> None:
    run_dir = make_run()
    head = verify_journal(run_dir).head
    assert head is not None
    lines = _records(run_dir)
    (run_dir / "journal.jsonl").write_bytes(b"".join(lines[:-9]))  # the whole restore and the seal
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(run_dir), "--head", head])
    assert result.exit_code == 7
    expected = f"FAIL: journal.jsonl:{len(lines) - 8} (seq {len(lines) - 9}, kind ?): no record has the"
    assert result.output.startswith(expected)


def _small_run(state_dir: Path) -> Path:
    with Journal.create(state_dir, run_id_new()) as journal:
        journal.append(
            "run-start", user="alice", host="admin1", pid=7, command="apply", incident="INC-7",
            reason="fs1 1.5e-05", tool_version="0.1.0", inventory={"path": "inv.yml", "sha256": "a" * 64},
            playbook={"path": None, "name": "p", "sha256": "b" * 64}, plan_sha256="c" * 64, overrides=[],
            options={},
        )  # fmt: skip
        sha = journal.store_state("hostname core1\n")
        journal.append("intent", device="core1", step="s", action="shut-port", platform="cisco_ios",
                       forward=["x"], inverse=["y"], pre_state=sha, stage=1,
                       confirm_window_s=None)  # fmt: skip
        journal.append("applied", device="core1", step="s", ok=True, message="", duration_s=1.5e-05)
        journal.append("run-end", status="ok", duration_s=0.5, time_to_contain_s=0.25)
    return journal.run_dir


def test_every_single_byte_flip_fails_naming_the_record(state_dir: Path) -> None:
    run_dir = _small_run(state_dir)
    path = run_dir / "journal.jsonl"
    original = path.read_bytes()
    seqs = {i + 1: json.loads(line)["seq"] for i, line in enumerate(original.splitlines())}
    for position in range(len(original)):
        # each byte flipped once; low bit on even positions, case bit (e→E…) on odd ones
        for mask in (0x01,) if position % 2 == 0 else (0x20,):
            flipped = bytearray(original)
            flipped[position] ^= mask
            path.write_bytes(bytes(flipped))
            report = verify_journal(run_dir)
            line = _line_of(original, position)
            assert not report.ok, f"flip {mask:#x} at byte {position} went unnoticed"
            assert report.first_bad is not None
            assert report.first_bad.line == line, (position, mask, report.summary())
            assert report.first_bad.seq == seqs[line], (position, mask, report.summary())
    path.write_bytes(original)
    assert verify_journal(run_dir).ok


def test_flip_through_cli_prints_line_seq_and_exits_7(make_run: RunFactory, cli: CliRunner) -> None:
    run_dir = make_run()
    path = run_dir / "journal.jsonl"
    blob = path.read_bytes()
    position = blob.index(b"INC-7")
    path.write_bytes(blob[:position] + b"X" + blob[position + 1 :])
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(path)])
    assert result.exit_code == 7
    assert result.output.startswith("FAIL: journal.jsonl:1 (seq 0, kind run-start): hash does not match")


def _records(run_dir: Path) -> list[bytes]:
    return (run_dir / "journal.jsonl").read_bytes().splitlines(keepends=True)


def test_removed_record_is_a_gap(make_run: RunFactory) -> None:
    run_dir = make_run()
    lines = _records(run_dir)
    del lines[3]
    (run_dir / "journal.jsonl").write_bytes(b"".join(lines))
    report = verify_journal(run_dir)
    assert report.first_bad is not None and report.first_bad.line == 4
    assert "seq 4 where 3 was expected" in report.first_bad.reason


def _rewrite(run_dir: Path, keep: Callable[[dict[str, object]], bool]) -> None:
    """Rewrite a journal keeping some records, re-chaining them honestly (a valid chain)."""
    view = read_journal(run_dir)
    prev = "0" * 64
    out: list[bytes] = []
    for rec in view.records:
        obj = rec.to_dict()
        if not keep(obj):
            continue
        new = make_record(len(out), rec.ts, rec.run, rec.kind, dict(rec.data), prev)
        out.append(new.line())
        prev = new.hash
    (run_dir / "journal.jsonl").write_bytes(b"".join(out))


def test_intent_without_outcome_fails(make_run: RunFactory, cli: CliRunner) -> None:
    run_dir = make_run(finish=False)

    def drop_fw_applied(obj: dict[str, object]) -> bool:
        data = obj["data"]
        return not (obj["kind"] == "applied" and isinstance(data, dict) and data["device"] == "fw-int")

    _rewrite(run_dir, drop_fw_applied)
    report = verify_journal(run_dir)
    assert report.first_bad is not None
    assert report.first_bad.kind == "intent" and report.first_bad.seq == 4 and report.first_bad.line == 5
    assert "intent for fw-int step cut-smb has no outcome" in report.first_bad.reason
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(run_dir)])
    assert result.exit_code == 7
    assert "FAIL: journal.jsonl:5 (seq 4, kind intent): intent for fw-int" in result.output


def test_restore_intent_without_outcome_fails(make_run: RunFactory) -> None:
    run_dir = make_run()
    _rewrite(run_dir, lambda obj: obj["kind"] != "restored")
    report = verify_journal(run_dir)
    assert report.first_bad is not None and report.first_bad.kind == "restore-intent"
    assert "has no outcome (no restored or failed record" in report.first_bad.reason


def test_one_run_and_run_start_first(make_run: RunFactory) -> None:
    run_dir = make_run()
    _rewrite(run_dir, lambda obj: obj["kind"] != "run-start")
    report = verify_journal(run_dir)
    assert report.first_bad is not None and report.first_bad.line == 1
    assert report.first_bad.reason == "the first record is not run-start"

    other = make_run()
    lines = _records(other)
    view = read_journal(other)
    alien = make_record(len(lines), view.records[-1].ts, run_id_new(), "note", {}, view.records[-1].hash)
    (other / "journal.jsonl").write_bytes(b"".join(lines) + alien.line())
    report = verify_journal(other)
    assert report.first_bad is not None and "differs from the journal's run" in report.first_bad.reason


def test_missing_or_altered_state_fails_at_first_reference(make_run: RunFactory) -> None:
    run_dir = make_run()
    states = sorted((run_dir / "state").iterdir())
    pre_sha = read_journal(run_dir).records[1].data["state"]
    (run_dir / "state" / f"{pre_sha}.txt").write_text("hostname tampered\n")
    report = verify_journal(run_dir)
    assert report.first_bad is not None and report.first_bad.line == 2
    assert "does not hash to its name" in report.first_bad.reason
    for state in states:
        state.unlink()
    report = verify_journal(run_dir)
    assert report.first_bad is not None and "is missing" in report.first_bad.reason


def test_empty_journal_fails(state_dir: Path) -> None:
    Journal.create(state_dir, run_id_new()).close()
    report = verify_journal(next((state_dir / "runs").iterdir()))
    assert not report.ok and report.first_bad is not None
    assert "empty journal" in report.first_bad.reason


def test_export_json_verifies_offline(make_run: RunFactory, cli: CliRunner, tmp_path: Path) -> None:
    run_dir = make_run()
    out = tmp_path / "export.json"
    result = cli.invoke(
        isolate.cli.app, ["journal", "export", str(run_dir), "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    shutil.rmtree(run_dir)  # offline: nothing of the run directory is left
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 20 records, chain intact")

    doc = json.loads(out.read_text())
    doc["records"][3]["data"]["device"] = "core9"
    out.write_text(json.dumps(doc))
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(out)])
    assert result.exit_code == 7
    assert result.output.startswith("FAIL: export.json:record 4 (seq 3, kind intent): hash")

    doc["records"][3]["data"]["device"] = "core1"
    sha = next(iter(doc["states"]))
    doc["states"][sha] = doc["states"][sha] + "!"
    out.write_text(json.dumps(doc))
    report = verify_journal(out)
    assert report.first_bad is not None and "does not hash to its name" in report.first_bad.reason


@pytest.mark.parametrize("field", ["states", "states_base64"])
def test_an_export_carrying_a_state_no_record_names_fails(
    make_run: RunFactory, cli: CliRunner, tmp_path: Path, field: str
) -> None:
    """The export carries exactly the states its records name: one more is unsigned text an
    auditor might read as the run's (it verified before)."""
    run_dir = make_run()
    out = tmp_path / "export.json"
    exported = ["journal", "export", str(run_dir), "--format", "json", "--out", str(out)]
    result = cli.invoke(isolate.cli.app, exported)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    extra = "0" * 64
    doc[field][extra] = "extra" if field == "states" else base64.b64encode(b"extra").decode("ascii")
    out.write_text(json.dumps(doc))
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(out)])
    assert result.exit_code == 7, result.output
    assert result.output.startswith(
        f"FAIL: export.json:record {len(doc['records']) + 1} (seq ?, kind ?): the export carries a captured "
        f"state {extra} that no record names: added to the export after it was made"
    ), result.output


def test_export_of_a_torn_journal_keeps_failing_offline(make_run: RunFactory, tmp_path: Path) -> None:
    run_dir = make_run(finish=False)
    with (run_dir / "journal.jsonl").open("ab") as handle:
        handle.write(b'{"seq":11,"ts":"2026-')
    from isolate.journal.export import render_export_json

    out = tmp_path / "torn.json"
    out.write_text(render_export_json(read_journal(run_dir)))
    report = verify_journal(out)
    assert report.first_bad is not None and report.first_bad.reason.startswith("torn final line: 21 bytes")


def test_unreadable_export_is_a_journal_error(tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"format": "other"}')
    with pytest.raises(JournalError, match="not an isolate journal export"):
        verify_journal(bogus)


def test_an_edit_that_keeps_every_value_is_still_caught(state_dir: Path) -> None:
    run_dir = _small_run(state_dir)
    path = run_dir / "journal.jsonl"
    blob = path.read_bytes()
    assert b'"duration_s":1.5e-05' in blob
    path.write_bytes(blob.replace(b'"duration_s":1.5e-05', b'"duration_s":1.5E-05'))
    report = verify_journal(run_dir)
    assert report.first_bad is not None and report.first_bad.line == 3
    assert report.first_bad.reason == "line is not in its canonical form (edited after it was written)"
