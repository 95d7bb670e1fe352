"""The lab's traffic model: which TCP/UDP connects pass, from every device's current state.

Implements "Reachability model" of docs/design.md on the inventory and the simulated
devices. A flow is (src host, dst host, port, proto) for every host × every service of
another host, plus management flows (each admin station → every device's address, on its
management port: ``Device.mgmt_port``).
A flow passes when, in order:

5. a host of a ``vpn``-zone segment at either end has an active session of its
   ``vpn_user`` on a concentrator (a revoked user's client cannot reconnect);
1. both hosts' access ports are up; a port ACL (``ip access-group X in`` on the access
   port) must permit what the host sends: the request on the source's port, the reply
   on the destination's (matched without ports); each host's effective VLAN is its
   port's access VLAN (its segment's VLAN when it has no access port); same VLAN →
   delivered;
2. otherwise routed: each inside end's VLAN needs an SVI (``interface VlanN`` with an
   address, not shut) on a gateway; the source SVI's ``ip access-group X in`` and the
   destination SVI's ``ip access-group Y out`` must permit; an ``ip route P Null0`` on a
   gateway (or on an IOS edge device) covering either end's address drops the flow —
   no TCP session completes when either direction is dropped. A Junos switch answers the
   same questions (``isolate.lab.junos.model``): the VLAN's IRB unit and its ``family inet
   filter input``/``output``, an access port's ethernet-switching ``filter input``, a
   ``discard`` static route;
3. the ``firewall`` of either end's segment: its nftables ``forward`` hook must accept
   (a FortiGate: its first matching policy, ``FortiGateDevice.permits``);
4. between the ``outside`` zone and any other zone, every edge firewall's ``forward``
   hook (or FortiGate policy) must accept.
Ends in ``vpn`` and ``outside`` zones are routed by the concentrator and the edge, not by
an SVI. Devices sit in the management segment. Pure: no I/O except
``flows_from_state_dir``.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from isolate.inventory.models import Device, Host, Inventory, Segment
from isolate.lab.asa import AsaDevice
from isolate.lab.device import SimDevice
from isolate.lab.fortios import FortiGateDevice
from isolate.lab.ios import IosDevice
from isolate.lab.junos import JunosDevice
from isolate.lab.linux import LinuxDevice
from isolate.lab.nft import Packet, evaluate

MGMT_SERVICE = "ssh-mgmt"
Switch = IosDevice | JunosDevice  # what switches and routes: the same questions of both


@dataclass(frozen=True)
class Flow:
    src: str
    dst: str
    dst_address: str
    port: int
    proto: str
    service: str
    allowed: bool
    reason: str
    management: bool = False


@dataclass(frozen=True)
class FlowMatrix:
    flows: tuple[Flow, ...]

    def to_json(self) -> dict[str, Any]:
        allowed = sum(1 for f in self.flows if f.allowed)
        return {
            "flows": [asdict(f) for f in self.flows],
            "total": len(self.flows),
            "allowed": allowed,
            "blocked": len(self.flows) - allowed,
        }

    def find(self, src: str, dst: str, port: int, proto: str = "tcp") -> Flow | None:
        for flow in self.flows:
            if (flow.src, flow.dst, flow.port, flow.proto) == (src, dst, port, proto):
                return flow
        return None

    def allowed(self, src: str, dst: str, port: int, proto: str = "tcp") -> bool:
        flow = self.find(src, dst, port, proto)
        if flow is None:
            raise KeyError(f"no flow {src} -> {dst}:{port}/{proto}")
        return flow.allowed


@dataclass(frozen=True)
class _End:
    name: str
    address: str
    segment: Segment | None
    vlan: int | None
    port_problem: str | None  # its access port is shut
    host: Host | None
    pacl: tuple[Switch, str, str] | None = None  # (switch, interface, ACL bound in on its port)


class _Model:
    def __init__(self, inventory: Inventory, devices: Mapping[str, SimDevice]) -> None:
        self.inv = inventory
        self.devices = devices
        self.segments = {s.name: s for s in inventory.segments}
        self.gateways = sorted({str(s.gateway) for s in inventory.segments if s.gateway})
        self.svis: dict[int, tuple[Switch, Any] | None] = {}
        self.ports: dict[str, tuple[str, str]] = {}
        for device in inventory.devices:
            for port in device.ports:
                self.ports.setdefault(str(port.host), (device.name, str(port.interface)))

    # -- ends -----------------------------------------------------------------------------
    def host_end(self, host: Host) -> _End:
        segment = self.segments.get(str(host.segment))
        vlan = segment.vlan if segment is not None else None
        problem = None
        pacl = None
        placed = self.ports.get(host.name)
        if placed is not None:
            switch = self.devices.get(placed[0])
            iface = switch.interface(placed[1]) if isinstance(switch, Switch) else None
            if iface is not None and isinstance(switch, Switch):
                if iface.shutdown:
                    problem = f"{placed[0]} {placed[1]} (port of {host.name}) is shut down"
                if iface.switchport and iface.mode != "trunk":
                    vlan = iface.access_vlan
                if iface.switchport and iface.acl_in:
                    pacl = (switch, placed[1], iface.acl_in)
        return _End(host.name, str(host.address), segment, vlan, problem, host, pacl)

    def device_end(self, device: Device) -> _End:
        address = device.mgmt_address
        segment = self._segment_of(address, prefer_zone="management")
        return _End(device.name, address, segment, segment.vlan if segment else None, None, None)

    def _segment_of(self, address: str, *, prefer_zone: str) -> Segment | None:
        ip = ipaddress.ip_address(address)
        found = [s for s in self.inv.segments if ip.version == s.subnet.version and ip in s.subnet]
        found.sort(key=lambda s: s.zone != prefer_zone)
        return found[0] if found else None

    # -- the checks -----------------------------------------------------------------------
    def decide(self, src: _End, dst: _End, port: int, proto: str) -> tuple[bool, str]:
        for end in (src, dst):
            problem = self._vpn_problem(end)
            if problem:
                return False, problem
        for end in (src, dst):
            if end.port_problem:
                return False, end.port_problem
        problem = self._port_acls(src, dst, port, proto)
        if problem:
            return False, problem
        if src.vlan is not None and src.vlan == dst.vlan:
            return True, f"same VLAN {src.vlan}"
        problem, path = self._routed(src, dst, port, proto)
        if problem:
            return False, problem
        problem = self._firewalls(src, dst, port, proto)
        if problem:
            return False, problem
        return True, path

    @staticmethod
    def _port_acls(src: _End, dst: _End, port: int, proto: str) -> str | None:
        for end, other, dport in ((src, dst, port), (dst, src, None)):
            if end.pacl is None:
                continue
            switch, interface, acl = end.pacl
            if not switch.acl_permits(acl, proto, end.address, other.address, dport):
                if isinstance(switch, JunosDevice):
                    return f"{switch.name} {interface} filter input {acl} discards ({end.name})"
                return f"{switch.name} {interface} ip access-group {acl} in denies ({end.name})"
        return None

    def _zone(self, end: _End) -> str:
        return str(end.segment.zone) if end.segment is not None else "outside"

    def _vpn_problem(self, end: _End) -> str | None:
        if end.host is None or self._zone(end) != "vpn":
            return None
        user = end.host.vpn_user
        if user is None:
            return f"{end.name} is a VPN host without a vpn_user"
        for name in self.inv.vpn.concentrators:
            device = self.devices.get(name)
            if isinstance(device, AsaDevice | FortiGateDevice) and str(user) in device.active_users():
                return None
        where = ", ".join(self.inv.vpn.concentrators) or "no concentrator"
        return f"VPN user {user} ({end.name}) has no active session on {where}"

    def _routed(self, src: _End, dst: _End, port: int, proto: str) -> tuple[str | None, str]:
        hops: list[str] = []
        gateways: list[Switch] = []
        for end, direction in ((src, "in"), (dst, "out")):
            if self._zone(end) in ("vpn", "outside"):
                hops.append(f"{self._zone(end)} {end.name}")
                continue
            found = self._svi(end.vlan)
            if found is None:
                return f"no SVI for VLAN {end.vlan} ({end.name}): not routed", ""
            gateway, svi = found
            gateways.append(gateway)
            junos = isinstance(gateway, JunosDevice)
            hops.append(f"{gateway.name} {svi.name if junos else f'Vlan{end.vlan}'}")
            acl = svi.acl_in if direction == "in" else svi.acl_out
            if acl and not gateway.acl_permits(acl, proto, src.address, dst.address, port):
                if junos:
                    way = "input" if direction == "in" else "output"
                    return f"{gateway.name} {svi.name} filter {way} {acl} discards", ""
                return f"{gateway.name} Vlan{end.vlan} ip access-group {acl} {direction} denies", ""
        for name in self.inv.edge.devices:
            edge = self.devices.get(name)
            if isinstance(edge, Switch):
                gateways.append(edge)
        for gateway in gateways:
            for end in (src, dst):
                if ipaddress.ip_address(end.address).version == 4 and gateway.drops_to(end.address):
                    return f"{gateway.name} routes {end.address} ({end.name}) to {_drop(gateway)}", ""
        return None, "routed " + " -> ".join(hops)

    def _svi(self, vlan: int | None) -> tuple[Switch, Any] | None:
        """The SVI of ``vlan`` on its segment's gateway, else on any gateway of the inventory."""
        if vlan is None:
            return None
        if vlan not in self.svis:
            own = [str(s.gateway) for s in self.inv.segments if s.vlan == vlan and s.gateway]
            self.svis[vlan] = None
            for name in [*own, *self.gateways]:
                device = self.devices.get(name)
                svi = device.svi(vlan) if isinstance(device, Switch) else None
                if isinstance(device, Switch) and svi is not None:
                    self.svis[vlan] = (device, svi)
                    break
        return self.svis[vlan]

    def _firewalls(self, src: _End, dst: _End, port: int, proto: str) -> str | None:
        names: list[str] = []
        for end in (src, dst):
            if end.segment is not None and end.segment.firewall and end.segment.firewall not in names:
                names.append(str(end.segment.firewall))
        if (self._zone(src) == "outside") != (self._zone(dst) == "outside"):
            names += [str(n) for n in self.inv.edge.devices if n not in names]
        packet = Packet(proto, src.address, dst.address, dport=port)
        for name in names:
            device = self.devices.get(name)
            if isinstance(device, FortiGateDevice):
                accepted, why = device.permits(proto, src.address, dst.address, port)
                if not accepted:
                    return f"{name} {why} denies"
                continue
            if not isinstance(device, LinuxDevice):
                continue
            decision = evaluate(device.ruleset, "forward", packet)
            if not decision.accepted:
                return f"{name} nft {decision.describe()}"
        return None


def _drop(gateway: Switch) -> str:
    return "a discard route" if isinstance(gateway, JunosDevice) else "Null0"


def compute_flows(inventory: Inventory, devices: Mapping[str, SimDevice]) -> FlowMatrix:
    """Every flow of the inventory and whether it passes, in a deterministic order."""
    model = _Model(inventory, devices)
    hosts = sorted(inventory.hosts, key=lambda h: h.name)
    ends = {h.name: model.host_end(h) for h in hosts}
    flows: list[Flow] = []
    for src in hosts:
        for dst in hosts:
            if dst.name == src.name:
                continue
            for service in sorted(dst.services, key=lambda s: (s.port, s.proto, s.name)):
                port, proto = int(service.port), str(service.proto)
                ok, reason = model.decide(ends[src.name], ends[dst.name], port, proto)
                flows.append(
                    Flow(src.name, dst.name, str(dst.address), port, proto, str(service.name), ok, reason)
                )
    flows += _management(model, inventory, ends)
    return FlowMatrix(tuple(flows))


def _management(model: _Model, inventory: Inventory, ends: Mapping[str, _End]) -> Iterable[Flow]:
    for station in sorted(str(s) for s in inventory.management.stations):
        src = ends.get(station)
        if src is None:
            continue
        for device in sorted(inventory.devices, key=lambda d: d.name):
            dst = model.device_end(device)
            port = device.mgmt_port
            ok, reason = model.decide(src, dst, port, "tcp")
            yield Flow(station, device.name, dst.address, port, "tcp", MGMT_SERVICE, ok, reason, True)


# -- the lab's persisted state ----------------------------------------------------------------


def flows_from_state_dir(state_dir: Path | str) -> FlowMatrix:
    """The flow matrix of a lab from its state dir (inventory.yml + devices/*.json)."""
    from isolate.inventory import load_inventory
    from isolate.lab.process import load_lab

    state = Path(state_dir).expanduser()
    inventory = load_inventory(state / "inventory.yml")
    _, devices = load_lab(state)
    return compute_flows(inventory, devices)


def render_table(matrix: FlowMatrix) -> str:
    rows = [("SRC", "DST", "ADDRESS", "PORT", "SERVICE", "VERDICT", "REASON")]
    for f in matrix.flows:
        verdict = "pass" if f.allowed else "BLOCKED"
        rows.append((f.src, f.dst, f.dst_address, f"{f.port}/{f.proto}", f.service, verdict, f.reason))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:6])) + "  " + row[6] for row in rows
    ]
    summary = matrix.to_json()
    lines.append(f"{summary['total']} flows: {summary['allowed']} pass, {summary['blocked']} blocked")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render_flows(state_dir: Path | str, as_json: bool) -> str:
    """What ``isolate lab flows`` prints."""
    matrix = flows_from_state_dir(state_dir)
    if as_json:
        return json.dumps(matrix.to_json(), indent=2, sort_keys=True) + "\n"
    return render_table(matrix)
