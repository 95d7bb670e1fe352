"""Exact error text, the same on both transports: when a batch was applied and only leaving
configuration mode failed, the message says exactly that (never "did not enter configuration
mode"); a refused line is named with the device's own refusal text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from isolate.drivers.base import ConfirmCapable, Target
from isolate.drivers.registry import TRANSPORTS, connect
from isolate.errors import CommandRejected
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault, start_lab

SMALL = Path(__file__).parents[1] / "lab" / "small.yml"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("errors"), SMALL)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def targets(lab: LabHandle) -> dict[str, Target]:
    return resolve_targets(load_inventory(lab.inventory), ["acc1", "acc2"], timeout_s=10.0).targets


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_only_the_exit_failed(lab: LabHandle, targets: dict[str, Target], transport: str) -> None:
    vlan = 680 if transport == "asyncssh" else 681
    session = connect(targets["acc1"], transport)
    try:
        set_fault(lab.state_dir, "acc1", make_fault("reject", pattern=r"^end$"))
        with pytest.raises(CommandRejected) as caught:
            session.push([f"vlan {vlan}", f"name e{vlan}"])
    finally:
        set_fault(lab.state_dir, "acc1", make_fault("clear"))
        session.close()
    assert str(caught.value) == (
        "acc1: the batch was applied but 'end' did not leave configuration mode: "
        "% Invalid input detected at '^' marker."
    )
    assert caught.value.command == "end"
    again = connect(targets["acc1"], transport)
    try:
        state = again.read_state()
        assert f"vlan {vlan}\n name e{vlan}\n" in state  # the change itself was applied
        again.push([f"no vlan {vlan}"])
    finally:
        again.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refused_configuration_mode_is_said_so(
    lab: LabHandle, targets: dict[str, Target], transport: str
) -> None:
    session = connect(targets["acc2"], transport)
    try:
        set_fault(lab.state_dir, "acc2", make_fault("reject", pattern=r"^configure terminal$"))
        with pytest.raises(CommandRejected) as caught:
            session.push(["vlan 682"])
    finally:
        set_fault(lab.state_dir, "acc2", make_fault("clear"))
    try:
        assert str(caught.value) == (
            "acc2: 'configure terminal' rejected: did not enter configuration mode: "
            "% Invalid input detected at '^' marker."
        )
        assert "vlan 682\n" not in session.read_state()  # usable, nothing applied
    finally:
        session.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_revert_timer_not_seen_armed_is_refused(
    lab: LabHandle, targets: dict[str, Target], transport: str
) -> None:
    session = connect(targets["acc2"], transport)
    assert isinstance(session, ConfirmCapable)
    try:
        timer = r"^show archive config rollback timer$"
        set_fault(lab.state_dir, "acc2", make_fault("reject", pattern=timer))
        with pytest.raises(CommandRejected) as caught:
            session.push_confirmed(["vlan 683"], window_s=600)
    finally:
        set_fault(lab.state_dir, "acc2", make_fault("clear"))
    try:
        assert str(caught.value).startswith(
            "acc2: 'configure terminal revert timer 10' rejected: applied, but "
            "'show archive config rollback timer' shows "
        )
        assert str(caught.value).endswith("not that the revert timer is armed")
        session.confirm()  # keep it, then take it away: the lab's timer was armed all along
        session.push(["no vlan 683"])
    finally:
        session.close()
