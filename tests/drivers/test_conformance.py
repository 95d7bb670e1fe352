"""The driver conformance suite: every platform of the one platform table that the embedded
lab simulates, over every transport its session family has, against the lab over real SSH.

Each platform must: be identified as declared; read a normalised state (twice the same); run
a read-only command; apply a harmless change and its undo with the state back byte for byte;
refuse a bad line in one line naming the device and the line (CLI platforms: ``DEVICE: 'LINE'
rejected: …``) and leave the session usable; be
``ConfirmCapable`` exactly when its record has a commit-confirm strategy. A platform the lab
simulates with no probe below fails here: adding a vendor adds its probe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from isolate.drivers.base import ConfirmCapable, Session, Target
from isolate.drivers.registry import TRANSPORTS, connect, identify
from isolate.errors import CommandRejected
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.process import LabHandle, start_lab
from isolate.platforms import PLATFORMS, Platform


@dataclass(frozen=True)
class Probe:
    device: str  # a device of the city lab on this platform
    read: str  # a read-only command
    change: tuple[str, ...]  # a harmless change ...
    undo: tuple[str, ...]  # ... and what undoes it
    seen: str  # what the state shows while the change is in
    refused: str  # a line the device refuses
    topology: str = "city"  # the lab topology holding the device (TOPOLOGIES)


TOPOLOGIES: dict[str, str | Path] = {
    "city": "city",
    "fortigate": Path(__file__).parents[1] / "lab" / "fortigate.yml",
    "junos": Path(__file__).parents[1] / "lab" / "junos.yml",
}


PROBES = {
    "cisco_ios": Probe("core1", "show version", ("ip access-list extended ISOLATE-CONFORMANCE",
                                                 "permit tcp any any eq 179"),
                       ("no ip access-list extended ISOLATE-CONFORMANCE",),
                       "ip access-list extended ISOLATE-CONFORMANCE", "interface GigabitEthernet9/9/99"),
    "cisco_asa": Probe("vpn1", "show version", ("group-policy ISOLATE-CONFORMANCE internal",),
                       ("no group-policy ISOLATE-CONFORMANCE",),
                       "group-policy ISOLATE-CONFORMANCE internal", "bogus-command now"),
    "linux": Probe("fw-edge", "uname -s", ("add table inet isolate_conformance",),
                   ("delete table inet isolate_conformance",),
                   "table inet isolate_conformance", "add rule inet no_such_table c drop"),
    "fortios": Probe("fgt1", "vpn-sessions",
                     ('create firewall/address {"name": "isolate-conformance", "subnet": "192.0.2.0/24"}',),
                     ("delete firewall/address isolate-conformance",),
                     '"name": "isolate-conformance"',
                     'create firewall/addrgrp {"name": "isolate-bad", "member": [{"name": "no-such"}]}',
                     topology="fortigate"),
    "junos": Probe("jcore1", "show version", ("set vlans isolate-conformance vlan-id 3999",),
                   ("delete vlans isolate-conformance",), "isolate-conformance {",
                   "set interfaces ge-0/0/9 unit 0 family ethernet-switching vlan members no-such-vlan",
                   topology="junos"),
}  # fmt: skip
LAB_PLATFORMS = [p for p in PLATFORMS.values() if p.lab_kind is not None]
CASES = [
    pytest.param(p, t, id=f"{p.name}-{t}")
    for p in LAB_PLATFORMS
    for t in (TRANSPORTS if p.session == "cli" else ("default",))
]


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LabHandle]]:
    """One lab per topology the probes need, stopped by pid in the finalizer."""
    started: dict[str, LabHandle] = {}
    try:
        for name in sorted({PROBES[p.name].topology for p in LAB_PLATFORMS if p.name in PROBES}):
            started[name] = start_lab(tmp_path_factory.mktemp(f"conformance-{name}"), TOPOLOGIES[name])
        yield started
    finally:
        for handle in started.values():
            handle.stop()


@pytest.fixture(scope="module")
def targets(labs: dict[str, LabHandle]) -> dict[str, Target]:
    found: dict[str, Target] = {}
    for name, lab in labs.items():
        inventory = load_inventory(lab.inventory)
        devices = [PROBES[p.name].device for p in LAB_PLATFORMS
                   if p.name in PROBES and PROBES[p.name].topology == name]
        found.update(resolve_targets(inventory, devices, timeout_s=10.0).targets)
    return found


def test_every_lab_platform_has_a_probe() -> None:
    assert sorted(p.name for p in LAB_PLATFORMS) == sorted(PROBES)


@pytest.mark.parametrize(("platform", "transport"), CASES)
def test_platform_conforms(platform: Platform, transport: str, targets: dict[str, Target]) -> None:
    probe = PROBES[platform.name]
    target = targets[probe.device]
    assert target.platform == platform.name
    session: Session = connect(target, None if transport == "default" else transport)
    try:
        assert identify(session) is None
        assert isinstance(session, ConfirmCapable) == (platform.confirm is not None)
        before = session.read_state()
        assert before == session.read_state() and before.endswith("\n") and not before.startswith("\n")
        assert session.run(probe.read).command == probe.read  # a refused read raises
        session.push(list(probe.change))
        assert probe.seen in session.read_state()
        session.push(list(probe.undo))
        assert session.read_state() == before
        with pytest.raises(CommandRejected) as caught:
            session.push([probe.refused])
        message = str(caught.value)
        assert message.startswith(f"{probe.device}: ") and probe.refused in message and "\n" not in message
        assert caught.value.device == probe.device
        if platform.session == "cli":  # line by line: the very line is the command
            assert message.startswith(f"{probe.device}: '{probe.refused}' rejected: ")
            assert caught.value.command == probe.refused
        assert session.read_state() == before  # usable again, nothing left behind
    finally:
        session.close()
