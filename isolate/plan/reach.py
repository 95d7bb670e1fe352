"""The reachability model (docs/design.md), evaluated on the inventory, step by step.

A flow is (src host, dst host, port, proto) for every host × every service of another
host, one per (inventory source, service) for the outside sources (the Internet, an
attacker range: kind ``source``, weight 1, crossing the edge), plus management flows
(station or tool address → device address, tcp/22). Hosts
of one segment that no step names individually behave alike, so they form one *source
class*; every other host (stations, hosts a step moves, shuts, revokes or edge-blocks)
is its own class. A *pair* is (source class, destination service); its weight is the
number of hosts it stands for.

Each planned step contributes an :class:`Effect`: hosts moved to a VLAN without SVI
behind a port ACL (quarantine: they reach nothing, not even each other), hosts that stop
passing anything (shut-port, revoke-vpn), and routed
rules (ACLs, nft chains, Null0 routes) each with a ``blocks`` predicate and the
segments it can concern. :class:`Reach` applies the effects in order and says, after
each step, which pairs became cut and by which device. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from isolate.actions.base import is_smb
from isolate.inventory.models import Inventory
from isolate.platforms import PLATFORMS as PLATFORM_TABLE
from isolate.values import IPAddress, IPNetwork


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # host or device name, or the tool address
    kind: str  # class | host | device | tool
    address: IPAddress
    segment: str | None  # the segment it sits in (None: outside every segment)
    members: tuple[str, ...] = ()  # source class: the hosts it stands for
    ip: int = 0  # int(address), for fast prefix tests
    version: int = 4
    net: IPNetwork | None = None  # a source (inventory ``sources``): the prefix it stands for

    def within(self, prefix: IPNetwork) -> bool:
        """Whether the endpoint lies inside ``prefix`` (a source: its whole prefix does)."""
        if self.version != prefix.version:
            return False
        if self.net is not None:
            return self.net.subnet_of(prefix)  # type: ignore[arg-type]
        return self.address in prefix


def endpoint(
    name: str, kind: str, address: IPAddress, segment: str | None, members: tuple[str, ...] = ()
) -> Endpoint:
    return Endpoint(name, kind, address, segment, members, int(address), address.version)


class PrefixSet:
    """Prefixes compiled to integer masks: membership without ipaddress objects."""

    def __init__(self, prefixes: Iterable[IPNetwork]) -> None:
        self.nets = [(p.version, int(p.network_address), int(p.netmask)) for p in prefixes]

    def __contains__(self, end: Endpoint) -> bool:
        ip, version = end.ip, end.version
        return any(v == version and ip & mask == net for v, net, mask in self.nets)


@dataclass(slots=True)
class Pair:
    """One flow class: from ``src`` (a host or a class of alike hosts) to one service."""

    pid: int
    src: Endpoint
    dst: Endpoint
    service: str
    port: int
    proto: str
    weight: int
    management: bool = False

    @property
    def smb(self) -> bool:
        return is_smb(self.port, self.proto)


Blocks = Callable[[Endpoint, Endpoint, int, str], bool]


@dataclass(frozen=True)
class RoutedRule:
    """A filter on routed traffic placed on ``device``: considered for pairs whose source
    segment is in ``src_segments`` and destination segment in ``dst_segments`` (None =
    any), or, with ``edge``, for pairs crossing between the outside zone and another."""

    device: str
    blocks: Blocks
    src_segments: frozenset[str] | None = None
    dst_segments: frozenset[str] | None = None
    edge: bool = False


@dataclass(frozen=True)
class HostRule:
    """A filter on one host itself (its own firewall, its services): considered for every
    pair from or to ``host``, whatever the path."""

    host: str
    device: str
    blocks: Callable[[Pair], bool]


@dataclass
class Effect:
    step: str
    moved: dict[str, tuple[int, str]] = field(default_factory=dict)  # host -> (vlan, device)
    down: dict[str, str] = field(default_factory=dict)  # host -> device
    rules: list[RoutedRule] = field(default_factory=list)
    contained: set[str] = field(default_factory=set)  # hosts this step contains (subjects)
    prefixes: list[IPNetwork] = field(default_factory=list)  # addresses it blocks
    host_rules: list[HostRule] = field(default_factory=list)


class Topology:
    """What the model needs from the inventory, indexed once."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        # sources (the Internet, an attacker range) are outside segments of no host; they
        # never own an address (segment_at), so a host is never placed in one
        every = [*inventory.segments, *(x.as_segment() for x in inventory.sources)]
        self.segments = {s.name: s for s in every}
        self._nets = [(s.subnet, s.name) for s in inventory.segments]
        self.management = next((s.name for s in inventory.segments if s.zone == "management"), None)

    def segment_at(self, address: IPAddress) -> str | None:
        for net, name in self._nets:
            if address.version == net.version and address in net:
                return name
        return None

    def vlan(self, segment: str | None) -> int | None:
        return self.segments[segment].vlan if segment in self.segments else None

    def zone(self, segment: str | None) -> str:
        return self.segments[segment].zone if segment in self.segments else "management"

    def routable(self, segment: str | None) -> bool:
        if segment not in self.segments:
            return True
        seg = self.segments[segment]
        return seg.gateway is not None or seg.firewall is not None or seg.zone in ("outside", "vpn")

    def device_endpoint(self, name: str) -> Endpoint:
        device = self.inventory.device(name)
        try:
            address: IPAddress = ipaddress.ip_address(device.mgmt_address)
        except ValueError:  # reached by DNS name and no modelled address: in management
            return endpoint(name, "device", ipaddress.IPv4Address(0), self.management)
        segment = self.segment_at(address) or self.management
        return endpoint(name, "device", address, segment)


def special_hosts(inventory: Inventory, effects: Iterable[Effect]) -> set[str]:
    """Hosts that must be their own source class."""
    special = set(inventory.management.stations)
    prefixes: list[IPNetwork] = []
    for effect in effects:
        special |= set(effect.moved) | set(effect.down) | effect.contained
        special |= {rule.host for rule in effect.host_rules}
        prefixes += effect.prefixes
    if prefixes:
        compiled = PrefixSet(prefixes)
        for host in inventory.hosts:
            if endpoint(host.name, "host", host.address, host.segment) in compiled:
                special.add(host.name)
    return special


class Reach:
    """Pairs, their baseline, and the cut state as effects are applied one by one."""

    def __init__(
        self, inventory: Inventory, effects: list[Effect], *, passes: Blocks | None = None
    ) -> None:
        """``passes``: the baseline filters (isolate.plan.baseline) — a flow they stop is
        closed already, not a flow any step could cut; None: every routable flow is open."""
        self.topo = Topology(inventory)
        self.passes = passes
        self.closed = 0  # weight of flows the baseline filters already stop
        self.routable = {name: self.topo.routable(name) for name in [*self.topo.segments, None]}
        self.outside = {name: self.topo.zone(name) == "outside" for name in self.routable}
        self.pairs: list[Pair] = []
        self.by_segs: dict[str | None, dict[str | None, list[int]]] = {}
        self.by_host: dict[str, list[int]] = {}  # pairs of each individually tracked host
        self.edge_pairs: list[int] = []
        self.special = special_hosts(inventory, effects)
        self.classes: list[Endpoint] = []  # source classes
        self._build(inventory, self.special)
        self.moved: dict[str, tuple[int, str]] = {}
        self.down: dict[str, str] = {}
        self.routed_cut: dict[int, str] = {}
        self.host_cut: dict[int, str] = {}  # pid -> device whose host rule cuts it
        self.cut: dict[int, str] = {}  # pid -> device cutting it, now
        self.last_restored: list[int] = []  # pids the last apply() made pass again

    # -- construction -------------------------------------------------------------------
    def _classes(self, inventory: Inventory, special: set[str]) -> list[Endpoint]:
        classes: list[Endpoint] = []
        by_segment: dict[str, list[str]] = {}
        for host in inventory.hosts:
            if host.name not in special:
                by_segment.setdefault(host.segment, []).append(host.name)
        for segment in inventory.segments:
            plain = tuple(by_segment.get(segment.name, ()))
            if plain:
                first = inventory.host(plain[0])
                classes.append(endpoint(segment.name, "class", first.address, segment.name, plain))
        for host in inventory.hosts:
            if host.name in special:
                classes.append(endpoint(host.name, "host", host.address, host.segment, (host.name,)))
        return classes

    def _build(self, inventory: Inventory, special: set[str]) -> None:
        classes = self.classes = self._classes(inventory, special)
        stations = set(inventory.management.stations)
        servers = [
            (
                endpoint(h.name, "host", h.address, h.segment),
                tuple((s.name, s.port, s.proto) for s in h.services),
            )
            for h in inventory.hosts
            if h.services
        ]
        for src in classes:
            members = set(src.members)
            size = len(members)
            for dst, services in servers:
                weight = size - (dst.name in members)
                if weight > 0:
                    self._add(src, dst, services, weight, False)
        for source in inventory.sources:  # one flow per service each source reaches
            net = source.prefix
            src = Endpoint(source.name, "source", net.network_address, source.name, (source.name,),
                           int(net.network_address), net.version, net)
            for dst, services in servers:
                self._add(src, dst, services, 1, False)
        sources = [c for c in classes if c.name in stations]
        tool = inventory.tool_address()
        if tool is not None and not any(c.address == tool for c in sources):
            sources.append(endpoint(str(tool), "tool", tool, self.topo.segment_at(tool), ()))
        devices = [
            (self.topo.device_endpoint(d.name),
             ((PLATFORM_TABLE[d.platform].management_service, d.mgmt_port, "tcp"),))
            for d in inventory.devices
        ]  # fmt: skip
        for src in sources:
            for dst, service in devices:
                self._add(src, dst, service, 1, True)

    def _add(
        self,
        src: Endpoint,
        dst: Endpoint,
        services: tuple[tuple[str, int, str], ...],
        weight: int,
        management: bool,
    ) -> None:
        """Pairs from ``src`` to each of ``dst``'s services, indexed as they are made."""
        s_seg, d_seg = src.segment, dst.segment
        if not (s_seg == d_seg and s_seg is not None) and not (self.routable[s_seg] and self.routable[d_seg]):
            return  # does not pass at baseline: not a flow anything could cut
        inner = self.by_segs.get(s_seg)
        if inner is None:
            inner = self.by_segs[s_seg] = {}
        found = inner.get(d_seg)
        if found is None:
            found = inner[d_seg] = []
        tracked = [m for m in (src.members if len(src.members) == 1 else ()) if m in self.special]
        if dst.name in self.special:
            tracked.append(dst.name)
        edge = self.outside[s_seg] != self.outside[d_seg]
        pairs = self.pairs
        for name, port, proto in services:
            if self.passes is not None and not management and not self.passes(src, dst, port, proto):
                self.closed += weight
                continue
            pid = len(pairs)
            pairs.append(Pair(pid, src, dst, name, port, proto, weight, management))
            found.append(pid)
            for host in tracked:
                self.by_host.setdefault(host, []).append(pid)
            if edge:
                self.edge_pairs.append(pid)

    # -- evaluation ----------------------------------------------------------------------
    def apply(self, effect: Effect) -> dict[int, str]:
        """Apply one step's effect; returns the pairs it newly cuts (pid -> device)."""
        touched: set[int] = set()
        for host, moved in effect.moved.items():
            self.moved[host] = moved
            touched.update(self.by_host.get(host, ()))
        for host, device in effect.down.items():
            self.down.setdefault(host, device)
            touched.update(self.by_host.get(host, ()))
        for host_rule in effect.host_rules:
            for pid in self.by_host.get(host_rule.host, ()):
                if pid not in self.host_cut and host_rule.blocks(self.pairs[pid]):
                    self.host_cut[pid] = host_rule.device
                    touched.add(pid)
        for rule in effect.rules:
            for pid in self._candidates(rule):
                if pid in self.routed_cut:
                    continue
                pair = self.pairs[pid]
                if rule.blocks(pair.src, pair.dst, pair.port, pair.proto):
                    self.routed_cut[pid] = rule.device
                    touched.add(pid)
        newly: dict[int, str] = {}
        self.last_restored = []
        for pid in sorted(touched):
            cutter = self._status(self.pairs[pid])
            if cutter is None:
                if self.cut.pop(pid, None) is not None:
                    self.last_restored.append(pid)
            elif pid not in self.cut:
                self.cut[pid] = cutter
                newly[pid] = cutter
        return newly

    def _candidates(self, rule: RoutedRule) -> Iterable[int]:
        if rule.edge:
            return self.edge_pairs
        found: list[int] = []
        sources = self.by_segs if rule.src_segments is None else rule.src_segments
        for src in sources:
            inner = self.by_segs.get(src)
            if not inner:
                continue
            wanted = rule.dst_segments
            dsts = inner if wanted is None or len(inner) < len(wanted) else wanted
            for dst in dsts:
                if (src == dst and src is not None) or (wanted is not None and dst not in wanted):
                    continue
                found += inner.get(dst, ())
        return found

    def _status(self, pair: Pair) -> str | None:
        """The device cutting ``pair`` now, or None if it passes."""
        if len(pair.src.members) != 1 and pair.dst.name not in self.special:
            return self.routed_cut.get(pair.pid)  # nothing host-level can concern it
        for host in (*pair.src.members, pair.dst.name):
            if host in self.down:
                return self.down[host]
        if pair.pid in self.host_cut:
            return self.host_cut[pair.pid]
        src_moved = self._moved_of(pair.src)
        dst_moved = self.moved.get(pair.dst.name) if pair.dst.kind == "host" else None
        moved = src_moved or dst_moved
        if moved:  # a quarantined host reaches nothing, not even the others quarantined
            return moved[1]
        return self.routed_cut.get(pair.pid)

    def _moved_of(self, endpoint: Endpoint) -> tuple[int, str] | None:
        if len(endpoint.members) == 1:
            return self.moved.get(endpoint.members[0])
        return None
