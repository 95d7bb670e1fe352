"""Drill options through the real CLI on the embedded lab: a refused drill still writes
report.json and a junit.xml with the failure (exit 6); --override STEP --reason lets it run and
journals the reason; --topology picks the lab's topology file."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FULL = str(ROOT / "playbooks" / "full-isolation.yml")
DRILL = str(ROOT / "playbooks" / "drill.yml")
CITY = str(ROOT / "isolate" / "lab" / "topologies" / "city.yml")


def _drill(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "isolate", "drill", "--state-dir", str(tmp_path / "state"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
                          check=False)


def test_refused_drill_writes_reports_with_the_failure(tmp_path: Path) -> None:
    reports = tmp_path / "refused"
    done = _drill(tmp_path, "--lab", FULL, "--report-dir", str(reports))
    assert done.returncode == 6, done.stdout + done.stderr
    assert done.stderr.splitlines()[-1].startswith("error: step 'cut-all' refused: ")
    report = json.loads((reports / "report.json").read_text())
    assert report["exit_code"] == 6 and report["run_id"] == ""
    assert report["errors"][0].startswith("step 'cut-all' refused: ")
    # nothing was contained, so nothing was timed: neither within nor over the budget
    assert report["clock"]["time_to_contain_s"] is None
    assert report["summary"]["within_budget"] is None and report["summary"]["within_fastest_family"] is None
    cases = ET.parse(reports / "junit.xml").getroot().iter("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    names = {c.get("name"): c for c in failed}
    assert "the playbook plans (inputs, guards)" in names, list(names)
    failure = names["the playbook plans (inputs, guards)"].find("failure")
    assert failure is not None and "refused" in (failure.get("message") or "")


def test_override_and_topology(tmp_path: Path) -> None:
    reports = tmp_path / "forced"
    done = _drill(tmp_path, "--lab", FULL, "--override", "cut-all", "--override", "cut-internet",
                  "--reason", "drill: the Caen response", "--report-dir", str(reports))
    report = json.loads((reports / "report.json").read_text())
    assert report["run_id"], done.stdout + done.stderr
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: the drill's flow checks judge the cut
    run = tmp_path / "state" / "runs" / report["run_id"] / "journal.jsonl"
    start = json.loads(run.read_text().splitlines()[0])["data"]
    assert start["reason"].endswith(
        "; override cut-all: drill: the Caen response; override cut-internet: drill: the Caen response"
    )
    assert {o["step"] for o in start["overrides"]} == {"cut-all", "cut-internet"}
    assert report["restore_ok"] is True

    topo = _drill(tmp_path, "--lab", "--topology", CITY, DRILL, "--report-dir", str(tmp_path / "topo"))
    assert topo.returncode == 0, topo.stdout + topo.stderr
    bad = _drill(tmp_path, "-i", "x.yml", "--topology", CITY, DRILL)
    assert bad.returncode == 2
    assert bad.stderr == "error: --topology needs --lab (the topology of the lab the drill starts)\n"


def test_a_restore_stuck_mid_batch_names_the_line_the_device_is_stuck_on(tmp_path: Path) -> None:
    """acc3 stuck running 'no vlan 999', the third line of the restore's last write: the
    restore stops there and says so (exit 1), naming that line, not one answered before it."""
    reports = tmp_path / "stuck"
    done = _drill(tmp_path, "--lab", str(ROOT / "playbooks" / "ransomware-lateral.yml"), "--timeout", "5",
                  "--fault-before-restore", "acc3=hang-on:^no vlan 999", "--report-dir", str(reports))
    assert done.returncode == 1, done.stdout + done.stderr
    checks = {c["id"]: c for c in json.loads((reports / "report.json").read_text())["checks"]}
    assert checks["restore.identical.acc3"]["message"].startswith(
        "acc3: 'no vlan 999' got no answer within 5 s (sent in one write with 7 other line(s), "
        "up to 'show vtp status') (then reading the state back failed: "
    ), checks["restore.identical.acc3"]["message"]
    # the console summary, redirected as in a cron log: each line whole (grep finds it), not cut at 80
    assert (
        "✗ restore completed every stage: restore stopped at stage 2: acc3: acc3: 'no vlan 999' got no "
        "answer within 5 s (sent in one write with 7 other line(s), up to 'show vtp status')"
    ) in done.stdout, done.stdout
