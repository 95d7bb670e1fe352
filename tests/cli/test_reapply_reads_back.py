"""Applying the same playbook again keeps what an earlier run made only once it is read back on
the device, through the real CLI on the embedded lab. A switch that lost the quarantine (here
undone by hand with netmiko, as a reload without `write memory` would) is contained again by
the re-apply, which says so; the devices still contained are kept and not written to; one
restore brings every device back to its baseline. (--retry-failed: tests/cli/test_retry_failed.py.)"""

from __future__ import annotations

from pathlib import Path

from e2e import PLAYBOOKS, configure_by_hand, newest_run, read_all, records, run_cli

from isolate.lab.process import LabHandle

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
TOUCHED = ["acc3", "core2", "fw-edge", "fw-int", "vpn1"]


def test_a_lost_change_is_made_again_and_the_rest_kept(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = str(lab.state_dir / "inventory.yml")
    baseline = read_all(lab.state_dir, TOUCHED)
    first = run_cli("apply", "-i", inventory, LATERAL, "--yes", state=state)
    assert first.returncode == 0, first.stderr
    run = newest_run(state)
    assert run is not None
    contained = read_all(lab.state_dir, TOUCHED)
    intent = next(r["data"] for r in records(run)
                  if r["kind"] == "intent" and r["data"]["device"] == "acc3")
    configure_by_hand(lab.state_dir, "acc3", intent["inverse"])
    assert read_all(lab.state_dir, ["acc3"])["acc3"] == baseline["acc3"]

    checked = run_cli("apply", "-i", inventory, LATERAL, "--check", state=state)
    assert checked.returncode == 0, checked.stderr
    assert ("no longer on the device, to be made again: quarantine-infected@acc3 (made by run "
            in checked.stderr)
    assert read_all(lab.state_dir, ["acc3"])["acc3"] == baseline["acc3"], "--check sends nothing"

    again = run_cli("apply", "-i", inventory, LATERAL, "--yes", state=state)
    assert again.returncode == 0, again.stderr
    assert ("no longer on the device, made again: quarantine-infected@acc3 "
            f"(made by run {run.name}; now: VLAN 999 'ISOLATE-QUARANTINE' missing from the VLAN database; "
            "ACL ISOLATE-QUARANTINE-INFECTED missing or not 'deny ip any any'; "
            "GigabitEthernet1/0/4 (host ws-17) not in VLAN 999)\n") in again.stderr
    assert ("kept (made earlier, read back on the device): block-attacker@fw-edge, cut-smb@core2, "
            "cut-smb@fw-int, revoke-vpn@vpn1\n") in again.stderr
    second = newest_run(state)
    assert second is not None and second != run
    mine = records(second)
    assert {r["data"]["device"] for r in mine if r["kind"] == "intent"} == {"acc3"}
    kept = {r["data"]["device"]: r["data"].get("kept") for r in mine if r["kind"] == "precheck"}
    assert kept == {"acc3": {"quarantine-infected": False}, "core2": {"cut-smb": True},
                    "fw-edge": {"block-attacker": True}, "fw-int": {"cut-smb": True},
                    "vpn1": {"revoke-vpn": True}}
    assert read_all(lab.state_dir, TOUCHED) == contained, "contained again; the rest untouched"
    assert run_cli("journal", "verify", second.name, state=state).returncode == 0

    # nothing lost this time: every change is read back and kept, nothing is sent
    third = run_cli("apply", "-i", inventory, LATERAL, "--yes", state=state)
    assert third.returncode == 0, third.stderr
    assert "no longer on the device" not in third.stderr
    newest = newest_run(state)
    assert newest is not None
    assert not [r for r in records(newest) if r["kind"] == "intent"]

    restored = run_cli("restore", "--yes", state=state)  # the re-apply, then the runs it continued
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
