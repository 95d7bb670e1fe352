"""Baselines from the devices (issue 15): the reachability model reads what the devices
already filter (IOS ACLs bound to SVIs, nft rulesets) from their state, so the blast radius
counts only flows open now and says which devices it could not model; plan, drill and
journal report the same counts. Through the CLI, on an embedded lab whose edge firewall
already lets the Internet reach only the websites."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from isolate.lab.process import stop_lab
from isolate.lab.topology import TOPOLOGIES_DIR

PLAYBOOK = str(Path(__file__).resolve().parents[2] / "playbooks" / "ransomware-lateral.yml")
EDGE = "  - {name: fw-edge, kind: linux, role: edge, address: 10.99.0.4, groups: [firewalls]}\n"
EDGE_FILTERING = """\
  - name: fw-edge
    kind: linux
    role: edge
    address: 10.99.0.4
    groups: [firewalls]
    options:
      ruleset: |
        table inet edge {
        \tchain forward {
        \t\ttype filter hook forward priority filter; policy accept;
        \t\tip saddr 100.64.0.0/24 ip daddr 10.10.40.0/24 accept
        \t\tip saddr 100.64.0.0/24 drop
        \t}
        }
"""


def run_cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "isolate", *args], capture_output=True, text=True,
                          env=env, timeout=300, stdin=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[Path, Path]]:
    root = Path(tempfile.mkdtemp(prefix="isob-"))
    lab_dir = root / "lab"
    text = (TOPOLOGIES_DIR / "city.yml").read_text(encoding="utf-8")
    assert EDGE in text
    topology = root / "edge-filtering.yml"
    topology.write_text(text.replace(EDGE, EDGE_FILTERING), encoding="utf-8")
    try:
        up = run_cli("lab", "up", "--topology", str(topology), "--state-dir", str(lab_dir), state=root)
        assert up.returncode == 0, up.stderr
        yield root, lab_dir
    finally:
        stop_lab(lab_dir)
        shutil.rmtree(root, ignore_errors=True)


def _step_line(stdout: str, step: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith(f"  {step} ("))


def test_a_flow_the_edge_already_denies_is_not_counted_as_cut(lab: tuple[Path, Path]) -> None:
    root, lab_dir = lab
    inventory = str(lab_dir / "inventory.yml")
    assumed = run_cli("plan", "-i", inventory, PLAYBOOK, state=root)
    read = run_cli("plan", "-i", inventory, PLAYBOOK, "--baseline", str(lab_dir), state=root)
    assert assumed.returncode == read.returncode == 0, assumed.stderr + read.stderr
    step = "  block-attacker (edge-block): "
    assert _step_line(assumed.stdout, "block-attacker").startswith(step + "20 flow(s)")
    assert _step_line(read.stdout, "block-attacker").startswith(step + "2 flow(s)")
    assert (
        "  baseline: rules read from core1, core2, fw-edge, fw-int; 18 flow(s) already closed there, "
        "not counted" in read.stdout.splitlines()
    )


def test_devices_it_cannot_model_are_named(lab: tuple[Path, Path], tmp_path: Path) -> None:
    root, lab_dir = lab
    states = tmp_path / "states"
    states.mkdir()
    (states / "fw-edge.txt").write_text("table inet edge {\n}\n", encoding="utf-8")
    inventory = str(lab_dir / "inventory.yml")
    done = run_cli("plan", "-i", inventory, PLAYBOOK, "--baseline", str(states), state=root)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  baseline not modelled: core1: no captured state" in lines
    assert "  baseline not modelled: fw-int: no captured state" in lines


def test_plan_drill_and_journal_count_the_same(lab: tuple[Path, Path], tmp_path: Path) -> None:
    root, lab_dir = lab
    reports = tmp_path / "reports"
    drill = run_cli("drill", "-i", str(lab_dir / "inventory.yml"), PLAYBOOK, "--report-dir", str(reports),
                    state=root)
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert "flows: 371 open at baseline, 136 blocked during containment" in drill.stdout
    report = json.loads((reports / "report.json").read_text())
    journaled = json.loads(next((root / "runs").glob("*/plan.json")).read_text())["blast"]
    assert journaled["flows_cut"] == report["summary"]["flows_blocked_during"] == 136
    assert journaled["flows_closed_at_baseline"] == 18
