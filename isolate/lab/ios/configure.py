"""Configuration-mode commands: global, interface, vlan, extended ACL and archive modes.

Each handler takes the shell and the line's tokens, changes the model, and returns
the text IOS prints (usually nothing). Errors are raised as ``CliError``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from isolate.lab.ios import names
from isolate.lab.ios.acl import Ace, parse_ace
from isolate.lab.ios.cli import CliError, Tokens, parse_int, parse_vlan_list, vlan_list
from isolate.lab.ios.config import Interface, Route

if TYPE_CHECKING:
    from isolate.lab.ios.shell import IosShell

GLOBAL_WORDS = ("aaa", "access-list", "archive", "banner", "boot", "cdp", "class-map", "clock",
                "crypto", "default", "do", "enable", "end", "exit", "hostname", "interface", "ip",
                "ipv6", "line", "lldp", "logging", "mac", "monitor", "no", "ntp", "policy-map",
                "privilege", "router", "service", "snmp-server", "spanning-tree", "username",
                "vlan", "vtp")
IP_WORDS = ("access-list", "access-group", "address", "default-gateway", "dhcp", "domain",
            "domain-lookup", "domain-name", "forward-protocol", "ftp", "http", "name-server",
            "route", "routing", "scp", "ssh", "tftp")
IF_WORDS = ("arp", "bandwidth", "cdp", "channel-group", "default", "delay", "description", "do",
            "duplex", "end", "exit", "help", "ip", "ipv6", "load-interval", "logging", "mtu", "no",
            "shutdown", "spanning-tree", "speed", "switchport", "vrf")
SWITCHPORT_WORDS = ("access", "block", "host", "mode", "nonegotiate", "port-security",
                    "priority", "protected", "trunk", "voice")
IF_IP_WORDS = ("access-group", "address", "arp", "dhcp", "helper-address", "mtu", "ospf",
               "proxy-arp", "redirects", "unreachables")
VLAN_WORDS = ("do", "end", "exit", "name", "no", "shutdown", "state")
NACL_WORDS = ("deny", "do", "dynamic", "end", "evaluate", "exit", "no", "permit", "remark")
ARCHIVE_WORDS = ("do", "end", "exit", "log", "maximum", "no", "path", "rollback", "time-period",
                 "write-memory")
L2_ONLY = "% IP addresses may not be configured on L2 links.\n"
VTP_CLIENT = "VTP VLAN configuration not allowed when device is in CLIENT mode.\n"
VTP_MODES = ("client", "off", "server", "transparent")


def _ip(tokens: Tokens, index: int) -> str:
    try:
        return str(ipaddress.IPv4Address(tokens.word(index)))
    except ValueError:
        raise CliError.invalid(index) from None


def _mask(tokens: Tokens, index: int) -> str:
    mask = _ip(tokens, index)
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{mask}")
    except ValueError:
        raise CliError.invalid(index) from None
    return mask


def interface_name(sh: IosShell, tokens: Tokens, index: int) -> tuple[str, int]:
    """Parse ``gi1/0/5`` or ``Gi 1/0/5``; returns the full name and the next index."""
    word = tokens.word(index)
    consumed = 1
    text = word
    if names.match_type(word) is not None and not any(c.isdigit() for c in word):
        text = word + tokens.word(index + 1)
        consumed = 2
    try:
        name = names.normalise(text)
    except names.BadInterface as bad:
        raise CliError.invalid(index + (bad.where if consumed == 2 else 0)) from None
    if not names.is_virtual(name) and name not in sh.device.config.interfaces:
        raise CliError.invalid(index + consumed - 1)
    return name, index + consumed


# ----------------------------------------------------------------- global mode


def global_command(sh: IosShell, t: Tokens) -> str:
    word = t.keyword(0, GLOBAL_WORDS)
    if word == "no":
        return _global_no(sh, t)
    if word == "hostname":
        name = t.word(1)
        t.done(2)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,62}", name):
            return "% Hostname contains one or more illegal characters.\n"
        sh.device.config.hostname = name
        sh.device.touch()
        return ""
    if word == "vlan":
        vids = parse_vlan_list(t, 1)
        t.done(2)
        config = sh.device.config
        if config.vtp_mode == "client":
            return VTP_CLIENT
        if any(vid not in config.vlans for vid in vids):
            config.vlan_db_changed()
        for vid in vids:
            config.vlans.setdefault(vid, None)
        sh.device.touch()
        sh.enter("config-vlan", vids)
        return ""
    if word == "vtp":
        return _vtp(sh, t)
    if word == "ntp":
        return _ntp(sh, t)
    if word == "banner":
        return _banner(sh, t)
    if word == "interface":
        name, at = interface_name(sh, t, 1)
        t.done(at)
        config = sh.device.config
        if name not in config.interfaces:
            config.interfaces[name] = Interface(name, switchport=False)
            sh.device.touch()
        sh.enter("config-if", name)
        return ""
    if word == "ip":
        return _global_ip(sh, t)
    if word == "lldp":
        if t.keyword(1, ("holdtime", "reinit", "run", "timer", "tlv-select")) != "run":
            raise CliError.invalid(1)
        t.done(2)
        sh.device.config.lldp = True
        sh.device.touch()
        return ""
    if word == "archive":
        t.done(1)
        if not sh.device.config.archive_enabled:
            sh.device.config.archive_enabled = True
            sh.device.touch()
        sh.enter("config-archive", None)
        return ""
    if len(t) == 1:
        raise CliError.incomplete()
    raise CliError.invalid(1)


NTP_PERIOD = 36028797  # what a Catalyst writes first (IOS 15.2)


def _ntp(sh: IosShell, t: Tokens) -> str:
    config = sh.device.config
    what = t.keyword(1, ("access-group", "authenticate", "clock-period", "logging", "master",
                         "peer", "server", "source", "update-calendar"))
    if what == "server":
        address = _ip(t, 2)
        if len(t) > 3:
            t.keyword(3, ("key", "prefer", "source", "version"))
        if address not in config.ntp_servers:
            config.ntp_servers.append(address)
            if config.ntp_period is None:
                config.ntp_period = NTP_PERIOD
        sh.device.touch()
        return ""
    if what == "clock-period":
        config.ntp_period = parse_int(t, 2, 0, 4294967295)
        t.done(3)
        sh.device.touch()
        return ""
    raise CliError.invalid(1)


def _banner(sh: IosShell, t: Tokens) -> str:
    """``banner motd ^C`` then lines up to the delimiter, or ``banner motd #text#``."""
    kind = t.keyword(1, ("exec", "incoming", "login", "motd", "prompt-timeout", "slip-ppp"))
    if kind != "motd":
        raise CliError.invalid(1)
    rest = t.rest(2)
    if not rest:
        raise CliError.incomplete()
    delim = "^C" if rest.startswith("^C") else rest[0]
    body = rest[len(delim) :]
    if delim in body:
        sh.device.config.banner_motd = body[: body.index(delim)]
        sh.device.touch()
        return ""
    sh.collect_banner(delim, body)
    return f"Enter TEXT message.  End with the character '{delim}'.\n"


def _vtp(sh: IosShell, t: Tokens) -> str:
    config = sh.device.config
    what = t.keyword(1, ("domain", "file", "interface", "mode", "password", "pruning",
                         "version"))
    if what == "mode":
        mode = t.keyword(2, VTP_MODES)
        t.done(3)
        if mode == "off":
            raise CliError.invalid(2)  # VTP version 3 only
        label = mode.capitalize()
        if config.vtp_mode == mode:
            return f"Device mode already VTP {label} for VLANS.\n"
        config.vtp_mode = mode
        sh.device.touch()
        return f"Setting device to VTP {label} mode for VLANS.\n"
    if what == "domain":
        name = t.word(2)
        t.done(3)
        before, config.vtp_domain = config.vtp_domain or "NULL", name
        sh.device.touch()
        return f"Changing VTP domain name from {before} to {name}\n"
    if what in ("password", "version"):
        t.word(2)
        t.done(3)
        return ""
    raise CliError.invalid(1)


def _global_ip(sh: IosShell, t: Tokens) -> str:
    sub = t.keyword(1, IP_WORDS)
    config = sh.device.config
    if sub == "access-list":
        kind = t.keyword(2, ("extended", "log-update", "logging", "resequence", "role-based",
                             "standard"))
        if kind != "extended":
            raise CliError.invalid(2)
        name = t.word(3)
        t.done(4)
        if name not in config.acls:
            config.acls[name] = []
            sh.device.touch()
        sh.enter("config-ext-nacl", name)
        return ""
    if sub in ("domain", "domain-name"):
        at = 2
        if sub == "domain":
            if t.keyword(2, ("list", "lookup", "name", "timeout")) != "name":
                raise CliError.invalid(2)
            at = 3
        name = t.word(at)
        t.done(at + 1)
        config.domain = name
        sh.device.touch()
        return ""
    if sub == "route":
        route = _route(t, 2)
        if all(r.line() != route.line() for r in config.routes):
            config.routes.append(route)
            config.routes.sort(key=lambda r: (r.network(), r.target))
            sh.device.touch()
        return ""
    if len(t) == 2:
        raise CliError.incomplete()
    raise CliError.invalid(2)


def _route(t: Tokens, at: int) -> Route:
    prefix, mask = _ip(t, at), _mask(t, at + 1)
    low = t.word(at + 2).lower()
    end = at + 3
    if re.fullmatch(r"nu(l|ll)?0", low):
        target = "Null0"
    elif low in ("nu", "nul", "null"):
        if t.word(at + 3) != "0":
            raise CliError.invalid(at + 3)
        target, end = "Null0", at + 4
    else:
        target = _ip(t, at + 2)
    t.done(end)
    network = ipaddress.IPv4Network(f"{prefix}/{mask}", strict=False)
    if str(network.network_address) != prefix:
        raise CliError.invalid(at)  # IOS: "%Inconsistent address and mask"
    return Route(prefix, mask, target)


def _global_no(sh: IosShell, t: Tokens) -> str:
    word = t.keyword(1, GLOBAL_WORDS)
    config = sh.device.config
    if word == "vlan":
        vids = parse_vlan_list(t, 2)
        t.done(3)
        if 1 in vids:
            return "Default VLAN 1 may not be deleted.\n"
        if config.vtp_mode == "client":
            return VTP_CLIENT
        if any(vid in config.vlans for vid in vids):
            config.vlan_db_changed()
        for vid in vids:
            config.vlans.pop(vid, None)
        sh.device.touch()
        return ""
    if word == "interface":
        name, at = interface_name(sh, t, 2)
        t.done(at)
        if not names.is_virtual(name):
            return "% Removal of physical interfaces is not permitted\n"
        if config.interfaces.pop(name, None) is not None:
            sh.device.touch()
        return ""
    if word == "ip":
        sub = t.keyword(2, IP_WORDS)
        if sub == "access-list":
            if t.keyword(3, ("extended", "standard")) != "extended":
                raise CliError.invalid(3)
            name = t.word(4)
            t.done(5)
            if config.acls.pop(name, None) is not None:
                sh.device.touch()
            return ""
        if sub == "route":
            route = _route(t, 3)
            before = len(config.routes)
            config.routes = [r for r in config.routes if r.line() != route.line()]
            if len(config.routes) == before:
                return "%No matching route to delete\n"
            sh.device.touch()
            return ""
        raise CliError.invalid(2) if len(t) > 2 else CliError.incomplete()
    if word == "archive":
        t.done(2)
        config.archive_enabled, config.archive_path, config.archive_maximum = False, None, None
        sh.device.touch()
        return ""
    if word == "lldp":
        if t.keyword(2, ("holdtime", "reinit", "run", "timer", "tlv-select")) != "run":
            raise CliError.invalid(2)
        t.done(3)
        config.lldp = False
        sh.device.touch()
        return ""
    if word == "ntp":
        what = t.keyword(2, ("clock-period", "server"))
        if what == "server":
            address = _ip(t, 3)
            t.done(4)
            if address in config.ntp_servers:
                config.ntp_servers.remove(address)
        else:
            t.done(3)
            config.ntp_period = None
        sh.device.touch()
        return ""
    if word == "banner":
        t.keyword(2, ("motd",))
        t.done(3)
        config.banner_motd = None
        sh.device.touch()
        return ""
    if word == "hostname":
        config.hostname = "Switch"
        sh.device.touch()
        return ""
    if len(t) == 2:
        raise CliError.incomplete()
    raise CliError.invalid(2)


# ----------------------------------------------------------------- vlan mode


def vlan_command(sh: IosShell, t: Tokens) -> str:
    word = t.keyword(0, VLAN_WORDS)
    negate = word == "no"
    at = 1 if negate else 0
    if negate:
        word = t.keyword(1, VLAN_WORDS)
    if word != "name":
        raise CliError.invalid(at)
    vids: list[int] = sh.context
    config = sh.device.config
    name: str | None = None
    if negate:
        t.done(at + 1)
    else:
        name = t.word(at + 1)
        t.done(at + 2)
    if any(config.vlans.get(vid) != name for vid in vids):
        config.vlan_db_changed()
    for vid in vids:
        config.vlans[vid] = name
    sh.device.touch()
    return ""


# ----------------------------------------------------------------- interface mode


def interface_command(sh: IosShell, t: Tokens) -> str:
    word = t.keyword(0, IF_WORDS)
    negate = word == "no"
    at = 1 if negate else 0
    if negate:
        word = t.keyword(1, IF_WORDS)
    iface: Interface = sh.device.config.interfaces[sh.context]
    output = _interface_apply(sh, iface, word, t, at, negate)
    sh.device.touch()
    return output


def _interface_apply(
    sh: IosShell, iface: Interface, word: str, t: Tokens, at: int, negate: bool
) -> str:
    if word == "description":
        if negate:
            iface.description = None
        else:
            t.word(at + 1)
            iface.description = t.rest(at + 1)
        return ""
    if word == "shutdown":
        t.done(at + 1)
        iface.shutdown = not negate
        return ""
    if word == "switchport":
        return _switchport(sh, iface, t, at, negate)
    if word == "ip":
        return _interface_ip(iface, t, at, negate)
    if len(t) == at + 1:
        raise CliError.incomplete()
    raise CliError.invalid(at + 1)


def _switchport(sh: IosShell, iface: Interface, t: Tokens, at: int, negate: bool) -> str:
    if len(t) == at + 1:
        if names.is_virtual(iface.name):
            raise CliError.invalid(at)
        iface.switchport = not negate
        if negate:
            iface.mode, iface.access_vlan, iface.trunk_allowed = None, 1, None
        else:
            iface.ip_address = iface.ip_mask = None
        return ""
    if not iface.switchport:
        raise CliError.invalid(at)
    sub = t.keyword(at + 1, SWITCHPORT_WORDS)
    if sub == "mode":
        if negate:
            t.done(at + 2)
            iface.mode = None
            return ""
        iface.mode = t.keyword(at + 2, ("access", "dot1q-tunnel", "dynamic", "private-vlan",
                                        "trunk"))
        if iface.mode not in ("access", "trunk"):
            raise CliError.invalid(at + 2)
        t.done(at + 3)
        return ""
    if sub == "access":
        t.keyword(at + 2, ("vlan",))
        if negate:
            iface.access_vlan = 1
            return ""
        vid = parse_int(t, at + 3, 1, 4094)
        t.done(at + 4)
        iface.access_vlan = vid
        config = sh.device.config
        if vid not in config.vlans and vid != 1 and config.vtp_mode != "client":
            config.vlans[vid] = None
            config.vlan_db_changed()
            return f"% Access VLAN does not exist. Creating vlan {vid}\n"
        return ""
    if sub == "trunk":
        return _trunk(iface, t, at, negate)
    if len(t) == at + 2:
        raise CliError.incomplete()
    raise CliError.invalid(at + 2)


def _trunk(iface: Interface, t: Tokens, at: int, negate: bool) -> str:
    what = t.keyword(at + 2, ("allowed", "encapsulation", "native", "pruning"))
    if what != "allowed":
        raise CliError.invalid(at + 2)
    t.keyword(at + 3, ("vlan",))
    if negate:
        t.done(at + 4)
        iface.trunk_allowed = None
        return ""
    word = t.word(at + 4).lower()
    current = set(iface.trunk_allowed) if iface.trunk_allowed is not None else set(range(1, 4095))
    if word in ("all", "none"):
        t.done(at + 5)
        iface.trunk_allowed = None if word == "all" else ()
        return ""
    if word in ("add", "remove", "except"):
        vids = set(vlan_list(t.word(at + 5), at + 5))
        t.done(at + 6)
        if word == "add":
            current |= vids
        elif word == "remove":
            current -= vids
        else:
            current = set(range(1, 4095)) - vids
    else:
        current = set(vlan_list(t.word(at + 4), at + 4))
        t.done(at + 5)
    iface.trunk_allowed = None if current == set(range(1, 4095)) else tuple(sorted(current))
    return ""


def _interface_ip(iface: Interface, t: Tokens, at: int, negate: bool) -> str:
    sub = t.keyword(at + 1, IF_IP_WORDS)
    if sub == "address":
        if negate:
            iface.ip_address = iface.ip_mask = None
            return ""
        address, mask = _ip(t, at + 2), _mask(t, at + 3)
        t.done(at + 4)
        if iface.switchport:
            return L2_ONLY
        iface.ip_address, iface.ip_mask = address, mask
        return ""
    if sub == "access-group":
        if negate and len(t) == at + 3:
            direction = t.keyword(at + 2, ("in", "out"))
            name = None
        else:
            name = t.word(at + 2)
            direction = t.keyword(at + 3, ("in", "out"))
            t.done(at + 4)
        if direction == "in":
            if not negate or name is None or iface.acl_in == name:
                iface.acl_in = None if negate else name
        elif not negate or name is None or iface.acl_out == name:
            iface.acl_out = None if negate else name
        return ""
    if len(t) == at + 2:
        raise CliError.incomplete()
    raise CliError.invalid(at + 2)


# ----------------------------------------------------------------- ACL mode


def acl_command(sh: IosShell, t: Tokens) -> str:
    aces: list[Ace] = sh.device.config.acls.setdefault(sh.context, [])
    first = t.word(0)
    if first.isdigit():
        seq = parse_int(t, 0, 1, 2147483647)
        if any(a.seq == seq for a in aces):
            return "% Duplicate sequence number\n"
        ace = parse_ace(t, 1, seq)
        return _insert(sh, aces, ace)
    word = t.keyword(0, NACL_WORDS)
    if word == "no":
        if t.word(1).isdigit():
            seq = parse_int(t, 1, 1, 2147483647)
            t.done(2)
            aces[:] = [a for a in aces if a.seq != seq]
        else:
            gone = parse_ace(t, 1, 0)
            aces[:] = [a for a in aces if a.action != gone.action or a.body() != gone.body()]
        sh.device.touch()
        return ""
    if word in ("permit", "deny", "remark"):
        last = aces[-1].seq if aces else 0  # aces are kept in sequence order (_insert)
        ace = parse_ace(t, 0, last + 10)
        listed = _listed(sh, aces)
        if ace.action != "remark" and (ace.action, ace.body()) in listed:
            return ""
        _insert(sh, aces, ace)
        if ace.action != "remark":
            listed.add((ace.action, ace.body()))
        sh.ace_index = (aces, sh.device.version, listed)
        return ""
    raise CliError.invalid(0)


def _listed(sh: IosShell, aces: list[Ace]) -> set[tuple[str, str]]:
    """The (action, body) of every entry of ``aces``, to refuse a duplicate without comparing
    with each entry (a 400-entry ACL typed line by line was quadratic). Kept for the list the
    shell last added to, and valid while the device is unchanged since: every change to a
    device, by any session, bumps its version (``touch``)."""
    index = sh.ace_index
    if index is not None and index[0] is aces and index[1] == sh.device.version:
        return index[2]
    return {(a.action, a.body()) for a in aces if a.action != "remark"}


def _insert(sh: IosShell, aces: list[Ace], ace: Ace) -> str:
    if aces and aces[-1].seq > ace.seq:
        aces.append(ace)
        aces.sort(key=lambda a: a.seq)
    else:
        aces.append(ace)
    sh.device.touch()
    return ""


# ----------------------------------------------------------------- archive mode


def archive_command(sh: IosShell, t: Tokens) -> str:
    word = t.keyword(0, ARCHIVE_WORDS)
    negate = word == "no"
    at = 1 if negate else 0
    if negate:
        word = t.keyword(1, ARCHIVE_WORDS)
    config = sh.device.config
    if word == "path":
        if negate:
            config.archive_path = None
        else:
            path = t.word(at + 1)
            t.done(at + 2)
            if ":" not in path:
                raise CliError.invalid(at + 1)
            config.archive_path = path
    elif word == "maximum":
        if negate:
            config.archive_maximum = None
        else:
            config.archive_maximum = parse_int(t, at + 1, 1, 14)
            t.done(at + 2)
    elif word == "write-memory":
        t.done(at + 1)
    else:
        raise CliError.invalid(at + 1) if len(t) > at + 1 else CliError.incomplete()
    sh.device.touch()
    return ""
