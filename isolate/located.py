"""Host parameters the inventory does not map, located on the network at plan time.

``isolate apply playbooks/ransomware-lateral.yml --set infected=10.10.100.23``: when no
inventory host has that address, :func:`locate_parameters` asks the network where it is
(isolate.locate, read-only), and :func:`augment` adds it to a copy of the inventory as a host
on the edge port found, so the plan quarantines exactly that port. The plan keeps what was
located and the queries (``Plan.located``); apply journals them as ``discovery`` records; the
pre-check reads the port's MAC table again (:func:`port_check`) and refuses, naming the new
port, when the host moved meanwhile.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence

from isolate.drivers.base import Session
from isolate.errors import IsolateError, PlanError
from isolate.inventory.models import Inventory
from isolate.locate import Location, mac_rows_in
from isolate.plan.models import LocatedHost
from isolate.playbook.models import Playbook

Finder = Callable[[str], Location]


def _unmapped(
    playbook: Playbook, inv: Inventory, values: Mapping[str, Sequence[str]]
) -> list[tuple[str, str]]:
    """(parameter, address) of every host-parameter address no inventory host has."""
    known = {str(h.address) for h in inv.hosts}
    wanted: list[tuple[str, str]] = []
    for name, param in playbook.parameters.items():
        if param.type != "host":
            continue
        for value in values.get(name, [str(v) for v in param.defaults()]):
            try:
                address = str(ipaddress.ip_address(str(value).strip()))
            except ValueError:
                continue
            if address not in known:
                wanted.append((name, address))
    return wanted


def locate_parameters(
    playbook: Playbook, inv: Inventory, values: Mapping[str, Sequence[str]], find: Finder
) -> tuple[LocatedHost, ...]:
    """Locate every unmapped host-parameter address; PlanError naming the parameter when it
    is not found on exactly one edge port."""
    located: list[LocatedHost] = []
    for name, address in _unmapped(playbook, inv, values):
        shown = f"--set {name}={address}"
        segment = next(
            (s for s in inv.segments if s.subnet.version == ipaddress.ip_address(address).version
             and ipaddress.ip_address(address) in s.subnet),
            None,
        )
        if segment is None:
            raise PlanError(f"{shown}: in no segment of the inventory")
        try:
            found = find(address)
        except IsolateError as exc:
            raise PlanError(f"{shown}: not in the inventory; locating it failed: {exc}") from None
        if not found.arp:
            asked = sorted({q.device for q in found.queries})
            where = ", ".join(asked) or "any gateway"
            raise PlanError(f"{shown}: not in the inventory and no ARP entry on {where}")
        if len(found.candidates) != 1:
            where = ", ".join(f"{c.device} {c.interface}" for c in found.candidates) or "no edge port"
            raise PlanError(f"{shown}: located {found.mac} on {where}: need exactly one edge port")
        port = found.candidates[0]
        located.append(
            LocatedHost(
                parameter=name,
                value=address,
                host="located-" + address.replace(".", "-").replace(":", "-"),
                segment=segment.name,
                mac=port.mac,
                device=port.device,
                interface=port.interface,
                vlan=port.vlan,
                queries=tuple((q.device, q.command, q.ok, q.output) for q in found.queries),
            )
        )
    return tuple(located)


def augment(inv: Inventory, located: Sequence[LocatedHost]) -> Inventory:
    """A copy of ``inv`` with every located host on its port (pure)."""
    if not located:
        return inv
    data = inv.model_dump(mode="python", by_alias=True)
    data["hosts"] = list(data["hosts"])
    for entry in located:
        data["hosts"].append({"name": entry.host, "address": entry.value, "segment": entry.segment})
        for device in data["devices"]:
            if device["name"] == entry.device:
                port = {"interface": entry.interface, "host": entry.host}
                device["ports"] = [*device.get("ports", ()), port]
    return Inventory.model_validate(data)


def port_check(located: Sequence[LocatedHost], find: Finder) -> Callable[[str, Session], list[str]]:
    """The pre-check of located hosts: each still on its port (its switch's MAC table)."""
    by_device: dict[str, list[LocatedHost]] = {}
    for entry in located:
        by_device.setdefault(entry.device, []).append(entry)

    def check(device: str, session: Session) -> list[str]:
        problems = []
        for entry in by_device.get(device, []):
            output = session.run(f"show mac address-table address {entry.mac}").output
            if any(row.interface == entry.interface for row in mac_rows_in(device, output, entry.mac)):
                continue
            try:
                now = find(entry.mac).candidates
                where = ", ".join(f"{c.device} {c.interface} (vlan {c.vlan})" for c in now) or "no edge port"
            except IsolateError as exc:
                where = f"unknown ({exc})"
            problems.append(
                f"{device}: host {entry.value} ({entry.mac}) is no longer on {entry.interface}: "
                f"now on {where}; plan again"
            )
        return problems

    return check
