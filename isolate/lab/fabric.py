"""The lab's wiring: which host is plugged into which switch port, and which switch port
faces which other switch. Switches answer ARP, MAC-table, CDP and LLDP queries from it,
so that an address can be located the way the field does it (IP -> ARP on the gateway ->
MAC -> MAC table of the edge switch -> port) and always agrees with the topology.

A host can be moved to another port while the lab runs (``isolate lab move-host``); the
moves are kept in ``STATE/fabric.json`` so a restarted lab keeps them. Which VLAN a host's
MAC is learned in is read from the edge port's live configuration (a quarantined port
moves it to the quarantine VLAN; a shut or unplugged port forgets it).

Nothing here does I/O except ``load_moves``/``save_moves``.
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

FABRIC_FILE = "fabric.json"
HOST_OUI = 0x005056  # the address block the lab's hosts get their MACs from
SWITCH_OUI = 0x0C75BD


def dotted(mac: int) -> str:
    """48-bit integer -> ``0050.5612.3456`` (IOS notation)."""
    text = f"{mac:012x}"
    return f"{text[0:4]}.{text[4:8]}.{text[8:12]}"


def host_mac(name: str) -> str:
    return dotted(HOST_OUI << 24 | zlib.crc32(b"host:" + name.encode()) & 0xFFFFFF)


def base_mac(device: str) -> int:
    """A switch's base MAC: its ports count up from it, its SVIs share base + 0x40."""
    return SWITCH_OUI << 24 | zlib.crc32(b"dev:" + device.encode()) & 0xFFFF00


def svi_mac(device: str) -> str:
    return dotted(base_mac(device) + 0x40)


def port_mac(device: str, index: int) -> str:
    return dotted(base_mac(device) + 1 + index % 0x3F)


class PortView(Protocol):
    """What the fabric reads of a switch port's live configuration."""

    shutdown: bool
    switchport: bool
    mode: str | None
    access_vlan: int


class SwitchView(Protocol):
    def interface(self, name: str) -> PortView | None: ...


@dataclass(frozen=True)
class Peer:
    """A switch-to-switch link seen from one end."""

    port: str
    device: str
    peer_port: str


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    model: str
    address: str
    kind: str


@dataclass
class Placed:
    """A host and where it is plugged in now."""

    name: str
    address: str
    mac: str
    vlan: int  # its segment's VLAN (the VLAN its address belongs to)
    switch: str
    port: str


@dataclass(frozen=True)
class Gateway:
    device: str
    vlan: int
    address: str


@dataclass(frozen=True)
class ArpEntry:
    address: str
    mac: str
    vlan: int
    age: int  # minutes; -1 for the device's own address


@dataclass(frozen=True)
class MacEntry:
    vlan: int
    mac: str
    port: str


class MoveError(ValueError):
    """A host move the lab refuses (unknown host, device, port; a trunk port)."""


@dataclass
class Fabric:
    devices: dict[str, DeviceInfo] = field(default_factory=dict)
    hosts: dict[str, Placed] = field(default_factory=dict)
    links: dict[str, list[Peer]] = field(default_factory=dict)
    gateways: list[Gateway] = field(default_factory=list)
    switches: dict[str, SwitchView] = field(default_factory=dict)  # live devices (lab process)
    home: dict[str, tuple[str, str]] = field(default_factory=dict)  # topology placement

    # ------------------------------------------------------------ building

    def link(self, a: str, a_port: str, b: str, b_port: str) -> None:
        self.links.setdefault(a, []).append(Peer(a_port, b, b_port))
        self.links.setdefault(b, []).append(Peer(b_port, a, a_port))

    def place(self, host: Placed) -> None:
        self.hosts[host.name] = host
        self.home[host.name] = (host.switch, host.port)

    def attach(self, name: str, switch: SwitchView) -> None:
        self.switches[name] = switch

    # ------------------------------------------------------------ moves

    def moves(self) -> dict[str, list[str]]:
        return {h.name: [h.switch, h.port] for h in self.hosts.values()
                if (h.switch, h.port) != self.home.get(h.name)}

    def apply_moves(self, moves: dict[str, list[str]]) -> None:
        for name, (switch, port) in moves.items():
            if name in self.hosts:
                self.hosts[name].switch, self.hosts[name].port = switch, port

    def check_move(self, host: str, device: str, port: str) -> Placed:
        placed = self.hosts.get(host)
        if placed is None:
            raise MoveError(f"move-host: no host {host!r} plugged into a switch "
                            f"(known: {', '.join(sorted(self.hosts)) or 'none'})")
        if device not in self.devices or self.devices[device].kind != "cisco_ios":
            raise MoveError(f"move-host: no switch {device!r} in the lab")
        if any(p.port == port for p in self.links.get(device, [])):
            raise MoveError(f"move-host: {device} {port} is an uplink to another switch")
        other = next((h for h in self.hosts.values()
                      if h.switch == device and h.port == port and h.name != host), None)
        if other is not None:
            raise MoveError(f"move-host: {device} {port} already has {other.name} plugged in")
        return placed

    def move(self, host: str, device: str, port: str) -> tuple[str, str]:
        """Plug ``host`` into ``device`` ``port``; returns where it was."""
        placed = self.check_move(host, device, port)
        before = (placed.switch, placed.port)
        placed.switch, placed.port = device, port
        return before

    def occupied(self, device: str) -> set[str]:
        """Ports of ``device`` with a host or a switch at the other end."""
        ports = {h.port for h in self.hosts.values() if h.switch == device}
        return ports | {p.port for p in self.links.get(device, [])}

    # ------------------------------------------------------------ queries

    def neighbours(self, device: str) -> list[Peer]:
        return sorted(self.links.get(device, []), key=lambda p: p.port)

    def first_hop(self, device: str, target: str) -> str | None:
        """The port of ``device`` on the shortest switch path to ``target``."""
        if device == target:
            return None
        seen = {device}
        queue: deque[tuple[str, str]] = deque()
        for peer in self.links.get(device, []):
            queue.append((peer.device, peer.port))
            seen.add(peer.device)
        while queue:
            node, port = queue.popleft()
            if node == target:
                return port
            for peer in self.links.get(node, []):
                if peer.device not in seen:
                    seen.add(peer.device)
                    queue.append((peer.device, port))
        return None

    def edge_vlan(self, host: Placed) -> int | None:
        """The VLAN the host's frames enter in, or None while its port is down."""
        switch = self.switches.get(host.switch)
        if switch is None:
            return host.vlan
        iface = switch.interface(host.port)
        if iface is None or iface.shutdown:
            return None
        if not iface.switchport:
            return None
        return iface.access_vlan if iface.mode != "trunk" else 1

    def mac_table(self, device: str) -> list[MacEntry]:
        out: list[MacEntry] = []
        for host in self.hosts.values():
            vlan = self.edge_vlan(host)
            if vlan is None:
                continue
            port = host.port if host.switch == device else self.first_hop(device, host.switch)
            if port is not None:
                out.append(MacEntry(vlan, host.mac, port))
        for gw in self.gateways:
            if gw.device != device:
                port = self.first_hop(device, gw.device)
                if port is not None:
                    out.append(MacEntry(gw.vlan, svi_mac(gw.device), port))
        return sorted(out, key=lambda e: (e.vlan, e.mac))

    def arp_table(self, device: str) -> list[ArpEntry]:
        """What a gateway has learned on its SVIs (the hosts of its segments)."""
        out: list[ArpEntry] = []
        mine = {gw.vlan: gw.address for gw in self.gateways if gw.device == device}
        for vlan, address in mine.items():
            out.append(ArpEntry(address, svi_mac(device), vlan, -1))
        for host in self.hosts.values():
            if host.vlan in mine:
                age = zlib.crc32(host.name.encode()) % 120
                out.append(ArpEntry(host.address, host.mac, host.vlan, age))
        return sorted(out, key=lambda e: tuple(int(p) for p in e.address.split(".")))


    def neighbour_table(self, interfaces: list[tuple[str, str]]) -> list[Neighbour]:
        """What a Linux router/firewall with ``interfaces`` ((name, address/prefix)) has in
        its neighbour cache: every plugged host and every gateway SVI of its subnets, STALE
        (learned, not confirmed lately: an entry that does not change as the lab runs)."""
        import ipaddress

        out: list[Neighbour] = []
        learned = [(h.address, h.mac) for h in self.hosts.values()]
        learned += [(gw.address, svi_mac(gw.device)) for gw in self.gateways]
        for name, cidr in interfaces:
            iface = ipaddress.ip_interface(cidr)
            for address, mac in learned:
                ip = ipaddress.ip_address(address)
                if ip.version == iface.version and ip in iface.network and ip != iface.ip:
                    out.append(Neighbour(address, name, colons(mac), "STALE"))
        return sorted(out, key=lambda e: (e.dev, ipaddress.ip_address(e.address)))


@dataclass(frozen=True)
class Neighbour:
    address: str
    dev: str
    lladdr: str  # aa:bb:cc:dd:ee:ff
    state: str


def colons(mac: str) -> str:
    """``0050.5612.3456`` -> ``00:50:56:12:34:56`` (iproute2 notation)."""
    digits = mac.replace(".", "")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def load_moves(state_dir: Path) -> dict[str, list[str]]:
    try:
        data = json.loads((state_dir / FABRIC_FILE).read_text())
    except (OSError, ValueError):
        return {}
    moves = data.get("moves", {}) if isinstance(data, dict) else {}
    return {str(k): [str(v[0]), str(v[1])] for k, v in moves.items()
            if isinstance(v, list) and len(v) == 2}


def save_moves(state_dir: Path, fabric: Fabric) -> None:
    from isolate.lab.server import write_atomic

    data = json.dumps({"moves": fabric.moves()}, sort_keys=True).encode()
    write_atomic(state_dir / FABRIC_FILE, data)
