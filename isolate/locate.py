"""Locate a host on the network, as every NAC does: IP → ARP → MAC → MAC table → edge port.

Read-only: only show commands (``Session.run``). The inventory's port map is a cache, the
network is the truth:

1. an IP (or an inventory host name, for its address) is looked up in the ARP/neighbour
   tables of the L3 gateways and firewalls of its segment (all of them when no segment
   holds it), with the command their platform record names (``Platform.locate``: IOS
   ``show ip arp ADDRESS``, Linux ``ip neigh show ADDRESS``; a platform without one is not
   asked);
2. the MAC is looked up in the MAC table of every access switch — a device whose platform
   record names a MAC-table command (IOS ``show mac address-table address H.H.H``) with
   role ``access`` or a port map;
3. only edge ports are kept: not trunks (``show interfaces status`` VLAN ``trunk``), not
   ports with a CDP or LLDP neighbour (``show cdp neighbors``, ``show lldp neighbors``), not
   port-channels. Every candidate is answered when more than one remains.

The engine never prints: :func:`locate` returns a :class:`Location` with every query and
answer (``queries``), which the CLI renders and a plan journals as discovery records.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from isolate.drivers.base import Session, Target
from isolate.errors import InputError, IsolateError
from isolate.inventory.models import Device, Inventory
from isolate.platforms import PLATFORMS, Locate
from isolate.values import BadValue, parse_ios_interface, parse_name

_DOTTED = r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}"
_MAC_RE = re.compile(rf"^(?:{_DOTTED}|(?:[0-9a-f]{{2}}[:-]){{5}}[0-9a-f]{{2}}|[0-9a-f]{{12}})$")
_ARP_RE = re.compile(r"^Internet\s+(\S+)\s+\S+\s+([0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})\s+\S+\s*(\S*)", re.M)
_NEIGH_RE = re.compile(r"^(\S+)\s+dev\s+(\S+)\s+lladdr\s+([0-9a-f:]{17})", re.M)
_JUNOS_ARP_RE = re.compile(r"^([0-9a-f:]{17})\s+(\S+)\s+(\S+)", re.M)  # show arp no-resolve
_MAC_ROW_RE = re.compile(r"^\s*(\d+)\s+([0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})\s+\S+\s+(\S+)\s*$", re.M)
_STATUS_ROW_RE = re.compile(r"^(\S+)\s.*?\s(trunk|routed|\d+)\s+\S+\s+\S+\s+\S+\s*$", re.M)
_CDP_ROW_RE = re.compile(
    r"^(\S+)\s+((?:Gig|Ten|Fas|Eth|Twe|For|Hun|Gi|Te|Fa|Et|Po)\S*\s?\d[\d/.]*)\s+\d+", re.M
)
_LLDP_ROW_RE = re.compile(r"^(\S+)\s+((?:Gi|Te|Fa|Et|Po)\S*\d[\d/.]*)\s+\d+", re.M)


def normalise_mac(text: str) -> str:
    """``aa:bb:cc:dd:ee:ff``, ``aa-bb-…`` or ``aabb.ccdd.eeff`` → ``aabb.ccdd.eeff``."""
    low = text.strip().lower()
    if not _MAC_RE.match(low):
        raise BadValue(f"not a MAC address: {text!r}")
    digits = re.sub(r"[^0-9a-f]", "", low)
    return f"{digits[0:4]}.{digits[4:8]}.{digits[8:12]}"


@dataclass(frozen=True)
class Query:
    """One read-only command sent and what came back (or the error)."""

    device: str
    command: str
    ok: bool
    output: str


@dataclass(frozen=True)
class ArpEntry:
    device: str
    address: str
    mac: str
    interface: str


@dataclass(frozen=True)
class PortCandidate:
    device: str
    interface: str
    vlan: int
    mac: str


@dataclass(frozen=True)
class NotEdge:
    device: str
    interface: str
    why: str  # "trunk", "CDP neighbour core1", "port-channel"


@dataclass
class Location:
    query: str
    address: str | None = None
    mac: str | None = None
    arp: list[ArpEntry] = field(default_factory=list)
    candidates: list[PortCandidate] = field(default_factory=list)
    not_edge: list[NotEdge] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)

    @property
    def errors(self) -> list[Query]:
        return [q for q in self.queries if not q.ok]

    def to_json(self) -> dict[str, object]:
        from dataclasses import asdict

        return asdict(self)


Connect = Callable[[Target], Session]


class _Asker:
    """One session per device, opened on first use; every command recorded."""

    def __init__(self, targets: dict[str, Target], connect: Connect, found: Location) -> None:
        self.targets = targets
        self.connect = connect
        self.found = found
        self.sessions: dict[str, Session] = {}

    def ask(self, device: str, command: str) -> str | None:
        try:
            session = self.sessions.get(device)
            if session is None:
                session = self.sessions[device] = self.connect(self.targets[device])
            output = session.run(command).output
        except IsolateError as exc:
            self.found.queries.append(Query(device, command, False, str(exc)))
            return None
        self.found.queries.append(Query(device, command, True, output))
        return output

    def close(self) -> None:
        for session in self.sessions.values():
            with contextlib.suppress(IsolateError):
                session.close()


def resolve_query(inv: Inventory, text: str) -> tuple[str | None, str | None]:
    """(address, mac) for an IP, a MAC or an inventory host name. Raises InputError."""
    try:
        return str(ipaddress.ip_address(text.strip())), None
    except ValueError:
        pass
    try:
        return None, normalise_mac(text)
    except BadValue:
        pass
    try:
        name = parse_name(text, "host name")
    except BadValue as exc:
        raise InputError(f"isolate locate {text!r}: {exc}") from None
    if not inv.has_host(name):
        raise InputError(f"isolate locate {name}: not an IP, a MAC or an inventory host name")
    return str(inv.host(name).address), None


def arp_devices(inv: Inventory, address: str) -> list[Device]:
    """The gateways and firewalls of the address's segment (every one when none holds it)."""
    ip = ipaddress.ip_address(address)
    names: list[str] = []
    for seg in inv.segments:
        if ip.version == seg.subnet.version and ip in seg.subnet:
            names += [n for n in (seg.gateway, seg.firewall) if n]
    if not names:
        names = [n for s in inv.segments for n in (s.gateway, s.firewall) if n]
    wanted = sorted(set(names))
    return [d for d in inv.devices if d.name in wanted]


def _reads(device: Device) -> Locate | None:
    """What locate reads on the device's platform (its platform record), None: nothing."""
    return PLATFORMS[device.platform].locate if device.platform in PLATFORMS else None


def access_switches(inv: Inventory) -> list[Device]:
    """Access switches: devices whose platform has a MAC table to read, with role access or
    a port map."""
    return [
        d for d in inv.devices
        if (reads := _reads(d)) is not None and reads.mac_table and (d.role == "access" or d.ports)
    ]  # fmt: skip


def _arp(asker: _Asker, device: Device, address: str) -> list[ArpEntry]:
    reads = _reads(device)
    if reads is None:
        return []
    out = asker.ask(device.name, reads.arp.format(address=address))
    if reads.arp_format == "ip-neigh":
        rows = _NEIGH_RE.findall(out or "")
        return [ArpEntry(device.name, a, normalise_mac(m), i) for a, i, m in rows if a == address]
    if reads.arp_format == "junos":
        rows = _JUNOS_ARP_RE.findall(out or "")
        return [ArpEntry(device.name, a, normalise_mac(m), i) for m, a, i in rows if a == address]
    return [ArpEntry(device.name, a, m, i) for a, m, i in _ARP_RE.findall(out or "") if a == address]


def _iface(name: str) -> str:
    try:
        return parse_ios_interface(name.replace(" ", ""))
    except BadValue:
        return name


def _edge_filter(asker: _Asker, device: str, rows: list[PortCandidate], found: Location) -> None:
    status = asker.ask(device, "show interfaces status") or ""
    trunks = {_iface(p) for p, vlan in _STATUS_ROW_RE.findall(status) if vlan == "trunk"}
    neighbours: dict[str, str] = {}
    for command, pattern, proto in (
        ("show cdp neighbors", _CDP_ROW_RE, "CDP"),
        ("show lldp neighbors", _LLDP_ROW_RE, "LLDP"),
    ):
        for peer, local in pattern.findall(asker.ask(device, command) or ""):
            neighbours.setdefault(_iface(local), f"{proto} neighbour {peer}")
    for row in rows:
        why = (
            "port-channel" if row.interface.startswith("Port-channel")
            else "trunk" if row.interface in trunks
            else neighbours.get(row.interface)
        )
        if why:
            found.not_edge.append(NotEdge(device, row.interface, why))
        else:
            found.candidates.append(row)


def _mac_rows(asker: _Asker, device: Device, mac: str) -> list[PortCandidate]:
    reads = _reads(device)
    command = reads.mac_table if reads is not None else None
    if command is None:
        return []
    return mac_rows_in(device.name, asker.ask(device.name, command.format(mac=mac)) or "", mac)


def mac_rows_in(device: str, output: str, mac: str) -> list[PortCandidate]:
    """The ports of ``show mac address-table`` output that hold ``mac`` (CPU entries left out)."""
    return [
        PortCandidate(device, _iface(port), int(vlan), m)
        for vlan, m, port in _MAC_ROW_RE.findall(output)
        if m == mac and port.upper() != "CPU"
    ]


def locate(
    inv: Inventory,
    text: str,
    *,
    targets: Callable[[Sequence[str]], dict[str, Target]],
    connect: Connect,
    workers: int = 16,
) -> Location:
    """Where ``text`` (IP, MAC or inventory host name) is plugged in. ``targets`` gives the
    connection targets of the devices asked (credentials read then)."""
    address, mac = resolve_query(inv, text)
    found = Location(query=text, address=address, mac=mac)
    gateways = arp_devices(inv, address) if address else []
    switches = access_switches(inv)
    asker = _Asker(targets([d.name for d in [*gateways, *switches]]), connect, found)
    try:
        if address is not None:
            for device in gateways:
                found.arp += _arp(asker, device, address)
            macs = sorted({e.mac for e in found.arp})
            found.mac = macs[0] if len(macs) == 1 else (", ".join(macs) or None)
            if not macs:
                return found
        else:
            macs = [mac] if mac else []
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(switches) or 1))) as pool:
            per_switch = list(pool.map(lambda d: [r for m in macs for r in _mac_rows(asker, d, m)],
                                       switches))
        for device, rows in zip(switches, per_switch, strict=True):
            if rows:
                _edge_filter(asker, device.name, rows, found)
    finally:
        asker.close()
    return found

