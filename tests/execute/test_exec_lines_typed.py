"""Exec-mode lines are typed end to end (plan ``exec_after``, the journal intent's
``exec_after``, the batch the driver runs), and a journal written by an earlier version —
which spelled them ``@exec LINE`` inside the intent's ``forward`` — still verifies, reads
(status, journal show) and restores.

The earlier-version journal is the real journal of a revoke-vpn apply on the lab, rewritten
to the earlier spelling (``exec_after`` folded back into ``forward`` as ``@exec`` lines),
re-chained and re-sealed with the station's trusted key, as that version wrote it."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e import newest_run, read_all, records, run_cli

from isolate.journal import read_journal
from isolate.journal.heads import head_message, seal_data
from isolate.journal.records import Record, make_record
from isolate.journal.signing import load_signer
from isolate.lab.process import LabHandle

PLAYBOOK = """version: 1
name: revoke-alice
steps:
  - id: revoke-alice
    action: revoke-vpn
    targets: {users: [alice]}
"""
LOGOFF = "vpn-sessiondb logoff name alice noconfirm"


@pytest.fixture
def applied(lab: LabHandle, tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """(state dir, run dir, vpn1's state before) after a revoke-vpn apply of alice."""
    baseline = read_all(lab.state_dir, ["vpn1"])
    playbook = tmp_path / "revoke-alice.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    state = tmp_path / "state"
    inventory = str(lab.state_dir / "inventory.yml")
    plan = run_cli("plan", "-i", inventory, str(playbook), "--detail", state=state)
    assert plan.returncode == 0, plan.stderr
    assert f"    (exec) {LOGOFF}" in plan.stdout.splitlines(), plan.stdout
    done = run_cli("apply", "-i", inventory, str(playbook), "--yes", state=state)
    assert done.returncode == 0, done.stderr
    run = newest_run(state)
    assert run is not None
    return state, run, baseline


def test_exec_lines_travel_typed_through_plan_and_journal(
    lab: LabHandle, applied: tuple[Path, Path, dict[str, str]]
) -> None:
    state, run, baseline = applied
    intent = next(r["data"] for r in records(run) if r["kind"] == "intent")
    assert intent["forward"] == ["username alice attributes", "vpn-simultaneous-logins 0"]
    assert intent["exec_after"] == [LOGOFF]
    assert not any(line.startswith("@exec") for line in intent["forward"] + intent["inverse"])
    restored = run_cli("restore", "last", "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, ["vpn1"]) == baseline


def _to_earlier_spelling(run: Path) -> None:
    signer = load_signer()
    out: list[Record] = []
    for rec in read_journal(run).records:
        prev = out[-1].hash if out else rec.prev
        data = dict(rec.data)
        if rec.kind == "intent":
            data["forward"] = [*data["forward"], *(f"@exec {line}" for line in data.pop("exec_after"))]
        if rec.kind == "seal":
            blank = make_record(rec.seq, rec.ts, rec.run, "seal", seal_data(signer), prev)
            data = seal_data(signer, signer.sign(head_message(blank)))
        out.append(make_record(rec.seq, rec.ts, rec.run, rec.kind, data, prev))
    (run / "journal.jsonl").write_bytes(b"".join(r.line() for r in out))


def test_a_journal_of_an_earlier_version_verifies_reads_and_restores(
    lab: LabHandle, applied: tuple[Path, Path, dict[str, str]]
) -> None:
    state, run, baseline = applied
    _to_earlier_spelling(run)
    intent = next(r["data"] for r in records(run) if r["kind"] == "intent")
    assert intent["forward"][-1] == f"@exec {LOGOFF}" and "exec_after" not in intent
    verified = run_cli("journal", "verify", run.name, state=state)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    status = run_cli("status", "--json", state=state)
    assert status.returncode == 0, status.stderr
    shown = run_cli("journal", "show", run.name, state=state)
    assert shown.returncode == 0, shown.stderr
    assert "intent revoke-vpn: 2 forward then 1 exec-mode, 2 inverse command(s)" in shown.stdout
    assert f"           {LOGOFF}" in shown.stdout.splitlines()
    assert read_all(lab.state_dir, ["vpn1"]) != baseline
    restored = run_cli("restore", run.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, ["vpn1"]) == baseline
    assert run_cli("journal", "verify", run.name, state=state).returncode == 0
