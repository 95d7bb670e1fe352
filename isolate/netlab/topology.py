"""The network lab's topology file (``isolate/netlab/topologies/city.yml``).

One Open vSwitch switch carries every inside segment as an 802.1Q VLAN (access ports
``tag=N``); one Linux router/internal firewall has one access port per VLAN and is
every segment's gateway (the ``.1`` of its subnet); the edge firewall joins the inside
to the outside (``100.64.0.0/10``); the VPN gateway runs WireGuard for the VPN users.
Every managed device has a leg in the management VLAN, where its sshd listens.

Transit links are fixed by the lab (see ``Links``); every address must lie inside
``ranges``, which the leak guard on every router lets through and nothing else.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from isolate.errors import TopologyError
from isolate.values import Name, Port, ServiceName, UserName, VlanId

DEFAULT_TOPOLOGY = Path(__file__).parent / "topologies" / "city.yml"
MAX_HOST_NAME = 13  # "p-" + name must fit a 15-character interface name


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Service(_Model):
    name: ServiceName
    port: Port


class Device(_Model):
    name: Name
    address: ipaddress.IPv4Address  # management address (in the management segment)


class VpnGateway(Device):
    tunnel: ipaddress.IPv4Network  # wg0 of the gateway takes the first address
    listen_port: Port = 51820


class Segment(_Model):
    name: Name
    vlan: VlanId
    subnet: ipaddress.IPv4Network
    zone: Literal["inside", "management"] = "inside"
    criticality: Literal["low", "medium", "high", "critical"] = "medium"

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return next(self.subnet.hosts())


class Host(_Model):
    name: Name
    segment: Name
    address: ipaddress.IPv4Address
    services: tuple[Service, ...] = ()
    tags: tuple[Name, ...] = ()


class OutsideHost(_Model):
    """A host beyond the edge; it gets its own /24 link to the edge (edge = ``.1``)."""

    name: Name
    address: ipaddress.IPv4Address
    services: tuple[Service, ...] = ()
    tags: tuple[Name, ...] = ()


class VpnUser(_Model):
    """A remote user: own namespace, wireguard-go client, underlay link to the edge."""

    name: UserName
    host: Name  # the client's host name in the inventory (vpn-alice)
    group: Name
    address: ipaddress.IPv4Address  # tunnel address
    public: ipaddress.IPv4Address  # underlay address beyond the edge (edge = .1 of its /24)


class Links(_Model):
    router_edge: ipaddress.IPv4Network = ipaddress.IPv4Network("10.99.250.0/30")
    router_vpn: ipaddress.IPv4Network = ipaddress.IPv4Network("10.99.251.0/30")
    edge_vpn: ipaddress.IPv4Network = ipaddress.IPv4Network("100.64.0.0/30")


class Protected(_Model):
    hosts: tuple[Name, ...] = ()
    services: tuple[ServiceName, ...] = ()
    segments: tuple[Name, ...] = ()


class Topology(_Model):
    version: Literal[1]
    name: Name
    ranges: tuple[ipaddress.IPv4Network, ...] = (
        ipaddress.IPv4Network("10.99.0.0/16"),
        ipaddress.IPv4Network("100.64.0.0/10"),
    )
    quarantine_vlan: VlanId = 999
    switch: Device
    router: Device
    edge: Device
    vpn: VpnGateway
    links: Links = Field(default_factory=Links)
    segments: tuple[Segment, ...]
    hosts: tuple[Host, ...]
    outside: tuple[OutsideHost, ...] = ()
    vpn_users: tuple[VpnUser, ...] = ()
    stations: tuple[Name, ...] = ()
    protected: Protected = Field(default_factory=Protected)

    @cached_property
    def management(self) -> Segment:
        return next(s for s in self.segments if s.zone == "management")

    def segment(self, name: str) -> Segment:
        return next(s for s in self.segments if s.name == name)

    @cached_property
    def hosts_by_name(self) -> dict[str, Host]:
        return {h.name: h for h in self.hosts}

    @property
    def devices(self) -> tuple[Device, ...]:
        return (self.switch, self.router, self.edge, self.vpn)

    @model_validator(mode="after")
    def _consistent(self) -> Topology:
        problems = [*_check_segments(self), *_check_addresses(self), *_check_names(self)]
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _check_segments(topo: Topology) -> list[str]:
    problems: list[str] = []
    mgmt = [s for s in topo.segments if s.zone == "management"]
    if len(mgmt) != 1:
        problems.append(f"exactly one management segment needed, found {len(mgmt)}")
    vlans = [s.vlan for s in topo.segments]
    if len(set(vlans)) != len(vlans) or topo.quarantine_vlan in vlans:
        problems.append("segment VLANs must be distinct and differ from quarantine_vlan")
    if mgmt and topo.router.address != mgmt[0].gateway:
        problems.append(f"router.address must be {mgmt[0].gateway} (.1 of the management subnet)")
    names = {s.name for s in topo.segments}
    problems += [f"host {h.name}: unknown segment {h.segment}" for h in topo.hosts if h.segment not in names]
    return problems


def _check_addresses(topo: Topology) -> list[str]:
    def inside(addr: ipaddress.IPv4Address | ipaddress.IPv4Network) -> bool:
        net = ipaddress.IPv4Network(addr)
        return any(net.subnet_of(r) for r in topo.ranges)

    problems: list[str] = []
    named: list[tuple[str, ipaddress.IPv4Address | ipaddress.IPv4Network]] = [
        *((f"segment {s.name}", s.subnet) for s in topo.segments),
        *((f"host {h.name}", h.address) for h in topo.hosts),
        *((f"outside {h.name}", h.address) for h in topo.outside),
        *((f"vpn user {u.name}", u.address) for u in topo.vpn_users),
        *((f"vpn user {u.name} public", u.public) for u in topo.vpn_users),
        *((f"device {d.name}", d.address) for d in topo.devices),
        ("vpn tunnel", topo.vpn.tunnel),
        *((f"link {k}", v) for k, v in topo.links.model_dump().items()),
    ]
    problems += [f"{what}: {addr} is outside the lab ranges" for what, addr in named if not inside(addr)]
    subnets = {s.name: s.subnet for s in topo.segments}
    for host in topo.hosts:
        if host.segment in subnets and host.address not in subnets[host.segment]:
            problems.append(f"host {host.name}: {host.address} not in {subnets[host.segment]}")
    for user in topo.vpn_users:
        if user.address not in topo.vpn.tunnel:
            problems.append(f"vpn user {user.name}: {user.address} not in {topo.vpn.tunnel}")
    return problems


def _check_names(topo: Topology) -> list[str]:
    names = [
        *(d.name for d in topo.devices),
        *(h.name for h in topo.hosts),
        *(h.name for h in topo.outside),
        *(u.host for u in topo.vpn_users),
    ]
    problems = [f"name {n} used twice" for n in sorted({n for n in names if names.count(n) > 1})]
    problems += [f"name {n}: at most {MAX_HOST_NAME} characters" for n in names if len(n) > MAX_HOST_NAME]
    known = {h.name for h in topo.hosts}
    problems += [f"station {s}: not a host" for s in topo.stations if s not in known]
    return problems


def load_topology(path: Path | None = None) -> Topology:
    """Read and validate a topology file; TopologyError naming the file and field."""
    import yaml

    source = path or DEFAULT_TOPOLOGY
    try:
        data = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TopologyError(f"{source}: {exc}") from None
    try:
        return Topology.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{source}: {'.'.join(str(p) for p in err['loc']) or 'topology'}: {err['msg']}"
            for err in exc.errors()[:20]
        ]
        raise TopologyError(problems[0], problems) from None
