"""The platform records as data: refusal and informational markers tested with the texts
real devices print, volatile state lines, and what derives from the table."""

from __future__ import annotations

import typing

import pytest

from isolate.inventory.ansible import DEFAULT_ROLE, NETWORK_OS
from isolate.inventory.models import PLATFORMS as INVENTORY_PLATFORMS
from isolate.inventory.models import Platform as InventoryPlatform
from isolate.platforms import NAMES, PLATFORMS, Dialect, RevertOnEnter, get, has_revert
from isolate.values import BadValue, parse_interface

IOS = PLATFORMS["cisco_ios"]
ASA = PLATFORMS["cisco_asa"]
assert IOS.markers is not None and ASA.markers is not None
IOS_MARKERS = IOS.markers
ASA_MARKERS = ASA.markers

# Configuration-mode answers of real IOS (Cisco command references, device logs).
IOS_REFUSED = [
    ("% Invalid input detected at '^' marker.", "% Invalid input detected at '^' marker."),
    ("% Incomplete command.", "% Incomplete command."),
    ('% Ambiguous command:  "sh"', '% Ambiguous command:  "sh"'),
    ("Command authorization failed.", "Command authorization failed."),
    (
        "VTP VLAN configuration not allowed when device is in CLIENT mode.",
        "VTP VLAN configuration not allowed when device is in CLIENT mode.",
    ),
    ("%Turn config archive on before using Rollback Confirmed Change", None),
    ("% IP addresses may not be configured on L2 links.", None),
    ("Command rejected: Bad VLAN list - character #1 is a non-numeric", None),
]
IOS_INFORMATIONAL = [
    "% Access VLAN does not exist. Creating vlan 999",
    "%Warning: portfast should only be enabled on ports connected to a single host.",
    "% Warning: this may result in a loss of connectivity",
    "% Applying VLAN changes may take few minutes.  Please do not interrupt CLI.",
]


@pytest.mark.parametrize(("answer", "named"), IOS_REFUSED)
def test_ios_refusals(answer: str, named: str | None) -> None:
    assert IOS_MARKERS.config_refusal(f"\n{answer}\n") == (named or answer)


@pytest.mark.parametrize("answer", IOS_INFORMATIONAL)
def test_ios_informational_lines_are_not_refusals(answer: str) -> None:
    assert IOS_MARKERS.config_refusal(f"{answer}\n") is None


def test_an_informational_line_does_not_hide_a_refusal_after_it() -> None:
    answer = "% Access VLAN does not exist. Creating vlan 999\nCommand authorization failed.\n"
    assert IOS_MARKERS.config_refusal(answer) == "Command authorization failed."


def test_a_banner_percent_line_inside_a_show_is_data() -> None:
    running = (
        "Building configuration...\n\nCurrent configuration : 1200 bytes\n!\nhostname acc1\n"
        "banner motd ^C\n% Authorized access only. Disconnect now if you are not.\n^C\n!\nend\n"
    )
    assert IOS_MARKERS.exec_refusal(running) is None
    assert IOS_MARKERS.exec_refusal("show bogus\n     ^\n% Invalid input detected at '^' marker.\n") is None
    assert (
        IOS_MARKERS.exec_refusal("        ^\n% Invalid input detected at '^' marker.\n")
        == "% Invalid input detected at '^' marker."
    )
    assert IOS_MARKERS.exec_refusal("Command authorization failed.\n") == "Command authorization failed."
    assert IOS_MARKERS.exec_refusal("%No Rollback Confirmed Change pending\n") == (
        "%No Rollback Confirmed Change pending"
    )


def test_asa_markers() -> None:
    assert ASA_MARKERS.config_refusal("ERROR: % Invalid input detected at '^' marker.") is not None
    assert ASA_MARKERS.config_refusal("WARNING: Local user database is empty") is None
    assert ASA_MARKERS.config_refusal("INFO: Security level for \"inside\" set to 100 by default.") is None
    assert ASA_MARKERS.config_refusal("Command authorization failed") == "Command authorization failed"


def test_ios_volatile_lines_are_not_state() -> None:
    def config(clock: str, stamp: str) -> str:
        return (
            f"Building configuration...\n\nCurrent configuration : 4242 bytes\n!\n{stamp}\n!\n"
            f"hostname core1\n!\nntp clock-period {clock}\nntp server 10.0.0.1\n!\nend\n"
        )

    day = "UTC Wed Dec 2 2026"
    before = IOS.state.normalise(config("17179861", f"! Last configuration change at 09:01:02 {day}"))
    after = IOS.state.normalise(config("17179873", f"! NVRAM config last updated at 10:11:12 {day}"))
    assert before == after
    assert "ntp server 10.0.0.1\n" in before and "clock-period" not in before


def test_confirm_strategies() -> None:
    assert isinstance(IOS.confirm, RevertOnEnter)
    assert IOS.confirm.enter.format(units=2) == "configure terminal revert timer 2"
    assert not has_revert("cisco_asa") and ASA.confirm is None
    assert has_revert("linux")
    assert IOS.confirm is not None and IOS.confirm.armed.shows("Timer type: absolute\nTimer value: 2 min\n")
    assert not IOS.confirm.armed.shows("%No Rollback Confirmed Change pending")


def test_archive_prerequisite_is_read_from_the_state() -> None:
    assert isinstance(IOS.confirm, RevertOnEnter)
    import re

    with_archive = "hostname a\n!\narchive\n log config\n path flash:archive\n maximum 14\n!\nend\n"
    assert re.search(IOS.confirm.requires, with_archive)
    assert not re.search(IOS.confirm.requires, "hostname a\n!\nend\n")
    assert not re.search(IOS.confirm.requires, "archive\n log config\n  logging enable\n!\n")


def test_everything_derives_from_the_table() -> None:
    assert INVENTORY_PLATFORMS == NAMES == tuple(PLATFORMS)
    assert typing.get_args(InventoryPlatform) == NAMES
    assert NETWORK_OS["cisco.ios.ios"] == "cisco_ios" and NETWORK_OS["asa"] == "cisco_asa"
    assert set(DEFAULT_ROLE) == set(NAMES)
    assert parse_interface("Gi1/0/5", "cisco_ios") == "GigabitEthernet1/0/5"
    assert parse_interface("Ma0/0", "cisco_asa") == "Management0/0"
    with pytest.raises(BadValue):
        parse_interface("Gi1/0/5", "linux")
    with pytest.raises(KeyError, match="unknown platform 'arista_eos'; valid: cisco_ios, cisco_asa"):
        get("arista_eos")


def test_every_platform_has_its_session_family_and_grammar() -> None:
    from isolate.cmdguard import GRAMMARS
    from isolate.drivers.registry import SESSIONS

    for platform in PLATFORMS.values():
        assert platform.session in SESSIONS, platform.name
        assert platform.grammar in GRAMMARS, platform.name


def test_mode_boundaries_are_context_lines_abbreviated_or_not() -> None:
    """A pipelined write ends at a line that may change the configuration mode (cli.py)."""
    ios = PLATFORMS["cisco_ios"].dialect
    assert ios is not None
    for line in ("interface Vlan10", "int Gi1/0/1", "vlan 999", "ip access-list extended X",
                 "ip acc extended X", "router ospf 1", "exit", "end", "line vty 0 4"):
        assert ios.enters_mode(line), line
    for line in ("ip access-group X in", "no vlan 999", "no ip access-list extended X", "name Q",
                 "switchport access vlan 999", "deny ip any any", "description vlan 5", "i"):
        assert not ios.enters_mode(line), line
    assert Dialect().enters_mode("anything")  # no contexts declared: every line its own write
