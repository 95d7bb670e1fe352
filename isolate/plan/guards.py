"""The safety guards, evaluated after each step on the reachability model.

1. **management-path**: the tool address and every admin station keep reaching every
   managed device on its management port (``Device.mgmt_port``: tcp/22 for SSH platforms,
   443 for FortiOS, 830 for NETCONF). No exemption.
2. **protected-host**: a flow that passed before and reaches a host of
   ``protected.hosts`` must keep passing (whoever the source, unless the source is
   itself contained).
3. **protected-service**: every client that reached a provider of a protected service
   (``protected.services``, everywhere or only on some hosts/segments) still reaches at
   least one provider of it. Cutting one provider is not a violation while the client
   has another: the service is violated only when a client loses its *last* provider.
4. **protected-segment**: flows to a host of a protected segment, or from one, keep
   passing unless the other end is contained.

SMB (tcp 445/139, udp 137/138) is not protected unless the service is named in
``protected.services``: cutting SMB is usually the very point. Flows *from* a host the
plan contains (quarantined, shut, revoked, fenced, or edge-blocked by a prefix narrower
than its segment) are exempt: cutting them is the point. A contained host's own services
are consequences, listed apart by the plan: they count against the protected-service
guard only through the last-provider rule. Edge-blocking a whole segment (e.g. every
outside address) does not contain its hosts: cutting them from a protected public
service is a violation like any other.

A violated guard refuses the step unless the operator overrides it: ``STEP`` lifts every
guard of the step, ``STEP:GUARD`` only that one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from isolate.inventory.models import Inventory, ProtectedService
from isolate.plan.reach import Endpoint, Pair

GUARDS: tuple[str, ...] = (
    "management-path",
    "protected-host",
    "protected-service",
    "protected-segment",
    "coverage",  # isolate.plan.coverage: a block-smb step cuts every pair it selects
)


@dataclass(frozen=True)
class Violation:
    guard: str  # one of GUARDS
    device: str
    pair: Pair
    what: str = ""  # what is protected (from Protection)

    @property
    def detail(self) -> str:
        """``the management path … → core1 (10.99.0.2:22)`` / ``protected service …``."""
        pair = self.pair
        if self.guard == "management-path":
            where = f"{pair.dst.address}:{pair.port}"
            return f"the management path {_source(pair.src)} → {pair.dst.name} ({where})"
        target = f"{pair.dst.address}:{pair.port}/{pair.proto}"
        if self.guard == "protected-service":
            source = _source(pair.src)
            return f"{self.what} ({target}) from {source}, which then reaches no {pair.service} provider"
        if self.what:
            return f"{self.what} ({target}) from {_source(pair.src)}"
        return (
            f"flows from protected segment {pair.src.segment} to {pair.service} on {pair.dst.name} ({target})"
        )


class Protection:
    """Which pairs each guard watches, computed once from the inventory."""

    def __init__(self, inventory: Inventory) -> None:
        self.hosts = set(inventory.protected.hosts)
        self.segments = set(inventory.protected.segments)
        self.by_service: dict[str, list[ProtectedService]] = {}
        for entry in inventory.protected.services:
            self.by_service.setdefault(entry.service, []).append(entry)
        self.services = set(self.by_service)
        self._dst: dict[tuple[str, str, int, str], str | None] = {}
        # (client name, service) -> pids of its pairs to a protected provider of it
        self.providers: dict[tuple[str, str], list[int]] = {}

    def service_protected(self, pair: Pair) -> bool:
        """Whether ``pair`` reaches a protected provider of a protected service."""
        entries = self.by_service.get(pair.service)
        if not entries or pair.management or pair.dst.kind != "host":
            return False
        return any(e.covers(pair.dst.name, pair.dst.segment) for e in entries)

    def dst_protected(self, pair: Pair) -> str | None:
        """What makes the destination protected (for messages), or None."""
        key = (pair.dst.name, pair.service, pair.port, pair.proto)
        if key not in self._dst:
            self._dst[key] = self._dst_protected(pair)
        return self._dst[key]

    def smb_exempt(self, pair: Pair) -> bool:
        return pair.smb and pair.service not in self.services

    def watched(self, pairs: Sequence[Pair]) -> frozenset[int]:
        """The pairs a guard watches (management, protected destination or source); also
        indexes, per client and protected service, its pairs to the service's providers."""
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
                if self.service_protected(pair):
                    self.providers.setdefault((pair.src.name, pair.service), []).append(pair.pid)
        return frozenset(found)

    def _dst_protected(self, pair: Pair) -> str | None:
        if pair.management or pair.dst.kind != "host":
            return None
        if self.service_protected(pair):
            return f"protected service {pair.service} on {pair.dst.name}"
        if self.smb_exempt(pair):
            return None
        if pair.dst.name in self.hosts:
            return f"protected host {pair.dst.name} ({pair.service})"
        if pair.dst.segment in self.segments:
            return f"{pair.service} on {pair.dst.name} in protected segment {pair.dst.segment}"
        return None

    def src_protected(self, pair: Pair) -> bool:
        return not pair.management and pair.src.segment in self.segments and not self.smb_exempt(pair)


def _source(endpoint: Endpoint) -> str:
    if endpoint.kind == "tool":
        return endpoint.name
    if endpoint.net is not None:  # an inventory source: the Internet, an attacker range
        return f"source {endpoint.name} ({endpoint.net})"
    if endpoint.kind == "class":
        return endpoint.name if len(endpoint.members) != 1 else endpoint.members[0]
    return f"{endpoint.name} ({endpoint.address})"


def _contained(endpoint: Endpoint, contained: set[str]) -> bool:
    """Only individually tracked hosts (one-member classes) can be contained."""
    return len(endpoint.members) == 1 and endpoint.members[0] in contained


def check(
    pairs: Iterable[tuple[Pair, str]],
    protection: Protection,
    contained: set[str],
    cut: Mapping[int, str],
) -> list[Violation]:
    """Violations among newly cut ``(pair, device)``, given every pair ``cut`` now:
    management ones first, then the others in pair order."""
    management: list[Violation] = []
    protected: list[Violation] = []
    lost: set[tuple[str, str]] = set()  # (client, service) already reported
    for pair, device in pairs:
        if pair.management:
            management.append(Violation("management-path", device, pair))
            continue
        if _contained(pair.src, contained):
            continue
        if protection.service_protected(pair):
            key = (pair.src.name, pair.service)
            if key not in lost and all(pid in cut for pid in protection.providers.get(key, ())):
                lost.add(key)
                what = protection.dst_protected(pair) or ""
                protected.append(Violation("protected-service", device, pair, what))
                continue
        if pair.dst.name in protection.hosts and not protection.smb_exempt(pair):
            what = f"protected host {pair.dst.name} ({pair.service})"
            protected.append(Violation("protected-host", device, pair, what))
        elif pair.dst.name in contained or protection.service_protected(pair):
            continue  # a contained host's own service, or a provider among others: a consequence
        elif (found := protection.dst_protected(pair)) is not None:
            protected.append(Violation("protected-segment", device, pair, found))
        elif protection.src_protected(pair):
            protected.append(Violation("protected-segment", device, pair))
    return management + protected


def counts(violations: Sequence[Violation]) -> dict[str, int]:
    """Violations per guard, in GUARDS order."""
    found = {g: sum(1 for v in violations if v.guard == g) for g in GUARDS}
    return {g: n for g, n in found.items() if n}


def refusal(step: str, violations: list[Violation]) -> str:
    first = violations[0]
    tally = ", ".join(f"{g} {n}" for g, n in counts(violations).items())
    return (
        f"step '{step}' refused: on {first.device} it would cut {first.detail} "
        f"({tally}; --override {step}:GUARD lifts one guard); use --override {step} --reason TEXT to force"
    )
