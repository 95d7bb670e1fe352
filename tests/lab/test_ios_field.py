"""Field behaviour of the IOS lab: a MOTD banner with a ``%`` line (shown at login and in
the running configuration), ``ntp clock-period`` rewritten by the switch as the lab's
clock advances, and TACACS+ ``Command authorization failed.`` as a fault."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import RawShell, netmiko_to

from isolate.cli import main
from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, advance_clock, set_fault, start_lab

WIRED = Path(__file__).with_name("wired.yml")
BANNER = "banner motd ^C\n% Authorised access only.\n  City of Caen - IT\n^C\n"


@pytest.fixture(scope="module", name="lab")
def wired_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), WIRED)
    try:
        yield handle
    finally:
        handle.stop()


def running(lab: LabHandle, device: str) -> str:
    conn = netmiko_to(lab, device)
    try:
        conn.enable()
        return str(conn.send_command("show running-config"))
    finally:
        conn.disconnect()


def test_banner_is_shown_at_login_and_in_the_config(lab: LabHandle) -> None:
    shell = RawShell(lab, "core1")
    try:
        assert shell.read_until(r"core1>") == (
            "\r\n% Authorised access only.\r\n  City of Caen - IT\r\n\r\ncore1>")
    finally:
        shell.close()
    assert BANNER in running(lab, "core1")
    conn = netmiko_to(lab, "acc1")
    try:
        conn.enable()
        conn.send_config_set(["banner motd #% Keep out.#"])
        assert "banner motd ^C\n% Keep out.\n^C\n" in conn.send_command("show running-config")
        conn.send_config_set(["no banner motd"])
        assert "banner motd" not in conn.send_command("show running-config")
    finally:
        conn.disconnect()


def test_ntp_clock_period_changes_as_the_lab_clock_advances(lab: LabHandle) -> None:
    def period(device: str) -> int:
        found = re.search(r"^ntp clock-period (\d+)$", running(lab, device), re.M)
        assert found, device
        return int(found.group(1))

    first = period("core1")
    advance_clock(lab.state_dir, 3600)
    second = period("core1")
    assert second != first
    advance_clock(lab.state_dir, 3600)
    assert period("core1") not in (first, second)
    assert "ntp clock-period" not in running(lab, "core2")  # no NTP, no clock period
    conn = netmiko_to(lab, "core2")
    try:
        conn.enable()
        conn.send_config_set(["ntp server 10.10.10.53"])
    finally:
        conn.disconnect()
    assert period("core2") == 36028797  # what IOS writes first


def test_command_authorization_failed_fault(lab: LabHandle,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["lab", "fault", "acc1", "authz-fail", "--pattern", "^switchport",
              "--state-dir", str(lab.state_dir)])
    except SystemExit as done:
        assert done.code in (0, None)
    assert capsys.readouterr().out == "acc1: faults now authz-fail\n"
    conn = netmiko_to(lab, "acc1")
    try:
        conn.enable()
        out = conn.send_config_set(["interface Gi1/0/5", "switchport access vlan 100",
                                    "description still allowed"])
        config = conn.send_command("show running-config interface Gi1/0/5")
    finally:
        conn.disconnect()
        set_fault(lab.state_dir, "acc1", make_fault("clear"))
    assert "switchport access vlan 100\nCommand authorization failed.\n" in out
    assert "%" not in out
    assert "switchport access vlan 100" not in config and "description still allowed" in config
