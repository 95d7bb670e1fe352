"""Blast radius: what each step cuts (flows, hosts, segments, ports, VPN users, services
and from where), cumulatively, and which protected services stay reachable."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from isolate.actions.account_items import DisableAccountItem
from isolate.actions.base import QuarantineItem, RevokeVpnItem, ShutPortItem
from isolate.inventory.models import Inventory
from isolate.natsort import natural_sorted
from isolate.plan.guards import Protection
from isolate.plan.models import (
    BlastRadius,
    DeviceChange,
    KeptService,
    ManagementCut,
    OwnServices,
    PortChange,
    ServiceCut,
    StepBlast,
    StillServed,
)
from isolate.plan.reach import Effect, Pair, Reach


class BlastTracker:
    """Follows a :class:`Reach` step by step and summarises each step's cut."""

    def __init__(self, reach: Reach) -> None:
        self.reach = reach
        self.total = 0
        self.cut_weight = 0
        self.crossed: list[tuple[str, ...]] = []
        self.cross: dict[str, int] = {}  # segment -> baseline weight of flows crossing it
        crossing = self._crossing
        for pair in reach.pairs:
            segments = crossing(pair)
            self.crossed.append(segments)
            if not pair.management:
                self.total += pair.weight
            for seg in segments:
                self.cross[seg] = self.cross.get(seg, 0) + pair.weight
        self.cross_cut: dict[str, int] = dict.fromkeys(self.cross, 0)
        self.hosts_off: set[str] = set()
        self.segments_off: set[str] = set()
        self.ports = 0
        self.users: set[str] = set()
        self.accounts: set[str] = set()
        self.specials: dict[str, set[str]] = {}  # segment -> its individually tracked hosts
        for cls in reach.classes:
            if cls.kind == "host" and cls.segment is not None:
                self.specials.setdefault(cls.segment, set()).add(cls.name)

    @staticmethod
    def _crossing(pair: Pair) -> tuple[str, ...]:
        src, dst = pair.src.segment, pair.dst.segment
        if pair.management or src == dst:
            return ()
        if src is None or dst is None:
            return tuple(s for s in (src, dst) if s is not None)
        return src, dst

    def step(
        self,
        changes: Sequence[DeviceChange],
        effect: Effect,
        newly: dict[int, str],
        own: tuple[OwnServices, ...] = (),
    ) -> StepBlast:
        pairs = self.reach.pairs
        for pid, sign in [(p, 1) for p in newly] + [(p, -1) for p in self.reach.last_restored]:
            pair = pairs[pid]
            if not pair.management:
                self.cut_weight += sign * pair.weight
            for seg in self.crossed[pid]:
                self.cross_cut[seg] += sign * pair.weight
        off = {s for s, w in self.cross.items() if w and self.cross_cut[s] == w}
        new_segments = sorted(off - self.segments_off)
        self.segments_off = off
        hosts = set(effect.moved) | set(effect.down)
        new_hosts = sorted(hosts - self.hosts_off)
        self.hosts_off |= hosts
        ports = _ports(changes)
        self.ports += len(ports)
        users = sorted({u for c in changes if isinstance(c.item, RevokeVpnItem) for u in c.item.users})
        self.users |= set(users)
        accounts = sorted(
            {u for c in changes if isinstance(c.item, DisableAccountItem) for u in c.item.users}
        )
        self.accounts |= set(accounts)
        return StepBlast(
            flows_cut=sum(pairs[p].weight for p in newly if not pairs[p].management),
            flows_cut_total=self.cut_weight,
            hosts_cut_off=tuple(new_hosts),
            segments_cut_off=tuple(new_segments),
            ports=ports,
            vpn_users=tuple(users),
            accounts_disabled=tuple(accounts),
            services=self._services(newly),
            management=tuple(
                ManagementCut(
                    source=str(pairs[p].src.name),
                    device=pairs[p].dst.name,
                    address=str(pairs[p].dst.address),
                    by=device,
                    port=pairs[p].port,
                )
                for p, device in sorted(newly.items())
                if pairs[p].management
            ),
            own_services=own,
        )

    def _services(self, newly: dict[int, str]) -> tuple[ServiceCut, ...]:
        grouped: dict[tuple[str, str, int, str], tuple[set[str], set[str]]] = {}
        address: dict[str, str] = {}
        pairs = self.reach.pairs
        for pid, device in newly.items():
            pair = pairs[pid]
            if pair.management:
                continue
            key = (pair.dst.name, pair.service, pair.port, pair.proto)
            group = grouped.get(key)
            if group is None:
                group = grouped[key] = (set(), set())
                if pair.dst.name not in address:
                    address[pair.dst.name] = str(pair.dst.address)
            group[0].add(pair.src.name)
            group[1].add(device)
        out = []
        for key in sorted(grouped):
            sources, devices = grouped[key]
            out.append(
                ServiceCut(
                    host=key[0],
                    service=key[1],
                    address=address[key[0]],
                    port=key[2],
                    proto=key[3],
                    sources=tuple(sorted(self._collapse(sources))),
                    devices=tuple(sorted(devices)),
                )
            )
        return tuple(out)

    def _collapse(self, sources: set[str]) -> set[str]:
        """A segment whose plain hosts and every individually tracked host are all
        listed is named once."""
        out = set(sources)
        for segment, specials in self.specials.items():
            if segment in out and specials <= out:
                out -= specials
        return out

    def radius(self, protection: Protection, watched: Iterable[int]) -> BlastRadius:
        """The cumulative blast radius; ``watched``: the pairs the guards watch."""
        reach = self.reach
        kept: dict[tuple[str, str, int, str], list[int]] = {}
        for pid in sorted(watched):
            pair = reach.pairs[pid]
            if protection.dst_protected(pair) is None:
                continue
            key = (pair.dst.name, pair.service, pair.port, pair.proto)
            tally = kept.setdefault(key, [0, 0])
            tally[1 if pair.pid in reach.cut else 0] += pair.weight
        return BlastRadius(
            flows_total=self.total,
            flows_cut=self.cut_weight,
            hosts_cut_off=tuple(sorted(self.hosts_off)),
            segments_cut_off=tuple(sorted(self.segments_off)),
            ports=self.ports,
            vpn_users=tuple(sorted(self.users)),
            accounts_disabled=tuple(sorted(self.accounts)),
            management_kept=not any(reach.pairs[p].management for p in reach.cut),
            kept=tuple(
                KeptService(
                    host=k[0],
                    service=k[1],
                    port=k[2],
                    proto=k[3],
                    reachable_from=v[0],
                    cut_from=v[1],
                )
                for k, v in sorted(kept.items())
            ),
        )


def own_services(
    inventory: Inventory, protection: Protection, new: Iterable[str], contained: set[str]
) -> tuple[OwnServices, ...]:
    """For each host newly contained that serves something: its services, and who still
    serves the protected ones (providers in the protected scope, not contained)."""
    out: list[OwnServices] = []
    for name in natural_sorted(set(new)):
        if not inventory.has_host(name):
            continue
        host = inventory.host(name)
        services = tuple(dict.fromkeys(s.name for s in host.services))
        if not services:
            continue
        still: list[StillServed] = []
        for service in services:
            entries = protection.by_service.get(service)
            if not entries:
                continue
            providers = [
                h.name
                for h in inventory.hosts_with_service(service)
                if h.name not in contained and any(e.covers(h.name, h.segment) for e in entries)
            ]
            still.append(StillServed(service=service, providers=tuple(natural_sorted(providers))))
        out.append(OwnServices(host=name, services=services, still_served=tuple(still)))
    return tuple(out)


def _ports(changes: Sequence[DeviceChange]) -> tuple[PortChange, ...]:
    out: list[PortChange] = []
    for change in changes:
        item = change.item
        if isinstance(item, QuarantineItem):
            out += [
                PortChange(
                    device=change.device, interface=p.interface, host=p.host, change=f"vlan {item.vlan}"
                )
                for p in item.ports
            ]
        elif isinstance(item, ShutPortItem):
            out += [
                PortChange(device=change.device, interface=p.interface, host=p.host, change="shutdown")
                for p in item.ports
            ]
    return tuple(out)
