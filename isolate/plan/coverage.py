"""Coverage: a step meant to cut SMB between segments proves, on the reachability model,
that every pair of the segments it selects is cut — or says which segments it cannot
reach and why. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from isolate.actions.base import BlockSmbItem
from isolate.natsort import natural_key, natural_sorted
from isolate.plan.models import DeviceChange
from isolate.plan.reach import Reach, Topology

GUARD = "coverage"


def _selected(changes: Sequence[DeviceChange], topo: Topology) -> set[str]:
    subnets = {net for c in changes if isinstance(c.item, BlockSmbItem) for net in c.item.subnets}
    return {s.name for s in topo.segments.values() if s.subnet in subnets}


def open_smb(changes: Sequence[DeviceChange], reach: Reach) -> list[tuple[str, str]]:
    """(source segment, destination segment) pairs of the selection where some SMB flow
    still passes after the step, in natural order."""
    selected = _selected(changes, reach.topo)
    found: set[tuple[str, str]] = set()
    for src in selected:
        inner = reach.by_segs.get(src, {})
        for dst in selected - {src}:
            for pid in inner.get(dst, ()):
                pair = reach.pairs[pid]
                if pair.smb and not pair.management and pid not in reach.cut:
                    found.add((src, dst))
                    break
    return sorted(found, key=lambda p: (natural_key(p[0]), natural_key(p[1])))


def _why(segment: str, topo: Topology) -> str | None:
    seg = topo.segments[segment]
    if seg.gateway is None and seg.firewall is None:
        return f"segment {segment} has no gateway or firewall in the inventory: nothing filters its traffic"
    return None


def refusal(step: str, pairs: list[tuple[str, str]], topo: Topology) -> str:
    """One line: how many segment pairs stay open, an example, and why."""
    segments = natural_sorted({s for p in pairs for s in p})
    reasons = [r for r in (_why(s, topo) for s in segments) if r is not None]
    why = "; ".join(reasons) or (
        "no filter on their path in the model (an IOS gateway filters only what enters its SVIs)"
    )
    src, dst = pairs[0]
    return (
        f"step '{step}' refused: SMB would stay open between {len(pairs)} pair(s) of the segments it "
        f"selects (e.g. {src} → {dst}; segments {', '.join(segments)}): {why}; give it a gateway or "
        f"firewall, or leave it out of the selector (--override {step}:{GUARD} to accept)"
    )
