"""ransomware-lateral, unchanged, on the city network with FortiGates as its edge, internal
firewall and SSL-VPN concentrator (the city topology with those three devices swapped for
kind fortios): the drill passes through the CLI — flows cut, restore read back identical."""

from __future__ import annotations

import json
from pathlib import Path

from e2e import PLAYBOOKS, run_cli

from isolate.lab.topology import TOPOLOGIES_DIR

SWAP = {
    "{name: fw-edge, kind: linux,": "{name: fgt-edge, kind: fortios,",
    "{name: fw-int, kind: linux,": "{name: fgt-int, kind: fortios,",
    "{name: vpn1, kind: cisco_asa,": "{name: fgt-vpn, kind: fortios,",
    "firewall: fw-int": "firewall: fgt-int",
    "concentrators: [vpn1]": "concentrators: [fgt-vpn]",
    "devices: [fw-edge]": "devices: [fgt-edge]",
}


def test_ransomware_lateral_drill_passes_on_fortigates(tmp_path: Path) -> None:
    text = (TOPOLOGIES_DIR / "city.yml").read_text()
    for old, new in SWAP.items():
        assert old in text
        text = text.replace(old, new)
    topology = tmp_path / "city-fortigate.yml"
    topology.write_text(text)
    reports = tmp_path / "reports"
    result = run_cli("drill", "--lab", "--topology", str(topology), str(PLAYBOOKS / "ransomware-lateral.yml"),
                     "--report-dir", str(reports), state=tmp_path / "state", timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "drill ransomware-lateral: PASSED" in result.stdout
    report = json.loads((reports / "report.json").read_text())
    text = json.dumps(report)
    for device in ("fgt-edge", "fgt-int", "fgt-vpn"):
        assert device in text
    assert "restored: identical (5/5)" in result.stdout
