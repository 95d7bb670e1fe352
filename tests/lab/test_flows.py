"""The traffic model on the default (city) topology: a baseline where everything passes,
then each kind of containment blocks exactly the flows it must. Device state is changed
through each device's own command line (IOS config, nft, ASA), as a driver would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from netmiko import ConnectHandler
from typer.testing import CliRunner

from isolate.inventory.models import Inventory
from isolate.lab.device import SimDevice
from isolate.lab.flows import FlowMatrix, compute_flows, flows_from_state_dir, render_table
from isolate.lab.inventory_out import inventory_data
from isolate.lab.process import LabHandle, start_lab
from isolate.lab.topology import LabCredentials, load_topology, make_device

CREDS = LabCredentials("admin", "lab-password", "lab-enable")


class City:
    def __init__(self) -> None:
        lab = load_topology("city")
        self.devices: dict[str, SimDevice] = {d.name: make_device(d, lab, CREDS) for d in lab.hosted()}
        data = inventory_data(lab, base_port=20000, secrets_path="secrets.yml", known_hosts="kh")
        self.inventory = Inventory.model_validate(data)

    def flows(self) -> FlowMatrix:
        return compute_flows(self.inventory, self.devices)

    def ios(self, device: str, *lines: str) -> None:
        shell = self.devices[device].open_shell("admin")
        for line in ("enable", CREDS.enable, "configure terminal", *lines, "end"):
            reply = shell.feed(line)
            assert "%" not in reply.output, (line, reply.output)

    def linux(self, device: str, command: str, stdin: str = "") -> None:
        result = self.devices[device].exec("admin", command, stdin)
        assert result is not None and result.exit_status == 0, result

    def asa(self, *lines: str) -> None:
        shell = self.devices["vpn1"].open_shell("admin")
        for line in ("enable", CREDS.enable, *lines):
            reply = shell.feed(line)
            assert "ERROR" not in reply.output, (line, reply.output)

    def port_of(self, host: str) -> tuple[str, str]:
        for device in self.inventory.devices:
            for port in device.ports:
                if port.host == host:
                    return device.name, str(port.interface)
        raise AssertionError(f"{host} has no access port")


@pytest.fixture
def city() -> City:
    return City()


def test_baseline_every_flow_passes(city: City) -> None:
    matrix = city.flows()
    assert matrix.flows and all(f.allowed for f in matrix.flows)
    smb = matrix.find("ws-01", "fs1", 445)
    assert smb is not None and smb.reason == "routed core2 Vlan100 -> core1 Vlan10"
    assert matrix.find("ws-01", "ws-17", 445).reason == "same VLAN 100"  # type: ignore[union-attr]
    management = [f for f in matrix.flows if f.management]
    assert {f.dst for f in management} == {d.name for d in city.inventory.devices}
    assert all(f.src == "admin1" and f.port == 22 for f in management)
    # deterministic and JSON-serialisable
    assert json.dumps(matrix.to_json()) == json.dumps(city.flows().to_json())
    assert "BLOCKED" not in render_table(matrix)


def test_acl_on_an_svi_blocks_smb_from_that_segment(city: City) -> None:
    city.ios("core2", "ip access-list extended NO-SMB", " deny tcp any any eq 445",
             " permit ip any any", "interface Vlan100", " ip access-group NO-SMB in")  # fmt: skip
    matrix = city.flows()
    blocked = matrix.find("ws-01", "fs1", 445)
    assert blocked is not None and not blocked.allowed
    assert blocked.reason == "core2 Vlan100 ip access-group NO-SMB in denies"
    assert matrix.allowed("ws-01", "fs1", 139)
    assert matrix.allowed("ws-01", "ws-02", 445)  # same VLAN: nothing filters
    assert matrix.allowed("fs1", "ws-01", 445)  # the ACL is inbound on Vlan100 only
    assert matrix.allowed("ws-01", "ec1", 443)


def test_nft_drop_on_the_segment_firewall(city: City) -> None:
    script = (
        "add table inet isolate_cut\n"
        "add chain inet isolate_cut forward { type filter hook forward priority -10; policy accept; }\n"
        "add rule inet isolate_cut forward tcp dport { 139, 445 } drop\n"
    )
    city.linux("fw-int", "sudo -n nft -f -", script)
    matrix = city.flows()
    blocked = matrix.find("ws-01", "fs1", 445)
    assert blocked is not None and not blocked.allowed
    assert blocked.reason.startswith("fw-int nft inet isolate_cut forward rule handle")
    assert not matrix.allowed("fs1", "ws-01", 445)
    assert matrix.allowed("ws-01", "ws-17", 445)  # same VLAN
    assert matrix.allowed("ws-01", "web1", 443)  # websites has no firewall; 443 anyway
    assert matrix.allowed("fs1", "fs2", 445)  # same VLAN behind the firewall


def test_quarantine_vlan_cuts_a_host_off(city: City) -> None:
    switch, port = city.port_of("ws-17")
    city.ios(switch, "vlan 999", " name QUARANTINE", f"interface {port}", " switchport access vlan 999")
    matrix = city.flows()
    for flow in matrix.flows:
        if "ws-17" in (flow.src, flow.dst):
            assert not flow.allowed, flow
    assert matrix.find("ws-17", "fs1", 445).reason == "no SVI for VLAN 999 (ws-17): not routed"  # type: ignore[union-attr]
    assert matrix.allowed("ws-01", "fs1", 445)
    assert matrix.allowed("ws-01", "ws-02", 445)


def test_shut_port_and_null_route(city: City) -> None:
    switch, port = city.port_of("fs2")
    city.ios(switch, f"interface {port}", " shutdown")
    city.ios("core2", "ip route 100.64.0.66 255.255.255.255 Null0")
    matrix = city.flows()
    assert not matrix.allowed("ws-01", "fs2", 445)
    assert matrix.allowed("ws-01", "fs1", 445)
    assert not matrix.allowed("attacker", "web1", 443)  # core2 is web1's gateway
    assert matrix.find("attacker", "web1", 443).reason == "core2 routes 100.64.0.66 (attacker) to Null0"  # type: ignore[union-attr]


def test_edge_firewall_drop(city: City) -> None:
    assert city.flows().allowed("attacker", "web1", 443)
    script = (
        "add table inet isolate_edge\n"
        "add chain inet isolate_edge forward { type filter hook forward priority -10; policy accept; }\n"
        "add rule inet isolate_edge forward ip saddr { 100.64.0.66 } drop\n"
    )
    city.linux("fw-edge", "sudo -n nft -f -", script)
    matrix = city.flows()
    assert not matrix.allowed("attacker", "web1", 443)
    assert matrix.allowed("ws-01", "web1", 443)  # inside to inside never crosses the edge


def test_revoked_vpn_user_reaches_nothing(city: City) -> None:
    assert city.flows().allowed("vpn-alice", "web1", 443)
    city.asa("configure terminal", "username alice attributes", "vpn-simultaneous-logins 0", "end",
             "vpn-sessiondb logoff name alice noconfirm")  # fmt: skip
    for device in city.devices.values():  # time passes: clients retry
        device.tick(1e12)
    matrix = city.flows()
    flow = matrix.find("vpn-alice", "web1", 443)
    assert flow is not None and not flow.allowed
    assert flow.reason == "VPN user alice (vpn-alice) has no active session on vpn1"
    assert matrix.allowed("vpn-bob", "web1", 443)


# -- end to end: a running lab, netmiko, and the CLI ------------------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("citylab"), "city")
    try:
        yield handle
    finally:
        handle.stop()


def test_lab_flows_follow_changes_made_over_ssh(lab: LabHandle) -> None:
    assert flows_from_state_dir(lab.state_dir).allowed("ws-01", "fs1", 445)
    conn = ConnectHandler(device_type="linux", host="127.0.0.1", port=lab.port("fw-int"),
                          username=lab.credentials.username, password=lab.credentials.password,
                          fast_cli=True)  # fmt: skip
    try:
        spec = "'{ type filter hook forward priority -10; policy accept; }'"
        for command in ("sudo nft add table inet cut", f"sudo nft add chain inet cut forward {spec}",
                        "sudo nft add rule inet cut forward tcp dport 445 drop"):  # fmt: skip
            assert conn.send_command(command) == ""
    finally:
        conn.disconnect()
    from isolate.cli import _register_all, app

    _register_all()
    result = CliRunner().invoke(app, ["lab", "flows", "--state-dir", str(lab.state_dir), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_key = {(f["src"], f["dst"], f["port"]): f for f in data["flows"]}
    assert by_key[("ws-01", "fs1", 445)]["allowed"] is False
    assert by_key[("ws-01", "fs1", 139)]["allowed"] is True
    assert data["blocked"] > 0
    table = CliRunner().invoke(app, ["lab", "flows", "--state-dir", str(lab.state_dir)])
    assert table.exit_code == 0, table.output
    row = next(line for line in table.output.splitlines() if line.startswith("ws-01 ") and " fs1 " in line
               and "445/tcp" in line)  # fmt: skip
    assert "BLOCKED" in row and "fw-int nft inet cut forward rule handle" in row


def test_state_dir_reader_matches_in_process_model(lab: LabHandle, tmp_path: Path) -> None:
    matrix = flows_from_state_dir(lab.state_dir)
    assert len(matrix.flows) == len(City().flows().flows)
