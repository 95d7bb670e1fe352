"""`isolate locate` through a Linux firewall (``ip neigh show ADDRESS``), through the real CLI
on the city lab: fw-int firewalls the servers segment, so it is asked beside the gateway
core1; with core1 refusing ``show ip arp``, the answer comes from fw-int alone. The lab's
``ip neigh`` is judged by iproute2 itself: the same entries put in a real kernel neighbour
table (a network namespace this test creates and deletes) print byte for byte the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import paramiko
import pytest
from e2e import lab_inventory, run_cli

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault


def linux_exec(lab: LabHandle, device: str, command: str) -> tuple[int, str, str]:
    """Run ``command`` on a lab Linux device over a paramiko exec channel."""
    inventory, secrets = lab_inventory(lab.state_dir)
    port = next(d["port"] for d in inventory["devices"] if d["name"] == device)
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.state_dir / "known_hosts"))
    client.connect("127.0.0.1", port=port, username=secrets["username"], password=secrets["password"],
                   look_for_keys=False, allow_agent=False, timeout=10)
    try:
        _, stdout, stderr = client.exec_command(command)
        out, err = stdout.read().decode(), stderr.read().decode()
        return stdout.channel.recv_exit_status(), out, err
    finally:
        client.close()


def test_locate_through_a_linux_firewall(lab: LabHandle, tmp_path: Path) -> None:
    inventory = str(lab.state_dir / "inventory.yml")
    data = json.loads(run_cli("locate", "10.10.10.11", "-i", inventory, "--json", state=tmp_path).stdout)
    [neigh] = [q for q in data["queries"] if q["device"] == "fw-int"]
    assert (neigh["command"], neigh["ok"]) == ("ip neigh show 10.10.10.11", True)
    mac = data["mac"]
    colons = ":".join(mac.replace(".", "")[i:i + 2] for i in range(0, 12, 2))
    assert neigh["output"] == f"10.10.10.11 dev eth1 lladdr {colons} STALE \n"
    assert {(a["device"], a["interface"]) for a in data["arp"]} == {("core1", "Vlan10"), ("fw-int", "eth1")}
    [port] = data["candidates"]

    set_fault(lab.state_dir, "core1", make_fault("reject", pattern="^show ip arp"))
    try:
        alone = run_cli("locate", "10.10.10.11", "-i", inventory, state=tmp_path)
    finally:
        set_fault(lab.state_dir, "core1", make_fault("clear"))
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout == (f"10.10.10.11 is at {mac} (ARP on fw-int eth1)\n"
                            f"{port['device']} {port['interface']} vlan {port['vlan']} mac {mac}\n")
    assert alone.stderr == ("  core1: core1: 'show ip arp 10.10.10.11' rejected: "
                            "% Invalid input detected at '^' marker.\n")

    missing = run_cli("locate", "10.10.10.99", "-i", inventory, state=tmp_path)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "10.10.10.99: no ARP entry on core1, fw-int\n"


def _ip(namespace: str, *args: str) -> str:
    done = subprocess.run(["ip", "-n", namespace, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2")
def test_lab_ip_neigh_is_what_iproute2_prints(lab: LabHandle) -> None:
    status, table, err = linux_exec(lab, "fw-int", "ip -j neigh show")
    assert (status, err) == (0, "")
    entries = json.loads(table)
    assert len(entries) > 5 and {e["dev"] for e in entries} >= {"eth0", "eth1"}
    namespace = f"isolate-neigh-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        for index, dev in enumerate(sorted({e["dev"] for e in entries})):
            _ip(namespace, "link", "add", dev, "type", "veth", "peer", "name", f"peer{index}")
            _ip(namespace, "link", "set", dev, "up")
        for e in entries:
            _ip(namespace, "neigh", "add", e["dst"], "lladdr", e["lladdr"], "dev", e["dev"],
                "nud", e["state"][0].lower())
        one = entries[0]["dst"]
        for command in ("neigh show", f"neigh show {one}", f"neigh show to {one}", "-4 neigh show dev eth1",
                        f"neigh show dev {entries[0]['dev']} {one}", "-j neigh show", f"-j neigh show {one}",
                        "neigh show 10.10.10.0/24", "neigh show 192.0.2.1", "-6 neigh show",
                        "neighbour show nud stale"):
            status, lab_says, err = linux_exec(lab, "fw-int", f"ip {command}")
            kernel_says = _ip(namespace, *command.split())
            assert (status, err) == (0, ""), command
            if command.startswith("-j") and "[" in kernel_says:
                mine, real = json.loads(lab_says), json.loads(kernel_says)
                assert sorted(mine, key=str) == sorted(real, key=str), command
            else:  # the kernel lists its hash table in its own order: compare the lines
                assert sorted(lab_says.splitlines()) == sorted(kernel_says.splitlines()), command
        for command, message in (
            ("neigh show foo", 'Error: any valid prefix is expected rather than "foo".\n'),
            ("neigh show dev eth9", 'Cannot find device "eth9"\n'),
        ):
            status, _, err = linux_exec(lab, "fw-int", f"ip {command}")
            real = subprocess.run(["ip", "-n", namespace, *command.split()], capture_output=True, text=True,
                                  check=False)
            assert (status, err) == (real.returncode, real.stderr) == (1, message), command
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)
