"""The shipped `mixed` topology (FortiGate edge + SSL-VPN, FortiGate internal firewall, Junos
cores over NETCONF, Cisco IOS access) runs the shipped ransomware-lateral playbook unchanged:
`isolate drill --lab --topology mixed` PASSES (every must-block flow blocked, every must-keep
flow kept, restore read back identical on every device), and its journal verifies."""

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
import yaml

from isolate.lab.process import running_pid, stop_lab
from isolate.lab.topology import load_topology

ROOT = Path(__file__).resolve().parent.parent
ISOLATE = [sys.executable, "-m", "isolate"]
PLAYBOOK = ROOT / "playbooks" / "ransomware-lateral.yml"


@pytest.fixture
def state() -> Iterator[Path]:
    """A short state dir: the lab's control socket path must fit in a sockaddr_un."""
    path = Path(tempfile.mkdtemp(prefix="isom-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_mixed_holds_fortigates_junos_cores_and_ios_access() -> None:
    lab = load_topology("mixed")
    kinds = {d.name: d.kind for d in lab.devices}
    assert kinds["core1"] == kinds["core2"] == "junos"
    assert kinds["fgt-edge"] == kinds["fgt-int"] == "fortios"
    assert {kinds[f"acc{i}"] for i in range(1, 5)} == {"cisco_ios"}
    topo = lab.topology
    assert list(topo.edge.devices) == ["fgt-edge"] and list(topo.vpn.concentrators) == ["fgt-edge"]
    assert {s.firewall for s in topo.segments if s.firewall} == {"fgt-int"}


def test_ransomware_lateral_drill_passes_on_mixed(state: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    try:
        proc = subprocess.run(
            [*ISOLATE, "drill", "--lab", "--topology", "mixed", str(PLAYBOOK), "--report-dir", str(reports)],
            capture_output=True, text=True, timeout=600, env=env, cwd=ROOT, check=False,
        )
    finally:
        for lab_dir in (state / "drills").glob("*/lab"):
            assert running_pid(lab_dir) is None, f"the drill left its lab running in {lab_dir}"
            stop_lab(lab_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "drill ransomware-lateral: PASSED" in proc.stdout
    data = json.loads((reports / "report.json").read_text())
    checks = {c["id"]: c for c in data["checks"]}
    assert all(c["ok"] for c in checks.values()), [c for c in checks.values() if not c["ok"]]
    assert checks["containment.must-block"]["message"].split(" of ")[0] == \
        checks["containment.must-block"]["message"].split(" of ")[1].split()[0]
    # every platform of the mixed network took part and came back identical
    devices = {c["device"] for c in checks.values() if c["id"].startswith("restore.identical.")}
    assert devices == {"core2", "fgt-int", "fgt-edge", "acc3"}
    run_dir = state / "runs" / data["run_id"]
    journal = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    platforms = {r["data"]["device"]: r["data"].get("platform") for r in journal if r["kind"] == "intent"}
    assert set(platforms) == devices
    # a flow only the Junos core's filter can cut (both ends routed by core2, no firewall)
    flows = {(f["src"], f["dst"], f["port"]): f for f in data["flows"]}
    museum_to_ws = flows[("museum1", "ws-01", 445)]
    assert (museum_to_ws["before"], museum_to_ws["during"], museum_to_ws["after"]) == (True, False, True)
    inventory = yaml.safe_load(next((state / "drills").glob("*/lab/inventory.yml")).read_text())
    assert {d["name"]: d["platform"] for d in inventory["devices"]}["core2"] == "junos"
    verified = subprocess.run([*ISOLATE, "journal", "verify", str(run_dir)], capture_output=True, text=True,
                              timeout=120, env=env, cwd=ROOT, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_locate_on_mixed_reads_the_junos_core_arp_and_the_ios_access_switch(state: Path) -> None:
    """The runbook's first step on the mixed network: the Junos core answers the ARP read
    (``show arp no-resolve hostname A``), the IOS access switch its MAC table, and its LLDP
    neighbours include the Junos cores (which speak LLDP, not CDP)."""
    from isolate.lab.process import start_lab

    lab = start_lab(state / "lab", "mixed")
    try:
        env = {**os.environ, "ISOLATE_STATE_DIR": str(state / "st")}
        found = subprocess.run([*ISOLATE, "locate", "-i", str(lab.inventory), "10.10.100.17"],
                               capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False)
        assert found.returncode == 0, found.stdout + found.stderr
        lines = found.stdout.splitlines()
        assert lines[0].startswith("10.10.100.17 is at ") and lines[0].endswith("(ARP on core2 irb.100)")
        assert lines[1].startswith("acc3 GigabitEthernet1/0/4 vlan 100 mac ")
    finally:
        lab.stop()
