"""The flow matrix, measured by real TCP connects from each host's namespace.

Flows are those of docs/design.md ("Reachability model"): every host to every service
of every other host, plus management flows (each station to each managed device on
TCP 22). Each is a connect with a short timeout from inside the source namespace;
all run in parallel; results come back in a fixed order.
"""

from __future__ import annotations

import errno
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from isolate.netlab import netns
from isolate.netlab.state import Ledger
from isolate.netlab.topology import Topology, load_topology

Kind = Literal["service", "management"]
DEFAULT_TIMEOUT_S = 1.0
MGMT_SERVICE = "ssh-mgmt"  # the embedded lab's name for management flows (isolate.lab.flows)


@dataclass(frozen=True)
class Flow:
    kind: Kind
    src: str
    dst: str
    address: str
    port: int
    service: str

    @property
    def key(self) -> str:
        return f"{self.src}->{self.dst}:{self.port}/tcp"


@dataclass(frozen=True)
class FlowResult:
    flow: Flow
    ok: bool
    outcome: str  # connected | refused | timeout | unreachable | error: …
    duration_s: float


def flows(topo: Topology) -> list[Flow]:
    """Every flow of the topology, in a fixed order (management first, then by source)."""
    sources = [(h.name, h.services, str(h.address)) for h in topo.hosts]
    sources += [(o.name, o.services, str(o.address)) for o in topo.outside]
    sources += [(u.host, (), str(u.address)) for u in topo.vpn_users]
    found = [
        Flow("management", st, dev.name, str(dev.address), 22, MGMT_SERVICE)
        for st in topo.stations
        for dev in topo.devices
    ]
    for src, _, _ in sources:
        for dst, services, address in sources:
            if dst != src:
                found += [Flow("service", src, dst, address, s.port, s.name) for s in services]
    return sorted(found, key=lambda f: (f.kind != "management", f.src, f.dst, f.port))


def probe_one(ns: str, flow: Flow, timeout_s: float) -> FlowResult:
    started = time.monotonic()
    try:
        netns.connect_in(ns, flow.address, flow.port, timeout_s=timeout_s).close()
        ok, outcome = True, "connected"
    except ConnectionRefusedError:
        ok, outcome = False, "refused"
    except TimeoutError:
        ok, outcome = False, "timeout"
    except OSError as exc:
        unreachable = exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH)
        ok, outcome = False, "unreachable" if unreachable else f"error: {exc.strerror or exc}"
    return FlowResult(flow, ok, outcome, round(time.monotonic() - started, 4))


def probe(
    directory: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S, workers: int = 64, settle_s: float = 0.0
) -> list[FlowResult]:
    """Measure every flow of the lab in ``directory``. With ``settle_s``, closed flows are
    probed again until they open or ``settle_s`` has passed (after a restore, a re-added
    VPN peer needs a handshake before its flows pass)."""
    ledger = Ledger.load(directory.resolve())
    topo = load_topology(Path(ledger.topology))
    results = _probe_all(ledger.prefix, flows(topo), timeout_s, workers)
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline and not all(r.ok for r in results):
        closed = [i for i, r in enumerate(results) if not r.ok]
        again = _probe_all(ledger.prefix, [results[i].flow for i in closed], timeout_s, workers)
        for index, result in zip(closed, again, strict=True):
            results[index] = result
        if not all(r.ok for r in results):
            time.sleep(0.2)
    return results


def _probe_all(prefix: str, todo: list[Flow], timeout_s: float, workers: int) -> list[FlowResult]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(probe_one, f"{prefix}-{f.src}", f, timeout_s) for f in todo]
        return [future.result() for future in futures]


def records(results: list[FlowResult]) -> list[dict[str, object]]:
    """Flat records (src, dst, address, port, proto, service, kind, key, ok, outcome): the
    shape ``isolate.reports.flows.to_flow_map`` reads, so a drill can use measured flows."""
    return [
        {**asdict(r.flow), "proto": "tcp", "key": r.flow.key, "ok": r.ok, "outcome": r.outcome}
        for r in results
    ]


def to_json(results: list[FlowResult]) -> str:
    summary = {"total": len(results), "open": sum(r.ok for r in results)}
    return json.dumps({"summary": summary, "flows": records(results)}, indent=2, sort_keys=True) + "\n"


def matrix(results: list[FlowResult]) -> dict[str, bool]:
    """``{flow key: open}``: what two matrices are compared on."""
    return {r.flow.key: r.ok for r in results}
