"""Time-to-contain: isolate against Ansible, Nornir and a raw-SSH floor, 10 → 1,000 devices.

    .venv/bin/python benchmarks/containment.py                # N = 10, 100, 500, 1000
    .venv/bin/python benchmarks/containment.py --full         # Ansible at every N too
    .venv/bin/python benchmarks/containment.py --sizes 5 --tools isolate,floor   # smoke

For each N, a lab of N access switches plus one L3 core (benchmarks/containment_lab.py,
sharded over ``--shards`` lab processes) and the plan of benchmarks/playbooks/
containment.yml (an SMB-blocking ACL on the core, the infected segment's ports of every
access switch moved to quarantine VLAN 999). Every tool pushes exactly the lines of that
plan, device by device, on a freshly reset lab; after each tool the lab's persisted
configurations are read and every line must be there (isolate: and after its restore,
every device must be back to its generated configuration). Each tool runs in its own
process (containment_tools.py) so its peak RSS (whole process tree) is its own.

Tools: ``isolate`` (plan, then apply: pre-checks, journal with fsync, push, read-back
verification; then restore), ``nornir`` (threaded runner, netmiko_send_config),
``floor`` (asyncssh, one connection per device, the lines in one batch, all at once),
``wire`` (isolate's round trips and nothing else: the same reads and writes, each answer read
to its prompt, no journal, no checks; isolate over it is the cost of isolate's own work, it
over the floor the cost of isolate's round trips),
``ansible`` (ansible-runner, network_cli, cli_config, forks 50; by default only at
N <= --ansible-max, larger N extrapolated linearly and labelled so). The journal's cost is
the same isolate apply with ``os.fsync`` made a no-op in the tool's process (the journal
offers no switch to turn fsync off, by design).

Writes benchmarks/results/containment.json (or ``--out``) and prints the table.
"""

from __future__ import annotations

import argparse
import atexit
import difflib
import json
import os
import platform
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.containment_lab import BenchLab, missing_lines  # noqa: E402
from benchmarks.containment_measure import ToolRun, run_tool  # noqa: E402
from benchmarks.containment_report import goals, render_table  # noqa: E402

PLAYBOOK = ROOT / "benchmarks" / "playbooks" / "containment.yml"
RESULTS = ROOT / "benchmarks" / "results" / "containment.json"
TOOLS = ("isolate", "nornir", "scrapli", "floor", "wire", "ansible")


@dataclass(frozen=True)
class Options:
    sizes: list[int]
    tools: list[str]
    full: bool
    ansible_max: int
    shards: int | None
    workers: int
    transport: str
    nornir_workers: list[int]
    scrapli_workers: int
    ansible_forks: int
    ports: int
    journal_cost: bool
    journal_repeats: int
    config: str
    latency_ms: float
    per_kb_ms: float
    root: Path
    lab_dir: Path
    lab_dir_temp: bool  # made by this run (on tmpfs): removed after each N
    timeout_s: float
    out: Path


def parse(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="benchmarks/containment.py", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10,100,500,1000", help="access-switch counts (comma-separated)")
    p.add_argument("--tools", default=",".join(TOOLS), help=f"subset of {','.join(TOOLS)}")
    p.add_argument("--full", action="store_true", help="run Ansible at every N (slow)")
    p.add_argument("--ansible-max", type=int, default=200, help="largest N Ansible runs at by default")
    p.add_argument("--shards", type=int, default=None, help="lab processes (default: 1 per 500 devices)")
    p.add_argument("--workers", type=int, default=1000,
                   help="isolate --workers (default 1000, the CLI's maximum: every device of N = 1,000 at "
                        "once; at 200 isolate's ~10 round trips per device left both cores idle a third "
                        "of the time)")
    p.add_argument("--transport", default="asyncssh", choices=["asyncssh", "netmiko"])
    p.add_argument("--nornir-workers", default="20,100",
                   help="Nornir's threaded runner, one run per value (comma-separated); the goals compare "
                        "its best complete run (default 20, Nornir's own default, and 100; at 100 on a slow "
                        "2-core machine N = 1,000 thrashed and devices timed out, at 300 it always did)")
    p.add_argument("--scrapli-workers", type=int, default=100,
                   help="scrapli: devices at a time (libscrapli polls each open session from two "
                        "threads of its own; 200 at once starved a 2-core machine)")
    p.add_argument("--ansible-forks", type=int, default=50)
    p.add_argument("--ports", type=int, default=2, help="infected ports per access switch")
    p.add_argument("--no-journal-cost", action="store_true", help="skip the fsync-off isolate run")
    p.add_argument("--journal-repeats", type=int, default=1,
                   help="pairs of isolate applies with and without fsync, back to back, order alternating "
                        "(overhead: the median of the pairs')")
    p.add_argument("--config", default="realistic", choices=["realistic", "small"],
                   help="devices' running-configs: field-sized (~380-780 lines) or the lab's bare ones")
    p.add_argument("--latency-ms", type=float, default=0.0, help="lab latency: ms added to every reply")
    p.add_argument("--per-kb-ms", type=float, default=0.0, help="lab latency: ms per KiB of output")
    p.add_argument("--root", type=Path, default=None, help="work directory (default: a temp dir)")
    p.add_argument("--lab-dir", type=Path, default=None,
                   help="the lab's device state (default: a temp dir on /dev/shm, else under --root)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per tool run")
    p.add_argument("--out", type=Path, default=RESULTS)
    ns = p.parse_args(argv)
    tools = [t.strip() for t in ns.tools.split(",") if t.strip()]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown:
        p.error(f"unknown tools: {', '.join(unknown)} (valid: {', '.join(TOOLS)})")
    nornir_workers = _counts(p, ns.nornir_workers)  # every check before a directory is made
    root = ns.root or Path(tempfile.mkdtemp(prefix="isolate-bench-"))
    lab_dir, lab_dir_temp = ns.lab_dir, False
    if lab_dir is None:
        lab_dir, lab_dir_temp = _default_lab_dir(root), True
    opts = Options([int(s) for s in ns.sizes.split(",")], tools, ns.full, ns.ansible_max, ns.shards,
                   ns.workers, ns.transport, nornir_workers, ns.scrapli_workers,
                   ns.ansible_forks,
                   ns.ports, not ns.no_journal_cost, max(1, ns.journal_repeats), ns.config, ns.latency_ms,
                   ns.per_kb_ms, root, lab_dir, lab_dir_temp, ns.timeout, ns.out)
    return opts


def _counts(p: argparse.ArgumentParser, text: str) -> list[int]:
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        p.error(f"--nornir-workers: {text!r} is not a comma-separated list of positive counts")
    return counts


def _default_lab_dir(root: Path) -> Path:
    """The lab's device state on tmpfs when the machine has one: a device's flash is not the
    admin station's disk. On the same disk, every fsync of isolate's journal also flushed the
    lab's device snapshots (a 40 KB file per changed line, ~300 MB per run at N = 1,000), a cost
    of the lab that only the one tool that fsyncs paid."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="isolate-bench-lab-", dir=shm))
    return root / "lab"


def _work_file(lab: BenchLab, directory: Path) -> tuple[Path, dict[str, list[str]], float]:
    """Plan once; every device's lines (all steps, in order) for the other tools."""
    from isolate import api

    started = time.perf_counter()
    _, built = api.plan(lab.inventory, PLAYBOOK)
    plan_s = time.perf_counter() - started
    lines: dict[str, list[str]] = {}
    for step in built.steps:
        for change in step.changes:
            lines.setdefault(change.device, []).extend(change.commands)
    import yaml

    inventory = yaml.safe_load(lab.inventory.read_text())
    ports = {d["name"]: int(d["port"]) for d in inventory["devices"]}
    creds = lab.credentials()
    work = {
        "inventory": str(lab.inventory), "playbook": str(PLAYBOOK), "host": "127.0.0.1",
        "username": creds["username"], "password": creds["password"], "enable": creds["enable"],
        "devices": [{"name": n, "port": ports[n], "lines": lines[n]} for n in sorted(lines)],
    }
    path = directory / "work.json"
    path.write_text(json.dumps(work))
    path.chmod(0o600)
    return path, lines, plan_s


def _refresh_ports(work: Path) -> None:
    import yaml

    data = json.loads(work.read_text())
    inventory = yaml.safe_load(Path(data["inventory"]).read_text())
    ports = {d["name"]: int(d["port"]) for d in inventory["devices"]}
    for device in data["devices"]:
        device["port"] = ports[device["name"]]
    work.write_text(json.dumps(data))


def _check(lab: BenchLab, lines: dict[str, list[str]]) -> list[str]:
    """Devices whose persisted configuration lacks a pushed line (first problem of each)."""
    configs = lab.configs()
    problems = []
    for device, wanted in sorted(lines.items()):
        missing = missing_lines(configs.get(device), wanted)
        if missing:
            problems.append(f"{device}: missing '{missing[0]}'")
    return problems


def _row(n: int, devices: int, tool: str, run: ToolRun, checked: list[str] | None,
         **extra: Any) -> dict[str, Any]:
    wall = run.result.get("wall_s")
    return {"load_1m_before": run.load_before,
        "n": n, "devices": devices, "tool": tool, "wall_s": None if wall is None else round(wall, 3),
        "devices_per_s": None if not wall else round(devices / wall, 2),
        "peak_rss_mb": run.peak_rss_mb, "lab_cpu_s": run.lab_cpu_s, "tool_cpu_s": run.tool_cpu_s,
        "lab_cpu_pct": None if not wall else round(100 * run.lab_cpu_s / wall, 1),
        "status": run.result.get("status"), "failed": run.result.get("failed", []),
        "errors": run.result.get("errors") or ([run.result["error"]] if run.result.get("error") else []),
        "verified": checked is not None and not checked, "check_problems": (checked or [])[:5],
        "extrapolated": False,
        **({"gc_pauses": run.result["gc_pauses"]} if "gc_pauses" in run.result else {}), **extra,
    }


def _bench_size(opts: Options, n: int, log: Any) -> list[dict[str, Any]]:
    directory = opts.root / f"n{n}"  # work file, isolate's journals: on the disk
    directory.mkdir(parents=True, exist_ok=True)
    shards = opts.shards or max(1, (n + 499) // 500)
    lab = BenchLab(opts.lab_dir / f"n{n}", n, ports=opts.ports, shards=shards, config=opts.config,
                   latency=(opts.latency_ms, opts.per_kb_ms))
    rows: list[dict[str, Any]] = []
    log(f"N={n}: starting {shards} lab process(es)")
    lab.start()
    try:
        work, lines, plan_s = _work_file(lab, directory)
        devices = len(lines)
        common = ["--work", str(work)]
        log(f"N={n}: planned {devices} devices in {plan_s:.2f} s")
        baseline = lab.configs()
        rows.append(_config_sizes(n, baseline))
        for tool in opts.tools:
            if tool == "ansible" and n > opts.ansible_max and not opts.full:
                continue
            _refresh_ports(work)  # the lab's ports as they are now (a reset keeps them; be sure)
            if tool == "isolate":
                rows += _isolate(opts, n, devices, lab, directory, common, lines, baseline, log)
                continue
            settings = {"nornir": opts.nornir_workers, "ansible": [opts.ansible_forks],
                        "scrapli": [opts.scrapli_workers]}.get(tool, [0])
            for workers in settings:  # a peer at each of its settings; the goals take its best
                args = [tool, *common, "--workers", str(workers), "--state-dir", str(directory)]
                run = run_tool(args, lab.pids(), timeout_s=opts.timeout_s)
                rows.append(_row(n, devices, tool, run, _check(lab, lines),
                                 workers=workers or None))
                log(f"N={n}: {tool}: {rows[-1]['wall_s']} s, {rows[-1]['status']}"
                    + (f" ({workers} at once)" if len(settings) > 1 else ""))
                lab.reset()
    finally:
        lab.stop()
        if opts.lab_dir_temp:
            shutil.rmtree(lab.root, ignore_errors=True)
    return rows


def _isolate(opts: Options, n: int, devices: int, lab: BenchLab, directory: Path, common: list[str],
             lines: dict[str, list[str]], baseline: dict[str, str], log: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    state = directory / "isolate-state"
    env_args = ["--workers", str(opts.workers), "--state-dir", str(state), "--transport", opts.transport]

    def fresh(k: str) -> list[str]:  # a state dir of its own: no earlier run of the playbook in it
        return ["--workers", str(opts.workers), "--state-dir", str(directory / f"isolate-state-{k}"),
                "--transport", opts.transport]
    apply = run_tool(["isolate-apply", *common, *env_args], lab.pids(), timeout_s=opts.timeout_s)
    rows.append(_row(n, devices, "isolate", apply, _check(lab, lines), workers=opts.workers,
                     transport=opts.transport, plan_s=apply.result.get("plan_s"),
                     time_to_contain_s=apply.result.get("time_to_contain_s")))
    log(f"N={n}: isolate apply: {rows[-1]['wall_s']} s, {rows[-1]['status']}")
    run_id = apply.result.get("run")
    if run_id:
        restore = run_tool(["isolate-restore", *common, *env_args, "--run", str(run_id)], lab.pids(),
                           timeout_s=opts.timeout_s)
        after = lab.configs()
        differ = [f"{d}: not back to its generated configuration "
                  f"({_first_difference(_stable(baseline.get(d)), _stable(after.get(d)))})"
                  for d in sorted(lines) if _stable(after.get(d)) != _stable(baseline.get(d))]
        rows.append(_row(n, devices, "isolate-restore", restore, differ, workers=opts.workers,
                         transport=opts.transport))
        log(f"N={n}: isolate restore: {rows[-1]['wall_s']} s, {rows[-1]['status']}")
    lab.reset()
    if opts.journal_cost:
        rows[0]["journal_runs"] = _journal_pairs(opts, n, devices, lab, common, lines, fresh, rows, log)
    return rows


def _journal_pairs(opts: Options, n: int, devices: int, lab: BenchLab, common: list[str],
                   lines: dict[str, list[str]], fresh: Callable[[str], list[str]],
                   rows: list[dict[str, Any]], log: Any) -> dict[str, Any]:
    """The journal's cost: ``journal_repeats`` pairs of applies, one with fsync and one without,
    back to back on the same fresh lab, the order alternating from pair to pair (with first,
    then without first, ...). This machine's speed drifts by tens of percent over minutes, and
    more than the journal costs. A pair's two runs meet nearly the same machine, and the
    alternating order cancels what drift remains within a pair. The overhead is the median of
    the pairs' overheads. The first run without fsync is also the ``isolate-nofsync`` row."""
    pairs: list[dict[str, Any]] = []
    for k in range(opts.journal_repeats):
        walls: dict[str, float] = {}
        cpus: dict[str, float] = {}
        order = ("with", "without") if k % 2 == 0 else ("without", "with")
        for kind in order:
            off = kind == "without"
            run = run_tool(["isolate-apply", *common, *fresh(f"{kind}{k}"), *(["--no-fsync"] if off else [])],
                           lab.pids(), timeout_s=opts.timeout_s)
            problems = _check(lab, lines)
            lab.reset()
            if off and k == 0:
                rows.append(_row(n, devices, "isolate-nofsync", run, problems,
                                 workers=opts.workers, transport=opts.transport))
            if run.result.get("status") != "ok" or problems:
                raise RuntimeError(f"N={n}: isolate apply {kind} fsync (pair {k + 1}) did not do the work: "
                                   f"{run.result.get('status')}")
            walls[kind] = run.result.get("wall_s") or 0.0
            cpus[kind] = run.tool_cpu_s
            log(f"N={n}: isolate apply {kind} fsync (pair {k + 1}): {walls[kind]:.2f} s")
        # the tool's CPU seconds too: fsync waits, it does not compute; a pair whose with-fsync
        # run also used more CPU met a slower machine, not a slower journal
        pairs.append({"first": order[0], "with_fsync_s": round(walls["with"], 3),
                      "without_fsync_s": round(walls["without"], 3),
                      "with_fsync_cpu_s": round(cpus["with"], 2),
                      "without_fsync_cpu_s": round(cpus["without"], 2)})
    return {"pairs": pairs,
            "with_fsync_s": [p["with_fsync_s"] for p in pairs],
            "without_fsync_s": [p["without_fsync_s"] for p in pairs]}


def _stable(config: str | None) -> str | None:
    """A configuration without the lines IOS rewrites by itself over time (``ntp clock-period``:
    the lab's devices change it every 5 minutes of their clock, as IOS does under NTP), as
    isolate's restore compares it (the platform record's volatile lines)."""
    from isolate.platforms import get

    return None if config is None else get("cisco_ios").state.normalise(config)


def _first_difference(before: str | None, after: str | None) -> str:
    """The first line that differs between two configurations, as ``-line`` / ``+line``."""
    if before is None or after is None:
        return "missing"
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line[:1] in "-+" and not line.startswith(("---", "+++")):
            return line.strip()[:120]
    return "same lines"


def _config_sizes(n: int, configs: dict[str, str]) -> dict[str, Any]:
    """The generated running-configs' sizes (lines), as a pseudo-row the report keeps apart."""
    sizes = sorted(len(text.splitlines()) for text in configs.values())
    return {"n": n, "tool": "_configs", "lines_min": sizes[0], "lines_median": sizes[len(sizes) // 2],
            "lines_max": sizes[-1], "bytes_median": sorted(len(t) for t in configs.values())[len(sizes) // 2]}


def _extrapolate(rows: list[dict[str, Any]], sizes: list[int]) -> list[dict[str, Any]]:
    """Ansible at the sizes it did not run at: linear in devices from its largest run."""
    measured = [r for r in rows if r["tool"] == "ansible" and r["wall_s"]]
    if not measured:
        return []
    ref = max(measured, key=lambda r: r["n"])
    out = []
    for n in sizes:
        if any(r["tool"] == "ansible" and r["n"] == n for r in rows):
            continue
        devices = next((r["devices"] for r in rows if r["n"] == n), n + 1)
        wall = ref["wall_s"] * devices / ref["devices"]
        out.append({"n": n, "devices": devices, "tool": "ansible", "wall_s": round(wall, 3),
                    "devices_per_s": round(devices / wall, 2), "peak_rss_mb": ref["peak_rss_mb"],
                    "lab_cpu_s": None, "tool_cpu_s": None, "lab_cpu_pct": None,
                    "status": "extrapolated", "failed": [],
                    "verified": False, "check_problems": [], "extrapolated": True,
                    "extrapolated_from_n": ref["n"]})
    return out


def _ratios(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        same = {r["tool"]: r for r in rows if r["n"] == row["n"]}
        iso, floor = same.get("isolate"), same.get("floor")
        wall = row["wall_s"]
        row["ratio_to_isolate"] = round(wall / iso["wall_s"], 2) if wall and iso and iso["wall_s"] else None
        row["ratio_to_floor"] = (round(wall / floor["wall_s"], 2)
                                 if wall and floor and floor["wall_s"] else None)


def _fs_of(path: Path) -> str:
    """``path`` and the type of the filesystem it is on (from /proc/mounts)."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        mounts = []
    target = str(path.resolve())
    for line in mounts:
        fields = line.split()
        inside = len(fields) > 2 and (target == fields[1] or target.startswith(fields[1].rstrip("/") + "/"))
        if inside and len(fields[1]) > len(best):
            best, kind = fields[1], fields[2]
    return f"{path} ({kind})"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("asyncssh", "netmiko", "paramiko", "nornir", "nornir_netmiko", "scrapli", "ansible-core",
                 "ansible-runner", "ansible-pylibssh"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds: the tool child is killed, the labs are stopped


def main(argv: list[str] | None = None) -> int:
    opts = parse(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    out = opts.out
    if opts.lab_dir_temp:
        atexit.register(shutil.rmtree, opts.lab_dir, True)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    # isolate's device locks of its own (never the machine's shared lock directory: a killed
    # benchmark must not leave other runs' devices locked)
    os.environ["ISOLATE_LOCK_DIR"] = str(opts.root / "locks")
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for n in opts.sizes:
        rows += _bench_size(opts, n, log)
    configs = [r for r in rows if r["tool"] == "_configs"]
    rows = [r for r in rows if r["tool"] != "_configs"]
    rows += _extrapolate(rows, opts.sizes)
    rows.sort(key=lambda r: (r["n"], TOOLS.index(r["tool"].split("-")[0]), r["tool"]))
    _ratios(rows)
    report = {
        "benchmark": "containment",
        "command": " ".join(["python", "benchmarks/containment.py", *map(shlex.quote, sys.argv[1:])]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "versions": _versions(),
        "options": {"workers": opts.workers, "transport": opts.transport,
                    "nornir_workers": opts.nornir_workers, "ansible_forks": opts.ansible_forks,
                    "ports_per_switch": opts.ports, "ansible_max": opts.ansible_max, "full": opts.full,
                    "shards": opts.shards or "1 per 500 devices", "scrapli_workers": opts.scrapli_workers,
                    "config": opts.config, "latency_reply_ms": opts.latency_ms,
                    "latency_per_kb_ms": opts.per_kb_ms, "journal_repeats": opts.journal_repeats,
                    "lab_dir": _fs_of(opts.lab_dir)},
        "running_configs": configs,
        "duration_s": round(time.perf_counter() - started, 1),
        "rows": rows,
        "goals": goals(rows),
        "goals_by_n": {str(n): goals(rows, at=n) for n in opts.sizes},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(render_table(report))
    print(f"written: {out}")
    bad = [r for r in rows if not r["extrapolated"] and not r["verified"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
