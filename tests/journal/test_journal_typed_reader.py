"""Readers read records through their models: `isolate status`, `isolate restore` and
`journal show` meet a record that does not fit its kind's model with one line naming the
journal file, the seq and the field (exit 7), never a traceback — also when the chain and
the signed heads are intact (re-chained and re-signed with the station's trusted key, which
is what a buggy writer or an insider holding the key could produce)."""

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
    assert verify_journal(run_dir).ok, "the chain and the signed heads are intact"
    journal = run_dir / "journal.jsonl"
    expected = (
        f"error: {journal}: seq {intent_seq}: intent record: stage: Input should be a valid integer, "
        "unable to parse string as an integer; the record does not fit its kind's model "
        "(isolate/journal/schema.py): the journal was edited or not written by isolate "
        "(isolate journal verify checks it)\n"
    )
    for args in (("status",), ("restore", run_dir.name, "--yes"), ("journal", "show", run_dir.name)):
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
