"""Show commands about interfaces and neighbours, in the formats IOS 15.2 on a Catalyst
prints (as published with ntc-templates and parsed by NAPALM and Ansible ``cisco.ios``):
``show interfaces``, ``show ip interface``, ``show ip arp``, ``show mac address-table``,
``show cdp neighbors detail``, ``show lldp neighbors [detail]``, ``show vlan [all-ports|id]``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from isolate.lab import fabric as fab
from isolate.lab.ios import names
from isolate.lab.ios.config import Interface, IosConfig
from isolate.lab.ios.show import RESERVED_VLANS, carries, iface_state, software_lines

CPU_MACS = ("0100.0ccc.cccc", "0100.0ccc.cccd",
            *(f"0180.c200.{i:04x}" for i in range(0x11)), "ffff.ffff.ffff")


@dataclass(frozen=True)
class Where:
    """The device a show command runs on, as the fabric knows it."""

    name: str
    fabric: fab.Fabric | None


def _hw(iface: Interface, device: str, index: int) -> tuple[str, str]:
    kind = names.split(iface.name)[0]
    if kind == "Vlan":
        return "EtherSVI", fab.svi_mac(device)
    if kind == "Loopback":
        return "Loopback", ""
    label = {"FastEthernet": "Fast Ethernet", "TenGigabitEthernet": "Ten Gigabit Ethernet"}
    return label.get(kind, "Gigabit Ethernet"), fab.port_mac(device, index)


def _bandwidth(iface: Interface, up: bool) -> tuple[int, int]:
    kind = names.split(iface.name)[0]
    if kind in ("Vlan", "Loopback"):
        return (1000000, 10) if kind == "Vlan" else (8000000, 5000)
    if not up:
        return 10000, 1000
    return {"FastEthernet": (100000, 100), "TenGigabitEthernet": (10000000, 10)}.get(
        kind, (1000000, 10))


def _header(config: IosConfig, iface: Interface) -> tuple[str, bool]:
    status, proto = iface_state(config, iface)
    line = f"{iface.name} is {status}, line protocol is {proto} "
    if not names.is_virtual(iface.name):
        line += "(disabled)" if iface.shutdown else (
            "(connected)" if proto == "up" else "(notconnect)")
    return line.rstrip(), proto == "up"


def interfaces(config: IosConfig, device: str, only: str | None = None) -> str:
    out: list[str] = []
    for index, iface in enumerate(config.sorted_interfaces()):
        if only is not None and iface.name != only:
            continue
        head, up = _header(config, iface)
        hw, mac = _hw(iface, device, index)
        bw, dly = _bandwidth(iface, up)
        out.append(head)
        out.append(f"  Hardware is {hw}, address is {mac} (bia {mac})" if mac
                   else f"  Hardware is {hw}")
        if iface.description:
            out.append(f"  Description: {iface.description}")
        if iface.prefix is not None:
            out.append(f"  Internet address is {iface.prefix}")
        out += [f"  MTU 1500 bytes, BW {bw} Kbit/sec, DLY {dly} usec, ",
                "     reliability 255/255, txload 1/255, rxload 1/255",
                "  Encapsulation ARPA, loopback not set"]
        if not names.is_virtual(iface.name):
            out += ["  Keepalive set (10 sec)",
                    "  Full-duplex, 1000Mb/s, media type is 10/100/1000BaseTX" if up else
                    "  Auto-duplex, Auto-speed, media type is 10/100/1000BaseTX",
                    "  input flow-control is off, output flow-control is unsupported "]
        out += ["  ARP type: ARPA, ARP Timeout 04:00:00",
                "  Last input never, output never, output hang never",
                '  Last clearing of "show interface" counters never',
                "  Input queue: 0/75/0/0 (size/max/drops/flushes); Total output drops: 0",
                "  Queueing strategy: fifo", "  Output queue: 0/40 (size/max)",
                "  5 minute input rate 0 bits/sec, 0 packets/sec",
                "  5 minute output rate 0 bits/sec, 0 packets/sec",
                "     0 packets input, 0 bytes, 0 no buffer",
                "     Received 0 broadcasts (0 multicasts)",
                "     0 runts, 0 giants, 0 throttles ",
                "     0 input errors, 0 CRC, 0 frame, 0 overrun, 0 ignored",
                "     0 packets output, 0 bytes, 0 underruns",
                "     0 output errors, 0 interface resets",
                "     0 unknown protocol drops",
                "     0 output buffer failures, 0 output buffers swapped out"]
    return "\n".join(out) + "\n"


def ip_interface(config: IosConfig) -> str:
    out: list[str] = []
    for iface in config.sorted_interfaces():
        status, proto = iface_state(config, iface)
        out.append(f"{iface.name} is {status}, line protocol is {proto}")
        if iface.prefix is None:
            out.append("  Internet protocol processing disabled")
            continue
        out += [f"  Internet address is {iface.prefix}",
                "  Broadcast address is 255.255.255.255",
                "  Address determined by non-volatile memory",
                "  MTU is 1500 bytes", "  Helper address is not set",
                "  Directed broadcast forwarding is disabled",
                "  Outgoing Common access list is not set ",
                f"  Outgoing access list is {iface.acl_out or 'not set'}",
                "  Inbound Common access list is not set ",
                f"  Inbound  access list is {iface.acl_in or 'not set'}",
                "  Proxy ARP is enabled", "  Local Proxy ARP is disabled",
                "  Security level is default", "  Split horizon is enabled",
                "  ICMP redirects are always sent", "  ICMP unreachables are always sent",
                "  ICMP mask replies are never sent", "  IP fast switching is enabled",
                "  IP CEF switching is enabled", "  IP multicast fast switching is enabled",
                "  Router Discovery is disabled",
                "  IP output packet accounting is disabled",
                "  IP access violation accounting is disabled",
                "  TCP/IP header compression is disabled",
                "  RTP/IP header compression is disabled",
                "  Probe proxy name replies are disabled",
                "  Policy routing is disabled", "  Network address translation is disabled",
                "  BGP Policy Mapping is disabled",
                "  Input features: MCI Check", "  IPv4 WCCP Redirect outbound is disabled",
                "  IPv4 WCCP Redirect inbound is disabled",
                "  IPv4 WCCP Redirect exclude is disabled"]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- ARP


def arp(config: IosConfig, where: Where, match: str | None = None) -> str:
    """``show ip arp``: the SVIs' own addresses and what the gateway learned on them."""
    lines = ["Protocol  Address          Age (min)  Hardware Addr   Type   Interface"]
    entries = where.fabric.arp_table(where.name) if where.fabric else []
    live = {vid for vid in range(1, 4095)
            if (svi := config.interfaces.get(f"Vlan{vid}")) is not None
            and not svi.shutdown and svi.ip_address is not None}
    for entry in entries:
        if entry.vlan not in live:
            continue
        if match is not None and match not in (entry.address, entry.mac):
            continue
        age = "-" if entry.age < 0 else str(entry.age)
        lines.append(f"Internet  {entry.address:<16} {age:>8}   {entry.mac}  ARPA   "
                     f"Vlan{entry.vlan}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- MAC table


def mac_table(where: Where, *, address: str | None = None, port: str | None = None,
              vlan: int | None = None, dynamic: bool = False) -> str:
    rows: list[tuple[str, str, str, str]] = []
    if address is None and port is None and not dynamic:
        rows += [("All", mac, "STATIC", "CPU") for mac in CPU_MACS]
    entries = where.fabric.mac_table(where.name) if where.fabric else []
    for e in entries:
        if address is not None and e.mac != address:
            continue
        if port is not None and e.port != port:
            continue
        if vlan is not None and e.vlan != vlan:
            continue
        rows.append((str(e.vlan), e.mac, "DYNAMIC", names.short(e.port)))
    if vlan is not None:
        rows = [r for r in rows if r[0] != "All"]
    out = ["          Mac Address Table", "-------------------------------------------", "",
           "Vlan    Mac Address       Type        Ports",
           "----    -----------       --------    -----"]
    out += [f"{v:>4}    {m:<14}    {t:<8}    {p}" for v, m, t, p in rows]
    out.append(f"Total Mac Addresses for this criterion: {len(rows)}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- CDP / LLDP


def _peers(where: Where, *, cdp: bool = False) -> list[tuple[fab.Peer, fab.DeviceInfo]]:
    """The wired neighbours; for CDP only Cisco ones (a Juniper EX speaks LLDP, not CDP)."""
    if where.fabric is None:
        return []
    return [(p, where.fabric.devices[p.device]) for p in where.fabric.neighbours(where.name)
            if p.device in where.fabric.devices
            and not (cdp and where.fabric.devices[p.device].kind not in CDP_KINDS)]


CDP_KINDS = ("cisco_ios", "cisco_asa")


def _port_id(info: fab.DeviceInfo, port: str, *, short: bool = True) -> str:
    """The neighbour's port as it names it (Junos: ``ge-0/0/1``; IOS: ``Gi1/0/1``)."""
    if info.kind not in CDP_KINDS:
        return port
    return names.short(port) if short else port


def _system_lines(info: fab.DeviceInfo) -> list[str]:
    if info.kind == "junos":
        return [f"Juniper Networks, Inc. {info.model} Ethernet Switch, kernel JUNOS 18.4R2.7, "
                "Build date: 2019-05-17 00:21:23 UTC Copyright (c) 1996-2019 Juniper Networks, Inc."]
    return software_lines(info.model)


def cdp_detail(where: Where) -> str:
    out: list[str] = []
    for peer, info in _peers(where, cdp=True):
        out += ["-------------------------", f"Device ID: {info.name}", "Entry address(es): ",
                f"  IP address: {info.address}",
                f"Platform: cisco {info.model},  Capabilities: Switch IGMP ",
                f"Interface: {peer.port},  Port ID (outgoing port): {peer.peer_port}",
                "Holdtime : 157 sec", "", "Version :", *software_lines(info.model), "",
                "advertisement version: 2", "VTP Management Domain: ''", "Native VLAN: 1",
                "Duplex: full", "Management address(es): ", f"  IP address: {info.address}",
                ""]
    out += ["", f"Total cdp entries displayed : {len(_peers(where, cdp=True))}"]
    return "\n".join(out) + "\n"


def cdp_neighbors(where: Where) -> str:
    out = ["Capability Codes: R - Router, T - Trans Bridge, B - Source Route Bridge",
           "                  S - Switch, H - Host, I - IGMP, r - Repeater, P - Phone, ",
           "                  D - Remote, C - CVTA, M - Two-port Mac Relay ", "",
           "Device ID        Local Intrfce     Holdtme    Capability  Platform  Port ID"]
    for peer, info in _peers(where, cdp=True):
        local = names.short(peer.port).replace("Gi", "Gig ", 1)
        remote = names.short(peer.peer_port).replace("Gi", "Gig ", 1)
        out.append(f"{info.name:<16} {local:<17} {157:<10} {'S I':<11} "
                   f"{info.model[:9]:<9} {remote}")
    out += ["", f"Total cdp entries displayed : {len(_peers(where, cdp=True))}"]
    return "\n".join(out) + "\n"


def lldp_detail(where: Where) -> str:
    out: list[str] = []
    for peer, info in _peers(where):
        out += ["------------------------------------------------",
                f"Local Intf: {names.short(peer.port)}",
                f"Chassis id: {fab.dotted(fab.base_mac(info.name))}",
                f"Port id: {_port_id(info, peer.peer_port)}",
                f"Port Description: {peer.peer_port}", f"System Name: {info.name}", "",
                "System Description: ", *_system_lines(info), "",
                "Time remaining: 99 seconds", "System Capabilities: B,R",
                "Enabled Capabilities: B", "Management Addresses:",
                f"    IP: {info.address}", "Auto Negotiation - supported, enabled",
                "Physical media capabilities:", "    1000baseT(FD)", "    100base-TX(FD)",
                "    100base-TX(HD)", "    10base-T(FD)", "    10base-T(HD)",
                "Media Attachment Unit type: 30", "Vlan ID: - not advertised", ""]
    out += ["", f"Total entries displayed: {len(_peers(where))}"]
    return "\n".join(out) + "\n"


def lldp_neighbors(where: Where) -> str:
    out = ["Capability codes:",
           "    (R) Router, (B) Bridge, (T) Telephone, (C) DOCSIS Cable Device",
           "    (W) WLAN Access Point, (P) Repeater, (S) Station, (O) Other", "",
           "Device ID           Local Intf     Hold-time  Capability      Port ID"]
    for peer, info in _peers(where):
        out.append(f"{info.name[:20]:<20}{names.short(peer.port):<15}{120:<11}"
                   f"{'B':<16}{_port_id(info, peer.peer_port)}")
    out += ["", f"Total entries displayed: {len(_peers(where))}"]
    return "\n".join(out) + "\n"


LLDP_OFF = "% LLDP is not enabled\n"


def lldp_global() -> str:
    return ("\nGlobal LLDP Information:\n    Status: ACTIVE\n"
            "    LLDP advertisements are sent every 30 seconds\n"
            "    LLDP hold time advertised is 120 seconds\n"
            "    LLDP interface reinitialisation delay is 2 seconds\n")


def cdp_global() -> str:
    return ("Global CDP information:\n\tSending CDP packets every 60 seconds\n"
            "\tSending a holdtime value of 180 seconds\n"
            "\tSending CDPv2 advertisements is  enabled\n")


# ---------------------------------------------------------------- VLANs


def _vlan_ports(config: IosConfig, vid: int, trunks: bool) -> list[str]:
    out: list[str] = []
    for iface in config.sorted_interfaces():
        if names.is_virtual(iface.name) or not iface.switchport:
            continue
        if iface.mode == "trunk":
            if trunks and carries(iface, vid) and iface.connected and not iface.shutdown:
                out.append(names.short(iface.name))
        elif iface.access_vlan == vid:
            out.append(names.short(iface.name))
    return out


def _vlan_rows(config: IosConfig, vids: Iterable[int], trunks: bool) -> list[str]:
    lines: list[str] = []
    reserved = dict(RESERVED_VLANS)
    for vid in vids:
        name = reserved.get(vid) or config.vlan_name(vid)
        status = "act/unsup" if vid in reserved else "active"
        port_list = _vlan_ports(config, vid, trunks) if vid not in reserved else []
        ports = [", ".join(port_list[i : i + 4]) for i in range(0, len(port_list), 4)] or [""]
        lines.append(f"{vid:<4} {name[:32]:<32} {status:<9} {ports[0]}".rstrip())
        lines += [" " * 48 + more for more in ports[1:]]
    return lines


def _vlan_types(vids: Iterable[int]) -> list[str]:
    kinds = {1002: ("fddi", "-", "-"), 1003: ("tr", "-", "srb"), 1004: ("fdnet", "ieee", "-"),
             1005: ("trnet", "ibm", "-")}
    out = ["VLAN Type  SAID       MTU   Parent RingNo BridgeNo Stp  BrdgMode Trans1 Trans2",
           "---- ----- ---------- ----- ------ ------ -------- ---- -------- ------ ------"]
    for vid in vids:
        kind, stp, mode = kinds.get(vid, ("enet", "-", "-"))
        out.append(f"{vid:<4} {kind:<5} {100000 + vid:<10} 1500  -      -      -        "
                   f"{stp:<4} {mode:<8} 0      0   ")
    return out


_TABLE_HEAD = ["", "VLAN Name                             Status    Ports",
               "---- -------------------------------- --------- -------------------------------"]
_PVLAN = ["Primary Secondary Type              Ports",
          "------- --------- ----------------- ------------------------------------------", ""]


def vlan_full(config: IosConfig, vids: list[int], *, trunks: bool) -> str:
    """``show vlan`` (access ports) and ``show vlan all-ports`` (trunks too)."""
    out = [*_TABLE_HEAD, *_vlan_rows(config, vids, trunks), "", *_vlan_types(vids), "",
           "Remote SPAN VLANs",
           "------------------------------------------------------------------------------",
           "", "", *_PVLAN]
    return "\n".join(out) + "\n"


def vlan_id(config: IosConfig, vid: int, known: bool) -> str:
    if not known:
        return f"VLAN id {vid} not found in current VLAN database\n"
    out = [*_TABLE_HEAD, *_vlan_rows(config, [vid], True), "", *_vlan_types([vid]), "",
           "Remote SPAN VLAN", "----------------", "Disabled", "", *_PVLAN]
    return "\n".join(out) + "\n"


def is_mac(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 3 and all(len(p) == 4 and all(c in "0123456789abcdefABCDEF" for c in p)
                                   for p in parts)


def is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True
