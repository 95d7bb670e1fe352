"""From a step's targets to host work items (``disable-smb-host``, ``fence-host``).

A selected inventory host (directly, or through a selected segment or tag) is worked on
through the ``ansible`` device of the same name or the same address; devices of platform
``ansible`` may also be selected directly. A device tagged ``windows`` gets the Windows
rendering; every other host the Linux one.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from isolate.actions.host_items import (
    WINDOWS_TAG,
    DisableSmbHostItem,
    DisableSmbHostParams,
    FenceHostItem,
    FenceHostParams,
    HostOs,
    HostPort,
)
from isolate.errors import PlanError
from isolate.inventory.models import Device, Inventory
from isolate.platforms import PLATFORMS
from isolate.playbook.loader import param_error
from isolate.playbook.models import Step
from isolate.playbook.resolve import ResolvedTargets

# Hosts are reached through the platforms whose session is Ansible (their platform record).
HOST_PLATFORMS = tuple(p.name for p in PLATFORMS.values() if p.session == "ansible")
_HOSTS_BY = " or ".join(HOST_PLATFORMS)

Items = list[tuple[Device, BaseModel]]
Mapped = tuple[Items, list[str]]


def host_os(device: Device) -> HostOs:
    return "windows" if WINDOWS_TAG in device.tags else "linux"


def _host_devices(step: Step, targets: ResolvedTargets, inv: Inventory, notes: list[str]) -> list[Device]:
    """The ``ansible`` devices behind the selected hosts/segments, plus selected ansible devices."""
    ansible = [d for d in inv.devices if d.platform in HOST_PLATFORMS]
    by_name = {d.name: d for d in ansible}
    by_address = {str(d.address): d for d in ansible if d.address is not None}
    hosts = {h.name: h for h in targets.hosts}
    for seg in targets.segments:
        hosts.update({h.name: h for h in inv.hosts_in(seg.name)})
    chosen: dict[str, Device] = {d.name: d for d in targets.devices if d.platform in HOST_PLATFORMS}
    for device in targets.devices:
        if device.platform not in HOST_PLATFORMS:
            raise PlanError(
                f"{step.where('targets')}: {device.name} is a {device.platform} device: "
                f"{step.action} acts on hosts reached by Ansible (platform {_HOSTS_BY})"
            )
    for name, host in hosts.items():
        found = by_name.get(name) or by_address.get(str(host.address))
        if found is not None:
            chosen[found.name] = found
        elif name in step.targets.hosts:  # named explicitly (not by tag, segment or '*')
            raise PlanError(
                f"{step.where('targets')}: host {name} has no device with platform {_HOSTS_BY} "
                "(same name or address) in the inventory"
            )
        else:
            notes.append(f"host {name} is not managed through Ansible: left as is")
    if not chosen:
        raise PlanError(f"{step.where('targets')}: selects no host managed through Ansible for {step.action}")
    return [d for d in inv.devices if d.name in chosen]


def disable_smb_host(step: Step, params: BaseModel, targets: ResolvedTargets, inv: Inventory) -> Mapped:
    assert isinstance(params, DisableSmbHostParams)
    notes: list[str] = []
    items: Items = [
        (d, DisableSmbHostItem(step=step.id, os=host_os(d), host=d.name, boot=params.boot))
        for d in _host_devices(step, targets, inv, notes)
    ]
    return items, notes


def _allowed(step: Step, params: FenceHostParams, inv: Inventory, device: Device) -> tuple[HostPort, ...]:
    ports: set[tuple[str, int]] = set()
    own = [h for h in inv.hosts if h.name == device.name or str(h.address) == str(device.address)]
    for index, allow in enumerate(params.allow):
        if allow.service is not None:
            found = [(s.proto, s.port) for h in own for s in h.services if s.name == allow.service]
            if not found:
                message = f"host {device.name} offers no service '{allow.service}'"
                raise PlanError(param_error(step, ("allow", index, "service"), message))
            ports.update(found)
        elif allow.port is not None:
            ports.add((allow.proto, allow.port))
        else:
            raise PlanError(param_error(step, ("allow", index), "needs a service or a port"))
    return tuple(HostPort(proto=p, port=n) for p, n in sorted(ports))


def fence_host(step: Step, params: BaseModel, targets: ResolvedTargets, inv: Inventory) -> Mapped:
    assert isinstance(params, FenceHostParams)
    if not inv.management.networks:
        raise PlanError(
            f"{step.where('action')}: fence-host needs management.networks in the inventory "
            "(the only sources that keep tcp/22)"
        )
    notes: list[str] = []
    items: Items = []
    for device in _host_devices(step, targets, inv, notes):
        item = FenceHostItem(
            step=step.id,
            os=host_os(device),
            host=device.name,
            management=tuple(inv.management.networks),
            allow=_allowed(step, params, inv, device),
        )
        items.append((device, item))
    return items, notes


HOST_MAPPERS: dict[str, Callable[[Step, BaseModel, ResolvedTargets, Inventory], Mapped]] = {
    "disable-smb-host": disable_smb_host,
    "fence-host": fence_host,
}
