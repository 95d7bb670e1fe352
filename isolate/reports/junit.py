"""junit.xml: one testcase per step and per check, so CI systems show drills.

The layout is the common JUnit XML that Jenkins, GitLab and GitHub reporters read:
``<testsuites>`` holding one ``<testsuite>`` per group, each ``<testcase>`` with a
``<failure message=… type=…>`` whose text names the device and the difference.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from isolate.reports.model import Check, DrillResult, StepOutcome

_GROUP_TITLES = {
    "steps": "steps",
    "containment": "containment",
    "flows": "flows",
    "restore": "restore",
    "clock": "clock",
    "drill": "drill",
}


def _clean(text: str) -> str:
    """XML 1.0 cannot hold most control characters: replace them."""
    return "".join(
        ch if ch in "\t\n\r" or (0x20 <= ord(ch) <= 0xD7FF) or (0xE000 <= ord(ch) <= 0xFFFD)
        or (0x10000 <= ord(ch) <= 0x10FFFF) else "?"
        for ch in text
    )


def _step_case(suite: ET.Element, classname: str, step: StepOutcome) -> bool:
    case = ET.SubElement(
        suite, "testcase", classname=classname, name=_clean(f"step {step.id} ({step.action})"),
        time=f"{step.duration_s:.3f}",
    )
    if step.ok:
        return True
    bad = [d for d in step.devices if not d.ok]
    lines = [f"{d.device}: {d.phase}: {d.message}" + "".join(f"\n  {p}" for p in d.problems) for d in bad]
    if step.decision:
        lines.append(f"policy: {step.decision}")
    first = bad[0] if bad else None
    message = f"{first.device}: {first.message}" if first else f"step {step.id} failed"
    failure = ET.SubElement(case, "failure", message=_clean(message), type="StepFailed")
    failure.text = _clean("\n".join(lines))
    return False


def _check_case(suite: ET.Element, classname: str, check: Check) -> bool:
    case = ET.SubElement(suite, "testcase", classname=classname, name=_clean(check.name), time="0")
    if check.skipped:
        ET.SubElement(case, "skipped", message=_clean(check.message))
        return True
    if check.ok:
        if check.message:
            ET.SubElement(case, "system-out").text = _clean(check.message)
        return True
    who = f"{check.device}: " if check.device else ""
    failure = ET.SubElement(
        case, "failure", message=_clean(f"{who}{check.message}"), type=f"{check.group}-check-failed"
    )
    details = [d for d in check.details if d != check.message]
    failure.text = _clean("\n".join([f"{who}{check.message}", *details]))
    return False


def render_junit(result: DrillResult) -> str:
    root = ET.Element("testsuites", name=f"isolate drill {result.playbook}")
    base = f"isolate.drill.{result.playbook}"
    total = failures = skipped = 0
    suites: dict[str, ET.Element] = {}

    def suite(group: str) -> ET.Element:
        if group not in suites:
            suites[group] = ET.SubElement(root, "testsuite", name=f"{base}.{_GROUP_TITLES.get(group, group)}")
        return suites[group]

    counts: dict[str, list[int]] = {}
    for step in result.steps:
        ok = _step_case(suite("steps"), f"{base}.steps", step)
        counts.setdefault("steps", [0, 0, 0])
        counts["steps"][0] += 1
        counts["steps"][1] += 0 if ok else 1
    for check in result.checks:
        ok = _check_case(suite(check.group), f"{base}.{check.group}", check)
        row = counts.setdefault(check.group, [0, 0, 0])
        row[0] += 1
        row[1] += 0 if ok else 1
        row[2] += 1 if check.skipped else 0
    for error in result.errors:
        case = ET.SubElement(suite("drill"), "testcase", classname=f"{base}.drill", name="drill completes")
        ET.SubElement(case, "failure", message=_clean(error), type="DrillError").text = _clean(error)
        row = counts.setdefault("drill", [0, 0, 0])
        row[0] += 1
        row[1] += 1
    step_time = sum(step.duration_s for step in result.steps)
    for group, element in suites.items():
        tests, failed, skip = counts.get(group, [0, 0, 0])
        element.set("time", f"{step_time if group == 'steps' else 0.0:.3f}")
        element.set("tests", str(tests))
        element.set("failures", str(failed))
        element.set("errors", "0")
        element.set("skipped", str(skip))
        element.set("timestamp", result.started_at)
        total, failures, skipped = total + tests, failures + failed, skipped + skip
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("skipped", str(skipped))
    duration = (result.clock.time_to_contain_s or 0.0) + (result.clock.time_to_restore_s or 0.0)
    root.set("time", f"{duration:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
