"""A Junos core/distribution switch's initial configuration from the lab topology, as
``set`` lines: the segments' VLANs (``vlans NAME vlan-id N``), an IRB unit per segment it
routes (``l3-interface irb.N``), trunks to the access switches and other cores
(``interface-mode trunk``, ``vlan members all``), access ports of hosts plugged into it."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from isolate.lab.junos.device import JUNOS_VERSION

JUNOS_PORTS = "ge-0/0/"


def junos_ports(count: int) -> tuple[str, ...]:
    return tuple(f"{JUNOS_PORTS}{i}" for i in range(count))


def base_lines(name: str, segments: Sequence[Any], domain: str) -> list[str]:
    lines = [f"set version {JUNOS_VERSION}", f"set system host-name {name}",
             f"set system domain-name {domain}", "set system services ssh",
             "set system services netconf ssh"]
    for seg in segments:
        lines.append(f"set vlans {seg.name} vlan-id {seg.vlan}")
    return lines


def gateway_lines(name: str, segments: Sequence[Any]) -> list[str]:
    lines: list[str] = []
    for seg in segments:
        if seg.gateway != name:
            continue
        net = ipaddress.ip_network(str(seg.subnet))
        lines += [f"set vlans {seg.name} l3-interface irb.{seg.vlan}",
                  f"set interfaces irb unit {seg.vlan} description {seg.name}",
                  f"set interfaces irb unit {seg.vlan} family inet address "
                  f"{net.network_address + 1}/{net.prefixlen}"]
    return lines


def trunk_lines(port: str, peer: str) -> list[str]:
    unit = f"set interfaces {port} unit 0 family ethernet-switching"
    return [f"set interfaces {port} description {peer}", f"{unit} interface-mode trunk",
            f"{unit} vlan members all"]


def access_lines(port: str, host: str, vlan_name: str) -> list[str]:
    unit = f"set interfaces {port} unit 0 family ethernet-switching"
    return [f"set interfaces {port} description {host}", f"{unit} interface-mode access",
            f"{unit} vlan members {vlan_name}"]
