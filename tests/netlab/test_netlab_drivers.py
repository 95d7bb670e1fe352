"""Drivers against the lab's real daemons over real SSH from the admin station:
capture, change, prove the change with real packets, restore byte-identical."""

from __future__ import annotations

import time

import pytest
from netlabkit import Lab

from isolate.actions import quarantine_openvswitch, revoke_vpn_wireguard
from isolate.actions.base import PortMove, QuarantineItem, RevokeVpnItem
from isolate.drivers.linux import LinuxSession
from isolate.drivers.openvswitch import OpenvswitchSession, port_protected, port_tags
from isolate.drivers.registry import identify
from isolate.drivers.wireguard import WireguardSession, peers_in_state
from isolate.errors import CommandRejected

pytestmark = pytest.mark.netlab


def _wait_flow(lab: Lab, key: str, *, want: bool, tries: int = 60) -> bool:
    """Probe until ``key`` is ``want`` (a re-added VPN peer needs a handshake first)."""
    for _ in range(tries):
        if lab.flow(key).ok is want:
            return True
        time.sleep(0.1)
    return False


def test_baseline_smb_services_and_management_are_open(netlab: Lab) -> None:
    flows = netlab.flows()
    for key in (
        "ws-17->fs1:445/tcp",  # SMB across segments (users -> servers)
        "ws-17->fs2:139/tcp",
        "fs1->ws-01:445/tcp",
        "ws-01->ec1:443/tcp",  # civil status
        "vpn-carol->fs1:445/tcp",  # through WireGuard
        "attacker->web1:443/tcp",  # through the edge
        *(f"admin1->{d}:22/tcp" for d in ("sw1", "fw-int", "fw-edge", "vpn1")),
    ):
        assert flows[key].ok, f"{key}: {flows[key].outcome}"


def test_openvswitch_quarantine_cuts_real_traffic_and_restores_byte_identical(
    netlab: Lab, admin_ns: str
) -> None:
    session = OpenvswitchSession(netlab.target("sw1", "10.99.99.2", "openvswitch"))
    try:
        before = session.read_state()
        assert port_tags(before)["p-ws-17"] == "100"
        session.push(["ovs-vsctl set port p-ws-17 tag=999"])
        assert port_tags(session.read_state())["p-ws-17"] == "999"
        flows = netlab.flows()
        assert not flows["ws-17->fs1:445/tcp"].ok
        assert not flows["ws-01->ws-17:445/tcp"].ok
        assert flows["ws-01->fs1:445/tcp"].ok  # the rest of the segment keeps working
        session.push([f"ovs-vsctl set port p-ws-17 tag={port_tags(before)['p-ws-17']}"])
        assert session.read_state() == before
        assert netlab.flows()["ws-17->fs1:445/tcp"].ok
    finally:
        session.close()


def test_openvswitch_push_refuses_anything_but_ovs_vsctl(netlab: Lab, admin_ns: str) -> None:
    session = OpenvswitchSession(netlab.target("sw1", "10.99.99.2", "openvswitch"))
    try:
        with pytest.raises(CommandRejected, match="only ovs-vsctl"):
            session.push(["rm -rf /tmp/x"])
        with pytest.raises(CommandRejected, match="not allowed"):
            session.push(["ovs-vsctl set port p-ws-17 tag=1;reboot"])
        with pytest.raises(CommandRejected, match="sw1: 'ovs-vsctl set port nosuch tag=5' rejected"):
            session.push(["ovs-vsctl set port nosuch tag=5"])
    finally:
        session.close()


def test_identity_probes_answer_on_the_right_device_only(netlab: Lab, admin_ns: str) -> None:
    """The pre-check's identity probe, through the driver: sw1 answers as Open vSwitch, vpn1
    as a WireGuard concentrator with wg0; sw1 declared as WireGuard has no wg0 to show."""
    sw1 = OpenvswitchSession(netlab.target("sw1", "10.99.99.2", "openvswitch"))
    vpn1 = WireguardSession(netlab.target("vpn1", "10.99.99.4", "wireguard"))
    wrong = WireguardSession(netlab.target("sw1", "10.99.99.2", "wireguard"))
    try:
        assert identify(sw1) is None and identify(vpn1) is None
        declared = "sw1: declared wireguard but 'wg show interfaces' does not show it (answered nothing)"
        assert identify(wrong) == declared
    finally:
        for session in (sw1, vpn1, wrong):
            session.close()


def test_wireguard_revoke_action_cuts_one_user_and_inverse_restores_byte_identical(
    netlab: Lab, admin_ns: str
) -> None:
    """revoke-vpn on the wireguard platform: render, verify, inverse from captured state."""
    action = revoke_vpn_wireguard.ACTION
    item = RevokeVpnItem(step="revoke-vpn", users=("carol",))
    session = WireguardSession(netlab.target("vpn1", "10.99.99.4", "wireguard"))
    try:
        before = session.read_state()
        wg_dir = netlab.dir / "wg"
        secrets = [p.read_text().strip() for p in wg_dir.iterdir() if p.suffix in (".key", ".psk")]
        assert secrets and not any(s in before for s in secrets), "a key reached read_state"
        assert action.precheck(item, before) == []
        inverse = action.inverse(item, before)
        assert not any(s in " ".join(inverse) for s in secrets)
        session.push(action.render(item))
        assert action.verify(item, session.read_state(), {}) == []
        assert _wait_flow(netlab, "vpn-carol->fs1:445/tcp", want=False)
        assert netlab.flows()["vpn-alice->fs1:445/tcp"].ok
        session.push(inverse)
        assert session.read_state() == before
        assert _wait_flow(netlab, "vpn-carol->fs1:445/tcp", want=True)
    finally:
        session.close()


def test_openvswitch_quarantine_action_round_trip(netlab: Lab, admin_ns: str) -> None:
    """quarantine on the openvswitch platform. The item is built with model_construct:
    actions/base.py's PortMove only accepts IOS interface names so far (p-ws-17 is not one)."""
    action = quarantine_openvswitch.ACTION
    port = PortMove.model_construct(interface="p-ws-17", host="ws-17", expected_vlan=100)
    item = QuarantineItem.model_construct(
        action="quarantine", step="quarantine-infected", vlan=999, vlan_name="Q", ports=(port,)
    )
    session = OpenvswitchSession(netlab.target("sw1", "10.99.99.2", "openvswitch"))
    try:
        before = session.read_state()
        assert action.precheck(item, before) == []
        inverse = action.inverse(item, before)
        session.push(action.render(item))
        assert action.verify(item, session.read_state(), {}) == []
        assert not netlab.flow("ws-17->fs1:445/tcp").ok
        session.push(inverse)
        assert session.read_state() == before
        assert netlab.flow("ws-17->fs1:445/tcp").ok
    finally:
        session.close()


def test_two_quarantined_hosts_cannot_connect_to_each_other(netlab: Lab, admin_ns: str) -> None:
    """Real packets: a shared quarantine VLAN alone lets quarantined hosts reach each other
    (shown first, by tag only); the quarantine action's protected ports stop that, and the
    inverse brings both ports back byte-identical."""
    action = quarantine_openvswitch.ACTION
    ports = tuple(
        PortMove.model_construct(interface=f"p-{host}", host=host, expected_vlan=100)
        for host in ("ws-17", "ws-01")
    )
    item = QuarantineItem.model_construct(
        action="quarantine", step="quarantine-infected", vlan=999, vlan_name="Q", ports=ports
    )
    session = OpenvswitchSession(netlab.target("sw1", "10.99.99.2", "openvswitch"))
    try:
        before = session.read_state()
        assert port_protected(before) == {p: False for p in port_protected(before)}
        inverse = action.inverse(item, before)
        session.push(["ovs-vsctl set port p-ws-17 tag=999", "ovs-vsctl set port p-ws-01 tag=999"])
        assert netlab.flow("ws-17->ws-01:445/tcp").ok, "tag only: the shared VLAN lets them talk"
        session.push(action.render(item))
        assert action.verify(item, session.read_state(), {}) == []
        for key in ("ws-17->ws-01:445/tcp", "ws-01->ws-17:445/tcp", "ws-17->fs1:445/tcp"):
            assert not netlab.flow(key).ok, key
        assert netlab.flow("fs2->fs1:445/tcp").ok  # the others keep working
        session.push(inverse)
        assert session.read_state() == before
        assert netlab.flow("ws-17->ws-01:445/tcp").ok
    finally:
        session.close()


def test_wireguard_readd_after_crash_uses_the_device_stash(netlab: Lab, admin_ns: str) -> None:
    """The session that removed a peer dies; a new one re-adds it with its pre-shared key."""
    first = WireguardSession(netlab.target("vpn1", "10.99.99.4", "wireguard"))
    before = first.read_state()
    alice = next(k for k, v in peers_in_state(before).items() if v["user"] == "alice")
    fields = peers_in_state(before)[alice]
    first.push([f"wg set wg0 peer {alice} remove"])
    first.close()
    second = WireguardSession(netlab.target("vpn1", "10.99.99.4", "wireguard"))
    try:
        second.push(
            [
                f"wg set wg0 peer {alice} preshared-key /dev/stdin allowed-ips {fields['allowed-ips']} "
                f"endpoint {fields['endpoint']} persistent-keepalive {fields['persistent-keepalive']}"
            ]
        )
        assert second.read_state() == before
        assert _wait_flow(netlab, "vpn-alice->fs1:445/tcp", want=True)
    finally:
        second.close()


def test_wireguard_push_refuses_other_commands(netlab: Lab, admin_ns: str) -> None:
    session = WireguardSession(netlab.target("vpn1", "10.99.99.4", "wireguard"))
    try:
        for bad in (
            "wg set wg0 private-key /etc/shadow",
            "ip link del wg0",
            "wg set wg0 peer @nobody remove",
        ):
            with pytest.raises(CommandRejected):
                session.push([bad])
    finally:
        session.close()


def test_linux_nft_smb_block_on_the_router_cuts_smb_keeps_the_rest(netlab: Lab, admin_ns: str) -> None:
    """The integrator's linux driver on the lab's router: a real nft table, real packets."""
    session = LinuxSession(netlab.target("fw-int", "10.99.99.1", "linux"))
    try:
        before = session.read_state()
        assert "table inet netlab_guard" in before
        session.push(
            [
                "table inet isolate_test {",
                "  chain forward {",
                "    type filter hook forward priority filter; policy accept;",
                "    tcp dport { 139, 445 } reject with tcp reset",
                "  }",
                "}",
            ]
        )
        flows = netlab.flows()
        assert flows["ws-17->fs1:445/tcp"].outcome == "refused"
        assert flows["ws-17->fs1:139/tcp"].outcome == "refused"
        assert flows["ws-17->ec1:443/tcp"].ok
        assert flows["ws-17->ws-01:445/tcp"].ok  # same VLAN: never crosses the router
        assert flows["admin1->fw-int:22/tcp"].ok
        session.push(["delete table inet isolate_test"])
        assert session.read_state() == before
        assert netlab.flows()["ws-17->fs1:445/tcp"].ok
    finally:
        session.close()


def test_measured_flows_feed_the_drill_flow_map(netlab: Lab) -> None:
    """Measured records have the shape the drill's flow map reads (same keys as the
    embedded lab's matrix: management flows are service ssh-mgmt)."""
    from isolate.netlab.probes import probe, records
    from isolate.reports.flows import FlowKey, to_flow_map

    flow_map = to_flow_map(records(probe(netlab.dir, timeout_s=0.5)))
    assert flow_map[FlowKey("admin1", "sw1", 22, "tcp", "ssh-mgmt")] is True
    assert flow_map[FlowKey("ws-17", "fs1", 445, "tcp", "smb")] is True
    assert len(flow_map) == len(netlab.flows())
