"""Inventory models (docs/design.md, "Inventory YAML"). Frozen; unknown keys refused.

Every value that may reach a device CLI has a type from :mod:`isolate.values`.
Cross-references (a segment's gateway, a host's segment, …) are checked by the
loader, which knows the file and line of each field; the lookups here assume a
loaded, consistent inventory.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from contextlib import suppress
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from isolate.inventory.directory import Directory
from isolate.platforms import NAMES as PLATFORM_NAMES
from isolate.platforms import PLATFORMS as PLATFORM_TABLE
from isolate.platforms.ssh import MODERN as MODERN_SSH
from isolate.platforms.ssh import SUPPORTED as SSH_SUPPORTED
from isolate.platforms.ssh import SshAlgorithms
from isolate.platforms.ssh import algorithms as ssh_algorithms
from isolate.values import (
    Address,
    BadValue,
    CredentialRef,
    DeviceName,
    FilePath,
    Hostname,
    InterfaceName,
    IPAddress,
    Name,
    Port,
    Prefix,
    ServiceName,
    Text,
    UserName,
    VlanId,
    parse_interface,
    parse_user,
    safe_repr,
)

# The platform list derives from the one platform table (isolate/platforms/table.py).
if TYPE_CHECKING:
    Platform = str
else:
    Platform = Literal[PLATFORM_NAMES]
Role = Literal["core", "distribution", "access", "firewall", "edge", "vpn", "router", "switch", "server"]
Zone = Literal["inside", "management", "vpn", "outside"]
Criticality = Literal["low", "medium", "high", "critical", "essential"]
Proto = Literal["tcp", "udp"]

PLATFORMS: tuple[str, ...] = PLATFORM_NAMES
ROLES: tuple[str, ...] = get_args(Role)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Management(_Model):
    networks: tuple[Prefix, ...] = ()
    stations: tuple[Name, ...] = ()
    tool_address: Address | None = None


_DOMAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def _account(value: Any) -> str:
    """A login name: a user name (``svc``, ``svc@city.example``) or a Windows domain
    account ``DOMAIN\\user`` (used to log in, never written into a configuration)."""
    try:
        if isinstance(value, str) and value.count("\\") == 1:
            domain, user = value.split("\\")
            if not _DOMAIN.fullmatch(domain):
                raise BadValue(f"domain must match [A-Za-z0-9][A-Za-z0-9._-]{{0,62}}: {safe_repr(domain)}")
            return f"{domain}\\{parse_user(user)}"
        return parse_user(value)
    except BadValue as exc:
        raise PydanticCustomError("isolate_value", "{reason}", {"reason": str(exc)}) from None


AccountName = Annotated[str, BeforeValidator(_account)]


class CredentialSet(_Model):
    username: AccountName
    password: CredentialRef | None = None
    enable: CredentialRef | None = None
    token: CredentialRef | None = None  # a REST API token (FortiOS), by reference only
    key_file: FilePath | None = None
    agent: bool = False


def _ssh_algorithm(kind: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if not isinstance(value, str) or value not in SSH_SUPPORTED[kind]:
            reason = f"unknown SSH {kind} algorithm {value!r} (supported: {', '.join(SSH_SUPPORTED[kind])})"
            raise PydanticCustomError("isolate_value", "{reason}", {"reason": reason})
        return value

    return parse


SshKex = Annotated[str, BeforeValidator(_ssh_algorithm("kex"))]
SshCipher = Annotated[str, BeforeValidator(_ssh_algorithm("ciphers"))]
SshHostKey = Annotated[str, BeforeValidator(_ssh_algorithm("host_keys"))]
SshMac = Annotated[str, BeforeValidator(_ssh_algorithm("macs"))]


class SshOptions(_Model):
    """How isolate may reach the device over SSH. ``legacy: true`` also offers what IOS
    12.2/15 offers (CBC ciphers, SHA-1 key exchange, ssh-rsa): a weaker channel, said in the
    plan and the pre-check table. An explicit list per kind replaces the default for that kind."""

    legacy: bool = False
    kex: tuple[SshKex, ...] = ()
    ciphers: tuple[SshCipher, ...] = ()
    host_keys: tuple[SshHostKey, ...] = ()
    macs: tuple[SshMac, ...] = ()

    def algorithms(self) -> SshAlgorithms:
        return ssh_algorithms(
            legacy=self.legacy, kex=self.kex, ciphers=self.ciphers, host_keys=self.host_keys, macs=self.macs
        )


_FINGERPRINT = re.compile(r"(?:sha256:)?((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{64})")


def _fingerprint(value: Any) -> str:
    """A certificate's SHA-256 fingerprint, ``AA:BB:…`` (32 bytes) or 64 hex digits, with an
    optional ``sha256:`` prefix; kept as upper-case colon-separated bytes."""
    match = _FINGERPRINT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        reason = "must be a SHA-256 fingerprint (32 hex bytes, AA:BB:… or 64 hex digits)"
        raise PydanticCustomError("isolate_value", "{reason}", {"reason": reason})
    digits = match.group(1).replace(":", "").upper()
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))


Fingerprint = Annotated[str, BeforeValidator(_fingerprint)]


class TlsOptions(_Model):
    """How a device's HTTPS certificate is verified (REST platforms): against a CA file, or
    pinned by its SHA-256 fingerprint (a self-signed certificate). Verified always: a device
    with neither is refused."""

    ca_file: FilePath | None = None
    fingerprint: Fingerprint | None = None


class JumpHost(_Model):
    """An SSH jump host (bastion) devices are reached through (``via:``). Its host key must be
    in the inventory's known_hosts under ``[host]:port``; credentials by reference."""

    name: DeviceName
    host: Hostname
    port: Port = 22
    credentials: Name


_BROKER_URL = re.compile(r"(redis|rediss)://[A-Za-z0-9][A-Za-z0-9._-]{0,252}(:[0-9]{1,5})?(/[0-9]{1,2})?")


def _broker_url(value: Any) -> str:
    """``redis://HOST[:PORT][/DB]`` or ``rediss://…`` (TLS); never a password in the URL."""
    if not isinstance(value, str) or not _BROKER_URL.fullmatch(value):
        reason = "must be redis://HOST[:PORT][/DB] or rediss://… (the password goes in 'password')"
        raise PydanticCustomError("isolate_value", "{reason}", {"reason": reason})
    return value


class Broker(_Model):
    """Where the controller and the site workers meet (docs/scale.md): a Redis broker, its
    password by reference, and for ``rediss://`` the CA its certificate is checked against and,
    for a broker that requires one (mutual TLS), this end's client certificate and its key."""

    url: Annotated[str, BeforeValidator(_broker_url)]
    password: CredentialRef | None = None
    ca_file: FilePath | None = None
    cert_file: FilePath | None = None  # the client certificate (PEM), with key_file; rediss:// only
    key_file: FilePath | None = None  # its private key (PEM, unencrypted, mode 0600)


class AccessPort(_Model):
    interface: InterfaceName
    host: Name


class Device(_Model):
    name: DeviceName
    host: Hostname
    port: Port = 22
    platform: Platform
    role: Role
    address: Address | None = None
    credentials: Name | None = None
    groups: tuple[Name, ...] = ()
    tags: tuple[Name, ...] = ()
    ports: tuple[AccessPort, ...] = ()
    ssh: SshOptions | None = None
    tls: TlsOptions | None = None  # REST platforms: how the HTTPS certificate is verified
    via: tuple[DeviceName, ...] | None = None  # jump hosts, first hop first; [] = direct
    site: Name | None = None  # driven by the site worker `isolate worker --site NAME` (docs/scale.md)

    @model_validator(mode="before")
    @classmethod
    def _expand_interfaces(cls, data: Any) -> Any:
        """IOS abbreviations (Gi1/0/1) become long names; invalid ones are left for
        the loader's per-platform check, which reports them with their line."""
        if not isinstance(data, dict) or not isinstance(data.get("ports"), list):
            return data
        record = PLATFORM_TABLE.get(data.get("platform"))  # type: ignore[arg-type]
        if record is None or record.interfaces.style != "typed":
            return data
        platform = record.name
        ports = []
        for port in data["ports"]:
            if isinstance(port, dict) and isinstance(port.get("interface"), str):
                with suppress(ValueError):
                    port = {**port, "interface": parse_interface(port["interface"], platform)}
            ports.append(port)
        return {**data, "ports": ports}

    @property
    def ssh_algorithms(self) -> SshAlgorithms:
        """The SSH algorithms offered to this device (modern unless its ``ssh`` allows more)."""
        return self.ssh.algorithms() if self.ssh is not None else MODERN_SSH

    @property
    def mgmt_address(self) -> str:
        """The device's management address in the modelled network (default: host)."""
        return str(self.address) if self.address is not None else self.host

    @property
    def mgmt_port(self) -> int:
        """The port isolate manages it on in the modelled network: ``port`` when ``host`` is
        that address, else (a modelled ``address``: the lab, a NAT or a tunnel in between) the
        platform's own (SSH 22, FortiOS HTTPS 443, NETCONF 830, LDAPS 636)."""
        return self.port if self.address is None else PLATFORM_TABLE[self.platform].management_port


class Group(_Model):
    name: Name
    description: Text = ""
    via: tuple[DeviceName, ...] | None = None  # jump hosts for the group's devices


class Segment(_Model):
    name: Name
    vlan: VlanId | None = None  # none for segments nothing switches (outside, a VPN pool)
    subnet: Prefix
    gateway: DeviceName | None = None
    firewall: DeviceName | None = None
    zone: Zone = "inside"
    criticality: Criticality = "medium"
    via: tuple[DeviceName, ...] | None = None  # jump hosts for devices whose address is in it


_SERVICE_SHORT = re.compile(r"(?P<name>[^:/\s]+):(?P<port>[0-9]{1,5})(?:/(?P<proto>tcp|udp))?")


class Service(_Model):
    """``{name: dns, port: 53, proto: udp}`` or the short form ``dns:53/udp`` (``https:443``)."""

    name: ServiceName
    port: Port
    proto: Proto = "tcp"

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, str) and (found := _SERVICE_SHORT.fullmatch(data.strip())):
            return {k: v for k, v in found.groupdict().items() if v is not None}
        return data


class Host(_Model):
    name: Name
    address: Address
    segment: Name
    services: tuple[Service, ...] = ()
    tags: tuple[Name, ...] = ()
    vpn_user: UserName | None = None


class ProtectedService(_Model):
    """A protected service, everywhere it is served or only on some hosts/segments:
    ``dns`` or ``{service: https, segments: [websites]}`` / ``{service: ldap, hosts: [dc1]}``."""

    service: ServiceName
    hosts: tuple[Name, ...] = ()
    segments: tuple[Name, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"service": data} if isinstance(data, str) else data

    @model_serializer(mode="wrap")
    def _as_name(self, handler: SerializerFunctionWrapHandler) -> Any:
        return self.service if not self.hosts and not self.segments else handler(self)

    def covers(self, host: str, segment: str | None) -> bool:
        """Whether this entry protects the service as ``host`` (in ``segment``) serves it."""
        if not self.hosts and not self.segments:
            return True
        return host in self.hosts or segment in self.segments

    @property
    def label(self) -> str:
        """``dns``, ``https@websites``, ``ldap@dc1,dc2``: how plans and reports name it."""
        scope = (*self.segments, *self.hosts)
        return self.service + ("@" + ",".join(scope) if scope else "")


class Protected(_Model):
    hosts: tuple[Name, ...] = ()
    services: tuple[ProtectedService, ...] = ()
    segments: tuple[Name, ...] = ()


class VpnGroup(_Model):
    name: Name
    description: Text = ""


class VpnUser(_Model):
    name: UserName
    group: Name | None = None
    # local: an account on the concentrator; directory: authenticated by RADIUS/LDAP/SAML
    # (isolate logs its sessions off; the account itself must be disabled in the directory)
    auth: Literal["local", "directory"] = "local"


class Vpn(_Model):
    concentrators: tuple[DeviceName, ...] = ()
    groups: tuple[VpnGroup, ...] = ()
    users: tuple[VpnUser, ...] = ()


class Source(_Model):
    """A source of flows that is a prefix, not hosts: the Internet, an attacker's range.
    Outside only: its flows cross the edge (docs/inventory.md, "sources")."""

    name: Name
    prefix: Prefix
    zone: Literal["outside"] = "outside"
    description: Text = ""

    def as_segment(self) -> Segment:
        """The source as the reachability model sees it: an outside segment of no host."""
        return Segment(name=self.name, subnet=self.prefix, zone="outside", criticality="low")


class Edge(_Model):
    devices: tuple[DeviceName, ...] = ()


def _in_subnet(address: str, subnet: Any) -> bool:
    try:
        return ipaddress.ip_address(address) in subnet
    except ValueError:
        return False  # a host name: no segment claims it


class Inventory(_Model):
    version: Literal[1]
    name: Name
    management: Management = Field(default_factory=Management)
    known_hosts: FilePath | None = None
    lock_dir: FilePath | None = None  # the site's shared device-lock directory (docs/journal.md, "Locks")
    ansible_inventory: FilePath | None = None
    credentials: dict[Name, CredentialSet] = Field(default_factory=dict)
    jump_hosts: tuple[JumpHost, ...] = ()
    broker: Broker | None = None  # site workers' broker (devices with a site)
    devices: tuple[Device, ...] = ()
    groups: tuple[Group, ...] = ()
    segments: tuple[Segment, ...] = ()
    hosts: tuple[Host, ...] = ()
    sources: tuple[Source, ...] = ()
    protected: Protected = Field(default_factory=Protected)
    vpn: Vpn = Field(default_factory=Vpn)
    edge: Edge = Field(default_factory=Edge)
    directory: Directory = Field(default_factory=Directory)
    # Set by the loader, never read from YAML.
    source_path: str | None = None
    sha256: str = ""

    # ------------------------------------------------------------ lookups

    @cached_property
    def _devices(self) -> dict[str, Device]:
        return {d.name: d for d in self.devices}

    @cached_property
    def _hosts(self) -> dict[str, Host]:
        return {h.name: h for h in self.hosts}

    @cached_property
    def _segments(self) -> dict[str, Segment]:
        return {s.name: s for s in self.segments}

    @cached_property
    def _ports(self) -> dict[str, tuple[Device, AccessPort]]:
        found: dict[str, tuple[Device, AccessPort]] = {}
        for device in self.devices:
            for port in device.ports:
                found.setdefault(port.host, (device, port))
        return found

    def device(self, name: str) -> Device:
        """The device called ``name``; KeyError if there is none."""
        return self._devices[name]

    def host(self, name: str) -> Host:
        return self._hosts[name]

    def jump_host(self, name: str) -> JumpHost:
        """The jump host called ``name``; KeyError if there is none."""
        found = next((j for j in self.jump_hosts if j.name == name), None)
        if found is None:
            raise KeyError(name)
        return found

    def via_of(self, device: str | Device) -> tuple[str, ...]:
        """The jump hosts ``device`` is reached through, first hop first (docs/inventory.md,
        "Jump hosts"): its own ``via``, else its first group's that has one, else the
        ``via`` of the segment holding its management address; () = direct."""
        dev = self.device(device) if isinstance(device, str) else device
        if dev.via is not None:
            return dev.via
        for group in self.groups:
            if group.name in dev.groups and group.via is not None:
                return group.via
        for segment in self.segments:
            if segment.via is not None and _in_subnet(dev.mgmt_address, segment.subnet):
                return segment.via
        return ()

    def segment(self, name: str) -> Segment:
        return self._segments[name]

    def has_device(self, name: str) -> bool:
        return name in self._devices

    def has_host(self, name: str) -> bool:
        return name in self._hosts

    def has_source(self, name: str) -> bool:
        return any(s.name == name for s in self.sources)

    def source(self, name: str) -> Source:
        """The source called ``name``; KeyError if there is none."""
        found = next((s for s in self.sources if s.name == name), None)
        if found is None:
            raise KeyError(name)
        return found

    def has_segment(self, name: str) -> bool:
        return name in self._segments

    def hosts_in(self, segment: str) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.segment == segment)

    def segment_of(self, host: str) -> Segment:
        return self._segments[self._hosts[host].segment]

    def segment_of_vlan(self, vlan: int) -> Segment | None:
        return next((s for s in self.segments if s.vlan == vlan), None)

    def access_port(self, host: str) -> tuple[Device, AccessPort] | None:
        """The switch and access port ``host`` is plugged into, if the inventory says."""
        return self._ports.get(host)

    def devices_by_role(self, role: str) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.role == role)

    def devices_in_group(self, group: str) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if group in d.groups)

    def devices_with_tag(self, tag: str) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if tag in d.tags)

    def hosts_with_tag(self, tag: str) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if tag in h.tags)

    def vpn_users_in(self, group: str) -> tuple[VpnUser, ...]:
        return tuple(u for u in self.vpn.users if u.group == group)

    def hosts_with_service(self, service: str) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if any(s.name == service for s in h.services))

    def tool_address(self) -> IPAddress | None:
        """Where isolate connects from: ``management.tool_address``, else the first
        station's address."""
        if self.management.tool_address is not None:
            return self.management.tool_address
        for station in self.management.stations:
            if station in self._hosts:
                return self._hosts[station].address
        return None
