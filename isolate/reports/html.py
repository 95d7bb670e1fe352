"""report.html: one self-contained page (inline CSS, inline SVG, no script, nothing fetched)."""

from __future__ import annotations

from html import escape

from isolate.reports.model import DrillResult, FlowRow, fmt_seconds
from isolate.reports.summary import (
    HOST_MATRIX_MAX,
    WRONG_SHOWN,
    by_segment,
    counts,
    segment_service_matrix,
    wrong_flows,
)
from isolate.reports.svg import clock_svg, matrix_svg, timeline_svg

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:.2em .6em;border-radius:4px;color:#fff;font-weight:bold}
.pass{background:#3a9d5d} .fail{background:#c8432f} .skip{background:#999}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em} td,th{border:1px solid #ddd;padding:.25em .5em;
text-align:left;vertical-align:top} th{background:#f4f4f4}
tr.bad td{background:#fbe9e6} code,pre{font-family:ui-monospace,monospace;font-size:.9em}
pre{background:#f7f7f7;padding:.5em;overflow-x:auto;white-space:pre-wrap}
.figures{display:flex;gap:1.5em;flex-wrap:wrap}
.figure{border:1px solid #ddd;border-radius:6px;padding:.6em 1em}
.figure b{display:block;font-size:1.5em} svg{max-width:100%;height:auto}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _badge(ok: bool, skipped: bool = False) -> str:
    if skipped:
        return '<span class="verdict skip">skip</span>'
    return '<span class="verdict pass">pass</span>' if ok else '<span class="verdict fail">FAIL</span>'


def _figures(result: DrillResult) -> str:
    clock = result.clock
    items = [
        ("time to contain", fmt_seconds(clock.time_to_contain_s)),
        ("time to restore", fmt_seconds(clock.time_to_restore_s)),
        ("budget", fmt_seconds(clock.budget_s)),
        ("restored", result.restored_label),
        ("checks failed", str(len(result.failed_checks))),
    ]
    cells = "".join(f'<div class="figure" id="fig-{_e(n.replace(" ", "-"))}">{_e(n)}<b>{_e(v)}</b></div>'
                    for n, v in items)
    return f'<div class="figures">{cells}</div>'


def _checks(result: DrillResult) -> str:
    rows = []
    for check in result.checks:
        bad = not check.ok and not check.skipped
        shown = check.details[1:] if check.group == "restore" else check.details[:50]
        details = f'<pre class="diff">{_e(chr(10).join(shown))}</pre>' if shown else ""
        rows.append(
            f'<tr class="{"bad" if bad else "ok"}" data-check="{_e(check.id)}">'
            f"<td>{_badge(check.ok, check.skipped)}</td><td>{_e(check.name)}</td>"
            f"<td>{_e(check.device or '')}</td><td>{_e(check.message)}{details}</td></tr>"
        )
    return ('<table id="checks"><tr><th></th><th>check</th><th>device</th><th>result</th></tr>'
            + "".join(rows) + "</table>")


def _steps(result: DrillResult) -> str:
    rows = []
    for step in result.steps:
        for device in step.devices or ():
            problems = "".join(f"<br><code>{_e(p)}</code>" for p in device.problems)
            rows.append(
                f'<tr class="{"ok" if device.ok else "bad"}"><td>{_e(step.id)}</td><td>{_e(step.action)}</td>'
                f"<td>{_e(device.device)}</td><td>{_badge(device.ok)} {_e(device.phase)}</td>"
                f"<td>{_e(fmt_seconds(device.duration_s))}</td><td>{_e(device.message)}{problems}</td></tr>"
            )
        if step.decision:
            rows.append(
                f'<tr class="bad"><td>{_e(step.id)}</td><td colspan="5">policy: {_e(step.decision)}</td></tr>'
            )
    return ('<table id="steps"><tr><th>step</th><th>action</th><th>device</th><th>result</th><th>time</th>'
            "<th>message</th></tr>" + "".join(rows) + "</table>")


def _diff_block(diff: tuple[str, ...]) -> str:
    if not diff:
        return ""
    return f'<pre class="diff">{_e(chr(10).join(diff))}</pre>'


def _restore(result: DrillResult) -> str:
    rows = "".join(
        f'<tr class="{"ok" if r.identical else "bad"}" data-device="{_e(r.device)}"><td>{_e(r.device)}</td>'
        f"<td>{_badge(r.identical)} {'identical' if r.identical else 'NOT identical'}</td>"
        f"<td><code>{_e(r.difference)}</code>{_diff_block(r.diff)}</td></tr>"
        for r in result.restore
    )
    return ('<table id="restore"><tr><th>device</th><th>read back vs captured pre-state</th>'
            "<th>difference</th></tr>" + rows + "</table>")


def _flow_table(flows: tuple[FlowRow, ...]) -> str:
    def word(v: bool | None) -> str:
        return "–" if v is None else ("open" if v else "blocked")

    matrix = segment_service_matrix(flows)
    head = "".join(f"<th>{_e(c)}</th>" for c in matrix.columns)
    def cell(row: str, column: str) -> str:
        found = matrix.cells.get((row, column))
        if found is None:
            return "<td>–</td>"
        return f'<td class="{"bad" if found.wrong else "ok"}">{_e(found.text())}</td>'

    body = "".join(
        f"<tr><th>{_e(row)}</th>" + "".join(cell(row, c) for c in matrix.columns) + "</tr>"
        for row in matrix.rows
    )
    wrong = wrong_flows(flows)
    rows = "".join(
        f'<tr class="bad"><td>{_e(f.label)}</td><td>{_e(f.expect)}</td>'
        f"<td>{word(f.before)}</td><td>{word(f.during)}</td><td>{word(f.after)}</td></tr>"
        for f in wrong[:WRONG_SHOWN]
    )
    more = f"<p>{len(wrong) - WRONG_SHOWN} more in report.json.</p>" if len(wrong) > WRONG_SHOWN else ""
    detail = (
        f"<p>Flows that did not do what was expected ({len(wrong)}):</p>"
        '<table id="flow-changes"><tr><th>flow</th><th>expected</th><th>before</th><th>during</th>'
        f"<th>after</th></tr>{rows}</table>{more}"
        if wrong
        else '<p id="flow-changes">Every flow did what was expected (report.json lists them all).</p>'
    )
    return (
        f"<p>{_e(counts(flows))}</p>"
        "<p>Blocked during containment / open at baseline, by source segment (rows) and service "
        "(columns); <code>!N</code>: N flows did not do what was expected.</p>"
        f'<table id="flow-summary"><tr><th>from</th>{head}</tr>{body}</table>{detail}'
    )


def _matrix(flows: tuple[FlowRow, ...]) -> str:
    """Per host when the lab is small, else per segment (one cell per segment pair)."""
    hosts = {f.src for f in flows} | {f.dst for f in flows}
    if len(hosts) <= HOST_MATRIX_MAX:
        return matrix_svg(flows)
    return f"<p>Per segment (more than {HOST_MATRIX_MAX} hosts).</p>" + matrix_svg(by_segment(flows))


def render_html(result: DrillResult) -> str:
    verdict = "PASSED" if result.ok else "FAILED"
    clock = result.clock
    errors = "".join(
        f'<p class="error"><span class="verdict fail">error</span> {_e(e)}</p>' for e in result.errors
    )
    comparison = ""
    if result.comparison is not None:
        c = result.comparison
        comparison = (
            f'<h2>Compared with {_e(c.other)}</h2><p id="comparison">{_e(c.playbook)} cuts '
            f"{c.flows_cut} baseline flows; {_e(c.other)} cuts {c.other_flows_cut}: "
            f"<b>{c.extra_flows_lost} more flows lost</b>, and "
            f"these services too: {_e(', '.join(c.extra_services_lost) or 'none')}.</p>"
        )
    steps = tuple(s.id for s in result.steps)
    klass = "pass" if result.ok else "fail"
    lab = " (embedded lab)" if result.lab else ""
    ttc, budget = _e(fmt_seconds(clock.time_to_contain_s)), _e(fmt_seconds(clock.budget_s))
    body = f"""<h1>Drill {_e(result.playbook)} <span class="verdict {klass}">{verdict}</span></h1>
<p>Run <code>{_e(result.run_id or '-')}</code> ({_e(result.apply_status or 'not applied')}), incident
<code>{_e(result.incident)}</code>, inventory <code>{_e(result.inventory_path)}</code>{lab}.
Started {_e(result.started_at)}, finished {_e(result.finished_at)}. Exit code {result.exit_code}.
Journal head <code>{_e(result.journal_head or '-')}</code>.</p>
{errors}
{_figures(result)}
<h2>Against the clock</h2>
<p>Time to contain {ttc} against a budget of {budget}
(Caen, 2022: the ransomware could "encrypt all the data in forty minutes"). The fastest ransomware
family encrypts ~100k files in about {_e(fmt_seconds(clock.fastest_family_s))}.</p>
{clock_svg(clock)}
<h2>Timeline</h2>
<p>Per device: pre-check, each step's work and the restore, seconds from apply start.</p>
{timeline_svg(result.spans, steps, contain_s=clock.time_to_contain_s)}
<h2>Checks</h2>
{_checks(result)}
<h2>Steps</h2>
{_steps(result)}
<h2>Restore</h2>
<p>{_e(result.restore_message)}</p>
{_restore(result)}
<h2>Flow matrix: before | during | after</h2>
<p>Rows are sources, columns destinations; each cell shows before, during and after containment
(green open, red blocked, amber some). A black outline marks flows that did not do what was expected.</p>
{_matrix(result.flows)}
{_flow_table(result.flows) if result.flows else ''}
{comparison}
"""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>isolate drill {_e(result.playbook)}: {verdict}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{CSS}</style></head><body>\n{body}</body></html>\n"
    )
