"""The Junos NETCONF driver against the lab over real SSH, judged with PyEZ where another tool's
view matters: the candidate stays locked from the load to the confirming commit (a second
tool cannot interleave), the commit history shows the armed rollback, errors are one line
naming the device, the RPC and the line, and the host-key rule holds on NETCONF too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from isolate.drivers.base import Target
from isolate.drivers.junos import JunosSession
from isolate.drivers.registry import connect
from isolate.errors import CommandRejected, ConnectError
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.process import LabHandle, advance_clock, start_lab

jnpr = pytest.importorskip("jnpr.junos")

from jnpr.junos import Device  # noqa: E402
from jnpr.junos.exception import LockError  # noqa: E402
from jnpr.junos.utils.config import Config  # noqa: E402

JLAB = Path(__file__).parents[1] / "lab" / "junos.yml"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), JLAB)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def target(lab: LabHandle) -> Target:
    return resolve_targets(load_inventory(lab.inventory), ["jcore1"], timeout_s=10.0).targets["jcore1"]


def other_tool(lab: LabHandle) -> Device:
    creds = lab.credentials
    dev = Device(host="127.0.0.1", port=lab.port("jcore1"), user=creds.username,
                 password=creds.password, gather_facts=False, look_for_keys=False, allow_agent=False)
    dev.open()
    return dev


def test_the_candidate_stays_locked_until_the_confirming_commit(lab: LabHandle, target: Target) -> None:
    session = connect(target)
    assert isinstance(session, JunosSession)
    dev = other_tool(lab)
    try:
        before = session.read_state()
        session.push_confirmed(["set vlans isolate-lock vlan-id 3001"], window_s=90, tag="r1-step")
        pending = session.pending_reverts()
        assert len(pending) == 1 and pending[0].startswith("commit confirmed, rollback in 2mins")
        with pytest.raises(LockError, match="configuration database locked by"):
            Config(dev).lock()
        session.confirm()
        assert session.pending_reverts() == []
        cu = Config(dev)
        cu.lock()  # free again once confirmed
        cu.unlock()
        advance_clock(lab.state_dir, 600)
        assert "isolate-lock {" in session.read_state()
        session.push(["delete vlans isolate-lock"])
        assert session.read_state() == before
    finally:
        dev.close()
        session.close()


def test_a_refused_commit_names_device_rpc_and_line_and_leaves_nothing(target: Target) -> None:
    session = connect(target)
    try:
        before = session.read_state()
        bad = "set interfaces irb unit 10 family inet filter input ISOLATE-NOWHERE"
        with pytest.raises(CommandRejected) as caught:
            session.push(["set vlans isolate-ok vlan-id 3002", bad])
        assert str(caught.value) == (
            f"jcore1: '{bad}' rejected by <commit-configuration>: "
            "Referenced filter 'ISOLATE-NOWHERE' is not defined")
        assert caught.value.command == bad
        assert session.read_state() == before  # discarded: the good line was not committed either
        session.push(["set vlans isolate-ok vlan-id 3002"])  # and the lock was released
        session.push(["delete vlans isolate-ok"])
        assert session.read_state() == before
    finally:
        session.close()


def test_cancel_reverts_confirms_a_crashed_runs_commit(lab: LabHandle, target: Target) -> None:
    crashed = connect(target)
    assert isinstance(crashed, JunosSession)
    crashed.push_confirmed(["set vlans isolate-crash vlan-id 3003"], window_s=60, tag="r2-step")
    crashed._nc.close_session()  # the run dies: its lock goes with its session
    later = connect(target)
    assert isinstance(later, JunosSession)
    try:
        assert later.pending_reverts()
        assert later.cancel_reverts("r2") and later.pending_reverts() == []
        advance_clock(lab.state_dir, 600)
        assert "isolate-crash {" in later.read_state()  # confirmed: no rollback fires
        later.push(["delete vlans isolate-crash"])
    finally:
        later.close()


def test_host_keys_are_checked_on_netconf_too(target: Target, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    unlisted = r"^jcore1: SSH host key of 127\.0\.0\.1:\d+ is not in known_hosts"
    with pytest.raises(ConnectError, match=unlisted):
        connect(Target(**{**target.__dict__, "known_hosts": empty}))
    assert target.known_hosts is not None
    host = f"[{target.host}]:{target.port}"
    assert any(x.startswith(host + " ") for x in target.known_hosts.read_text().splitlines())
    other = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    (tmp_path / "wrong").write_text(f"{host} ssh-ed25519 {other}\n")
    with pytest.raises(ConnectError, match="possible impersonation"):
        connect(Target(**{**target.__dict__, "known_hosts": tmp_path / "wrong"}))
    session = connect(Target(**{**target.__dict__, "known_hosts": empty, "host_key_checking": False}))
    session.close()


def test_confirming_after_the_window_ran_out_is_a_refusal(lab: LabHandle, target: Target) -> None:
    session = connect(target)
    assert isinstance(session, JunosSession)
    try:
        before = session.read_state()
        session.push_confirmed(["set vlans isolate-late vlan-id 3004"], window_s=60, tag="r3-step")
        advance_clock(lab.state_dir, 61)  # Junos rolls back by itself
        with pytest.raises(CommandRejected, match=r"^jcore1: 'commit' rejected: no commit confirmed is "
                                                  r"pending any more"):
            session.confirm()
        assert session.read_state() == before
        session.push(["set vlans isolate-late vlan-id 3004"])  # the lock was released
        session.push(["delete vlans isolate-late"])
    finally:
        session.close()


def test_another_tool_holding_the_lock_is_one_line_and_nothing_is_sent(lab: LabHandle,
                                                                      target: Target) -> None:
    dev = other_tool(lab)
    session = connect(target)
    try:
        before = session.read_state()
        cu = Config(dev)
        cu.lock()
        with pytest.raises(CommandRejected) as caught:
            session.push(["set vlans isolate-blocked vlan-id 3006"])
        message = str(caught.value)
        assert message.startswith("jcore1: <lock> rejected: configuration database locked by: admin "
                                  "terminal p0 (pid ") and "\n" not in message
        cu.unlock()
        assert session.read_state() == before
    finally:
        dev.close()
        session.close()


def test_identity_accepts_junos_before_and_after_15_1_only() -> None:
    from isolate.platforms import PLATFORMS

    identity = PLATFORMS["junos"].identity
    assert identity is not None
    assert identity.matches("fpc0:\nHostname: sw1\nModel: ex4300-48p\nJunos: 18.4R2.7\n")
    assert identity.matches("Hostname: sw1\nModel: ex4200-48t\nJUNOS Base OS boot [12.3R12.4]\n")
    assert not identity.matches("Cisco IOS Software, C3750E Software, Version 15.2(7)E8\n")
