"""The identity guard: a ``disable-account`` step never disables the tool's own bind
account, and disables an account listed in ``directory.protected.accounts`` only when the
operator overrides the step (the override is journaled with the plan). Membership of a
protected group is known only to the directory: the pre-check refuses it on the same terms
(the item carries ``override``)."""

from __future__ import annotations

from isolate.actions.account_items import DisableAccountItem
from isolate.actions.account_targets import bind_account
from isolate.errors import PlanRefused
from isolate.inventory.models import Inventory
from isolate.plan.models import DeviceChange, Override
from isolate.playbook.models import Playbook

GUARD = "protected-account"


def without_directory_steps(playbook: Playbook, inv: Inventory) -> tuple[Playbook, list[str]]:
    """A ``disable-account`` step that selects no device, on an inventory without a
    directory, is left out (a note says so): a playbook such as ransomware-lateral disables
    the compromised accounts where the inventory has a directory, and plans without it."""
    if inv.directory.devices:
        return playbook, []
    kept = [s for s in playbook.steps if not (s.action == "disable-account" and not s.targets.devices)]
    if len(kept) == len(playbook.steps) or not kept:
        return playbook, []  # nothing to leave out, or nothing would be left: let it fail clearly
    notes = [
        f"step {s.id} left out: the inventory has no directory (directory.devices)"
        for s in playbook.steps
        if s not in kept
    ]
    return playbook.model_copy(update={"steps": tuple(kept)}), notes


def guard_accounts(
    step: str, changes: list[DeviceChange], inv: Inventory, reason: str | None
) -> tuple[list[DeviceChange], list[Override]]:
    """The step's changes (marked overridden when forced) and the overrides to journal;
    PlanRefused when a protected account would be disabled without an override."""
    out: list[DeviceChange] = []
    hits: list[str] = []
    for change in changes:
        item = change.item
        if not isinstance(item, DisableAccountItem):
            out.append(change)
            continue
        own = (bind_account(inv.device(change.device), inv) or "").lower()
        listed = {a.lower() for a in inv.directory.protected.accounts}
        for user in item.users:
            if user.lower() == own:
                raise PlanRefused(
                    f"step '{step}' refused: {user} is isolate's own bind account on {change.device}; "
                    "disabling it would lock isolate out of the restore (never overridable)"
                )
            if user.lower() in listed:
                hits.append(f"protected account {user} on {change.device}")
        if reason is not None:
            change = change.model_copy(update={"item": item.model_copy(update={"override": True})})
        out.append(change)
    if hits and reason is None:
        more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
        raise PlanRefused(
            f"step '{step}' refused: it would disable {hits[0]}{more}; "
            f"use --override {step} --reason TEXT to force"
        )
    overrides = (
        [Override(step=step, guard=GUARD, detail=f"disables {hits[0]}", reason=reason)]
        if hits and reason
        else []
    )
    return out, overrides
