"""Two sites behind a real partition: the controller reaches only the Redis broker, each site
worker (``isolate worker --site``) only the broker and its own site's lab devices (network
namespaces, veths, nftables; see siteskit.py). ransomware-lateral across both sites contains
(measured with real packets) and restores identically; the controller's journal verifies and
holds every intent and outcome of both sites in order; a worker killed mid-step and a controller
killed mid-step each end recoverable by ``restore``; nothing of the broker or the workers is
left running."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from netlabkit import Lab
from siteskit import REDIS, Partition, build

from isolate.netlab import build as netlab_build
from isolate.netlab import netns
from isolate.netlab.probes import Flow, flows
from isolate.netlab.topology import DEFAULT_TOPOLOGY, load_topology

pytestmark = pytest.mark.netlab
PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "ransomware-lateral.yml"
SITES = {
    "a": {"fw-int": "10.99.99.1", "sw1": "10.99.99.2"},
    "b": {"fw-edge": "10.99.99.3", "vpn1": "10.99.99.4"},
}
WORKER_HOSTS = {"site-a": "10.99.99.21", "site-b": "10.99.99.22"}
DEVICES = sorted(d for devices in SITES.values() for d in devices)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Partition]]:
    if not Path(REDIS).exists():
        pytest.skip("SITE TESTS SKIPPED: redis-server missing (bash scripts/netlab-deps.sh installs it)")
    where = tmp_path_factory.mktemp("sites")
    topology = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    topology["hosts"] += [{"name": n, "segment": "management", "address": a} for n, a in WORKER_HOSTS.items()]
    (where / "topology.yml").write_text(yaml.safe_dump(topology, sort_keys=False))
    lab_dir = where / "lab"
    part: Partition | None = None
    try:
        netlab_build.up(lab_dir, where / "topology.yml")
        lab = Lab(lab_dir, json.loads((lab_dir / "netlab.json").read_text())["prefix"])
        part = build(lab.prefix, where / "part", {f"site-{s}": list(d.values()) for s, d in SITES.items()})
        for seen_from in ("ctl", "site-a", "site-b"):
            _inventory(lab, part, seen_from)
        for site in SITES:
            part.start_worker(site, lab.dir / f"inventory-site-{site}.yml")
        for site in SITES:
            _wait_worker(part, site)
        yield lab, part
    finally:
        left = part.down() if part is not None else []
        if (lab_dir / "netlab.json").exists():
            result = netlab_build.down(lab_dir)
            assert not result.problems, result.problems
        shutil.rmtree(where, ignore_errors=True)
        assert left == [], f"left running: {left}"


def _inventory(lab: Lab, part: Partition, seen_from: str) -> Path:
    """The lab's inventory as one end holds it: the broker as reached from there, each device's site."""
    data = yaml.safe_load((lab.dir / "inventory.yml").read_text())
    data["broker"] = {"url": part.broker_url(seen_from), "password": "env:ISOLATE_BROKER_PASSWORD"}
    site_of = {device: site for site, devices in SITES.items() for device in devices}
    for device in data["devices"]:
        device["site"] = site_of[device["name"]]
    path = lab.dir / f"inventory-{seen_from}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _wait_worker(part: Partition, site: str) -> None:
    deadline = time.monotonic() + 60
    while f"worker {site}-" not in part.log(f"worker-{site}"):
        proc = part.procs[f"worker-{site}"]
        assert proc.poll() is None, part.log(f"worker-{site}")
        assert time.monotonic() < deadline, part.log(f"worker-{site}")
        time.sleep(0.05)  # (calls sent before Celery consumes wait in the queue)


def _controller(lab: Lab, part: Partition, state: Path, *args: str) -> list[str]:
    return ["ip", "netns", "exec", part.ns("ctl"), sys.executable, "-m", "isolate", *args,
            "--state-dir", str(state)]  # fmt: skip


def _env(part: Partition, state: Path) -> dict[str, str]:
    return {**os.environ, "ISOLATE_BROKER_PASSWORD": part.password, "ISOLATE_LOCK_DIR": str(state / "locks")}


def _run(lab: Lab, part: Partition, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_controller(lab, part, state, *args), capture_output=True, text=True, timeout=300,
                          env=_env(part, state), stdin=subprocess.DEVNULL, check=False)  # fmt: skip


def _journal(state: Path) -> list[dict[str, Any]]:
    runs = sorted((state / "runs").glob("*")) if (state / "runs").is_dir() else []
    if not runs or not (runs[-1] / "journal.jsonl").exists():
        return []
    found = []
    for line in (runs[-1] / "journal.jsonl").read_bytes().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            break
    return found


def _must_cut(flow: Flow, lab: Lab) -> bool:
    topo = load_topology(lab.dir.parent / "topology.yml")
    segment = {h.name: h.segment for h in topo.hosts if h.segment != topo.management.name}
    if "attacker" in (flow.src, flow.dst) or flow.src == "vpn-carol" or "ws-17" in (flow.src, flow.dst):
        return True
    crosses = flow.src in segment and flow.dst in segment and segment[flow.src] != segment[flow.dst]
    return flow.kind == "service" and flow.port in (139, 445) and crosses


def _measured(lab: Lab, settle_s: float = 0.0) -> dict[str, bool]:
    """Every flow of the lab but those of the worker hosts (their namespaces are filtered)."""
    return {k: r.ok for k, r in lab.flows(settle_s=settle_s).items() if not _worker_flow(k)}


def _worker_flow(key: str) -> bool:
    return any(key.startswith(f"{h}->") or f"->{h}:" in key for h in WORKER_HOSTS)


def _states(lab: Lab) -> dict[str, str]:
    """Each device's state read over SSH from the admin station (the lab's own path)."""
    from isolate.drivers.registry import connect

    platforms = {"fw-int": "linux", "fw-edge": "linux", "sw1": "openvswitch", "vpn1": "wireguard"}
    found = {}
    with netns.entered(lab.ns("admin1")):
        for site in SITES.values():
            for device, address in site.items():
                session = connect(lab.target(device, address, platforms[device]))
                try:
                    found[device] = session.read_state()
                finally:
                    session.close()
    return found


def test_partition_is_real(sites: tuple[Lab, Partition]) -> None:
    _lab, part = sites
    netns.connect_in(part.ns("ctl"), "10.250.1.1", 6379, timeout_s=2).close()  # the broker: yes
    with pytest.raises(OSError):  # a device: no route from the controller
        netns.connect_in(part.ns("ctl"), SITES["a"]["fw-int"], 22, timeout_s=2)
    netns.connect_in(part.ns("site-a"), SITES["a"]["fw-int"], 22, timeout_s=2).close()
    with pytest.raises(OSError):  # the other site's device: refused by the site's filter
        netns.connect_in(part.ns("site-a"), SITES["b"]["fw-edge"], 22, timeout_s=2)
    with pytest.raises(OSError):
        netns.connect_in(part.ns("site-b"), SITES["a"]["sw1"], 22, timeout_s=2)


def test_two_sites_contain_and_restore_identically_one_journal(
    sites: tuple[Lab, Partition], tmp_path: Path
) -> None:
    lab, part = sites
    state = tmp_path / "state"
    inventory = str(lab.dir / "inventory-ctl.yml")
    before = _states(lab)
    assert all(_measured(lab).values()), "baseline not fully open"
    try:
        done = _run(
            lab, part, state, "apply", "-i", inventory, str(PLAYBOOK), "--yes", "--incident", "SITES-1"
        )
        assert done.returncode == 0, done.stdout + done.stderr
        expected = {
            f.key: not _must_cut(f, lab) for f in flows(load_topology(lab.dir.parent / "topology.yml"))
        }
        measured = _measured(lab)
        wrong = sorted(k for k in measured if expected[k] != measured[k])
        assert wrong == [], f"flows not as the playbook says: {wrong}"
        journal = _journal(state)
    finally:
        restored = _run(lab, part, state, "restore", "--yes", "-i", inventory)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"identical to pre-state: {', '.join(DEVICES)}" in restored.stdout + restored.stderr
    assert [k for k, ok in _measured(lab, settle_s=15).items() if not ok] == []
    assert _states(lab) == before

    # one journal, every intent and outcome of both sites, in order, verified
    kinds: dict[str, list[str]] = {}
    for record in journal:
        data = record["data"]
        if record["kind"] in ("intent", "applied", "verified", "failed") and "device" in data:
            kinds.setdefault(data["device"], []).append(record["kind"])
    assert sorted(kinds) == DEVICES
    assert all(k == ["intent", "applied", "verified"] for k in kinds.values()), kinds
    assert [r["seq"] for r in journal] == list(range(len(journal)))
    verify = _run(lab, part, state, "journal", "verify", "last")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_worker_killed_mid_step_is_a_failure_restore_recovers(
    sites: tuple[Lab, Partition], tmp_path: Path
) -> None:
    lab, part = sites
    state = tmp_path / "state"
    inventory = str(lab.dir / "inventory-ctl.yml")
    before = _states(lab)
    argv = _controller(lab, part, state, "apply", "-i", inventory, str(PLAYBOOK), "--yes")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(part, state), stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_for(proc, state, lambda r: r["kind"] == "intent" and r["data"]["device"] == "fw-edge")
        part.kill("worker-b")  # site b's worker dies while its step is under way
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the run stopped on site b's device: 1 (partial) when the push was lost with the worker,
    # 4 when the push had answered and the read-back (verify) was lost with it
    assert proc.returncode in (1, 4), out + err
    failed = [r["data"] for r in _journal(state) if r["kind"] == "failed"]
    assert failed and all(f["device"] in SITES["b"] for f in failed), failed
    assert any("site worker" in f["message"] or "worker of site b" in f["message"] for f in failed), failed
    part.start_worker("b", lab.dir / "inventory-site-b.yml")  # the site comes back
    _wait_worker(part, "b")
    restored = _run(lab, part, state, "restore", "--yes", "-i", inventory)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert _states(lab) == before
    assert [k for k, ok in _measured(lab, settle_s=15).items() if not ok] == []


def test_controller_killed_mid_step_restore_recovers(sites: tuple[Lab, Partition], tmp_path: Path) -> None:
    lab, part = sites
    state = tmp_path / "state"
    inventory = str(lab.dir / "inventory-ctl.yml")
    before = _states(lab)
    argv = _controller(lab, part, state, "apply", "-i", inventory, str(PLAYBOOK), "--yes")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(part, state),
                            stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        record = _wait_for(proc, state, lambda r: r["kind"] == "applied")
        os.kill(proc.pid, 9)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -9
    later = [r["kind"] for r in _journal(state) if r["seq"] > record["seq"]]
    assert "run-end" not in later, f"killed after the end: {later}"
    restored = _run(lab, part, state, "restore", "--yes", "-i", inventory)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert _states(lab) == before
    assert [k for k, ok in _measured(lab, settle_s=15).items() if not ok] == []
    verify = _run(lab, part, state, "journal", "verify", "last")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _wait_for(proc: subprocess.Popen[Any], state: Path, match: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found = next((r for r in _journal(state) if match(r)), None)
        if found is not None:
            return found
        assert proc.poll() is None, f"the controller ended first: {proc.communicate()}"
        time.sleep(0.005)
    raise AssertionError("the journal never showed the kill point")
