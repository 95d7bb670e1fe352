"""VTP as a Catalyst does it: server by default (VLANs in vlan.dat, shown by ``show vlan
brief``/``show vtp status``, not in the running configuration), transparent and client."""

from __future__ import annotations

from pathlib import Path

import pytest

from isolate.errors import TopologyError
from isolate.lab.ios import IosDevice
from isolate.lab.ios.shell import IosShell
from isolate.lab.topology import load_topology

SMALL = Path(__file__).with_name("small.yml")


def session(*lines: str) -> tuple[IosShell, list[str]]:
    shell = IosShell(IosDevice("sw1"), "admin", privileged=True)
    return shell, [shell.feed(line).output for line in lines]


def test_server_keeps_vlans_out_of_the_running_config() -> None:
    _, out = session("configure terminal", "vlan 50", "name printers", "end",
                         "show running-config", "show vlan brief", "show vtp status")
    running, brief, vtp = out[4], out[5], out[6]
    assert "vlan 50" not in running and "vtp mode" not in running
    assert "\n50   printers                         active" in brief
    assert "VTP Operating Mode                : Server" in vtp
    assert "Configuration Revision            : 2" in vtp


def test_transparent_shows_vlans_in_the_running_config() -> None:
    _, out = session("configure terminal", "vtp mode transparent", "vlan 50", "end",
                     "show running-config", "show vtp status")
    assert out[1] == "Setting device to VTP Transparent mode for VLANS.\n"
    assert "\nvtp mode transparent\n!\n" in out[4] and "\nvlan 50\n!\n" in out[4]
    assert "Configuration Revision            : 0" in out[5]


def test_client_refuses_vlan_changes_with_ios_text() -> None:
    _, out = session("configure terminal", "vlan 50", "vtp mode client", "vlan 60",
                     "no vlan 50", "end", "show vlan brief")
    assert out[2] == "Setting device to VTP Client mode for VLANS.\n"
    refusal = "VTP VLAN configuration not allowed when device is in CLIENT mode.\n"
    assert out[3] == out[4] == refusal
    assert "\n50   VLAN0050 " in out[6] and "\n60 " not in out[6]


def test_topology_vtp_option_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(SMALL.read_text().replace("options: {vtp: transparent}",
                                             "options: {vtp: primary}"))
    with pytest.raises(TopologyError, match=r"bad.yml:\d+: devices\[0\].options.vtp: must be "
                       r"one of server, client, transparent \(cisco_ios only\)"):
        load_topology(bad)
