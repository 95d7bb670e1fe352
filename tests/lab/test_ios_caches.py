"""The IOS device's caches (rendered running-config, encoded snapshot) never serve stale text.

Every kind of change is made, then ``show running-config`` must show it and equal a fresh
render, and the encoded snapshot must equal ``json.dumps(snapshot(), sort_keys=True)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from isolate.lab.device import Reply
from isolate.lab.ios import IosDevice, IosSpec, show
from isolate.lab.ios.shell import IosShell

PORTS = tuple(f"GigabitEthernet1/0/{i}" for i in range(1, 9))
LINES = ("vtp mode transparent", "vlan 10", " name users", "archive", " path flash:archive",
         "interface GigabitEthernet1/0/1", " switchport mode access",
         " switchport access vlan 10", "ip access-list extended EDGE", " permit ip any any")


def _device() -> IosDevice:
    spec = IosSpec(hostname="sw1", enable_secret="s3cret", ports=PORTS, connected=PORTS[:2],
                   lines=LINES)
    return IosDevice("sw1", spec)


def _feed(device: IosDevice, *lines: str) -> list[Reply]:
    shell = IosShell(device, "admin", privileged=True)
    return [shell.feed(line) for line in lines]


def _show_run(device: IosDevice) -> str:
    return "".join(r.output for r in _feed(device, "show running-config"))


def _assert_fresh(device: IosDevice) -> str:
    """``show running-config`` (cached) equals a fresh render, and so does ``write terminal``;
    the snapshot's bytes equal the plain encoder's."""
    text = _show_run(device)
    assert text == show.running_config(device.config)
    assert "".join(r.output for r in _feed(device, "write terminal")) == text
    assert device.snapshot_json() == json.dumps(device.snapshot(), sort_keys=True).encode()
    return text


def test_second_show_reuses_the_rendered_text() -> None:
    device = _device()
    first = device.running_config()
    assert device.running_config() is first
    _feed(device, "show vlan brief", "show ip interface brief")
    assert device.running_config() is first


Change = Callable[[IosDevice], None]


def _config_line(device: IosDevice) -> None:
    _feed(device, "configure terminal", "interface GigabitEthernet1/0/2",
          " switchport access vlan 10", "end")


def _same_length_edit(device: IosDevice) -> None:  # a change that keeps the text's length
    _feed(device, "configure terminal", "vlan 10", " name USERS", "end")


def _do_in_config_mode(device: IosDevice) -> None:
    _feed(device, "configure terminal", "do show running-config", "hostname sw2",
          "do show running-config", "end")


def _acl_entry(device: IosDevice) -> None:
    _feed(device, "configure terminal", "ip access-list extended EDGE",
          " 5 deny tcp any any eq 445", "end")


def _banner(device: IosDevice) -> None:
    _feed(device, "configure terminal", "banner motd ^", "Authorised access only", "^", "end")


def _revert_timer_fires(device: IosDevice) -> None:
    _feed(device, "configure terminal revert timer 5", "interface GigabitEthernet1/0/3",
          " shutdown", "end")
    assert " shutdown" in _show_run(device).split("interface GigabitEthernet1/0/3")[1][:40]
    assert device.tick(time.time() + 3600)  # the timer fires: the change is rolled back


def _revert_now(device: IosDevice) -> None:
    _feed(device, "configure terminal revert timer 5", "hostname timed", "end")
    assert "hostname timed" in _show_run(device)
    _feed(device, "configure revert now")


def _ntp_churn(device: IosDevice) -> None:
    _feed(device, "configure terminal", "ntp server 192.0.2.1", "end")
    _show_run(device)
    device.config.ntp_period = 17179869  # IOS writes it once NTP runs
    device.touch()
    now = time.time()
    assert not device.tick(now)  # the first tick schedules the next adjustment
    assert device.tick(now + 3600)  # the clock period is rewritten


def _restart(device: IosDevice) -> None:
    snapshot = json.loads(device.snapshot_json())
    restored = IosDevice.from_snapshot(device.name, snapshot)
    assert restored.snapshot_json() == device.snapshot_json()  # lazily built: its state as is
    assert restored.running_config() == device.running_config()


def _write_memory(device: IosDevice) -> None:
    _feed(device, "configure terminal", "hostname saved", "end", "write memory")


EXPECTED: dict[str, tuple[Change, str, str | None]] = {
    # change, text the new running-config has, text it no longer has
    "config line": (_config_line, "interface GigabitEthernet1/0/2\n switchport access vlan 10",
                    None),
    "same-length edit": (_same_length_edit, "vlan 10\n name USERS", " name users"),
    "do in config mode": (_do_in_config_mode, "hostname sw2", "hostname sw1"),
    "acl entry": (_acl_entry, " deny   tcp any any eq 445", None),
    "banner": (_banner, "banner motd ^C\nAuthorised access only\n^C", None),
    "revert timer fires": (_revert_timer_fires, "interface GigabitEthernet1/0/3\n!", None),
    "revert now": (_revert_now, "hostname sw1", "hostname timed"),
    "ntp churn": (_ntp_churn, "ntp clock-period ", "ntp clock-period 17179869"),
    "restart": (_restart, "hostname sw1", None),
    "write memory": (_write_memory, "hostname saved", None),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_show_running_config_reflects_each_kind_of_change(kind: str) -> None:
    change, present, absent = EXPECTED[kind]
    device = _device()
    before = _assert_fresh(device)
    change(device)
    after = _assert_fresh(device).replace("\r\n", "\n")
    assert present in after
    if absent is not None:
        assert absent not in after
    if kind not in ("restart", "revert now", "revert timer fires"):  # these come back
        assert after != before


def test_snapshot_bytes_match_with_a_revert_pending_and_a_startup_saved() -> None:
    device = _device()
    _feed(device, "write memory", "configure terminal revert timer 5", "vlan 30", "end")
    assert device.revert is not None and device.startup is not None
    assert device.snapshot_json() == json.dumps(device.snapshot(), sort_keys=True).encode()
    _feed(device, "configure revert timer 7", "configure confirm")
    assert device.snapshot_json() == json.dumps(device.snapshot(), sort_keys=True).encode()
    lazy = IosDevice.from_snapshot("sw1", device.snapshot())
    assert lazy.snapshot_json() == json.dumps(lazy.snapshot(), sort_keys=True).encode()
