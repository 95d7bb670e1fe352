"""Lab topologies: the YAML format, its validation, and the devices it builds.

A topology file (``isolate/lab/topologies/city.yml`` is the default) describes the
simulated devices and the modelled network the inventory and the traffic model
need: management, segments (VLAN, subnet, gateway, firewall, zone), hosts (with
their services; a host in a switched segment is plugged into an access switch
port), protected assets, VPN users and the edge. The ``access`` block generates
the access layer (``acc1``..``accN``); ``--devices N`` scales it. Model addresses
are never contacted: every device is served on 127.0.0.1.

Errors are one line per problem: ``FILE:LINE: field: message`` (TopologyError).

Device kinds are looked up in ``DEVICE_KINDS``. A kind class builds its device
with ``from_lab(device: LabDevice, lab: Lab, creds: LabCredentials) -> SimDevice``
when it defines that classmethod, else ``cls(device.name)``.
"""

from __future__ import annotations

import importlib
import ipaddress
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from isolate.errors import TopologyError
from isolate.inventory.models import Edge, Host, Management, Protected, Role, Segment, Vpn
from isolate.lab.device import SimDevice
from isolate.lab.fabric import DeviceInfo, Fabric, Gateway, Placed, host_mac
from isolate.lab.faults import Fault, make_fault
from isolate.lab.ios import IosDevice, IosSpec
from isolate.lab.ssh_profiles import SSH_PROFILES
from isolate.values import Address, DeviceName, Name
from isolate.yamlsrc import Problem, load_yaml, raise_problems, validation_problems

TOPOLOGIES_DIR = Path(__file__).parent / "topologies"
DEFAULT_TOPOLOGY = "city"
SWITCH_KINDS = ("cisco_ios", "junos")  # kinds the topology wires as core/access switches
MAX_ACCESS = 2000


def _optional_kind(module: str, attr: str) -> type[SimDevice] | None:
    """A colleague's device class, or None while its module does not exist yet."""
    try:
        found: type[SimDevice] = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None
    return found


DEVICE_KINDS: dict[str, type[SimDevice] | None] = {
    "cisco_ios": IosDevice,
    "linux": _optional_kind("isolate.lab.linux", "LinuxDevice"),
    "cisco_asa": _optional_kind("isolate.lab.asa", "AsaDevice"),
    "fortios": _optional_kind("isolate.lab.fortios", "FortiGateDevice"),  # served over HTTPS
    "junos": _optional_kind("isolate.lab.junos", "JunosDevice"),
}


# ---------------------------------------------------------------- file format


VtpMode = Literal["server", "client", "transparent"]
VTP_MODES = ("server", "client", "transparent")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TopoFault(_Model):
    kind: Literal["auth-fail", "slow", "hang-after", "drop-after", "reject", "hang-on", "drop-on",
                  "authz-fail"]
    after: int | None = Field(default=None, ge=0)
    delay: float | None = Field(default=None, gt=0, le=600)
    pattern: str | None = None


class TopoDevice(_Model):
    name: DeviceName
    kind: Literal["cisco_ios", "linux", "cisco_asa", "fortios", "junos"]
    role: Role
    address: Address | None = None
    model: str | None = None
    ports: int = Field(default=48, ge=2, le=1024)
    groups: tuple[Name, ...] = ()
    tags: tuple[Name, ...] = ()
    config: tuple[str, ...] = ()  # extra initial configuration lines
    options: dict[str, Any] = Field(default_factory=dict)  # kind-specific settings
    faults: tuple[TopoFault, ...] = ()


class Access(_Model):
    count: int = Field(default=4, ge=0, le=MAX_ACCESS)
    prefix: Name = "acc"  # generated names: prefix + number (``acc1``; ``acc-01`` with digits: 2)
    digits: int = Field(default=0, ge=0, le=4)  # zero-pad the number to this width
    model: str = "WS-C2960X-48FPD-L"
    ports: int = Field(default=48, ge=4, le=1024)
    first_address: Address = ipaddress.IPv4Address("10.99.0.21")
    uplinks: tuple[DeviceName, ...] = ()  # core switches each access switch trunks to
    groups: tuple[Name, ...] = ("access",)
    vtp: VtpMode = "server"  # IOS's default; client/transparent as in many networks


class TopoHost(Host):
    switch: DeviceName | None = None  # default: spread over the access switches
    listed: bool = True  # False: plugged in, but absent from the generated inventory


class Latency(_Model):
    """How long every device of the lab takes to answer, like devices across a network
    (docs/lab.md, "Latency"): ``reply_ms`` is added to each reply on its way (a round trip;
    replies to lines typed ahead overlap, as on a real link), ``per_kb_ms`` is spent per KiB
    of output before answering (serial, like a device's CPU rendering ``show running-config``)."""

    reply_ms: float = Field(default=0.0, ge=0, le=10_000)
    per_kb_ms: float = Field(default=0.0, ge=0, le=10_000)


class TopologyFile(_Model):
    version: Literal[1]
    name: Name
    management: Management = Field(default_factory=Management)
    access: Access = Field(default_factory=Access)
    devices: tuple[TopoDevice, ...] = ()
    segments: tuple[Segment, ...] = ()
    hosts: tuple[TopoHost, ...] = ()
    protected: Protected = Field(default_factory=Protected)
    vpn: Vpn = Field(default_factory=Vpn)
    edge: Edge = Field(default_factory=Edge)
    latency: Latency = Field(default_factory=Latency)


# ---------------------------------------------------------------- built lab


@dataclass(frozen=True)
class LabCredentials:
    username: str
    password: str = field(repr=False)
    enable: str = field(repr=False)
    token: str = field(default="", repr=False)  # REST API token (lab FortiGates)


@dataclass(frozen=True)
class LabDevice:
    """One device of a built lab. ``index`` fixes its port: base port + index."""

    name: str
    kind: str
    role: str
    index: int
    address: str
    groups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    access_ports: tuple[tuple[str, str], ...] = ()  # (interface, host)
    model: str = ""
    ports: tuple[str, ...] = ()
    connected: tuple[str, ...] = ()
    config: tuple[str, ...] = ()  # initial configuration lines (IOS)
    options: dict[str, Any] = field(default_factory=dict)
    faults: tuple[Fault, ...] = ()


@dataclass(frozen=True)
class Lab:
    name: str
    devices: tuple[LabDevice, ...]
    topology: TopologyFile
    links: tuple[tuple[str, str, str, str], ...] = ()  # switch, port, peer, peer port

    def device(self, name: str) -> LabDevice:
        return next(d for d in self.devices if d.name == name)

    def hosted(self) -> tuple[LabDevice, ...]:
        """Devices whose kind is available in this build."""
        return tuple(d for d in self.devices if DEVICE_KINDS.get(d.kind) is not None)

    def fabric(self) -> Fabric:
        """A fresh wiring model of this lab (hosts on their topology ports)."""
        fabric = Fabric()
        for dev in self.devices:
            fabric.devices[dev.name] = DeviceInfo(dev.name, dev.model, dev.address, dev.kind)
        for a, a_port, b, b_port in self.links:
            fabric.link(a, a_port, b, b_port)
        hosts = {h.name: h for h in self.topology.hosts}
        vlans = {s.name: s.vlan or 0 for s in self.topology.segments}  # plugged hosts' have one
        for dev in self.devices:
            for port, name in dev.access_ports:
                host = hosts[name]
                fabric.place(Placed(name, str(host.address), host_mac(name),
                                    vlans[host.segment], dev.name, port))
        for seg in self.topology.segments:
            if seg.gateway is not None and seg.zone in ("inside", "management") and seg.vlan:
                net = ipaddress.ip_network(str(seg.subnet))
                fabric.gateways.append(Gateway(seg.gateway, seg.vlan,
                                               str(net.network_address + 1)))
        return fabric


def resolve(topology: str | Path | None) -> Path:
    """A topology file path from a path or a shipped name (``city``)."""
    if topology is None:
        topology = DEFAULT_TOPOLOGY
    path = Path(topology).expanduser()
    if path.suffix in (".yml", ".yaml") or path.exists():
        return path
    shipped = TOPOLOGIES_DIR / f"{topology}.yml"
    if shipped.exists():
        return shipped
    names = sorted(p.stem for p in TOPOLOGIES_DIR.glob("*.yml"))
    raise TopologyError(f"topology {topology!s}: no such file or shipped topology "
                        f"(shipped: {', '.join(names)})")


def load_topology(topology: str | Path | None = None, *, devices: int | None = None) -> Lab:
    """Load, validate and build a topology; ``devices`` overrides the access-switch count."""
    path = resolve(topology)
    source = load_yaml(path, TopologyError)
    try:
        topo = TopologyFile.model_validate(source.data)
    except ValidationError as exc:
        raise_problems(TopologyError,
                       validation_problems(exc, source.data, source.lines, TopologyFile))
        raise AssertionError("unreachable") from None
    if devices is not None:
        if not 0 <= devices <= MAX_ACCESS:
            raise TopologyError(f"--devices {devices}: must be 0..{MAX_ACCESS}")
        topo = topo.model_copy(update={"access": topo.access.model_copy(
            update={"count": devices})})
    problems = _cross_check(topo, source.lines.problem)
    raise_problems(TopologyError, problems)
    try:
        return _build(topo)
    except _BuildError as err:
        raise_problems(TopologyError, [source.lines.problem(err.loc, err.message)])
        raise AssertionError("unreachable") from None


def _cross_check(topo: TopologyFile, problem: Any) -> list[Problem]:
    out: list[Problem] = []
    names = [d.name for d in topo.devices]
    access = set(generated_access(topo.access))
    known = set(names) | access
    segments = {s.name for s in topo.segments}
    for i, dev in enumerate(topo.devices):
        if names.index(dev.name) != i:
            out.append(problem(("devices", i, "name"), f"duplicate device {dev.name!r}"))
        if dev.name in access:
            out.append(problem(("devices", i, "name"),
                               f"{dev.name!r} clashes with a generated access switch"))
        for j, fault in enumerate(dev.faults):
            if fault.kind in ("hang-after", "drop-after") and fault.after is None:
                out.append(problem(("devices", i, "faults", j, "after"), "required"))
            if fault.kind == "slow" and fault.delay is None:
                out.append(problem(("devices", i, "faults", j, "delay"), "required"))
            if fault.kind in ("reject", "hang-on", "drop-on", "authz-fail") and not fault.pattern:
                out.append(problem(("devices", i, "faults", j, "pattern"), "required"))
        ssh = dev.options.get("ssh")
        if ssh is not None and ssh not in SSH_PROFILES:
            out.append(problem(("devices", i, "options", "ssh"),
                               f"must be one of {', '.join(SSH_PROFILES)}"))
        vtp = dev.options.get("vtp")
        if vtp is not None and (dev.kind != "cisco_ios" or vtp not in VTP_MODES):
            out.append(problem(("devices", i, "options", "vtp"),
                               f"must be one of {', '.join(VTP_MODES)} (cisco_ios only)"))
    for i, seg in enumerate(topo.segments):
        if seg.vlan is None and (seg.zone in ("inside", "management") or seg.gateway is not None):
            out.append(problem(("segments", i), f"segment {seg.name!r} needs a vlan (switched or routed)"))
        for key in ("gateway", "firewall"):
            ref = getattr(seg, key)
            if ref is not None and ref not in known:
                out.append(problem(("segments", i, key), f"no device {ref!r}"))
    for i, host in enumerate(topo.hosts):
        if host.segment not in segments:
            out.append(problem(("hosts", i, "segment"), f"no segment {host.segment!r}"))
        if host.switch is not None and host.switch not in known:
            out.append(problem(("hosts", i, "switch"), f"no device {host.switch!r}"))
    for i, up in enumerate(topo.access.uplinks):
        if up not in names:
            out.append(problem(("access", "uplinks", i), f"no device {up!r}"))
    for key, refs in (("edge", topo.edge.devices), ("vpn", topo.vpn.concentrators)):
        for i, ref in enumerate(refs):
            if ref not in known:
                sub = "devices" if key == "edge" else "concentrators"
                out.append(problem((key, sub, i), f"no device {ref!r}"))
    return out


class _BuildError(Exception):
    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc, self.message = loc, message


def _ios_ports(count: int, kind: str = "GigabitEthernet1/0/") -> tuple[str, ...]:
    return tuple(f"{kind}{i}" for i in range(1, count + 1))


def generated_access(acc: Access) -> list[str]:
    """The generated access switches' names, ``acc1``… or ``acc-01``… (``digits``)."""
    return [f"{acc.prefix}{i:0{acc.digits}d}" if acc.digits else f"{acc.prefix}{i}"
            for i in range(1, acc.count + 1)]


def _switched(topo: TopologyFile) -> list[Segment]:
    return [s for s in topo.segments if s.zone in ("inside", "management") and s.vlan is not None]


def _vlan_lines(topo: TopologyFile) -> list[str]:
    lines = [f"ip domain-name {topo.name}.local", "lldp run", "archive", " path flash:archive",
             " maximum 14"]
    for seg in _switched(topo):
        lines += [f"vlan {seg.vlan}", f" name {seg.name}"]
    return lines


def _build(topo: TopologyFile) -> Lab:
    acc = topo.access
    access_names = generated_access(acc)
    placement = _place_hosts(topo, access_names)
    built: list[LabDevice] = []
    uplinks = acc.uplinks or tuple(d.name for d in topo.devices
                                   if d.kind in SWITCH_KINDS and d.role == "core")
    for i, dev in enumerate(topo.devices):
        built.append(_fixed_device(topo, dev, i, access_names, uplinks, placement))
    first = int(ipaddress.IPv4Address(str(acc.first_address)))
    for k, name in enumerate(access_names):
        built.append(_access_device(topo, name, len(topo.devices) + k,
                                    str(ipaddress.IPv4Address(first + k)), uplinks,
                                    placement.get(name, [])))
    return Lab(topo.name, tuple(built), topo, _links(built, access_names, uplinks))


def _links(built: list[LabDevice], access: list[str], uplinks: tuple[str, ...]
           ) -> tuple[tuple[str, str, str, str], ...]:
    """The trunks the build wired: core port k to access switch k, core to core."""
    by_name = {d.name: d for d in built}
    cores = [by_name[u] for u in uplinks if u in by_name and by_name[u].kind in SWITCH_KINDS]
    out: list[tuple[str, str, str, str]] = []
    for k, name in enumerate(access):
        acc = by_name[name]
        for j, core in enumerate(cores[:2]):
            if k < len(core.ports) - 2:
                out.append((core.name, core.ports[k], name, acc.ports[-1 - j]))
    if len(cores) >= 2:
        out.append((cores[0].name, cores[0].ports[-1], cores[1].name, cores[1].ports[-1]))
    return tuple(out)


def _place_hosts(topo: TopologyFile, access: list[str]) -> dict[str, list[tuple[str, int]]]:
    """switch -> [(host, vlan)] for every host of a switched segment."""
    vlans = {s.name: s.vlan for s in _switched(topo) if s.vlan is not None}
    out: dict[str, list[tuple[str, int]]] = {}
    spread = 0
    for i, host in enumerate(topo.hosts):
        if host.segment not in vlans:
            continue
        switch = host.switch
        if switch is None:
            if not access:
                raise _BuildError(("hosts", i), "no access switch to plug this host into")
            switch = access[spread % len(access)]
            spread += 1
        out.setdefault(switch, []).append((host.name, vlans[host.segment]))
    return out


def _fixed_device(topo: TopologyFile, dev: TopoDevice, index: int, access: list[str],
                  uplinks: tuple[str, ...], placement: dict[str, list[tuple[str, int]]]
                  ) -> LabDevice:
    faults = tuple(make_fault(f.kind, after=f.after, delay=f.delay, pattern=f.pattern)
                   for f in dev.faults)
    address = str(dev.address) if dev.address is not None else "127.0.0.1"
    if dev.kind == "junos":
        return _junos_device(topo, dev, index, address, access, uplinks, placement, faults)
    if dev.kind != "cisco_ios":
        return LabDevice(dev.name, dev.kind, dev.role, index, address, dev.groups, dev.tags,
                         options=dict(dev.options), faults=faults, model=dev.model or "")
    ports = _ios_ports(dev.ports)
    lines = _vlan_lines(topo)
    connected: list[str] = []
    for seg in topo.segments:
        if seg.gateway == dev.name and seg.zone in ("inside", "management"):
            net = ipaddress.ip_network(str(seg.subnet))
            lines += [f"interface Vlan{seg.vlan}", f" description {seg.name}",
                      f" ip address {net.network_address + 1} {net.netmask}", " no shutdown"]
    if dev.name in uplinks:
        for k, name in enumerate(access[: dev.ports - 2]):
            port = ports[k]
            connected.append(port)
            lines += [f"interface {port}", f" description {name}", " switchport mode trunk"]
        for other in uplinks:
            if other != dev.name:
                port = ports[-1]
                connected.append(port)
                lines += [f"interface {port}", f" description {other}",
                          " switchport mode trunk"]
    access_ports = _host_ports(dev.name, ports[: dev.ports - 2], placement, lines, connected,
                               ("devices", index))
    return LabDevice(dev.name, dev.kind, dev.role, index, address, dev.groups, dev.tags,
                     access_ports, dev.model or "WS-C3750X-48P", ports, tuple(connected),
                     (*lines, *dev.config, *_vtp_lines(str(dev.options.get("vtp", "server")))),
                     dict(dev.options), faults)


def _junos_device(topo: TopologyFile, dev: TopoDevice, index: int, address: str,
                  access: list[str], uplinks: tuple[str, ...],
                  placement: dict[str, list[tuple[str, int]]], faults: tuple[Fault, ...]
                  ) -> LabDevice:
    """A Junos switch: ports ``ge-0/0/0``…, trunks like an IOS core's, IRBs for the
    segments it routes (isolate.lab.junos.build)."""
    from isolate.lab.junos import build

    ports = build.junos_ports(dev.ports)
    switched = _switched(topo)
    lines = [*build.base_lines(dev.name, switched, f"{topo.name}.local"),
             *build.gateway_lines(dev.name, switched)]
    connected: list[str] = []
    if dev.name in uplinks:
        for k, name in enumerate(access[: dev.ports - 2]):
            connected.append(ports[k])
            lines += build.trunk_lines(ports[k], name)
        for other in uplinks:
            if other != dev.name:
                connected.append(ports[-1])
                lines += build.trunk_lines(ports[-1], other)
    names = {s.vlan: s.name for s in switched}
    access_ports: list[tuple[str, str]] = []
    hosts = placement.get(dev.name, [])
    free = ports[len(access) if dev.name in uplinks else 0: dev.ports - 2]
    if len(hosts) > len(free):
        raise _BuildError(("devices", index), f"{dev.name}: {len(hosts)} hosts but "
                                              f"{len(free)} free ports")
    for (host, vlan), port in zip(hosts, free, strict=False):
        connected.append(port)
        access_ports.append((port, host))
        lines += build.access_lines(port, host, names[vlan])
    return LabDevice(dev.name, dev.kind, dev.role, index, address, dev.groups, dev.tags,
                     tuple(access_ports), dev.model or "ex4300-48p", ports, tuple(connected),
                     (*lines, *dev.config), dict(dev.options), faults)


def _vtp_lines(mode: str) -> list[str]:
    """Last, so that the VLANs are in vlan.dat before a client stops accepting them."""
    return [] if mode == "server" else [f"vtp mode {mode}"]


def _host_ports(switch: str, free: tuple[str, ...], placement: dict[str, list[tuple[str, int]]],
                lines: list[str], connected: list[str], loc: tuple[str | int, ...]
                ) -> tuple[tuple[str, str], ...]:
    hosts = placement.get(switch, [])
    if len(hosts) > len(free):
        raise _BuildError(loc, f"{switch}: {len(hosts)} hosts but {len(free)} free ports")
    out: list[tuple[str, str]] = []
    for (host, vlan), port in zip(hosts, free, strict=False):
        connected.append(port)
        out.append((port, host))
        lines += [f"interface {port}", f" description {host}", f" switchport access vlan {vlan}",
                  " switchport mode access"]
    return tuple(out)


def _access_device(topo: TopologyFile, name: str, index: int, address: str,
                   uplinks: tuple[str, ...], hosts: list[tuple[str, int]]) -> LabDevice:
    acc = topo.access
    ports = _ios_ports(acc.ports)
    lines = _vlan_lines(topo)
    connected: list[str] = []
    for k, core in enumerate(uplinks[:2]):
        port = ports[-1 - k]
        connected.append(port)
        lines += [f"interface {port}", f" description {core}", " switchport mode trunk"]
    access_ports = _host_ports(name, ports[: acc.ports - 2], {name: hosts}, lines, connected,
                               ("access",))
    return LabDevice(name, "cisco_ios", "access", index, address, acc.groups, (),
                     access_ports, acc.model, ports, tuple(connected),
                     (*lines, *_vtp_lines(acc.vtp)))


def make_device(device: LabDevice, lab: Lab, creds: LabCredentials) -> SimDevice:
    """A fresh SimDevice for ``device`` (its kind must be available)."""
    cls = DEVICE_KINDS.get(device.kind)
    if cls is None:
        raise TopologyError(f"{device.name}: device kind {device.kind!r} is not available")
    if cls is IosDevice:
        serial = f"FOC{zlib.crc32(device.name.encode()) % 10**7:07d}X"
        return IosDevice(device.name, IosSpec(
            hostname=device.name, enable_secret=creds.enable, model=device.model,
            serial=serial, ports=device.ports, connected=device.connected,
            lines=device.config))
    factory = getattr(cls, "from_lab", None)
    if callable(factory):
        made: SimDevice = factory(device, lab, creds)
        return made
    return cls(device.name)


def load_snapshot_device(kind: str, name: str, data: dict[str, Any]) -> SimDevice | None:
    cls = DEVICE_KINDS.get(kind)
    return None if cls is None else cls.from_snapshot(name, data)
