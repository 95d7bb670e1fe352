"""Every change of the shipped playbooks, on the lab's simulated devices:
pre-check passes on the pristine device, the forward batch is accepted, verify finds the
change, the inverse computed from the captured pre-state is accepted and brings the
device's state back byte for byte, and verify then reports the change gone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from simkit import Sim

from isolate.actions.table import lookup
from isolate.drivers.base import Batch
from isolate.inventory.models import Inventory
from isolate.plan.builder import build_plan
from isolate.plan.models import DeviceChange
from isolate.playbook.loader import load_playbook

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
FORCED = {
    "full-isolation": {"cut-all": "test: the comparison playbook", "cut-internet": "test: the comparison"}
}


def _changes(inventory: Inventory) -> list[tuple[str, str, DeviceChange]]:
    found = []
    for name in ("ransomware-lateral", "full-isolation", "drill"):
        playbook = load_playbook(PLAYBOOKS / f"{name}.yml")
        plan = build_plan(inventory, playbook, overrides=FORCED.get(name, {}))
        for step in plan.steps:
            for change in step.changes:
                found.append((name, step.action, change))
    return found


def test_shipped_playbooks_cover_every_platform(lab_inventory: Inventory) -> None:
    pairs = {(action, c.platform) for _, action, c in _changes(lab_inventory)}
    assert {
        ("block-smb", "cisco_ios"),
        ("block-smb", "linux"),
        ("segment-acl", "cisco_ios"),
        ("segment-acl", "linux"),
        ("edge-block", "linux"),
        ("quarantine", "cisco_ios"),
        ("revoke-vpn", "cisco_asa"),
    } <= pairs


def test_every_change_roundtrips_on_the_lab(lab_inventory: Inventory, sim: Callable[[str], Sim]) -> None:
    for playbook, action_name, change in _changes(lab_inventory):
        where = f"{playbook}/{change.item.step}/{change.device}"
        action = lookup(action_name, change.platform)
        device = sim(change.device)
        before = device.state()
        assert action.precheck(change.item, before) == [], where
        device.push(Batch(change.commands, change.exec_after))
        after = device.state()
        assert after != before, where
        extra = {cmd: device.run(cmd) for cmd in action.verify_commands}
        assert action.verify(change.item, after, extra) == [], where
        inverse = action.inverse(change.item, before)
        device.push(inverse)
        assert device.state() == before, where
        assert action.verify(change.item, device.state(), extra) != [], where
        device.push(inverse)  # restore twice is harmless
        assert device.state() == before, where


@pytest.mark.parametrize("pre_push", [False, True])
def test_precheck_flags_a_leftover_of_another_run(
    lab_inventory: Inventory, sim: Callable[[str], Sim], pre_push: bool
) -> None:
    for _, action_name, change in _changes(lab_inventory):
        if action_name == "revoke-vpn" or action_name == "quarantine":
            continue  # idempotent by design: their leftovers are not foreign state
        action = lookup(action_name, change.platform)
        device = sim(change.device)
        if pre_push:
            device.push(Batch(change.commands, change.exec_after))
            assert action.precheck(change.item, device.state()) != [], change.device
        else:
            assert action.precheck(change.item, device.state()) == [], change.device
