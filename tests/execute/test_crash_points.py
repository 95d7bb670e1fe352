"""A SIGKILL at every record boundary of a real apply and of its restore, then `isolate restore`.

The kill is not timer-polled: the journal writer's crash-test hook
(``ISOLATE_CRASH_AT_RECORD=N``, isolate/journal/writer.py) makes the process SIGKILL itself
instead of writing record N, every earlier record durable, so each case proves the kill
happened after record N-1 and before record N. A reference apply + restore lists the
boundaries (every record kind such a run writes); each case must end with `isolate restore`
exit 0 and every device read back (netmiko, paramiko) identical to its baseline, never 70.
One lab is shared by every case; the playbook is two steps on two devices to keep it short.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from e2e import isolate_cmd, newest_run, read_all, records

from isolate.lab.process import LabHandle

TOUCHED = ["acc3", "fw-edge"]
PLAYBOOK = """\
version: 1
name: crash-points
defaults: {policy: abort, timeout: 60}
steps:
  - id: block-attacker
    action: edge-block
    targets: {tags: [attacker]}
  - id: quarantine-infected
    action: quarantine
    targets: {tags: [infected]}
    params: {vlan: 999}
"""


@pytest.fixture(scope="module")
def baseline(lab: LabHandle) -> dict[str, str]:
    return read_all(lab.state_dir, TOUCHED)


@pytest.fixture(scope="module")
def playbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("playbook") / "crash-points.yml"
    path.write_text(PLAYBOOK, encoding="utf-8")
    return path


def _run(
    state: Path, *args: str, crash_at: int | None = None, torn: bool = False, crash_kind: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state), "ISOLATE_LOCK_DIR": str(state / "locks")}
    env.pop("ISOLATE_CRASH_AT_RECORD", None)
    env.pop("ISOLATE_CRASH_AT_KIND", None)
    if crash_at is not None:
        env["ISOLATE_CRASH_AT_RECORD"] = str(crash_at)
        env["ISOLATE_CRASH_TORN"] = "1" if torn else "0"
    if crash_kind is not None:
        env["ISOLATE_CRASH_AT_KIND"] = crash_kind
        env["ISOLATE_CRASH_TORN"] = "0"
    return subprocess.run(isolate_cmd(*args), capture_output=True, text=True, env=env, timeout=300,
                          stdin=subprocess.DEVNULL, check=False)


def _apply(
    lab: LabHandle, playbook: Path, state: Path, *options: str, **crash: object
) -> subprocess.CompletedProcess[str]:
    inventory = str(lab.state_dir / "inventory.yml")
    return _run(state, "apply", "-i", inventory, str(playbook), "--yes", "--reason", "crash test",
                *options, **crash)  # type: ignore[arg-type]


def _kinds(state: Path) -> list[str]:
    run = newest_run(state)
    assert run is not None
    return [r["kind"] for r in records(run)]


@pytest.fixture(scope="module")
def reference(lab: LabHandle, baseline: dict[str, str], playbook: Path,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str]]:
    """The record kinds of an uninterrupted apply, then of its restore."""
    state = tmp_path_factory.mktemp("reference")
    applied = _apply(lab, playbook, state)
    assert applied.returncode == 0, applied.stderr
    apply_kinds = _kinds(state)
    restored = _run(state, "restore", "last", "--yes")
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline
    return apply_kinds, _kinds(state)[len(apply_kinds):]


def _killed(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == -signal.SIGKILL


def _restore_until_back(state: Path, lab: LabHandle, baseline: dict[str, str], where: str) -> list[str]:
    """`isolate restore last` must exit 0 and bring every device back; problems, if any."""
    result = _run(state, "restore", "last", "--yes")
    problems = []
    if result.returncode != 0:
        problems.append(f"{where}: restore exit {result.returncode}: {result.stderr.strip()[-300:]}")
    if read_all(lab.state_dir, TOUCHED) != baseline:
        problems.append(f"{where}: devices differ from baseline after restore")
        _run(state, "restore", "last", "--yes")
    if list((state / "locks").glob("*.lock")):
        problems.append(f"{where}: the dead run's device locks are still held")
    return problems


def test_reference_run_writes_every_kind(reference: tuple[list[str], list[str]]) -> None:
    apply_kinds, restore_kinds = reference
    assert apply_kinds[0] == "run-start"
    assert {"precheck", "intent", "applied", "verified", "step-end", "run-end"} <= set(apply_kinds)
    assert restore_kinds[0] == "restore-start"
    assert {"restore-intent", "restored", "gate", "restore-end"} <= set(restore_kinds)


def test_every_record_of_a_real_run_fits_its_kinds_model(
    lab: LabHandle, playbook: Path, reference: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    from isolate.journal import read_journal
    from isolate.journal.schema import RestoreStart, typed

    state = tmp_path / "state"
    assert _apply(lab, playbook, state).returncode == 0
    restored = _run(state, "restore", "last", "--yes", "--reason", "all clear", "--incident", "INC-9")
    assert restored.returncode == 0, restored.stderr
    run = newest_run(state)
    assert run is not None
    view = read_journal(run)
    models = [typed(record) for record in view.records]  # SchemaError names the first misfit
    pushes = [r.data for r in view.records if r.kind in ("applied", "restored")]
    assert pushes and all(isinstance(p.get("answers"), list) for p in pushes), "device answers journaled"
    starts = [m for m in models if isinstance(m, RestoreStart)]
    who = [(s.reason, s.incident, bool(s.user), bool(s.host)) for s in starts]
    assert who == [("all clear", "INC-9", True, True)]


def test_sigkill_at_each_apply_record_boundary(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, reference: tuple[list[str], list[str]],
    tmp_path: Path,
) -> None:
    apply_kinds, _ = reference
    problems: list[str] = []
    for n, kind in enumerate(apply_kinds):
        state = tmp_path / f"apply-{n}"
        killed = _apply(lab, playbook, state, crash_at=n)
        where = f"apply killed before record {n} ({kind})"
        assert _killed(killed), f"{where}: exit {killed.returncode}: {killed.stderr}"
        assert _kinds(state) == apply_kinds[:n], f"{where}: the journal holds exactly the records before it"
        problems += _restore_until_back(state, lab, baseline, where)
    assert not problems, "\n".join(problems)


def test_sigkill_mid_append_of_run_start_and_of_an_intent(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, reference: tuple[list[str], list[str]],
    tmp_path: Path,
) -> None:
    apply_kinds, _ = reference
    problems: list[str] = []
    for n in (0, apply_kinds.index("intent")):
        state = tmp_path / f"torn-{n}"
        killed = _apply(lab, playbook, state, crash_at=n, torn=True)
        assert _killed(killed), killed.stderr
        assert _kinds(state) == apply_kinds[:n]
        if n == 0:  # resume has nothing to continue; restore says nothing was sent
            run = newest_run(state)
            assert run is not None
            resumed = _run(state, "apply", "--resume", "last")
            assert resumed.returncode == 2, resumed.stderr
            assert resumed.stderr.strip().splitlines()[-1] == (
                f"error: run {run.name} died before its first journal record was written whole: nothing "
                "was sent to any device, nothing to restore; released its stale locks on acc3, fw-edge; "
                "nothing to resume: run isolate apply again"
            )
            killed = _apply(lab, playbook, state, crash_at=n, torn=True)
            restored = _run(state, "restore", "last", "--yes")
            assert restored.returncode == 0, restored.stderr
            assert "nothing was sent to any device, nothing to restore" in restored.stderr
        problems += _restore_until_back(state, lab, baseline, f"apply torn in record {n} ({apply_kinds[n]})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("damage", ["missing", "altered"])
def test_restore_with_a_damaged_captured_state_exits_7_saying_what_to_do(
    damage: str, lab: LabHandle, baseline: dict[str, str], playbook: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    assert _apply(lab, playbook, state).returncode == 0
    run = newest_run(state)
    assert run is not None
    intent = next(r for r in records(run) if r["kind"] == "intent")
    sha, device, step = intent["data"]["pre_state"], intent["data"]["device"], intent["data"]["step"]
    path = run / "state" / f"{sha}.txt"
    kept = path.read_bytes()
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(kept.replace(b"table", b"tablE", 1))
    try:
        result = _run(state, "restore", "last", "--yes")
        assert result.returncode == 7, result.stderr
        what = "is missing" if damage == "missing" else "does not hash to its name (altered)"
        assert result.stderr.strip().splitlines()[-1] == (
            f"error: {path}: captured state {what}: {device}'s state before step '{step}' cannot be "
            "proven, so it cannot be restored safely; put the file back from a backup of the run "
            f"directory, or bring {device} back by hand (isolate journal show {run.name} lists the inverse)"
        )
    finally:
        path.write_bytes(kept)
        assert _run(state, "restore", "last", "--yes").returncode == 0
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_sigkill_at_each_restore_record_boundary(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, reference: tuple[list[str], list[str]],
    tmp_path: Path,
) -> None:
    apply_kinds, restore_kinds = reference
    problems: list[str] = []
    for i, kind in enumerate(restore_kinds):
        n = len(apply_kinds) + i
        state = tmp_path / f"restore-{n}"
        applied = _apply(lab, playbook, state)
        assert applied.returncode == 0, applied.stderr
        killed = _run(state, "restore", "last", "--yes", crash_at=n)
        where = f"restore killed before record {n} ({kind})"
        assert _killed(killed), f"{where}: exit {killed.returncode}: {killed.stderr}"
        assert len(_kinds(state)) == n, f"{where}: the journal holds exactly the records before it"
        problems += _restore_until_back(state, lab, baseline, where)
    assert not problems, "\n".join(problems)


def test_a_failing_event_sink_never_stops_a_run(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A display that breaks (a broken pipe on stderr) is logged and dropped: every step runs,
    the journal ends with run-end, and restore (with the same broken display) brings it back."""
    from isolate import api
    from isolate.execute.events import Event

    def broken(event: Event) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    state, locks = tmp_path / "state", tmp_path / "locks"
    inventory, built = api.plan(lab.state_dir / "inventory.yml", playbook)
    result = api.apply(inventory, built, api.ApplyRequest(reason="sink test"), state_dir=state,
                       lock_dir=locks, sink=broken)
    assert result.status == "ok"
    assert "run-end" in _kinds(state)
    assert read_all(lab.state_dir, TOUCHED) != baseline
    dropped = "event sink failed on precheck (BrokenPipeError: [Errno 32] Broken pipe); event dropped"
    assert dropped in caplog.text
    restored = api.restore(result.run_id, state_dir=state, lock_dir=locks, sink=broken)
    assert restored.ok
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_plan_is_stored_through_the_journal_and_checked_on_resume(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, reference: tuple[list[str], list[str]],
    tmp_path: Path,
) -> None:
    apply_kinds, _ = reference
    state = tmp_path / "state"
    killed = _apply(lab, playbook, state, crash_at=apply_kinds.index("intent"))
    assert _killed(killed), killed.stderr
    run = newest_run(state)
    assert run is not None
    plan = run / "plan.json"
    assert plan.stat().st_mode & 0o777 == 0o600
    start = records(run)[0]["data"]
    assert hashlib.sha256(plan.read_bytes()).hexdigest() == start["plan_sha256"]
    kept = plan.read_bytes()
    plan.write_bytes(kept.replace(b'"vlan": 999', b'"vlan": 998', 1))
    resumed = _run(state, "apply", "--resume", "last")
    assert resumed.returncode == 7, resumed.stderr
    assert resumed.stderr.strip().splitlines()[-1] == (
        f"error: {plan}: altered since it was journaled "
        f"(run-start (seq 0) has sha256 {start['plan_sha256'][:12]})"
    )
    plan.write_bytes(kept)
    resumed = _run(state, "apply", "--resume", "last")
    assert resumed.returncode == 0, resumed.stderr
    shown = _run(state, "journal", "show", "last")
    assert shown.returncode == 0, shown.stderr
    assert "run resumed by " in shown.stdout and "change(s) verified before the crash kept" in shown.stdout
    assert read_all(lab.state_dir, TOUCHED) != baseline
    assert _run(state, "restore", "last", "--yes").returncode == 0
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_rollback_all_undoes_earlier_steps_on_the_same_engine(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, tmp_path: Path
) -> None:
    """A step failing under rollback-all: the executor undoes every change of the run (its
    undo work: restore-intent, restored, gate by read-back) and the devices read back as
    before the run."""
    from isolate.lab.faults import make_fault
    from isolate.lab.process import set_fault

    rollback = tmp_path / "rollback.yml"
    rollback.write_text(PLAYBOOK.replace("policy: abort", "policy: rollback-all"), encoding="utf-8")
    state = tmp_path / "state"
    set_fault(lab.state_dir, "acc3", make_fault("reject", pattern=r"switchport access vlan 999"))
    try:
        result = _apply(lab, rollback, state)
    finally:
        set_fault(lab.state_dir, "acc3", make_fault("clear"))
    assert result.returncode == 1, result.stderr
    run = newest_run(state)
    assert run is not None
    journal = records(run)
    policy = [r["data"] for r in journal if r["kind"] == "policy"]
    assert policy == [{"decision": "rolled back every change of this run", "policy": "rollback-all",
                       "step": "quarantine-infected"}]
    gates = [r["data"] for r in journal if r["kind"] == "gate" and r["data"]["check"] == "equality"]
    assert {g["device"] for g in gates if g["ok"]} == {"fw-edge", "acc3"}
    assert [r["data"]["status"] for r in journal if r["kind"] == "run-end"] == ["rolled-back"]
    assert read_all(lab.state_dir, TOUCHED) == baseline


def _on_linux(lab: LabHandle, name: str, command: str) -> str:
    """Run one command on a lab Linux device as an admin would (paramiko exec)."""
    import paramiko
    from e2e import lab_inventory

    inventory, secrets = lab_inventory(lab.state_dir)
    device = next(d for d in inventory["devices"] if d["name"] == name)
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.state_dir / "known_hosts"))
    client.connect("127.0.0.1", port=device["port"], username=secrets["username"],
                   password=secrets["password"], look_for_keys=False, allow_agent=False, timeout=10)
    try:
        _, stdout, _ = client.exec_command(command)
        return str(stdout.read().decode())
    finally:
        client.close()


def test_every_step_a_device_takes_part_in_is_prechecked(
    lab: LabHandle, baseline: dict[str, str], tmp_path: Path
) -> None:
    """fw-edge takes part in two steps; the second one's pre-check fails (its table exists):
    exit 3 before anything is sent, and the pre-check record says only what was tested."""
    two = tmp_path / "two.yml"
    two.write_text(
        "version: 1\nname: two-steps\ndefaults: {policy: abort, timeout: 60}\nsteps:\n"
        "  - id: block-attacker\n    action: edge-block\n    targets: {tags: [attacker]}\n"
        "  - id: block-again\n    action: edge-block\n    targets: {tags: [attacker]}\n",
        encoding="utf-8",
    )
    _on_linux(lab, "fw-edge", "sudo -n nft add table inet isolate_block_again")
    state = tmp_path / "state"
    try:
        result = _apply(lab, two, state)
    finally:
        _on_linux(lab, "fw-edge", "sudo -n nft delete table inet isolate_block_again")
    assert result.returncode == 3, result.stderr
    assert "fw-edge: step 'block-again': nft table inet isolate_block_again already exists" in result.stderr
    run = newest_run(state)
    assert run is not None
    journal = records(run)
    assert "intent" not in {r["kind"] for r in journal}
    (precheck,) = [r["data"] for r in journal if r["kind"] == "precheck"]
    assert precheck["checks"] == {"platform": True, "reachable": True, "authenticated": True,
                                  "state_captured": True, "steps": False}
    assert read_all(lab.state_dir, TOUCHED) == baseline


# --- the kinds a plain apply + restore does not write: confirmed, revert-cancelled, policy,
# excluded. Each scenario SIGKILLs instead of writing the first record of the kind
# (ISOLATE_CRASH_AT_KIND), then `isolate restore last` must bring every device back.


def _records(state: Path) -> list[dict[str, Any]]:
    run = newest_run(state)
    assert run is not None
    return records(run)


def _killed_before(state: Path, result: subprocess.CompletedProcess[str], kind: str) -> list[str]:
    """The run was SIGKILLed by the hook, before any record of ``kind``; its kinds."""
    assert _killed(result), f"exit {result.returncode}: {result.stderr}"
    kinds = _kinds(state)
    assert kind not in kinds[kinds.index("restore-start") if "restore-start" in kinds else 0:], kinds
    return kinds


def test_sigkill_before_confirmed(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, tmp_path: Path
) -> None:
    """The first step's change verified and confirmed on the device, the kill before its
    ``confirmed`` record: restore proves the revert gone (revert-cancelled) and undoes it."""
    state = tmp_path / "state"
    killed = _apply(lab, playbook, state, "--confirm-window", "120", crash_kind="confirmed")
    kinds = _killed_before(state, killed, "confirmed")
    assert kinds[-1] == "verified" and kinds.count("intent") == 1
    # the device took the confirmation, the journal never heard: status says it may have
    (run,) = json.loads(_run(state, "status", "--json").stdout)["contained"]
    assert [row["device"] for row in run["devices"] if "revert" in row] == ["fw-edge"]
    assert run["reverts"].startswith("device-side reverts armed on fw-edge by this run were never confirmed")
    assert "unless a confirmation reached a device just before the process died" in run["reverts"]
    problems = _restore_until_back(state, lab, baseline, "apply killed before confirmed")
    assert not problems, "\n".join(problems)
    cancelled = [r["data"] for r in _records(state) if r["kind"] == "revert-cancelled"]
    assert [(c["device"], c["ok"], c["pending"]) for c in cancelled] == [("fw-edge", True, [])]


def test_sigkill_before_revert_cancelled_of_a_restore(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, tmp_path: Path
) -> None:
    """An apply killed with a revert armed and unconfirmed (before its ``verified`` record);
    its restore killed before ``revert-cancelled``; the next restore cancels what is left,
    proves it gone and brings every device back."""
    state = tmp_path / "state"
    killed = _apply(lab, playbook, state, "--confirm-window", "120", crash_kind="verified")
    kinds = _killed_before(state, killed, "verified")
    assert kinds[-1] == "applied"
    killed = _run(state, "restore", "last", "--yes", crash_kind="revert-cancelled")
    restore_kinds = _killed_before(state, killed, "revert-cancelled")[len(kinds):]
    assert restore_kinds[-1] == "restore-start", restore_kinds
    problems = _restore_until_back(state, lab, baseline, "restore killed before revert-cancelled")
    assert not problems, "\n".join(problems)
    after = _records(state)
    assert [r["data"]["ok"] for r in after if r["kind"] == "revert-cancelled"] == [True]
    assert [r["data"]["ok"] for r in after if r["kind"] == "restore-end"] == [True]


def test_sigkill_before_policy(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, tmp_path: Path
) -> None:
    """The second step refused on acc3 (a lab fault), the kill before the ``policy`` record
    its failure policy (continue) writes: restore undoes the first step and the half-made
    second one."""
    from isolate.lab.faults import make_fault
    from isolate.lab.process import set_fault

    go_on = tmp_path / "continue.yml"
    go_on.write_text(PLAYBOOK.replace("policy: abort", "policy: continue"), encoding="utf-8")
    state = tmp_path / "state"
    set_fault(lab.state_dir, "acc3", make_fault("reject", pattern=r"switchport access vlan 999"))
    try:
        killed = _apply(lab, go_on, state, crash_kind="policy")
    finally:
        set_fault(lab.state_dir, "acc3", make_fault("clear"))
    kinds = _killed_before(state, killed, "policy")
    assert kinds[-2:] == ["failed", "step-end"], kinds
    problems = _restore_until_back(state, lab, baseline, "apply killed before policy")
    assert not problems, "\n".join(problems)


def test_sigkill_before_excluded(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, tmp_path: Path
) -> None:
    """acc3 hangs at pre-check; ``--skip-unreachable`` is killed before its ``excluded``
    record (nothing sent yet): restore exits 0, nothing changed, the dead run's locks freed."""
    from isolate.lab.faults import make_fault
    from isolate.lab.process import set_fault

    state = tmp_path / "state"
    set_fault(lab.state_dir, "acc3", make_fault("hang-after", after=0))
    try:
        killed = _apply(lab, playbook, state, "--timeout", "3", "--skip-unreachable", crash_kind="excluded")
    finally:
        set_fault(lab.state_dir, "acc3", make_fault("clear"))
    kinds = _killed_before(state, killed, "excluded")
    assert kinds == ["run-start", "precheck", "precheck"], kinds
    problems = _restore_until_back(state, lab, baseline, "apply killed before excluded")
    assert not problems, "\n".join(problems)


def test_status_of_an_interrupted_run_names_the_changes_it_never_began(
    lab: LabHandle, baseline: dict[str, str], playbook: Path, reference: tuple[list[str], list[str]],
    tmp_path: Path,
) -> None:
    """Killed before its first change, then before its second: the containment is not whole,
    and status says what was never begun and how to finish (not 'nothing contained')."""
    apply_kinds, _ = reference
    intents = [i for i, kind in enumerate(apply_kinds) if kind == "intent"]
    state = tmp_path / "state"
    killed = _apply(lab, playbook, state, crash_at=intents[0])
    assert _killed(killed), killed.stderr
    run = newest_run(state)
    assert run is not None
    shown = _run(state, "status")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[1:5] == [
        "  nothing sent yet",
        "  not started (the run stopped before it): block-attacker on fw-edge",
        "  not started (the run stopped before it): quarantine-infected on acc3",
        f"  to finish the containment: isolate apply --resume {run.name} --yes",
    ]
    assert shown.stdout.startswith(f"run {run.name} (crash-points, incident -, interrupted (no run-end")
    plan = run / "plan.json"
    plan.write_bytes(plan.read_bytes().replace(b'"vlan": 999', b'"vlan": 998', 1))
    shown = _run(state, "status")  # the run is still listed, its plan named as what cannot be read
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[1:3] == [
        "  nothing sent yet",
        f"  what the run never began is unknown: {plan}: altered since it was journaled (run-start "
        f"(seq 0) has sha256 {records(run)[0]['data']['plan_sha256'][:12]})",
    ]

    state = tmp_path / "again"
    killed = _apply(lab, playbook, state, crash_at=intents[1])
    assert _killed(killed), killed.stderr
    run = newest_run(state)
    assert run is not None
    report = json.loads(_run(state, "status", "--json").stdout)
    (row,) = report["contained"]
    assert [d["device"] for d in row["devices"]] == ["fw-edge"]
    assert row["not_started"] == [{"step": "quarantine-infected", "device": "acc3"}]
    resumed = _run(state, "apply", "--resume", run.name, "--yes")
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(_run(state, "status", "--json").stdout)
    assert "not_started" not in report["contained"][0]
    assert _run(state, "restore", "last", "--yes").returncode == 0
    assert read_all(lab.state_dir, TOUCHED) == baseline
