"""The two safety guards, evaluated after each step on the reachability model.

1. **management-path**: the tool address and every admin station keep reaching every
   managed device on tcp/22. No exemption.
2. **protected-asset**: a flow that passed before and reaches a protected host, a
   protected service (by name) or a host of a protected segment — or leaves a
   protected segment — must keep passing. "Protected" means the asset's declared
   services stay reachable: SMB (tcp 445/139, udp 137/138) is not protected unless
   the service is named in ``protected.services``, because cutting SMB is usually the
   very point. Flows from a host the plan contains (quarantined, shut, revoked,
   edge-blocked) are exempt — cutting them is the point — unless what they reach is a
   protected asset that is itself contained.
A violated guard refuses the step unless the operator overrides it by step id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from isolate.inventory.models import Inventory
from isolate.plan.reach import Endpoint, Pair


@dataclass(frozen=True)
class Violation:
    guard: str  # management-path | protected-asset
    device: str
    pair: Pair
    what: str = ""  # for protected-asset: what is protected (from Protection)

    @property
    def detail(self) -> str:
        """``the management path … → core1 (10.99.0.2:22)`` / ``protected service …``."""
        pair = self.pair
        if self.guard == "management-path":
            return f"the management path {_source(pair.src)} → {pair.dst.name} ({pair.dst.address}:22)"
        target = f"{pair.dst.address}:{pair.port}/{pair.proto}"
        if self.what:
            return f"{self.what} ({target}) from {_source(pair.src)}"
        return (
            f"flows from protected segment {pair.src.segment} to {pair.service} on {pair.dst.name} ({target})"
        )


class Protection:
    """Which pairs each guard watches, computed once from the inventory."""

    def __init__(self, inventory: Inventory) -> None:
        self.hosts = set(inventory.protected.hosts)
        self.services = set(inventory.protected.services)
        self.segments = set(inventory.protected.segments)
        self._dst: dict[tuple[str, str, int, str], str | None] = {}

    def dst_protected(self, pair: Pair) -> str | None:
        """What makes the destination protected (for messages), or None."""
        key = (pair.dst.name, pair.service, pair.port, pair.proto)
        if key not in self._dst:
            self._dst[key] = self._dst_protected(pair)
        return self._dst[key]

    def _smb_exempt(self, pair: Pair) -> bool:
        return pair.smb and pair.service not in self.services

    def watched(self, pairs: Sequence[Pair]) -> frozenset[int]:
        """The pairs a guard watches (management, protected destination or source)."""
        found: set[int] = set()
        dst_names = self.hosts | self.services
        for pair in pairs:
            if (
                pair.management
                or pair.service in dst_names
                or pair.dst.name in dst_names
                or pair.dst.segment in self.segments
                or pair.src.segment in self.segments
            ) and (pair.management or self.dst_protected(pair) or self.src_protected(pair)):
                found.add(pair.pid)
        return frozenset(found)

    def _dst_protected(self, pair: Pair) -> str | None:
        if pair.management or pair.dst.kind != "host":
            return None
        if pair.service in self.services:
            return f"protected service {pair.service} on {pair.dst.name}"
        if self._smb_exempt(pair):
            return None
        if pair.dst.name in self.hosts:
            return f"protected host {pair.dst.name} ({pair.service})"
        if pair.dst.segment in self.segments:
            return f"{pair.service} on {pair.dst.name} in protected segment {pair.dst.segment}"
        return None

    def src_protected(self, pair: Pair) -> bool:
        return not pair.management and pair.src.segment in self.segments and not self._smb_exempt(pair)


def _source(endpoint: Endpoint) -> str:
    if endpoint.kind == "tool":
        return endpoint.name
    if endpoint.kind == "class":
        return endpoint.name if len(endpoint.members) != 1 else endpoint.members[0]
    return f"{endpoint.name} ({endpoint.address})"


def _contained(endpoint: Endpoint, contained: set[str]) -> bool:
    """Only individually tracked hosts (one-member classes) can be contained."""
    return len(endpoint.members) == 1 and endpoint.members[0] in contained


def check(pairs: Iterable[tuple[Pair, str]], protection: Protection, contained: set[str]) -> list[Violation]:
    """Violations among newly cut ``(pair, device)``: management ones first, then by pair."""
    management: list[Violation] = []
    protected: list[Violation] = []
    for pair, device in pairs:
        if pair.management:
            management.append(Violation("management-path", device, pair))
            continue
        src_in = _contained(pair.src, contained)
        if src_in:
            continue
        what = protection.dst_protected(pair)
        if what is not None:
            protected.append(Violation("protected-asset", device, pair, what))
        elif protection.src_protected(pair) and pair.dst.name not in contained:
            protected.append(Violation("protected-asset", device, pair))
    return management + protected


def refusal(step: str, violations: list[Violation]) -> str:
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return (
        f"step '{step}' refused: on {first.device} it would cut {first.detail}{more}; "
        f"use --override {step} --reason TEXT to force"
    )
