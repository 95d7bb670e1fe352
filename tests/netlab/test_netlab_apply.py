"""isolate itself, run from the admin station's namespace against the network lab:
apply cuts exactly the flows it must (measured by real connects), keeps the rest
(management path included), and restore brings every flow and every device back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from netlabkit import Lab

from isolate.netlab.probes import Flow, flows
from isolate.netlab.topology import load_topology

pytestmark = pytest.mark.netlab
PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "ransomware-lateral.yml"


def _isolate(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["ip", "netns", "exec", lab.ns("admin1"), sys.executable, "-m", "isolate", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180)


def _must_cut(flow: Flow) -> bool:
    """ransomware-lateral: SMB between inside segments (the management segment is excepted),
    everything to or from the attacker, everything from the contractors' VPN user, and
    everything to or from the infected workstation (quarantined on the Open vSwitch switch)."""
    topo = load_topology()
    segment = {h.name: h.segment for h in topo.hosts if h.segment != topo.management.name}
    if "attacker" in (flow.src, flow.dst) or flow.src == "vpn-carol" or "ws-17" in (flow.src, flow.dst):
        return True
    crosses = flow.src in segment and flow.dst in segment and segment[flow.src] != segment[flow.dst]
    return flow.kind == "service" and flow.port in (139, 445) and crosses


def test_apply_cuts_what_it_must_keeps_the_rest_and_restore_brings_all_back(
    netlab: Lab, tmp_path: Path
) -> None:
    book = PLAYBOOK  # the whole playbook: SMB cut, edge block, OVS quarantine, WireGuard revoke
    inventory, state = str(netlab.dir / "inventory.yml"), str(tmp_path / "state")
    assert all(r.ok for r in netlab.flows().values()), "baseline not fully open"

    try:
        done = _isolate(
            netlab,
            "apply",
            "-i",
            inventory,
            str(book),
            "--yes",
            "--incident",
            "NETLAB-1",
            "--reason",
            "netlab test",
            "--state-dir",
            state,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        identified = _identified(Path(state))  # sw1: Open vSwitch, vpn1: WireGuard, fw-int: Linux
        assert all(identified.get(d) is True for d in ("sw1", "vpn1", "fw-int")), identified
        during = netlab.flows()
        expected = {f.key: not _must_cut(f) for f in flows(load_topology())}
        measured = {key: r.ok for key, r in during.items()}
        wrong = sorted(k for k in expected if expected[k] != measured[k])
        assert wrong == [], f"flows not as the playbook says: {wrong}"
        assert all(during[f"admin1->{d}:22/tcp"].ok for d in ("sw1", "fw-int", "fw-edge", "vpn1"))
    finally:
        restored = _isolate(netlab, "restore", "--yes", "-i", inventory, "--state-dir", state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "identical to pre-state: fw-edge, fw-int, sw1, vpn1" in restored.stdout + restored.stderr
    after = netlab.flows(settle_s=15)  # a re-added VPN peer handshakes again first
    assert [k for k, r in after.items() if not r.ok] == []


def _identified(state: Path) -> dict[str, object]:
    """Each pre-checked device's "platform" check (its identity probe ran and matched)."""
    found: dict[str, object] = {}
    for record in _journal(state):
        data = record["data"]
        if record["kind"] == "precheck" and isinstance(data, dict):
            found[str(data["device"])] = data["checks"].get("platform")
    return found


def _journal(state: Path) -> list[dict[str, object]]:
    runs = sorted((state / "runs").glob("*")) if (state / "runs").is_dir() else []
    path = runs[-1] / "journal.jsonl" if runs else None
    if path is None or not path.exists():
        return []
    found = []
    for line in path.read_bytes().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            break  # a torn last line
    return found


def test_sigkill_mid_apply_then_restore_brings_real_traffic_back(netlab: Lab, tmp_path: Path) -> None:
    """apply is killed (SIGKILL) as soon as its journal shows the SMB cut applied; the
    SMB cut is measured live; restore from the journal brings every flow back."""
    inventory, state = str(netlab.dir / "inventory.yml"), tmp_path / "state"
    book = PLAYBOOK
    argv = [
        "ip",
        "netns",
        "exec",
        netlab.ns("admin1"),
        sys.executable,
        "-m",
        "isolate",
        "apply",
        "-i",
        inventory,
        str(book),
        "--yes",
        "--incident",
        "NETLAB-KILL",
        "--reason",
        "crash test",
        "--state-dir",
        str(state),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not any(r.get("kind") == "applied" for r in _journal(state)):
            assert proc.poll() is None, "apply ended before the kill point"
            assert time.monotonic() < deadline, "kill point never reached"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)  # `ip netns exec` exec'd python: same pid
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not netlab.flow("ws-17->fs1:445/tcp").ok, "the SMB cut was applied before the kill"

    restored = _isolate(netlab, "restore", "--yes", "-i", inventory, "--state-dir", str(state))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    after = netlab.flows(settle_s=15)
    assert [k for k, r in after.items() if not r.ok] == []


def test_full_isolation_cuts_far_more_than_ransomware_lateral(netlab: Lab, tmp_path: Path) -> None:
    """The Caen comparison, measured: the full isolation (with its override) cuts many more
    flows and services than the surgical playbook would, keeps only management; restore
    brings everything back."""
    inventory, state = str(netlab.dir / "inventory.yml"), str(tmp_path / "state")
    book = str(PLAYBOOK.parent / "full-isolation.yml")
    surgical_cuts = sum(1 for f in flows(load_topology()) if _must_cut(f))
    try:
        done = _isolate(
            netlab,
            "apply",
            "-i",
            inventory,
            book,
            "--yes",
            "--override",
            "cut-all",
            "--override",
            "cut-internet",
            "--reason",
            "Caen comparison",
            "--incident",
            "NETLAB-CMP",
            "--state-dir",
            state,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        during = netlab.flows()
        cut = [k for k, r in during.items() if not r.ok]
        assert len(cut) > surgical_cuts
        assert "ws-01->ec1:443/tcp" in cut  # civil status goes dark, as in Caen
        assert all(during[f"admin1->{d}:22/tcp"].ok for d in ("sw1", "fw-int", "fw-edge", "vpn1"))
    finally:
        restored = _isolate(netlab, "restore", "--yes", "-i", inventory, "--state-dir", state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert [k for k, r in netlab.flows(settle_s=15).items() if not r.ok] == []
