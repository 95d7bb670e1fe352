"""Containment that expires, through the CLI and `isolate watch`'s HTTP intake, on the small
embedded lab (real SSH; switches read back with netmiko). Time is moved by the test clock hook
(ISOLATE_TEST_CLOCK: a file of seconds added to the wall clock), never by sleeping."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import read_device, records, run_cli
from labkit import SMALL
from watchkit import PLAYBOOK, RULES, start_watch, stop

from isolate.lab.process import LabHandle, start_lab

QUARANTINED = "switchport access vlan 999"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), SMALL)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "clock"
    path.write_text("0")
    monkeypatch.setenv("ISOLATE_TEST_CLOCK", str(path))
    return path


def restore_start(state: Path, run: str) -> dict[str, object]:
    [start] = [r["data"] for r in records(state / "runs" / run) if r["kind"] == "restore-start"]
    assert isinstance(start, dict)
    return start


def test_apply_expires_extend_then_expire(tmp_path: Path, lab: LabHandle, clock: Path) -> None:
    state = tmp_path / "state"
    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    before = read_device(lab.state_dir, "acc1")
    applied = run_cli("apply", "-i", str(lab.inventory), str(tmp_path / "quarantine.yml"),
                      "--set", "infected=10.10.100.17", "--expires", "1h", "--yes", state=state)
    assert applied.returncode == 0, applied.stderr
    assert QUARANTINED in read_device(lab.state_dir, "acc1")
    [run] = [p.name for p in (state / "runs").iterdir()]
    options = records(state / "runs" / run)[0]["data"]["options"]
    assert options["expires"] == "1h"
    assert 3590 < options["expires_at"] - time.time() <= 3600

    status = run_cli("status", state=state)
    assert f"  expires {time.strftime('%Y-%m-%d', time.gmtime(options['expires_at']))}" in status.stdout
    assert f"(--expires 1h); isolate extend {run} --by 4h, or --keep" in status.stdout
    listed = run_cli("expire", state=state)
    assert (listed.returncode, listed.stderr) == (0, "")
    assert listed.stdout.startswith(f"run {run}: expires ")

    extended = run_cli("extend", "last", "--by", "2h", "--reason", "forensics imaging ws-17", state=state)
    assert extended.returncode == 0, extended.stderr
    assert extended.stdout.strip().endswith("(--expires 1h, extended 1x)")
    book = [json.loads(line) for line in (state / "expiries.jsonl").read_text().splitlines()]
    assert [(e["run"], e["event"], e["expires_at"], e["reason"]) for e in book] == [
        (run, "extended", options["expires_at"] + 7200, "forensics imaging ws-17")]

    clock.write_text("3601")  # past the first expiry, not the extended one
    early = run_cli("expire", state=state)
    assert (early.returncode, early.stderr) == (0, "")
    assert QUARANTINED in read_device(lab.state_dir, "acc1")

    clock.write_text(str(3 * 3600 + 1))
    fired = run_cli("expire", state=state)
    assert fired.returncode == 0, fired.stderr
    assert fired.stderr.strip() == f"run {run}: expiry: restored: identical to pre-state: acc1"
    assert fired.stdout.strip() == "no containment with an expiry is pending"
    assert read_device(lab.state_dir, "acc1") == before
    start = restore_start(state, run)
    assert str(start["reason"]).startswith("expired: apply --expires 1h, due ")
    assert str(start["reason"]).endswith(" (extended), by isolate expire")
    assert [r["data"]["ok"] for r in records(state / "runs" / run) if r["kind"] == "restore-end"] == [True]

    again = run_cli("extend", run, "--by", "1h", state=state)
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"error: run {run} has no expiry pending (no --expires, or already restored)")
    assert run_cli("expire", state=state).stdout.strip() == "no containment with an expiry is pending"


def test_a_damaged_run_does_not_hide_another_runs_expiry(tmp_path: Path, lab: LabHandle, clock: Path) -> None:
    """`isolate status` names a run it cannot read (exit 7) and still shows the expiry of a
    run it can: the damaged journal is taken to have taken nothing over."""
    state = tmp_path / "state"
    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    applied = run_cli("apply", "-i", str(lab.inventory), str(tmp_path / "quarantine.yml"),
                      "--set", "infected=10.10.100.17", "--expires", "1h", "--yes", state=state)
    assert applied.returncode == 0, applied.stderr
    [run] = [p.name for p in (state / "runs").iterdir()]
    damaged = state / "runs" / "29991231T000000Z-0bad00"
    damaged.mkdir()
    (damaged / "journal.jsonl").write_text("not a record\n")
    status = run_cli("status", state=state)
    assert status.returncode == 7, status.stderr
    assert status.stderr.startswith(f"error: run {damaged.name}: journal.jsonl:1: not a journal record")
    assert f"(--expires 1h); isolate extend {run} --by 4h, or --keep" in status.stdout
    refused = run_cli("restore", run, "--yes", state=state)  # restore reads every other run: it refuses
    assert (refused.returncode, refused.stderr) == (7, (
        f"error: run {damaged.name}: journal.jsonl:1: not a journal record: not JSON (Expecting value at "
        f"column 1): the journal is damaged (check it: isolate journal verify {damaged.name}); run {run} is "
        "not restored while another run cannot be read (every run is read for the changes it took over)\n"))
    (damaged / "journal.jsonl").unlink()
    damaged.rmdir()
    restored = run_cli("restore", run, "--yes", state=state)
    assert restored.returncode == 0, restored.stderr


def test_kept_never_expires(tmp_path: Path, lab: LabHandle, clock: Path) -> None:
    state = tmp_path / "state"
    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    applied = run_cli("apply", "-i", str(lab.inventory), str(tmp_path / "quarantine.yml"),
                      "--set", "infected=10.10.100.17", "--expires", "30m", "--yes", state=state)
    assert applied.returncode == 0, applied.stderr
    kept = run_cli("extend", "last", "--keep", "--reason", "confirmed by the CISO", state=state)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.strip().endswith(" (never expires)")
    assert " kept by " in kept.stdout
    clock.write_text(str(30 * 86400))
    assert run_cli("expire", state=state).returncode == 0
    assert QUARANTINED in read_device(lab.state_dir, "acc1")
    restored = run_cli("restore", "last", "--yes", state=state)
    assert restored.returncode == 0, restored.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--expires", "4x"), "error: --expires '4x': a duration such as 30m, 4h, 1h30m or 2d"),
    (("--expires", "10s"), "error: --expires '10s': must be between 1m and 90d"),
    (("--expires", "1h", "--check"),
     "error: --expires goes with a new containment, not with --check, --resume or --retry-failed"),
])
def test_bad_expires_is_one_line(tmp_path: Path, lab: LabHandle, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    proc = run_cli("apply", "-i", str(lab.inventory), str(tmp_path / "quarantine.yml"), *args, "--yes",
                   state=tmp_path / "state")
    assert (proc.returncode, proc.stderr.strip()) == (2, message)
    assert not (tmp_path / "state" / "runs").exists()


def test_extend_needs_by_or_keep(tmp_path: Path) -> None:
    proc = run_cli("extend", "last", state=tmp_path / "state")
    assert (proc.returncode, proc.stderr.strip()) == (
        2, "error: isolate extend RUN needs --by DURATION or --keep (not both)")


def test_watch_fires_expiries_after_a_restart_and_while_running(
    tmp_path: Path, lab: LabHandle, clock: Path
) -> None:
    """A rule with `expires: 1h`: the containment's expiry is in its run journal, so a watch
    stopped and started again past it restores it before listening; a running watch fires
    the next one at its next look (--expiry-check 1)."""
    rules = RULES.replace("    mode: auto\n", "    mode: auto\n    expires: 1h\n")
    before = read_device(lab.state_dir, "acc1")
    first = start_watch(tmp_path, lab, "--expiry-check", "1", rules=rules)
    try:
        status, reply = first.alert(source="10.10.100.17", signature="smb-scan")
        assert (status, reply["state"]) == (200, "contained"), reply
    finally:
        stop(first)
    options = records(first.state / "runs" / reply["run"])[0]["data"]["options"]
    assert options["expires"] == "1h"
    assert QUARANTINED in read_device(lab.state_dir, "acc1")

    clock.write_text("3601")
    again = start_watch(tmp_path, lab, "--expiry-check", "1", rules=rules)
    try:
        assert (f"run {reply['run']} (incident {reply['incident']}): expiry: restored: "
                "identical to pre-state: acc1") in again.log.read_text()
        assert read_device(lab.state_dir, "acc1") == before
        [expired] = [i for i in again.incidents() if i["incident"] == reply["incident"]]
        assert expired["state"] == "expired"
        assert str(restore_start(again.state, reply["run"])["reason"]).endswith(", by watch")

        status, second = again.alert(source="10.10.100.17", signature="smb-scan")
        assert (status, second["state"]) == (200, "contained"), second
        assert second["incident"] != reply["incident"]
        clock.write_text(str(3601 + 3601))
        wanted = f"run {second['run']} (incident {second['incident']}): expiry: restored"
        deadline = time.monotonic() + 60
        while wanted not in again.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert wanted in again.log.read_text()
        assert read_device(lab.state_dir, "acc1") == before
    finally:
        stop(again)
    lines = (again.state / "watch" / "incidents.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events if e["incident"] == second["incident"]] == [
        "opened", "applying", "contained", "expired"]


def test_an_expiry_whose_restore_fails_is_said_and_not_retried(
    tmp_path: Path, lab: LabHandle, clock: Path
) -> None:
    from isolate.lab.faults import make_fault
    from isolate.lab.process import set_fault

    state = tmp_path / "state"
    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    before = read_device(lab.state_dir, "acc1")
    applied = run_cli("apply", "-i", str(lab.inventory), str(tmp_path / "quarantine.yml"),
                      "--set", "infected=10.10.100.17", "--expires", "1h", "--yes", state=state)
    assert applied.returncode == 0, applied.stderr
    [run] = [p.name for p in (state / "runs").iterdir()]
    clock.write_text("3601")
    set_fault(lab.state_dir, "acc1", make_fault("reject", pattern="^no ip access-list extended"))
    try:
        failed = run_cli("expire", state=state)
    finally:
        set_fault(lab.state_dir, "acc1", make_fault("clear"))
    assert failed.returncode == 4, failed.stderr
    assert failed.stderr.startswith(f"run {run}: expiry: restore failed: ")
    assert failed.stderr.strip().endswith(f"; isolate restore {run} --yes once fixed")
    status = run_cli("status", state=state).stdout
    assert "  expiry fired " in status and "isolate extend" not in status
    again = run_cli("expire", state=state)  # not retried by itself
    assert (again.returncode, again.stderr) == (0, "")
    assert len([r for r in records(state / "runs" / run) if r["kind"] == "restore-start"]) == 1
    restored = run_cli("restore", run, "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_device(lab.state_dir, "acc1") == before
