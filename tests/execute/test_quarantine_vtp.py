"""Quarantine on Catalysts as they ship: VTP server (VLANs in vlan.dat, not in the running
configuration) and VTP client, through the CLI, read back with netmiko as an admin would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import lab_inventory, run_cli
from netmiko import ConnectHandler

from isolate.lab.process import LabHandle, start_lab

VTP = Path(__file__).with_name("vtp.yml")
PLAYBOOK = """version: 1
name: q-{host}
description: quarantine {host}
steps:
  - id: q
    action: quarantine
    targets: {{hosts: [{host}]}}
    params: {{vlan: 999}}
"""


@pytest.fixture(name="lab")
def vtp_lab(tmp_path: Path) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path / "lab", VTP)
    try:
        yield handle
    finally:
        handle.stop()


def cli(lab: LabHandle, device: str, *commands: str, config: tuple[str, ...] = ()) -> list[str]:
    inventory, secrets = lab_inventory(lab.state_dir)
    port = next(d["port"] for d in inventory["devices"] if d["name"] == device)
    conn: Any = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=port,
                               username=secrets["username"], password=secrets["password"],
                               secret=secrets["enable"])
    try:
        conn.enable()
        if config:
            conn.send_config_set(list(config))
        return [str(conn.send_command(c)) for c in commands]
    finally:
        conn.disconnect()


def playbook(tmp_path: Path, host: str) -> str:
    path = tmp_path / f"q-{host}.yml"
    path.write_text(PLAYBOOK.format(host=host))
    return str(path)


def revision(status: str) -> int:
    found = re.search(r"Configuration Revision\s+:\s+(\d+)", status)
    assert found, status
    return int(found.group(1))


def test_quarantine_on_a_vtp_server_restores_the_vlan_database_exactly(
    lab: LabHandle, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    inv = str(lab.inventory)
    brief0, vtp0, running0 = cli(lab, "acc1", "show vlan brief", "show vtp status",
                                 "show running-config")
    assert "VTP Operating Mode                : Server" in vtp0
    assert "\n100  users " in brief0 and "\nvlan 100" not in running0  # vlan.dat only
    applied = run_cli("apply", "-i", inv, playbook(tmp_path, "ws-17"), "--yes", state=state)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    brief1, running1 = cli(lab, "acc1", "show vlan brief", "show running-config")
    assert re.search(r"\n999  ISOLATE-QUARANTINE\s+active    Gi1/0/2\n", brief1), brief1
    assert "\nvlan 999" not in running1
    restored = run_cli("restore", "last", "--yes", state=state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "identical to pre-state: acc1" in restored.stderr
    brief2, vtp2 = cli(lab, "acc1", "show vlan brief", "show vtp status")
    assert brief2 == brief0
    assert revision(vtp2) > revision(vtp0)  # vlan.dat was written: the gate ignores the count


def test_a_vlan_999_already_in_vlan_dat_is_refused_and_left_alone(
    lab: LabHandle, tmp_path: Path
) -> None:
    (brief0,) = cli(lab, "acc1", "show vlan brief",
                    config=("vlan 999", "name PRINTERS"))
    assert "\n999  PRINTERS " in brief0
    applied = run_cli("apply", "-i", str(lab.inventory), playbook(tmp_path, "ws-17"), "--yes",
                      state=tmp_path / "state")
    assert applied.returncode == 3, applied.stdout + applied.stderr
    assert ("precheck acc1 FAILED: acc1: step 'q': VLAN 999 already exists as 'PRINTERS' in "
            "the VLAN database: not a safe quarantine VLAN (isolate never renames or deletes "
            "a VLAN it did not create)") in applied.stderr
    assert "pre-checks failed — nothing was changed" in applied.stderr
    (brief1,) = cli(lab, "acc1", "show vlan brief")
    assert brief1 == brief0


def test_a_vtp_client_is_refused_in_one_line(lab: LabHandle, tmp_path: Path) -> None:
    (refused,) = cli(lab, "sw9", "show vlan brief", config=("vlan 999",))
    assert "VTP Operating Mode                : Client" in cli(lab, "sw9", "show vtp status")[0]
    applied = run_cli("apply", "-i", str(lab.inventory), playbook(tmp_path, "ws-90"), "--yes",
                      state=tmp_path / "state")
    assert applied.returncode == 3, applied.stdout + applied.stderr
    assert ("precheck sw9 FAILED: sw9: step 'q': VTP client: VLAN 999 cannot be created here "
            "(the VTP server owns the VLAN database); quarantine on this switch refused\n"
            ) in applied.stderr
    assert "\n999 " not in refused


def test_the_lab_client_refuses_vlan_with_ios_text(lab: LabHandle) -> None:
    inventory, secrets = lab_inventory(lab.state_dir)
    port = next(d["port"] for d in inventory["devices"] if d["name"] == "sw9")
    conn: Any = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=port,
                               username=secrets["username"], password=secrets["password"],
                               secret=secrets["enable"])
    try:
        conn.enable()
        out = conn.send_config_set(["vlan 999", "no vlan 100"])
    finally:
        conn.disconnect()
    assert out.count("VTP VLAN configuration not allowed when device is in CLIENT mode.") == 2
