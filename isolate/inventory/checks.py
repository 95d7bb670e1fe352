"""Cross-reference checks on a parsed inventory, each problem at the referring field."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from isolate.inventory.broker import NEEDS_CA
from isolate.inventory.models import Inventory
from isolate.platforms import PLATFORMS as PLATFORM_TABLE
from isolate.values import BadValue, parse_interface
from isolate.yamlsrc import LineMap, Loc, Problem, did_you_mean

_Check = Callable[[Inventory, "_Ctx"], None]


class _Ctx:
    def __init__(self, lines: LineMap) -> None:
        self.lines = lines
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(self.lines.problem(loc, message))

    def where(self, loc: Loc, seen_from: Loc) -> str:
        """``line N`` when ``loc`` is in the same file as ``seen_from``, else ``file:N``."""
        index, line = self.lines.locate(loc)
        if not self.lines.files or index == self.lines.locate(seen_from)[0]:
            return f"line {line}"
        return f"{self.lines.files[index]}:{line}"

    def ref(self, loc: Loc, what: str, name: str, known: Collection[str]) -> None:
        """Report ``name`` at ``loc`` unless it is one of ``known``."""
        if name not in known:
            self.add(loc, f"unknown {what} '{name}'{did_you_mean(name, sorted(known))}")


def _unique(ctx: _Ctx, section: Loc, what: str, names: Sequence[str]) -> None:
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first:
            here = (*section, i, "name")
            where = ctx.where((*section, first[name], "name"), here)
            ctx.add(here, f"duplicate {what} '{name}' (first at {where})")
        else:
            first[name] = i


def _names(inv: Inventory, ctx: _Ctx) -> None:
    _unique(ctx, ("devices",), "device", [d.name for d in inv.devices])
    _unique(ctx, ("hosts",), "host", [h.name for h in inv.hosts])
    _unique(ctx, ("segments",), "segment", [s.name for s in inv.segments])
    _unique(ctx, ("groups",), "group", [g.name for g in inv.groups])
    _unique(ctx, ("sources",), "source", [s.name for s in inv.sources])
    taken = {**{s.name: "segment" for s in inv.segments}, **{h.name: "host" for h in inv.hosts}}
    for i, src in enumerate(inv.sources):
        if src.name in taken:
            ctx.add(("sources", i, "name"), f"source '{src.name}' is already the name of a {taken[src.name]}")
    _unique(ctx, ("vpn", "users"), "VPN user", [u.name for u in inv.vpn.users])
    _unique(ctx, ("vpn", "groups"), "VPN group", [g.name for g in inv.vpn.groups])


def _needs_vlan(zone: str, gateway: str | None, plugged: bool) -> str | None:
    """Why a segment must have a VLAN, or None (outside, a VPN pool: nothing switches them)."""
    if zone in ("inside", "management"):
        return f"a switched ({zone}) segment"
    if gateway is not None:
        return f"its gateway {gateway} holds its SVI"
    if plugged:
        return "a host of it is plugged into an access port"
    return None


def _segments(inv: Inventory, ctx: _Ctx) -> None:
    devices = {d.name for d in inv.devices}
    seen_vlan: dict[int, str] = {}
    plugged = {inv.host(p.host).segment for d in inv.devices for p in d.ports if inv.has_host(p.host)}
    for i, seg in enumerate(inv.segments):
        if seg.vlan is None:
            why = _needs_vlan(seg.zone, seg.gateway, seg.name in plugged)
            if why:
                ctx.add(("segments", i), f"segment '{seg.name}' needs a vlan: {why}")
            continue
        if seg.vlan in seen_vlan:
            used = seen_vlan[seg.vlan]
            ctx.add(("segments", i, "vlan"), f"VLAN {seg.vlan} already used by segment '{used}'")
        seen_vlan.setdefault(seg.vlan, seg.name)
        if seg.gateway is not None:
            ctx.ref(("segments", i, "gateway"), "device", seg.gateway, devices)
        if seg.firewall is not None:
            ctx.ref(("segments", i, "firewall"), "device", seg.firewall, devices)
        for other in inv.segments[:i]:
            if seg.subnet.version == other.subnet.version and seg.subnet.overlaps(other.subnet):
                ctx.add(
                    ("segments", i, "subnet"),
                    f"{seg.subnet} overlaps segment '{other.name}' ({other.subnet})",
                )


def _hosts(inv: Inventory, ctx: _Ctx) -> None:
    segments = {s.name: s for s in inv.segments}
    users = {u.name for u in inv.vpn.users}
    first: dict[object, int] = {}
    for i, host in enumerate(inv.hosts):
        if host.address in first:
            j = first[host.address]
            where = ctx.where(("hosts", j, "address"), ("hosts", i, "address"))
            ctx.add(
                ("hosts", i, "address"),
                f"{host.address} is already the address of host '{inv.hosts[j].name}' ({where})",
            )
        first.setdefault(host.address, i)
        seg = segments.get(host.segment)
        if seg is None:
            ctx.ref(("hosts", i, "segment"), "segment", host.segment, segments)
        elif host.address not in seg.subnet:
            ctx.add(
                ("hosts", i, "address"),
                f"{host.address} is not in segment '{seg.name}' ({seg.subnet})",
            )
        if host.vpn_user is not None:
            ctx.ref(("hosts", i, "vpn_user"), "VPN user", host.vpn_user, users)


def _devices(inv: Inventory, ctx: _Ctx) -> None:
    hosts = {h.name for h in inv.hosts}
    groups = {g.name for g in inv.groups}
    for i, dev in enumerate(inv.devices):
        if dev.credentials is not None:
            ctx.ref(("devices", i, "credentials"), "credential set", dev.credentials, inv.credentials)
        for j, group in enumerate(dev.groups):
            ctx.ref(("devices", i, "groups", j), "group", group, groups)
        seen: set[str] = set()
        for j, port in enumerate(dev.ports):
            loc = ("devices", i, "ports", j)
            ctx.ref((*loc, "host"), "host", port.host, hosts)
            try:
                parse_interface(port.interface, dev.platform)
            except BadValue as exc:
                ctx.add((*loc, "interface"), f"{exc} (platform {dev.platform})")
            if port.interface in seen:
                ctx.add((*loc, "interface"), f"duplicate port {port.interface} on {dev.name}")
            seen.add(port.interface)


def _refs(inv: Inventory, ctx: _Ctx) -> None:
    devices = {d.name for d in inv.devices}
    hosts = {h.name for h in inv.hosts}
    segments = {s.name for s in inv.segments}
    services = {s.name for h in inv.hosts for s in h.services}
    for j, name in enumerate(inv.management.stations):
        ctx.ref(("management", "stations", j), "host", name, hosts)
    for j, name in enumerate(inv.protected.hosts):
        ctx.ref(("protected", "hosts", j), "host", name, hosts)
    for j, name in enumerate(inv.protected.segments):
        ctx.ref(("protected", "segments", j), "segment", name, segments)
    for j, entry in enumerate(inv.protected.services):
        ctx.ref(("protected", "services", j), "service", entry.service, services)
        for k, host in enumerate(entry.hosts):
            ctx.ref(("protected", "services", j, "hosts", k), "host", host, hosts)
        for k, segment in enumerate(entry.segments):
            ctx.ref(("protected", "services", j, "segments", k), "segment", segment, segments)
    for j, name in enumerate(inv.vpn.concentrators):
        ctx.ref(("vpn", "concentrators", j), "device", name, devices)
    for j, name in enumerate(inv.edge.devices):
        ctx.ref(("edge", "devices", j), "device", name, devices)
    for j, name in enumerate(inv.directory.devices):
        ctx.ref(("directory", "devices", j), "device", name, devices)
    vpn_groups = {g.name for g in inv.vpn.groups}
    for j, user in enumerate(inv.vpn.users):
        if user.group is not None:
            ctx.ref(("vpn", "users", j, "group"), "VPN group", user.group, vpn_groups)


# session families whose transports open jump-host chains (isolate/drivers/jump.py)
JUMP_FAMILIES = ("cli", "nft", "ovs", "wireguard", "netconf")


def _jumps(inv: Inventory, ctx: _Ctx) -> None:
    _unique(ctx, ("jump_hosts",), "jump host", [j.name for j in inv.jump_hosts])
    devices = {d.name for d in inv.devices}
    jumps = {j.name for j in inv.jump_hosts}
    for i, jump in enumerate(inv.jump_hosts):
        if jump.name in devices:
            ctx.add(("jump_hosts", i, "name"), f"jump host '{jump.name}' is already the name of a device")
        ctx.ref(("jump_hosts", i, "credentials"), "credential set", jump.credentials, inv.credentials)
    paths: list[tuple[str, int, tuple[str, ...]]] = [
        *(("devices", i, d.via or ()) for i, d in enumerate(inv.devices)),
        *(("groups", i, g.via or ()) for i, g in enumerate(inv.groups)),
        *(("segments", i, s.via or ()) for i, s in enumerate(inv.segments)),
    ]
    for section, i, via in paths:
        for j, hop in enumerate(via):
            ctx.ref((section, i, "via", j), "jump host", hop, jumps)
            if hop in via[:j]:
                ctx.add((section, i, "via", j), f"jump host '{hop}' twice in one path")
    for i in range(len(inv.devices)):
        _device_path(inv, ctx, i)


def _device_path(inv: Inventory, ctx: _Ctx, i: int) -> None:
    """A device's path: one answer from its groups, and a platform whose transport can jump."""
    dev = inv.devices[i]
    if dev.via is None:
        paths = {g.via for g in inv.groups if g.name in dev.groups and g.via is not None}
        if len(paths) > 1:
            given = "; ".join(sorted(" → ".join(p) for p in paths))
            ctx.add(
                ("devices", i, "groups"),
                f"{dev.name}: its groups give different jump paths ({given}); set 'via' on the device",
            )
    family = PLATFORM_TABLE[dev.platform].session
    if inv.via_of(dev) and family not in JUMP_FAMILIES:
        loc = ("devices", i, "via") if dev.via else ("devices", i, "platform")
        ctx.add(loc, f"{dev.name}: platform {dev.platform} cannot be reached through jump hosts (via)")


def _sites(inv: Inventory, ctx: _Ctx) -> None:
    for i, dev in enumerate(inv.devices):
        loc = ("devices", i, "site")
        if dev.site is not None and inv.broker is None:
            ctx.add(loc, f"{dev.name}: site '{dev.site}' needs a broker (top-level 'broker')")
        if dev.site is not None and PLATFORM_TABLE[dev.platform].session not in SITE_FAMILIES:
            ctx.add(loc, f"{dev.name}: platform {dev.platform} cannot be driven by a site worker")


def _broker(inv: Inventory, ctx: _Ctx) -> None:
    """rediss:// needs the CA; a client certificate and its key go together, over TLS only."""
    broker = inv.broker
    if broker is None:
        return
    tls = broker.url.startswith("rediss://")
    if tls and broker.ca_file is None:
        ctx.add(("broker", "url"), NEEDS_CA)
    if broker.cert_file is not None and broker.key_file is None:
        ctx.add(("broker", "cert_file"), "a client certificate needs its key: set key_file too")
    if broker.key_file is not None and broker.cert_file is None:
        ctx.add(("broker", "key_file"), "a client key needs its certificate: set cert_file too")
    if not tls and (broker.cert_file is not None or broker.key_file is not None):
        field = "cert_file" if broker.cert_file is not None else "key_file"
        ctx.add(("broker", field), "a client certificate is for TLS only: the url must be rediss://")


# session families a site worker drives (isolate/sites/worker.py)
SITE_FAMILIES = ("cli", "nft", "ovs", "wireguard")

_CHECKS: tuple[_Check, ...] = (_names, _segments, _hosts, _devices, _refs, _jumps, _sites, _broker)


def cross_check(inventory: Inventory, lines: LineMap) -> list[Problem]:
    """Every dangling reference, duplicate and inconsistency, located."""
    ctx = _Ctx(lines)
    for check in _CHECKS:
        check(inventory, ctx)
    return ctx.problems
