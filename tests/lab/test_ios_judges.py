"""Third-party clients judge the IOS lab over real SSH: NAPALM's ``ios`` driver getters and
Ansible's ``cisco.ios.ios_facts`` (gather_subset: all) must return correct, non-empty data
that matches the topology. A failure here is a lab bug: fix the lab, never the client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from isolate.lab.fabric import host_mac, port_mac, svi_mac
from isolate.lab.process import LabHandle, start_lab

napalm = pytest.importorskip("napalm")

WIRED = Path(__file__).with_name("wired.yml")


def colon(mac: str) -> str:
    text = mac.replace(".", "").upper()
    return ":".join(text[i : i + 2] for i in range(0, 12, 2))


@pytest.fixture(scope="module", name="lab")
def wired_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), WIRED)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def core2(lab: LabHandle) -> Iterator[Any]:
    yield from _napalm(lab, "core2")


@pytest.fixture(scope="module")
def acc2(lab: LabHandle) -> Iterator[Any]:
    yield from _napalm(lab, "acc2")


def _napalm(lab: LabHandle, device: str) -> Iterator[Any]:
    creds = lab.credentials
    driver = napalm.get_network_driver("ios")(
        hostname="127.0.0.1", username=creds.username, password=creds.password, timeout=30,
        optional_args={"port": lab.port(device), "secret": creds.enable,
                       "ssh_config_file": None})
    driver.open()
    try:
        yield driver
    finally:
        driver.close()


def test_get_facts(core2: Any) -> None:
    facts = core2.get_facts()
    assert facts["hostname"] == "core2" and facts["fqdn"] == "core2.wired.local"
    assert facts["vendor"] == "Cisco" and facts["model"] == "WS-C3750X-48P"
    assert "Version 15.2(7)E8" in facts["os_version"]
    assert facts["serial_number"].startswith("FOC")
    assert facts["interface_list"][:2] == ["GigabitEthernet1/0/1", "GigabitEthernet1/0/2"]
    assert "Vlan100" in facts["interface_list"]


def test_get_interfaces(core2: Any) -> None:
    interfaces = core2.get_interfaces()
    assert len(interfaces) == 14  # 12 ports, Vlan1, Vlan100
    uplink = interfaces["GigabitEthernet1/0/1"]
    assert (uplink["description"], uplink["is_up"], uplink["is_enabled"], uplink["speed"]) == (
        "acc1", True, True, 1000.0)
    assert interfaces["GigabitEthernet1/0/5"]["is_up"] is False
    assert interfaces["Vlan1"]["is_enabled"] is False
    assert interfaces["Vlan100"]["mac_address"] == colon(svi_mac("core2"))


def test_get_interfaces_ip(core2: Any) -> None:
    assert core2.get_interfaces_ip() == {"Vlan100": {"ipv4": {"10.10.100.1": {
        "prefix_length": 24}}}}


def test_get_vlans_with_interfaces(acc2: Any) -> None:
    vlans = acc2.get_vlans()
    assert vlans["100"]["name"] == "users"
    assert vlans["100"]["interfaces"] == ["GigabitEthernet1/0/2", "GigabitEthernet1/0/11",
                                          "GigabitEthernet1/0/12"]
    assert vlans["10"]["interfaces"] == ["GigabitEthernet1/0/1", "GigabitEthernet1/0/11",
                                         "GigabitEthernet1/0/12"]
    assert vlans["1002"] == {"name": "fddi-default", "interfaces": []}


def test_get_arp_table(core2: Any) -> None:
    table = {e["ip"]: e for e in core2.get_arp_table()}
    assert set(table) == {"10.10.100.1", "10.10.100.17", "10.10.100.23"}
    assert table["10.10.100.23"]["mac"] == colon(host_mac("ws-23"))
    assert table["10.10.100.23"]["interface"] == "Vlan100"
    assert table["10.10.100.1"]["age"] == -1.0


def test_get_mac_address_table(acc2: Any) -> None:
    table = acc2.get_mac_address_table()
    dynamic = {e["mac"]: e for e in table if not e["static"]}
    assert dynamic[colon(host_mac("ws-23"))]["interface"] == "Gi1/0/2"  # as IOS prints it
    assert dynamic[colon(host_mac("ws-23"))]["vlan"] == 100
    assert dynamic[colon(host_mac("ws-17"))]["interface"] == "Gi1/0/12"
    assert any(e["static"] and e["vlan"] == 0 for e in table)


def test_get_lldp_neighbors(acc2: Any) -> None:
    assert acc2.get_lldp_neighbors() == {
        "GigabitEthernet1/0/11": [{"port": "Gi1/0/2", "hostname": "core2"}],
        "GigabitEthernet1/0/12": [{"port": "Gi1/0/2", "hostname": "core1"}]}


def test_get_config(acc2: Any) -> None:
    config = acc2.get_config()
    assert config["running"].startswith("!\nversion 15.2")
    assert "hostname acc2" in config["running"] and config["running"].endswith("end")
    assert config["startup"] == config["running"] and config["candidate"] == ""


@pytest.mark.slow
def test_ansible_ios_facts_all(lab: LabHandle, tmp_path: Path) -> None:
    playbook_bin = Path(sys.executable).with_name("ansible-playbook")
    if not playbook_bin.exists() and shutil.which("ansible-playbook") is None:
        pytest.skip("ansible-playbook is not installed")
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "[sw]\n"
        f"core2 ansible_host=127.0.0.1 ansible_port={lab.port('core2')}\n"
        "[sw:vars]\n"
        "ansible_connection=ansible.netcommon.network_cli\n"
        "ansible_network_os=cisco.ios.ios\n"
        "ansible_network_cli_ssh_type=libssh\n"
        f"ansible_user={lab.credentials.username}\n"
        "ansible_become=yes\nansible_become_method=enable\n")
    out = tmp_path / "facts.json"
    (tmp_path / "play.yml").write_text(
        "- hosts: sw\n  gather_facts: false\n  tasks:\n"
        "    - cisco.ios.ios_facts: {gather_subset: [all]}\n"
        "    - ansible.builtin.copy: {content: '{{ ansible_facts | to_json }}', "
        f"dest: '{out}'}}\n      delegate_to: localhost\n")
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "false", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_HOME": str(tmp_path)}
    extra = (f"ansible_password={lab.credentials.password} "
             f"ansible_become_password={lab.credentials.enable}")
    result = subprocess.run(
        [str(playbook_bin if playbook_bin.exists() else "ansible-playbook"), "-i",
         str(inventory), str(tmp_path / "play.yml"), "-e", extra],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    facts = json.loads(out.read_text())
    assert facts["net_hostname"] == "core2" and facts["net_model"] == "WS-C3750X-48P"
    assert facts["net_all_ipv4_addresses"] == ["10.10.100.1"]
    interfaces = facts["net_interfaces"]
    assert interfaces["Vlan100"]["ipv4"] == [{"address": "10.10.100.1", "subnet": "24"}]
    assert interfaces["GigabitEthernet1/0/1"]["description"] == "acc1"
    assert interfaces["GigabitEthernet1/0/1"]["lineprotocol"] == "up"
    assert interfaces["GigabitEthernet1/0/5"]["operstatus"] == "down"
    assert interfaces["GigabitEthernet1/0/1"]["macaddress"] == port_mac("core2", 0)
    neighbours = facts["net_neighbors"]
    assert neighbours["GigabitEthernet1/0/1"][0]["host"] == "acc1"
    assert facts["net_filesystems"] == ["flash:"]
    assert "hostname core2" in facts["net_config"]
