"""IOS prints well-known ports by name in ACL entries (``eq bgp``, ``eq snmptrap``): a
segment-acl allowing them must verify on the device that printed them so."""

from __future__ import annotations

from collections.abc import Callable

from simkit import Sim
from test_actions_lab_roundtrip import _changes

from isolate.actions.base import AllowEntry, SegmentAclItem
from isolate.actions.ios_config import PORT_NAMES, canonical_ace
from isolate.actions.table import lookup
from isolate.inventory.models import Inventory


def _segment_acl_change(inventory: Inventory) -> tuple[str, SegmentAclItem]:
    for _, action, change in _changes(inventory):
        if action == "segment-acl" and change.platform == "cisco_ios":
            assert isinstance(change.item, SegmentAclItem)
            return change.device, change.item
    raise AssertionError("no IOS segment-acl in the shipped playbooks")


def test_named_ports_read_back_as_numbers() -> None:
    assert canonical_ace("10 permit tcp any any eq bgp") == "permit tcp any any eq 179"
    assert canonical_ace("permit udp any any eq snmptrap") == "permit udp any any eq 162"
    assert canonical_ace("permit tcp any range ftp-data ftp any") == "permit tcp any range 20 21 any"
    # the same number has a different name per protocol; a name is read in its protocol only
    assert canonical_ace("permit tcp any any eq cmd") == "permit tcp any any eq 514"
    assert canonical_ace("permit udp any any eq syslog") == "permit udp any any eq 514"
    assert canonical_ace("permit icmp any any echo") == "permit icmp any any echo"
    assert {"bgp": 179, "whois": 43, "lpd": 515}.items() <= PORT_NAMES["tcp"].items()
    assert PORT_NAMES["udp"]["snmptrap"] == 162


def test_segment_acl_allowing_bgp_and_snmptrap_verifies_on_the_lab(
    lab_inventory: Inventory, sim: Callable[[str], Sim]
) -> None:
    device_name, item = _segment_acl_change(lab_inventory)
    item = item.model_copy(
        update={"allow": (*item.allow, AllowEntry(proto="tcp", port=179), AllowEntry(proto="udp", port=162))}
    )
    action = lookup("segment-acl", "cisco_ios")
    device = sim(device_name)
    before = device.state()
    device.push(action.render(item))
    after = device.state()
    assert " eq bgp" in after and " eq snmptrap" in after  # the lab prints them as IOS does
    extra = {cmd: device.run(cmd) for cmd in action.verify_commands}
    assert action.verify(item, after, extra) == []
    device.push(action.inverse(item, before))
    assert device.state() == before
