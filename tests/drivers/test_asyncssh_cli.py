"""The asyncssh CLI transport against the lab, side by side with the netmiko transport.

Every scenario runs over both transports through ``isolate.drivers.registry.connect``
(real SSH to the embedded lab) and checks the same outcome and the same message, so the
two are proven equivalent: push, a rejected line named (and the lines after it not sent),
a rejected show, read_state byte for byte, the IOS revert timer (confirmed and not), the
verification's reads typed after a push's ``end``, the writes a pre-check, push and
verification take (counted on the real channel), and the connection errors (wrong
password, unknown host key, nothing listening).
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from isolate.drivers.asyncssh_cli import AsyncsshChannel
from isolate.drivers.base import Batch, BatchCapable, ConfirmCapable, ReadsAfterPush, Session, Target
from isolate.drivers.cli import Channel, CliSession, RevertOnEnterSession, Until
from isolate.drivers.netmiko_cli import NetmikoChannel
from isolate.drivers.registry import TRANSPORTS, connect, connector, open_channel, platform_of, transport_from
from isolate.errors import AuthError, CommandRejected, ConnectError, DeviceTimeout, PlanError
from isolate.execute.inflight import may_have_run
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, advance_clock, set_fault, start_lab
from isolate.platforms import precheck_reads, state_reads

SMALL = Path(__file__).parents[1] / "lab" / "small.yml"
SCALE = 600  # one revert minute lasts 0.1 s in the lab process


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("drivers"), SMALL, time_scale=SCALE)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def targets(lab: LabHandle) -> dict[str, Target]:
    inventory = load_inventory(lab.inventory)
    return resolve_targets(inventory, ["core1", "acc1", "acc2"], timeout_s=10.0).targets


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def open_session(targets: dict[str, Target], transport: str) -> Iterator[Callable[[str], Session]]:
    opened: list[Session] = []

    def make(device: str) -> Session:
        session = connect(targets[device], transport)
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


def _wait_for(condition: Callable[[], bool], limit_s: float = 20.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_transport_classes(targets: dict[str, Target]) -> None:
    sessions = {name: connector(name)(targets["acc1"]) for name in TRANSPORTS}
    try:
        assert all(isinstance(s, CliSession) for s in sessions.values())  # one session logic
        assert isinstance(getattr(sessions["asyncssh"], "channel", None), AsyncsshChannel)
        assert isinstance(getattr(sessions["netmiko"], "channel", None), NetmikoChannel)
        assert all(isinstance(s, ConfirmCapable) for s in sessions.values())  # IOS: revert timer
    finally:
        for session in sessions.values():
            session.close()
    with pytest.raises(PlanError, match="unknown transport 'telnet'; valid: asyncssh, netmiko"):
        transport_from("telnet")


def test_push_then_read_back(open_session: Callable[[str], Session], transport: str) -> None:
    vlan = 610 if transport == "asyncssh" else 611
    session = open_session("acc1")
    lines = [f"vlan {vlan}", f"name t{vlan}", "interface GigabitEthernet1/0/3",
             f"switchport access vlan {vlan}"]
    results = session.push(lines)  # accepted (a refusal raises CommandRejected): one result, the batch
    assert [(r.device, r.command) for r in results] == [("acc1", "\n".join(lines))]
    state = session.read_state()
    assert f"vlan {vlan}\n name t{vlan}\n" in state
    assert f"interface GigabitEthernet1/0/3\n switchport access vlan {vlan}\n" in state
    session.push([f"no vlan {vlan}", "interface GigabitEthernet1/0/3", "no switchport access vlan"])
    assert f"vlan {vlan}\n" not in session.read_state()


def test_rejected_line_is_named_and_stops_the_batch(
    open_session: Callable[[str], Session], transport: str
) -> None:
    vlan = 620 if transport == "asyncssh" else 621
    session = open_session("acc2")
    with pytest.raises(CommandRejected) as caught:
        session.push([f"vlan {vlan}", "interface GigabitEthernet9/9/99", f"switchport access vlan {vlan}",
                      f"vlan {vlan + 2}"])
    assert str(caught.value) == (
        "acc2: 'interface GigabitEthernet9/9/99' rejected: % Invalid input detected at '^' marker.")
    assert caught.value.device == "acc2"
    state = session.read_state()  # the session is usable again, back in privileged exec
    assert f"vlan {vlan}\n" in state  # lines before the refused one were applied
    assert f"vlan {vlan + 2}\n" not in state  # lines after it were never sent
    session.push([f"no vlan {vlan}"])


def test_a_line_refused_mid_write_names_the_lines_that_ran_after_it(
    open_session: Callable[[str], Session], transport: str
) -> None:
    """Lines go in one write up to the next mode boundary: a refused line's answer is told
    apart from the others, the lines after it in that write ran (named), the next write never
    went out."""
    vlan = 640 if transport == "asyncssh" else 641
    session = open_session("acc2")
    assert isinstance(session, CliSession)
    batch = [f"vlan {vlan}", "interface GigabitEthernet1/0/3", "switchport access vlan 5000",
             f"description t{vlan}", "interface GigabitEthernet1/0/5", f"description never{vlan}"]
    assert session.writes(batch) == [
        [f"vlan {vlan}"], ["interface GigabitEthernet1/0/3"],
        ["switchport access vlan 5000", f"description t{vlan}", "interface GigabitEthernet1/0/5"],
        [f"description never{vlan}", "end"],
    ]
    with pytest.raises(CommandRejected) as caught:
        session.push(batch)
    assert str(caught.value) == (
        "acc2: 'switchport access vlan 5000' rejected: % Invalid input detected at '^' marker.; "
        f"sent in the same write after it, and run: 'description t{vlan}' (accepted), "
        "'interface GigabitEthernet1/0/5' (accepted)"
    )
    assert caught.value.command == "switchport access vlan 5000"
    state = session.read_state()  # back in privileged exec
    assert f"interface GigabitEthernet1/0/3\n description t{vlan}\n" in state
    assert f"never{vlan}" not in state
    session.push([f"no vlan {vlan}", "interface GigabitEthernet1/0/3", "no description"])
    assert f"t{vlan}" not in session.read_state()


def test_read_ahead_answers_once_and_never_across_a_change(open_session: Callable[[str], Session]) -> None:
    session = open_session("acc1")
    assert isinstance(session, CliSession)
    session.read_ahead(["show version", "show vlan brief", "show bogus"])
    assert "Cisco IOS" in session.run("show version").output
    with pytest.raises(CommandRejected, match=r"^acc1: 'show bogus' rejected: % Invalid input"):
        session.run("show bogus")  # a refused read, read ahead, is refused when it is run
    session.push(["vlan 650"])  # a change drops what was read before it
    assert "650" in session.run("show vlan brief").output
    session.push(["no vlan 650"])


def test_reads_after_a_push_ride_on_its_last_write(
    targets: dict[str, Target], transport: str, lab: LabHandle
) -> None:
    """The verification's reads are typed after the push's ``end``: once the push returned,
    the device may answer nothing more and the state is still read (from that write)."""
    vlan = 670 if transport == "asyncssh" else 671
    session = connect(dataclasses.replace(targets["acc1"], timeout_s=1.0), transport)
    try:
        assert isinstance(session, ReadsAfterPush)
        session.push_then_read([f"vlan {vlan}", f"name r{vlan}"], state_reads("cisco_ios"))
        set_fault(lab.state_dir, "acc1", make_fault("hang-after", after=0))  # no more answers
        assert f"vlan {vlan}\n name r{vlan}\n" in session.read_state()
        with pytest.raises(DeviceTimeout, match=r"^acc1: 'show version' got no answer within 1 s$"):
            session.run("show version")  # the device answers nothing now: the state came with the push
    finally:
        set_fault(lab.state_dir, "acc1", make_fault("clear"))
        session.close()
    again = connect(targets["acc1"], transport)
    try:
        again.push([f"no vlan {vlan}"])
    finally:
        again.close()


def test_a_read_after_the_push_unanswered_leaves_the_push_standing(
    targets: dict[str, Target], transport: str, lab: LabHandle
) -> None:
    """Every line of the push was answered, a read after it was not: the push returns (its
    outcome is known), and the session's next read fails with that read's error instead of
    taking a late answer for another command's. The device is stuck on the second read: it
    echoed that line, so the first read's answer ended and the error names the second."""
    vlan = 680 if transport == "asyncssh" else 681
    session = connect(dataclasses.replace(targets["acc2"], timeout_s=1.0), transport)
    assert isinstance(session, ReadsAfterPush)
    set_fault(lab.state_dir, "acc2", make_fault("hang-on", pattern=r"^show vlan brief"))
    try:
        results = session.push_then_read([f"vlan {vlan}"], ["show running-config", "show vlan brief"])
        assert [r.command for r in results] == [f"vlan {vlan}"]
        lost = ("acc2: 'show vlan brief' got no answer within 1 s "
                "(sent in one write with 2 other line(s), up to 'show vlan brief')")
        with pytest.raises(DeviceTimeout) as caught:
            session.run("show vlan brief")
        assert str(caught.value) == lost
    finally:
        set_fault(lab.state_dir, "acc2", make_fault("clear"))
        session.close()
    again = connect(targets["acc2"], transport)
    try:
        assert f"vlan {vlan}\n" in again.read_state()  # the push stood
        again.push([f"no vlan {vlan}"])
    finally:
        again.close()


def test_a_push_lost_in_a_write_ending_with_an_earlier_line_counts_up_to_that_write(
    targets: dict[str, Target], transport: str, lab: LabHandle
) -> None:
    """The device stops answering in a write whose last line the batch already had (a second
    ``vlan N``): the error says how many lines were written, so the lines that may have run
    reach that write, not the first line of the same text (which undercounted them)."""
    first, second = (3901, 3902) if transport == "asyncssh" else (3903, 3904)
    batch = [f"vlan {first}", "name twin-a", f"vlan {second}", "name twin-b", f"vlan {first}", "name twin-c"]
    session = connect(dataclasses.replace(targets["acc2"], timeout_s=1.0), transport)
    set_fault(lab.state_dir, "acc2", make_fault("hang-on", pattern=r"^name twin-b"))
    try:
        with pytest.raises(DeviceTimeout) as caught:
            session.push(batch)
        lost = caught.value
        assert str(lost) == "acc2: 'name twin-b' got no answer within 1 s"
        assert (lost.command, lost.sent) == (f"vlan {first}", 5)
        assert may_have_run(batch, lost) == batch[:5]  # not batch[:1], the first 'vlan N'
    finally:
        set_fault(lab.state_dir, "acc2", make_fault("clear"))
        session.close()
    again = connect(targets["acc2"], transport)
    try:
        again.push([f"no vlan {first}", f"no vlan {second}"])
        state = again.read_state()
        assert f"vlan {first}\n" not in state and f"vlan {second}\n" not in state
    finally:
        again.close()


def test_a_refused_line_drops_the_reads_typed_after_the_push(open_session: Callable[[str], Session]) -> None:
    session = open_session("acc1")
    assert isinstance(session, CliSession)
    with pytest.raises(CommandRejected, match=r"^acc1: 'switchport access vlan 5000' rejected: "):
        session.push_then_read(["interface GigabitEthernet1/0/3", "switchport access vlan 5000"],
                               ["show vlan brief"])
    assert session._ahead == {}  # nothing read with a refused push is handed out as its read-back


def test_rejected_show(open_session: Callable[[str], Session]) -> None:
    session = open_session("acc1")
    with pytest.raises(CommandRejected, match=r"^acc1: 'show bogus' rejected: % Invalid input"):
        session.run("show bogus")
    assert "Cisco IOS" in session.run("show version").output


def test_both_transports_read_the_same_state(targets: dict[str, Target]) -> None:
    states = {}
    for name in TRANSPORTS:
        session = connect(targets["core1"], name)
        try:
            states[name] = session.read_state()
        finally:
            session.close()
    assert states["asyncssh"] == states["netmiko"]
    assert states["asyncssh"].startswith("!\nversion ") or "hostname core1\n" in states["asyncssh"]


def test_exec_lines_run_after_config(open_session: Callable[[str], Session]) -> None:
    session = open_session("acc1")
    assert isinstance(session, BatchCapable)
    results = session.push_batch(Batch(("vlan 630",), ("show vlan brief",)))
    assert len(results) == 2 and "630" in results[1].output
    session.push(["no vlan 630"])


def test_revert_timer_confirmed_is_kept(
    open_session: Callable[[str], Session], transport: str, lab: LabHandle
) -> None:
    vlan = 640 if transport == "asyncssh" else 641
    session = open_session("core1")
    assert isinstance(session, ConfirmCapable)
    session.push_confirmed([f"vlan {vlan}", f"name c{vlan}"], window_s=7200)  # 12 s scaled
    session.confirm()
    advance_clock(lab.state_dir, 3600)  # every timer due within the hour fires now: none may revert
    assert f"vlan {vlan}\n name c{vlan}\n" in session.read_state()
    with pytest.raises(CommandRejected, match="No Rollback Confirmed Change pending"):
        session.run("configure confirm")  # nothing left to confirm: the revert was cancelled
    session.push([f"no vlan {vlan}"])


def test_revert_timer_unconfirmed_reverts(open_session: Callable[[str], Session], transport: str) -> None:
    vlan = 650 if transport == "asyncssh" else 651
    session = open_session("core1")
    assert isinstance(session, ConfirmCapable)
    try:
        session.push_confirmed([f"vlan {vlan}"], window_s=60)  # one minute: 0.1 s scaled
    except CommandRejected as exc:  # the scaled minute may be over before the armed read-back
        assert "not that the revert timer is armed" in str(exc)
    assert _wait_for(lambda: f"vlan {vlan}\n" not in session.read_state())


def test_revert_timer_without_archive_is_refused(
    open_session: Callable[[str], Session], transport: str
) -> None:
    session = open_session("acc2")
    session.push(["no archive"])
    try:
        assert isinstance(session, ConfirmCapable)
        with pytest.raises(CommandRejected) as caught:
            session.push_confirmed(["vlan 660"], window_s=60)
        # Both name the refused command; asyncssh quotes the device ("%Turn config archive on
        # before using Rollback Confirmed Change"), netmiko says configuration mode was refused.
        assert caught.value.command == "configure terminal revert timer 1"
        assert str(caught.value).startswith("acc2: 'configure terminal revert timer 1' ")
        assert "archive" in str(caught.value)
        assert "vlan 660\n" not in session.read_state()
    finally:
        session.push(["archive", "path flash:archive", "maximum 14"])


def test_wrong_password(targets: dict[str, Target], transport: str) -> None:
    bad = dataclasses.replace(targets["acc1"], password="not-the-password")
    with pytest.raises(AuthError) as caught:
        connect(bad, transport)
    assert str(caught.value) == (f"acc1: authentication failed for user 'admin' at 127.0.0.1:{bad.port}")


def test_unknown_host_key(targets: dict[str, Target], transport: str, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    bad = dataclasses.replace(targets["acc1"], known_hosts=empty)
    with pytest.raises(ConnectError) as caught:
        connect(bad, transport)
    assert str(caught.value) == (
        f"acc1: SSH host key of 127.0.0.1:{bad.port} is not in known_hosts ({empty}); "
        "add it, or pass --insecure-host-keys (journaled)")


def test_mismatched_host_key(targets: dict[str, Target], transport: str, tmp_path: Path) -> None:
    other = tmp_path / "known_hosts"
    fake = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    port = targets["acc1"].port
    other.write_text(f"[127.0.0.1]:{port} ssh-ed25519 {fake}\n")
    bad = dataclasses.replace(targets["acc1"], known_hosts=other)
    with pytest.raises(ConnectError) as caught:
        connect(bad, transport)
    assert str(caught.value) == (
        f"acc1: SSH host key of 127.0.0.1:{port} does not match known_hosts "
        "(possible impersonation; check the device before going on)")


def test_nothing_listening(targets: dict[str, Target], transport: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bad = dataclasses.replace(targets["acc1"], port=port)
    with pytest.raises(ConnectError, match=rf"^acc1: cannot connect to 127.0.0.1:{port}: "):
        connect(bad, transport)


class Counted:
    """A real channel whose writes are recorded (the lines of each), nothing else changed."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner
        self.writes: list[list[str]] = []

    def send_line(self, line: str) -> None:
        self.writes.append(line.split("\n"))
        self.inner.send_line(line)

    def read_to_prompt(self, prompt: Until) -> str:
        return self.inner.read_to_prompt(prompt)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CountedExchanging(Counted):
    """The same, for a channel that writes and reads in one hop (asyncssh)."""

    def exchange(self, line: str, prompt: Until) -> str:
        self.writes.append([line])
        return self.inner.exchange(line, prompt)  # type: ignore[attr-defined,no-any-return]

    def exchange_all(self, text: str, prompts: Sequence[Until], answers: list[str]) -> None:
        self.writes.append(text.split("\n"))
        self.inner.exchange_all(text, prompts, answers)  # type: ignore[attr-defined]


@pytest.fixture()
def counted(targets: dict[str, Target], transport: str) -> Iterator[CliSession]:
    """A session on a real channel whose writes are recorded (``Counted``)."""
    target = targets["acc1"]
    platform = platform_of(target)
    inner = open_channel(target, platform, transport)
    channel = CountedExchanging(inner) if hasattr(inner, "exchange_all") else Counted(inner)
    made = RevertOnEnterSession(target, platform, channel)
    try:
        yield made
    finally:
        made.close()


def test_a_pre_check_push_and_verification_in_as_few_writes_as_promised(
    counted: CliSession, transport: str
) -> None:
    """Each write waits for its answers before the next goes out: writes are round trips
    (what docs/benchmarks.md, "Round trips", and docs/platforms.md promise)."""
    session = counted
    channel = session.channel
    assert isinstance(channel, Counted)
    login = list(channel.writes)
    assert len(login) == 2 and login[0] == ["enable"]  # then the enable secret, alone
    prepare = list(session.dialect.prepare)
    reads = list(dict.fromkeys(precheck_reads("cisco_ios")))

    session.read_ahead(reads)  # the pre-check's reads
    before = session.read_state()
    assert channel.writes[2:] == [[*prepare, *reads]]  # the preparation rides on the first write

    vlan = 690 if transport == "asyncssh" else 691
    lines = [f"vlan {vlan}", f"name rt{vlan}", "interface GigabitEthernet1/0/3", f"description rt{vlan}"]
    verify = list(state_reads("cisco_ios"))
    del channel.writes[:]
    session.push_then_read(lines, verify)
    after = session.read_state()
    assert channel.writes == [
        ["configure terminal"],
        [f"vlan {vlan}"],
        [f"name rt{vlan}", "interface GigabitEthernet1/0/3"],
        [f"description rt{vlan}", "end", *verify],  # the verification's reads after 'end'
    ]
    assert f"vlan {vlan}\n name rt{vlan}\n" in after and f"vlan {vlan}\n" not in before
    session.push([f"no vlan {vlan}", "interface GigabitEthernet1/0/3", "no description"])
