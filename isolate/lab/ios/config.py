"""The IOS running configuration: a small mutable model rendered deterministically."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field, fields
from typing import Any

from isolate.lab.ios import names
from isolate.lab.ios.acl import Ace, ace_from_json
from isolate.lab.ios.cli import compress


@dataclass
class Interface:
    """One interface. ``connected`` is lab wiring (a link is plugged), not configuration."""

    name: str
    description: str | None = None
    shutdown: bool = False
    switchport: bool = True
    mode: str | None = None  # access | trunk | None (dynamic)
    access_vlan: int = 1
    trunk_allowed: tuple[int, ...] | None = None  # None = all VLANs
    ip_address: str | None = None
    ip_mask: str | None = None
    acl_in: str | None = None
    acl_out: str | None = None
    connected: bool = False

    @property
    def prefix(self) -> str | None:
        """``10.10.10.1/24`` or None."""
        if self.ip_address is None or self.ip_mask is None:
            return None
        net = ipaddress.IPv4Interface(f"{self.ip_address}/{self.ip_mask}")
        return str(net.with_prefixlen)

    def lines(self) -> list[str]:
        out = [f"interface {self.name}"]
        if self.description is not None:
            out.append(f" description {self.description}")
        if self.switchport:
            if self.access_vlan != 1:
                out.append(f" switchport access vlan {self.access_vlan}")
            if self.trunk_allowed is not None:
                allowed = compress(self.trunk_allowed) if self.trunk_allowed else "none"
                out.append(f" switchport trunk allowed vlan {allowed}")
            if self.mode is not None:
                out.append(f" switchport mode {self.mode}")
        elif self.ip_address is not None:
            out.append(f" ip address {self.ip_address} {self.ip_mask}")
        else:
            out.append(" no ip address")
        if self.acl_in is not None:
            out.append(f" ip access-group {self.acl_in} in")
        if self.acl_out is not None:
            out.append(f" ip access-group {self.acl_out} out")
        if self.shutdown:
            out.append(" shutdown")
        return out

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name, default in _INTERFACE_DEFAULTS:
            value = getattr(self, name)
            if value != default:
                data[name] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interface:
        values = dict(data)
        if values.get("trunk_allowed") is not None:
            values["trunk_allowed"] = tuple(values["trunk_allowed"])
        return cls(**values)


_INTERFACE_DEFAULTS = tuple((f.name, f.default) for f in fields(Interface))


@dataclass
class Route:
    prefix: str
    mask: str
    target: str  # Null0 or a next-hop address

    def line(self) -> str:
        return f"ip route {self.prefix} {self.mask} {self.target}"

    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"{self.prefix}/{self.mask}")


def secret_hash(secret: str) -> str:
    """A stable stand-in for IOS's type-9 scrypt hash (never the secret itself)."""
    digest = hashlib.sha256(("isolate-lab:" + secret).encode()).hexdigest()[:43]
    return f"$9${digest[:14]}${digest[14:]}"


@dataclass
class IosConfig:
    hostname: str
    enable_secret: str = ""
    vlans: dict[int, str | None] = field(default_factory=dict)  # id -> name (None = default)
    interfaces: dict[str, Interface] = field(default_factory=dict)
    acls: dict[str, list[Ace]] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    archive_path: str | None = None
    archive_maximum: int | None = None
    archive_enabled: bool = False
    lldp: bool = False
    domain: str | None = None  # ip domain-name
    vtp_mode: str = "server"  # server | client | transparent (vlan.dat, not running-config)
    vtp_domain: str = ""
    vtp_revision: int = 0
    banner_motd: str | None = None  # the text between the delimiters
    ntp_servers: list[str] = field(default_factory=list)
    ntp_period: int | None = None  # written by IOS itself once NTP runs (churns)

    def vlan_db_changed(self) -> None:
        """A VTP server counts every change of its VLAN database (``Configuration Revision``)."""
        if self.vtp_mode == "server":
            self.vtp_revision += 1

    def vlan_name(self, vid: int) -> str:
        if vid == 1:
            return "default"
        return self.vlans.get(vid) or f"VLAN{vid:04d}"

    def sorted_interfaces(self) -> list[Interface]:
        return [self.interfaces[n] for n in sorted(self.interfaces, key=names.sort_key)]

    def render(self) -> str:
        """``show running-config`` text (without the Building/Current header)."""
        out = ["!", "version 15.2", "no service pad",
               "service timestamps debug datetime msec", "service timestamps log datetime msec",
               "no service password-encryption", "!", f"hostname {self.hostname}", "!",
               "boot-start-marker", "boot-end-marker", "!"]
        if self.enable_secret:
            out += [f"enable secret 9 {secret_hash(self.enable_secret)}", "!"]
        out += ["no aaa new-model", "!", "no ip domain-lookup"]
        if self.domain is not None:
            out.append(f"ip domain-name {self.domain}")
        out.append("!")
        if self.vtp_mode == "transparent":  # else VTP lives in vlan.dat, not in the config
            if self.vtp_domain:
                out.append(f"vtp domain {self.vtp_domain}")
            out += ["vtp mode transparent", "!"]
        if self.archive_enabled:
            out.append("archive")
            if self.archive_path is not None:
                out.append(f" path {self.archive_path}")
            if self.archive_maximum is not None:
                out.append(f" maximum {self.archive_maximum}")
            out.append("!")
        if self.lldp:
            out += ["lldp run", "!"]
        out += ["spanning-tree mode rapid-pvst", "spanning-tree extend system-id", "!"]
        for vid in sorted(self.vlans) if self.vtp_mode == "transparent" else ():
            out.append(f"vlan {vid}")
            if self.vlans[vid] is not None:
                out.append(f" name {self.vlans[vid]}")
            out.append("!")
        for iface in self.sorted_interfaces():
            out += [*iface.lines(), "!"]
        out += ["ip forward-protocol nd", "no ip http server", "no ip http secure-server", "!"]
        out += [route.line() for route in self.routes]
        out.append("ip ssh version 2")
        out.append("!")
        for name in sorted(self.acls):
            out.append(f"ip access-list extended {name}")
            out += [ace.running_line() for ace in self.acls[name]]
            out.append("!")
        if self.banner_motd is not None:
            out += ["banner motd ^C", *self.banner_motd.split("\n"), "^C", "!"]
        out += ["line con 0", "line vty 0 4", " login local", " transport input ssh",
                "line vty 5 15", " login local", " transport input ssh", "!"]
        if self.ntp_period is not None:
            out.append(f"ntp clock-period {self.ntp_period}")
        out += [f"ntp server {server}" for server in self.ntp_servers]
        out.append("end")
        return "\n".join(out) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "enable_secret": self.enable_secret,
            "vlans": [[vid, self.vlans[vid]] for vid in sorted(self.vlans)],
            "interfaces": [i.to_json() for i in self.sorted_interfaces()],
            "acls": {n: [a.to_json() for a in aces] for n, aces in sorted(self.acls.items())},
            "routes": [[r.prefix, r.mask, r.target] for r in self.routes],
            "archive": [self.archive_enabled, self.archive_path, self.archive_maximum],
            "lldp": self.lldp,
            "domain": self.domain,
            "vtp": [self.vtp_mode, self.vtp_domain, self.vtp_revision],
            "banner": self.banner_motd,
            "ntp": [list(self.ntp_servers), self.ntp_period],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IosConfig:
        enabled, path, maximum = data.get("archive", [False, None, None])
        vtp = data.get("vtp", ["transparent", "", 0])  # snapshots from before VTP modelling
        ntp = data.get("ntp", [[], None])
        return cls(
            hostname=str(data["hostname"]),
            enable_secret=str(data.get("enable_secret", "")),
            vlans={int(v): n for v, n in data.get("vlans", [])},
            interfaces={
                i["name"]: Interface.from_json(i) for i in data.get("interfaces", [])
            },
            acls={n: [ace_from_json(a) for a in aces] for n, aces in data.get("acls", {}).items()},
            routes=[Route(p, m, t) for p, m, t in data.get("routes", [])],
            archive_enabled=bool(enabled),
            archive_path=path,
            archive_maximum=maximum,
            lldp=bool(data.get("lldp", False)),
            domain=data.get("domain"),
            vtp_mode=str(vtp[0]), vtp_domain=str(vtp[1]), vtp_revision=int(vtp[2]),
            banner_motd=data.get("banner"),
            ntp_servers=list(ntp[0]), ntp_period=ntp[1],
        )

    def copy(self) -> IosConfig:
        return IosConfig.from_json(self.to_json())
