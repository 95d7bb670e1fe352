"""``show ...`` in exec mode: which words IOS accepts and which output answers them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from isolate.lab.ios import configure, show, show_net, show_sys
from isolate.lab.ios.cli import CliError, Tokens, parse_int

if TYPE_CHECKING:
    from isolate.lab.ios.shell import IosShell

SHOW_USER = ("aaa", "arp", "cdp", "clock", "environment", "etherchannel", "flash:", "history",
             "hosts", "interfaces", "inventory", "ip", "ipv6", "license", "lldp", "mac",
             "module", "ntp", "power", "privilege", "sessions", "spanning-tree", "switch",
             "terminal", "users", "version", "vlan", "vtp")
SHOW_EXEC = (*SHOW_USER, "access-lists", "archive", "configuration", "controllers", "debugging",
             "logging", "memory", "platform", "processes", "running-config", "startup-config",
             "tech-support")
SHOW_IP = ("access-lists", "arp", "bgp", "cef", "dhcp", "eigrp", "interface", "nat", "ospf",
           "protocols", "route", "ssh", "vrf")
MAC_WORDS = ("address", "aging-time", "count", "dynamic", "interface", "learning", "move",
             "multicast", "notification", "secure", "static", "vlan")


def run(sh: IosShell, t: Tokens) -> str:
    config = sh.device.config
    what = t.keyword(1, SHOW_EXEC if sh.mode != "user" else SHOW_USER)
    handler = _HANDLERS.get(what)
    if handler is not None:
        return handler(sh, t)
    if what == "startup-config":
        t.done(2)
        startup = sh.device.startup
        return show.running_config(startup) if startup else "startup-config is not present\n"
    if what == "access-lists":
        t.done(3)
        return show.ip_access_lists(config, t.words[2] if len(t) > 2 else None)
    if what == "version":
        t.done(2)
        return sh.device.show_version()
    if what == "privilege":
        t.done(2)
        return f"Current privilege level is {1 if sh.mode == 'user' else 15}\n"
    if what == "inventory":
        t.done(2)
        return show_sys.inventory(sh.device.spec.model, sh.device.spec.serial)
    if what == "hosts":
        t.done(2)
        return show_sys.hosts(config.domain)
    if what == "arp":
        return _arp(sh, t, 2)
    if len(t) == 2:
        raise CliError.incomplete()
    raise CliError.invalid(2)


def _running(sh: IosShell, t: Tokens) -> str:
    config = sh.device.config
    if len(t) > 2:
        if t.keyword(2, ("all", "interface", "partition", "view")) != "interface":
            raise CliError.invalid(2)
        name, at = configure.interface_name(sh, t, 3)
        t.done(at)
        if name not in config.interfaces:
            raise CliError.invalid(3)
        return show.running_interface(config, name)
    return sh.device.running_config()


def _vlan(sh: IosShell, t: Tokens) -> str:
    config = sh.device.config
    vids = sorted({1, *config.vlans, *dict(show.RESERVED_VLANS)})
    if len(t) == 2:
        return show_net.vlan_full(config, vids, trunks=False)
    how = t.keyword(2, ("all-ports", "brief", "id", "name", "summary"))
    if how == "brief":
        t.done(3)
        return show.vlan_brief(config)
    if how == "all-ports":
        t.done(3)
        return show_net.vlan_full(config, vids, trunks=True)
    if how == "id":
        vid = parse_int(t, 3, 1, 4094)
        t.done(4)
        return show_net.vlan_id(config, vid, vid in vids)
    raise CliError.invalid(2)


def _interfaces(sh: IosShell, t: Tokens) -> str:
    config = sh.device.config
    if len(t) == 2:
        return show_net.interfaces(config, sh.device.name)
    if t.word(2).lower().startswith("stat") and len(t) == 3:
        t.keyword(2, ("status",))
        return show.interfaces_status(config)
    name, at = configure.interface_name(sh, t, 2)
    t.done(at)
    if name not in config.interfaces:
        raise CliError.invalid(2)
    return show_net.interfaces(config, sh.device.name, only=name)


def _ip(sh: IosShell, t: Tokens) -> str:
    sub = t.keyword(2, SHOW_IP)
    config = sh.device.config
    if sub == "interface":
        if len(t) == 3:
            return show_net.ip_interface(config)
        t.keyword(3, ("brief",))
        t.done(4)
        return show.ip_interface_brief(config)
    if sub == "access-lists":
        t.done(4)
        return show.ip_access_lists(config, t.words[3] if len(t) > 3 else None)
    if sub == "arp":
        return _arp(sh, t, 3)
    raise CliError.invalid(3) if len(t) > 3 else CliError.incomplete()


def _arp(sh: IosShell, t: Tokens, at: int) -> str:
    match = None
    if len(t) > at:
        match = t.word(at)
        if not (show_net.is_ipv4(match) or show_net.is_mac(match)):
            raise CliError.invalid(at)
        match = match.lower()
        t.done(at + 1)
    return show_net.arp(sh.device.config, sh.device.where(), match)


def _mac(sh: IosShell, t: Tokens) -> str:
    t.keyword(2, ("address-table",))
    address = port = None
    vlan: int | None = None
    dynamic = False
    at = 3
    while at < len(t):
        word = t.keyword(at, MAC_WORDS)
        if word == "dynamic":
            dynamic, at = True, at + 1
        elif word == "address":
            address = t.word(at + 1).lower()
            if not show_net.is_mac(address):
                raise CliError.invalid(at + 1)
            at += 2
        elif word == "interface":
            port, at = configure.interface_name(sh, t, at + 1)
        elif word == "vlan":
            vlan, at = parse_int(t, at + 1, 1, 4094), at + 2
        else:
            raise CliError.invalid(at)
    return show_net.mac_table(sh.device.where(), address=address, port=port, vlan=vlan,
                              dynamic=dynamic)


def _cdp(sh: IosShell, t: Tokens) -> str:
    if len(t) == 2:
        return show_net.cdp_global()
    t.keyword(2, ("entry", "interface", "neighbors", "traffic"))
    if len(t) > 3:
        t.keyword(3, ("detail",))
        t.done(4)
        return show_net.cdp_detail(sh.device.where())
    return show_net.cdp_neighbors(sh.device.where())


def _lldp(sh: IosShell, t: Tokens) -> str:
    if not sh.device.config.lldp:
        for i in range(2, len(t)):
            t.word(i)
        return show_net.LLDP_OFF
    if len(t) == 2:
        return show_net.lldp_global()
    t.keyword(2, ("entry", "errors", "interface", "neighbors", "traffic"))
    if len(t) > 3:
        t.keyword(3, ("detail",))
        t.done(4)
        return show_net.lldp_detail(sh.device.where())
    return show_net.lldp_neighbors(sh.device.where())


def _archive(sh: IosShell, t: Tokens) -> str:
    if len(t) == 2:
        return show_sys.archive(sh.device.config, sh.device.archives)
    for i, word in enumerate(("config", "rollback", "timer"), start=2):
        t.keyword(i, (word,))
    t.done(5)
    return sh.device.revert_status()


def _ipv6(sh: IosShell, t: Tokens) -> str:
    t.keyword(2, ("access-list", "interface", "neighbors", "route"))
    return ""


def _memory(sh: IosShell, t: Tokens) -> str:
    if len(t) > 2:
        t.keyword(2, ("statistics",))
        t.done(3)
    return show_sys.MEMORY


def _processes(sh: IosShell, t: Tokens) -> str:
    if len(t) > 2:
        t.keyword(2, ("cpu", "memory"))
    return show_sys.CPU


def _switch(sh: IosShell, t: Tokens) -> str:
    if len(t) > 2:
        raise CliError.invalid(2)
    model = sh.device.spec.model
    return ("Switch/Stack Mac Address : " + sh.device.base_mac_dotted() + "\n"
            "                                           H/W   Current\n"
            "Switch#  Role   Mac Address     Priority Version  State \n"
            "----------------------------------------------------------\n"
            f"*1       Master {sh.device.base_mac_dotted()}     1      4       Ready\n"
            if "3750" in model else "Switch/Stack Mac Address : "
            + sh.device.base_mac_dotted() + "\n")


def _vtp(sh: IosShell, t: Tokens) -> str:
    if t.keyword(2, ("counters", "devices", "interface", "password", "status")) != "status":
        raise CliError.invalid(2)
    t.done(3)
    return show_sys.vtp_status(sh.device.config, sh.device.base_mac_dotted())


_HANDLERS = {
    "running-config": _running, "vlan": _vlan, "interfaces": _interfaces, "ip": _ip,
    "mac": _mac, "cdp": _cdp, "lldp": _lldp, "archive": _archive, "ipv6": _ipv6,
    "memory": _memory, "processes": _processes, "switch": _switch, "vtp": _vtp,
}
