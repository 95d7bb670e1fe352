"""Restore after a re-apply that took over an earlier run's half-made change, through the real
CLI on the embedded lab: one `isolate restore last --yes` brings every device back to its
state before the first run (the re-apply, then the run it continued, each named); a take-over
whose undo the device refuses ends its run `failed` with a run-end, and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from e2e import newest_run, read_all, records, run_cli
from test_retry_failed import LATERAL, TOUCHED, _partial

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault


def _reapply(lab: LabHandle, state: Path) -> tuple[Path, Path]:
    first = _partial(lab, state)
    again = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", state=state)
    assert again.returncode == 0, again.stderr
    second = newest_run(state)
    assert second is not None and second != first
    assert records(second)[0]["data"]["options"]["taken_over"] == {"cut-smb@core2": first.name}
    return first, second


def test_one_restore_brings_back_the_state_before_the_first_run(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    first, second = _reapply(lab, state)

    dry = run_cli("restore", "--dry-run", state=state)
    assert dry.returncode == 0, dry.stderr
    headings = [line for line in dry.stdout.splitlines() if "restore run" in line]
    assert headings == [
        f"restore run {second.name} (ransomware-lateral, incident -, ok) (dry run: nothing is sent)",
        f"then restore run {first.name} (ransomware-lateral, incident -, partial), which run "
        f"{second.name} continued, (dry run)",
    ]
    as_json = json.loads(run_cli("restore", "--dry-run", "--json", state=state).stdout)
    assert (as_json["run"], [c["run"] for c in as_json["continued"]]) == (second.name, [first.name])

    restored = run_cli("restore", "last", "--yes", "--reason", "all clear", state=state)
    assert restored.returncode == 0, restored.stderr
    lines = [line for line in restored.stderr.splitlines() if line.startswith("restored run ")]
    assert [line.split(":")[0] for line in lines] == [
        f"restored run {second.name}", f"restored run {first.name}"]
    assert read_all(lab.state_dir, TOUCHED) == baseline
    for run in (first, second):
        [start] = [r["data"] for r in records(run) if r["kind"] == "restore-start"]
        assert start["reason"] == "all clear"
        assert run_cli("journal", "verify", run.name, state=state).returncode == 0
    done = run_cli("restore", "last", "--yes", state=state)
    assert (done.returncode, done.stdout) == (0, "nothing to restore: no run has changes left unrestored\n")


def test_only_this_run_restores_the_reapply_alone(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    first, second = _reapply(lab, state)
    alone = run_cli("restore", "last", "--only-this-run", "--yes", state=state)
    assert alone.returncode == 0, alone.stderr
    assert f"restored run {second.name}: " in alone.stderr and first.name not in alone.stderr
    assert first.name in run_cli("status", state=state).stdout
    rest = run_cli("restore", "last", "--yes", state=state)
    assert rest.returncode == 0, rest.stderr
    assert f"restored run {first.name}: " in rest.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_a_failed_takeover_ends_its_run(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    first = _partial(lab, state)
    during = read_all(lab.state_dir, TOUCHED)
    refuse_undo = make_fault("reject", pattern="^no ip access-list extended ISOLATE-CUT-SMB")
    set_fault(lab.state_dir, "core2", refuse_undo)
    try:
        again = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", state=state)
    finally:
        set_fault(lab.state_dir, "core2", make_fault("clear"))
    second = newest_run(state)
    assert second is not None and second != first
    assert again.returncode == 4, again.stderr
    assert again.stderr.splitlines()[-1] == (
        "error: re-apply stopped undoing what an earlier run left half-made: restore stopped at stage 1: "
        f"{again.stderr.split('restore stopped at stage 1: ')[-1].split('; nothing else')[0]}; nothing else "
        f"was sent: run {second.name} ended failed and the change is still run {first.name}'s "
        f"(fix the cause, then apply again, or isolate restore {first.name} --yes)")
    assert "core2: differs from its captured pre-state" in again.stderr
    kinds = [(r["kind"], r["data"].get("status")) for r in records(second)]
    assert kinds[-2:] == [("run-end", "failed"), ("seal", None)]
    assert not [k for k, _ in kinds if k == "intent"], "nothing of its own was sent"
    verified = run_cli("journal", "verify", second.name, state=state)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "NOT complete" not in verified.stdout and "no run-end" not in verified.stdout
    assert read_all(lab.state_dir, TOUCHED) == during

    status = run_cli("status", state=state).stdout
    assert first.name in status and second.name not in status
    dry = run_cli("restore", "--dry-run", state=state)
    assert dry.stdout.startswith(f"restore run {first.name} (ransomware-lateral, incident -, partial)")
    assert f"run {second.name} (ransomware-lateral, failed) changed nothing" in (
        run_cli("restore", second.name, "--yes", state=state).stdout)
    restored = run_cli("restore", "last", "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_restore_json_names_the_runs_it_continued(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    first, second = _reapply(lab, state)
    restored = run_cli("restore", "--yes", "--json", state=state)
    assert restored.returncode == 0, restored.stderr
    data = json.loads(restored.stdout)
    assert (data["run"], data["ok"], data["restored"]) == (second.name, True, ["core2"])
    [earlier] = data["continued"]
    assert (earlier["run"], earlier["ok"]) == (first.name, True)
    assert set(earlier["restored"]) == {"acc3", "fw-edge", "fw-int", "vpn1"}
    assert read_all(lab.state_dir, TOUCHED) == baseline
