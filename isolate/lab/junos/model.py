"""The Junos switch's forwarding as the lab's traffic model reads it (``isolate.lab.flows``),
from the committed configuration, with the same questions the IOS model answers:

- ``interface(name)``: an access port (``unit 0 family ethernet-switching``): its VLAN (the
  first ``vlan members`` resolved through ``vlans NAME vlan-id N``), trunk or access, its
  ``filter input`` (family ethernet-switching), ``disable``;
- ``svi(vlan)``: the routed IRB of VLAN N (the VLAN's ``l3-interface irb.U``, with a
  ``family inet address``, not disabled), with its ``filter input``/``output``;
- ``acl_permits(filter, …)``: Junos filter semantics: terms in order, the first whose
  ``from`` matches decides (``then accept``/``discard``/``reject``; no action: accept), an
  implicit discard after the last term; ``tcp-established`` and ``source-port`` never match a
  connection's first packet;
- ``drops_to(address)``: the most specific static route covering the address is a
  ``discard``/``reject`` route.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from isolate.lab.junos import config as cfg


@dataclass(frozen=True)
class JunosPort:
    name: str
    shutdown: bool
    switchport: bool
    mode: str | None
    access_vlan: int
    acl_in: str | None
    acl_out: str | None = None
    connected: bool = True


def _value(node: cfg.Node | None) -> str | None:
    return node.values[0] if node is not None and node.values else None


def vlan_ids(tree: cfg.Node) -> dict[str, int]:
    vlans = tree.find("vlans")
    out: dict[str, int] = {}
    for name, node in (vlans.children.items() if vlans is not None else []):
        vid = _value(node.find("vlan-id"))
        if vid is not None and vid.isdigit():
            out[name] = int(vid)
    return out


def port(tree: cfg.Node, name: str, connected: bool) -> JunosPort | None:
    iface = tree.find("interfaces", name)
    if iface is None:
        return None
    switching = iface.find("unit 0", "family ethernet-switching")
    disabled = iface.find("disable") is not None
    if switching is None:
        return JunosPort(name, disabled, False, None, 1, None, connected=connected)
    mode = _value(switching.find("interface-mode")) or "access"
    members = switching.find("vlan", "members")
    ids = vlan_ids(tree)
    first = members.values[0] if members is not None and members.values else "default"
    vlan = ids.get(first, int(first) if first.isdigit() else 1)
    return JunosPort(name, disabled, True, mode, vlan, _value(switching.find("filter", "input")),
                     connected=connected)


def irb(tree: cfg.Node, vlan: int) -> JunosPort | None:
    vlans = tree.find("vlans")
    for node in vlans.children.values() if vlans is not None else []:
        if _value(node.find("vlan-id")) != str(vlan):
            continue
        l3 = _value(node.find("l3-interface"))
        if l3 is None or "." not in l3:
            return None
        ifname, unit = l3.split(".", 1)
        unit_node = tree.find("interfaces", ifname, f"unit {unit}")
        inet = unit_node.find("family inet") if unit_node is not None else None
        if inet is None or unit_node is None or unit_node.find("disable") is not None:
            return None
        if not any(k.startswith("address ") for k in inet.children):
            return None
        return JunosPort(l3, False, False, None, vlan, _value(inet.find("filter", "input")),
                         _value(inet.find("filter", "output")))
    return None


def _addresses(node: cfg.Node | None) -> list[ipaddress.IPv4Network]:
    out: list[ipaddress.IPv4Network] = []
    for key in node.children if node is not None else []:
        try:
            out.append(ipaddress.IPv4Network(key, strict=False))
        except ValueError:
            continue
    return out


def _term_matches(term: cfg.Node, proto: str, src: str, dst: str, dport: int | None) -> bool:
    cond = term.find("from")
    if cond is None:
        return True
    if cond.find("tcp-established") is not None or cond.find("source-port") is not None:
        return False
    for key, address in (("source-address", src), ("destination-address", dst)):
        node = cond.find(key)
        if node is not None and not any(ipaddress.IPv4Address(address) in n for n in _addresses(node)):
            return False
    protocols = cond.find("protocol")
    if protocols is not None and proto not in protocols.values:
        return False
    ports = cond.find("destination-port")
    return ports is None or (dport is not None and str(dport) in ports.values)


def filter_permits(tree: cfg.Node, name: str, proto: str, src: str, dst: str,
                   dport: int | None) -> bool:
    found = None
    for family in ("inet", "ethernet-switching"):
        found = tree.find("firewall", f"family {family}", f"filter {name}")
        if found is not None:
            break
    if found is None:
        return True  # a commit check refuses a reference to a missing filter
    for key, term in found.children.items():
        if not key.startswith("term ") or not _term_matches(term, proto, src, dst, dport):
            continue
        then = term.find("then")
        if then is None:
            return True
        return then.find("discard") is None and then.find("reject") is None
    return False


def drops_to(tree: cfg.Node, address: str) -> bool:
    static = tree.find("routing-options", "static")
    ip = ipaddress.IPv4Address(address)
    best: tuple[int, bool] | None = None
    for key, route in (static.children.items() if static is not None else []):
        if not key.startswith("route "):
            continue
        try:
            net = ipaddress.IPv4Network(key.split(" ", 1)[1], strict=False)
        except ValueError:
            continue
        if ip in net and (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, route.find("discard") is not None or route.find("reject") is not None)
    return best is not None and best[1]
