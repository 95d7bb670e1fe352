"""`isolate drill` end to end through the CLI, on an embedded lab it starts and stops itself.

Each drill runs in its own state dir (tmp_path); the lab process is found by its pid file
and must be gone when the drill returns, also when a check failed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from isolate.drill import parse_duration
from isolate.errors import InputError
from isolate.lab.process import running_pid, stop_lab

ROOT = Path(__file__).resolve().parent.parent
ISOLATE = [sys.executable, "-m", "isolate"]
PLAYBOOK = ROOT / "playbooks" / "ransomware-lateral.yml"


@pytest.fixture
def state() -> Iterator[Path]:
    """A short state dir: the lab's control socket path must fit in a sockaddr_un."""
    path = Path(tempfile.mkdtemp(prefix="isod-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_drill(state: Path, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    reports = tmp_path / "reports"
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    try:
        proc = subprocess.run(
            [*ISOLATE, "drill", "--lab", str(PLAYBOOK), "--report-dir", str(reports), *args],
            capture_output=True, text=True, timeout=600, env=env, cwd=ROOT, check=False,
        )
    finally:
        labs = list((state / "drills").glob("*/lab"))
        assert labs, f"the drill did not start its lab under {state}"
        for lab_dir in labs:
            assert running_pid(lab_dir) is None, f"the drill left its lab running in {lab_dir}"
            stop_lab(lab_dir)  # by its pid, in case the assertion above is about to fail
    return proc, reports


def chromium_dom(page: Path) -> str | None:
    """The DOM headless Chromium builds from ``page``; None (and a warning) without chromium."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        warnings.warn("chromium is not installed: report.html not rendered in a browser "
                      "(apt-get install -y --no-install-recommends chromium)", stacklevel=2)
        return None
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "HOME": profile},
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def checks_of(reports: Path) -> dict[str, dict[str, object]]:
    data = json.loads((reports / "report.json").read_text())
    return {c["id"]: c for c in data["checks"]}


@pytest.mark.slow
def test_drill_on_the_lab_passes_and_writes_every_report(state: Path, tmp_path: Path) -> None:
    proc, reports = run_drill(state, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED" in proc.stdout and "restored: identical" in proc.stdout

    data = json.loads((reports / "report.json").read_text())
    assert data["ok"] is True and data["exit_code"] == 0
    assert data["apply_status"] == "ok"
    assert data["clock"]["budget_s"] == 2400.0
    assert 0 < data["clock"]["time_to_contain_s"] < data["clock"]["budget_s"]
    assert data["clock"]["time_to_restore_s"] > 0
    checks = checks_of(reports)
    for required in ("containment.must-block", "containment.must-keep", "containment.management",
                     "flows.restored", "restore.completed", "clock.budget"):
        assert checks[required]["ok"] is True, checks[required]
    identical = [c for c in checks.values() if str(c["id"]).startswith("restore.identical.")]
    assert len(identical) >= 4 and all(c["ok"] for c in identical)
    flows = data["flows"]
    assert any(f["expect"] == "block" and f["before"] and f["during"] is False for f in flows)
    assert all(f["after"] == f["before"] for f in flows)
    assert {s["phase"] for s in data["spans"]} == {"precheck", "apply", "restore"}
    head = re.fullmatch(r"seq (\d+) hash ([0-9a-f]{64}), signed by key ([0-9a-f]{16})", data["journal_head"])
    assert head is not None, data["journal_head"]
    run_dir = state / "runs" / data["run_id"]
    last = json.loads((run_dir / "journal.jsonl").read_text().splitlines()[-1])
    assert (last["kind"], last["seq"], last["hash"]) == ("seal", int(head[1]), head[2])
    assert f"Journal head: `{data['journal_head']}`" in (reports / "report.md").read_text()

    root = ET.parse(reports / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == len(data["steps"]) + len(data["checks"])
    assert {c.get("name") for c in cases} >= {"step cut-smb (block-smb)", "step revoke-vpn (revoke-vpn)"}
    assert root.get("failures") == "0"

    page = (reports / "report.html").read_text()
    assert '<svg id="timeline"' in page and '<svg id="flow-matrix"' in page
    assert "PASSED" in page and "identical (5/5)" in page
    dom = chromium_dom(reports / "report.html")
    if dom is not None:
        assert '<svg id="timeline"' in dom and '<svg id="flow-matrix"' in dom
        assert dom.count('class="span apply"') == sum(1 for s in data["spans"] if s["phase"] == "apply")
    assert (reports / "report.md").read_text().startswith("# Drill ransomware-lateral: PASSED")


@pytest.mark.slow
def test_drill_whose_restore_fails_names_device_and_difference(state: Path, tmp_path: Path) -> None:
    proc, reports = run_drill(state, tmp_path, "--fault-before-restore", "core2=reject:^no ip access-list")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "core2" in proc.stdout and "NOT identical" in proc.stdout

    checks = checks_of(reports)
    core2 = checks["restore.identical.core2"]
    assert core2["ok"] is False
    assert "ip access-list extended ISOLATE-CUT-SMB" in str(core2["message"])

    root = ET.parse(reports / "junit.xml").getroot()
    failures = [
        (case.get("name") or "", failure.get("message") or "", failure.text or "")
        for case in root.iter("testcase")
        for failure in case.findall("failure")
    ]
    named = [f for f in failures if "core2" in f[1] and "ip access-list extended ISOLATE-CUT-SMB" in f[2]]
    assert named, failures

    page = (reports / "report.html").read_text()
    assert 'data-device="core2"' in page and "NOT identical" in page
    assert "ip access-list extended ISOLATE-CUT-SMB" in page


@pytest.mark.slow
def test_drill_json_mode_prints_the_report_and_events(state: Path, tmp_path: Path) -> None:
    proc, reports = run_drill(state, tmp_path, "--json", "--budget", "4m")
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = json.loads(proc.stdout)
    assert printed == json.loads((reports / "report.json").read_text())
    assert printed["clock"]["budget_s"] == 240.0
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    kinds = {e["kind"] for e in events}
    assert {"drill-start", "step-start", "gate", "drill-flows"} <= kinds


@pytest.mark.slow
def test_check_mode_drill_changes_nothing(state: Path, tmp_path: Path) -> None:
    proc, reports = run_drill(state, tmp_path, "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((reports / "report.json").read_text())
    assert data["apply_status"] == "checked"
    assert data["restore"] == [] and data["clock"]["time_to_contain_s"] is None
    assert {s["phase"] for s in data["spans"]} == {"precheck"}
    checks = checks_of(reports)
    assert checks["apply.status"]["ok"] is True
    assert all(checks[c]["skipped"] for c in ("containment.must-block", "restore.completed", "clock.budget"))
    assert "nothing to restore" in proc.stdout


@pytest.mark.slow
def test_sigterm_stops_the_drill_and_its_lab(state: Path) -> None:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    proc = subprocess.Popen([*ISOLATE, "drill", "--lab", str(PLAYBOOK)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        pid_files: list[Path] = []
        while not pid_files and time.monotonic() < deadline and proc.poll() is None:
            pid_files = list((state / "drills").glob("*/lab/lab.ready"))
            time.sleep(0.1)
        assert pid_files, "the drill's lab never became ready"
        lab_pid = int(pid_files[0].read_text())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
        assert running_pid(pid_files[0].parent) is None, f"lab pid {lab_pid} survived the drill"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for lab_dir in (state / "drills").glob("*/lab"):
            stop_lab(lab_dir)


@pytest.mark.netlab
@pytest.mark.root
def test_drill_on_the_network_lab_measures_real_flows(tmp_path: Path) -> None:
    """The same drill against the network lab (real namespaces, OVS, nftables, WireGuard),
    run from the admin station's namespace; the flows are measured with real connects."""
    from isolate.netlab.build import missing_capabilities

    problems = missing_capabilities()
    if problems:
        pytest.skip("NETLAB DRILL SKIPPED (network lab cannot run here): " + "; ".join(problems))
    book = PLAYBOOK  # the whole playbook, its quarantine done on the Open vSwitch switch
    lab_dir = Path(tempfile.mkdtemp(prefix="isonl-"))
    up = subprocess.run([*ISOLATE, "netlab", "up", "--dir", str(lab_dir)], capture_output=True, text=True,
                        cwd=ROOT, timeout=300, check=False)
    try:
        assert up.returncode == 0, up.stderr
        prefix = json.loads((lab_dir / "netlab.json").read_text())["prefix"]
        reports = tmp_path / "reports"
        proc = subprocess.run(
            ["ip", "netns", "exec", f"{prefix}-admin1", *ISOLATE, "drill", "-i",
             str(lab_dir / "inventory.yml"), str(book), "--state-dir", str(tmp_path / "state"),
             "--report-dir", str(reports)],
            capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        checks = checks_of(reports)
        for required in ("containment.must-block", "containment.must-keep", "containment.management",
                         "flows.restored"):
            assert checks[required]["ok"] is True and not checks[required]["skipped"], checks[required]
        data = json.loads((reports / "report.json").read_text())
        assert any(f["before"] and f["during"] is False for f in data["flows"])
        assert data["summary"]["restored_identical"] is True
    finally:
        subprocess.run([*ISOLATE, "netlab", "down", "--dir", str(lab_dir)], capture_output=True, cwd=ROOT,
                       timeout=120, check=False)
        shutil.rmtree(lab_dir, ignore_errors=True)


def test_durations() -> None:
    assert parse_duration("40m") == 2400
    assert parse_duration("90s") == 90
    assert parse_duration("1.5h") == 5400
    assert parse_duration("120") == 120
    for bad in ("", "forty", "0m", "-3m"):
        with pytest.raises(InputError):
            parse_duration(bad)


def test_drill_without_inventory_or_lab_is_bad_input(tmp_path: Path) -> None:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(tmp_path)}
    proc = subprocess.run([*ISOLATE, "drill", str(PLAYBOOK)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 2
    assert "needs -i INVENTORY or --lab" in proc.stderr
    proc = subprocess.run([*ISOLATE, "drill", "--lab", str(PLAYBOOK), "--budget", "soon"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 2
    assert "--budget 'soon'" in proc.stderr


def test_drill_options_are_checked_before_anything_is_sent(state: Path, tmp_path: Path) -> None:
    """A typo in --fault-before-restore, a report dir that cannot be written, a playbook that is
    not there: exit 2, said in one line, and no run is made (before, the first two were found
    after the containment was applied, and it was never restored)."""
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}

    def drill(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*ISOLATE, "drill", "--lab", *args], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=600, check=False, stdin=subprocess.DEVNULL)

    bogus = drill(str(PLAYBOOK), "--fault-before-restore", "core2=bogus", "--report-dir", str(tmp_path))
    assert (bogus.returncode, bogus.stderr.splitlines()[-1]) == (2, (
        "error: --fault-before-restore 'core2=bogus': fault: unknown kind 'bogus' (valid: auth-fail, slow, "
        "hang-after, drop-after, reject, hang-on, drop-on, authz-fail, hold-on, clear)"))
    (tmp_path / "afile").write_text("")
    blocked = drill(str(PLAYBOOK), "--report-dir", str(tmp_path / "afile" / "sub"))
    assert (blocked.returncode, blocked.stderr.splitlines()[-1]) == (
        2, f"error: --report-dir {tmp_path / 'afile' / 'sub'}: cannot write reports there: "
        f"{tmp_path / 'afile'} is not a directory")
    missing = drill(str(tmp_path / "gone.yml"), "--report-dir", str(tmp_path / "r2"))
    assert missing.returncode == 2, missing.stderr
    assert f"error: {tmp_path / 'gone.yml'}: no such playbook file" in missing.stderr.splitlines()
    assert checks_of(tmp_path / "r2")["drill.plan"]["ok"] is False  # the reports say it, for CI
    assert list(ET.parse(tmp_path / "r2" / "junit.xml").getroot().iter("failure"))

    proc, reports = run_drill(state, tmp_path, "--fault-before-restore", "nosuchdev=reject:x")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    plan = checks_of(reports)["drill.plan"]
    assert "--fault-before-restore: no device 'nosuchdev' in the lab's inventory" in str(plan["message"])
    assert not list(state.glob("runs/*")), "a run was made"  # nothing applied
