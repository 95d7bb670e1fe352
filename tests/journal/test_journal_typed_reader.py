"""Readers read records through their models: `isolate status`, `isolate restore`,
`journal show/list/export` meet a record that does not fit its kind's model with one line
naming the journal file, the seq and the field (exit 7), never a traceback — also when the
chain and the signed heads are intact (re-chained and re-signed with the station's trusted
key, which is what a buggy writer or an insider holding the key could produce). `journal
verify` checks every record against its model too: FAIL with file:line (seq, kind) and the
field, exit 7."""

from __future__ import annotations

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


def test_a_record_not_fitting_its_model_is_one_line_exit_7(make_run: RunFactory, state_dir: Path) -> None:
    run_dir = make_run(restore=False)
    intent_seq = next(r.seq for r in read_journal(run_dir).records if r.kind == "intent")

    def stage_as_words(rec: Record) -> dict[str, object]:
        return {**rec.data, "stage": "first"} if rec.seq == intent_seq else dict(rec.data)

    _rewrite_and_resign(run_dir, stage_as_words)
    report = verify_journal(run_dir)
    assert report.first_bad is not None and report.first_bad.reason.startswith("intent record: stage: ")
    journal = run_dir / "journal.jsonl"
    expected = (
        f"error: {journal}: seq {intent_seq}: intent record: stage: Input should be a valid integer; "
        "the record does not fit its kind's model "
        "(isolate/journal/schema.py): the journal was edited or not written by isolate "
        "(isolate journal verify checks it)\n"
    )
    readers = (("status",), ("restore", run_dir.name, "--yes"), ("journal", "show", run_dir.name),
               ("journal", "list"), ("journal", "export", run_dir.name, "--format", "md"))  # fmt: skip
    for args in readers:
        result = _cli(*args, state_dir=state_dir)
        assert (result.returncode, result.stderr) == (7, expected), args
        assert result.stdout == "", args


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
