"""Flow matrices of a drill: reading the lab's, what containment must do to each flow, the checks.

A drill measures the lab's flow matrix three times (baseline, during containment, after
restore). What containment must do is derived from the plan's blast radius:

* must-block: flows open at baseline that the plan says it cuts — every flow from or to a
  host it cuts off (quarantine, shut port, revoked VPN user), every (source → service) in
  a step's ``services`` cuts (a source is a segment, meaning all its hosts, or a host),
  every management flow a step cuts (only with an override);
* must-keep: every other flow open at baseline — the management path to every device and
  the protected services among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from isolate.errors import LabError
from isolate.natsort import natural_key
from isolate.reports.model import Check, FlowRow


class FlowKey(NamedTuple):
    src: str
    dst: str
    port: int
    proto: str
    service: str


FlowMap = dict[FlowKey, bool]
Expect = dict[FlowKey, str]
SSH_PORT = 22


def _field(flow: Any, *names: str) -> Any:
    for name in names:
        if isinstance(flow, Mapping) and name in flow:
            return flow[name]
        if hasattr(flow, name):
            return getattr(flow, name)
    raise LabError(f"lab flow matrix: a flow has none of {', '.join(names)}: {flow!r}")


def to_flow_map(flows: Iterable[Any]) -> FlowMap:
    """Flows (objects or dicts with src, dst, port, proto, service, passes) → key → passes."""
    out: FlowMap = {}
    for flow in flows:
        key = FlowKey(
            str(_field(flow, "src", "source")),
            str(_field(flow, "dst", "destination")),
            int(_field(flow, "port")),
            str(_field(flow, "proto", "protocol")),
            str(_field(flow, "service", "name") or ""),
        )
        out[key] = bool(_field(flow, "passes", "open", "ok", "allowed"))
    return out


NETLAB_MARK = "netlab.json"  # a network lab's directory (isolate netlab up --dir DIR)
PROBE_TIMEOUT_S = 0.5


def is_lab_dir(directory: Path) -> bool:
    """An embedded lab's state dir (``lab.json``) or a network lab's directory (``netlab.json``)."""
    return (directory / "lab.json").is_file() or (directory / NETLAB_MARK).is_file()


def read_flows(lab_dir: Path) -> FlowMap:
    """The lab's current flow matrix: computed from every device's configuration (embedded
    lab), or measured with real TCP connects from every host's namespace (network lab)."""
    if (lab_dir / NETLAB_MARK).is_file():
        from isolate.netlab.probes import probe, records

        return to_flow_map(records(probe(lab_dir, timeout_s=PROBE_TIMEOUT_S)))
    from isolate.lab.flows import flows_from_state_dir

    return to_flow_map(flows_from_state_dir(lab_dir).flows)


def lab_states(lab_dir: Path) -> dict[str, str] | None:
    """Each embedded-lab device's state as isolate captures it (IOS running-config, the
    nft ruleset): the baseline the plan reads what the devices already filter from.
    None for a network lab (its devices are read over SSH by the run itself)."""
    if not (lab_dir / "lab.json").is_file():
        return None
    from isolate.lab.ios import IosDevice
    from isolate.lab.ios.show import running_config
    from isolate.lab.linux import LinuxDevice
    from isolate.lab.nft import ruleset_text
    from isolate.lab.process import load_lab

    _, devices = load_lab(lab_dir)
    states: dict[str, str] = {}
    for name, device in devices.items():
        if isinstance(device, IosDevice):
            states[name] = running_config(device.config)
        elif isinstance(device, LinuxDevice):
            states[name] = ruleset_text(device.ruleset)
    return states


def _segment_of(inventory: Any) -> dict[str, str]:
    return {h.name: h.segment for h in inventory.hosts}


def expectations(plan: Any, inventory: Any, baseline: FlowMap) -> Expect:
    """For each flow open at baseline: ``block`` if the plan's blast radius cuts it, else ``keep``."""
    segment = _segment_of(inventory)
    hosts_off: set[str] = set(plan.blast.hosts_cut_off)
    services: set[tuple[str, int, str, str]] = set()  # (dst, port, proto, source)
    management: set[tuple[str, str]] = set()
    for step in plan.steps:
        hosts_off |= set(step.blast.hosts_cut_off)
        for cut in step.blast.services:
            services |= {(cut.host, cut.port, cut.proto, src) for src in cut.sources}
        management |= {(m.source, m.device) for m in step.blast.management}
    expect: Expect = {}
    for key, passes in baseline.items():
        if not passes:
            continue
        src_seg = segment.get(key.src, "")
        cut = (
            key.src in hosts_off
            or key.dst in hosts_off
            or (key.dst, key.port, key.proto, key.src) in services
            or (key.dst, key.port, key.proto, src_seg) in services
            or (key.src, key.dst) in management
        )
        expect[key] = "block" if cut else "keep"
    return expect


def flow_rows(
    baseline: FlowMap | None,
    during: FlowMap | None,
    after: FlowMap | None,
    expect: Expect,
    *,
    segment_of: Mapping[str, str] | None = None,
) -> tuple[FlowRow, ...]:
    """One row per flow, in natural name order, with each end's segment (management flows
    end at a device: its segment is empty)."""
    if baseline is None:
        return ()
    homes = segment_of or {}
    rows = []
    for key in sorted(baseline, key=lambda k: (natural_key(k.src), natural_key(k.dst), k.port, k.proto)):
        rows.append(
            FlowRow(
                src=key.src,
                dst=key.dst,
                port=key.port,
                proto=key.proto,
                service=key.service,
                src_segment=homes.get(key.src, ""),
                dst_segment=homes.get(key.dst, ""),
                expect="block" if expect.get(key) == "block" else "keep" if key in expect else "none",
                before=baseline[key],
                during=None if during is None else during.get(key, False),
                after=None if after is None else after.get(key, False),
            )
        )
    return tuple(rows)


def _label(key: FlowKey) -> str:
    name = f" ({key.service})" if key.service else ""
    return f"{key.src} → {key.dst}:{key.port}/{key.proto}{name}"


def _check(id_: str, name: str, keys: list[FlowKey], bad: list[FlowKey], verb: str, wrong: str) -> Check:
    return Check(
        id=id_,
        group="containment" if id_.startswith("containment") else "flows",
        name=name,
        ok=not bad,
        message=f"{len(keys) - len(bad)} of {len(keys)} {verb}"
        + (f"; {len(bad)} {wrong}: {', '.join(_label(k) for k in bad[:3])}" if bad else ""),
        details=tuple(f"{wrong}: {_label(k)}" for k in bad),
    )


def flow_checks(
    baseline: FlowMap | None,
    during: FlowMap | None,
    after: FlowMap | None,
    expect: Expect,
    *,
    lab: bool,
    devices: frozenset[str] = frozenset(),
    settled_s: float | None = None,
) -> list[Check]:
    """must-block blocked, must-keep kept (management and protected called out), after == baseline."""
    names = (
        ("containment.must-block", "every must-block flow blocked during containment"),
        ("containment.must-keep", "every must-keep flow kept during containment"),
        ("containment.management", "management path to every device kept"),
        ("flows.restored", "every flow after restore as at baseline"),
    )
    if baseline is None or during is None:
        why = "no flow matrix: not an embedded-lab drill" if not lab else "containment was not applied"
        return [Check(id=i, group="containment" if i.startswith("cont") else "flows", name=n, ok=True,
                      skipped=True, message=why) for i, n in names]
    block = sorted(k for k, v in expect.items() if v == "block")
    keep = sorted(k for k, v in expect.items() if v == "keep")
    mgmt = [k for k in keep if k.dst in devices or (not devices and k.port == SSH_PORT)]
    checks = [
        _check(names[0][0], names[0][1], block, [k for k in block if during.get(k, False)], "blocked",
               "still open"),
        _check(names[1][0], names[1][1], keep, [k for k in keep if not during.get(k, False)], "kept", "lost"),
        _check(names[2][0], names[2][1], mgmt, [k for k in mgmt if not during.get(k, False)], "kept", "lost"),
    ]
    if after is None:
        checks.append(Check(id=names[3][0], group="flows", name=names[3][1], ok=False,
                            message="not measured after restore"))
    else:
        every = sorted(set(baseline) | set(after))
        changed = [k for k in every if baseline.get(k, False) != after.get(k, False)]
        check = _check(names[3][0], names[3][1], every, changed, "as at baseline", "changed")
        if settled_s is not None:
            check = check.model_copy(update={"message": f"{check.message} ({settled_s:.1f}s after restore)"})
        checks.append(check)
    return checks


def playbook_expect_checks(expect: Any, during: FlowMap | None) -> list[Check]:
    """The playbook's own ``expect:`` (flows ``blocked`` and ``reachable`` during containment)."""
    if expect is None:
        return []
    found = {(k.src, k.dst, k.port, k.proto): k for k in during or {}}
    checks = []
    for kind, want_open in (("blocked", False), ("reachable", True)):
        listed = tuple(getattr(expect, kind))
        if not listed:
            continue
        bad: list[str] = []
        for flow in listed:
            key = found.get((flow.src, flow.dst, flow.port, flow.proto))
            label = f"{flow.src} → {flow.dst}:{flow.port}/{flow.proto}"
            if key is None:
                bad.append(f"not in the lab's flow matrix: {label}")
            elif during is not None and during[key] != want_open:
                bad.append(f"{'open' if during[key] else 'blocked'}: {_label(key)}")
        name = f"playbook expect: {kind} during containment"
        checks.append(
            Check(
                id=f"containment.expect-{kind}",
                group="containment",
                name=name,
                ok=not bad,
                skipped=during is None,
                message="no flow matrix during containment" if during is None
                else f"{len(listed) - len(bad)} of {len(listed)} {kind}"
                + (f"; {bad[0]}" if bad else ""),
                details=tuple(bad),
            )
        )
    return checks
