"""The IOS simulator driven by netmiko cisco_ios over real SSH, parsed by ntc-templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from labkit import netmiko_to, small_lab  # noqa: F401 (small_lab: the `lab` fixture)
from netmiko.exceptions import ReadTimeout
from ntc_templates.parse import parse_output

from isolate.lab.process import LabHandle


@pytest.fixture(scope="module")
def acc1(lab: LabHandle) -> Iterator[Any]:
    conn = netmiko_to(lab, "acc1")
    conn.enable()
    yield conn
    conn.disconnect()


QUARANTINE = ["vlan 999", "interface GigabitEthernet1/0/5", "switchport access vlan 999"]


@pytest.fixture
def quarantined(acc1: Any) -> Any:
    """acc1 with Gi1/0/5 in VLAN 999 (the configuration is idempotent: a test that needs it
    sets it, whichever test ran before, on whichever worker)."""
    assert "%" not in acc1.send_config_set(QUARANTINE)
    return acc1


def test_done_when_scenario_vlan_999_on_gi1_0_5(acc1: Any) -> None:
    out = acc1.send_config_set(QUARANTINE)
    assert "%" not in out
    running = acc1.send_command("show running-config")
    assert running.startswith("Building configuration...")
    assert "\nvlan 999\n!\n" in running
    assert "\ninterface GigabitEthernet1/0/5\n switchport access vlan 999\n!\n" in running
    assert running.rstrip().endswith("end")
    vlans = parse_output(platform="cisco_ios", command="show vlan brief",
                         data=acc1.send_command("show vlan brief"))
    row = next(v for v in vlans if v["vlan_id"] == "999")
    assert row["vlan_name"] == "VLAN0999" and row["interfaces"] == ["Gi1/0/5"]
    default = next(v for v in vlans if v["vlan_id"] == "1")
    assert "Gi1/0/5" not in default["interfaces"]


def test_running_config_is_deterministic_and_sized(acc1: Any) -> None:
    first = acc1.send_command("show running-config")
    assert first == acc1.send_command("show running-config")
    header, _, body = first.partition("\n!\n")
    size = int(header.split("Current configuration : ")[1].split()[0])
    assert size == len("!\n" + body.rstrip("\n") + "\n")


def test_running_config_interface_and_section(quarantined: Any) -> None:
    acc1 = quarantined
    one = acc1.send_command("show running-config interface gi1/0/5")
    assert one.splitlines()[-4:] == [
        "!", "interface GigabitEthernet1/0/5", " switchport access vlan 999", "end"]
    section = acc1.send_command("show running-config | section vlan 999")
    assert section.splitlines() == [
        "vlan 999", "interface GigabitEthernet1/0/5", " switchport access vlan 999"]
    assert acc1.send_command("show running-config | include ^hostname") == "hostname acc1"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("show vlan brf", ["               ^", "% Invalid input detected at '^' marker."]),
        ("show", ["% Incomplete command."]),
        ("s", ['% Ambiguous command:  "s"']),
        ("frobnicate", ['Translating "frobnicate"', "",
                        "% Unknown command or computer name, or unable to find computer "
                        "address"]),
    ],
)
def test_exec_errors_as_ios_prints_them(acc1: Any, command: str, expected: list[str]) -> None:
    out = acc1.send_command(command, strip_prompt=True)
    assert out.splitlines()[-len(expected):] == expected


def test_config_errors_with_caret_under_bad_token(acc1: Any) -> None:
    out = acc1.send_config_set(["vlan 5000"], cmd_verify=True)
    caret_line = next(line for line in out.splitlines() if line.strip() == "^")
    prompt = "acc1(config)#"
    assert caret_line.index("^") == len(prompt) + len("vlan ")
    assert "% Invalid input detected at '^' marker." in out
    out = acc1.send_config_set(["interface GigabitEthernet1/0/1", "switchport access"])
    assert "% Incomplete command." in out
    out = acc1.send_config_set(["interface GigabitEthernet9/0/1"])
    assert "% Invalid input detected at '^' marker." in out


def test_enable_with_wrong_secret_is_refused(lab: LabHandle) -> None:
    conn = netmiko_to(lab, "acc2", secret="not-the-secret")
    try:
        with pytest.raises(ValueError, match="enable mode"):
            conn.enable()
        assert conn.find_prompt() == "acc2>"
    finally:
        conn.disconnect()


def test_acl_lines_sequences_and_no_forms(acc1: Any) -> None:
    acc1.send_config_set([
        "ip access-list extended BLOCK-SMB",
        "deny tcp any any eq 445",
        "deny tcp any host 10.10.10.11 range 135 139",
        "permit ip 10.10.100.0 0.0.0.255 any",
        "15 permit udp any any eq 53",
        "no 30",
        "no deny tcp any any eq 445",
        "permit ip any any",
    ])
    parsed = parse_output(platform="cisco_ios", command="show ip access-lists",
                          data=acc1.send_command("show ip access-lists BLOCK-SMB"))
    assert {r["acl_name"] for r in parsed} == {"BLOCK-SMB"}
    aces = [r for r in parsed if r["line_num"]]
    rows = [(r["line_num"], r["action"], r["protocol"]) for r in aces]
    assert rows == [("15", "permit", "udp"), ("20", "deny", "tcp"), ("30", "permit", "ip")]
    assert aces[1]["dst_host"] == "10.10.10.11"
    assert (aces[1]["dst_port_range_start"], aces[1]["dst_port_range_end"]) == ("135", "139")
    section = acc1.send_command("show running-config | section ip access-list")
    assert section.splitlines() == [
        "ip access-list extended BLOCK-SMB",
        " permit udp any any eq domain",
        " deny   tcp any host 10.10.10.11 range 135 139",
        " permit ip any any",
    ]
    acc1.send_config_set(["no ip access-list extended BLOCK-SMB"])
    assert acc1.send_command("show ip access-lists") == ""


def test_svi_access_group_and_null_route(lab: LabHandle) -> None:
    conn = netmiko_to(lab, "core1")
    conn.enable()
    try:
        conn.send_config_set([
            "ip access-list extended SEG", "deny tcp any any eq 445", "permit ip any any",
            "interface Vlan10", "ip access-group SEG in",
            "ip route 10.66.0.0 255.255.0.0 Null0",
        ])
        svi = conn.send_command("show running-config interface Vlan10")
        assert " ip address 10.10.10.1 255.255.255.0\n ip access-group SEG in\nend" in svi
        assert "ip route 10.66.0.0 255.255.0.0 Null0" in conn.send_command(
            "show running-config | include ip route")
        brief = parse_output(platform="cisco_ios", command="show ip interface brief",
                             data=conn.send_command("show ip interface brief"))
        vlan10 = next(r for r in brief if r["interface"] == "Vlan10")
        assert (vlan10["ip_address"], vlan10["status"], vlan10["proto"]) == (
            "10.10.10.1", "up", "up")
        conn.send_config_set(["interface Vlan10", "no ip access-group SEG in",
                              "no ip route 10.66.0.0 255.255.0.0 Null0"])
        assert "access-group" not in conn.send_command("show running-config interface Vlan10")
    finally:
        conn.disconnect()


def test_interfaces_status_parses_and_shutdown_shows_disabled(quarantined: Any) -> None:
    acc1 = quarantined
    acc1.send_config_set(["interface Gi1/0/2", "shutdown"])
    parsed = parse_output(platform="cisco_ios", command="show interfaces status",
                          data=acc1.send_command("show interfaces status"))
    by_port = {r["port"]: r for r in parsed}
    assert by_port["Gi1/0/2"]["status"] == "disabled"
    assert by_port["Gi1/0/1"]["status"] == "connected"
    assert by_port["Gi1/0/12"]["vlan_id"] == "trunk"
    assert by_port["Gi1/0/5"]["vlan_id"] == "999"
    acc1.send_config_set(["interface Gi1/0/2", "no shutdown"])
    assert " shutdown" not in acc1.send_command("show running-config interface Gi1/0/2")


def test_show_version_and_privilege_for_ansible(acc1: Any) -> None:
    assert acc1.send_command("show privilege").strip() == "Current privilege level is 15"
    parsed = parse_output(platform="cisco_ios", command="show version",
                          data=acc1.send_command("show version"))
    assert parsed[0]["version"] == "15.2(7)E8"
    assert parsed[0]["hostname"] == "acc1"


def test_write_memory_and_copy_run_start(acc1: Any) -> None:
    assert "[OK]" in acc1.save_config()
    out = acc1.send_command_timing("copy running-config startup-config")
    assert "Destination filename [startup-config]?" in out
    assert "[OK]" in acc1.send_command_timing("")
    assert "vlan 999" in acc1.send_command("show startup-config")


def test_hostname_change_moves_the_prompt(lab: LabHandle) -> None:
    conn = netmiko_to(lab, "acc2")
    conn.enable()
    try:
        conn.send_config_set(["hostname acc2-renamed"], exit_config_mode=False)
        conn.set_base_prompt()
        assert conn.find_prompt() in ("acc2-renamed(config)#",)
        conn.send_config_set(["hostname acc2"])
    except ReadTimeout:
        pytest.fail("prompt did not follow the new hostname")
    finally:
        conn.disconnect()
