"""Simulated FortiGate (FortiOS 7.2) as its REST API sees it: the CMDB tables isolate uses,
SSL-VPN sessions and the banned-IP list. The HTTPS server is ``isolate.lab.fortios_http``.

CMDB tables (``/api/v2/cmdb/PATH/NAME``), in the order FortiOS lists them:
``firewall/address``, ``firewall/addrgrp``, ``firewall.service/custom``, ``firewall/policy``
(the policy order is the list order; ``move`` changes it), ``user/local``, ``user/group``.
Each object is stored as FortiOS returns it: every field with its default filled in, a
``q_origin_key`` (the mkey) and a ``uuid`` on the tables that have one, member lists as
``[{"name": N, "q_origin_key": N}]``, subnets as ``"ADDR MASK"``. FortiOS's rules on
writes: a duplicate mkey is error -5 (HTTP 500), a missing entry -3 (HTTP 404), a
reference to an object that does not exist -3 (HTTP 500), deleting an object another one
uses -23 (HTTP 500), a value of the wrong shape -651 (HTTP 500), a name longer than FortiOS
allows (policies 35, user groups 35, local users 64, addresses, groups and services 79) -1.
Every successful write bumps the configuration revision.

SSL-VPN: the clients of the topology's hosts with a ``vpn_user`` keep a tunnel while their
user may log in (a ``user/local`` entry with ``status`` enable, member of a group the
SSL-VPN portal admits); a session ended through ``/monitor/vpn/ssl/delete`` comes back
``reconnect_s`` seconds later (divided by ``ISOLATE_LAB_TIME_SCALE``) unless the user was
disabled or left the group in between. Model API for the traffic model:
``FortiGateDevice.active_users()`` and ``FortiGateDevice.permits(...)``.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from isolate.lab.device import Shell, SimDevice
from isolate.lab.ios import time_scale

VERSION = "v7.2.8"
BUILD = 1639
VDOM = "root"

ADDRESS, ADDRGRP, SERVICE, POLICY, USER, GROUP = (
    "firewall/address",
    "firewall/addrgrp",
    "firewall.service/custom",
    "firewall/policy",
    "user/local",
    "user/group",
)
TABLES: tuple[str, ...] = (ADDRESS, ADDRGRP, SERVICE, POLICY, USER, GROUP)
MKEYS: dict[str, str] = {POLICY: "policyid"}  # every other table: "name"
HAS_UUID = frozenset({ADDRESS, ADDRGRP, POLICY})
# FortiOS's maximum name lengths (CLI reference: "Maximum length").
NAME_MAX: dict[str, int] = {ADDRESS: 79, ADDRGRP: 79, SERVICE: 79, POLICY: 35, USER: 64, GROUP: 35}
INTERFACES = ("any", "port1", "port2", "port3", "wan1", "ssl.root")

# FortiOS error codes the lab answers with (the CLI's own numbers).
E_LENGTH = -1
E_NOT_FOUND = -3
E_DUPLICATE = -5
E_IN_USE = -23
E_INVALID = -651


class CmdbError(Exception):
    """A refused CMDB or monitor request: FortiOS's error code and the HTTP status."""

    def __init__(self, code: int, http_status: int, message: str = "") -> None:
        super().__init__(message or f"error {code}")
        self.code = code
        self.http_status = http_status


def _members(names: Any) -> list[dict[str, Any]]:
    if not isinstance(names, list):
        raise CmdbError(E_INVALID, 500, "a member list must be a list")
    out = []
    for item in names:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise CmdbError(E_INVALID, 500, "a member needs a name")
        out.append({"name": name, "q_origin_key": name})
    return out


def _subnet(value: Any) -> str:
    """``10.0.0.0/24``, ``10.0.0.0 255.255.255.0`` or ``[ADDR, MASK]`` → ``ADDR MASK``."""
    if isinstance(value, list) and len(value) == 2:
        value = f"{value[0]} {value[1]}"
    if not isinstance(value, str):
        raise CmdbError(E_INVALID, 500, "subnet must be text")
    text = value.strip().replace(" ", "/", 1) if " " in value.strip() else value.strip()
    try:
        given = ipaddress.IPv4Interface(text)
    except ValueError:
        raise CmdbError(-8, 500, f"invalid subnet {value!r}") from None  # -8: invalid IP address
    return f"{given.ip} {given.netmask}"  # FortiOS keeps the address as given (host bits too)


def subnet_network(value: str) -> ipaddress.IPv4Network:
    addr, mask = value.split()
    return ipaddress.IPv4Network(f"{addr}/{mask}", strict=False)


# Defaults FortiOS fills in on a new object (a subset of each table's attributes: the ones a
# client of this lab reads or writes).
DEFAULTS: dict[str, dict[str, Any]] = {
    ADDRESS: {"type": "ipmask", "subnet": "0.0.0.0 0.0.0.0", "comment": "",
              "associated-interface": "", "color": 0, "allow-routing": "disable",
              "fabric-object": "disable"},
    ADDRGRP: {"type": "default", "category": "default", "member": [], "comment": "",
              "exclude": "disable", "exclude-member": [], "color": 0, "allow-routing": "disable",
              "fabric-object": "disable"},
    SERVICE: {"proxy": "disable", "category": "", "protocol": "TCP/UDP/SCTP", "helper": "auto",
              "iprange": "0.0.0.0", "fqdn": "", "tcp-portrange": "", "udp-portrange": "",
              "sctp-portrange": "", "comment": "", "color": 0, "visibility": "enable",
              "fabric-object": "disable"},
    POLICY: {"name": "", "srcintf": [], "dstintf": [], "action": "deny", "status": "enable",
             "srcaddr": [], "dstaddr": [], "srcaddr-negate": "disable",
             "dstaddr-negate": "disable", "service": [], "service-negate": "disable",
             "schedule": "always", "nat": "disable", "logtraffic": "utm", "groups": [],
             "users": [], "comments": "", "internet-service": "disable"},
    USER: {"status": "enable", "type": "password", "passwd": "ENC XXXX", "ldap-server": "",
           "radius-server": "", "two-factor": "disable", "email-to": ""},
    GROUP: {"group-type": "firewall", "member": [], "match": [], "authtimeout": 0},
}
MEMBER_FIELDS: dict[str, tuple[str, ...]] = {
    ADDRGRP: ("member", "exclude-member"),
    POLICY: ("srcintf", "dstintf", "srcaddr", "dstaddr", "service", "groups", "users"),
    GROUP: ("member",),
}
ENUMS: dict[str, frozenset[str]] = {
    "action": frozenset({"accept", "deny", "ipsec"}),
    "status": frozenset({"enable", "disable"}),
    "exclude": frozenset({"enable", "disable"}),
    "srcaddr-negate": frozenset({"enable", "disable"}),
    "dstaddr-negate": frozenset({"enable", "disable"}),
    "service-negate": frozenset({"enable", "disable"}),
    "nat": frozenset({"enable", "disable"}),
    "logtraffic": frozenset({"all", "utm", "disable"}),
    "protocol": frozenset({"TCP/UDP/SCTP", "ICMP", "ICMP6", "IP"}),
}


def _port_ranges(text: str) -> list[tuple[int, int]]:
    """``"445 139 1000-2000:1024-65535"`` → destination ranges (source ranges ignored)."""
    out = []
    for word in text.split():
        dst = word.split(":", 1)[0]
        low, _, high = dst.partition("-")
        try:
            a, b = int(low), int(high or low)
        except ValueError:
            raise CmdbError(E_INVALID, 500, f"invalid port range {word!r}") from None
        if not (0 <= a <= b <= 65535):
            raise CmdbError(E_INVALID, 500, f"invalid port range {word!r}")
        out.append((a, b))
    return out


@dataclass
class SslSession:
    index: int
    user: str
    remote_host: str
    tunnel_ip: str
    since: float


@dataclass
class SslClient:
    user: str
    tunnel_ip: str
    remote_host: str


@dataclass
class FortiState:
    hostname: str
    serial: str
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    revision: int = 1
    sslvpn_groups: list[str] = field(default_factory=list)  # groups the SSL-VPN portal admits
    clients: list[SslClient] = field(default_factory=list)
    sessions: list[SslSession] = field(default_factory=list)
    retry: dict[str, float] = field(default_factory=dict)
    next_index: int = 0
    reconnect_s: float = 5.0
    banned: dict[str, dict[str, Any]] = field(default_factory=dict)  # ip -> {created, expires}


class FortiGateDevice(SimDevice):
    """A FortiGate's CMDB and monitor state; HTTP is ``isolate.lab.fortios_http``."""

    kind = "fortios"
    listens = "https"  # the lab serves it over HTTPS, not SSH (isolate.lab.process)

    def __init__(self, name: str, state: FortiState | None = None) -> None:
        super().__init__(name)
        serial = "FGVM02TM" + f"{int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**8:08d}"
        self.state = state or FortiState(hostname=name, serial=serial)
        for table in TABLES:
            self.state.tables.setdefault(table, [])

    # -- building -------------------------------------------------------------------------
    @classmethod
    def from_lab(cls, device: Any, lab: Any, creds: Any) -> FortiGateDevice:
        """Build from the lab topology: an address per segment, FortiOS's predefined
        services, allow policies between the inside segments, out to the Internet and from
        the SSL-VPN, the topology's VPN users and groups, and an SSL-VPN client per host
        with a ``vpn_user``."""
        topo = lab.topology
        dev = cls(device.name)
        dev.state.reconnect_s = float(device.options.get("reconnect_s", 5.0))
        add = dev.load_object
        add(ADDRESS, {"name": "all", "subnet": "0.0.0.0 0.0.0.0"})
        inside: list[str] = []
        for seg in topo.segments:
            if seg.subnet.version != 4:
                continue
            add(ADDRESS, {"name": f"net-{seg.name}", "subnet": str(seg.subnet),
                          "comment": f"segment {seg.name}"})
            if seg.zone != "outside":
                inside.append(f"net-{seg.name}")
        for name, ports, proto in (("ALL", "", "IP"), ("HTTP", "80", "TCP/UDP/SCTP"),
                                   ("HTTPS", "443", "TCP/UDP/SCTP"), ("SSH", "22", "TCP/UDP/SCTP"),
                                   ("SMB", "445", "TCP/UDP/SCTP"), ("SAMBA", "139", "TCP/UDP/SCTP")):
            body: dict[str, Any] = {"name": name, "protocol": proto, "category": "General"}
            if ports:
                body["tcp-portrange"] = ports
            add(SERVICE, body)
        for user in topo.vpn.users:
            entry: dict[str, Any] = {"name": str(user.name)}
            if user.auth == "directory":
                entry.update({"type": "ldap", "ldap-server": "city-ldap"})
            add(USER, entry)
        for group in topo.vpn.groups:
            members = [{"name": str(u.name)} for u in topo.vpn.users if u.group == group.name]
            add(GROUP, {"name": str(group.name), "member": members})
            dev.state.sslvpn_groups.append(str(group.name))
        names = [{"name": n} for n in inside]
        vpn_groups = [{"name": g} for g in dev.state.sslvpn_groups]
        policies = [
            {"name": "inside-to-inside", "srcintf": [{"name": "port1"}], "dstintf": [{"name": "port1"}],
             "srcaddr": names, "dstaddr": names, "action": "accept", "service": [{"name": "ALL"}]},
            {"name": "inside-to-internet", "srcintf": [{"name": "port1"}], "dstintf": [{"name": "wan1"}],
             "srcaddr": names, "dstaddr": [{"name": "all"}], "action": "accept",
             "service": [{"name": "ALL"}], "nat": "enable"},
            {"name": "internet-to-dmz", "srcintf": [{"name": "wan1"}], "dstintf": [{"name": "port1"}],
             "srcaddr": [{"name": "all"}], "dstaddr": names, "action": "accept",
             "service": [{"name": "ALL"}]},
        ]
        if vpn_groups:
            policies.append({"name": "sslvpn-to-inside", "srcintf": [{"name": "ssl.root"}],
                             "dstintf": [{"name": "port1"}], "srcaddr": [{"name": "all"}],
                             "dstaddr": names, "action": "accept", "service": [{"name": "ALL"}],
                             "groups": vpn_groups})
        for policy in policies:
            add(POLICY, policy)
        public = ipaddress.ip_address("198.51.100.10")
        for host in topo.hosts:
            if host.vpn_user:
                dev.state.clients.append(SslClient(str(host.vpn_user), str(host.address),
                                                   str(public + len(dev.state.clients))))
        now = time.time()
        for client in dev.state.clients:
            if dev.may_connect(client.user):
                dev._connect(client, now)
        dev.state.revision = 1
        return dev

    def load_object(self, table: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create an object at start-up (no reference checks: the topology is trusted)."""
        return self.create(table, body, check_refs=False)

    # -- CMDB -----------------------------------------------------------------------------
    def mkey_of(self, table: str) -> str:
        return MKEYS.get(table, "name")

    def rows(self, table: str) -> list[dict[str, Any]]:
        if table not in self.state.tables:
            raise CmdbError(E_NOT_FOUND, 404, f"no table {table}")
        return self.state.tables[table]

    def find(self, table: str, key: str) -> dict[str, Any] | None:
        mkey = self.mkey_of(table)
        return next((row for row in self.rows(table) if str(row.get(mkey)) == key), None)

    def _normalise(self, table: str, body: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        row = copy.deepcopy(base)
        for key, value in body.items():
            if key in ("q_origin_key", "uuid") and key in row:
                continue
            if key in MEMBER_FIELDS.get(table, ()):
                row[key] = _members(value)
            elif key == "subnet":
                row[key] = _subnet(value)
            elif key in ENUMS and value not in ENUMS[key]:
                raise CmdbError(E_INVALID, 500, f"{key}: invalid value {value!r}")
            elif key in ("tcp-portrange", "udp-portrange"):
                if not isinstance(value, str):
                    raise CmdbError(E_INVALID, 500, f"{key} must be text")
                _port_ranges(value)
                row[key] = " ".join(value.split())
            elif isinstance(value, dict):
                raise CmdbError(E_INVALID, 500, f"{key}: invalid value")
            else:
                row[key] = value
        return row

    def _check_refs(self, table: str, row: dict[str, Any]) -> None:
        def exists(tables: tuple[str, ...], name: str) -> bool:
            return any(self.find(t, name) is not None for t in tables)

        refs: dict[str, tuple[str, ...]] = {
            "srcaddr": (ADDRESS, ADDRGRP), "dstaddr": (ADDRESS, ADDRGRP), "service": (SERVICE,),
            "groups": (GROUP,), "users": (USER,),
        }
        if table == ADDRGRP:
            refs = {"member": (ADDRESS, ADDRGRP), "exclude-member": (ADDRESS, ADDRGRP)}
        elif table == GROUP:
            refs = {"member": (USER,)}
        elif table != POLICY:
            return
        for key, tables in refs.items():
            for member in row.get(key, []):
                if not exists(tables, member["name"]):
                    raise CmdbError(E_NOT_FOUND, 500, f"{key}: {member['name']} not found")
        if table == POLICY:
            for key in ("srcintf", "dstintf"):
                for member in row.get(key, []):
                    if member["name"] not in INTERFACES:
                        raise CmdbError(E_NOT_FOUND, 500, f"{key}: {member['name']} not found")
                if not row.get(key):
                    raise CmdbError(E_INVALID, 500, f"{key} is required")

    def create(self, table: str, body: dict[str, Any], *, check_refs: bool = True) -> dict[str, Any]:
        rows = self.rows(table)
        mkey = self.mkey_of(table)
        if table == POLICY:
            given = body.get("policyid", 0)
            if not isinstance(given, int) or given < 0:
                raise CmdbError(E_INVALID, 500, "policyid must be a number")
            if given == 0:
                given = max((int(r["policyid"]) for r in rows), default=0) + 1
            key: Any = given
            name = body.get("name", "")
            if not isinstance(name, str) or len(name) > NAME_MAX[POLICY]:
                raise CmdbError(E_LENGTH, 500, f"policy name longer than {NAME_MAX[POLICY]}")
            if name and any(r.get("name") == name for r in rows):
                raise CmdbError(E_DUPLICATE, 500, f"policy name {name} is used")
        else:
            key = body.get("name")
            if not isinstance(key, str) or not key:
                raise CmdbError(E_INVALID, 500, "name is required")
            if len(key) > NAME_MAX[table]:
                raise CmdbError(E_LENGTH, 500, f"name longer than {NAME_MAX[table]}")
        if self.find(table, str(key)) is not None:
            raise CmdbError(E_DUPLICATE, 500, f"{key} exists")
        base: dict[str, Any] = {mkey: key, "q_origin_key": key}
        if table in HAS_UUID:
            base["uuid"] = str(uuidlib.uuid4())
        base.update(copy.deepcopy(DEFAULTS[table]))
        row = self._normalise(table, {k: v for k, v in body.items() if k != mkey}, base)
        if check_refs:
            self._check_refs(table, row)
        rows.append(row)
        self.state.revision += 1
        return row

    def update(self, table: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        row = self.find(table, key)
        if row is None:
            raise CmdbError(E_NOT_FOUND, 404, f"{key} not found")
        mkey = self.mkey_of(table)
        if mkey in body and str(body[mkey]) != key:
            raise CmdbError(E_INVALID, 500, "the mkey cannot change")
        new = self._normalise(table, {k: v for k, v in body.items() if k != mkey}, row)
        if table == POLICY and len(str(new.get("name", ""))) > NAME_MAX[POLICY]:
            raise CmdbError(E_LENGTH, 500, f"policy name longer than {NAME_MAX[POLICY]}")
        if table == POLICY and new.get("name") and any(
            r is not row and r.get("name") == new["name"] for r in self.rows(table)
        ):
            raise CmdbError(E_DUPLICATE, 500, f"policy name {new['name']} is used")
        self._check_refs(table, new)
        rows = self.rows(table)
        rows[rows.index(row)] = new
        self.state.revision += 1
        return new

    def users_of(self, table: str, name: str) -> list[str]:
        """Who references ``name`` of ``table`` (FortiOS refuses to delete it then)."""
        fields: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
            ADDRESS: ((POLICY, ("srcaddr", "dstaddr")), (ADDRGRP, ("member", "exclude-member"))),
            ADDRGRP: ((POLICY, ("srcaddr", "dstaddr")), (ADDRGRP, ("member", "exclude-member"))),
            SERVICE: ((POLICY, ("service",)),),
            USER: ((POLICY, ("users",)), (GROUP, ("member",))),
            GROUP: ((POLICY, ("groups",)),),
        }
        found = []
        for other, keys in fields.get(table, ()):
            mkey = self.mkey_of(other)
            for row in self.rows(other):
                if any(m["name"] == name for k in keys for m in row.get(k, [])):
                    found.append(f"{other} {row[mkey]}")
        if table == GROUP and name in self.state.sslvpn_groups:
            found.append("vpn.ssl/settings authentication-rule")
        return found

    def delete(self, table: str, key: str) -> None:
        row = self.find(table, key)
        if row is None:
            raise CmdbError(E_NOT_FOUND, 404, f"{key} not found")
        if self.users_of(table, key):
            raise CmdbError(E_IN_USE, 500, f"{key} is used by {', '.join(self.users_of(table, key))}")
        self.rows(table).remove(row)
        self.state.revision += 1

    def move(self, key: str, where: str, neighbour: str) -> None:
        rows = self.rows(POLICY)
        row, other = self.find(POLICY, key), self.find(POLICY, neighbour)
        if row is None:
            raise CmdbError(E_NOT_FOUND, 404, f"policy {key} not found")
        if other is None:
            raise CmdbError(E_NOT_FOUND, 500, f"policy {neighbour} not found")
        if row is other:
            raise CmdbError(E_INVALID, 500, "cannot move a policy next to itself")
        rows.remove(row)
        at = rows.index(other) + (1 if where == "after" else 0)
        rows.insert(at, row)
        self.state.revision += 1

    # -- SSL-VPN --------------------------------------------------------------------------
    def may_connect(self, user: str) -> bool:
        account = self.find(USER, user)
        if account is None or account.get("status") != "enable":
            return False
        for group in self.state.sslvpn_groups:
            row = self.find(GROUP, group)
            if row is not None and any(m["name"] == user for m in row.get("member", [])):
                return True
        return False

    def _connect(self, client: SslClient, now: float) -> None:
        self.state.sessions.append(SslSession(self.state.next_index, client.user,
                                              client.remote_host, client.tunnel_ip, now))
        self.state.next_index += 1

    def active_users(self) -> set[str]:
        return {s.user for s in self.state.sessions}

    def sessions_json(self, now: float) -> list[dict[str, Any]]:
        """``/api/v2/monitor/vpn/ssl`` results: one entry per login, its tunnel a subsession."""
        out = []
        for s in self.state.sessions:
            out.append({
                "index": s.index, "user_name": s.user, "remote_host": s.remote_host,
                "last_update_time": int(now), "duration": int(now - s.since),
                "subsessions": [{"index": s.index, "parent_index": s.index, "mode": "Tunnel",
                                 "type": "Tunnel", "aip": s.tunnel_ip, "in_bytes": 0,
                                 "out_bytes": 0, "desthost": s.tunnel_ip}],
            })
        return out

    def end_session(self, kind: str, index: int, now: float) -> None:
        if kind not in ("websession", "subsession"):
            raise CmdbError(E_INVALID, 400, f"invalid type {kind!r}")
        found = next((s for s in self.state.sessions if s.index == index), None)
        if found is None:
            raise CmdbError(E_NOT_FOUND, 404, f"no session {index}")
        self.state.sessions.remove(found)
        self.state.retry[found.user] = now + self.state.reconnect_s / time_scale()

    def tick(self, now: float) -> bool:
        changed = self._expire_bans(now)
        online = self.active_users()
        for client in self.state.clients:
            if client.user in online:
                continue
            due = self.state.retry.get(client.user)
            if due is None:
                self.state.retry[client.user] = now + self.state.reconnect_s / time_scale()
            elif due <= now:
                if self.may_connect(client.user):
                    del self.state.retry[client.user]
                    self._connect(client, now)
                    changed = True
                else:  # the client keeps retrying, and keeps being refused
                    self.state.retry[client.user] = now + self.state.reconnect_s / time_scale()
        return changed

    # -- banned IPs (monitor/user/banned) --------------------------------------------------
    def ban(self, addresses: list[str], expiry: int, now: float) -> None:
        for ip in addresses:
            ipaddress.ip_address(ip)
            self.state.banned[ip] = {"created": int(now), "expires": int(now) + expiry if expiry else 0}

    def unban(self, addresses: list[str]) -> None:
        for ip in addresses:
            self.state.banned.pop(ip, None)

    def _expire_bans(self, now: float) -> bool:
        gone = [ip for ip, b in self.state.banned.items() if b["expires"] and b["expires"] <= now]
        for ip in gone:
            del self.state.banned[ip]
        return bool(gone)

    def banned_json(self, now: float) -> list[dict[str, Any]]:
        return [{"ip_address": ip, "source": "Administrative", "created": b["created"],
                 "expires": b["expires"] or 0} for ip, b in sorted(self.state.banned.items())]

    # -- the traffic model ----------------------------------------------------------------
    def _contains(self, names: list[dict[str, Any]], ip: Any, seen: frozenset[str] = frozenset()
                  ) -> bool:
        """Whether ``ip`` is in one of the named addresses or groups (a group with ``exclude
        enable`` holds its members less its ``exclude-member`` addresses)."""
        for member in names:
            name = member["name"]
            row = self.find(ADDRESS, name)
            if row is not None:
                if ip in subnet_network(row["subnet"]):
                    return True
                continue
            group = self.find(ADDRGRP, name)
            if group is None or name in seen:
                continue
            inner = seen | {name}
            if not self._contains(group.get("member", []), ip, inner):
                continue
            if group.get("exclude") == "enable" and self._contains(
                    group.get("exclude-member", []), ip, inner):
                continue
            return True
        return False

    def _service_matches(self, names: list[dict[str, Any]], proto: str, port: int) -> bool:
        for member in names:
            row = self.find(SERVICE, member["name"])
            if row is None:
                continue
            if row.get("protocol") == "IP":
                return True
            ranges = _port_ranges(str(row.get(f"{proto}-portrange", "")))
            if any(a <= port <= b for a, b in ranges):
                return True
        return False

    def permits(self, proto: str, src: str, dst: str, port: int) -> tuple[bool, str]:
        """First matching enabled policy decides (interfaces are not modelled: a policy
        matches on addresses and services, each possibly negated); no match: the implicit
        deny (policy 0)."""
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        for row in self.rows(POLICY):
            if row.get("status") != "enable":
                continue
            if self._contains(row.get("srcaddr", []), s) == (row.get("srcaddr-negate") == "enable"):
                continue
            if self._contains(row.get("dstaddr", []), d) == (row.get("dstaddr-negate") == "enable"):
                continue
            service = self._service_matches(row.get("service", []), proto, port)
            if service == (row.get("service-negate") == "enable"):
                continue
            return row.get("action") == "accept", f"policy {row['policyid']} ({row.get('name', '')})"
        return False, "implicit deny (policy 0)"

    # -- SimDevice ------------------------------------------------------------------------
    def open_shell(self, username: str) -> Shell:
        raise NotImplementedError("the lab FortiGate is served over HTTPS only")

    def snapshot(self) -> dict[str, Any]:
        s = self.state
        return {
            "kind": self.kind, "hostname": s.hostname, "serial": s.serial, "tables": s.tables,
            "revision": s.revision, "sslvpn_groups": s.sslvpn_groups,
            "clients": [vars(c) for c in s.clients], "sessions": [vars(x) for x in s.sessions],
            "retry": s.retry, "next_index": s.next_index, "reconnect_s": s.reconnect_s,
            "banned": s.banned,
        }

    @classmethod
    def from_snapshot(cls, name: str, data: dict[str, Any]) -> FortiGateDevice:
        state = FortiState(
            hostname=str(data["hostname"]), serial=str(data["serial"]),
            tables={str(k): list(v) for k, v in data["tables"].items()},
            revision=int(data["revision"]), sslvpn_groups=list(data["sslvpn_groups"]),
            clients=[SslClient(**c) for c in data["clients"]],
            sessions=[SslSession(**x) for x in data["sessions"]],
            retry={str(k): float(v) for k, v in data["retry"].items()},
            next_index=int(data["next_index"]), reconnect_s=float(data["reconnect_s"]),
            banned=dict(data["banned"]),
        )
        return cls(name, state)
