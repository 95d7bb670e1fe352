"""Readable at scale (issue 15): on a 200-server city the plan text starts with its summary
within the first 40 lines and keeps lines short; ``--detail`` holds every command; the drill
writes report.html < 2 MB and report.md < 200 KB with flows summarised per segment × service.
Through the CLI, on an embedded lab."""

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reports"))
from city200 import write_topology

PLAYBOOK = str(Path(__file__).resolve().parents[2] / "playbooks" / "ransomware-lateral.yml")
INFECTED = ("--set", "infected=srv-17,srv-18")


def run_cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "isolate", *args], capture_output=True, text=True,
                          env=env, timeout=600, stdin=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="module")
def city200() -> Iterator[tuple[Path, Path]]:
    root = Path(tempfile.mkdtemp(prefix="iso2-"))
    lab_dir = root / "lab"
    try:
        topology = write_topology(root / "city200.yml")
        up = run_cli("lab", "up", "--topology", str(topology), "--state-dir", str(lab_dir), state=root)
        assert up.returncode == 0, up.stderr
        yield root, lab_dir / "inventory.yml"
    finally:
        stop_lab(lab_dir)
        shutil.rmtree(root, ignore_errors=True)


def test_plan_text_leads_with_the_summary(city200: tuple[Path, Path]) -> None:
    root, inventory = city200
    done = run_cli("plan", "-i", str(inventory), PLAYBOOK, *INFECTED, state=root)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    head = lines[:40]
    assert any(line.startswith("CUT: ") for line in head)
    assert any(line.startswith("STAYS:") for line in head)
    assert "REFUSED: nothing: every guard passed" in head
    assert "  quarantine-infected (quarantine): 1572 flow(s); cuts off srv-17, srv-18" in head
    assert max(len(line) for line in lines) < 250
    assert not any("deny tcp any" in line for line in lines)  # commands: --detail
    assert "  core2 (cisco_ios): 48 command(s)" in lines
    detail = run_cli("plan", "-i", str(inventory), PLAYBOOK, *INFECTED, "--detail", state=root)
    assert "    deny tcp any 10.20.100.0 0.0.0.255 eq 445" in detail.stdout.splitlines()


def test_drill_reports_stay_small_and_summarised(city200: tuple[Path, Path], tmp_path: Path) -> None:
    root, inventory = city200
    reports = tmp_path / "reports"
    drill = run_cli(
        "drill", "-i", str(inventory), PLAYBOOK, *INFECTED, "--report-dir", str(reports), state=root
    )
    assert drill.returncode == 0, drill.stdout + drill.stderr
    html, md = (reports / "report.html").stat().st_size, (reports / "report.md").stat().st_size
    assert html < 2_000_000, html
    assert md < 200_000, md
    text = (reports / "report.md").read_text(encoding="utf-8")
    assert "| from | backup | civil-status | dns |" in text
    assert "Every flow did what was expected (report.json lists them all)." in text
    assert "services down: dns on srv-17, dns on srv-18" in text
    assert "smb on srv-1," not in text  # SMB cut only between segments is not "down"
    assert "cut between segments only: " in text and "smb on 142 host(s)" in text
    flows = json.loads((reports / "report.json").read_text())["flows"]
    assert len(flows) > 50_000  # report.json keeps every flow
    rows = [f["src"] for f in flows if f["src"].startswith("ws-")]
    assert rows.index("ws-2") < rows.index("ws-10")  # natural order
