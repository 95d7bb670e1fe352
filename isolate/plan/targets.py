"""From a step's resolved targets to one work item per device (the per-action mapping).

- quarantine / shut-port: the selected hosts (and the hosts of selected segments and of
  selected switches' ports) → their access switch and port;
- block-smb / segment-acl: the selected segments → each segment's enforcement point (its
  ``firewall`` if it has one and ``enforce`` is auto/firewall, else its ``gateway``);
- edge-block: ``params.prefixes`` + selected hosts' addresses + selected segments'
  subnets → the selected devices, else the inventory's edge devices;
- revoke-vpn: the selected users (vpn_groups select their users) and the VPN users of
  selected hosts → the selected devices, else the inventory's VPN concentrators.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from pydantic import BaseModel

from isolate.actions.base import (
    AllowEntry,
    BlockSmbItem,
    BlockSmbParams,
    EdgeBlockItem,
    EdgeBlockParams,
    PortMove,
    PortRef,
    QuarantineItem,
    QuarantineParams,
    RevokesVpn,
    RevokeVpnItem,
    SegmentAclItem,
    SegmentAclParams,
    ShutPortItem,
    Svi,
)
from isolate.actions.table import lookup
from isolate.errors import PlanError
from isolate.inventory.models import Device, Host, Inventory, Segment
from isolate.platforms import PLATFORMS
from isolate.playbook.loader import param_error
from isolate.playbook.models import Step
from isolate.playbook.resolve import ResolvedTargets
from isolate.values import IPNetwork

Items = list[tuple[Device, BaseModel]]
Notes = list[str]
Mapped = tuple[Items, Notes]


def _empty(step: Step, what: str) -> PlanError:
    return PlanError(f"{step.where('targets')}: selects no {what} for {step.action}")


def _target_hosts(step: Step, targets: ResolvedTargets, inv: Inventory, notes: Notes) -> list[Host]:
    chosen = {h.name for h in targets.hosts}
    chosen |= {h.name for s in targets.segments for h in inv.hosts_in(s.name)}
    chosen |= {p.host for d in targets.devices for p in d.ports if inv.has_host(p.host)}
    hosts: list[Host] = []
    for host in inv.hosts:
        if host.name not in chosen:
            continue
        if inv.access_port(host.name) is not None:
            hosts.append(host)
        elif host in targets.hosts:
            raise PlanError(
                f"{step.where('targets')}: host {host.name} has no access port in the inventory "
                "(devices[].ports)"
            )
        else:
            notes.append(f"host {host.name} has no access port in the inventory: left as is")
    if not hosts:
        raise _empty(step, "host with an access port")
    return hosts


def _by_switch(hosts: list[Host], inv: Inventory) -> dict[str, list[Host]]:
    grouped: dict[str, list[Host]] = {}
    for host in hosts:
        found = inv.access_port(host.name)
        assert found is not None
        grouped.setdefault(found[0].name, []).append(host)
    return grouped


def quarantine(
    step: Step, params: BaseModel, targets: ResolvedTargets, inv: Inventory
) -> tuple[Items, Notes]:
    assert isinstance(params, QuarantineParams)
    notes: Notes = []
    grouped = _by_switch(_target_hosts(step, targets, inv, notes), inv)
    items: Items = []
    used = inv.segment_of_vlan(params.vlan)
    if used is not None:
        message = f"VLAN {params.vlan} belongs to segment {used.name}: a quarantine VLAN has no segment"
        raise PlanError(param_error(step, "vlan", message))
    for name in sorted(grouped):
        moves = []
        for host in grouped[name]:
            found = inv.access_port(host.name)
            assert found is not None
            vlan = inv.segment_of(host.name).vlan
            moves.append(PortMove(interface=found[1].interface, host=host.name, expected_vlan=vlan))
        item = QuarantineItem(step=step.id, vlan=params.vlan, vlan_name=params.name, ports=tuple(moves))
        items.append((inv.device(name), item))
    return items, notes


def shut_port(step: Step, params: BaseModel, targets: ResolvedTargets, inv: Inventory) -> Mapped:
    notes: Notes = []
    grouped = _by_switch(_target_hosts(step, targets, inv, notes), inv)
    items: Items = []
    for name in sorted(grouped):
        refs = []
        for host in grouped[name]:
            found = inv.access_port(host.name)
            assert found is not None
            refs.append(PortRef(interface=found[1].interface, host=host.name))
        items.append((inv.device(name), ShutPortItem(step=step.id, ports=tuple(refs))))
    return items, notes


def _enforcement(
    step: Step, segments: tuple[Segment, ...], enforce: str, notes: Notes
) -> dict[str, list[Segment]]:
    points: dict[str, list[Segment]] = {}
    for seg in segments:
        where = seg.firewall if enforce in ("auto", "firewall") and seg.firewall else seg.gateway
        if enforce == "firewall" and not seg.firewall:
            raise PlanError(param_error(step, "enforce", f"segment {seg.name} has no firewall"))
        if where is None:
            notes.append(f"segment {seg.name} has no gateway or firewall: nothing to filter on")
            continue
        points.setdefault(where, []).append(seg)
    return points


def _segment_items(
    step: Step,
    targets: ResolvedTargets,
    inv: Inventory,
    enforce: str,
    make: Callable[[tuple[Svi, ...], tuple[str, ...], tuple[IPNetwork, ...]], BaseModel],
) -> tuple[Items, Notes]:
    if len(targets.segments) < 2:
        raise _empty(step, "pair of segments (select at least two)")
    notes: Notes = []
    subnets = tuple(sorted({s.subnet for s in targets.segments}, key=_net_key))
    points = _enforcement(step, targets.segments, enforce, notes)
    items: Items = []
    for name in sorted(points):
        device = inv.device(name)
        segs = points[name]
        svis = tuple(Svi(segment=s.name, vlan=s.vlan) for s in segs if s.gateway == name)
        if PLATFORMS[device.platform].acl_binding == "interface" and not svis:
            raise PlanError(
                f"{step.where('targets')}: {name} is a firewall on IOS: "
                "IOS ACL actions need the segment's gateway"
            )
        items.append((device, make(svis, tuple(s.name for s in segs), subnets)))
    if not items:
        raise _empty(step, "segment with a gateway or firewall")
    return items, notes


def _net_key(net: IPNetwork) -> tuple[int, int, int]:
    return net.version, int(net.network_address), net.prefixlen


def block_smb(step: Step, params: BaseModel, targets: ResolvedTargets, inv: Inventory) -> Mapped:
    assert isinstance(params, BlockSmbParams)
    return _segment_items(
        step,
        targets,
        inv,
        params.enforce,
        lambda svis, segs, nets: BlockSmbItem(step=step.id, svis=svis, segments=segs, subnets=nets),
    )


def _allow_entries(step: Step, params: SegmentAclParams, inv: Inventory) -> tuple[AllowEntry, ...]:
    entries: set[tuple[str, int, str]] = set()
    for index, allow in enumerate(params.allow):
        if allow.service is not None:
            hosts = inv.hosts_with_service(allow.service)
            if not hosts:
                raise PlanError(
                    param_error(
                        step, ("allow", index, "service"), f"no host offers service '{allow.service}'"
                    )
                )
            for host in hosts:
                for svc in host.services:
                    if svc.name == allow.service:
                        net = ipaddress.ip_network(host.address)
                        entries.add((svc.proto, svc.port, str(net)))
        elif allow.port is not None:
            entries.add((allow.proto, allow.port, ""))
        else:
            raise PlanError(param_error(step, ("allow", index), "needs a service or a port"))
    ordered = sorted(entries, key=lambda e: (e[2] == "", e[2], e[0], e[1]))
    return tuple(AllowEntry(proto=proto, port=port, address=addr or None) for proto, port, addr in ordered)


def segment_acl(
    step: Step, params: BaseModel, targets: ResolvedTargets, inv: Inventory
) -> tuple[Items, Notes]:
    assert isinstance(params, SegmentAclParams)
    allow = _allow_entries(step, params, inv)
    sources = []
    for index, name in enumerate(params.allow_from):
        if not inv.has_segment(name):
            raise PlanError(param_error(step, ("allow_from", index), f"no segment '{name}'"))
        sources.append(inv.segment(name).subnet)
    allow_from = tuple(sorted(set(sources), key=_net_key))
    return _segment_items(
        step,
        targets,
        inv,
        params.enforce,
        lambda svis, segs, nets: SegmentAclItem(
            step=step.id, svis=svis, segments=segs, subnets=nets, allow=allow, allow_from=allow_from
        ),
    )


def _devices_or(targets: ResolvedTargets, inv: Inventory, names: tuple[str, ...]) -> list[Device]:
    if targets.devices:
        return list(targets.devices)
    return [inv.device(n) for n in sorted(names)]


def edge_block(
    step: Step, params: BaseModel, targets: ResolvedTargets, inv: Inventory
) -> tuple[Items, Notes]:
    assert isinstance(params, EdgeBlockParams)
    prefixes: set[IPNetwork] = set(params.prefixes)
    prefixes |= {ipaddress.ip_network(h.address) for h in targets.hosts}
    prefixes |= {s.subnet for s in targets.segments}
    if not prefixes:
        raise _empty(step, "address or prefix (select hosts or set params.prefixes)")
    devices = _devices_or(targets, inv, inv.edge.devices)
    if not devices:
        raise _empty(step, "edge device (set edge.devices in the inventory or select devices)")
    ordered = tuple(sorted(prefixes, key=_net_key))
    return [(d, EdgeBlockItem(step=step.id, prefixes=ordered)) for d in devices], []


def revoke_vpn(
    step: Step, params: BaseModel, targets: ResolvedTargets, inv: Inventory
) -> tuple[Items, Notes]:
    users = {u.name for u in targets.users}
    users |= {h.vpn_user for h in targets.hosts if h.vpn_user is not None}
    if not users:
        raise _empty(step, "VPN user")
    devices = _devices_or(targets, inv, inv.vpn.concentrators)
    if not devices:
        raise _empty(step, "VPN concentrator (set vpn.concentrators in the inventory)")
    ordered = tuple(sorted(users))
    directory = tuple(u.name for u in inv.vpn.users if u.auth == "directory" and u.name in users)
    notes = _directory_notes(sorted(directory), devices) if directory else []
    item = RevokeVpnItem(step=step.id, users=ordered, directory=tuple(sorted(directory)))
    return [(d, item) for d in devices], notes


def _directory_notes(names: list[str], devices: list[Device]) -> list[str]:
    """What revoke-vpn does to users a directory authenticates: it depends on the concentrator
    (each action says it), so one note per kind of concentrator the step reaches."""
    by_platform: dict[str, list[str]] = {}
    for device in devices:
        by_platform.setdefault(device.platform, []).append(device.name)
    who = ", ".join(names)
    notes = []
    for platform, hosts in sorted(by_platform.items()):
        action = lookup("revoke-vpn", platform)
        assert isinstance(action, RevokesVpn), platform  # every revoke-vpn action says it
        effect = action.directory_users
        where = f" on {', '.join(hosts)} ({platform})" if len(by_platform) > 1 else ""
        directory = "authenticated by the directory (RADIUS/LDAP/SAML), not on the concentrator"
        notes.append(f"{who}: {directory}{where}: {effect}")
    return notes


MAPPERS: dict[str, Callable[[Step, BaseModel, ResolvedTargets, Inventory], Mapped]] = {
    "quarantine": quarantine,
    "shut-port": shut_port,
    "block-smb": block_smb,
    "segment-acl": segment_acl,
    "edge-block": edge_block,
    "revoke-vpn": revoke_vpn,
}
