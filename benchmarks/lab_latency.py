"""Embedded-lab start-up time and per-session latency (a benchmark, not a test).

    .venv/bin/python benchmarks/lab_latency.py [--sizes 10,100,1000] [--sessions 200]
        [--concurrency 100] [--netmiko 20]

For each size N (access switches of the city topology), starts a lab, measures the
time until every port accepts, then runs ``--sessions`` asyncssh PTY sessions
(``--concurrency`` at once: connect, login, ``enable``, ``terminal length 0``,
``show vlan brief``, ``exit``) and ``--netmiko`` netmiko cisco_ios sessions (up to
100 threads: connect, enable, show vlan brief). Prints a table and writes
benchmarks/results/lab_latency.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncssh
from netmiko import ConnectHandler

from isolate.lab.process import LabHandle, start_lab

RESULTS = Path(__file__).parent / "results" / "lab_latency.json"


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


async def _one_session(lab: LabHandle, name: str) -> float:
    start = time.perf_counter()
    async with asyncssh.connect("127.0.0.1", lab.port(name), username=lab.credentials.username,
                                password=lab.credentials.password, known_hosts=None) as conn:
        stdin, stdout, _ = await conn.open_session(term_type="vt100")
        await stdout.readuntil(">")
        script = [("enable\n", "Password: "), (lab.credentials.enable + "\n", "#"),
                  ("terminal length 0\n", "#"), ("show vlan brief\n", "trnet-default"),
                  ("", "#")]
        for text, until in script:
            if text:
                stdin.write(text)
            await stdout.readuntil(until)
        stdin.write("exit\n")
    return time.perf_counter() - start


async def _sessions(lab: LabHandle, names: list[str], concurrency: int) -> list[float]:
    gate = asyncio.Semaphore(concurrency)

    async def run(name: str) -> float:
        async with gate:
            return await _one_session(lab, name)

    return list(await asyncio.gather(*(run(n) for n in names)))


def _netmiko_one(lab: LabHandle, name: str) -> float:
    start = time.perf_counter()
    conn = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=lab.port(name),
                          username=lab.credentials.username, password=lab.credentials.password,
                          secret=lab.credentials.enable, fast_cli=True)
    conn.enable()
    conn.send_command("show vlan brief")
    conn.disconnect()
    return time.perf_counter() - start


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"n": len(values), "mean_s": statistics.fmean(values),
            "p50_s": ordered[len(ordered) // 2],
            "p95_s": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
            "max_s": ordered[-1]}


def measure(size: int, sessions: int, concurrency: int, netmiko_n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="isolate-bench-lab-") as state:
        started = time.perf_counter()
        lab = start_lab(state, "city", devices=size)
        startup = time.perf_counter() - started
        try:
            rss_idle = _rss_kb(lab.pid)
            ios = [n for n in lab.ports if n.startswith(("acc", "core"))]
            names = [ios[i % len(ios)] for i in range(sessions)]
            cpu0, wall0 = _cpu_s(lab.pid), time.perf_counter()
            latencies = asyncio.run(_sessions(lab, names, concurrency))
            wall = time.perf_counter() - wall0
            cpu = _cpu_s(lab.pid) - cpu0
            nm_names = [ios[i % len(ios)] for i in range(netmiko_n)]
            nm_wall = time.perf_counter()
            with ThreadPoolExecutor(min(100, max(1, netmiko_n))) as pool:
                nm = list(pool.map(lambda n: _netmiko_one(lab, n), nm_names))
            nm_wall = time.perf_counter() - nm_wall
            return {
                "devices": len(lab.ports), "startup_s": startup, "rss_idle_kb": rss_idle,
                "rss_after_kb": _rss_kb(lab.pid), "asyncssh_sessions": _stats(latencies),
                "asyncssh_wall_s": wall, "asyncssh_sessions_per_s": sessions / wall,
                "lab_cpu_s": cpu, "concurrency": concurrency, "netmiko_sessions": _stats(nm),
                "netmiko_threads": min(100, max(1, netmiko_n)),
                "netmiko_sessions_per_s": netmiko_n / nm_wall if netmiko_n else 0.0,
            }
        finally:
            lab.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--netmiko", type=int, default=200)
    ns = parser.parse_args(argv)
    rows = [measure(int(s), ns.sessions, ns.concurrency, ns.netmiko)
            for s in ns.sizes.split(",")]
    print(f"{'devices':>8} {'start s':>8} {'RSS MB':>7} {'ssh mean s':>10} {'ssh p95 s':>9} "
          f"{'sess/s':>7} {'lab CPU s':>9} {'netmiko mean s':>14} {'netmiko/s':>9}")
    for r in rows:
        a, n = r["asyncssh_sessions"], r["netmiko_sessions"]
        print(f"{r['devices']:>8} {r['startup_s']:>8.2f} {r['rss_after_kb'] / 1024:>7.1f} "
              f"{a['mean_s']:>10.3f} {a['p95_s']:>9.3f} {r['asyncssh_sessions_per_s']:>7.1f} "
              f"{r['lab_cpu_s']:>9.2f} {n.get('mean_s', 0):>14.3f} "
              f"{r['netmiko_sessions_per_s']:>9.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"python": sys.version.split()[0], "runs": rows}, indent=2)
                       + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
