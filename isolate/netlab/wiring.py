"""The lab's wiring, computed from a topology (pure): namespaces, veth links, addresses.

Every interface name fits Linux's 15 characters: hosts ``eth0``; switch ports
``p-<host>`` (hosts), ``r-v<vlan>`` (router), ``m-<device>`` (management legs);
router ``v<vlan>``, ``to-edge``, ``to-vpn``; edge ``mgmt0``, ``inside0``, ``to-vpn``,
``x-<host>`` (outside links); VPN gateway ``mgmt0``, ``inside0``, ``outside0``, ``wg0``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from isolate.netlab.topology import Topology

RANGE_ROUTES = ("10.99.0.0/16", "100.64.0.0/10")


@dataclass(frozen=True)
class Link:
    a: str  # node name
    a_if: str
    b: str
    b_if: str


@dataclass
class NodeConfig:
    """What one namespace gets: addresses, routes, and which interfaces face OVS."""

    name: str
    kind: str  # switch | router | edge | vpn | host | outside | vpn-client
    addresses: list[tuple[str, str]] = field(default_factory=list)  # (iface, cidr)
    routes: list[str] = field(default_factory=list)  # "PREFIX via GW" / "PREFIX dev IF"
    ovs_facing: list[str] = field(default_factory=list)  # tx checksum offload off
    forward: bool = False


@dataclass(frozen=True)
class Wiring:
    nodes: dict[str, NodeConfig]
    links: tuple[Link, ...]
    switch_ports: tuple[tuple[str, int], ...]  # (port, vlan) on the OVS bridge
    host_ports: dict[str, str]  # host -> switch port


def _cidr(addr: ipaddress.IPv4Address, net: ipaddress.IPv4Network) -> str:
    return f"{addr}/{net.prefixlen}"


def _nth(net: ipaddress.IPv4Network, n: int) -> ipaddress.IPv4Address:
    return net.network_address + n


def _slash24(addr: ipaddress.IPv4Address) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{addr}/24", strict=False)


def wire(topo: Topology) -> Wiring:
    mgmt = topo.management
    nodes: dict[str, NodeConfig] = {}
    links: list[Link] = []
    ports: list[tuple[str, int]] = []
    host_ports: dict[str, str] = {}
    sw, rt, edge, vpn = topo.switch.name, topo.router.name, topo.edge.name, topo.vpn.name

    nodes[sw] = NodeConfig(sw, "switch")
    router = nodes[rt] = NodeConfig(rt, "router", forward=True)
    for seg in topo.segments:
        iface = f"v{seg.vlan}"
        links.append(Link(rt, iface, sw, f"r-v{seg.vlan}"))
        ports.append((f"r-v{seg.vlan}", seg.vlan))
        router.addresses.append((iface, _cidr(seg.gateway, seg.subnet)))
        router.ovs_facing.append(iface)

    re_net, rv_net, ev_net = topo.links.router_edge, topo.links.router_vpn, topo.links.edge_vpn
    links += [Link(rt, "to-edge", edge, "inside0"), Link(rt, "to-vpn", vpn, "inside0")]
    router.addresses += [
        ("to-edge", _cidr(_nth(re_net, 1), re_net)),
        ("to-vpn", _cidr(_nth(rv_net, 1), rv_net)),
    ]
    router.routes += [f"100.64.0.0/10 via {_nth(re_net, 2)}", f"{topo.vpn.tunnel} via {_nth(rv_net, 2)}"]

    edge_cfg = nodes[edge] = NodeConfig(edge, "edge", forward=True)
    vpn_cfg = nodes[vpn] = NodeConfig(vpn, "vpn", forward=True)
    for dev, cfg in ((topo.edge, edge_cfg), (topo.vpn, vpn_cfg)):
        links.append(Link(dev.name, "mgmt0", sw, f"m-{dev.name}"))
        ports.append((f"m-{dev.name}", mgmt.vlan))
        cfg.addresses.append(("mgmt0", _cidr(dev.address, mgmt.subnet)))
        cfg.ovs_facing.append("mgmt0")
    links.append(Link(edge, "to-vpn", vpn, "outside0"))
    edge_cfg.addresses += [
        ("inside0", _cidr(_nth(re_net, 2), re_net)),
        ("to-vpn", _cidr(_nth(ev_net, 1), ev_net)),
    ]
    edge_cfg.routes.append(f"10.99.0.0/16 via {_nth(re_net, 1)}")
    vpn_cfg.addresses += [
        ("inside0", _cidr(_nth(rv_net, 2), rv_net)),
        ("outside0", _cidr(_nth(ev_net, 2), ev_net)),
    ]
    vpn_cfg.routes += [f"10.99.0.0/16 via {_nth(rv_net, 1)}", f"100.64.0.0/10 via {_nth(ev_net, 1)}"]

    for host in topo.hosts:
        seg = topo.segment(host.segment)
        port = f"p-{host.name}"
        links.append(Link(host.name, "eth0", sw, port))
        ports.append((port, seg.vlan))
        host_ports[host.name] = port
        nodes[host.name] = NodeConfig(
            host.name,
            "host",
            addresses=[("eth0", _cidr(host.address, seg.subnet))],
            routes=[f"{r} via {seg.gateway}" for r in RANGE_ROUTES],
            ovs_facing=["eth0"],
        )

    outside = [(o.name, o.address, "outside") for o in topo.outside]
    outside += [(u.host, u.public, "vpn-client") for u in topo.vpn_users]
    for name, addr, kind in outside:
        net = _slash24(addr)
        links.append(Link(edge, f"x-{name}", name, "eth0"))
        edge_cfg.addresses.append((f"x-{name}", _cidr(_nth(net, 1), net)))
        nodes[name] = NodeConfig(
            name, kind, addresses=[("eth0", _cidr(addr, net))], routes=[f"100.64.0.0/10 via {_nth(net, 1)}"]
        )
        if kind == "outside":
            nodes[name].routes.append(f"10.99.0.0/16 via {_nth(net, 1)}")
    return Wiring(nodes, tuple(links), tuple(ports), host_ports)
