"""The shipped playbooks' changes over real SSH, through the real drivers (netmiko for
IOS/ASA, exec-mode lines as a typed batch; paramiko + ``nft -f -`` for Linux), on the lab:
pre-check, push, verify (with the extra read-only commands), inverse from the captured
state, and the device's state read back equal to what it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from isolate.actions.table import lookup
from isolate.drivers.base import Batch, BatchCapable
from isolate.drivers.registry import connect
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.inventory.models import Inventory
from isolate.lab.process import LabHandle, start_lab
from isolate.plan.builder import build_plan
from isolate.playbook.loader import load_playbook

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), "city")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def inventory(lab: LabHandle) -> Inventory:
    return load_inventory(lab.inventory)


@pytest.mark.slow
@pytest.mark.parametrize("playbook", ["ransomware-lateral", "drill"])
def test_changes_apply_verify_and_invert_over_ssh(inventory: Inventory, playbook: str) -> None:
    plan = build_plan(inventory, load_playbook(PLAYBOOKS / f"{playbook}.yml"))
    devices = sorted({c.device for s in plan.steps for c in s.changes})
    targets = resolve_targets(inventory, devices, timeout_s=30.0).targets
    sessions = {name: connect(targets[name]) for name in devices}
    try:
        for step in plan.steps:
            for change in step.changes:
                where = f"{playbook}/{step.id}/{change.device}"
                session = sessions[change.device]
                action = lookup(step.action, change.platform)
                before = session.read_state()
                assert action.precheck(change.item, before) == [], where
                if change.exec_after:
                    assert isinstance(session, BatchCapable), where
                    session.push_batch(Batch(change.commands, change.exec_after))
                else:
                    session.push(change.commands)
                after = session.read_state()
                extra = {cmd: session.run(cmd).output for cmd in action.verify_commands}
                assert action.verify(change.item, after, extra) == [], where
                session.push(action.inverse(change.item, before))
                assert session.read_state() == before, where
    finally:
        for session in sessions.values():
            session.close()
