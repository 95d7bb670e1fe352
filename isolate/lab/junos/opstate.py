"""Operational replies of the simulated Junos switch (what ``show …`` answers in XML).

Shapes as an EX4300 on Junos 18.4 writes them and as PyEZ's facts and NAPALM's
``junos`` getters read them: ``<software-information>`` (``host-name``, ``product-model``,
``junos-version``, the ``junos`` package), ``<route-engine-information>``,
``<chassis-inventory>``, ``<system-uptime-information>`` (``junos:seconds``),
``<interface-information>`` (physical and logical interfaces with their state) and the
commit history.
"""

from __future__ import annotations

import time
import zlib

from lxml import etree

from isolate.lab.junos import config as cfg
from isolate.lab.junos.device import JUNOS_VERSION, JunosDevice

JUNOS_NS = f"http://xml.juniper.net/junos/{JUNOS_VERSION}/junos"


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    elem = etree.SubElement(parent, tag)
    elem.text = text
    return elem


def _seconds(elem: etree._Element, value: int) -> etree._Element:
    elem.set(f"{{{JUNOS_NS}}}seconds", str(value))
    return elem


def _stamp(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _length(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days} days, {hours} hours, {rest // 60} minutes"


def software_information(device: JunosDevice) -> etree._Element:
    state = device.state
    root = etree.Element("software-information")
    _sub(root, "host-name", hostname(device))
    _sub(root, "product-model", state.model)
    _sub(root, "product-name", state.model)
    _sub(root, "junos-version", JUNOS_VERSION)
    package = _sub(root, "package-information")
    _sub(package, "name", "junos")
    _sub(package, "comment", f"JUNOS Software Release [{JUNOS_VERSION}]")
    return root


def show_version_text(device: JunosDevice) -> str:
    """``show version`` as an EX4300 prints it (the ``<output>`` of a text ``<command>``)."""
    return (f"fpc0:\n{'-' * 76}\nHostname: {hostname(device)}\nModel: {device.state.model}\n"
            f"Junos: {JUNOS_VERSION}\nJUNOS OS Kernel 64-bit  [20190517.f0321c3_builder_stable_11]\n"
            f"JUNOS OS libs [20190517.f0321c3_builder_stable_11]\n"
            f"JUNOS EX  Software Suite [{JUNOS_VERSION}]\n")


def hostname(device: JunosDevice) -> str:
    node = device.state.running.find("system", "host-name")
    return node.values[0] if node is not None and node.values else device.state.hostname


def route_engine_information(device: JunosDevice) -> etree._Element:
    root = etree.Element("route-engine-information")
    engine = _sub(root, "route-engine")
    _sub(engine, "slot", "0")
    _sub(engine, "mastership-state", "master")
    _sub(engine, "mastership-priority", "master (default)")
    _sub(engine, "status", "OK")
    _sub(engine, "model", f"RE-{device.state.model.upper()}")
    _sub(engine, "serial-number", device.state.serial)
    _seconds(_sub(engine, "start-time", _stamp(device.state.booted)), int(device.state.booted))
    _seconds(_sub(engine, "up-time", _length(device.uptime_s)), device.uptime_s)
    _sub(engine, "last-reboot-reason", "Router rebooted after a normal shutdown.")
    return root


def chassis_inventory(device: JunosDevice) -> etree._Element:
    root = etree.Element("chassis-inventory")
    chassis = _sub(root, "chassis")
    chassis.set(f"{{{JUNOS_NS}}}style", "inventory")
    _sub(chassis, "name", "Chassis")
    _sub(chassis, "serial-number", device.state.serial)
    _sub(chassis, "description", device.state.model.upper())
    module = _sub(chassis, "chassis-module")
    _sub(module, "name", "Routing Engine 0")
    _sub(module, "serial-number", device.state.serial)
    _sub(module, "description", f"RE-{device.state.model.upper()}")
    return root


def uptime_information(device: JunosDevice) -> etree._Element:
    now = int(time.time())
    root = etree.Element("system-uptime-information")
    current = _sub(root, "current-time")
    _seconds(_sub(current, "date-time", _stamp(now)), now)
    _sub(root, "time-source", " LOCAL CLOCK ")
    booted = _sub(root, "system-booted-time")
    _seconds(_sub(booted, "date-time", _stamp(device.state.booted)), int(device.state.booted))
    _seconds(_sub(booted, "time-length", _length(device.uptime_s)), device.uptime_s)
    if device.state.commits:
        last = device.state.commits[0]
        changed = _sub(root, "last-configured-time")
        _seconds(_sub(changed, "date-time", _stamp(last.at)), int(last.at))
        _sub(changed, "user", last.user)
    return root


def _mac(device: JunosDevice, name: str) -> str:
    digest = zlib.crc32(f"{device.name}/{name}".encode())
    raw = [0x2C, 0x6B, 0xF5, (digest >> 16) & 0xFF, (digest >> 8) & 0xFF, digest & 0xFF]
    return ":".join(f"{b:02x}" for b in raw)


def interface_information(device: JunosDevice, wanted: str | None) -> etree._Element:
    root = etree.Element("interface-information")
    running = device.state.running
    configured = running.find("interfaces")
    names = [*device.state.ports, "irb", "lo0", "vme"]  # ELS: always present
    if configured is not None:
        names += [n for n in configured.children if n not in names]
    for name in names:
        if wanted and name != wanted:
            continue
        node = configured.children.get(name) if configured is not None else None
        _physical(root, device, name, node)
    return root


def _physical(root: etree._Element, device: JunosDevice, name: str, node: cfg.Node | None) -> None:
    disabled = node is not None and node.find("disable") is not None
    virtual = name in ("irb", "vlan", "lo0", "me0", "vme")
    up = not disabled and (virtual or name in device.state.connected)
    phys = _sub(root, "physical-interface")
    _sub(phys, "name", name)
    _sub(phys, "admin-status", "down" if disabled else "up")
    _sub(phys, "oper-status", "up" if up else "down")
    description = node.find("description") if node is not None else None
    if description is not None and description.values:
        _sub(phys, "description", description.values[0])
    _sub(phys, "mtu", "1514" if not virtual else "Unlimited")
    _sub(phys, "speed", "1000mbps" if not virtual else "Unlimited")
    _sub(phys, "current-physical-address", _mac(device, name))
    flapped = int(device.state.booted)
    _seconds(_sub(phys, "interface-flapped", f"{_stamp(flapped)} ({_length(device.uptime_s)} ago)"),
             flapped)
    for key, unit in (node.children.items() if node is not None else []):
        if key.startswith("unit "):
            _logical(phys, f"{name}.{key.split(' ', 1)[1]}", unit)


def _logical(phys: etree._Element, name: str, unit: cfg.Node) -> None:
    logical = _sub(phys, "logical-interface")
    _sub(logical, "name", name)
    description = unit.find("description")
    if description is not None and description.values:
        _sub(logical, "description", description.values[0])
    flags = _sub(logical, "if-config-flags")
    if unit.find("disable") is not None:
        _sub(flags, "iff-down")
    _sub(flags, "iff-up")
    for key, family in unit.children.items():
        if not key.startswith("family "):
            continue
        fam = _sub(logical, "address-family")
        _sub(fam, "address-family-name", key.split(" ", 1)[1].replace("ethernet-switching", "eth-switch"))
        for addr in (k.split(" ", 1)[1] for k in family.children if k.startswith("address ")):
            _sub(_sub(fam, "interface-address"), "ifa-local", addr)


def commit_information(device: JunosDevice) -> etree._Element:
    root = etree.Element("commit-information")
    for index, commit in enumerate(device.state.commits):
        entry = _sub(root, "commit-history")
        _sub(entry, "sequence-number", str(index))
        _sub(entry, "user", commit.user)
        _sub(entry, "client", commit.client)
        _seconds(_sub(entry, "date-time", _stamp(commit.at)), int(commit.at))
        if commit.log:
            _sub(entry, "log", commit.log)
        if commit.comment:
            _sub(entry, "comment", commit.comment)
    return root


def commit_revision(device: JunosDevice) -> etree._Element:
    """``show system commit revision detail``: the last commit (NAPALM's pending check)."""
    root = etree.Element("commit-revision-information")
    last = device.state.commits[0] if device.state.commits else None
    at = int(last.at) if last is not None else int(device.state.booted)
    _seconds(_sub(root, "date-time", _stamp(at)), at)
    _sub(root, "revision", f"re0-{at}-{len(device.state.commits)}")
    if last is not None and last.comment and device.state.pending is not None:
        _sub(root, "comment", last.comment)
    return root


def arp_entries(device: JunosDevice) -> list[tuple[str, str, str, int]]:
    """(mac, address, interface, seconds to expire) the switch has learned on its IRBs: the
    hosts of the segments it routes, where the lab's wiring places them (none unwired)."""
    fabric = device.fabric
    if fabric is None:
        return []
    out: list[tuple[str, str, str, int]] = []
    for entry in fabric.arp_table(device.name):
        if entry.age < 0:
            continue  # the IRB's own address is not in Junos's ARP table
        port = _learned_on(device, entry.mac)
        where = f"irb.{entry.vlan}" + (f" [{port}.0]" if port else "")
        mac = entry.mac.replace(".", "")
        out.append((":".join(mac[i:i + 2] for i in range(0, 12, 2)), entry.address, where,
                    1200 - entry.age * 10))
    return out


def _learned_on(device: JunosDevice, mac: str) -> str | None:
    fabric = device.fabric
    if fabric is None:
        return None
    for entry in fabric.mac_table(device.name):
        if entry.mac == mac:
            return entry.port
    return None


def arp_text(device: JunosDevice, address: str | None) -> str:
    """``show arp no-resolve [hostname A]`` as Junos prints it."""
    rows = [r for r in arp_entries(device) if address is None or r[1] == address]
    lines = [f"{'MAC Address':<18}{'Address':<16}{'Interface':<25}Flags"]
    lines += [f"{mac:<18}{ip:<16}{where:<25}none" for mac, ip, where, _ in rows]
    lines.append(f"Total entries: {len(rows)}")
    return "\n".join(lines) + "\n"


def arp_information(device: JunosDevice, address: str | None) -> etree._Element:
    """``<get-arp-table-information>`` (NAPALM's get_arp_table reads it)."""
    root = etree.Element("arp-table-information")
    rows = [r for r in arp_entries(device) if address is None or r[1] == address]
    for mac, ip, where, expire in rows:
        entry = _sub(root, "arp-table-entry")
        _sub(entry, "mac-address", mac)
        _sub(entry, "ip-address", ip)
        _sub(entry, "interface-name", where)
        _sub(entry, "time-to-expire", str(expire))
        _sub(_sub(entry, "arp-table-entry-flags"), "none")
    _sub(root, "arp-entry-count", str(len(rows)))
    return root
