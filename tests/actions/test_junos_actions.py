"""Junos action modules on captured configurations (pure): what each pre-check refuses, and
that forward then inverse leaves the configuration as captured. The same actions run end to
end over NETCONF in tests/execute/test_junos_apply.py and tests/test_drill_mixed.py."""

from __future__ import annotations

import ipaddress

from isolate.actions.base import (
    AllowEntry,
    BlockSmbItem,
    EdgeBlockItem,
    PortMove,
    QuarantineItem,
    SegmentAclItem,
    Svi,
)
from isolate.actions.block_smb_junos import ACTION as BLOCK_SMB
from isolate.actions.edge_block_junos import ACTION as EDGE_BLOCK
from isolate.actions.junos_config import set_lines
from isolate.actions.quarantine_junos import ACTION as QUARANTINE
from isolate.actions.segment_acl_junos import ACTION as SEGMENT_ACL
from isolate.lab.junos import config as cfg

BASE = """## Last commit: 2026-12-02 12:00:00 UTC by admin
version 18.4R2.7;
system {
    host-name core1;
}
interfaces {
    ge-0/0/4 {
        description ws-17;
        unit 0 {
            family ethernet-switching {
                interface-mode access;
                vlan {
                    members users;
                }
            }
        }
    }
    ge-0/0/47 {
        unit 0 {
            family ethernet-switching {
                interface-mode trunk;
                vlan {
                    members all;
                }
            }
        }
    }
    irb {
        unit 10 {
            family inet {
                address 10.10.10.1/24;
            }
        }
        unit 100 {
            family inet {
                address 10.10.100.1/24;
            }
        }
    }
}
vlans {
    servers {
        vlan-id 10;
        l3-interface irb.10;
    }
    users {
        vlan-id 100;
        l3-interface irb.100;
    }
}
routing-options {
    static {
        route 0.0.0.0/0 next-hop 10.99.0.1;
    }
}
"""

SVIS = (Svi(segment="servers", vlan=10), Svi(segment="users", vlan=100))
NETS = (ipaddress.ip_network("10.10.10.0/24"), ipaddress.ip_network("10.10.100.0/24"))


def device_after(state: str, lines: list[str]) -> str:
    """What a Junos device shows after loading ``lines`` (the lab's configuration tree)."""
    tree = cfg.parse_text(state)
    cfg.apply_set(tree, "\n".join(lines))
    return cfg.render_text(tree)


def body(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("## ")) + "\n"


def test_flattening_junos_text_gives_display_set_lines() -> None:
    lines = set_lines(BASE)
    assert "set interfaces ge-0/0/4 unit 0 family ethernet-switching vlan members users" in lines
    assert "set routing-options static route 0.0.0.0/0 next-hop 10.99.0.1" in lines
    assert "set vlans users l3-interface irb.100" in lines
    assert not [line for line in lines if "Last commit" in line]


def test_block_smb_forward_verify_inverse_round_trip() -> None:
    item = BlockSmbItem(step="cut-smb", svis=SVIS, segments=("servers", "users"), subnets=NETS)
    assert BLOCK_SMB.precheck(item, BASE) == []
    during = device_after(BASE, BLOCK_SMB.render(item))
    assert BLOCK_SMB.verify(item, during, {}) == []
    assert "destination-port [ 445 139 ];" in during
    assert BLOCK_SMB.precheck(item, during) == ["firewall filter ISOLATE-CUT-SMB already exists "
                                                "(left by another run?)"]
    assert device_after(during, BLOCK_SMB.inverse(item, BASE)) == body(BASE)


def test_segment_acl_binds_output_beside_block_smb_input() -> None:
    smb = BlockSmbItem(step="cut-smb", svis=SVIS, segments=("servers", "users"), subnets=NETS)
    acl = SegmentAclItem(step="seg", svis=SVIS, segments=("servers", "users"), subnets=NETS,
                         allow=(AllowEntry(proto="tcp", port=53,
                                           address=ipaddress.ip_network("10.10.10.53/32")),),
                         allow_from=(ipaddress.ip_network("10.99.0.0/24"),))
    with_smb = device_after(BASE, BLOCK_SMB.render(smb))
    assert SEGMENT_ACL.precheck(acl, with_smb) == []
    both = device_after(with_smb, SEGMENT_ACL.render(acl))
    assert SEGMENT_ACL.verify(acl, both, {}) == [] and BLOCK_SMB.verify(smb, both, {}) == []
    assert device_after(both, SEGMENT_ACL.inverse(acl, with_smb)) == body(with_smb)


def test_filter_prechecks_refuse_what_they_would_break() -> None:
    item = BlockSmbItem(step="cut-smb", svis=(*SVIS, Svi(segment="ghost", vlan=77)),
                        segments=("servers", "users", "ghost"), subnets=NETS)
    bound = device_after(BASE, ["set firewall family inet filter THEIRS term t then accept",
                                "set interfaces irb unit 10 family inet filter input THEIRS",
                                "set vlans users l3-interface irb.1100"])
    assert BLOCK_SMB.precheck(item, bound) == [
        "irb.10 already has 'filter input THEIRS'; binding ours would replace it",
        "VLAN 100 (users) has l3-interface irb.1100; isolate binds irb.100 (unit = VLAN id)",
        "VLAN 77 (segment ghost) not found under vlans: inventory drift",
    ]
    inverse = BLOCK_SMB.inverse(BlockSmbItem(step="cut-smb", svis=SVIS[:1], segments=("servers",),
                                             subnets=NETS), bound)
    assert inverse[:2] == ["delete interfaces irb unit 10 family inet filter input",
                           "set interfaces irb unit 10 family inet filter input THEIRS"]


def test_quarantine_round_trip_and_refusals() -> None:
    item = QuarantineItem(step="quarantine-infected", vlan=999, vlan_name="ISOLATE-QUARANTINE",
                          ports=(PortMove(interface="ge-0/0/4", host="ws-17", expected_vlan=100),))
    assert QUARANTINE.precheck(item, BASE) == []
    during = device_after(BASE, QUARANTINE.render(item))
    assert QUARANTINE.verify(item, during, {}) == []
    assert device_after(during, QUARANTINE.inverse(item, BASE)) == body(BASE)
    taken = device_after(BASE, ["set vlans printers vlan-id 999"])
    trunk = QuarantineItem(step="q", vlan=999, vlan_name="ISOLATE-QUARANTINE",
                           ports=(PortMove(interface="ge-0/0/47", host="x", expected_vlan=100),
                                  PortMove(interface="ge-0/0/9", host="y", expected_vlan=100),
                                  PortMove(interface="ge-0/0/4", host="ws-17", expected_vlan=10)))
    assert QUARANTINE.precheck(trunk, taken) == [
        "VLAN 999 already exists as 'printers': not a safe quarantine VLAN (isolate never renames "
        "or deletes a VLAN it did not create)",
        "ge-0/0/47 (host x) is a trunk, not an access port",
        "ge-0/0/9 (host y) has no unit 0 family ethernet-switching: inventory drift",
        "inventory drift: ge-0/0/4 (host ws-17) is in VLAN users, inventory says 10",
    ]


def test_edge_block_round_trip_and_an_existing_route() -> None:
    item = EdgeBlockItem(step="block-attacker", prefixes=(ipaddress.ip_network("100.64.0.0/24"),
                                                          ipaddress.ip_network("2001:db8::/32")))
    assert EDGE_BLOCK.precheck(item, BASE) == []
    during = device_after(BASE, EDGE_BLOCK.render(item))
    assert "route 100.64.0.0/24 discard;" in during
    assert EDGE_BLOCK.verify(item, during, {}) == []
    assert device_after(during, EDGE_BLOCK.inverse(item, BASE)) == body(BASE)
    routed = device_after(BASE, ["set routing-options static route 100.64.0.0/24 next-hop 10.99.0.9"])
    assert EDGE_BLOCK.precheck(item, routed) == [
        "a route to 100.64.0.0/24 already exists: 'routing-options static route 100.64.0.0/24 "
        "next-hop 10.99.0.9'"]
