"""--confirm-window: devices keep a change only once isolate confirms it after verification; if
isolate dies mid-step, IOS (revert timer) and the Linux firewall (revert job) come back by
themselves. The windows pass through the lab's clock control (advance_clock), never a sleep."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import PLAYBOOKS, kill_when, newest_run, read_all, records, run_cli, start_cli, wait_for_record

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, advance_clock, set_fault, start_lab

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
DEVICES = ["core2", "fw-int"]
CONFIRMS = {"core2": r"^configure confirm", "fw-int": r"\bkill \d+$"}  # what keeps each change


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), "city", time_scale=20)
    try:
        yield handle
    finally:
        handle.stop()


def test_confirmed_changes_stay_after_the_window(lab: LabHandle, tmp_path: Path) -> None:
    before = read_all(lab.state_dir, DEVICES)
    state = tmp_path / "state"
    inv = str(lab.state_dir / "inventory.yml")
    result = run_cli("apply", "-i", inv, LATERAL, "--yes", "--confirm-window", "120", state=state)
    assert result.returncode == 0, result.stderr
    confirmed = {r["data"]["device"] for r in records(newest_run(state)) if r["kind"] == "confirmed"}  # type: ignore[arg-type]
    assert set(DEVICES) <= confirmed
    advance_clock(lab.state_dir, 7200)  # past any window: an unconfirmed change would revert now
    during = read_all(lab.state_dir, DEVICES)
    assert all(during[d] != before[d] for d in DEVICES)
    assert run_cli("restore", "--yes", state=state).returncode == 0
    assert read_all(lab.state_dir, DEVICES) == before


def _applied(device: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["kind"] == "applied" and r["data"]["device"] == device


def test_devices_revert_by_themselves_when_isolate_dies(lab: LabHandle, tmp_path: Path) -> None:
    before = read_all(lab.state_dir, DEVICES)
    state = tmp_path / "state"
    inv = str(lab.state_dir / "inventory.yml")
    # Neither device answers its confirmation (IOS `configure confirm`, the Linux job's `kill
    # PID`): the kill lands between the pushes and their confirmations by construction, not
    # by how fast this process polls (verification takes a few ms, and a kill that came after
    # the device had confirmed, before the journal said so, left a change that never reverts).
    for device, confirm in CONFIRMS.items():
        set_fault(lab.state_dir, device, make_fault("hang-on", pattern=confirm))
    proc = start_cli("apply", "-i", inv, LATERAL, "--yes", "--confirm-window", "120", state=state)
    try:
        wait_for_record(proc, state, _applied(DEVICES[0]))
        kill_when(proc, state, _applied(DEVICES[1]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for device in CONFIRMS:
            set_fault(lab.state_dir, device, make_fault("clear"))
    journal = records(newest_run(state))  # type: ignore[arg-type]
    assert not [r for r in journal if r["kind"] == "confirmed"]
    advance_clock(lab.state_dir, 7200)  # the window passes at once (the lab's clock control)
    deadline = time.monotonic() + 60
    while (now := read_all(lab.state_dir, DEVICES)) != before:
        changed = [d for d in DEVICES if now[d] != before[d]]
        assert time.monotonic() < deadline, f"devices did not revert by themselves: {changed}"
        time.sleep(0.5)
    # The journal still drives restore: devices already back are left alone, the rest restored.
    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stderr
    assert read_all(lab.state_dir, DEVICES) == before
