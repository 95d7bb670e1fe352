"""report.md: the drill for a human, in Markdown."""

from __future__ import annotations

from isolate.reports.model import DrillResult, FlowRow, fmt_seconds
from isolate.reports.summary import WRONG_SHOWN, counts, segment_service_matrix, wrong_flows


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _yn(value: bool | None) -> str:
    return "–" if value is None else ("open" if value else "blocked")


def _clock(result: DrillResult) -> list[str]:
    clock = result.clock
    ttc = clock.time_to_contain_s
    verdict = f"{result.budget_label} the budget" if ttc is not None else "not measured; budget"
    faster = "faster" if clock.within_fastest else "slower"
    context = f"This drill contained {faster} than the fastest family." if ttc is not None else ""
    lines = [
        "## Against the clock",
        "",
        f"- Time to contain: **{fmt_seconds(ttc)}** ({verdict} {fmt_seconds(clock.budget_s)}: "
        "Caen's ransomware could \"encrypt all the data in forty minutes\")",
        f"- Time to restore: **{fmt_seconds(clock.time_to_restore_s)}**",
        f"- For context: the fastest ransomware family encrypts ~100k files in about "
        f"{fmt_seconds(clock.fastest_family_s)}; a median one in about {fmt_seconds(clock.median_family_s)}. "
        f"{context}",
        "",
    ]
    return lines


def _steps(result: DrillResult) -> list[str]:
    lines = ["## Steps", "", "| step | action | result | devices | time |", "|---|---|---|---|---|"]
    for step in result.steps:
        bad = [d for d in step.devices if not d.ok]
        status = "ok" if step.ok else f"FAILED ({', '.join(d.device for d in bad)})"
        lines.append(
            f"| {_cell(step.id)} | {_cell(step.action)} | {_cell(status)} | {len(step.devices)} "
            f"| {fmt_seconds(step.duration_s)} |"
        )
        for device in bad:
            lines.append(f"|  | {_cell(device.device)} | {_cell(device.message)} |  |  |")
    return [*lines, ""]


def _checks(result: DrillResult) -> list[str]:
    lines = ["## Checks", "", "| | check | result |", "|---|---|---|"]
    for check in result.checks:
        mark = "skip" if check.skipped else ("pass" if check.ok else "**FAIL**")
        lines.append(f"| {mark} | {_cell(check.name)} | {_cell(check.message)} |")
    lines.append("")
    for check in result.failed_checks:
        if check.details:
            lines.append(f"**{_cell(check.name)}**")
            lines.append("")
            if check.group == "restore" and len(check.details) > 1:
                lines += ["```diff", *check.details[1:], "```"]
            else:
                lines.extend(f"- {_cell(d)}" for d in check.details[:50])
            lines.append("")
    return lines


def _restore(result: DrillResult) -> list[str]:
    lines = ["## Restore: devices read back", "", "| device | identical to pre-state | difference |",
             "|---|---|---|"]
    for row in result.restore:
        lines.append(
            f"| {_cell(row.device)} | {'identical' if row.identical else '**NOT identical**'} "
            f"| {_cell(row.difference)} |"
        )
    return [*lines, ""]


def _flows(flows: tuple[FlowRow, ...]) -> list[str]:
    if not flows:
        return []
    matrix = segment_service_matrix(flows)
    lines = [
        "## Flows",
        "",
        counts(flows),
        "",
        "Blocked during containment / open at baseline, by source segment (rows) and service "
        "(columns); `!N`: N flows did not do what was expected.",
        "",
        "| from | " + " | ".join(_cell(c) for c in matrix.columns) + " |",
        "|---|" + "---|" * len(matrix.columns),
    ]
    for row in matrix.rows:
        cells = [matrix.cells[(row, c)].text() if (row, c) in matrix.cells else "–" for c in matrix.columns]
        lines.append(f"| {_cell(row)} | " + " | ".join(cells) + " |")
    wrong = wrong_flows(flows)
    lines.append("")
    if not wrong:
        return [*lines, "Every flow did what was expected (report.json lists them all).", ""]
    lines += [f"### Flows that did not do what was expected ({len(wrong)})", "",
              "| flow | expected | before | during | after |", "|---|---|---|---|---|"]
    for flow in wrong[:WRONG_SHOWN]:
        lines.append(
            f"| {_cell(flow.label)} | {flow.expect} | {_yn(flow.before)} | {_yn(flow.during)} "
            f"| {_yn(flow.after)} |"
        )
    if len(wrong) > WRONG_SHOWN:
        lines += ["", f"({len(wrong) - WRONG_SHOWN} more in report.json.)"]
    return [*lines, ""]


def render_markdown(result: DrillResult) -> str:
    verdict = "PASSED" if result.ok else "FAILED"
    blast = result.blast
    lines = [
        f"# Drill {_cell(result.playbook)}: {verdict}",
        "",
        f"- Run: `{result.run_id or '-'}` ({result.apply_status or 'not applied'}); "
        f"incident `{_cell(result.incident)}`",
        f"- Journal head: `{_cell(result.journal_head or '-')}`",
        f"- Inventory: `{_cell(result.inventory_path)}`{' (embedded lab)' if result.lab else ''}",
        f"- Started {result.started_at}, finished {result.finished_at}",
        f"- Restored: {result.restored_label}",
        f"- Blast radius: {blast.ports} ports, {blast.hosts} hosts, {blast.vpn_users} VPN users; "
        f"services down: {', '.join(blast.services_down) or 'none'}; "
        f"cut between segments only: {', '.join(blast.services_cut_between) or 'none'}",
        f"- Exit code: {result.exit_code}",
        "",
    ]
    for error in result.errors:
        lines.append(f"> **error:** {_cell(error)}")
    if result.errors:
        lines.append("")
    lines += _clock(result) + _steps(result) + _checks(result) + _restore(result) + _flows(result.flows)
    if result.comparison is not None:
        comp = result.comparison
        lines += [
            "## Compared with " + _cell(comp.other),
            "",
            f"{_cell(comp.playbook)} cuts {comp.flows_cut} baseline flows; {_cell(comp.other)} cuts "
            f"{comp.other_flows_cut}: {comp.extra_flows_lost} more flows lost, and these services too: "
            f"{', '.join(comp.extra_services_lost) or 'none'}.",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
