"""Simulated Cisco ASA 5516 (9.8) as an AnyConnect VPN concentrator (netmiko ``cisco_asa``).

Modes and prompts as the ASA: ``vpn1>`` (``show curpriv``, ``enable`` + secret),
``vpn1#``, ``vpn1(config)#``, ``vpn1(config-username)#``, ``vpn1(config-group-policy)#``.
Commands: ``show curpriv|version|running-config [username|group-policy]``,
``show vpn-sessiondb anyconnect [filter name U]|summary``,
``vpn-sessiondb logoff name U [noconfirm]``, ``terminal pager|width``, ``write memory``;
in configuration: ``username U password P [privilege N]``, ``username U attributes``,
``group-policy G internal|attributes``, their attributes (``vpn-group-policy``,
``vpn-simultaneous-logins``, ``vpn-tunnel-protocol``) and every ``no`` form. Passwords
are stored and shown only as PBKDF2 hashes. Words may be abbreviated as on the ASA.

VPN clients (from the topology's hosts with a ``vpn_user``) keep a session while their
user may log in; a client logged off reconnects by itself ``reconnect_s`` seconds later
(divided by ``ISOLATE_LAB_TIME_SCALE``) unless its access was revoked in between
(``vpn-simultaneous-logins 0`` on the user or its group-policy, or a tunnel protocol
without ``ssl-client``). Model API for the traffic model: ``AsaDevice.active_users()``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from isolate.lab.device import Reply, Shell, SimDevice
from isolate.lab.ios import time_scale

INVALID = "ERROR: % Invalid input detected at '^' marker."
INCOMPLETE = "ERROR: % Incomplete command"
ATTRIBUTE_ORDER = ("vpn-group-policy", "vpn-simultaneous-logins", "vpn-tunnel-protocol")
PROTOCOLS = ("ikev1", "ikev2", "l2tp-ipsec", "ssl-client", "ssl-clientless")
DEFAULT_LOGINS = 3


def password_hash(name: str, password: str) -> str:
    """ASA 9.7+ style PBKDF2 hash; the salt comes from the name so renders are stable."""
    salt = hashlib.sha256(f"isolate-lab:{name}".encode()).digest()[:16]
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 5000)[:16]
    enc = base64.b64encode
    return f"$sha512$5000${enc(salt).decode()}${enc(digest).decode()}"


@dataclass
class AsaUser:
    hash: str
    privilege: int = 2
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class GroupPolicy:
    internal: bool = True
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Client:
    """A VPN client that keeps trying to connect as ``user``."""

    user: str
    assigned_ip: str
    public_ip: str


@dataclass
class VpnSession:
    user: str
    index: int
    assigned_ip: str
    public_ip: str
    group_policy: str
    login: float


@dataclass
class AsaState:
    hostname: str
    enable_hash: str
    mgmt_address: str = "10.99.0.6/24"
    users: dict[str, AsaUser] = field(default_factory=dict)
    policies: dict[str, GroupPolicy] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    sessions: dict[str, VpnSession] = field(default_factory=dict)
    retry: dict[str, float] = field(default_factory=dict)  # user -> when its client retries
    next_index: int = 1
    cumulative: int = 0
    reconnect_s: float = 5.0
    saved: str = ""  # running-config text at the last ``write memory``
    directory: list[str] = field(default_factory=list)  # users the AAA server (RADIUS/LDAP) accepts


class AsaDevice(SimDevice):
    kind = "cisco_asa"

    def __init__(self, name: str, state: AsaState | None = None) -> None:
        super().__init__(name)
        self.state = state or AsaState(hostname=name, enable_hash=password_hash("enable", ""))

    # -- construction -------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        name: str,
        *,
        enable: str,
        users: list[tuple[str, str | None]],
        groups: list[str],
        clients: list[Client],
        mgmt_address: str = "10.99.0.6/24",
        reconnect_s: float = 5.0,
        directory: list[str] | None = None,
    ) -> AsaDevice:
        """A concentrator with local ``users`` [(name, group-policy)] and ``directory`` users
        (authenticated by an AAA server, no local account), every client connected."""
        state = AsaState(name, password_hash("enable", enable), mgmt_address, reconnect_s=reconnect_s)
        state.policies["DfltGrpPolicy"] = GroupPolicy(False, {"vpn-tunnel-protocol": "ikev2 ssl-client"})
        for group in groups:
            state.policies[group] = GroupPolicy(True, {"vpn-tunnel-protocol": "ssl-client"})
        for user, policy in users:
            attrs: dict[str, str] = {"vpn-group-policy": policy} if policy else {}
            state.users[user] = AsaUser(password_hash(user, f"lab-{user}"), 0, attrs)
        state.directory = sorted(directory or [])
        device = cls(name, state)
        started = time.time()
        for client in clients:
            state.clients[client.user] = client
            if device.may_connect(client.user):
                device._connect(client, started)
        return device

    @classmethod
    def from_lab(cls, device: Any, lab: Any, creds: Any) -> AsaDevice:
        """Build from the lab topology (``isolate.lab.topology`` LabDevice/Lab/LabCredentials)."""
        topo = lab.topology
        segments = {s.name: s for s in topo.segments}
        clients: list[Client] = []
        for host in topo.hosts:
            if host.vpn_user and segments.get(host.segment) is not None:
                public = ipaddress.ip_address("198.51.100.10") + len(clients)
                clients.append(Client(str(host.vpn_user), str(host.address), str(public)))
        net = next((n for n in topo.management.networks if ipaddress.ip_address(device.address) in n), None)
        mgmt = f"{device.address}/{net.prefixlen if net is not None else 24}"
        return cls.build(
            device.name,
            enable=creds.enable,
            users=[(str(u.name), str(u.group) if u.group else None) for u in topo.vpn.users
                   if u.auth == "local"],
            directory=[str(u.name) for u in topo.vpn.users if u.auth == "directory"],
            groups=[str(g.name) for g in topo.vpn.groups],
            clients=clients,
            mgmt_address=mgmt,
            reconnect_s=float(device.options.get("reconnect_s", 5.0)),
        )

    # -- VPN behaviour ------------------------------------------------------------------
    def effective(self, user: str, attribute: str) -> str | None:
        account = self.state.users.get(user)
        if account is None:
            return None
        if attribute in account.attributes:
            return account.attributes[attribute]
        group = account.attributes.get("vpn-group-policy", "DfltGrpPolicy")
        for name in (group, "DfltGrpPolicy"):
            policy = self.state.policies.get(name)
            if policy is not None and attribute in policy.attributes:
                return policy.attributes[attribute]
        return None

    def may_connect(self, user: str) -> bool:
        if user not in self.state.users:
            return user in self.state.directory  # the AAA server says yes; nothing local limits it
        logins = self.effective(user, "vpn-simultaneous-logins")
        if logins is not None and int(logins) == 0:
            return False
        protocols = self.effective(user, "vpn-tunnel-protocol")
        return protocols is None or "ssl-client" in protocols.split()

    def active_users(self) -> set[str]:
        return set(self.state.sessions)

    def _connect(self, client: Client, now: float) -> None:
        state = self.state
        account = self.state.users.get(client.user)
        group = account.attributes.get("vpn-group-policy", "DfltGrpPolicy") if account else "DfltGrpPolicy"
        state.sessions[client.user] = VpnSession(
            client.user, state.next_index, client.assigned_ip, client.public_ip, group, now
        )
        state.next_index += 1
        state.cumulative += 1

    def logoff(self, user: str, now: float) -> int:
        if self.state.sessions.pop(user, None) is None:
            return 0
        if user in self.state.clients:
            self.state.retry[user] = now + self.state.reconnect_s / time_scale()
        return 1

    def tick(self, now: float) -> bool:
        changed = False
        for user, client in sorted(self.state.clients.items()):
            if user in self.state.sessions:
                continue
            due = self.state.retry.get(user)
            if due is None:
                self.state.retry[user] = now + self.state.reconnect_s / time_scale()
                continue
            if due <= now:
                if self.may_connect(user):
                    del self.state.retry[user]
                    self._connect(client, now)
                    changed = True
                else:  # the client keeps retrying, and keeps being refused
                    self.state.retry[user] = now + self.state.reconnect_s / time_scale()
        return changed

    # -- SimDevice ----------------------------------------------------------------------
    def open_shell(self, username: str) -> Shell:
        return AsaShell(self, username)

    def snapshot(self) -> dict[str, Any]:
        return asdict(self.state)

    @classmethod
    def from_snapshot(cls, name: str, data: dict[str, Any]) -> AsaDevice:
        state = AsaState(
            hostname=str(data["hostname"]),
            enable_hash=str(data["enable_hash"]),
            mgmt_address=str(data.get("mgmt_address", "10.99.0.6/24")),
            users={k: AsaUser(**v) for k, v in data.get("users", {}).items()},
            policies={k: GroupPolicy(**v) for k, v in data.get("policies", {}).items()},
            clients={k: Client(**v) for k, v in data.get("clients", {}).items()},
            sessions={k: VpnSession(**v) for k, v in data.get("sessions", {}).items()},
            retry={k: float(v) for k, v in data.get("retry", {}).items()},
            next_index=int(data.get("next_index", 1)),
            cumulative=int(data.get("cumulative", 0)),
            reconnect_s=float(data.get("reconnect_s", 5.0)),
            saved=str(data.get("saved", "")),
            directory=[str(u) for u in data.get("directory", [])],
        )
        return cls(name, state)


# -- rendering ----------------------------------------------------------------------------


def _mask(prefix: int) -> str:
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)


def _policy_lines(name: str, policy: GroupPolicy) -> list[str]:
    lines = [f"group-policy {name} internal"] if policy.internal else []
    if policy.attributes:
        lines.append(f"group-policy {name} attributes")
        lines += [f" {key} {policy.attributes[key]}" for key in _ordered(policy.attributes)]
    return lines


def _user_lines(name: str, user: AsaUser) -> list[str]:
    lines = [f"username {name} password {user.hash} pbkdf2 privilege {user.privilege}"]
    if user.attributes:
        lines.append(f"username {name} attributes")
        lines += [f" {key} {user.attributes[key]}" for key in _ordered(user.attributes)]
    return lines


def _ordered(attributes: dict[str, str]) -> list[str]:
    rank = {key: i for i, key in enumerate(ATTRIBUTE_ORDER)}
    return sorted(attributes, key=lambda key: (rank.get(key, len(rank)), key))


def config_body(state: AsaState) -> list[str]:
    mgmt = ipaddress.ip_interface(state.mgmt_address)
    policies = sorted(state.policies.items(), key=lambda kv: (kv[0] != "DfltGrpPolicy", kv[0]))
    lines = [
        "ASA Version 9.8(4)20", "!", f"hostname {state.hostname}",
        f"enable password {state.enable_hash} pbkdf2", "names", "no mac-address auto", "!",
        "interface GigabitEthernet1/1", " nameif outside", " security-level 0",
        " ip address 100.64.0.6 255.255.255.0", "!", "interface Management1/1",
        " management-only", " nameif management", " security-level 100",
        f" ip address {mgmt.ip} {_mask(mgmt.network.prefixlen)}", "!",
        "ip local pool vpnpool 10.70.0.10-10.70.0.250 mask 255.255.255.0",
        "ssh 10.99.0.0 255.255.255.0 management", "ssh version 2",
        "webvpn", " enable outside", " anyconnect enable", " tunnel-group-list enable",
    ]  # fmt: skip
    for name, policy in policies:
        lines += _policy_lines(name, policy)
    for name in sorted(state.users):
        lines += _user_lines(name, state.users[name])
    lines += ["tunnel-group vpn type remote-access", "tunnel-group vpn general-attributes",
              " address-pool vpnpool", "!", "prompt hostname context"]  # fmt: skip
    return lines


def running_config(state: AsaState) -> str:
    body = config_body(state)
    checksum = hashlib.md5("\n".join(body).encode()).hexdigest()
    head = [": Saved", ":", ": Serial Number: JAD21270ABC",
            ": Hardware:   ASA5516, 8192 MB RAM, CPU Atom C2000 series 2416 MHz, 1 CPU (8 cores)",
            ":"]  # fmt: skip
    return "\n".join([*head, *body, f"Cryptochecksum:{checksum}", ": end"]) + "\n"


def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S UTC %a %b %d %Y", time.gmtime(moment))


def _duration(seconds: float) -> str:
    total = max(0, int(seconds))
    return f"{total // 3600}h:{total % 3600 // 60:02d}m:{total % 60:02d}s"


def _pair(left: str, lvalue: str, right: str, rvalue: str) -> str:
    return f"{left:<13}: {lvalue:<23}{right:<13}: {rvalue}"


def sessions_text(state: AsaState, now: float, only: str | None = None) -> str:
    sessions = [s for s in sorted(state.sessions.values(), key=lambda s: s.index)
                if only is None or s.user == only]  # fmt: skip
    if not sessions:
        return "INFO: There are presently no active sessions\n"
    out = ["Session Type: AnyConnect", ""]
    for s in sessions:
        audit = hashlib.sha1(f"{s.user}:{s.index}".encode()).hexdigest()[:24]
        out += [
            _pair("Username", s.user, "Index", str(s.index)),
            _pair("Assigned IP", s.assigned_ip, "Public IP", s.public_ip),
            "Protocol     : AnyConnect-Parent SSL-Tunnel DTLS-Tunnel",
            "License      : AnyConnect Premium",
            "Encryption   : AnyConnect-Parent: (1)none  SSL-Tunnel: (1)AES-GCM-256  DTLS-Tunnel: (1)AES256",
            "Hashing      : AnyConnect-Parent: (1)none  SSL-Tunnel: (1)SHA384  DTLS-Tunnel: (1)SHA1",
            _pair("Bytes Tx", str(15986 + 7 * s.index), "Bytes Rx", str(2934 + 3 * s.index)),
            _pair("Group Policy", s.group_policy, "Tunnel Group", "vpn"),
            f"Login Time   : {_clock(s.login)}",
            f"Duration     : {_duration(now - s.login)}",
            "Inactivity   : 0h:00m:00s",
            _pair("VLAN Mapping", "N/A", "VLAN", "none"),
            f"Audt Sess ID : {audit}",
            "Security Grp : none",
            "",
        ]  # fmt: skip
    return "\n".join(out) + "\n"


def summary_text(state: AsaState) -> str:
    active, total = len(state.sessions), state.cumulative
    rule = "-" * 75
    return "\n".join([
        rule, "VPN Session Summary", rule,
        "                               Active : Cumulative : Peak Concur : Inactive",
        "                             ----------------------------------------------",
        f"AnyConnect Client            : {active:>6} : {total:>10} : {active:>11} : {0:>8}",
        f"  SSL/TLS/DTLS               : {active:>6} : {total:>10} : {active:>11} : {0:>8}",
        rule,
        f"Total Active and Inactive    : {active:>6}             Total Cumulative : {total:>5}",
        "Device Total VPN Capacity    :    300",
        f"Device Load                  : {active * 100 // 300:>5}%",
        rule, rule, "Tunnels Summary", rule,
        "                               Active : Cumulative : Peak Concurrent",
        "                             ----------------------------------------------",
        *[f"{name:<29}: {active:>6} : {total:>10} : {active:>15}"
          for name in ("AnyConnect-Parent", "SSL-Tunnel", "DTLS-Tunnel")],
        rule,
        f"Totals                       : {3 * active:>6} : {3 * total:>10}",
        rule, "",
    ])  # fmt: skip


VERSION = """
Cisco Adaptive Security Appliance Software Version 9.8(4)20
Firepower Extensible Operating System Version 2.2(2.121)
Device Manager Version 7.8(2)

Compiled on Fri 06-Sep-19 15:22 PDT by builders
System image file is "disk0:/asa984-20-lfbff-k8.SPA"
Config file at boot was "startup-config"

{host} up {uptime}

Hardware:   ASA5516, 8192 MB RAM, CPU Atom C2000 series 2416 MHz, 1 CPU (8 cores)
Internal ATA Compact Flash, 8192MB
BIOS Flash M25P64 @ 0xfed01000, 16384KB

Licensed features for this platform:
Maximum Physical Interfaces       : Unlimited      perpetual
AnyConnect Premium Peers          : 300            perpetual

Serial Number: JAD21270ABC
Configuration register is 0x1
Configuration last modified by enable_15 at 14:30:12.000 UTC Mon Sep 26 2022
"""


# -- the CLI ------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class _Incomplete(Exception):
    pass


class _Close(Exception):
    pass


class _Words:
    """The words of one line and where each starts (for the caret)."""

    def __init__(self, line: str) -> None:
        self.words: list[str] = []
        self.starts: list[int] = []
        index = 0
        for part in line.split():
            index = line.index(part, index)
            self.words.append(part)
            self.starts.append(index)
            index += len(part)
        self.line = line

    def __len__(self) -> int:
        return len(self.words)

    def kw(self, index: int, *options: str) -> str:
        """The keyword word ``index`` abbreviates, or an invalid/incomplete error."""
        if index >= len(self.words):
            raise _Incomplete()
        word = self.words[index].lower()
        if word in options:
            return word
        found = [o for o in options if o.startswith(word)]
        if len(found) != 1:
            raise _Invalid(index)
        return found[0]

    def arg(self, index: int) -> str:
        if index >= len(self.words):
            raise _Incomplete()
        return self.words[index]

    def number(self, index: int, low: int, high: int) -> int:
        text = self.arg(index)
        if not text.isdigit() or not low <= int(text) <= high:
            raise _Invalid(index)
        return int(text)

    def end(self, index: int) -> None:
        if index < len(self.words):
            raise _Invalid(index)


def _name_ok(words: _Words, index: int) -> str:
    name = words.arg(index)
    if not name.replace("-", "").replace("_", "").replace(".", "").replace("@", "").isalnum():
        raise _Invalid(index)
    return name


class AsaShell(Shell):
    def __init__(self, device: AsaDevice, username: str) -> None:
        self.device = device
        self.user = username
        self.mode = "user"  # user | exec | config | config-username | config-group-policy
        self.context = ""
        self.pending: str | None = None  # "enable" | "logoff:<user>"

    @property
    def state(self) -> AsaState:
        return self.device.state

    def banner(self) -> str:
        return ""

    def prompt(self) -> str:
        if self.pending == "enable":
            return "Password: "
        if self.pending is not None:
            return ""
        host = self.state.hostname
        return {"user": f"{host}> ", "exec": f"{host}# "}.get(self.mode, f"{host}({self.mode})# ")

    def feed(self, line: str) -> Reply:
        prompt_len = len(self.prompt())
        if self.pending is not None:
            return self._answer(line)
        words = _Words(line)
        if not words or line.lstrip().startswith(("!", ":")):
            return Reply()
        before = asdict(self.state)
        try:
            output = self._dispatch(words)
        except _Invalid as err:
            caret = " " * (prompt_len + words.starts[err.index]) + "^"
            output = f"{caret}\n{INVALID}\n"
        except _Incomplete:
            output = f"{INCOMPLETE}\n"
        except _Close:
            return Reply("\nLogoff\n\n", close=True)
        return Reply(output, echo_next=self.pending != "enable", changed=asdict(self.state) != before)

    def _answer(self, line: str) -> Reply:
        pending, self.pending = self.pending, None
        if pending == "enable":
            if password_hash("enable", line) == self.state.enable_hash:
                self.mode = "exec"
                return Reply()
            return Reply("Invalid password\n")
        user = str(pending).split(":", 1)[1]
        if line.strip().lower() in ("", "y", "yes"):
            count = self.device.logoff(user, time.time())
            return Reply(_logoff_text(user, count), changed=count > 0)
        return Reply()

    def _dispatch(self, words: _Words) -> str:
        if self.mode == "user":
            return self._user(words)
        if self.mode == "exec":
            return self._exec(words)
        return self._config(words)

    # -- user and privileged EXEC -----------------------------------------------------
    def _user(self, words: _Words) -> str:
        verb = words.kw(0, "enable", "exit", "quit", "logout", "show", "login")
        if verb == "enable":
            self.pending = "enable"
            return ""
        if verb in ("exit", "quit", "logout"):
            raise _Close()
        if verb == "show":
            what = words.kw(1, "curpriv", "version")
            return self._curpriv() if what == "curpriv" else self._version()
        raise _Invalid(0)

    def _curpriv(self) -> str:
        level, mode = (1, "P_UNPR") if self.mode == "user" else (15, "P_PRIV")
        if self.mode.startswith("config"):
            mode = "P_CONF"
        name = self.user if self.mode != "user" else "enable_1"
        return f"Username : {name}\nCurrent privilege level : {level}\nCurrent Mode/s : {mode}\n"

    def _version(self) -> str:
        return VERSION.format(host=self.state.hostname, uptime="12 days 3 hours")

    def _exec(self, words: _Words) -> str:
        verb = words.kw(0, "show", "vpn-sessiondb", "terminal", "configure", "write", "enable",
                        "disable", "exit", "quit", "logout", "copy")  # fmt: skip
        if verb == "show":
            return self._show(words)
        if verb == "vpn-sessiondb":
            return self._logoff(words)
        if verb == "terminal":
            return self._terminal(words)
        if verb == "configure":
            words.kw(1, "terminal")
            words.end(2)
            self.mode = "config"
            return ""
        if verb == "write":
            if len(words) > 1:
                words.kw(1, "memory")
            return self._write()
        if verb == "copy":
            words.kw(1, "running-config")
            words.kw(2, "startup-config")
            return self._write()
        if verb == "enable":
            return ""
        if verb == "disable":
            self.mode = "user"
            return ""
        raise _Close()

    def _write(self) -> str:
        self.state.saved = running_config(self.state)
        checksum = self.state.saved.split("Cryptochecksum:")[1].split("\n")[0]
        return f"Building configuration...\nCryptochecksum: {checksum}\n\n[OK]\n"

    def _terminal(self, words: _Words) -> str:
        what = words.kw(1, "pager", "width")
        if what == "pager":
            words.number(2 if words.words[2:3] != ["lines"] else 3, 0, 2147483647)
        else:
            words.number(2, 40, 511)
        return ""

    def _show(self, words: _Words) -> str:
        what = words.kw(1, "curpriv", "version", "running-config", "vpn-sessiondb", "clock")
        if what == "curpriv":
            return self._curpriv()
        if what == "version":
            return self._version()
        if what == "clock":
            return _clock(time.time()) + "\n"
        if what == "running-config":
            return self._show_run(words)
        if len(words) == 2:
            return summary_text(self.state)
        kind = words.kw(2, "anyconnect", "summary")
        if kind == "summary":
            words.end(3)
            return summary_text(self.state)
        only = None
        if len(words) > 3:
            words.kw(3, "filter")
            words.kw(4, "name")
            only = words.arg(5)
            words.end(6)
        return sessions_text(self.state, time.time(), only)

    def _show_run(self, words: _Words) -> str:
        if len(words) == 2:
            return running_config(self.state)
        part = words.kw(2, "username", "group-policy")
        name = words.arg(3) if len(words) > 3 else None
        words.end(4)
        lines: list[str] = []
        if part == "username":
            for user in sorted(self.state.users):
                if name is None or user == name:
                    lines += _user_lines(user, self.state.users[user])
        else:
            for group, policy in sorted(self.state.policies.items()):
                if name is None or group == name:
                    lines += _policy_lines(group, policy)
        return "".join(line + "\n" for line in lines)

    def _logoff(self, words: _Words) -> str:
        words.kw(1, "logoff")
        words.kw(2, "name")
        user = words.arg(3)
        if len(words) > 4:
            words.kw(4, "noconfirm")
            words.end(5)
            count = self.device.logoff(user, time.time())
            return _logoff_text(user, count)
        self.pending = f"logoff:{user}"
        return "Do you want to logoff the VPN session(s)? [confirm]"

    # -- configuration ----------------------------------------------------------------
    def _config(self, words: _Words) -> str:
        first = words.words[0].lower()
        if self.mode != "config" and first not in ("username", "group-policy", "hostname", "end"):
            if first == "exit":
                self.mode, self.context = "config", ""
                return ""
            if first == "no" or first.startswith("vpn-"):
                return self._attribute(words)
        verb = words.kw(0, "username", "group-policy", "hostname", "end", "exit", "no", "terminal",
                        "show", "write")  # fmt: skip
        if verb == "end":
            self.mode, self.context = "exec", ""
            return ""
        if verb == "exit":
            self.mode, self.context = ("exec", "") if self.mode == "config" else ("config", "")
            return ""
        if verb == "terminal":
            return self._terminal(words)
        if verb == "show":
            return self._show(words)
        if verb == "write":
            return self._write()
        if verb == "hostname":
            self.state.hostname = _name_ok(words, 1)
            words.end(2)
            return ""
        if verb == "username":
            return self._username(words)
        if verb == "group-policy":
            return self._group_policy(words)
        return self._no_global(words)

    def _username(self, words: _Words) -> str:
        name = _name_ok(words, 1)
        sub = words.kw(2, "password", "attributes", "nopassword")
        if sub == "attributes":
            words.end(3)
            if name not in self.state.users:
                return f"ERROR: Username {name} does not exist\n"
            self.mode, self.context = "config-username", name
            return ""
        password = words.arg(3) if sub == "password" else ""
        index = 4 if sub == "password" else 3
        privilege = 2
        if len(words) > index:
            words.kw(index, "privilege")
            privilege = words.number(index + 1, 0, 15)
            words.end(index + 2)
        user = self.state.users.get(name)
        hashed = password_hash(name, password)
        if user is None:
            self.state.users[name] = AsaUser(hashed, privilege)
        else:
            user.hash, user.privilege = hashed, privilege
        return ""

    def _group_policy(self, words: _Words) -> str:
        name = _name_ok(words, 1)
        sub = words.kw(2, "internal", "attributes", "external")
        words.end(3)
        policy = self.state.policies.get(name)
        if sub == "internal":
            if policy is None:
                self.state.policies[name] = GroupPolicy(True)
            return ""
        if sub == "external":
            raise _Invalid(2)
        if policy is None:
            return f"ERROR: Group-policy {name} does not exist\n"
        self.mode, self.context = "config-group-policy", name
        return ""

    def _no_global(self, words: _Words) -> str:
        what = words.kw(1, "username", "group-policy")
        name = words.arg(2)
        if what == "username":
            if self.state.users.pop(name, None) is None:
                return f"ERROR: Username {name} does not exist\n"
            return ""
        in_use = [u for u, a in self.state.users.items() if a.attributes.get("vpn-group-policy") == name]
        if name not in self.state.policies:
            return f"ERROR: Group-policy {name} does not exist\n"
        if in_use:
            return f"ERROR: Group policy {name} is in use by user {sorted(in_use)[0]}\n"
        del self.state.policies[name]
        return ""

    def _attributes(self) -> dict[str, str]:
        if self.mode == "config-username":
            return self.state.users[self.context].attributes
        return self.state.policies[self.context].attributes

    def _attribute(self, words: _Words) -> str:
        negate = words.words[0].lower() == "no"
        base = 1 if negate else 0
        options: tuple[str, ...] = ("vpn-simultaneous-logins", "vpn-tunnel-protocol")
        if self.mode == "config-username":
            options = ("vpn-group-policy", *options)
        key = words.kw(base, *options)
        attrs = self._attributes()
        if negate:
            attrs.pop(key, None)
            return ""
        if key == "vpn-simultaneous-logins":
            attrs[key] = str(words.number(base + 1, 0, 2147483647))
            words.end(base + 2)
        elif key == "vpn-group-policy":
            group = words.arg(base + 1)
            words.end(base + 2)
            if group not in self.state.policies:
                return f"ERROR: Group-policy {group} does not exist\n"
            attrs[key] = group
        else:
            protocols = [words.kw(i, *PROTOCOLS) for i in range(base + 1, max(base + 2, len(words)))]
            attrs[key] = " ".join(p for p in PROTOCOLS if p in protocols)
        return ""


def _logoff_text(user: str, count: int) -> str:
    return f'INFO: Number of sessions with name "{user}" logged off : {count}\n'
