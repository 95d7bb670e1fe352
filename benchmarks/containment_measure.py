"""Measuring a tool's run from outside: wall time, peak RSS of its process tree, lab CPU."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, now."""
    tree = _children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += tree.get(pid, [])
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


class PeakRss:
    """Samples a process tree's total RSS every ``interval_s`` until stopped; keeps the peak."""

    def __init__(self, pid: int, interval_s: float = 0.2) -> None:
        self.pid, self.interval_s, self.peak = pid, interval_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval_s)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


@dataclass(frozen=True)
class ToolRun:
    result: dict[str, Any]
    peak_rss_mb: float
    lab_cpu_s: float
    tool_cpu_s: float  # user + system CPU of the tool's whole process tree, start-up included
    elapsed_s: float  # the child's whole life (start-up and imports included)
    load_before: float = 0.0  # the machine's 1-minute load average when the tool started


def run_tool(args: list[str], lab_pids: list[int], *, timeout_s: float) -> ToolRun:
    """Run ``containment_tools.py`` with ``args`` in a child; measure it and the lab."""
    script = Path(__file__).with_name("containment_tools.py")
    load = os.getloadavg()[0]
    before = sum(cpu_s(pid) for pid in lab_pids)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sampler = PeakRss(proc.pid)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n(killed after {timeout_s:.0f} s)"
    except BaseException:  # the benchmark stopped (SIGTERM, Ctrl-C): the tool must not outlive it
        proc.kill()
        proc.wait()
        sampler.stop()
        raise
    peak = sampler.stop()
    elapsed = time.perf_counter() - started
    lab_cpu = sum(cpu_s(pid) for pid in lab_pids) - before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tool_cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = " | ".join(err.strip().splitlines()[-3:])
        result: dict[str, Any] = {"status": "crashed", "wall_s": None, "failed": [], "error": tail[:500]}
    else:
        result = json.loads(lines[-1])
    return ToolRun(result, round(peak / 2**20, 1), round(lab_cpu, 2), round(tool_cpu, 2), round(elapsed, 2),
                   round(load, 2))
