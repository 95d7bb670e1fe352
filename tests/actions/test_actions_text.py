"""Pre-check, inverse and verify over device text as the real devices print it
(IOS running-config order and padding, ``nft list ruleset`` of nft 1.0, ASA config)."""

from __future__ import annotations

from collections.abc import Callable

from simkit import CliSim, Sim

from isolate.actions.base import (
    BlockSmbItem,
    EdgeBlockItem,
    PortMove,
    PortRef,
    QuarantineItem,
    RevokeVpnItem,
    SegmentAclItem,
    ShutPortItem,
    batch_of,
)
from isolate.actions.ios_config import canonical_ace
from isolate.actions.nft_text import canonical_rule
from isolate.actions.table import ACTIONS, lookup
from isolate.drivers.base import Batch

IOS = """\
Building configuration...

Current configuration : 1200 bytes
!
version 15.2
hostname core2
!
vlan 100
 name users
!
vlan 999
 name ISOLATE-QUARANTINE
!
interface GigabitEthernet1/0/5
 description ws-05
 switchport access vlan 30
 switchport mode access
!
interface GigabitEthernet1/0/6
 switchport mode access
!
interface Vlan100
 ip address 10.10.100.1 255.255.255.0
 ip access-group LEGACY in
!
ip access-list extended LEGACY
 permit ip any any
ip route 0.0.0.0 0.0.0.0 10.99.0.1
ip route 100.64.0.0 255.255.255.0 10.99.0.9
!
end
"""


def test_quarantine_precheck_reports_inventory_drift() -> None:
    item = QuarantineItem.model_validate(
        {
            "step": "q",
            "vlan": 999,
            "vlan_name": "ISOLATE-QUARANTINE",
            "ports": [{"interface": "GigabitEthernet1/0/5", "host": "ws-05", "expected_vlan": 20}],
        }
    )
    problems = lookup("quarantine", "cisco_ios").precheck(item, IOS)
    assert problems == ["inventory drift: GigabitEthernet1/0/5 (host ws-05) is in VLAN 30, inventory says 20"]


def test_quarantine_inverse_restores_each_port_and_keeps_an_existing_vlan() -> None:
    item = QuarantineItem(
        step="q",
        vlan=999,
        vlan_name="ISOLATE-QUARANTINE",
        ports=(
            PortMove(interface="GigabitEthernet1/0/5", host="a", expected_vlan=30),
            PortMove(interface="GigabitEthernet1/0/6", host="b", expected_vlan=1),
        ),
    )
    assert lookup("quarantine", "cisco_ios").inverse(item, IOS) == [
        "interface GigabitEthernet1/0/5",
        "switchport access vlan 30",
        "no ip access-group ISOLATE-Q in",
        "interface GigabitEthernet1/0/6",
        "no switchport access vlan",
        "no ip access-group ISOLATE-Q in",
        "no ip access-list extended ISOLATE-Q",
    ]  # VLAN 999 existed before: neither renamed nor deleted


def test_quarantine_refuses_a_vlan_in_use() -> None:
    item = QuarantineItem(step="q", vlan=100, vlan_name="ISOLATE-QUARANTINE", ports=())
    assert lookup("quarantine", "cisco_ios").precheck(item, IOS) == [
        "VLAN 100 already exists as 'users' in the VLAN database: not a safe quarantine VLAN "
        "(isolate never renames or deletes a VLAN it did not create)",
        "interface Vlan100 exists: quarantine VLAN would be routed",
    ]


def _lines(rendered: list[str] | Batch) -> list[str]:
    """A rendering that is plain configuration lines (not an exec-mode batch)."""
    assert isinstance(rendered, list), rendered
    return rendered


def _smb_item() -> BlockSmbItem:
    return BlockSmbItem.model_validate(
        {
            "step": "cut-smb",
            "svis": [{"segment": "users", "vlan": 100}],
            "segments": ["users"],
            "subnets": ["10.10.10.0/24", "10.10.100.0/24"],
        }
    )


def test_block_smb_precheck_refuses_a_foreign_access_group() -> None:
    assert lookup("block-smb", "cisco_ios").precheck(_smb_item(), IOS) == [
        "interface Vlan100 already has 'ip access-group LEGACY in'; binding ours would replace it"
    ]


def test_block_smb_inverse_rebinds_the_previous_acl() -> None:
    assert lookup("block-smb", "cisco_ios").inverse(_smb_item(), IOS) == [
        "interface Vlan100",
        "ip access-group LEGACY in",
        "no ip access-list extended ISOLATE-CUT-SMB",
    ]


def test_block_smb_verify_reads_ios_padding_and_port_names() -> None:
    action = lookup("block-smb", "cisco_ios")
    acl = "\n".join(
        f" {10 * i} " + line.replace("deny", "deny  ").replace("eq 137", "eq netbios-ns")
        for i, line in enumerate(_lines(action.render(_smb_item()))[1:-2], 1)
    )
    state = (
        f"interface Vlan100\n ip access-group ISOLATE-CUT-SMB in\n!\n"
        f"ip access-list extended ISOLATE-CUT-SMB\n{acl}\n!\n"
    )
    assert action.verify(_smb_item(), state, {}) == []
    assert action.verify(_smb_item(), state.replace("eq 445", "eq 446", 1), {}) == [
        "ACL ISOLATE-CUT-SMB entries differ from the 9 pushed"
    ]


def test_canonical_ace_forms() -> None:
    assert canonical_ace(" 10 deny   udp any 10.0.0.0 0.0.0.255 eq netbios-dgm") == canonical_ace(
        "deny udp any 10.0.0.0 0.0.0.255 eq 138"
    )
    assert canonical_ace("permit tcp host 10.0.0.1 any") == canonical_ace("permit tcp 10.0.0.1 0.0.0.0 any")


def test_segment_acl_renders_both_directions_of_allowed_services() -> None:
    item = SegmentAclItem.model_validate(
        {
            "step": "seg",
            "svis": [{"segment": "users", "vlan": 100}],
            "segments": ["users"],
            "subnets": ["10.10.10.0/24", "10.10.100.0/24"],
            "allow": [{"proto": "udp", "port": 53, "address": "10.10.10.53/32"}],
        }
    )
    assert lookup("segment-acl", "cisco_ios").render(item) == [
        "ip access-list extended ISOLATE-SEG",
        "permit udp any host 10.10.10.53 eq 53",
        "permit udp host 10.10.10.53 eq 53 any",
        "deny ip 10.10.10.0 0.0.0.255 any",
        "deny ip 10.10.100.0 0.0.0.255 any",
        "permit ip any any",
        "interface Vlan100",
        "ip access-group ISOLATE-SEG out",
    ]
    assert _lines(lookup("segment-acl", "linux").render(item))[2:] == [
        "add rule inet isolate_seg forward ip daddr 10.10.10.53/32 udp dport 53 accept",
        "add rule inet isolate_seg forward ip saddr 10.10.10.53/32 udp sport 53 accept",
        "add rule inet isolate_seg forward ip saddr { 10.10.10.0/24, 10.10.100.0/24 } "
        "ip daddr { 10.10.10.0/24, 10.10.100.0/24 } drop",
    ]


def test_edge_block_ios_precheck_and_inverse() -> None:
    item = EdgeBlockItem.model_validate({"step": "edge", "prefixes": ["100.64.0.0/24", "198.51.100.7/32"]})
    action = lookup("edge-block", "cisco_ios")
    assert action.render(item) == [
        "ip route 100.64.0.0 255.255.255.0 Null0",
        "ip route 198.51.100.7 255.255.255.255 Null0",
    ]
    assert action.precheck(item, IOS) == [
        "a route to 100.64.0.0/24 already exists: 'ip route 100.64.0.0 255.255.255.0 10.99.0.9'"
    ]
    assert action.inverse(item, IOS) == [
        "no ip route 100.64.0.0 255.255.255.0 Null0",
        "no ip route 198.51.100.7 255.255.255.255 Null0",
    ]


NFT = """\
table inet filter {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t}
}
table inet isolate_edge {
\tchain forward {
\t\ttype filter hook forward priority filter - 10; policy accept;
\t\tip saddr 100.64.0.66 drop
\t\tip daddr 100.64.0.66 drop
\t}
}
"""


def test_nft_verify_and_precheck_read_nft_listing() -> None:
    item = EdgeBlockItem.model_validate({"step": "edge", "prefixes": ["100.64.0.66/32"]})
    action = lookup("edge-block", "linux")
    assert action.verify(item, NFT, {}) == []
    assert action.precheck(item, NFT) == ["nft table inet isolate_edge already exists (left by another run?)"]
    inverse = action.inverse(item, NFT)
    assert inverse[:2] == ["add table inet isolate_edge", "delete table inet isolate_edge"]
    assert inverse[2] == "table inet isolate_edge {"
    other = EdgeBlockItem.model_validate({"step": "edge", "prefixes": ["100.64.0.67/32"]})
    assert action.verify(other, NFT, {}) != []


def test_nft_canonical_rules_compare_by_meaning() -> None:
    merged = "ip saddr 10.0.0.0-10.0.1.255 tcp dport { 139, 445 } counter packets 3 bytes 9 drop"
    split = "ip saddr { 10.0.0.0/24, 10.0.1.0/24 } tcp dport { 445, 139 } drop"
    assert canonical_rule(merged) == canonical_rule(split)
    assert canonical_rule("ip saddr { 10.0.0.1 } drop") == canonical_rule("ip saddr 10.0.0.1/32 drop")
    assert canonical_rule("ip saddr 10.0.0.1 drop") != canonical_rule("ip daddr 10.0.0.1 drop")


ASA = """\
username alice password $sha512$x pbkdf2 privilege 0
username alice attributes
 vpn-group-policy staff
 vpn-simultaneous-logins 3
username bob password $sha512$y pbkdf2 privilege 0
username bob attributes
 vpn-group-policy staff
"""


def test_revoke_vpn_inverse_restores_exact_previous_attributes() -> None:
    item = RevokeVpnItem(step="vpn", users=("alice", "bob"))
    action = lookup("revoke-vpn", "cisco_asa")
    assert action.render(item) == Batch(
        ("username alice attributes", "vpn-simultaneous-logins 0", "username bob attributes",
         "vpn-simultaneous-logins 0"),
        ("vpn-sessiondb logoff name alice noconfirm", "vpn-sessiondb logoff name bob noconfirm"),
    )  # fmt: skip
    assert action.inverse(item, ASA) == [
        "username alice attributes",
        "vpn-simultaneous-logins 3",
        "username bob attributes",
        "no vpn-simultaneous-logins",
    ]
    assert action.precheck(RevokeVpnItem(step="vpn", users=("mallory",)), ASA) == [
        "VPN user mallory is not a local user here (no 'username mallory' line); if it is "
        "authenticated by a directory, say so in the inventory (vpn.users: auth: directory)"
    ]
    external = RevokeVpnItem(step="vpn", users=("alice", "mallory"), directory=("mallory",))
    assert action.precheck(external, ASA) == []  # a directory user has no local account to check
    assert batch_of(action.render(external)).exec_after[-1] == "vpn-sessiondb logoff name mallory noconfirm"
    assert not [c for c in batch_of(action.render(external)).lines if "username mallory" in c]
    assert not [c for c in action.inverse(external, ASA) if "mallory" in c]
    sessions = "Username     : alice                  Index        : 1\n"
    problems = action.verify(item, ASA, {"show vpn-sessiondb anyconnect": sessions})
    assert "user alice still has an active VPN session" in problems


def test_edge_block_and_shut_port_roundtrip_on_lab_ios(sim: Callable[[str], Sim]) -> None:
    cases = [
        (
            "core1",
            "edge-block",
            EdgeBlockItem.model_validate({"step": "edge", "prefixes": ["100.64.0.0/24", "203.0.113.9/32"]}),
        ),
        (
            "acc3",
            "shut-port",
            ShutPortItem(
                step="shut",
                ports=(
                    PortRef(interface="GigabitEthernet1/0/1", host="ws-01"),
                    PortRef(interface="GigabitEthernet1/0/2", host="ws-02"),
                ),
            ),
        ),
    ]
    for name, action_name, item in cases:
        device = sim(name)
        assert isinstance(device, CliSim)
        action = lookup(action_name, "cisco_ios")
        before = device.state()
        assert action.precheck(item, before) == []
        device.push(action.render(item))
        assert action.verify(item, device.state(), {}) == []
        device.push(action.inverse(item, before))
        assert device.state() == before
        assert action.verify(item, device.state(), {}) != []


def test_table_lists_each_pair_once_with_matching_names() -> None:
    for (action, platform), module in ACTIONS.items():
        assert (module.action, module.platform) == (action, platform)
