"""apply → restore on the embedded lab, through the CLI, checked by reading devices back with
netmiko and paramiko: exact restore, crash safety (SIGKILL), locks, device faults, secrets."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import (
    PLAYBOOKS,
    kill_when,
    lab_inventory,
    newest_run,
    read_all,
    records,
    run_cli,
    start_cli,
    wait_for_record,
)

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
TOUCHED = ["acc3", "core2", "fw-edge", "fw-int", "vpn1"]


@pytest.fixture(scope="module")
def baseline(lab: LabHandle) -> dict[str, str]:
    return read_all(lab.state_dir, TOUCHED)


@pytest.fixture()
def state(tmp_path: Path, lab: LabHandle, baseline: dict[str, str]) -> Iterator[Path]:
    """A fresh state dir per test; afterwards the lab must be back at its baseline."""
    set_fault(lab.state_dir, "core2", make_fault("clear"))
    yield tmp_path / "state"
    for name in TOUCHED:
        set_fault(lab.state_dir, name, make_fault("clear"))
    if read_all(lab.state_dir, TOUCHED) != baseline:
        run_cli("restore", "last", "--yes", state=tmp_path / "state")


def inv(lab: LabHandle) -> str:
    return str(lab.state_dir / "inventory.yml")


def test_apply_then_restore_leaves_every_device_byte_identical(
    lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    applied = run_cli(
        "apply", "-i", inv(lab), LATERAL, "--yes", "--incident", "INC-7", "--reason", "drill", state=state
    )
    assert applied.returncode == 0, applied.stderr
    during = read_all(lab.state_dir, TOUCHED)
    assert all(during[name] != baseline[name] for name in TOUCHED), "every touched device changed"
    assert "ip access-group ISOLATE-CUT-SMB in" in during["core2"]
    assert "switchport access vlan 999" in during["acc3"]
    assert "table inet isolate_block_attacker" in during["fw-edge"]

    status = run_cli("status", "--json", state=state)
    contained = json.loads(status.stdout)["contained"]
    assert {row["device"] for row in contained[0]["devices"]} == set(TOUCHED)

    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline

    again = run_cli("restore", "--yes", state=state)
    assert again.returncode == 0, again.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
    verify = run_cli("journal", "verify", "last", state=state)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "head signed by key " in verify.stdout and "run complete (status restored)" in verify.stdout
    assert json.loads(run_cli("status", "--json", state=state).stdout)["contained"] == []


def test_check_mode_changes_nothing(lab: LabHandle, baseline: dict[str, str], state: Path) -> None:
    result = run_cli("apply", "-i", inv(lab), LATERAL, "--check", state=state)
    assert result.returncode == 0, result.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
    kinds = {r["kind"] for r in records(newest_run(state))}  # type: ignore[arg-type]
    assert "precheck" in kinds and "intent" not in kinds


def _is(record: dict[str, Any], kind: str, device: str) -> bool:
    return bool(record["kind"] == kind and record["data"].get("device") == device)


def _intent_on(device: str) -> Any:
    return lambda r: r["kind"] == "intent" and r["data"]["device"] == device


KILL_POINTS = {
    "after-run-start": (None, lambda r: r["kind"] == "run-start"),
    "after-a-precheck": (None, lambda r: r["kind"] == "precheck"),
    "mid-batch": ("core2", _intent_on("core2")),
    "after-applied": (None, lambda r: r["kind"] == "applied"),
    "after-verified": (None, lambda r: r["kind"] == "verified"),
    "between-steps": (None, lambda r: r["kind"] == "step-end" and r["data"]["step"] == "block-attacker"),
    "in-last-step": (None, _intent_on("vpn1")),
}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_sigkill_at_any_point_then_restore_brings_every_device_back(
    point: str, lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    hang_device, predicate = KILL_POINTS[point]
    if hang_device:  # the device stops answering mid-batch: the kill lands inside the push
        set_fault(lab.state_dir, hang_device, make_fault("hang-after", after=20))
    proc = start_cli("apply", "-i", inv(lab), LATERAL, "--yes", "--timeout", "60", state=state)
    kill_when(proc, state, predicate)
    set_fault(lab.state_dir, hang_device or "core2", make_fault("clear"))
    run_dir = newest_run(state)
    assert run_dir is not None
    if records(run_dir)[-1]["kind"] != "seal":  # (the last kill point may land after the run ended)
        unsealed = run_cli("journal", "verify", run_dir.name, state=state)
        assert unsealed.returncode == 7, unsealed.stdout  # the dead writer never signed a head
        assert "without a signed head" in unsealed.stdout or "has no outcome" in unsealed.stdout
    restored = run_cli("restore", run_dir.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
    second = run_cli("restore", run_dir.name, "--yes", state=state)
    assert second.returncode == 0, second.stderr
    verify = run_cli("journal", "verify", run_dir.name, state=state)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert not list(Path(os.environ["ISOLATE_LOCK_DIR"]).glob("*.lock")), "the dead run's locks were released"


def test_sigkill_during_restore_then_restore_again(
    lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    assert run_cli("apply", "-i", inv(lab), LATERAL, "--yes", state=state).returncode == 0
    proc = start_cli("restore", "--yes", state=state)
    kill_when(proc, state, lambda r: r["kind"] == "restore-intent" and r["data"]["device"] == "acc3")
    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_second_apply_on_overlapping_devices_is_refused(lab: LabHandle, state: Path) -> None:
    set_fault(lab.state_dir, "core2", make_fault("slow", delay=0.3))
    first = start_cli("apply", "-i", inv(lab), LATERAL, "--yes", state=state)
    try:
        wait_for_record(first, state, lambda r: r["kind"] == "run-start")
        second = run_cli("apply", "-i", inv(lab), LATERAL, "--yes", state=state)
        assert second.returncode == 5, second.stderr
        line = second.stderr.strip().splitlines()[-1]
        assert "is locked by run" in line and "pid" in line
    finally:
        first.wait(timeout=300)
    set_fault(lab.state_dir, "core2", make_fault("clear"))
    assert run_cli("restore", "--yes", state=state).returncode == 0


def test_two_state_dirs_share_the_site_locks(lab: LabHandle, baseline: dict[str, str], state: Path) -> None:
    """Invariant 8 across operators: a second apply with another state directory is refused."""
    set_fault(lab.state_dir, "core2", make_fault("hang-after", after=20))
    first = start_cli("apply", "-i", inv(lab), LATERAL, "--yes", "--timeout", "300", state=state)
    try:
        holder = wait_for_record(first, state, _intent_on("core2"))
        other = state.parent / "other-operator"
        second = run_cli("apply", "-i", inv(lab), LATERAL, "--yes", state=other)
        assert second.returncode == 5, second.stdout + second.stderr
        line = second.stderr.strip().splitlines()[-1]
        assert f"is locked by run {holder['run']} (pid {first.pid}" in line, line
        assert f"state dir {state.resolve()}" in line, line
        assert not (other / "runs").exists() or not any((other / "runs").iterdir())
    finally:
        first.kill()
        first.wait()
        for stream in (first.stdout, first.stderr):
            if stream:
                stream.close()
    set_fault(lab.state_dir, "core2", make_fault("clear"))
    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_auth_failure_stops_before_any_change(lab: LabHandle, baseline: dict[str, str], state: Path) -> None:
    set_fault(lab.state_dir, "core2", make_fault("auth-fail"))
    result = run_cli("apply", "-i", inv(lab), LATERAL, "--yes", state=state)
    assert result.returncode == 3, result.stderr
    assert "core2: authentication failed for user 'admin'" in result.stderr
    set_fault(lab.state_dir, "core2", make_fault("clear"))
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_rejected_command_names_device_and_command(lab: LabHandle, state: Path) -> None:
    set_fault(lab.state_dir, "core2", make_fault("reject", pattern=r"ip access-group"))
    result = run_cli("apply", "-i", inv(lab), LATERAL, "--yes", state=state)
    assert result.returncode == 1, result.stderr  # partial: cut-smb's policy is continue
    assert (
        "core2: 'ip access-group ISOLATE-CUT-SMB in' rejected: % Invalid input detected at '^' marker."
        in result.stderr
    )
    failed = [r for r in records(newest_run(state)) if r["kind"] == "failed"]  # type: ignore[arg-type]
    assert failed and failed[0]["data"]["device"] == "core2" and failed[0]["data"]["state"], (
        "the failed device is flagged with its exact state read back"
    )
    set_fault(lab.state_dir, "core2", make_fault("clear"))
    assert run_cli("restore", "--yes", state=state).returncode == 0


def test_connection_dropped_mid_batch_is_flagged_and_restorable(
    lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    # login, paging, the state read (running-config, VLAN database, VTP status), configure
    # terminal: the 10th line is the first of the batch
    set_fault(lab.state_dir, "acc3", make_fault("drop-after", after=10))
    result = run_cli("apply", "-i", inv(lab), LATERAL, "--yes", state=state)
    assert result.returncode == 1, result.stderr
    flagged = [line for line in result.stderr.splitlines() if line.startswith("✗ acc3: ")]
    assert len(flagged) == 1, result.stderr
    assert flagged[0].startswith(  # the batch's outcome is unknown: the lines up to 'vlan 999' may have run
        "✗ acc3: in flight (unknown): connection lost during 'vlan 999': Connection lost; may have run 1 of "
    ), flagged
    set_fault(lab.state_dir, "acc3", make_fault("clear"))
    assert run_cli("restore", "--yes", state=state).returncode == 0
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_a_linux_connection_drop_is_told_apart_from_a_refusal(
    lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    set_fault(lab.state_dir, "fw-int", make_fault("drop-on", pattern=r"nft -f -"))
    result = run_cli("apply", "-i", inv(lab), LATERAL, "--yes", state=state)
    assert result.returncode == 1, result.stdout + result.stderr
    flagged = [line for line in result.stderr.splitlines() if line.startswith("✗ fw-int: ")]
    assert len(flagged) == 1, result.stderr
    assert flagged[0].startswith(
        "✗ fw-int: in flight (unknown): connection dropped during 'sudo -n nft -f -' (no exit status"
    ), flagged[0]
    assert "rejected" not in flagged[0] and "no error text" not in result.stderr
    journal = records(newest_run(state))  # type: ignore[arg-type]
    failed = next(r["data"] for r in journal if r["kind"] == "failed" and r["data"]["device"] == "fw-int")
    forward = next(r["data"]["forward"] for r in journal if _is(r, "intent", "fw-int"))
    assert (failed["phase"], failed["outcome"], failed["may_have_run"]) == ("in-flight", "unknown", forward)
    assert failed["state"] is not None  # the device answered: its state was read back once
    shown = run_cli("journal", "show", "last", state=state).stdout
    assert "failed fw-int/cut-smb: fw-int: in flight (unknown): connection dropped" in shown
    set_fault(lab.state_dir, "fw-int", make_fault("clear"))
    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_secrets_never_reach_journal_or_output(lab: LabHandle, state: Path) -> None:
    _, secrets = lab_inventory(lab.state_dir)
    outputs = [
        run_cli("apply", "-i", inv(lab), LATERAL, "--yes", state=state),
        run_cli("journal", "show", "last", state=state),
        run_cli("restore", "--yes", state=state),
    ]
    run_dir = newest_run(state)
    assert run_dir is not None
    blobs = [o.stdout + o.stderr for o in outputs]
    blobs += [p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file()]
    for secret in (secrets["password"], secrets["enable"]):
        assert all(secret not in blob for blob in blobs)


def test_resume_continues_a_run_that_died_mid_batch(
    lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    set_fault(lab.state_dir, "core2", make_fault("hang-after", after=20))
    proc = start_cli("apply", "-i", inv(lab), LATERAL, "--yes", "--timeout", "60", state=state)
    kill_when(proc, state, _intent_on("core2"))
    set_fault(lab.state_dir, "core2", make_fault("clear"))
    run_dir = newest_run(state)
    assert run_dir is not None
    resumed = run_cli("apply", "--resume", run_dir.name, "--yes", state=state)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    journal = records(run_dir)
    assert journal[-2]["kind"] == "run-end" and journal[-2]["data"]["status"] == "ok"
    assert journal[-1]["kind"] == "seal"  # the resuming process signed its head
    verified = {
        (r["data"]["step"], r["data"]["device"])
        for r in journal
        if r["kind"] == "verified" and r["data"]["ok"]
    }
    assert {("cut-smb", "core2"), ("cut-smb", "fw-int"), ("revoke-vpn", "vpn1")} <= verified
    during = read_all(lab.state_dir, TOUCHED)
    assert all(during[name] != baseline[name] for name in TOUCHED)
    assert run_cli("journal", "verify", run_dir.name, state=state).returncode == 0
    assert run_cli("restore", run_dir.name, "--yes", state=state).returncode == 0
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_device_that_hangs_mid_batch_is_flagged_naming_the_line(
    lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    set_fault(lab.state_dir, "core2", make_fault("hang-after", after=20))
    result = run_cli("apply", "-i", inv(lab), LATERAL, "--yes", "--timeout", "5", state=state)
    assert result.returncode == 1, result.stderr  # partial: cut-smb's policy is continue
    flagged = [line for line in result.stderr.splitlines() if line.startswith("✗ core2: ")]
    assert len(flagged) == 1 and "got no answer within 5 s" in flagged[0], result.stderr
    assert "'deny " in flagged[0] or "'permit " in flagged[0] or "'ip access-list" in flagged[0]
    # An unknown outcome, not a failure: and one timeout, the hung device is not asked again.
    assert flagged[0].startswith("✗ core2: in flight (unknown): '"), flagged[0]
    assert "(state not read back: the device did not answer; restore reads it back)" in flagged[0]
    assert "state unreadable afterwards" not in result.stderr
    journal = records(newest_run(state))  # type: ignore[arg-type]
    failed = [r for r in journal if r["kind"] == "failed"]
    assert [r["data"]["device"] for r in failed] == ["core2"]
    data = failed[0]["data"]
    assert (data["phase"], data["outcome"], data["state"]) == ("in-flight", "unknown", None)
    forward = next(r["data"]["forward"] for r in journal if _is(r, "intent", "core2"))
    assert data["may_have_run"] == forward[: len(data["may_have_run"])] and data["may_have_run"]
    assert f"may have run {len(data['may_have_run'])} of {len(forward)} command(s)" in flagged[0]
    status = json.loads(run_cli("status", "--json", state=state).stdout)
    rows = {row["device"]: row for row in status["contained"][0]["devices"]}
    assert rows["core2"]["state"] == "in flight (unknown)"
    assert rows["core2"]["may_have_run"] == data["may_have_run"]
    set_fault(lab.state_dir, "core2", make_fault("clear"))
    assert run_cli("restore", "--yes", state=state).returncode == 0
    assert read_all(lab.state_dir, TOUCHED) == baseline
