"""The four renderers over a hand-built DrillResult: content, escaping, JUnit validity."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from drill_sample import EVIL, sample

from isolate.reports import write_reports
from isolate.reports.html import render_html
from isolate.reports.json import load_json
from isolate.reports.junit import render_junit
from isolate.reports.markdown import render_markdown


def test_json_has_every_figure_and_round_trips(tmp_path: Path) -> None:
    paths = write_reports(sample(), tmp_path)
    data = json.loads(paths["report.json"].read_text())
    assert data["ok"] is True
    assert data["clock"]["time_to_contain_s"] == 1.2
    assert data["clock"]["budget_s"] == 2400.0
    assert data["summary"]["restored_identical"] is True
    assert {c["id"] for c in data["checks"]} >= {"containment.must-block", "restore.identical.core1"}
    assert data["spans"][0]["device"] == "core1"
    assert load_json(paths["report.json"]) == sample()


def test_junit_one_testcase_per_step_and_check() -> None:
    root = ET.fromstring(render_junit(sample()))
    assert root.tag == "testsuites"
    cases = root.findall(".//testcase")
    assert len(cases) == len(sample().steps) + len(sample().checks)
    assert root.get("failures") == "0"
    assert int(root.get("tests") or 0) == len(cases)


def test_junit_failure_names_device_and_difference() -> None:
    root = ET.fromstring(render_junit(sample(restore_fails=True)))
    failures = root.findall(".//failure")
    assert len(failures) == 1
    assert "core1" in (failures[0].get("message") or "")
    assert "ip access-list extended SMB" in (failures[0].text or "")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["isolate.drill.ransomware-lateral.restore"].get("failures") == "1"


def test_html_is_self_contained_and_escaped() -> None:
    page = render_html(sample(restore_fails=True))
    assert page.startswith("<!DOCTYPE html>")
    assert EVIL not in page
    assert "&lt;script&gt;" in page
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for marker in ('id="timeline"', 'id="flow-matrix"', 'id="clock"', 'data-device="core1"', "NOT identical"):
        assert marker in page
    assert "ip access-list extended SMB" in page


def test_markdown_tells_the_story() -> None:
    text = render_markdown(sample(restore_fails=True))
    assert text.startswith("# Drill ransomware-lateral: FAILED")
    assert "Time to contain: **1.20 s**" in text
    assert "core1 | **NOT identical**" in text
    assert "| ws1 | – | 0/1 | 1/1 | – |" in text  # segment × service counts, not one row per flow
    assert "ws1 → fs1:445/tcp (smb)" not in text  # it did what was expected: report.json has it
    assert "### Flows that did not do what was expected (1)" in text
    assert "| admin1 → core1:22/tcp (ssh) | keep | open | open | blocked |" in text
