"""Shared IOS logic for actions that own one extended ACL bound to segment SVIs.

block-smb binds its ACL ``in`` on each selected SVI, segment-acl binds its own ``out``:
IOS allows one ACL per interface and direction, so the two coexist on one SVI.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from isolate.actions.base import Svi
from isolate.actions.ios_config import (
    RunningConfig,
    access_group,
    acl_entries,
    canonical_ace,
)
from isolate.errors import PlanError
from isolate.values import IPNetwork


@lru_cache(maxsize=65536)
def ios_address(prefix: IPNetwork) -> str:
    """``any``, ``host A`` or ``A WILDCARD`` for an IPv4 prefix (IOS ACL syntax)."""
    if not isinstance(prefix, ipaddress.IPv4Network):
        raise PlanError(f"{prefix}: IOS ACL actions support IPv4 subnets only")
    if prefix.prefixlen == 0:
        return "any"
    if prefix.prefixlen == 32:
        return f"host {prefix.network_address}"
    return f"{prefix.network_address} {prefix.hostmask}"


def render_acl(name: str, entries: Sequence[str], svis: Sequence[Svi], direction: str) -> list[str]:
    commands = [f"ip access-list extended {name}", *entries]
    for svi in svis:
        commands += [f"interface Vlan{svi.vlan}", f"ip access-group {name} {direction}"]
    return commands


def precheck_acl(name: str, svis: Sequence[Svi], direction: str, state: str) -> list[str]:
    config = RunningConfig(state)
    problems: list[str] = []
    if config.acl(name) is not None:
        problems.append(f"ACL {name} already exists (left by another run?)")
    for svi in svis:
        block = config.interface(f"Vlan{svi.vlan}")
        if block is None:
            problems.append(f"interface Vlan{svi.vlan} (segment {svi.segment}) not found: inventory drift")
            continue
        bound = access_group(block, direction)
        if bound is not None and bound != name:
            problems.append(
                f"interface Vlan{svi.vlan} already has 'ip access-group {bound} {direction}'; "
                "binding ours would replace it"
            )
    return problems


def inverse_acl(name: str, svis: Sequence[Svi], direction: str, state: str) -> list[str]:
    """Unbind (or re-bind what was bound before), then remove the ACL if it was absent
    before, or put its previous entries back."""
    config = RunningConfig(state)
    commands: list[str] = []
    for svi in svis:
        block = config.interface(f"Vlan{svi.vlan}")
        before = access_group(block, direction) if block is not None else None
        commands.append(f"interface Vlan{svi.vlan}")
        if before is not None and before != name:
            commands.append(f"ip access-group {before} {direction}")
        elif before is None:
            commands.append(f"no ip access-group {name} {direction}")
        else:  # ours was already bound before: keep it bound
            commands.append(f"ip access-group {name} {direction}")
    commands.append(f"no ip access-list extended {name}")
    previous = config.acl(name)
    if previous is not None:
        commands += [f"ip access-list extended {name}", *previous.children]
    return commands


def verify_acl(
    name: str, entries: Sequence[str], svis: Sequence[Svi], direction: str, state: str
) -> list[str]:
    config = RunningConfig(state)
    problems: list[str] = []
    block = config.acl(name)
    if block is None:
        problems.append(f"ACL {name} missing")
    elif acl_entries(block) != [canonical_ace(e) for e in entries]:
        problems.append(f"ACL {name} entries differ from the {len(entries)} pushed")
    for svi in svis:
        iface = config.interface(f"Vlan{svi.vlan}")
        if iface is None or access_group(iface, direction) != name:
            problems.append(f"interface Vlan{svi.vlan} lacks 'ip access-group {name} {direction}'")
    return problems
