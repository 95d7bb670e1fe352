"""IOS's rollback safety net: configure terminal revert timer N, configure confirm."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import netmiko_to

from isolate.lab.process import LabHandle, advance_clock, start_lab

SMALL = Path(__file__).with_name("small.yml")
SCALE = 600  # one revert minute lasts 0.1 s in the lab process


@pytest.fixture(scope="module")
def fast_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("revert"), SMALL, time_scale=SCALE)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture()
def core(fast_lab: LabHandle) -> Iterator[Any]:
    conn = netmiko_to(fast_lab, "core1")
    conn.enable()
    yield conn
    conn.disconnect()


def _wait_for(condition: Any, limit_s: float = 20.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _timed_change(conn: Any, vlan: int, minutes: int) -> str:
    out = conn.config_mode(config_command=f"configure terminal revert timer {minutes}")
    out += conn.send_config_set([f"vlan {vlan}", f"name timed{vlan}"], enter_config_mode=False)
    return str(out)


def test_unconfirmed_change_reverts_by_itself(core: Any) -> None:
    out = _timed_change(core, 701, minutes=1)  # 0.1 s at this time scale
    assert "%" not in out
    assert _wait_for(lambda: "vlan 701" not in core.send_command("show running-config"))
    assert core.send_command("show archive config rollback timer").strip() == (
        "%No Rollback Confirmed Change pending")


def test_confirmed_change_is_kept(core: Any, fast_lab: LabHandle) -> None:
    _timed_change(core, 702, minutes=120)  # 12 s at this time scale: confirmed well before
    assert "Timer value: 120 min" in core.send_command("show archive config rollback timer")
    assert core.send_command("configure confirm").strip() == ""
    assert core.send_command("configure confirm").strip() == (
        "%No Rollback Confirmed Change pending")
    advance_clock(fast_lab.state_dir, 3600)  # every timer due within the hour fires now: none may revert
    assert "vlan 702\n name timed702" in core.send_command("show running-config")


def test_revert_timer_needs_the_archive_feature(core: Any) -> None:
    core.send_config_set(["no archive"])
    try:
        out = core.send_command("configure terminal revert timer 1", expect_string=r"#")
        assert out.strip() == "%Turn config archive on before using Rollback Confirmed Change"
        assert core.find_prompt() == "core1#"
    finally:
        core.send_config_set(["archive", "path flash:archive", "maximum 14"])
    assert "archive\n path flash:archive\n maximum 14" in core.send_command(
        "show running-config")
