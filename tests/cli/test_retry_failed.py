"""Finishing a partial apply, through the real CLI on the embedded lab: one device refuses a
line (lab fault), the run ends partial (exit 1); `apply --retry-failed RUN` brings that change
back to its pre-state and redoes only it (the devices the run verified are not touched again);
restore then brings every device back identical; the journal verifies. Or the same playbook is
applied again: the new run first brings that device back to the earlier run's captured
pre-state (journaled in the new run), then makes the change; each run restores its own. A
change the run verified that is no longer on its device (undone by hand) is made again by the
retry, which says so."""

from __future__ import annotations

from pathlib import Path

from e2e import PLAYBOOKS, configure_by_hand, newest_run, read_all, records, run_cli

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
TOUCHED = ["acc3", "core2", "fw-edge", "fw-int", "vpn1"]


def test_retry_failed_redoes_only_the_failed_device(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    run = _partial(lab, state)
    during = read_all(lab.state_dir, TOUCHED)
    assert "ip access-group ISOLATE-CUT-SMB in" not in during["core2"]

    ended = run_cli("apply", "--resume", run.name, "--yes", state=state)
    assert ended.returncode == 2
    assert f"isolate apply --retry-failed {run.name} redoes its failed devices" in ended.stderr

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
    ends = [r["data"] for r in records(run) if r["kind"] == "run-end"]
    assert [e["status"] for e in ends] == ["partial", "ok"]
    # the run's time to contain counts from its start: the partial first go included
    assert ends[1]["time_to_contain_s"] > ends[0]["duration_s"]
    assert ends[1]["duration_s"] >= ends[1]["time_to_contain_s"]

    again = run_cli("apply", "--retry-failed", run.name, "--yes", state=state)
    assert again.returncode == 2
    assert again.stderr == f"error: run {run.name} ended ok: no failed device to retry\n"
    # applying the playbook again (the runbook's "be sure") keeps every change, core2's redone one
    # included: the retry's roll-back before the redo is not a restore of the run
    sure = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", state=state)
    assert sure.returncode == 0, sure.stdout + sure.stderr
    reapply = newest_run(state)
    assert reapply is not None and reapply != run
    assert records(reapply)[0]["data"]["options"]["adopted"]["cut-smb@core2"] == run.name
    assert read_all(lab.state_dir, TOUCHED) == now
    for _ in range(2):  # the re-apply, then the run: each undoes its own changes
        restored = run_cli("restore", "--yes", state=state)
        assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def _partial(lab: LabHandle, state: Path) -> Path:
    set_fault(lab.state_dir, "core2", make_fault("reject", pattern="^ip access-group ISOLATE-CUT-SMB"))
    try:
        partial = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", state=state)
    finally:
        set_fault(lab.state_dir, "core2", make_fault("clear"))
    assert partial.returncode == 1, partial.stderr
    assert "core2: 'ip access-group ISOLATE-CUT-SMB in' rejected" in partial.stderr
    run = newest_run(state)
    assert run is not None
    return run


def test_reapply_after_a_refused_line_converges(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    first = _partial(lab, state)
    during = read_all(lab.state_dir, TOUCHED)
    assert "ip access-list extended ISOLATE-CUT-SMB" in during["core2"]  # half-made

    again = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", state=state)
    assert again.returncode == 0, again.stderr
    second = newest_run(state)
    assert second is not None and second != first
    mine = records(second)
    assert mine[0]["data"]["options"]["taken_over"] == {"cut-smb@core2": first.name}
    assert "cut-smb@fw-int" in mine[0]["data"]["options"]["adopted"]
    kinds = [(r["kind"], r["data"].get("device")) for r in mine]
    # the earlier run's inverse, journaled here before it is sent, then this run's own change
    assert kinds.index(("restore-intent", "core2")) < kinds.index(("intent", "core2"))
    back = next(r["data"] for r in mine if r["kind"] == "restore-intent")
    inverse = next(r["data"]["inverse"] for r in records(first) if r["kind"] == "intent"
                   and r["data"]["device"] == "core2" and r["data"]["step"] == "cut-smb")
    assert back["commands"] == inverse
    assert (second / "state" / f"{back['target_state']}.txt").is_file()
    assert {r["data"]["device"] for r in mine if r["kind"] == "intent"} == {"core2"}
    now = read_all(lab.state_dir, TOUCHED)
    assert "ip access-group ISOLATE-CUT-SMB in" in now["core2"]
    assert all(now[d] == during[d] for d in TOUCHED if d != "core2"), "adopted devices untouched"
    for run in (first, second):
        assert run_cli("journal", "verify", run.name, state=state).returncode == 0

    # restoring the earlier run first leaves core2 (now the re-apply's) alone
    older = run_cli("restore", first.name, "--yes", state=state)
    assert older.returncode == 0, older.stderr
    assert not [r for r in records(first) if r["kind"] == "restore-intent" and r["data"]["device"] == "core2"]
    rest = read_all(lab.state_dir, TOUCHED)
    assert rest["core2"] == now["core2"]
    assert all(rest[d] == baseline[d] for d in TOUCHED if d != "core2")
    last = run_cli("restore", "last", "--yes", state=state)
    assert last.returncode == 0, last.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
    done = run_cli("restore", "last", "--yes", state=state)
    assert done.returncode == 0, done.stderr
    assert "nothing to restore" in done.stdout + done.stderr
    for run in (first, second):
        assert run_cli("journal", "verify", run.name, state=state).returncode == 0


def test_reapply_then_restore_last_twice_is_the_baseline(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    first = _partial(lab, state)
    again = run_cli("apply", "-i", str(lab.state_dir / "inventory.yml"), LATERAL, "--yes", state=state)
    assert again.returncode == 0, again.stderr
    second = newest_run(state)
    assert second is not None
    for run in (second, first):  # newest first: each undoes its own changes
        restored = run_cli("restore", "--only-this-run", "--yes", state=state)
        assert restored.returncode == 0, restored.stderr
        assert run.name in restored.stdout + restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
    assert not [r for r in records(first) if r["kind"] == "restore-intent" and r["data"]["device"] == "core2"]


def test_retry_failed_makes_a_lost_change_again(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    baseline = read_all(lab.state_dir, TOUCHED)
    run = _partial(lab, state)
    intent = next(r["data"] for r in records(run)
                  if r["kind"] == "intent" and r["data"]["device"] == "acc3")
    configure_by_hand(lab.state_dir, "acc3", intent["inverse"])

    first = len(records(run))
    retried = run_cli("apply", "--retry-failed", run.name, "--yes", state=state)
    assert retried.returncode == 0, retried.stderr
    assert (f"no longer on the device, made again: quarantine-infected@acc3 (made by run {run.name}; "
            "now: VLAN 999 'ISOLATE-QUARANTINE' missing from the VLAN database; ") in retried.stderr
    assert "kept (made earlier, read back on the device): block-attacker@fw-edge, cut-smb@fw-int, " \
        "revoke-vpn@vpn1\n" in retried.stderr
    after = records(run)[first:]
    assert {r["data"]["device"] for r in after if r["kind"] == "intent"} == {"acc3", "core2"}
    now = read_all(lab.state_dir, TOUCHED)
    assert "switchport access vlan 999" in now["acc3"]
    assert "ip access-group ISOLATE-CUT-SMB in" in now["core2"]
    assert run_cli("journal", "verify", run.name, state=state).returncode == 0

    restored = run_cli("restore", run.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_a_check_is_never_retried_into_a_containment(lab: LabHandle, tmp_path: Path) -> None:
    """`apply --check` whose pre-checks failed (a device refused the login): `--retry-failed`
    and `--resume` of it are refused, exit 2; they pushed the whole playbook before, under a
    journal that called it a check with no incident nor reason."""
    state = tmp_path / "state"
    inventory = str(lab.state_dir / "inventory.yml")
    before = read_all(lab.state_dir, ["vpn1", "core2"])
    set_fault(lab.state_dir, "vpn1", make_fault("auth-fail"))
    try:
        check = run_cli("apply", "-i", inventory, LATERAL, "--check", state=state)
    finally:
        set_fault(lab.state_dir, "vpn1", make_fault("clear"))
    assert check.returncode == 3, check.stderr
    run = newest_run(state)
    assert run is not None
    for how in ("--retry-failed", "--resume"):
        again = run_cli("apply", how, run.name, "--yes", state=state)
        assert again.returncode == 2, (how, again.stdout, again.stderr)
        assert again.stderr.splitlines()[-1] == (
            f"error: run {run.name} was a check (apply --check): it was to change nothing, so there is "
            "nothing to resume or retry; to contain, apply the playbook (without --check)"
        ), how
    assert read_all(lab.state_dir, ["vpn1", "core2"]) == before
    assert [r["kind"] for r in records(run)].count("intent") == 0
