"""`isolate locate` through the real CLI on the embedded lab: an IP the inventory does not map
(ws-23, plugged in but unlisted) is found by ARP on its gateway then the access switches' MAC
tables, edge ports only; a MAC works alike; after a lab host move it names the new port; not
found is exit 1 with one line; bad input exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from e2e import PLAYBOOKS, newest_run, read_device, records, run_cli

from isolate.lab.process import LabHandle

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")


def _move(lab: LabHandle, *where: str) -> None:
    moved = subprocess.run([sys.executable, "-m", "isolate", "lab", "move-host", "--state-dir",
                            str(lab.state_dir), "ws-23", *where], capture_output=True, text=True, check=False)
    assert moved.returncode == 0, moved.stderr


def test_locate_unmapped_host_by_ip_and_mac_and_after_a_move(lab: LabHandle, tmp_path: Path) -> None:
    inventory = str(lab.state_dir / "inventory.yml")
    assert "ws-23" not in Path(inventory).read_text()
    found = run_cli("locate", "10.10.100.23", "-i", inventory, state=tmp_path)
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[0].startswith("10.10.100.23 is at ") and lines[0].endswith(" (ARP on core2 Vlan100)")
    mac = lines[0].split()[3]
    assert lines[1:] == [f"acc1 GigabitEthernet1/0/5 vlan 100 mac {mac}"]

    data = json.loads(run_cli("locate", "10.10.100.23", "-i", inventory, "--json", state=tmp_path).stdout)
    port = {"device": "acc1", "interface": "GigabitEthernet1/0/5", "vlan": 100, "mac": mac}
    assert data["candidates"] == [port]
    assert {"device": "acc2", "interface": "GigabitEthernet1/0/48", "why": "trunk"} in data["not_edge"]
    commands = {(q["device"], q["command"]) for q in data["queries"]}
    assert ("core2", "show ip arp 10.10.100.23") in commands
    assert ("acc1", f"show mac address-table address {mac}") in commands
    assert all(q["command"].startswith(("show ", "ip neigh show ")) for q in data["queries"])

    _move(lab, "acc2", "Gi1/0/9")
    try:
        colons = ":".join(mac.replace(".", "")[i:i + 2] for i in range(0, 12, 2))
        moved = run_cli("locate", colons, "-i", inventory, state=tmp_path)
        assert moved.returncode == 0, moved.stderr
        assert moved.stdout == f"acc2 GigabitEthernet1/0/9 vlan 1 mac {mac}\n"
    finally:
        _move(lab, "acc1", "Gi1/0/5")

    mapped = run_cli("locate", "ws-17", "-i", inventory, state=tmp_path)
    assert mapped.returncode == 0 and mapped.stdout.endswith("acc3 GigabitEthernet1/0/4 vlan 100 mac "
                                                             f"{mapped.stdout.split()[3]}\n")


def test_locate_not_found_and_bad_input(lab: LabHandle, tmp_path: Path) -> None:
    inventory = str(lab.state_dir / "inventory.yml")
    missing = run_cli("locate", "10.10.100.99", "-i", inventory, state=tmp_path)
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr == "10.10.100.99: no ARP entry on core2\n"
    bad = run_cli("locate", "ws-99;reload", "-i", inventory, state=tmp_path)
    assert bad.returncode == 2
    why = "';' not allowed in host name: 'ws-99;reload'"
    assert bad.stderr == f"error: isolate locate 'ws-99;reload': {why}\n"
    unknown = run_cli("locate", "ws-99", "-i", inventory, state=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr == "error: isolate locate ws-99: not an IP, a MAC or an inventory host name\n"


def _interface_block(config: str, name: str) -> list[str]:
    lines = config.splitlines()
    start = lines.index(f"interface {name}")
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        block.append(line)
    return block


def test_apply_quarantines_the_located_port_and_refuses_after_a_move(lab: LabHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = str(lab.state_dir / "inventory.yml")
    sets = ("--set", "infected=10.10.100.23", "--set", "attacker=203.0.113.0/24")
    before = read_device(lab.state_dir, "acc1")
    applied = run_cli("apply", "-i", inventory, LATERAL, *sets, "--yes", state=state)
    assert applied.returncode == 0, applied.stderr
    during = read_device(lab.state_dir, "acc1")
    assert " switchport access vlan 999" in _interface_block(during, "GigabitEthernet1/0/5")
    ports = [line[len("interface "):] for line in before.splitlines() if line.startswith("interface Gi")]
    changed = [p for p in ports if _interface_block(during, p) != _interface_block(before, p)]
    assert changed == ["GigabitEthernet1/0/5"], "exactly the located port is quarantined"
    run = newest_run(state)
    assert run is not None
    found = [r["data"] for r in records(run) if r["kind"] == "discovery"]
    assert [(d["parameter"], d["value"], d["device"], d["interface"], d["vlan"]) for d in found] == [
        ("infected", "10.10.100.23", "acc1", "GigabitEthernet1/0/5", 100)
    ]
    assert ("core2", "show ip arp 10.10.100.23") in {(q["device"], q["command"]) for q in found[0]["queries"]}
    assert run_cli("restore", "--yes", state=state).returncode == 0
    assert read_device(lab.state_dir, "acc1") == before

    saved = tmp_path / "plan.json"
    made = run_cli("plan", "-i", inventory, LATERAL, *sets, "--out", str(saved), state=state)
    assert made.returncode == 0, made.stderr
    _move(lab, "acc2", "Gi1/0/9")
    try:
        refused = run_cli("apply", str(saved), "--yes", state=state)
    finally:
        _move(lab, "acc1", "Gi1/0/5")
    assert refused.returncode == 3, refused.stderr
    mac = found[0]["mac"]
    message = (f"acc1: host 10.10.100.23 ({mac}) is no longer on GigabitEthernet1/0/5: "
               "now on acc2 GigabitEthernet1/0/9 (vlan 1); plan again")
    run = newest_run(state)
    assert run is not None
    prechecks = {r["data"]["device"]: r["data"]["message"] for r in records(run) if r["kind"] == "precheck"}
    assert prechecks["acc1"] == message
    assert run_cli("journal", "verify", run.name, state=state).returncode == 0
    assert read_device(lab.state_dir, "acc1") == before
