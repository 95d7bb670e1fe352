"""A real sensor on the network lab: OpenCanary (PyPI) on decoy1 listens on TCP 445/139; an
nmap SMB scan from the infected workstation's namespace makes it post its webhook, over TLS,
to `isolate watch` in the admin station's namespace; watch's auto rule quarantines the
source. Checked with real packets: ws-17 reaches no other segment any more, ws-01 and the
management path still do; restore brings ws-17's flows back. OpenCanary's own start-up
records reach watch too and are ignored (200), never refused. Timing is measured by
benchmarks/decoy_contain.py, not asserted here."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from isolate.netlab import canary

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root: benchmarks/
from benchmarks.decoy_contain import INFECTED, RULES, Scenario

pytestmark = [
    pytest.mark.netlab,
    pytest.mark.skipif(canary.missing() is not None, reason=f"DECOY TEST SKIPPED: {canary.missing()}"),
    pytest.mark.skipif(shutil.which("nmap") is None, reason="DECOY TEST SKIPPED: nmap is not installed "
                       "(bash scripts/netlab-deps.sh installs it)"),
]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    made = Scenario(tmp_path_factory.mktemp("decoy"))
    try:
        made.start()
        yield made
    finally:
        made.stop()


def test_decoy_hit_contains_the_scanner(scenario: Scenario) -> None:
    assert scenario.connects(INFECTED, "10.99.40.11", 443), "ws-17 reaches web1 before the scan"
    run = scenario.once(1)
    assert run.kept_open, "ws-01 -> fs1:445 and admin1 -> the devices' SSH stay open"
    log = (scenario.work / "watch.log").read_text()
    assert "contain alert from sensor decoy1-canary via 10.99.10.66: opencanary logtype 18001 " \
           "10.99.100.17 -> 10.99.10.66" in log
    assert "record from 10.99.10.66 ignored: OpenCanary logtype 1001 from decoy1-canary" in log
    assert "refused" not in log and "Traceback" not in log
    lines = (scenario.state / "watch" / "incidents.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    opened = next(e for e in events if e["event"] == "opened")
    assert (opened["rule"], opened["targets"], opened["alert"]["shape"]) == (
        "smb-decoy", ["10.99.100.17"], "opencanary")
    journal = [json.loads(line) for line in (scenario.state / "runs" / run.run / "journal.jsonl")
               .read_text().splitlines()]
    start = journal[0]["data"]
    assert start["incident"] == opened["incident"]
    assert start["reason"] == "watch: rule smb-decoy: opencanary logtype 18001 from 10.99.100.17"
    assert {r["kind"] for r in journal} >= {"intent", "verified", "run-end", "restore-start", "restore-end"}
    # scenario.once restored the run: ws-17's flows are back
    assert scenario.connects(INFECTED, "10.99.10.11", 445)
    assert scenario.connects(INFECTED, "10.99.40.11", 443)
    canary_log: list[dict[str, object]] = canary.records(scenario.canary) if scenario.canary else []
    hits = [r for r in canary_log if r.get("logtype") == canary.CONNECTION_MADE]
    assert hits and all(r["src_host"] == "10.99.100.17" for r in hits)


def test_expiry_brings_every_flow_back(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The rule says `expires: 1m`; once the (test) clock passes it, the running watch
    restores the containment by itself and ws-17's flows come back, measured by connects."""
    work = tmp_path_factory.mktemp("decoy-expiry")
    clock = work / "clock"
    clock.write_text("0")
    made = Scenario(work, rules=RULES.replace("    mode: auto\n", "    mode: auto\n    expires: 1m\n"))
    try:
        made.start("--expiry-check", "1", env={"ISOLATE_TEST_CLOCK": str(clock)})
        run = made.once(1, restore=False)
        assert run.kept_open
        assert not made.connects(INFECTED, "10.99.10.11", 445)
        assert not made.connects(INFECTED, "10.99.40.11", 443)
        clock.write_text("61")
        made.wait_log(f"run {run.run} (incident ", 120)
        assert ": expiry: restored: identical to pre-state: sw1" in (work / "watch.log").read_text()
        assert made.connects(INFECTED, "10.99.10.11", 445)
        assert made.connects(INFECTED, "10.99.40.11", 443)
        lines = (made.state / "watch" / "incidents.jsonl").read_text().splitlines()
        assert [json.loads(line)["event"] for line in lines][-1] == "expired"
    finally:
        made.stop()
