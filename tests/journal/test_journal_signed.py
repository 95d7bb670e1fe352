"""Signed heads: cutting, extending or rewriting a journal fails `journal verify` without
--head; an export's header is signed; the mirror of heads catches a cut at a session boundary;
an auditor verifies offline with the public key alone."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import isolate.cli
from isolate.journal import Journal, read_journal, verify_journal
from isolate.journal.heads import head_message, seal_data
from isolate.journal.records import Record, make_record, parse_line
from isolate.journal.signing import load_signer, public_path, read_public_key


@pytest.fixture
def cli() -> CliRunner:
    isolate.cli._register_all()
    return CliRunner()


RunFactory = Callable[..., Path]


@pytest.fixture
def run_dir(make_run: RunFactory) -> Path:
    return _two_sessions(make_run)


def _two_sessions(make_run: RunFactory) -> Path:
    """An apply (sealed on close), then a restore by another process (sealed again)."""
    run_dir = make_run(restore=False)
    with Journal.open(run_dir) as journal:
        journal.append("restore-start", stages=[1], user="ops", host="admin1", pid=4242)
        journal.append(
            "restore-intent", device="core1", step="cut-smb", stage=1, commands=["no x"],
            target_state="d" * 64,
        )
        journal.append("restored", device="core1", step="cut-smb", ok=True, stage=1, message="")
        journal.append("restore-end", ok=True)
    return run_dir


def _lines(run_dir: Path) -> list[bytes]:
    return (run_dir / "journal.jsonl").read_bytes().splitlines(keepends=True)


def _records(run_dir: Path) -> list[Record]:
    return [parse_line(line.rstrip(b"\n")) for line in _lines(run_dir)]


def _write(run_dir: Path, records: list[Record]) -> None:
    (run_dir / "journal.jsonl").write_bytes(b"".join(r.line() for r in records))


def _rechain(records: list[Record]) -> list[Record]:
    """What a forger does: recompute every prev and hash (the seals' signatures stay)."""
    out: list[Record] = []
    for rec in records:
        prev = out[-1].hash if out else rec.prev
        out.append(make_record(rec.seq, rec.ts, rec.run, rec.kind, dict(rec.data), prev))
    return out


def test_every_session_ends_with_a_signed_head_and_the_key_is_private(run_dir: Path) -> None:
    kinds = [r.kind for r in _records(run_dir)]
    assert kinds.count("seal") == 2 and kinds[-1] == "seal" and kinds[kinds.index("run-end") + 1] == "seal"
    key = Path(os.environ["ISOLATE_SIGNING_KEY"])
    assert key.stat().st_mode & 0o777 == 0o600
    assert read_public_key(public_path(key)).id == _records(run_dir)[-1].data["key"]
    report = verify_journal(run_dir)
    assert report.ok and report.complete and report.run_status == "restored", report.summary()


def test_cutting_any_suffix_fails_without_head(run_dir: Path, cli: CliRunner) -> None:
    lines = _lines(run_dir)
    first_seal = next(i for i, r in enumerate(_records(run_dir)) if r.kind == "seal")
    survived = []
    for keep in range(1, len(lines)):
        (run_dir / "journal.jsonl").write_bytes(b"".join(lines[:keep]))
        if verify_journal(run_dir).ok:
            survived.append(keep)
    # The only cut the file alone cannot tell is the one that lands exactly on an earlier
    # session's signed head (the whole restore removed): the mirror of heads catches it.
    assert survived == [first_seal + 1]
    (run_dir / "journal.jsonl").write_bytes(b"".join(lines[:-2]))  # restore-end and the seal
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(run_dir)])
    assert result.exit_code == 7
    assert result.output.startswith(
        f"FAIL: journal.jsonl:{len(lines) - 2} (seq {len(lines) - 3}, kind restored): the journal ends at "
        f"seq {len(lines) - 3} (restored) without a signed head (the last signed head is seq {first_seal})"
    ), result.output


def test_appending_a_record_with_a_recomputed_hash_fails(run_dir: Path, cli: CliRunner) -> None:
    records = _records(run_dir)
    last = records[-1]
    forged = make_record(last.seq + 1, last.ts, last.run, "restore-end", {"ok": True}, last.hash)
    _write(run_dir, [*records, forged])
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(run_dir)])
    assert result.exit_code == 7
    assert f"the journal ends at seq {forged.seq} (restore-end) without a signed head" in result.output


def test_appending_with_a_seal_of_another_key_fails(run_dir: Path, tmp_path: Path) -> None:
    records = _records(run_dir)
    intruder = load_signer(tmp_path / "intruder.key")
    last = records[-1]
    note = make_record(last.seq + 1, last.ts, last.run, "restore-end", {"ok": True}, last.hash)
    blank = make_record(note.seq + 1, note.ts, note.run, "seal", seal_data(intruder), note.hash)
    signed = seal_data(intruder, intruder.sign(head_message(blank)))
    seal = make_record(blank.seq, blank.ts, blank.run, "seal", signed, note.hash)
    _write(run_dir, [*records, note, seal])
    report = verify_journal(run_dir)
    assert report.first_bad is not None and report.first_bad.seq == seal.seq
    assert report.first_bad.reason.startswith(f"signed by key {intruder.public.id}, which is not a trusted")


def test_rewriting_the_whole_chain_fails(run_dir: Path, tmp_path: Path) -> None:
    records = _records(run_dir)
    changed = [
        make_record(r.seq, r.ts, r.run, r.kind, {**r.data, "incident": "INC-0"}, r.prev) if r.seq == 0 else r
        for r in records
    ]
    _write(run_dir, _rechain(changed))
    report = verify_journal(run_dir)
    first_seal = next(r.seq for r in records if r.kind == "seal")
    assert report.first_bad is not None and report.first_bad.seq == first_seal
    assert report.first_bad.reason.startswith("signature does not verify")

    # Re-signed by the forger's own key: not a trusted key.
    forger = load_signer(tmp_path / "forger.key")
    resigned: list[Record] = []
    for rec in _rechain(changed):
        prev = resigned[-1].hash if resigned else rec.prev
        data = dict(rec.data)
        if rec.kind == "seal":
            blank = make_record(rec.seq, rec.ts, rec.run, rec.kind, seal_data(forger), prev)
            data = seal_data(forger, forger.sign(head_message(blank)))
        resigned.append(make_record(rec.seq, rec.ts, rec.run, rec.kind, data, prev))
    _write(run_dir, resigned)
    report = verify_journal(run_dir)
    assert report.first_bad is not None and "not a trusted key" in report.first_bad.reason
    # …unless the auditor is handed the forger's key as trusted: the key is the anchor.
    assert verify_journal(run_dir, trusted=[forger.public]).ok


def test_auditor_verifies_offline_with_the_public_key_alone(
    run_dir: Path, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "export.json"
    result = cli.invoke(isolate.cli.app, ["journal", "export", str(run_dir), "-f", "json", "-o", str(out)])
    assert result.exit_code == 0, result.output
    pub = tmp_path / "auditor" / "site.pub"
    pub.parent.mkdir()
    shutil.copy(public_path(Path(os.environ["ISOLATE_SIGNING_KEY"])), pub)
    shutil.rmtree(run_dir)
    monkeypatch.setenv("ISOLATE_SIGNING_KEY", str(tmp_path / "auditor" / "none.key"))  # no private key
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(out)])
    assert result.exit_code == 7 and "no trusted public key" in result.output
    result = cli.invoke(isolate.cli.app, ["journal", "verify", str(out), "--public-key", str(pub)])
    assert result.exit_code == 0, result.output
    assert "run complete (status restored)" in result.output
    assert not (tmp_path / "auditor" / "none.key").exists()  # verify never creates a key


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("run", "20260101T000000Z-000000", "the export's header names run"),
        ("journal_sha256", "0" * 64, "journal_sha256 is not the digest of its records"),
        ("exported_by", "isolate 9.9 (mallory@evil)", "header signature does not verify"),
        ("exported_at", "2020-01-01T00:00:00.000000Z", "header signature does not verify"),
        ("signature", None, "header is not signed"),
    ],
)
def test_export_headers_are_covered_by_the_signature(
    run_dir: Path, tmp_path: Path, field: str, value: object, reason: str
) -> None:
    from isolate.journal.export import render_export_json

    out = tmp_path / "export.json"
    out.write_text(render_export_json(read_journal(run_dir)))
    assert verify_journal(out).ok
    doc = json.loads(out.read_text())
    doc[field] = value
    out.write_text(json.dumps(doc))
    report = verify_journal(out)
    assert report.first_bad is not None and reason in report.first_bad.reason, report.summary()


def test_the_mirror_of_heads_catches_a_cut_at_a_session_boundary(
    make_run: RunFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner
) -> None:
    mirror = tmp_path / "heads.log"
    monkeypatch.setenv("ISOLATE_HEAD_MIRROR", f"file:{mirror}")
    run_dir = _two_sessions(make_run)
    heads = mirror.read_text().splitlines()
    assert len(heads) == 2
    assert all(h.startswith(f"isolate-journal-head run={run_dir.name} seq=") for h in heads)
    verify = ["journal", "verify", str(run_dir), "--mirror", str(mirror)]
    assert cli.invoke(isolate.cli.app, verify).exit_code == 0
    records = _records(run_dir)
    first_seal = next(r.seq for r in records if r.kind == "seal")
    _write(run_dir, records[: first_seal + 1])
    assert verify_journal(run_dir).ok  # the file alone cannot tell this one…
    result = cli.invoke(isolate.cli.app, verify)
    assert result.exit_code == 7  # …the mirror can
    assert f"has head seq {records[-1].seq}" in result.output
    assert "records were cut from its end" in result.output


def test_a_mirror_under_an_unknown_user_is_one_line_not_a_crash(
    make_run: RunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from isolate.journal.heads import mirror_head

    monkeypatch.setenv("ISOLATE_HEAD_MIRROR", "file:~no-such-user-isolate/heads.log")
    run_dir = _two_sessions(make_run)  # sealing still works: the mirror is best effort
    seal = next(r for r in reversed(_records(run_dir)) if r.kind == "seal")
    error = mirror_head(seal)
    assert error is not None and error.startswith("cannot mirror the head to file:~no-such-user-isolate/")
    assert "\n" not in error
    assert verify_journal(run_dir).ok
