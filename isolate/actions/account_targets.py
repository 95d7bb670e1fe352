"""From a step's targets to ``disable-account`` work items: the accounts of
``params.users`` plus the selected inventory VPN users (``users``/``vpn_groups``), on the
selected devices, else the inventory's ``directory.devices``. The protected accounts —
``directory.protected.accounts`` and the bind account of each directory device's
credentials — and ``directory.protected.groups`` travel in the item, for the pre-check."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from isolate.actions.account_items import DisableAccountItem, DisableAccountParams
from isolate.errors import PlanError
from isolate.inventory.models import Device, Inventory
from isolate.platforms import PLATFORMS
from isolate.playbook.models import Step
from isolate.playbook.resolve import ResolvedTargets
from isolate.values import BadValue
from isolate.values_directory import parse_account

# Directories: the platforms whose session speaks LDAP (their platform record).
DIRECTORY_PLATFORMS = tuple(p.name for p in PLATFORMS.values() if p.session == "ldap")

Items = list[tuple[Device, BaseModel]]
Mapped = tuple[Items, list[str]]


def bind_account(device: Device, inv: Inventory) -> str | None:
    """The account name the device's credentials bind as (``user@realm`` → ``user``)."""
    if device.credentials is None or device.credentials not in inv.credentials:
        return None
    name = inv.credentials[device.credentials].username.split("@", 1)[0]
    try:
        return parse_account(name)
    except BadValue:
        return None


def _directories(step: Step, targets: ResolvedTargets, inv: Inventory) -> list[Device]:
    chosen = list(targets.devices) or [inv.device(n) for n in inv.directory.devices]
    for device in chosen:
        if device.platform not in DIRECTORY_PLATFORMS:
            raise PlanError(
                f"{step.where('targets')}: {device.name} is not a directory "
                f"(platform {device.platform}; disable-account needs {' or '.join(DIRECTORY_PLATFORMS)})"
            )
    if not chosen:
        raise PlanError(
            f"{step.where('targets')}: selects no directory for disable-account "
            "(set directory.devices in the inventory)"
        )
    return chosen


def disable_account(step: Step, params: BaseModel, targets: ResolvedTargets, inv: Inventory) -> Mapped:
    assert isinstance(params, DisableAccountParams)
    users: list[str] = list(params.users)
    for user in targets.users:
        try:
            users.append(parse_account(user.name))
        except BadValue as exc:
            raise PlanError(f"{step.where('targets')}: VPN user {user.name}: {exc}") from None
    if not users:
        raise PlanError(
            f"{step.where('params')}: disable-account needs users (params.users or targets.users)"
        )
    ordered = tuple(sorted(set(users), key=str.lower))
    items: Items = []
    notes = [
        f"no test credential for {u}: verified by read-back only"
        for u in ordered
        if u not in inv.directory.test_credentials
    ]
    for device in _directories(step, targets, inv):
        own = bind_account(device, inv)
        protected = tuple(inv.directory.protected.accounts) + ((own,) if own else ())
        item = DisableAccountItem(
            step=step.id,
            users=ordered,
            remove_groups=params.remove_groups,
            protected_accounts=protected,
            protected_groups=inv.directory.protected.groups,
        )
        items.append((device, item))
    return items, notes


ACCOUNT_MAPPERS: dict[str, Callable[[Step, BaseModel, ResolvedTargets, Inventory], Mapped]] = {
    "disable-account": disable_account,
}
