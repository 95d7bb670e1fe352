"""Cisco gear as it really is, end to end through the CLI on the embedded lab (wired topology):
an IOS 15 switch offering only legacy SSH algorithms, reached over both transports when the
inventory allows it and refused in one line when it does not; ``ntp clock-period`` rewritten
by the device between apply and restore; a ``%`` banner line in ``show running-config``; a
TACACS+ ``Command authorization failed.`` stopping the batch at the line it refused; IOS's
informational ``% Access VLAN does not exist. Creating vlan N`` taken as information."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from e2e import newest_run, read_device, records, run_cli

from isolate.drivers.registry import connect
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, advance_clock, set_fault, start_lab

WIRED = Path(__file__).resolve().parents[1] / "lab" / "wired.yml"
QUARANTINE = """version: 1
name: quarantine-ws15
description: the host on the old 2960
steps:
  - {id: quarantine-ws15, action: quarantine, targets: {hosts: [ws-15]}, params: {vlan: 999}}
"""
CUT_SMB = """version: 1
name: cut-smb
description: SMB between servers and users
steps:
  - {id: cut-smb, action: block-smb, targets: {segments: [servers, users]}}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    where = tmp_path_factory.mktemp("wired")
    topology = yaml.safe_load(WIRED.read_text())
    topology["hosts"].append({"name": "ws-15", "address": "10.10.100.15", "segment": "users",
                              "switch": "sw15", "services": [{"name": "smb", "port": 445}]})
    path = where / "wired15.yml"
    path.write_text(yaml.safe_dump(topology, sort_keys=False))
    handle = start_lab(where / "state", path)
    try:
        yield handle
    finally:
        handle.stop()


def _playbook(tmp_path: Path, text: str) -> str:
    path = tmp_path / "playbook.yml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("transport", ["asyncssh", "netmiko"])
def test_legacy_ssh_device_applies_and_restores_when_allowed(
    lab: LabHandle, tmp_path: Path, transport: str
) -> None:
    inv = str(lab.state_dir / "inventory.yml")
    assert {"legacy": True} in [d.get("ssh") for d in yaml.safe_load(Path(inv).read_text())["devices"]]
    playbook = _playbook(tmp_path, QUARANTINE)
    before = read_device(lab.state_dir, "core1")  # a modern device, untouched
    plan = run_cli("plan", "-i", inv, playbook, state=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "legacy SSH algorithms allowed for sw15 (inventory ssh): a weaker channel" in plan.stdout
    applied = run_cli("apply", "-i", inv, playbook, "--yes", "--transport", transport, state=tmp_path)
    assert applied.returncode == 0, applied.stderr
    journal = records(newest_run(tmp_path))  # type: ignore[arg-type]
    precheck = next(r["data"] for r in journal if r["kind"] == "precheck" and r["data"]["device"] == "sw15")
    assert precheck["message"] == "ready (legacy SSH algorithms allowed: a weaker channel)"
    assert [r["data"]["ok"] for r in journal if r["kind"] == "verified"] == [True]
    restored = run_cli("restore", "--yes", "--transport", transport, state=tmp_path)
    assert restored.returncode == 0, restored.stderr
    gates = [r["data"] for r in records(newest_run(tmp_path)) if r["kind"] == "gate"]  # type: ignore[arg-type]
    assert gates and all(g["ok"] for g in gates)
    assert read_device(lab.state_dir, "core1") == before


@pytest.mark.parametrize("transport", ["asyncssh", "netmiko"])
def test_legacy_ssh_device_refused_in_one_line_when_not_allowed(
    lab: LabHandle, tmp_path: Path, transport: str
) -> None:
    data = yaml.safe_load((lab.state_dir / "inventory.yml").read_text())
    sw15 = next(d for d in data["devices"] if d["name"] == "sw15")
    del sw15["ssh"]
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(data, sort_keys=False))
    for name in ("secrets.yml", "known_hosts"):
        (tmp_path / name).write_bytes((lab.state_dir / name).read_bytes())
    applied = run_cli("apply", "-i", str(inv), _playbook(tmp_path, QUARANTINE), "--yes",
                      "--transport", transport, state=tmp_path / "state")
    assert applied.returncode == 3, applied.stderr
    line = (f"sw15: no SSH key exchange algorithm in common with 127.0.0.1:{sw15['port']}; an older "
            "device (IOS 12.2/15: CBC ciphers, SHA-1 key exchange, ssh-rsa) needs 'ssh: {legacy: true}' "
            "on this device in the inventory (a weaker channel)")
    assert line in applied.stderr, applied.stderr


def _clock_period(text: str) -> str:
    found = re.search(r"^ntp clock-period (\d+)$", text, re.M)
    assert found, "core1 runs NTP in the wired topology"
    return found.group(1)


def test_restore_passes_its_gate_when_ntp_clock_period_churned(lab: LabHandle, tmp_path: Path) -> None:
    inv = str(lab.state_dir / "inventory.yml")
    first = _clock_period(read_device(lab.state_dir, "core1"))
    assert "% Authorised access only." in read_device(lab.state_dir, "core1")  # a % banner line
    applied = run_cli("apply", "-i", inv, _playbook(tmp_path, CUT_SMB), "--yes", state=tmp_path)
    assert applied.returncode == 0, applied.stderr  # reads with a % banner line are not refusals
    advance_clock(lab.state_dir, 900)  # IOS disciplines its clock meanwhile
    assert _clock_period(read_device(lab.state_dir, "core1")) != first
    restored = run_cli("restore", "--yes", state=tmp_path)
    assert restored.returncode == 0, restored.stderr
    gates = [r["data"] for r in records(newest_run(tmp_path)) if r["kind"] == "gate"]  # type: ignore[arg-type]
    assert any(g["device"] == "core1" and g["check"] == "equality" and g["ok"] for g in gates), gates


def test_command_authorization_failed_stops_the_batch_naming_the_line(lab: LabHandle, tmp_path: Path) -> None:
    inv = str(lab.state_dir / "inventory.yml")
    set_fault(lab.state_dir, "core1", make_fault("authz-fail", pattern=r"^ip access-group "))
    try:
        applied = run_cli("apply", "-i", inv, _playbook(tmp_path, CUT_SMB), "--yes", state=tmp_path)
    finally:
        set_fault(lab.state_dir, "core1", make_fault("clear"))
    assert applied.returncode == 1, applied.stderr
    refused = "core1: 'ip access-group ISOLATE-CUT-SMB in' rejected: Command authorization failed."
    assert refused in applied.stderr, applied.stderr
    failed = [r["data"] for r in records(newest_run(tmp_path)) if r["kind"] == "failed"]  # type: ignore[arg-type]
    assert [f["device"] for f in failed] == ["core1"] and failed[0]["phase"] == "push"
    restored = run_cli("restore", "--yes", state=tmp_path)
    assert restored.returncode == 0, restored.stderr


@pytest.mark.parametrize("transport", ["asyncssh", "netmiko"])
def test_an_informational_percent_line_is_not_a_refusal(lab: LabHandle, transport: str) -> None:
    inventory = load_inventory(lab.state_dir / "inventory.yml")
    target = resolve_targets(inventory, ["acc1"], timeout_s=10.0).targets["acc1"]
    vlan = 3990 if transport == "asyncssh" else 3991
    session = connect(target, transport)
    try:
        before = session.read_state()
        results = session.push(["interface GigabitEthernet1/0/5", f"switchport access vlan {vlan}"])
        assert f"% Access VLAN does not exist. Creating vlan {vlan}" in results[0].output
        assert f"switchport access vlan {vlan}" in session.read_state()
        session.push(["interface GigabitEthernet1/0/5", "no switchport access vlan", f"no vlan {vlan}"])
        assert session.read_state() == before
    finally:
        session.close()
