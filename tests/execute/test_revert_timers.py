"""Device-side reverts of a crashed --confirm-window run never undo containment later.

The apply is SIGKILLed while both the IOS switch (core2: archive rollback timer) and the
Linux firewall (fw-int: revert job) hold a verified but unconfirmed change: the lab hangs
their confirm command (fault ``hang-on``), so the kill point is deterministic. Time never
passes by sleeping: ``advance_clock`` fires every device timer due within the given
seconds, as if that time had passed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import PLAYBOOKS, kill_when, read_all, records, run_cli, start_cli

from isolate.journal.reader import read_journal
from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, advance_clock, set_fault
from isolate.restore.contained import contained

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
TOUCHED = ["acc3", "core2", "fw-edge", "fw-int", "vpn1"]
HUNG_CONFIRM = {"core2": r"^configure confirm", "fw-int": r"kill \d+"}
PAST_ANY_WINDOW = 4 * 3600.0  # --confirm-window is at most 3600 s
CONTAINED = {"core2": "ip access-group ISOLATE-CUT-SMB in", "fw-int": "table inet isolate_cut_smb"}


@pytest.fixture(scope="module")
def baseline(lab: LabHandle) -> dict[str, str]:
    return read_all(lab.state_dir, TOUCHED)


@pytest.fixture()
def state(tmp_path: Path, lab: LabHandle, baseline: dict[str, str]) -> Iterator[Path]:
    yield tmp_path / "state"
    for name in TOUCHED:
        set_fault(lab.state_dir, name, make_fault("clear"))
    if read_all(lab.state_dir, TOUCHED) != baseline:
        run_cli("restore", "last", "--yes", state=tmp_path / "state")


def _crash_with_reverts_armed(lab: LabHandle, state: Path) -> Path:
    """apply --confirm-window, SIGKILLed once core2 and fw-int are verified but unconfirmed."""
    for device, pattern in HUNG_CONFIRM.items():
        set_fault(lab.state_dir, device, make_fault("hang-on", pattern=pattern))
    inv = str(lab.state_dir / "inventory.yml")
    proc = start_cli(
        "apply", "-i", inv, LATERAL, "--yes", "--confirm-window", "900", "--timeout", "600", state=state
    )
    verified: set[str] = set()

    def both_verified(record: dict[str, Any]) -> bool:
        if record["kind"] == "verified" and record["data"]["device"] in HUNG_CONFIRM:
            verified.add(record["data"]["device"])
        return verified == set(HUNG_CONFIRM)

    kill_when(proc, state, both_verified)
    for device in HUNG_CONFIRM:
        set_fault(lab.state_dir, device, make_fault("clear"))
    run_dir = next((state / "runs").iterdir())
    journal = records(run_dir)
    assert not [r for r in journal if r["kind"] == "confirmed" and r["data"]["device"] in HUNG_CONFIRM]
    intents = {r["data"]["device"]: r["data"] for r in journal if r["kind"] == "intent"}
    assert intents["fw-int"]["revert"] == {
        "kind": "revert-job",
        "file": f"/var/lib/isolate/revert-{run_dir.name}-cut-smb.nft",
    }
    assert intents["core2"]["revert"] == {"kind": "rollback-timer", "window_s": 900}
    return run_dir


def _plus(ts: str, seconds: int) -> str:
    at = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")) + dt.timedelta(seconds=seconds)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_crashed_runs_reverts_would_undo_containment(
    lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    """The control: left alone, the timers the dead process armed fire and remove the cut.
    ``status`` says so before they fire: which devices, from when, and the command."""
    run_dir = _crash_with_reverts_armed(lab, state)
    intents = {r["data"]["device"]: r for r in records(run_dir) if r["kind"] == "intent"}
    fires = {d: _plus(intents[d]["ts"], 900) for d in HUNG_CONFIRM}
    status = run_cli("status", "--json", state=state)
    assert status.returncode == 0, status.stderr
    (run,) = json.loads(status.stdout)["contained"]
    died = ("interrupted (no run-end: its process was stopped or died; "
            "isolate apply --resume or isolate restore)")
    assert run["status"] == died
    rows = {row["device"]: row for row in run["devices"]}
    for device in HUNG_CONFIRM:
        assert rows[device]["state"] == "contained"
        armed = {"armed_at": intents[device]["ts"], "window_s": 900, "fires_at": fires[device]}
        assert rows[device]["revert"] == armed
    assert not [d for d, row in rows.items() if "revert" in row and d not in HUNG_CONFIRM]
    first = min(fires.values())
    assert run["reverts"].startswith(
        "device-side reverts armed on core2, fw-int by this run were never confirmed "
        "(its process stopped or died): "
        f"they undo the change on those devices from {first} (now "
    )
    assert run["reverts"].endswith(
        "unless a confirmation reached a device just before the process died; "
        f"isolate apply --resume {run_dir.name} --yes cancels them and keeps the containment (a change "
        "already undone is made again); isolate restore undoes it"
    )
    text = run_cli("status", state=state).stdout
    assert "unconfirmed revert fires" in text
    lines = text.splitlines()  # whatever the terminal's width, one line per run and per lock (grep)
    assert f"run {run_dir.name} (ransomware-lateral, incident -, {died})" in lines
    assert [line for line in lines if line.startswith("lock: core2 is locked by run ")
            and line.endswith("break it with 'isolate lock break core2'")]  # fmt: skip
    assert [line for line in text.splitlines() if line.startswith("│ core2") and fires["core2"] in line]
    assert "by this run were never confirmed (its process stopped or died)" in text
    later = contained(read_journal(run_dir / "journal.jsonl")).reverts_note(
        run_dir.name, alive=False, now=dt.datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp() + 1
    )
    assert f"their window ended at {first} (now " in later
    assert "those devices have probably undone the change, unless a confirmation reached" in later
    during = read_all(lab.state_dir, list(CONTAINED))
    assert all(CONTAINED[d] in during[d] for d in CONTAINED)
    advance_clock(lab.state_dir, PAST_ANY_WINDOW)
    after = read_all(lab.state_dir, list(CONTAINED))
    assert after == {d: baseline[d] for d in CONTAINED}
    restored = run_cli("restore", run_dir.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_resume_cancels_the_crashed_runs_reverts_and_containment_stays(
    lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    run_dir = _crash_with_reverts_armed(lab, state)
    inv = str(lab.state_dir / "inventory.yml")
    for device in TOUCHED:  # the dead run's locks broken, then a look (as the runbook's step 1)
        assert run_cli("lock", "break", device, state=state).returncode == 0
    looked = run_cli("apply", "-i", inv, LATERAL, "--check", "--json", state=state)
    assert looked.returncode == 3, looked.stdout + looked.stderr  # the revert pending, named
    assert len(list((state / "runs").iterdir())) == 2, "the check made a run of its own"
    resumed = run_cli("apply", "--resume", "last", "--yes", state=state)  # the crashed run, not the check
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    journal = records(run_dir)
    since = next(r["seq"] for r in journal if r["kind"] == "resume-start")
    windows = {r["data"]["device"]: r["data"]["confirm_window_s"] for r in journal
               if r["kind"] == "intent" and r["seq"] > since}  # fmt: skip
    assert windows and all(windows[d] == 900 for d in windows if d in ("acc3", "fw-edge")), windows
    confirmed = {r["data"]["device"] for r in journal if r["kind"] == "confirmed" and r["seq"] > since}
    assert confirmed >= {d for d in windows if d in ("acc3", "fw-edge")}  # the net kept, then confirmed
    cancelled = {r["data"]["device"]: r["data"] for r in records(run_dir) if r["kind"] == "revert-cancelled"}
    assert set(cancelled) == set(HUNG_CONFIRM)
    assert all(c["ok"] and c["pending"] == [] for c in cancelled.values())
    assert cancelled["fw-int"]["cancelled"] == [f"/var/lib/isolate/revert-{run_dir.name}-cut-smb.nft"]
    assert cancelled["core2"]["cancelled"][0].startswith("rollback timer (Timer value: 15 min")

    advance_clock(lab.state_dir, PAST_ANY_WINDOW)  # well past the old run's window
    after = read_all(lab.state_dir, TOUCHED)
    assert all(CONTAINED[d] in after[d] for d in CONTAINED), "containment was undone by an old revert"
    status = json.loads(run_cli("status", "--json", state=state).stdout)
    rows = {row["device"]: row["state"] for row in status["contained"][0]["devices"]}
    assert rows["core2"] == rows["fw-int"] == "contained"
    assert "reverts" not in status["contained"][0]  # cancelled, proven gone: nothing armed is left
    assert not [row for row in status["contained"][0]["devices"] if "revert" in row]
    verify = run_cli("journal", "verify", run_dir.name, state=state)
    assert verify.returncode == 0, verify.stdout
    restored = run_cli("restore", run_dir.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline


def test_a_new_apply_is_refused_naming_the_run_whose_revert_is_pending_then_restore_cancels_it(
    lab: LabHandle, baseline: dict[str, str], state: Path
) -> None:
    run_dir = _crash_with_reverts_armed(lab, state)
    for device in TOUCHED:  # the operator breaks the dead run's locks, and applies again
        assert run_cli("lock", "break", device, state=state).returncode == 0
    inv = str(lab.state_dir / "inventory.yml")
    again = run_cli("apply", "-i", inv, LATERAL, "--yes", "--json", state=state)
    assert again.returncode == 3, again.stdout + again.stderr
    text = "\n".join(p["message"] for p in json.loads(again.stdout)["prechecks"] if not p["ok"])
    assert "fw-int: a device-side revert is pending (/var/lib/isolate/revert-" in text
    assert f"armed by run {run_dir.name} (step cut-smb)" in text
    assert "core2: a device-side revert is pending (rollback timer (Timer value: 15 min" in text
    assert f"armed by run {run_dir.name} (state dir {state}" in text
    assert f"(isolate apply --resume {run_dir.name} --yes, or isolate restore {run_dir.name} --yes)" in text

    restored = run_cli("restore", run_dir.name, "--yes", state=state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    cancelled = {r["data"]["device"] for r in records(run_dir) if r["kind"] == "revert-cancelled"}
    assert cancelled == set(HUNG_CONFIRM)
    advance_clock(lab.state_dir, PAST_ANY_WINDOW)
    assert read_all(lab.state_dir, TOUCHED) == baseline
    applied = run_cli("apply", "-i", inv, LATERAL, "--yes", state=state)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    advance_clock(lab.state_dir, PAST_ANY_WINDOW)
    after = read_all(lab.state_dir, list(CONTAINED))
    assert all(CONTAINED[d] in after[d] for d in CONTAINED)
    assert run_cli("restore", "last", "--yes", state=state).returncode == 0
