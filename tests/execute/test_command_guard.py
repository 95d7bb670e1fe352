"""The command grammar guard sits where every command passes on its way to a device (the
session pool used by apply, verify and restore): a line outside the platform's grammar is
refused before the driver sees it, and the device, read back over real SSH, is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e import read_device

from isolate.cmdguard import CommandRefused
from isolate.drivers.registry import connector
from isolate.execute.sessions import SessionPool
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.process import LabHandle

INJECTIONS = {
    "core1": [
        "ipv6 route fe80::1%x do write erase/128 Null0",
        "ip route 10.0.0.0 255.0.0.0 Null0 ?",
        "vlan 999\u2028name X",
    ],
    "fw-edge": [
        "add table inet isolate_e",
        "add chain inet isolate_e forward { type filter hook forward priority -10; policy accept; }",
        "add rule inet isolate_e forward ip6 saddr { fe80::1%x } accept #/128 } drop",
    ],
    "vpn1": ["username alice attributes", "vpn-simultaneous-logins 0 \u202e"],
}


@pytest.mark.parametrize("device", sorted(INJECTIONS))
def test_a_line_outside_the_grammar_never_reaches_the_device(lab: LabHandle, device: str) -> None:
    inventory = load_inventory(lab.inventory)
    targets = resolve_targets(inventory, [device]).targets
    pool = SessionPool(targets, connector())
    before = read_device(Path(lab.state_dir), device)
    try:
        session = pool.get(device)
        with pytest.raises(CommandRefused) as refused:
            session.push(INJECTIONS[device])
        assert str(refused.value).startswith(
            f"command refused, not sent: outside the {targets[device].platform} command grammar ("
        )
        with pytest.raises(CommandRefused):
            session.run("show running-config | include username")
    finally:
        pool.close()
    assert read_device(Path(lab.state_dir), device) == before
