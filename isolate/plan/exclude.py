"""Devices left out of a plan: ``--exclude DEVICE``, ``--limit SELECTOR`` and, at apply,
devices unreachable at pre-check (``--skip-unreachable``). Pure.

A limit is a comma-separated list of device names, ``group:NAME``, ``role:NAME`` or
``tag:NAME``; every device it does not match is left out. The plan keeps, per device left
out, why and what stays open because of it (:class:`isolate.plan.models.ExcludedDevice`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from isolate.errors import PlanError
from isolate.inventory.models import Inventory
from isolate.plan.left_open import left_open
from isolate.plan.models import ExcludedDevice
from isolate.yamlsrc import did_you_mean

_KINDS = ("group", "role", "tag")


def _matching(inv: Inventory, term: str) -> set[str]:
    kind, sep, name = term.partition(":")
    if not sep:
        if not inv.has_device(term):
            hint = did_you_mean(term, [d.name for d in inv.devices])
            raise PlanError(f"--limit {term}: no device '{term}' in the inventory{hint}")
        return {term}
    if kind not in _KINDS:
        raise PlanError(f"--limit {term}: expected DEVICE, group:NAME, role:NAME or tag:NAME")
    found = {
        d.name
        for d in inv.devices
        if (kind == "group" and name in d.groups)
        or (kind == "role" and d.role == name)
        or (kind == "tag" and name in d.tags)
    }
    if not found:
        raise PlanError(f"--limit {term}: no device with {kind} '{name}' in the inventory")
    return found


def left_out(
    inv: Inventory, *, exclude: Mapping[str, str] | Sequence[str] = (), limit: Sequence[str] = ()
) -> dict[str, str]:
    """Device → why it is left out. ``exclude`` is names (``--exclude``) or name → reason."""
    reasons: dict[str, str] = {}
    given = exclude.items() if isinstance(exclude, Mapping) else [(d, "--exclude") for d in exclude]
    for device, reason in given:
        if not inv.has_device(device):
            hint = did_you_mean(device, [d.name for d in inv.devices])
            raise PlanError(f"--exclude {device}: no device '{device}' in the inventory{hint}")
        reasons[device] = reason
    terms = [t.strip() for item in limit for t in item.split(",") if t.strip()]
    if terms:
        kept: set[str] = set()
        for term in terms:
            kept |= _matching(inv, term)
        for name in (d.name for d in inv.devices):
            if name not in kept:
                reasons.setdefault(name, "not in --limit")
    return reasons


class LeftOut:
    """Collects, per device left out, the steps and what stays open."""

    def __init__(self, reasons: Mapping[str, str]) -> None:
        self.reasons = dict(reasons)
        self.steps: dict[str, list[str]] = {}
        self.lines: dict[str, list[str]] = {}

    def split(self, step_id: str, changes: Sequence[Any]) -> list[Any]:
        """The changes that stay in the plan; the others are recorded."""
        kept = []
        for change in changes:
            if change.device in self.reasons:
                self.steps.setdefault(change.device, []).append(step_id)
                self.lines.setdefault(change.device, []).append(f"{step_id}: {left_open(change.item)}")
            else:
                kept.append(change)
        return kept

    def records(self) -> tuple[ExcludedDevice, ...]:
        return tuple(
            ExcludedDevice(
                device=device,
                reason=self.reasons[device],
                steps=tuple(self.steps[device]),
                left_open=tuple(self.lines[device]),
            )
            for device in sorted(self.steps)
        )
