"""Resolve a step's selector against an inventory.

``devices``, ``groups`` and ``roles`` select devices; ``tags`` select devices and
hosts carrying the tag; ``segments``, ``hosts``, ``users`` and ``vpn_groups``
select those objects, ``zones`` the segments of those zones (a zone without segments
selects nothing) (``vpn_groups`` also selects the group's users). ``"*"``
means all of that kind; ``except:`` removes what its keys select. A name that
does not exist in the inventory is an error naming the selector's file:line.
Results keep inventory order, so plans are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from isolate.errors import PlaybookError
from isolate.inventory.models import Device, Host, Inventory, Segment, VpnUser
from isolate.playbook.models import Exclusion, Selector, Step
from isolate.yamlsrc import did_you_mean


@dataclass(frozen=True)
class ResolvedTargets:
    devices: tuple[Device, ...] = ()
    segments: tuple[Segment, ...] = ()
    hosts: tuple[Host, ...] = ()
    users: tuple[VpnUser, ...] = ()
    vpn_groups: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.devices or self.segments or self.hosts or self.users or self.vpn_groups)


@dataclass(frozen=True)
class _Names:
    devices: frozenset[str]
    segments: frozenset[str]
    hosts: frozenset[str]
    users: frozenset[str]
    vpn_groups: frozenset[str]


class _Resolver:
    def __init__(self, inventory: Inventory, step: Step | None) -> None:
        self.inv = inventory
        self.step = step
        self.problems: list[str] = []

    def _bad(self, loc: tuple[str | int, ...], message: str) -> None:
        where = self.step.where("targets", *loc) if self.step is not None else ".".join(map(str, loc))
        self.problems.append(f"{where}: {message}")

    def _pick(
        self, key: str, wanted: Sequence[str], known: Sequence[str], prefix: tuple[str, ...]
    ) -> set[str]:
        """Names from ``known`` that ``wanted`` lists (``*`` = all); unknown ones reported."""
        if "*" in wanted:
            return set(known)
        found: set[str] = set()
        for i, name in enumerate(wanted):
            if name in known:
                found.add(name)
            else:
                what = key.removesuffix("s").replace("_", " ")
                hint = did_you_mean(name, known)
                self._bad((*prefix, key, i), f"no {what} '{name}' in the inventory{hint}")
        return found

    def names(self, sel: Selector | Exclusion, prefix: tuple[str, ...]) -> _Names:
        inv = self.inv
        all_devices = [d.name for d in inv.devices]
        groups = sorted({g.name for g in inv.groups} | {g for d in inv.devices for g in d.groups})
        roles = sorted({d.role for d in inv.devices})
        tags = sorted({t for d in inv.devices for t in d.tags} | {t for h in inv.hosts for t in h.tags})
        vpn_groups = [g.name for g in inv.vpn.groups]
        devices = self._pick("devices", sel.devices, all_devices, prefix)
        for group in self._pick("groups", sel.groups, groups, prefix):
            devices.update(d.name for d in inv.devices_in_group(group))
        for role in self._pick("roles", sel.roles, roles, prefix):
            devices.update(d.name for d in inv.devices_by_role(role))
        hosts = self._pick("hosts", sel.hosts, [h.name for h in inv.hosts], prefix)
        for tag in self._pick("tags", sel.tags, tags, prefix):
            devices.update(d.name for d in inv.devices_with_tag(tag))
            hosts.update(h.name for h in inv.hosts_with_tag(tag))
        users = self._pick("users", sel.users, [u.name for u in inv.vpn.users], prefix)
        chosen_groups = self._pick("vpn_groups", sel.vpn_groups, vpn_groups, prefix)
        for group in chosen_groups:
            users.update(u.name for u in inv.vpn_users_in(group))
        segments = self._pick("segments", sel.segments, [s.name for s in inv.segments], prefix)
        segments.update(s.name for s in inv.segments if s.zone in sel.zones)
        return _Names(
            frozenset(devices),
            frozenset(segments),
            frozenset(hosts),
            frozenset(users),
            frozenset(chosen_groups),
        )


def resolve(selector: Selector, inventory: Inventory, *, step: Step | None = None) -> ResolvedTargets:
    """What ``selector`` selects in ``inventory``. With ``step``, errors carry its file:line."""
    resolver = _Resolver(inventory, step)
    chosen = resolver.names(selector, ())
    minus = resolver.names(selector.except_, ("except",))
    if resolver.problems:
        problems = resolver.problems
        message = problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)"
        raise PlaybookError(message, problems[:20])
    return ResolvedTargets(
        devices=tuple(d for d in inventory.devices if d.name in chosen.devices - minus.devices),
        segments=tuple(s for s in inventory.segments if s.name in chosen.segments - minus.segments),
        hosts=tuple(h for h in inventory.hosts if h.name in chosen.hosts - minus.hosts),
        users=tuple(u for u in inventory.vpn.users if u.name in chosen.users - minus.users),
        vpn_groups=tuple(
            g.name for g in inventory.vpn.groups if g.name in chosen.vpn_groups - minus.vpn_groups
        ),
    )


def resolve_step(step: Step, inventory: Inventory) -> ResolvedTargets:
    """``resolve(step.targets, inventory, step=step)``."""
    return resolve(step.targets, inventory, step=step)
