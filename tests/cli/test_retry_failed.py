"""Finishing a partial apply, through the real CLI on the embedded lab: one device refuses a
line (lab fault), the run ends partial (exit 1); `apply --retry-failed RUN` brings that change
back to its pre-state and redoes only it (the devices the run verified are not touched again);
restore then brings every device back identical; the journal verifies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import PLAYBOOKS, newest_run, read_all, records, run_cli

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault, start_lab

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
TOUCHED = ["acc3", "core2", "fw-edge", "fw-int", "vpn1"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), "city")
    try:
        yield handle
    finally:
        handle.stop()


def test_retry_failed_redoes_only_the_failed_device(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    set_fault(lab.state_dir, "core2", make_fault("reject", pattern="^ip access-group ISOLATE-CUT-SMB"))
    try:
        partial = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", state=state)
    finally:
        set_fault(lab.state_dir, "core2", make_fault("clear"))
    assert partial.returncode == 1, partial.stderr
    assert "core2: 'ip access-group ISOLATE-CUT-SMB in' rejected" in partial.stderr
    run = newest_run(state)
    assert run is not None
    during = read_all(lab.state_dir, TOUCHED)
    assert "ip access-group ISOLATE-CUT-SMB in" not in during["core2"]

    ended = run_cli("apply", "--resume", run.name, "--yes", state=state)
    assert ended.returncode == 2
    assert f"isolate apply --retry-failed {run.name} redoes its failed devices" in ended.stderr

    again = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", state=state)
    assert again.returncode == 3, again.stderr
    newest = newest_run(state)
    assert newest is not None
    core2 = next(r["data"]["message"] for r in records(newest) if r["kind"] == "precheck"
                 and r["data"]["device"] == "core2")
    assert core2 == (
        f"core2: step 'cut-smb': ACL ISOLATE-CUT-SMB already exists (left by run {run.name} (partial): "
        f"restore it (isolate restore {run.name} --yes) or finish it (isolate apply --retry-failed "
        f"{run.name} --yes))"
    )

    first = len(records(run))
    retried = run_cli("apply", "--retry-failed", run.name, "--yes", state=state)
    assert retried.returncode == 0, retried.stderr
    after = records(run)[first:]
    assert {r["data"]["device"] for r in after if r["kind"] == "intent"} == {"core2"}
    assert {r["data"]["device"] for r in after if r["kind"] == "restore-intent"} == {"core2"}
    resumed = next(r["data"] for r in after if r["kind"] == "resume-start")
    assert "cut-smb@fw-int" in resumed["done"] and "block-attacker@fw-edge" in resumed["done"]
    now = read_all(lab.state_dir, TOUCHED)
    assert "ip access-group ISOLATE-CUT-SMB in" in now["core2"]
    assert all(now[d] == during[d] for d in TOUCHED if d != "core2"), "verified devices untouched"
    assert run_cli("journal", "verify", run.name, state=state).returncode == 0

    again = run_cli("apply", "--retry-failed", run.name, "--yes", state=state)
    assert again.returncode == 2
    assert again.stderr == f"error: run {run.name} ended ok: no failed device to retry\n"
    restored = run_cli("restore", run.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
