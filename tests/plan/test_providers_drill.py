"""Issue 15, done-when: on a lab where every file server also serves LDAP and DNS and two
of them are infected, ransomware-lateral plans without override, lists the infected
servers' own services as cut with them, and its drill passes — quarantined hosts do not
reach each other, every must-keep flow is kept, restore is identical. Through the CLI."""

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

TOPOLOGY = Path(__file__).parent / "data" / "providers-lab.yml"
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
INFECTED = ("--set", "infected=fs1,fs2")


def run_cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "isolate", *args], capture_output=True, text=True,
                          env=env, timeout=300, stdin=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[Path, Path]]:
    """A short state dir (the control socket path must fit a sockaddr_un) with the lab up."""
    root = Path(tempfile.mkdtemp(prefix="isop-"))
    lab_dir = root / "lab"
    try:
        up = run_cli("lab", "up", "--topology", str(TOPOLOGY), "--state-dir", str(lab_dir), state=root)
        assert up.returncode == 0, up.stderr
        yield root, lab_dir
    finally:
        stop_lab(lab_dir)
        shutil.rmtree(root, ignore_errors=True)


def test_infected_providers_plan_without_override(lab: tuple[Path, Path]) -> None:
    root, lab_dir = lab
    book = str(PLAYBOOKS / "ransomware-lateral.yml")
    text = run_cli("plan", "-i", str(lab_dir / "inventory.yml"), book, *INFECTED, state=root)
    assert text.returncode == 0, text.stderr
    assert (
        "fs1 serves smb, netbios-ssn, ldap, dns: cut with it; dc1 still serves ldap to every client; "
        "dc1, dns1 still serve dns to every client"
    ) in text.stdout
    assert "OVERRIDE" not in text.stdout
    as_json = run_cli("plan", "-i", str(lab_dir / "inventory.yml"), book, *INFECTED, "--json", state=root)
    data = json.loads(as_json.stdout)
    quarantine = next(s for s in data["steps"] if s["id"] == "quarantine-infected")
    assert [o["host"] for o in quarantine["blast"]["own_services"]] == ["fs1", "fs2"]
    assert data["overrides"] == []


def test_their_drill_passes_with_quarantined_hosts_cut_from_each_other(
    lab: tuple[Path, Path], tmp_path: Path
) -> None:
    root, lab_dir = lab
    reports = tmp_path / "reports"
    drill = run_cli(
        "drill", "-i", str(lab_dir / "inventory.yml"), str(PLAYBOOKS / "ransomware-lateral.yml"),
        *INFECTED, "--report-dir", str(reports), state=root,
    )
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert "drill ransomware-lateral: PASSED" in drill.stdout
    report = json.loads((reports / "report.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["containment.must-block"]["ok"] and checks["containment.must-keep"]["ok"]
    assert checks["restore.identical.acc2"]["message"] == "identical"
    between = [f for f in report["flows"] if {f["src"], f["dst"]} == {"fs1", "fs2"}]
    assert between and all(f["expect"] == "block" and f["during"] is False for f in between)
    assert all(f["after"] for f in between)
