"""The containment benchmark's table and its goals (issue 8), from the result rows."""

from __future__ import annotations

from statistics import median
from typing import Any

GIB_MB = 1024.0
INCOMPLETE = "not comparable (a run it compares did not do all its work)"


def _at(rows: list[dict[str, Any]], n: int, tool: str) -> dict[str, Any] | None:
    """``tool``'s row at N = ``n``; a peer measured at several settings (Nornir's thread
    counts) is compared at its best: the fastest run that did all its work, else the fastest."""
    found = [r for r in rows if r["n"] == n and r["tool"] == tool]
    if len(found) <= 1:
        return found[0] if found else None
    return min(found, key=lambda r: (_undone(r), r.get("wall_s") or float("inf")))


def _wall(row: dict[str, Any] | None) -> float | None:
    return None if row is None else row.get("wall_s")


def _undone(row: dict[str, Any] | None) -> bool:
    """A measured run whose work was not all found in the lab: its time compares nothing."""
    return row is not None and not row.get("extrapolated") and not row.get("verified")


def _met(value: bool, *rows: dict[str, Any] | None) -> bool | None:
    """Met or not; None when isolate or the tool compared did not do all its work."""
    return None if any(_undone(r) for r in rows) else value


def goals(rows: list[dict[str, Any]], *, at: int | None = None) -> dict[str, Any]:
    """Each goal (issues 8 and 20) at N = ``at`` (default: the largest N measured): the figure,
    the target, met or not — or ``None`` (not comparable) when a run it compares did not do
    all its work (a peer that failed on some devices is not slower, it is incomplete)."""
    if not rows:
        return {}
    n = at if at is not None else max(r["n"] for r in rows)
    iso = _wall(_at(rows, n, "isolate"))
    out: dict[str, Any] = {"at_n": n}

    def ratio(tool: str, target: float, key: str) -> None:
        other = _at(rows, n, tool)
        wall = _wall(other)
        if iso and wall:
            value = wall / iso
            out[key] = {"value": round(value, 2), "target": f">= {target}",
                        "met": _met(value >= target, other, _at(rows, n, "isolate")),
                        "extrapolated": bool(other and other.get("extrapolated"))}
            if other and other.get("workers") and tool != "ansible":
                out[key]["peer_workers"] = other["workers"]  # the setting compared
                out[key]["peer_settings"] = sum(1 for r in rows if r["n"] == n and r["tool"] == tool)

    ratio("ansible", 10.0, "isolate_vs_ansible")
    ratio("nornir", 1.5, "isolate_vs_nornir")
    ratio("scrapli", 1.0, "isolate_vs_scrapli")
    floor = _wall(_at(rows, n, "floor"))
    if iso and floor:
        value = iso / floor
        met = _met(value <= 2.0, _at(rows, n, "floor"), _at(rows, n, "isolate"))
        out["isolate_over_floor"] = {"value": round(value, 2), "target": "<= 2", "met": met}
    wire = _wall(_at(rows, n, "wire"))
    compared = (_at(rows, n, "isolate"), _at(rows, n, "wire"), _at(rows, n, "floor"))
    if iso and wire and floor and not any(_undone(r) for r in compared):
        # not a goal: where isolate's time over the floor goes (the product of the two)
        out["split_over_floor"] = {"round_trips": round(wire / floor, 2),
                                   "isolate_work": round(iso / wire, 2)}
    nofsync = _wall(_at(rows, n, "isolate-nofsync"))
    if iso and nofsync:
        runs = (_at(rows, n, "isolate") or {}).get("journal_runs")
        with_fsync, without = (runs["with_fsync_s"], runs["without_fsync_s"]) if runs else ([iso], [nofsync])
        a, b = median(with_fsync), median(without)
        of_medians = 100.0 * (a - b) / b if b else 0.0
        pairs = (runs or {}).get("pairs") or []
        # the median of the pairs' overheads (each pair's two runs back to back, docs/benchmarks.md);
        # a file written before pairs existed: the overhead of the medians
        per_pair = [100.0 * (p["with_fsync_s"] - p["without_fsync_s"]) / p["without_fsync_s"]
                    for p in pairs if p["without_fsync_s"]]
        value = median(per_pair) if per_pair else of_medians
        out["journal_overhead_pct"] = {"value": round(value, 1), "target": "< 5", "met": value < 5.0,
                                       "runs": len(without), "pairs_pct": [round(v, 1) for v in per_pair],
                                       "of_medians_pct": round(of_medians, 1)}
    row = _at(rows, n, "isolate")
    if row is not None:
        rss = row["peak_rss_mb"]
        out["isolate_peak_rss_mb"] = {"value": rss, "target": f"< {GIB_MB:.0f}", "met": rss < GIB_MB}
    per_device = sorted((r["n"], r["wall_s"] / r["devices"]) for r in rows
                        if r["tool"] == "isolate" and r["wall_s"])
    if len(per_device) >= 2:
        first, last = per_device[0][1], per_device[-1][1]
        out["isolate_s_per_device"] = {"by_n": {str(k): round(v, 4) for k, v in per_device},
                                       "growth_last_over_first": round(last / first, 2)}
    return out


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _setting(goal: dict[str, Any]) -> str:
    """The peer's setting compared: its best when it was measured at several."""
    if not goal.get("peer_workers"):
        return ""
    settings = goal.get("peer_settings", 1)
    best = f", its best of {settings} settings" if settings > 1 else ""
    return f" (peer at {goal['peer_workers']} at once{best})"


def _split(split: dict[str, Any]) -> str:
    return (f"isolate over the floor, split: its round trips (wire) {split['round_trips']:.2f}x the floor, "
            f"its own work {split['isolate_work']:.2f}x the wire")


def _label(row: dict[str, Any]) -> str:
    """A peer's name with how many devices it ran at once (Nornir's threads, scrapli's sessions)."""
    workers = row.get("workers")
    peer = workers and row["tool"] in ("nornir", "scrapli")
    return f"{row['tool']} ({workers} at once)" if peer else str(row["tool"])


def render_table(report: dict[str, Any]) -> str:
    head = ["N", "tool", "wall s", "dev/s", "x isolate", "x floor", "peak RSS MB", "tool CPU s",
            "lab CPU s", "lab CPU %", "checked"]
    lines = [head]
    for r in report["rows"]:
        tool = _label(r) + (" (extrapolated)" if r["extrapolated"] else "")
        checked = "extrapolated" if r["extrapolated"] else ("ok" if r["verified"] else "FAILED")
        lines.append([str(r["n"]), tool, _fmt(r["wall_s"]), _fmt(r["devices_per_s"], 1),
                      _fmt(r.get("ratio_to_isolate")), _fmt(r.get("ratio_to_floor")),
                      _fmt(r["peak_rss_mb"], 0), _fmt(r.get("tool_cpu_s"), 1), _fmt(r["lab_cpu_s"], 1),
                      _fmt(r["lab_cpu_pct"], 0),
                      checked])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    text = ["  ".join(cell.rjust(w) if i != 1 else cell.ljust(w) for i, (cell, w) in
                      enumerate(zip(row, widths, strict=True))) for row in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    out = ["\n".join(text), "", "Goals at N = " + str(report["goals"].get("at_n", "-")) + ":"]
    for key, goal in report["goals"].items():
        if isinstance(goal, dict) and "met" in goal:
            mark = {True: "met", False: "NOT met", None: INCOMPLETE}[goal["met"]]
            extra = " (extrapolated)" if goal.get("extrapolated") else ""
            extra += _setting(goal)
            out.append(f"  {key}: {goal['value']} (target {goal['target']}) {mark}{extra}")
        elif key == "split_over_floor":
            out.append(f"  {_split(goal)}")
        elif isinstance(goal, dict):
            out.append(f"  {key}: {goal}")
    return "\n".join(out)


def render_markdown(report: dict[str, Any]) -> str:
    """The table and goals as Markdown (for docs/benchmarks.md)."""
    head = ("| N | tool | wall s | devices/s | × isolate | × floor | peak RSS MB | tool CPU s "
            "| lab CPU s | checked |")
    rule = "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
    lines = [head, rule]
    for r in report["rows"]:
        tool = _label(r) + (" *(extrapolated)*" if r["extrapolated"] else "")
        checked = "—" if r["extrapolated"] else ("yes" if r["verified"] else "**no**")
        cells = [str(r["n"]), tool, _fmt(r["wall_s"]), _fmt(r["devices_per_s"], 1),
                 _fmt(r.get("ratio_to_isolate")), _fmt(r.get("ratio_to_floor")),
                 _fmt(r["peak_rss_mb"], 0), _fmt(r.get("tool_cpu_s"), 1), _fmt(r["lab_cpu_s"], 1), checked]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Goals at N = {report['goals'].get('at_n', '-')}:", ""]
    for key, goal in report["goals"].items():
        if isinstance(goal, dict) and "met" in goal:
            mark = {True: "met", False: "**not met**", None: INCOMPLETE}[goal["met"]]
            extra = " (Ansible extrapolated)" if goal.get("extrapolated") else ""
            extra += _setting(goal)
            lines.append(f"- `{key}`: {goal['value']} (target {goal['target']}) — {mark}{extra}")
        elif key == "split_over_floor":
            lines.append(f"- {_split(goal)}")
        elif isinstance(goal, dict):
            lines.append(f"- `{key}`: {goal}")
    return "\n".join(lines)
