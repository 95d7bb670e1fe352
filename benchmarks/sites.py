"""Site workers measured on this machine (docs/scale.md): journal fsync rate, broker round trip,
and devices/s of one containment with the devices driven directly, by 1 site worker and by 2.

    .venv/bin/python benchmarks/sites.py --switches 100 [--out benchmarks/results/sites.json]

Needs redis-server (scripts/netlab-deps.sh). Everything listens on 127.0.0.1 only; the lab,
redis-server and the workers are stopped by pid, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.containment_lab import topology  # noqa: E402
from isolate.journal import Journal, run_id_new  # noqa: E402
from isolate.lab.process import start_lab  # noqa: E402
from isolate.sites.client import SiteClient  # noqa: E402
from isolate.sites.config import BrokerTarget  # noqa: E402

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "containment.yml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fsync_rate(directory: Path, count: int = 2000) -> dict[str, float]:
    """Raw write+fsync of a 300-byte line, and the journal's own append (hash chain, schema, fsync)."""
    path = directory / "fsync.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    line = b"x" * 299 + b"\n"
    started = time.perf_counter()
    for _ in range(count):
        os.write(fd, line)
        os.fsync(fd)
    raw = count / (time.perf_counter() - started)
    os.close(fd)
    journal = Journal.create(directory / "state", run_id_new())
    zero = "0" * 64
    journal.append("run-start", user="bench", host="bench", pid=os.getpid(), command="bench", incident=None,
                   reason="", tool_version="bench", inventory={"path": "x", "sha256": zero},
                   playbook={"path": None, "name": "x", "sha256": zero}, plan_sha256=zero, overrides=[],
                   options={})  # fmt: skip
    started = time.perf_counter()
    for i in range(count):
        journal.append(
            "precheck", device=f"sw{i}", ok=True, message="ready", state=None, checks={"reachable": True}
        )
    appended = count / (time.perf_counter() - started)
    with ThreadPoolExecutor(64) as pool:  # 64 devices' threads at once: group commit
        started = time.perf_counter()
        one = {"ok": True, "message": "ready", "state": None, "checks": {"reachable": True}}
        list(pool.map(lambda i: journal.append("precheck", device=f"sw{i}", **one), range(count * 4)))
        grouped = count * 4 / (time.perf_counter() - started)
    journal.close()
    return {"raw_fsync_per_s": round(raw), "journal_appends_per_s_serial": round(appended),
            "journal_appends_per_s_64_threads": round(grouped)}  # fmt: skip


def start_redis(directory: Path, password: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = directory / "redis.conf"
    conf.write_text(
        f'bind 127.0.0.1\nport {port}\nrequirepass {password}\nsave ""\nappendonly no\n'
        f"dir {directory}\nlogfile {directory / 'redis.log'}\n"
    )
    conf.chmod(0o600)
    proc = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", str(conf)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("redis-server did not start")


def broker_rtt(broker: BrokerTarget, count: int = 200) -> dict[str, float]:
    """Redis PING, and one isolate call to a site worker and back (no device touched)."""
    client = SiteClient(broker)
    pings = []
    for _ in range(count):
        t = time.perf_counter()
        client.redis.ping()
        pings.append(time.perf_counter() - t)
    calls = []
    client.ping("s1")  # warm: the producer connection
    for _ in range(count):
        t = time.perf_counter()
        client.ping("s1")
        calls.append(time.perf_counter() - t)
    with ThreadPoolExecutor(64) as pool:  # 64 controller threads at once
        started = time.perf_counter()
        list(pool.map(lambda _: client.ping("s1"), range(count * 10)))
        parallel = count * 10 / (time.perf_counter() - started)
    return {
        "worker_calls_per_s_64_threads": round(parallel),
        "redis_ping_ms_median": round(statistics.median(pings) * 1000, 3),
        "worker_call_ms_median": round(statistics.median(calls) * 1000, 3),
        "worker_call_ms_p95": round(sorted(calls)[int(count * 0.95)] * 1000, 3),
        "worker_calls_per_s_serial": round(count / sum(calls)),
    }


def run_cli(args: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """Output, wall seconds and CPU seconds (user+sys) of one isolate command."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "isolate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"isolate {' '.join(args[:1])} failed ({proc.returncode}):\n{out[-3000:]}")
    return out, wall, usage.ru_utime + usage.ru_stime


def contain(inventory: Path, state: Path, env: dict[str, str], devices: int, workers: int) -> dict[str, Any]:
    out, wall, cpu = run_cli(
        [
            "apply",
            "-i",
            str(inventory),
            str(PLAYBOOK),
            "--yes",
            "--workers",
            str(workers),
            "--state-dir",
            str(state),
        ],
        env,
    )
    found = re.search(r"time to contain ([0-9.]+)s", out)
    ttc = float(found.group(1)) if found else wall
    _, rwall, _ = run_cli(["restore", "--yes", "--workers", str(workers), "--state-dir", str(state)], env)
    return {
        "devices": devices,
        "time_to_contain_s": ttc,
        "devices_per_s": round(devices / ttc, 1),
        "apply_wall_s": round(wall, 2),
        "controller_cpu_s": round(cpu, 2),
        "restore_wall_s": round(rwall, 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--switches", type=int, default=100)
    p.add_argument("--workers", type=int, default=64, help="isolate --workers (controller threads)")
    p.add_argument("--out", type=Path, default=None)
    opts = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="isolate-sites-bench-"))
    procs: list[subprocess.Popen[Any]] = []
    lab = None
    results: dict[str, Any] = {"switches": opts.switches, "cpus": os.cpu_count()}
    try:
        _, _, startup_cpu = run_cli(["--version"], dict(os.environ))
        results["cli_startup_cpu_s"] = round(startup_cpu, 2)
        results["journal"] = fsync_rate(root)
        print("journal:", results["journal"], flush=True)
        password = secrets.token_urlsafe(18)
        redis_proc, port = start_redis(root, password)
        procs.append(redis_proc)
        broker = BrokerTarget(f"redis://127.0.0.1:{port}/0", password)
        topo = root / "topology.yml"
        topo.write_text(yaml.safe_dump(topology("sites-bench", list(range(1, opts.switches + 1)), 2,
                                                with_core=True)))  # fmt: skip
        lab = start_lab(root / "lab", topo)
        data = yaml.safe_load((lab.state_dir / "inventory.yml").read_text())
        devices = len(data["devices"])
        direct = lab.state_dir / "inventory.yml"
        data["broker"] = {"url": broker.url, "password": "env:ISOLATE_BROKER_PASSWORD"}
        for device in data["devices"]:
            device["site"] = "s1"
        sited = lab.state_dir / "inventory-sites.yml"
        sited.write_text(yaml.safe_dump(data, sort_keys=False))
        env = {**os.environ, "ISOLATE_BROKER_PASSWORD": password, "ISOLATE_LOCK_DIR": str(root / "locks")}
        results["direct"] = contain(direct, root / "s-direct", env, devices, opts.workers)
        print("direct:", results["direct"], flush=True)
        for count in (1, 2):
            worker = [sys.executable, "-m", "isolate", "worker", "--site", "s1", "-i", str(sited),
                      "--concurrency", str(opts.workers)]  # fmt: skip
            for _ in range(count - sum(1 for q in procs[1:] if q.poll() is None)):
                quiet = subprocess.DEVNULL
                procs.append(subprocess.Popen(worker, env=env, stdout=quiet, stderr=quiet))
            SiteClient(broker).ping("s1", wait_s=60)
            if count == 1:
                results["broker"] = broker_rtt(broker)
                print("broker:", results["broker"], flush=True)
            results[f"workers_{count}"] = contain(sited, root / f"s-{count}", env, devices, opts.workers)
            print(f"{count} worker(s):", results[f"workers_{count}"], flush=True)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if lab is not None:
            lab.stop()
        shutil.rmtree(root, ignore_errors=True)
    if opts.out:
        opts.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
