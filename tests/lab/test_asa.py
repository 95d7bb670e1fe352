"""The simulated ASA VPN concentrator over real SSH with netmiko ``cisco_asa``: sessions,
logoff, clients that reconnect by themselves, revocation through user and group-policy
attributes, and the ASA's error texts."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from netmiko import ConnectHandler

from isolate.lab.process import LabHandle, start_lab

TOPOLOGY = """\
version: 1
name: vpnlab
management: {networks: [10.99.0.0/24], stations: [admin1], tool_address: 10.99.0.10}
access: {count: 1, ports: 8, first_address: 10.99.0.21}
devices:
  - {name: vpn1, kind: cisco_asa, role: vpn, address: 10.99.0.6, options: {reconnect_s: 5}}
segments:
  - {name: management, vlan: 99, subnet: 10.99.0.0/24, zone: management}
  - {name: vpn, vlan: 70, subnet: 10.70.0.0/24, zone: vpn}
hosts:
  - {name: admin1, address: 10.99.0.10, segment: management}
  - {name: vpn-alice, address: 10.70.0.10, segment: vpn, vpn_user: alice}
  - {name: vpn-bob, address: 10.70.0.11, segment: vpn, vpn_user: bob}
  - {name: vpn-carol, address: 10.70.0.12, segment: vpn, vpn_user: carol}
vpn:
  concentrators: [vpn1]
  groups: [{name: staff}, {name: contractors}]
  users: [{name: alice, group: staff}, {name: bob, group: staff}, {name: carol, group: contractors}]
"""
SESSION_USER = re.compile(r"^Username\s*:\s*(\S+)", re.M)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    base = tmp_path_factory.mktemp("vpnlab")
    topology = base / "vpnlab.yml"
    topology.write_text(TOPOLOGY)
    handle = start_lab(base / "state", topology, time_scale=10)  # a client retries every 0.5 s
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def asa(lab: LabHandle) -> Iterator[Any]:
    conn = ConnectHandler(
        device_type="cisco_asa", host="127.0.0.1", port=lab.port("vpn1"),
        username=lab.credentials.username, password=lab.credentials.password,
        secret=lab.credentials.enable, fast_cli=True,
    )  # fmt: skip
    try:
        yield conn
    finally:
        conn.disconnect()


def sessions(asa: Any) -> set[str]:
    return set(SESSION_USER.findall(asa.send_command("show vpn-sessiondb anyconnect")))


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def test_netmiko_reaches_privileged_mode(asa: Any) -> None:
    assert asa.find_prompt() == "vpn1#"
    assert "Current privilege level : 15" in asa.send_command("show curpriv")
    assert "Adaptive Security Appliance Software Version" in asa.send_command("show version")


def test_lists_sessions_and_summary(asa: Any) -> None:
    output = asa.send_command("show vpn-sessiondb anyconnect")
    assert output.startswith("Session Type: AnyConnect")
    assert sessions(asa) == {"alice", "bob", "carol"}
    block = output.split("Username     : bob")[1]
    assert "Assigned IP  : 10.70.0.11" in block
    assert re.search(r"Group Policy : staff\s+Tunnel Group : vpn", block)
    summary = asa.send_command("show vpn-sessiondb summary")
    assert re.search(r"AnyConnect Client\s+:\s+3 :", summary)


def test_output_parses_with_ntc_templates(asa: Any) -> None:
    parsed = asa.send_command("show vpn-sessiondb anyconnect", use_textfsm=True)
    assert isinstance(parsed, list)
    rows = {row["username"]: row for row in parsed}
    assert set(rows) == {"alice", "bob", "carol"}
    assert (rows["carol"]["assigned_ip"], rows["carol"]["group_policy"]) == ("10.70.0.12", "contractors")
    summary = asa.send_command("show vpn-sessiondb", use_textfsm=True)
    assert isinstance(summary, list) and summary[0]["total_active_and_inactive"] == "3"
    assert summary[0]["vpn_session_name"] == ["AnyConnect Client", "SSL/TLS/DTLS"]


def session_index(asa: Any, user: str) -> str | None:
    """The index of ``user``'s session (a new one for each login), or None if it has none."""
    listing = asa.send_command("show vpn-sessiondb anyconnect")
    found = re.search(rf"^Username\s*:\s*{re.escape(user)}\s+Index\s*:\s*(\d+)$", listing, re.M)
    return found.group(1) if found else None


def test_logged_off_user_reconnects(asa: Any) -> None:
    before = session_index(asa, "bob")
    assert before is not None
    output = asa.send_command("vpn-sessiondb logoff name bob noconfirm")
    assert output.strip() == 'INFO: Number of sessions with name "bob" logged off : 1'
    # the session is gone: bob is absent, or (his client retries every 0.5 s) back in a new one
    assert session_index(asa, "bob") != before
    wait_until(lambda: session_index(asa, "bob") not in (None, before), "bob's client to reconnect")


def test_revoked_user_stays_out_until_restored(asa: Any) -> None:
    out = asa.send_config_set(["username alice attributes", "vpn-simultaneous-logins 0"])
    assert "ERROR" not in out
    # log alice (revoked) and bob (not) off together: both clients retry at the same time,
    # so once bob is back, alice's client has tried too, and was refused
    asa.send_command("vpn-sessiondb logoff name alice noconfirm")
    asa.send_command("vpn-sessiondb logoff name bob noconfirm")
    wait_until(lambda: "bob" in sessions(asa), "bob's client to reconnect")
    assert "alice" not in sessions(asa)
    config = asa.send_command("show running-config username alice")
    assert "username alice attributes\n vpn-group-policy staff\n vpn-simultaneous-logins 0" in config
    asa.send_config_set(["username alice attributes", "no vpn-simultaneous-logins"])
    wait_until(lambda: "alice" in sessions(asa), "alice's client to reconnect after restore")


def test_group_policy_revokes_its_members(asa: Any) -> None:
    asa.send_config_set(["group-policy contractors attributes", "vpn-simultaneous-logins 0"])
    asa.send_command("vpn-sessiondb logoff name carol noconfirm")
    asa.send_command("vpn-sessiondb logoff name bob noconfirm")
    wait_until(lambda: "bob" in sessions(asa), "bob's client to reconnect")
    assert "carol" not in sessions(asa)
    policy = asa.send_command("show running-config group-policy contractors")
    assert policy.splitlines() == [
        "group-policy contractors internal", "group-policy contractors attributes",
        " vpn-simultaneous-logins 0", " vpn-tunnel-protocol ssl-client",
    ]  # fmt: skip
    asa.send_config_set(["group-policy contractors attributes", "no vpn-simultaneous-logins"])
    wait_until(lambda: "carol" in sessions(asa), "carol's client to reconnect after restore")


def test_passwords_never_in_clear_and_config_is_deterministic(asa: Any) -> None:
    asa.send_config_set(["username dave password Sup3rS3cret privilege 0"])
    config = asa.send_command("show running-config")
    assert "Sup3rS3cret" not in config
    assert re.search(r"^username dave password \$sha512\$5000\$\S+ pbkdf2 privilege 0$", config, re.M)
    assert config == asa.send_command("show running-config")
    assert config.rstrip().endswith(": end")
    asa.send_config_set(["no username dave"])
    assert "dave" not in asa.send_command("show running-config username")


def test_errors_as_the_asa_prints_them(asa: Any) -> None:
    output = asa.send_command("shw version")
    assert output.splitlines()[-2:] == ["      ^", "ERROR: % Invalid input detected at '^' marker."]
    assert asa.send_command("vpn-sessiondb logoff name").strip() == "ERROR: % Incomplete command"
    out = asa.send_config_set(["username alice attributes", "vpn-simultaneous-logins many"])
    assert "ERROR: % Invalid input detected at '^' marker." in out
