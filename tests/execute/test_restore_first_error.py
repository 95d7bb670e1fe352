"""Restore keeps the FIRST error: when an inverse line hangs and the state read after it
fails too, the operator is told which inverse line failed (then that the read failed)."""

from __future__ import annotations

from pathlib import Path

from e2e import PLAYBOOKS, newest_run, read_all, records, run_cli

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")


def test_restore_reports_the_inverse_line_that_hung(lab: LabHandle, tmp_path: Path) -> None:
    inv = str(lab.state_dir / "inventory.yml")
    before = read_all(lab.state_dir, ["core2"])
    applied = run_cli("apply", "-i", inv, LATERAL, "--yes", state=tmp_path)
    assert applied.returncode == 0, applied.stderr
    # login + escalation + paging + state read (running-config, VLAN database, VTP status)
    # + configure terminal: the device hangs on
    # the first inverse lines, and the state read after them gets no answer either.
    set_fault(lab.state_dir, "core2", make_fault("hang-after", after=8))
    try:
        failed = run_cli("restore", "--yes", "--timeout", "3", state=tmp_path)
    finally:
        set_fault(lab.state_dir, "core2", make_fault("clear"))
    assert failed.returncode == 4, failed.stderr  # a restore gate failed
    lines = [line for line in failed.stderr.splitlines() if "core2: '" in line]
    first_then_read = "got no answer within 3 s (then reading the state back failed: "
    assert lines and first_then_read in lines[0], failed.stderr
    journal = records(newest_run(tmp_path))  # type: ignore[arg-type]
    restored = [r["data"] for r in journal if r["kind"] == "restored" and r["data"]["device"] == "core2"]
    assert restored and restored[0]["ok"] is False and "got no answer within 3 s" in restored[0]["message"]
    assert "then reading" not in restored[0]["message"]  # the journal keeps the first error alone
    again = run_cli("restore", "--yes", state=tmp_path)
    assert again.returncode == 0, again.stderr
    assert read_all(lab.state_dir, ["core2"]) == before
