"""Contain what can be contained, through the real CLI on the embedded lab: one access switch
hung (a lab fault), `apply --skip-unreachable --yes` contains everything else, exits 1
(partial), and the summary, the journal and the saved plan say what stayed open; without the
option the same apply changes nothing (exit 3). --exclude and --limit plan without devices."""

from __future__ import annotations

import json
from pathlib import Path

from e2e import PLAYBOOKS, newest_run, read_all, records, run_cli

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
OTHERS = ["core2", "fw-edge", "fw-int", "vpn1"]


def test_hung_switch_is_left_out_and_the_rest_contained(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = str(lab.state_dir / "inventory.yml")
    baseline = read_all(lab.state_dir, [*OTHERS, "acc3"])
    set_fault(lab.state_dir, "acc3", make_fault("hang-after", after=0))
    try:
        stuck = run_cli("apply", "-i", inventory, LATERAL, "--yes", "--timeout", "3", state=state)
        assert stuck.returncode == 3, stuck.stderr
        assert read_all(lab.state_dir, OTHERS) == {d: baseline[d] for d in OTHERS}

        done = run_cli("apply", "-i", inventory, LATERAL, "--yes", "--timeout", "3", "--skip-unreachable",
                       state=state)
    finally:
        set_fault(lab.state_dir, "acc3", make_fault("clear"))
    assert done.returncode == 1, done.stderr
    assert "stayed open (devices left out):" in done.stderr
    assert "  acc3 (unreachable at pre-check: acc3: " in done.stderr
    assert "): quarantine-infected: ports not quarantined: GigabitEthernet1/0/4 (ws-17)" in done.stderr
    assert ": partial in " in done.stderr
    during = read_all(lab.state_dir, [*OTHERS, "acc3"])
    assert all(during[d] != baseline[d] for d in OTHERS), "every reachable device was contained"
    assert during["acc3"] == baseline["acc3"]

    run = newest_run(state)
    assert run is not None
    excluded = [r for r in records(run) if r["kind"] == "excluded"]
    assert len(excluded) == 1 and excluded[0]["data"]["ok"] is True
    assert list(excluded[0]["data"]["devices"]) == ["acc3"]
    assert excluded[0]["data"]["skipped"] == [
        "step disable-accounts left out: the inventory has no directory (directory.devices)",
        "step quarantine-infected left out: acc3 left out of the plan",
    ]
    end = next(r for r in records(run) if r["kind"] == "run-end")["data"]
    assert end["status"] == "partial" and end["time_to_contain_s"] is not None
    saved = json.loads((run / "plan.json").read_text())
    assert [s["id"] for s in saved["steps"]] == ["cut-smb", "block-attacker", "revoke-vpn"]
    assert saved["excluded"][0]["device"] == "acc3"
    assert (run / "plan.before-skip.json").is_file()
    assert run_cli("journal", "verify", run.name, state=state).returncode == 0

    # the switch is back: applying the playbook again converges: only what is missing is done
    again = run_cli("apply", "-i", inventory, LATERAL, "--yes", "--timeout", "3", state=state)
    assert again.returncode == 0, again.stderr
    second = newest_run(state)
    assert second is not None and second != run
    assert {r["data"]["device"] for r in records(second) if r["kind"] == "intent"} == {"acc3"}
    start = records(second)[0]["data"]
    assert start["options"]["adopted"]["cut-smb@core2"] == run.name
    assert read_all(lab.state_dir, OTHERS) == {d: during[d] for d in OTHERS}
    assert "switchport access vlan 999" in read_all(lab.state_dir, ["acc3"])["acc3"]

    for _ in range(2):  # the second run, then the first: each undoes its own changes
        restored = run_cli("restore", "--yes", state=state)
        assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, [*OTHERS, "acc3"]) == baseline


def test_exclude_and_limit_plan_without_devices(lab: LabHandle, tmp_path: Path) -> None:
    inventory = str(lab.state_dir / "inventory.yml")
    planned = run_cli("plan", "-i", inventory, LATERAL, "--exclude", "fw-edge", "--json", state=tmp_path)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert "block-attacker" not in [s["id"] for s in plan["steps"]]
    assert plan["excluded"] == [{
        "device": "fw-edge", "reason": "--exclude", "steps": ["block-attacker"],
        "left_open": ["block-attacker: attacker prefixes not blocked: 100.64.0.66/32"],
    }]
    limited = run_cli("plan", "-i", inventory, LATERAL, "--limit", "role:core,fw-int", state=tmp_path)
    assert limited.returncode == 0, limited.stderr
    assert "left out: vpn1 (not in --limit); stays open:\n  revoke-vpn: VPN users not revoked: carol\n" in (
        limited.stdout
    )
    bad = run_cli("apply", "-i", inventory, LATERAL, "--exclude", "fw-edg", "--yes", state=tmp_path)
    assert bad.returncode == 2
    hint = "(did you mean 'fw-edge'?)"
    assert bad.stderr == f"error: --exclude fw-edg: no device 'fw-edg' in the inventory {hint}\n"
    bad = run_cli("plan", "-i", inventory, LATERAL, "--limit", "rack:1", state=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr == "error: --limit rack:1: expected DEVICE, group:NAME, role:NAME or tag:NAME\n"


def test_retry_failed_contains_the_device_left_out(lab: LabHandle, tmp_path: Path) -> None:
    """`--retry-failed` finishes the run the way the runbook says: the devices it left out
    (unreachable at pre-check) are done too, in the same run and journal. Before, it ran the
    narrowed plan, said `ok`, and the infected host's port stayed open."""
    state = tmp_path / "state"
    inventory = str(lab.state_dir / "inventory.yml")
    baseline = read_all(lab.state_dir, [*OTHERS, "acc3"])
    set_fault(lab.state_dir, "acc3", make_fault("hang-after", after=0))
    try:
        partial = run_cli("apply", "-i", inventory, LATERAL, "--yes", "--timeout", "3", "--skip-unreachable",
                          state=state)
    finally:
        set_fault(lab.state_dir, "acc3", make_fault("clear"))
    assert partial.returncode == 1, partial.stderr
    run = newest_run(state)
    assert run is not None
    (held,) = json.loads(run_cli("status", "--json", state=state).stdout)["contained"]
    (left,) = held["left_open"]  # status says what stayed open, not only what is contained
    assert left.startswith("acc3 (unreachable at pre-check: acc3: ")
    assert left.endswith("): quarantine-infected: ports not quarantined: GigabitEthernet1/0/4 (ws-17)")
    text = run_cli("status", state=state).stdout.splitlines()
    assert f"  stayed open (left out by --skip-unreachable): {left}" in text
    assert f"  once they answer: isolate apply --retry-failed {run.name} --yes" in text
    retried = run_cli("apply", "--retry-failed", run.name, "--yes", "--timeout", "10", state=state)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert newest_run(state) == run  # the same run and journal
    intents = [r["data"] for r in records(run) if r["kind"] == "intent"]
    assert [i["step"] for i in intents if i["device"] == "acc3"] == ["quarantine-infected"]
    assert "switchport access vlan 999" in read_all(lab.state_dir, ["acc3"])["acc3"]
    status = json.loads(run_cli("status", "--json", state=state).stdout)
    rows = {(row["device"], row["step"]): row["state"] for row in status["contained"][0]["devices"]}
    assert rows[("acc3", "quarantine-infected")] == "contained"
    assert "left_open" not in status["contained"][0]  # done since
    assert run_cli("journal", "verify", run.name, state=state).returncode == 0
    restored = run_cli("restore", run.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, [*OTHERS, "acc3"]) == baseline
