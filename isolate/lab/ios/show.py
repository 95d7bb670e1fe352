"""Show-command output, formatted the way IOS 15.2 on a Catalyst prints it."""

from __future__ import annotations

import re

from isolate.lab.ios import names
from isolate.lab.ios.config import Interface, IosConfig

RESERVED_VLANS = ((1002, "fddi-default"), (1003, "token-ring-default"),
                   (1004, "fddinet-default"), (1005, "trnet-default"))


def with_header(body: str) -> str:
    return f"Building configuration...\n\nCurrent configuration : {len(body)} bytes\n{body}\n"


def running_config(config: IosConfig) -> str:
    return with_header(config.render())


def running_interface(config: IosConfig, name: str) -> str:
    body = "!\n" + "\n".join(config.interfaces[name].lines()) + "\nend\n"
    return with_header(body)


def carries(iface: Interface, vid: int) -> bool:
    if not iface.switchport:
        return False
    if iface.mode == "trunk":
        return iface.trunk_allowed is None or vid in iface.trunk_allowed
    return iface.access_vlan == vid


def _up(iface: Interface) -> bool:
    return iface.connected and not iface.shutdown


def vlan_brief(config: IosConfig) -> str:
    lines = ["", "VLAN Name                             Status    Ports",
             "---- -------------------------------- --------- -------------------------------"]
    members: dict[int, list[str]] = {}
    for iface in config.sorted_interfaces():
        if iface.switchport and iface.mode != "trunk" and not names.is_virtual(iface.name):
            members.setdefault(iface.access_vlan, []).append(names.short(iface.name))
    vids = sorted({1, *config.vlans})
    rows = [(vid, config.vlan_name(vid), "active") for vid in vids]
    rows += [(vid, name, "act/unsup") for vid, name in RESERVED_VLANS]
    for vid, name, status in rows:
        port_list = members.get(vid, [])
        ports = [", ".join(port_list[i : i + 4]) for i in range(0, len(port_list), 4)] or [""]
        lines.append(f"{vid:<4} {name[:32]:<32} {status:<9} {ports[0]}".rstrip())
        lines += [" " * 48 + more for more in ports[1:]]
    return "\n".join(lines) + "\n"


def _port_type(name: str) -> str:
    kind = names.split(name)[0]
    return {"FastEthernet": "10/100BaseTX", "TenGigabitEthernet": "SFP-10GBase-SR"}.get(
        kind, "10/100/1000BaseTX"
    )


def interfaces_status(config: IosConfig) -> str:
    lines = ["", "Port      Name               Status       Vlan       Duplex  Speed Type"]
    for iface in config.sorted_interfaces():
        if names.is_virtual(iface.name):
            continue
        status = "disabled" if iface.shutdown else "connected" if iface.connected else "notconnect"
        vlan = ("routed" if not iface.switchport else "trunk" if iface.mode == "trunk"
                else str(iface.access_vlan))
        duplex, speed = ("a-full", "a-1000") if _up(iface) else ("auto", "auto")
        if names.split(iface.name)[0] == "TenGigabitEthernet" and _up(iface):
            speed = "a-10G"
        desc = (iface.description or "")[:18]
        lines.append(f"{names.short(iface.name):<9} {desc:<18} {status:<12} {vlan:<10} "
                     f"{duplex:>6} {speed:>6} {_port_type(iface.name)}")
    return "\n".join(lines) + "\n"


def iface_state(config: IosConfig, iface: Interface) -> tuple[str, str]:
    if iface.shutdown:
        return "administratively down", "down"
    kind, number = names.split(iface.name)
    if kind == "Loopback":
        return "up", "up"
    if kind == "Vlan":
        vid = int(number)
        live = vid in config.vlans or vid == 1
        up = live and any(_up(i) and carries(i, vid) for i in config.interfaces.values())
        return ("up", "up" if up else "down") if live else ("down", "down")
    return ("up", "up") if iface.connected else ("down", "down")


def ip_interface_brief(config: IosConfig) -> str:
    lines = ["Interface              IP-Address      OK? Method Status                Protocol"]
    for iface in config.sorted_interfaces():
        status, proto = iface_state(config, iface)
        address = iface.ip_address or "unassigned"
        method = "NVRAM" if iface.ip_address else "unset"
        lines.append(f"{iface.name:<22} {address:<15} YES {method:<6} {status:<21} {proto}")
    return "\n".join(lines) + "\n"


def ip_access_lists(config: IosConfig, name: str | None = None) -> str:
    lines: list[str] = []
    for acl in sorted(config.acls):
        if name is not None and acl != name:
            continue
        lines.append(f"Extended IP access list {acl}")
        lines += [ace.show_line() for ace in config.acls[acl] if ace.action != "remark"]
    return "".join(line + "\n" for line in lines)


def family(model: str) -> str:
    return model.split("-")[1] if model.count("-") >= 2 else "C2960X"


def software_lines(model: str) -> list[str]:
    """The first lines of ``show version``, as CDP and LLDP advertise them."""
    fam = family(model)
    return [f"Cisco IOS Software, {fam} Software ({fam}-UNIVERSALK9-M), Version 15.2(7)E8, "
            "RELEASE SOFTWARE (fc2)",
            "Technical Support: http://www.cisco.com/techsupport",
            "Copyright (c) 1986-2023 by Cisco Systems, Inc.",
            "Compiled Fri 03-Mar-23 03:43 by mcpre"]


def version(config: IosConfig, *, model: str, serial: str, uptime_s: float, ports: int,
            mac: str = "00:1A:2B:3C:4D:00") -> str:
    minutes = int(uptime_s // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    uptime = f"{days} days, {hours} hours, {mins} minutes" if days else (
        f"{hours} hours, {mins} minutes" if hours else f"{mins} minutes")
    fam = family(model)
    image = f"{fam.lower()}-universalk9-mz.152-7.E8.bin"
    return "\n".join([
        *software_lines(model),
        "",
        f"ROM: Bootstrap program is {fam} boot loader",
        f"BOOTLDR: {fam} Boot Loader ({fam}-HBOOT-M) Version 15.2(7r)E, "
        "RELEASE SOFTWARE (fc1)",
        "",
        f"{config.hostname} uptime is {uptime}",
        "System returned to ROM by power-on",
        f'System image file is "flash:{image}"',
        "Last reload reason: power-on",
        "",
        "",
        f"cisco {model} (APM86XXX) processor (revision B0) with 524288K bytes of memory.",
        f"Processor board ID {serial}",
        "Last reset from power-on",
        "1 Virtual Ethernet interface",
        f"{ports} Gigabit Ethernet interfaces",
        "The password-recovery mechanism is enabled.",
        "",
        "512K bytes of flash-simulated non-volatile configuration memory.",
        f"Base ethernet MAC Address       : {mac}",
        f"Model number                    : {model}",
        f"System serial number            : {serial}",
        "",
        "",
        "Switch Ports Model                     SW Version            SW Image",
        "------ ----- -----                     ----------            ----------",
        f"*    1 {ports:<5} {model:<25} 15.2(7)E8             {fam}-UNIVERSALK9-M",
        "",
        "",
        "Configuration register is 0xF",
        "",
    ])


def apply_filter(text: str, how: str, pattern: str) -> str:
    """IOS output modifiers: include, exclude, begin, section, count."""
    try:
        regex = re.compile(pattern)
    except re.error:
        regex = re.compile(re.escape(pattern))
    lines = text.splitlines()
    if how == "include":
        kept = [ln for ln in lines if regex.search(ln)]
    elif how == "exclude":
        kept = [ln for ln in lines if not regex.search(ln)]
    elif how == "begin":
        start = next((i for i, ln in enumerate(lines) if regex.search(ln)), len(lines))
        kept = lines[start:]
    elif how == "count":
        return f"Number of lines which match regexp = {sum(bool(regex.search(x)) for x in lines)}\n"
    else:
        kept = _sections(lines, regex)
    return "".join(ln + "\n" for ln in kept)


def _sections(lines: list[str], regex: re.Pattern[str]) -> list[str]:
    kept: list[str] = []
    block: list[str] = []
    for line in [*lines, "!"]:
        if line and not line.startswith(" "):
            if block and any(regex.search(b) for b in block):
                kept += block
            block = [] if line.startswith("!") else [line]
        elif block:
            block.append(line)
    return kept
