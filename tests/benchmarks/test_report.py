"""The benchmark's goals: a ratio against a run that did not do all its work is not a goal met
(a peer that failed on some devices is incomplete, not slow)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "containment_report.py"
_SPEC = importlib.util.spec_from_file_location("containment_report", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
report_module = importlib.util.module_from_spec(_SPEC)
sys.modules["containment_report"] = report_module
_SPEC.loader.exec_module(report_module)
goals = report_module.goals
render_markdown = report_module.render_markdown
render_table = report_module.render_table


def _row(tool: str, wall: float, *, verified: bool = True) -> dict[str, Any]:
    return {"n": 1000, "tool": tool, "wall_s": wall, "devices": 1000, "verified": verified,
            "extrapolated": False, "peak_rss_mb": 300.0, "devices_per_s": 1000 / wall, "lab_cpu_s": 1.0,
            "lab_cpu_pct": 50.0}


def test_a_failed_peer_makes_its_goal_not_comparable() -> None:
    rows = [_row("isolate", 30.0), _row("nornir", 140.0, verified=False), _row("scrapli", 90.0),
            _row("floor", 8.0)]
    found = goals(rows)
    assert found["isolate_vs_nornir"]["met"] is None and found["isolate_vs_nornir"]["value"] == 4.67
    assert found["isolate_vs_scrapli"]["met"] is True
    assert found["isolate_over_floor"]["met"] is False
    report = {"rows": rows, "goals": found}
    table = render_table(report)
    said = "isolate_vs_nornir: 4.67 (target >= 1.5) not comparable (a run it compares did not do all its work"
    assert said in table
    assert "`isolate_vs_nornir`: 4.67 (target >= 1.5) — not comparable" in render_markdown(report)


def test_an_incomplete_isolate_run_meets_no_goal() -> None:
    found = goals([_row("isolate", 3.0, verified=False), _row("nornir", 30.0), _row("floor", 2.0)])
    assert found["isolate_vs_nornir"]["met"] is None and found["isolate_over_floor"]["met"] is None


def test_a_peer_measured_at_several_settings_is_compared_at_its_best_complete_run() -> None:
    """Nornir at 20 and 100 threads: the faster run that did all its work is the one compared
    (a faster run that failed on some devices is not), and the goal names its setting."""
    rows = [_row("isolate", 30.0), {**_row("nornir", 50.0, verified=False), "workers": 100},
            {**_row("nornir", 80.0), "workers": 20}, {**_row("nornir", 95.0), "workers": 50},
            _row("floor", 8.0)]
    found = goals(rows)
    assert found["isolate_vs_nornir"] == {"value": 2.67, "target": ">= 1.5", "met": True,
                                          "extrapolated": False, "peer_workers": 20, "peer_settings": 3}
    report = {"rows": rows, "goals": found}
    said = "isolate_vs_nornir: 2.67 (target >= 1.5) met (peer at 20 at once, its best of 3 settings)"
    assert said in render_table(report)
    assert "nornir (100 at once)" in render_table(report)


def test_a_peer_that_never_completed_is_compared_at_its_fastest_run_and_not_comparable() -> None:
    rows = [_row("isolate", 30.0), {**_row("nornir", 140.0, verified=False), "workers": 100},
            {**_row("nornir", 120.0, verified=False), "workers": 20}]
    found = goals(rows)
    assert found["isolate_vs_nornir"]["value"] == 4.0 and found["isolate_vs_nornir"]["met"] is None
    assert found["isolate_vs_nornir"]["peer_workers"] == 20


def test_isolate_over_the_floor_is_split_into_round_trips_and_its_own_work() -> None:
    """The wire tool (isolate's round trips alone) splits isolate's time over the floor; a wire
    run that did not do all its work splits nothing."""
    rows = [_row("isolate", 12.0), _row("wire", 5.0), _row("floor", 4.0)]
    found = goals(rows)
    assert found["split_over_floor"] == {"round_trips": 1.25, "isolate_work": 2.4}
    said = ("isolate over the floor, split: its round trips (wire) 1.25x the floor, "
            "its own work 2.40x the wire")
    assert said in render_table({"rows": rows, "goals": found})
    assert said in render_markdown({"rows": rows, "goals": found})
    assert "split_over_floor" not in goals([_row("isolate", 12.0), _row("wire", 5.0, verified=False),
                                             _row("floor", 4.0)])
