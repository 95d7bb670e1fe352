"""Inline SVG pictures for report.html: the timeline, the clock and the flow matrix.

Every text that comes from an inventory, a playbook or a device is escaped; the SVG
is plain markup with no script, meant to be inlined in one self-contained page.
"""

from __future__ import annotations

import math
from html import escape

from isolate.natsort import natural_key
from isolate.reports.model import Clock, FlowRow, Span, fmt_seconds

PALETTE = ("#2f6fb5", "#2e9e6a", "#b5762f", "#7a4fb5", "#b52f6f", "#2fa3b5", "#6b8e23", "#8b5a2b")
TIP_FLOWS = 8  # a cell's tooltip lists its flows up to this many, else counts them
OPEN, BLOCKED, PARTIAL, NONE = "#3a9d5d", "#c8432f", "#e0a030", "#f2f2f2"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _ticks(limit: float) -> list[float]:
    """About six round tick values from 0 to ``limit``."""
    if limit <= 0:
        return [0.0]
    raw = limit / 6
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(limit / step) + 1)]


def timeline_svg(spans: tuple[Span, ...], steps: tuple[str, ...], *, contain_s: float | None) -> str:
    """One row per device; one bar per step it worked (apply) and per restore; a line at contain."""
    devices = sorted({s.device for s in spans})
    if not devices:
        return '<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="600" height="40">' \
               '<text x="10" y="25">no device work was journaled</text></svg>'
    colours = {step: PALETTE[i % len(PALETTE)] for i, step in enumerate(steps)}
    label_w, row_h, top, width = 150, 22, 30, 900
    plot_w = width - label_w - 20
    limit = max(max(s.end_s for s in spans), contain_s or 0.0) * 1.05 or 1.0
    height = top + row_h * len(devices) + 50

    def x(t: float) -> float:
        return label_w + plot_w * max(0.0, t) / limit

    out = [
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        "<title>Timeline per device and step, seconds from apply start</title>",
    ]
    for tick in _ticks(limit):
        out.append(f'<line x1="{x(tick):.1f}" y1="{top - 5}" x2="{x(tick):.1f}" '
                   f'y2="{height - 40}" stroke="#ddd"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{top - 10}" text-anchor="middle">{tick:g}s</text>')
    for row, device in enumerate(devices):
        y = top + row * row_h
        out.append(
            f'<text class="device" x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(device)}</text>'
        )
        for span in (s for s in spans if s.device == device):
            x0, x1 = x(span.start_s), x(span.end_s)
            fill = colours.get(span.step, "#888") if span.phase == "apply" else "#9aa5b1"
            if span.phase == "precheck":
                fill = "#c9d3dd"
            stroke = ' stroke="#c8432f" stroke-width="2"' if not span.ok else ""
            tip = f"{device} · {span.phase} {span.step} · {span.start_s:.3f}s → {span.end_s:.3f}s"
            tip += "" if span.ok else f" · FAILED: {span.message}"
            out.append(
                f'<rect class="span {span.phase}" x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 2):.1f}" '
                f'height="{row_h - 6}" fill="{fill}"{stroke}><title>{_e(tip)}</title></rect>'
            )
    if contain_s is not None:
        cx = x(contain_s)
        out.append(f'<line id="contained" x1="{cx:.1f}" y1="{top - 5}" x2="{cx:.1f}" y2="{height - 40}" '
                   'stroke="#000" stroke-dasharray="4 3"/>')
        label = _e(fmt_seconds(contain_s))
        out.append(f'<text x="{cx + 4:.1f}" y="{height - 42}">contained at {label}</text>')
    legend_y, lx = height - 18, float(label_w)
    for step, colour in [*colours.items(), ("restore", "#9aa5b1"), ("pre-check", "#c9d3dd")]:
        out.append(f'<rect x="{lx:.0f}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 14:.0f}" y="{legend_y}">{_e(step)}</text>')
        lx += 24 + 7 * len(step)
    out.append("</svg>")
    return "\n".join(out)


def clock_svg(clock: Clock) -> str:
    """Time-to-contain and time-to-restore on a log scale, with the 4 and 40 minute marks."""
    width, height, left, right = 900, 130, 130, 30
    lo, hi = 0.1, max(clock.budget_s, clock.median_family_s, clock.time_to_contain_s or 0,
                      clock.time_to_restore_s or 0) * 1.2

    def x(t: float) -> float:
        t = min(max(t, lo), hi)
        span = math.log10(hi) - math.log10(lo)
        return left + (width - left - right) * (math.log10(t) - math.log10(lo)) / span

    out = [
        f'<svg id="clock" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        "<title>Time to contain against the encryption clock (log scale)</title>",
    ]
    out.append(f'<text x="{width - right}" y="{height - 6}" text-anchor="end" fill="#888">log scale</text>')
    for tick, name in ((1, "1 s"), (10, "10 s"), (60, "1 min"), (600, "10 min")):
        out.append(f'<line x1="{x(tick):.1f}" y1="15" x2="{x(tick):.1f}" y2="{height - 20}" stroke="#eee"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{height - 6}" text-anchor="middle" fill="#888">{name}</text>')
    marks = ((clock.fastest_family_s, "fastest ransomware family", "#e0a030", 12),
             (clock.budget_s, "budget", "#c8432f", 26))
    for value, name, colour, label_y in marks:
        out.append(f'<line x1="{x(value):.1f}" y1="{label_y - 8}" x2="{x(value):.1f}" y2="{height - 20}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{x(value) - 4:.1f}" y="{label_y}" text-anchor="end" fill="{colour}">'
                   f'{_e(name)} {_e(fmt_seconds(value))}</text>')
    bars = (("time to contain", clock.time_to_contain_s, 40),
            ("time to restore", clock.time_to_restore_s, 70))
    for name, measured, y in bars:
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{name}</text>')
        if measured is None:
            out.append(f'<text x="{left + 4}" y="{y + 13}">not measured</text>')
            continue
        value = measured
        colour = OPEN if value <= clock.budget_s else BLOCKED
        out.append(f'<rect class="bar" x="{left}" y="{y}" width="{x(value) - left:.1f}" height="18" '
                   f'fill="{colour}"><title>{_e(name)}: {_e(fmt_seconds(value))}</title></rect>')
        out.append(f'<text x="{x(value) + 4:.1f}" y="{y + 13}">{_e(fmt_seconds(value))}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _state_colour(values: list[bool | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return NONE
    if all(known):
        return OPEN
    if not any(known):
        return BLOCKED
    return PARTIAL


def matrix_svg(flows: tuple[FlowRow, ...]) -> str:
    """Source × destination grid; each cell split in three: before, during, after.

    Green: every flow of the pair passes; red: none does; amber: some do. A cell whose flows
    did not do what containment or restore required is outlined in black.
    """
    if not flows:
        return '<svg id="flow-matrix" xmlns="http://www.w3.org/2000/svg" width="600" height="40">' \
               '<text x="10" y="25">no flow matrix (not a lab drill)</text></svg>'
    srcs = sorted({f.src for f in flows}, key=natural_key)
    dsts = sorted({f.dst for f in flows}, key=natural_key)
    pairs: dict[tuple[str, str], list[FlowRow]] = {}
    for flow in flows:
        pairs.setdefault((flow.src, flow.dst), []).append(flow)
    cell, left, top = 27, 140, 140
    width, height = left + cell * len(dsts) + 20, top + cell * len(srcs) + 20
    out = [
        f'<svg id="flow-matrix" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">',
        "<title>Flow matrix: source rows, destination columns; each cell before | during | after</title>",
    ]
    for col, dst in enumerate(dsts):
        cx = left + col * cell + cell / 2
        out.append(f'<text x="{cx:.1f}" y="{top - 6}" '
                   f'transform="rotate(-60 {cx:.1f} {top - 6})">{_e(dst)}</text>')
    for row, src in enumerate(srcs):
        y = top + row * cell
        out.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{_e(src)}</text>')
        for col, dst in enumerate(dsts):
            x0 = left + col * cell
            group = pairs.get((src, dst))
            if not group:
                out.append(f'<rect x="{x0}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{NONE}"/>')
                continue
            third = (cell - 2) / 3
            for i, attr in enumerate(("before", "during", "after")):
                colour = _state_colour([getattr(f, attr) for f in group])
                out.append(f'<rect x="{x0 + i * third:.1f}" y="{y}" width="{third:.1f}" height="{cell - 2}" '
                           f'fill="{colour}"/>')
            wrong = [f for f in group if not f.as_expected]
            tip = _tip(group, wrong)
            outline = ' stroke="#000" stroke-width="2.5"' if wrong else ""
            klass = "cell wrong" if wrong else "cell"
            out.append(f'<rect class="{klass}" x="{x0}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                       f'fill="none"{outline}><title>{_e(src)} → {_e(dst)}: {_e(tip)}</title></rect>')
    out.append("</svg>")
    return "\n".join(out)


def _tip(group: list[FlowRow], wrong: list[FlowRow]) -> str:
    """Each flow of a small cell; counts for a big one (a segment pair holds thousands)."""
    if len(group) <= TIP_FLOWS:
        return "; ".join(
            f"{f.port}/{f.proto}{' ' + f.service if f.service else ''}: "
            f"{'open' if f.before else 'blocked'} → {_word(f.during)} → {_word(f.after)}"
            f"{' (expected ' + f.expect + ')' if f.expect != 'none' else ''}"
            for f in group
        )
    opened = sum(1 for f in group if f.before)
    cut = sum(1 for f in group if f.before and f.during is False)
    back = sum(1 for f in group if f.before and f.after)
    return (
        f"{len(group)} flows: {opened} open before, {cut} blocked during, {back} open after; "
        f"{len(wrong)} not as expected"
    )


def _word(value: bool | None) -> str:
    return "?" if value is None else ("open" if value else "blocked")
