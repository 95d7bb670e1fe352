"""A tiny run of the containment benchmark (N=5: isolate, scrapli, the raw floor and the wire, on
field-sized running-configs with 20 ms added to every reply and 1 ms per KiB of output): the
script starts its lab, every tool's work is checked in the lab's configurations, isolate's
restore brings every device back, the JSON has every figure, and no lab is left behind.
Speed is never asserted."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "containment.py"
FIGURES = {"n", "devices", "tool", "wall_s", "devices_per_s", "ratio_to_isolate", "ratio_to_floor",
           "peak_rss_mb", "lab_cpu_s", "tool_cpu_s", "load_1m_before", "verified", "extrapolated"}


def _lab_pids(root: Path) -> list[int]:
    pids = []
    for pid_file in root.glob("n*/shard*/lab.pid"):
        pids.append(int(pid_file.read_text().strip()))
    return pids


@pytest.mark.slow
def test_containment_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "containment.json"
    work = tmp_path / "work"
    lab_dir = tmp_path / "lab"  # the lab's own directory (by default on tmpfs)
    env = {**os.environ, "ISOLATE_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "5", "--tools", "isolate,scrapli,floor,wire",
         "--latency-ms", "20", "--per-kb-ms", "1", "--root", str(work),
         "--lab-dir", str(lab_dir), "--out", str(out),
         "--journal-repeats", "2", "--timeout", "300"],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT, check=False,
    )
    try:
        assert proc.returncode == 0, proc.stderr[-2000:]
        report = json.loads(out.read_text())
        tools = {r["tool"]: r for r in report["rows"]}
        assert set(tools) == {"isolate", "isolate-restore", "isolate-nofsync", "scrapli", "floor", "wire"}
        for row in report["rows"]:
            assert set(row) >= FIGURES, row
            assert row["verified"], row
            assert row["devices"] == 6  # five access switches and the core
            assert row["wall_s"] > 0
        assert tools["isolate"]["status"] == "ok" and tools["isolate"]["plan_s"] >= 0
        assert tools["isolate"]["ratio_to_isolate"] == 1.0
        assert report["command"].startswith("python benchmarks/containment.py --sizes 5")
        assert "isolate_over_floor" in report["goals"] and "isolate_vs_scrapli" in report["goals"]
        assert report["goals_by_n"]["5"]["at_n"] == 5
        split = report["goals"]["split_over_floor"]  # the wire run splits isolate over the floor
        assert split["round_trips"] > 0 and split["isolate_work"] > 0
        options = report["options"]
        assert (options["config"], options["latency_reply_ms"], options["latency_per_kb_ms"]) == (
            "realistic", 20.0, 1.0)
        (sizes,) = report["running_configs"]  # the five switches' and the core's running-configs
        assert sizes["n"] == 5 and sizes["lines_min"] >= 200 and 300 <= sizes["lines_median"] <= 800
        journal = report["goals"]["journal_overhead_pct"]  # two pairs, back to back, order alternating
        assert [p["first"] for p in tools["isolate"]["journal_runs"]["pairs"]] == ["with", "without"]
        assert len(journal["pairs_pct"]) == 2 and journal["runs"] == 2
        assert options["lab_dir"].startswith(str(lab_dir))
        assert "isolate    " in proc.stdout or "isolate " in proc.stdout
    finally:
        for pid in _lab_pids(lab_dir):  # the script stops its labs; make sure, by pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)
    assert not [p for p in _lab_pids(lab_dir) if Path(f"/proc/{p}").exists()]


def test_containment_benchmark_refuses_a_bad_thread_count_list(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "5", "--nornir-workers", "20,zero", "--root", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )
    assert proc.returncode == 2
    assert "--nornir-workers: '20,zero' is not a comma-separated list of positive counts" in proc.stderr
