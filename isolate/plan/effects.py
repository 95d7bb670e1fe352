"""What each action does to the reachability model: one function per action, from the
work items the builder made (never from rendered commands)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from isolate.actions.base import (
    AllowEntry,
    BlockSmbItem,
    EdgeBlockItem,
    QuarantineItem,
    RevokeVpnItem,
    SegmentAclItem,
    ShutPortItem,
    is_smb,
)
from isolate.actions.host_items import DisableSmbHostItem, FenceHostItem
from isolate.inventory.models import Inventory
from isolate.plan.models import DeviceChange
from isolate.plan.reach import Effect, Endpoint, HostRule, Pair, PrefixSet, RoutedRule, Topology
from isolate.platforms import PLATFORMS


def _subnet_segments(topo: Topology, item: BlockSmbItem | SegmentAclItem) -> frozenset[str]:
    wanted = set(item.subnets)
    return frozenset(s.name for s in topo.segments.values() if s.subnet in wanted)


class _Allowed:
    """Allowed services compiled for fast lookups: any host, one host, or a prefix."""

    def __init__(self, allow: Sequence[AllowEntry]) -> None:
        self.anywhere = {(a.proto, a.port) for a in allow if a.address is None}
        self.hosts = {
            (a.proto, a.port, a.address.version, int(a.address.network_address))
            for a in allow
            if a.address is not None and a.address.num_addresses == 1
        }
        self.nets = [
            (a.proto, a.port, PrefixSet([a.address]))
            for a in allow
            if a.address is not None and a.address.num_addresses > 1
        ]

    def __call__(self, dst: Endpoint, port: int, proto: str) -> bool:
        if (proto, port) in self.anywhere or (proto, port, dst.version, dst.ip) in self.hosts:
            return True
        return any(p == proto and q == port and dst in nets for p, q, nets in self.nets)


def _fence(effect: Effect, item: FenceHostItem, device: str) -> None:
    """The fenced host starts nothing and answers only its listed services and tcp/22
    from the management networks."""
    host = item.host
    kept = {(p.proto, p.port) for p in item.allow}
    management = PrefixSet(item.management)

    def fenced(pair: Pair) -> bool:
        if pair.dst.name != host:
            return True  # outbound: the host starts no connection
        if (pair.proto, pair.port) in kept:
            return False
        return not (pair.proto == "tcp" and pair.port == 22 and pair.src in management)

    effect.host_rules.append(HostRule(host, device, fenced))
    effect.contained.add(host)


def _filter_rules(
    device: str,
    platform: str,
    svis: frozenset[str],
    enforced: frozenset[str],
    selected: frozenset[str],
    blocks: Callable[[Endpoint, Endpoint, int, str], bool],
    *,
    direction: str,
) -> list[RoutedRule]:
    if PLATFORMS[platform].acl_binding == "interface":  # bound to the segment's SVI
        if direction == "in":
            return [RoutedRule(device, blocks, svis, selected)]
        return [RoutedRule(device, blocks, selected, svis)]
    return [
        RoutedRule(device, blocks, enforced, selected),
        RoutedRule(device, blocks, selected, enforced),
    ]


def add_effect(effect: Effect, change: DeviceChange, inventory: Inventory, topo: Topology) -> None:
    """Record what ``change`` does into ``effect``."""
    item = change.item
    device = change.device
    if isinstance(item, QuarantineItem):
        for port in item.ports:
            effect.moved[port.host] = (item.vlan, device)
            effect.contained.add(port.host)
    elif isinstance(item, ShutPortItem):
        for ref in item.ports:
            effect.down[ref.host] = device
            effect.contained.add(ref.host)
    elif isinstance(item, RevokeVpnItem):
        users = set(item.users)
        for host in inventory.hosts:
            if host.vpn_user in users and topo.zone(host.segment) == "vpn":
                effect.down[host.name] = device
                effect.contained.add(host.name)
    elif isinstance(item, DisableSmbHostItem):
        server = item.host

        def smb_served(pair: Pair) -> bool:
            return pair.dst.name == server and pair.smb

        effect.host_rules.append(HostRule(server, device, smb_served))
    elif isinstance(item, FenceHostItem):
        _fence(effect, item, device)
    elif isinstance(item, EdgeBlockItem):
        prefixes = tuple(item.prefixes)
        effect.prefixes += prefixes

        def edge_blocks(src: Endpoint, dst: Endpoint, port: int, proto: str) -> bool:
            return any(end.within(p) for end in (src, dst) for p in prefixes)

        effect.rules.append(RoutedRule(device, edge_blocks, edge=True))
    elif isinstance(item, BlockSmbItem):
        selected = _subnet_segments(topo, item)

        def smb_blocks(src: Endpoint, dst: Endpoint, port: int, proto: str) -> bool:
            return is_smb(port, proto) and src.segment in selected and dst.segment in selected

        svis = frozenset(s.segment for s in item.svis)
        effect.rules += _filter_rules(
            device,
            change.platform,
            svis,
            frozenset(item.segments),
            selected,
            smb_blocks,
            direction="in",
        )
    elif isinstance(item, SegmentAclItem):
        selected = _subnet_segments(topo, item)
        allowed = _Allowed(item.allow)
        sources = PrefixSet(item.allow_from)

        def acl_blocks(src: Endpoint, dst: Endpoint, port: int, proto: str) -> bool:
            if src.segment not in selected or dst.segment not in selected or src in sources:
                return False
            return not allowed(dst, port, proto)

        svis = frozenset(s.segment for s in item.svis)
        effect.rules += _filter_rules(
            device,
            change.platform,
            svis,
            frozenset(item.segments),
            selected,
            acl_blocks,
            direction="out",
        )
