"""Helpers shared by the network-lab tests (imported as ``netlabkit``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from isolate.drivers.base import Target
from isolate.netlab.probes import FlowResult, flows, probe, probe_one
from isolate.netlab.topology import load_topology


@dataclass(frozen=True)
class Lab:
    dir: Path
    prefix: str

    def ns(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    def target(self, name: str, address: str, platform: str) -> Target:
        return Target(
            name=name,
            host=address,
            port=22,
            platform=platform,
            username="root",
            key_file=self.dir / "id_ed25519",
            known_hosts=self.dir / "known_hosts",
            timeout_s=10.0,
        )

    def flows(self, timeout_s: float = 0.5, settle_s: float = 0.0) -> dict[str, FlowResult]:
        return {r.flow.key: r for r in probe(self.dir, timeout_s=timeout_s, settle_s=settle_s)}

    def flow(self, key: str, timeout_s: float = 0.5) -> FlowResult:
        """Probe one flow only (``src->dst:port/tcp``)."""
        found = next(f for f in flows(load_topology()) if f.key == key)
        return probe_one(self.ns(found.src), found, timeout_s)
