"""The plan's blast radius (the reachability model on the inventory) agrees with the lab's
flow matrix (the same model evaluated on the simulated devices' real configuration) after
every step of the shipped playbooks: same number of flows cut, same services cut."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from simkit import Sim

from isolate.drivers.base import Batch
from isolate.inventory.models import Inventory
from isolate.lab.flows import compute_flows
from isolate.plan.builder import build_plan
from isolate.playbook.loader import load_playbook

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
FORCED = {"full-isolation": {"cut-all": "test", "cut-internet": "test"}}


def _cut(
    baseline: dict[tuple[str, str, int, str], bool], now: dict[tuple[str, str, int, str], bool]
) -> set[tuple[str, str, int, str]]:
    return {key for key, ok in baseline.items() if ok and not now[key]}


@pytest.mark.parametrize("playbook", ["ransomware-lateral", "drill", "full-isolation"])
def test_blast_radius_matches_the_lab_flow_matrix(
    lab_inventory: Inventory, sim: Callable[[str], Sim], playbook: str
) -> None:
    plan = build_plan(
        lab_inventory, load_playbook(PLAYBOOKS / f"{playbook}.yml"), overrides=FORCED.get(playbook, {})
    )
    sims = {d.name: sim(d.name) for d in lab_inventory.devices}
    devices = {name: s.device for name, s in sims.items()}

    def matrix() -> dict[tuple[str, str, int, str], bool]:
        flows = compute_flows(lab_inventory, devices).flows
        return {(f.src, f.dst, f.port, f.proto): f.allowed for f in flows if not f.management}

    baseline = matrix()
    assert sum(baseline.values()) == plan.blast.flows_total
    for step in plan.steps:
        for change in step.changes:
            sims[change.device].push(Batch(change.commands, change.exec_after))
        cut = _cut(baseline, matrix())
        assert len(cut) == step.blast.flows_cut_total, step.id
        lab_services = {(dst, port, proto) for _, dst, port, proto in cut}
        assert {(s.host, s.port, s.proto) for s in step.blast.services} <= lab_services, step.id
    flows = compute_flows(lab_inventory, devices).flows
    assert all(f.allowed for f in flows if f.management)
