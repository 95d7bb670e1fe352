"""Restore that cannot surprise, through the real CLI on the embedded lab: `last` is the newest
run with changes left (a later no-change run is named and left alone), the dry run goes to
stdout and names the run, no terminal and no --yes is refused in one line, a no at the prompt
cancels (exit 8), --incident/--reason reach the journal's timeline, devices come back identical."""

from __future__ import annotations

import json
from pathlib import Path

from e2e import PLAYBOOKS, read_all, run_cli
from ttykit import run_on_tty

from isolate.lab.process import LabHandle

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
TOUCHED = ["acc3", "core2", "fw-edge", "fw-int", "vpn1"]


def _apply(lab: LabHandle, state: Path, *extra: str) -> str:
    done = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes",
                   "--set", "attacker=203.0.113.0/24", *extra, state=state)
    assert done.returncode == 0, done.stderr
    run: str = json.loads(run_cli("journal", "list", "--json", state=state).stdout)[-1]["run"]
    return run


def test_restore_last_skips_a_later_no_change_run(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    contained = _apply(lab, state)
    # a later run that changes nothing: its pre-checks find the first run's objects (exit 3)
    checked = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--check", state=state)
    assert checked.returncode == 3, checked.stderr

    dry = run_cli("restore", "--dry-run", state=state)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(f"restore run {contained} (ransomware-lateral, incident -, ok) (dry run")
    assert "  block-attacker on fw-edge: attacker prefixes reachable again: 203.0.113.0/24\n" in dry.stdout
    assert "  revoke-vpn on vpn1: VPN users can connect again: carol\n" in dry.stdout
    assert "ports leave quarantine: GigabitEthernet1/0/4 (ws-17) back to vlan 100" in dry.stdout
    assert "    no ip access-list extended ISOLATE-CUT-SMB" in dry.stdout
    as_json = json.loads(run_cli("restore", "--dry-run", "--json", state=state).stdout)
    assert as_json["run"] == contained and as_json["dry_run"] is True
    assert [s["stage"] for s in as_json["stages"]] == [1, 2, 3, 4]

    refused = run_cli("restore", state=state)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"error: not a terminal: restoring run {contained} re-opens what it contained; "
        "pass --yes to restore without asking\n"
    )
    assert read_all(lab.state_dir, TOUCHED) != baseline

    done = run_cli("restore", "last", "--yes", "--incident", "INC-9", "--reason", "all clear", state=state)
    assert done.returncode == 0, done.stderr
    left = "(ransomware-lateral, prechecks-failed) changed nothing: nothing to restore: left alone"
    assert left in done.stderr
    assert f"restored run {contained}: stages [1, 2, 3, 4]" in done.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
    shown = run_cli("journal", "show", contained, state=state)
    assert "stages [1, 2, 3, 4], incident INC-9: all clear" in shown.stdout, shown.stdout

    again = run_cli("restore", "--yes", state=state)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "nothing to restore: no run has changes left unrestored\n"
    named = run_cli("restore", contained, "--yes", state=state)
    assert named.returncode == 0
    assert named.stdout == f"run {contained} (ransomware-lateral) is already restored: nothing left to undo\n"
    assert run_cli("journal", "verify", contained, state=state).returncode == 0


def test_no_at_the_prompts_cancels_with_exit_8(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = str(lab.state_dir / "inventory.yml")
    code, shown = run_on_tty("apply", "-i", inventory, LATERAL, state=state, answer=b"n\n")
    assert code == 8, shown
    assert "Apply this plan now? [y/N]:" in shown
    assert shown.rstrip().endswith("\nApply cancelled."), shown[-200:]
    assert "[on fw-edge]:" in shown and "[on core2, fw-int]:" in shown  # not eaten as rich markup
    assert max(len(line) for line in shown.splitlines()) <= 80
    assert not (state / "runs").exists() or not any((state / "runs").iterdir())

    contained = _apply(lab, state)
    code, shown = run_on_tty("restore", state=state, answer=b"n\n")
    assert code == 8, shown
    assert f"restore run {contained} (ransomware-lateral, incident -, ok) re-opens:" in shown
    assert "revoke-vpn on vpn1: VPN users can connect again: carol" in shown
    assert "Restore now? [y/N]:" in shown
    assert shown.rstrip().endswith("\nRestore cancelled."), shown[-200:]
    assert run_cli("restore", "--yes", state=state).returncode == 0


def test_an_altered_plan_json_is_said_and_restore_still_undoes_the_journal(
    lab: LabHandle, tmp_path: Path
) -> None:
    """The operator's words come from plan.json only when it hashes to run-start's digest; an
    altered one is named, and restore (which undoes the journal, not the plan) goes on."""
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    contained = _apply(lab, state)
    plan = state / "runs" / contained / "plan.json"
    plan.write_text(plan.read_text().replace("203.0.113.0/24", "198.51.100.0/24"))
    dry = run_cli("restore", "--dry-run", state=state)
    assert dry.returncode == 0, dry.stderr
    assert "  block-attacker on fw-edge: its change is undone\n" in dry.stdout
    assert "reachable again" not in dry.stdout
    said = f"  (what each step re-opens is not said: {plan}: altered since it was journaled (run-start "
    assert said in dry.stdout
    done = run_cli("restore", "last", "--yes", state=state)
    assert done.returncode == 0, done.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
