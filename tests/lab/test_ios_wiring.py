"""The lab's wiring as a client sees it over real SSH: ARP on the gateway, MAC tables on the
switches, CDP/LLDP on the trunks, all parsed by ntc-templates (real IOS formats), agreeing
with the topology so that an address the inventory does not list can be located
(IP -> ARP -> MAC -> MAC table -> edge port); and ``isolate lab move-host``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from labkit import netmiko_to
from ntc_templates.parse import parse_output

from isolate.cli import main
from isolate.lab.fabric import host_mac
from isolate.lab.process import LabHandle, start_lab

WIRED = Path(__file__).with_name("wired.yml")


@pytest.fixture(scope="module", name="lab")
def wired_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), WIRED)
    try:
        yield handle
    finally:
        handle.stop()


def show(lab: LabHandle, device: str, *commands: str) -> list[str]:
    conn = netmiko_to(lab, device)
    try:
        conn.enable()
        return [conn.send_command(c) for c in commands]
    finally:
        conn.disconnect()


def parsed(command: str, text: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = parse_output(platform="cisco_ios", command=command, data=text)
    return rows


def isolate_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as done:
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def locate(lab: LabHandle, address: str) -> list[tuple[str, str, str]]:
    """What a locating client does: ARP on the gateways, then MAC tables on every switch,
    keeping the ports with no CDP neighbour (edge ports)."""
    macs = set()
    for gateway in ("core1", "core2"):
        (arp,) = show(lab, gateway, f"show ip arp {address}")
        macs |= {r["mac_address"] for r in parsed("show ip arp", arp)
                 if r["ip_address"] == address}
    assert len(macs) == 1, macs
    mac = macs.pop()
    found = []
    for switch in ("core1", "core2", "acc1", "acc2"):
        table, cdp = show(lab, switch, f"show mac address-table address {mac}",
                          "show cdp neighbors detail")
        trunks = {r["local_interface"] for r in parsed("show cdp neighbors detail", cdp)}
        for row in parsed("show mac address-table", table):
            port = row["destination_port"][0].replace("Gi", "GigabitEthernet")
            if port not in trunks:
                found.append((switch, port, row["vlan_id"]))
    return found


def test_unlisted_host_is_absent_from_the_inventory(lab: LabHandle) -> None:
    data = yaml.safe_load(lab.inventory.read_text())
    assert "ws-23" not in {h["name"] for h in data["hosts"]}
    acc2 = next(d for d in data["devices"] if d["name"] == "acc2")
    assert acc2["ports"] == [{"interface": "GigabitEthernet1/0/1", "host": "fs1"}]


def test_gateway_arp_names_hosts_of_its_segments_only(lab: LabHandle) -> None:
    (core2,) = show(lab, "core2", "show ip arp")
    rows = {r["ip_address"]: r for r in parsed("show ip arp", core2)}
    assert set(rows) == {"10.10.100.1", "10.10.100.17", "10.10.100.23"}
    assert rows["10.10.100.23"]["mac_address"] == host_mac("ws-23")
    assert rows["10.10.100.23"]["interface"] == "Vlan100"
    assert rows["10.10.100.1"]["age"] == "-"
    (core1,) = show(lab, "core1", "show arp")
    assert "10.10.100.23" not in core1 and "10.10.10.11" in core1


def test_an_unlisted_address_is_located_on_its_edge_port(lab: LabHandle) -> None:
    assert locate(lab, "10.10.100.23") == [("acc2", "GigabitEthernet1/0/2", "100")]
    assert locate(lab, "10.10.100.17") == [("acc1", "GigabitEthernet1/0/2", "100")]


def test_trunks_have_cdp_and_lldp_neighbours(lab: LabHandle) -> None:
    cdp, lldp = show(lab, "acc2", "show cdp neighbors detail", "show lldp neighbors detail")
    rows = parsed("show cdp neighbors detail", cdp)
    assert {(r["local_interface"], r["neighbor_name"], r["neighbor_interface"],
             r["mgmt_address"]) for r in rows} == {
        ("GigabitEthernet1/0/12", "core1", "GigabitEthernet1/0/2", "10.99.0.2"),
        ("GigabitEthernet1/0/11", "core2", "GigabitEthernet1/0/2", "10.99.0.3")}
    rows = parsed("show lldp neighbors detail", lldp)
    assert {(r["local_interface"], r["neighbor_name"], r["neighbor_interface"])
            for r in rows} == {("Gi1/0/12", "core1", "GigabitEthernet1/0/2"),
                               ("Gi1/0/11", "core2", "GigabitEthernet1/0/2")}


def test_mac_table_filters_and_uplinks(lab: LabHandle) -> None:
    full, port, none = show(lab, "acc1", "show mac address-table",
                            "show mac address-table interface Gi1/0/2",
                            "show mac address-table address 0000.0000.0001")
    rows = parsed("show mac address-table", full)
    ws23 = next(r for r in rows if r["destination_address"] == host_mac("ws-23"))
    assert ws23["destination_port"] == ["Gi1/0/12"] and ws23["type"] == "DYNAMIC"
    assert any(r["vlan_id"] == "All" and r["destination_port"] == ["CPU"] for r in rows)
    assert [(r["destination_address"], r["vlan_id"])
            for r in parsed("show mac address-table", port)] == [(host_mac("ws-17"), "100")]
    assert none.rstrip().endswith("Total Mac Addresses for this criterion: 0")


def test_shut_port_forgets_its_host(lab: LabHandle) -> None:
    conn = netmiko_to(lab, "acc1")
    try:
        conn.enable()
        conn.send_config_set(["interface Gi1/0/2", "shutdown"])
        gone = conn.send_command(f"show mac address-table address {host_mac('ws-17')}")
        conn.send_config_set(["interface Gi1/0/2", "no shutdown"])
        back = conn.send_command(f"show mac address-table address {host_mac('ws-17')}")
    finally:
        conn.disconnect()
    assert parsed("show mac address-table", gone) == []
    assert [r["destination_port"] for r in parsed("show mac address-table", back)] == [
        ["Gi1/0/2"]]


def test_move_host_changes_where_it_is_found(lab: LabHandle,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    state = str(lab.state_dir)
    code, out, err = isolate_main(capsys, "lab", "move-host", "ws-23", "acc1", "Gi1/0/5",
                                  "--state-dir", state)
    assert (code, err) == (0, "")
    assert out == "ws-23: moved from acc2 GigabitEthernet1/0/2 to acc1 GigabitEthernet1/0/5" \
                  " (vlan 1)\n"
    try:
        assert locate(lab, "10.10.100.23") == [("acc1", "GigabitEthernet1/0/5", "1")]
        (status,) = show(lab, "acc2", "show interfaces status")
        gi2 = next(r for r in parsed("show interfaces status", status) if r["port"] == "Gi1/0/2")
        assert gi2["status"] == "notconnect"
    finally:
        code, out, _ = isolate_main(capsys, "lab", "move-host", "ws-23", "acc2", "Gi1/0/2",
                                    "--state-dir", state)
    assert code == 0 and "(vlan 100)" in out
    assert locate(lab, "10.10.100.23") == [("acc2", "GigabitEthernet1/0/2", "100")]


@pytest.mark.parametrize(("args", "message"), [
    (("nobody", "acc1", "Gi1/0/5"), "error: move-host: no host 'nobody' plugged into a switch"),
    (("ws-23", "acc9", "Gi1/0/5"), "error: move-host: no switch 'acc9' in the lab"),
    (("ws-23", "acc1", "Gi1/0/99"), "error: move-host: acc1 has no port Gi1/0/99"),
    (("ws-23", "acc1", "Gi1/0/12"),
     "error: move-host: acc1 GigabitEthernet1/0/12 is an uplink to another switch"),
    (("ws-23", "acc1", "Gi1/0/2"),
     "error: move-host: acc1 GigabitEthernet1/0/2 already has ws-17 plugged in"),
])
def test_move_host_refusals(lab: LabHandle, capsys: pytest.CaptureFixture[str],
                            args: tuple[str, str, str], message: str) -> None:
    code, out, err = isolate_main(capsys, "lab", "move-host", *args,
                                  "--state-dir", str(lab.state_dir))
    assert (code, out) == (1, "")
    assert err.splitlines()[0].startswith(message)


def test_show_outputs_parse_with_ntc_templates(lab: LabHandle) -> None:
    (interfaces, ip_interface, vlan, vlan_id, archive, directory, version,
     inventory) = show(lab, "core2", "show interfaces", "show ip interface", "show vlan",
                       "show vlan id 100", "show archive", "dir", "show version",
                       "show inventory")
    rows = {r["interface"]: r for r in parsed("show interfaces", interfaces)}
    assert rows["Vlan100"]["ip_address"] == "10.10.100.1"
    assert rows["Vlan100"]["link_status"] == "up"
    assert rows["GigabitEthernet1/0/1"]["protocol_status"] == "up (connected)"
    assert rows["GigabitEthernet1/0/5"]["link_status"] == "down"
    ips = {r["interface"]: r for r in parsed("show ip interface", ip_interface)}
    assert ips["Vlan100"]["ip_address"] == ["10.10.100.1"]
    assert ips["Vlan100"]["prefix_length"] == ["24"]
    vlans = {r["vlan_id"]: r for r in parsed("show vlan", vlan)}
    assert vlans["100"]["vlan_name"] == "users" and "1005" in vlans
    (one,) = parsed("show vlan", vlan_id)
    assert one["vlan_id"] == "100" and one["interfaces"] == ["Gi1/0/1", "Gi1/0/2", "Gi1/0/12"]
    (arch,) = parsed("show archive", archive)
    assert arch["next_filename"] == "flash:archive-1" and arch["filenames"] == []
    files = {r["name"] for r in parsed("dir", directory)}
    assert {"vlan.dat", "config.text"} <= files
    (ver,) = parsed("show version", version)
    assert ver["hostname"] == "core2" and ver["version"] == "15.2(7)E8"
    assert "Vlan100" in ip_interface and inventory.startswith('NAME: "1"')
