"""Coverage (issue 15): an SMB cut over ``segments: ["*"]`` that cannot reach a segment is
refused with one line naming the segments and why (exit 6); a VPN pool behind a firewall
is cut there — in the plan and in a drill on the lab. Through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from isolate.lab.process import stop_lab
from isolate.lab.topology import TOPOLOGIES_DIR

DATA = Path(__file__).parent / "data"
SMB_ALL = """\
version: 1
name: smb-all
steps:
  - id: cut-smb
    action: block-smb
    targets: {segments: ["*"], except: {zones: [management, outside]}}
"""
VPN = "  - {name: vpn, vlan: 70, subnet: 10.70.0.0/24, zone: vpn,"


def run_cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "isolate", *args], capture_output=True, text=True,
                          env=env, timeout=300, stdin=subprocess.DEVNULL, check=False)


def test_an_smb_cut_that_cannot_reach_the_vpn_pool_is_refused(tmp_path: Path) -> None:
    book = tmp_path / "smb-all.yml"
    book.write_text(SMB_ALL, encoding="utf-8")
    refused = run_cli("plan", "-i", str(DATA / "city.yml"), str(book), state=tmp_path)
    assert refused.returncode == 6
    assert refused.stdout == ""
    assert refused.stderr == (
        "error: step 'cut-smb' refused: SMB would stay open between 1 pair(s) of the segments it "
        "selects (e.g. vpn → users; segments users, vpn): segment vpn has no gateway or firewall in "
        "the inventory: nothing filters its traffic; give it a gateway or firewall, or leave it out "
        "of the selector (--override cut-smb:coverage to accept)\n"
    )
    forced = run_cli("plan", "-i", str(DATA / "city.yml"), str(book), "--json",
                     "--override", "cut-smb:coverage", "--reason", "INC-3: VPN down anyway", state=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert [(o["guard"], o["reason"]) for o in json.loads(forced.stdout)["overrides"]] == [
        ("coverage", "INC-3: VPN down anyway")
    ]


def test_a_vpn_pool_behind_its_firewall_is_cut_there_and_the_drill_passes(tmp_path: Path) -> None:
    text = (TOPOLOGIES_DIR / "city.yml").read_text(encoding="utf-8")
    assert VPN in text
    topology = tmp_path / "vpn-behind-fw.yml"
    topology.write_text(text.replace(VPN, VPN + " firewall: fw-int,"), encoding="utf-8")
    book = tmp_path / "smb-all.yml"
    book.write_text(SMB_ALL, encoding="utf-8")
    root = Path(tempfile.mkdtemp(prefix="isoc-"))  # short: the lab's socket path must fit
    lab_dir = root / "lab"
    try:
        up = run_cli("lab", "up", "--topology", str(topology), "--state-dir", str(lab_dir), state=root)
        assert up.returncode == 0, up.stderr
        inventory = str(lab_dir / "inventory.yml")
        plan = json.loads(run_cli("plan", "-i", inventory, str(book), "--json", state=root).stdout)
        fw = next(c for c in plan["steps"][0]["changes"] if c["device"] == "fw-int")
        assert "vpn" in fw["item"]["segments"]
        assert plan["overrides"] == []
        drill = run_cli("drill", "-i", inventory, str(book), "--report-dir", str(tmp_path / "r"), state=root)
        assert drill.returncode == 0, drill.stdout + drill.stderr
        report = json.loads((tmp_path / "r" / "report.json").read_text())
        vpn_smb = [f for f in report["flows"] if f["src"].startswith("vpn-") and f["port"] == 445]
        assert vpn_smb and all(f["expect"] == "block" and f["during"] is False for f in vpn_smb)
    finally:
        stop_lab(lab_dir)
        shutil.rmtree(root, ignore_errors=True)
