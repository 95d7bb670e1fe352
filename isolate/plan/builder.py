"""``build_plan``: (inventory, playbook, overrides) → Plan. Pure: no I/O, deterministic.

Per step, in playbook order: validate the params, resolve the selector, map targets to
one work item per device, render the commands through the action table; then apply the
steps' effects to the reachability model one by one, run the guards after each step
and summarise the blast radius.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from isolate.actions.account_targets import ACCOUNT_MAPPERS
from isolate.actions.base import PARAMS, BlockSmbItem, SegmentAclItem, batch_of
from isolate.actions.host_targets import HOST_MAPPERS
from isolate.actions.table import lookup
from isolate.errors import PlanError, PlanRefused
from isolate.inventory.models import Device, Inventory
from isolate.plan import coverage
from isolate.plan.baseline import Filters, read_baseline
from isolate.plan.blast import BlastTracker, own_services
from isolate.plan.effects import add_effect
from isolate.plan.exclude import LeftOut, left_out
from isolate.plan.guards import GUARDS, Protection, check, refusal
from isolate.plan.identity_guard import guard_accounts, without_directory_steps
from isolate.plan.models import (
    DeviceChange,
    Override,
    Plan,
    PlannedStep,
    PlanParameter,
    ProtectedSummary,
)
from isolate.plan.reach import Effect, Reach, Topology
from isolate.plan.targets import MAPPERS
from isolate.platforms import PLATFORMS, has_revert
from isolate.playbook.loader import validate_params
from isolate.playbook.models import Playbook, Step
from isolate.playbook.params import bind
from isolate.playbook.resolve import resolve_step
from isolate.values import BadValue, IPAddress, parse_ip, parse_text


def _changes(step: Step, inventory: Inventory) -> tuple[list[DeviceChange], list[str]]:
    mapper = MAPPERS.get(step.action) or HOST_MAPPERS.get(step.action) or ACCOUNT_MAPPERS.get(step.action)
    if mapper is None or step.action not in PARAMS:
        raise PlanError(f"{step.where('action')}: action {step.action} is not available")
    params: BaseModel = validate_params(step, PARAMS[step.action])
    targets = resolve_step(step, inventory)
    items, notes = mapper(step, params, targets, inventory)
    changes = []
    for device, item in items:
        changes.append(_change(step, device, item))
    weaker = sorted({d.name for d, _ in items if d.ssh_algorithms.legacy})
    paths = _path_notes([d for d, _ in items], inventory)
    return changes, [*notes, *_no_revert_notes(changes), *_weaker_channel_notes(weaker), *paths]


def _path_notes(devices: list[Device], inventory: Inventory) -> list[str]:
    """Said at plan time: devices reached through SSH jump hosts (and which), or driven by a
    site worker (and which site)."""
    by_path: dict[tuple[str, ...], set[str]] = {}
    for device in devices:
        via = inventory.via_of(device)
        if via:
            by_path.setdefault(via, set()).add(device.name)
    by_site: dict[str, set[str]] = {}
    for device in devices:
        if device.site is not None:
            by_site.setdefault(device.site, set()).add(device.name)
    jumped = [
        f"{', '.join(sorted(n))} reached via jump hosts {' → '.join(v)}" for v, n in sorted(by_path.items())
    ]
    sited = [f"{', '.join(sorted(n))} driven by site {s}'s worker" for s, n in sorted(by_site.items())]
    return jumped + sited


def _weaker_channel_notes(devices: list[str]) -> list[str]:
    """Said at plan time: devices the inventory lets isolate reach with legacy SSH algorithms."""
    if not devices:
        return []
    return [f"legacy SSH algorithms allowed for {', '.join(devices)} (inventory ssh): a weaker channel"]


def _no_revert_notes(changes: list[DeviceChange]) -> list[str]:
    """Said at plan time: a device without a device-owned revert is not covered by a confirm window."""
    bare = sorted({(c.device, c.platform) for c in changes if not has_revert(c.platform)})
    if not bare:
        return []
    named = ", ".join(f"{device} ({platform})" for device, platform in bare)
    return [
        f"no device-owned revert on {named}: --confirm-window does not cover it; restore undoes it "
        "(isolate's own window: apply --expires DURATION restores it unless 'isolate extend RUN --keep')"
    ]


def _change(step: Step, device: Device, item: BaseModel) -> DeviceChange:
    try:
        module = lookup(step.action, device.platform)
        batch = batch_of(module.render(item))
    except PlanError as exc:
        raise PlanError(f"{step.where('targets')}: {device.name}: {exc}") from None
    return DeviceChange.model_validate(
        {
            "device": device.name,
            "platform": device.platform,
            "item": item,
            "commands": batch.config,
            "exec_after": batch.exec_after,
        }
    )


OverrideRequests = Mapping[str, str] | Sequence[tuple[str, str]]


def _check_bindings(built: Sequence[tuple[Step, list[DeviceChange]]]) -> None:
    """IOS holds one ACL per interface and direction: two steps binding the same one
    would silently replace each other's ACL."""
    bound: dict[tuple[str, int, str], str] = {}
    for step, changes in built:
        for change in changes:
            item = change.item
            interface_bound = PLATFORMS[change.platform].acl_binding == "interface"
            if not interface_bound or not isinstance(item, BlockSmbItem | SegmentAclItem):
                continue
            direction = "in" if isinstance(item, BlockSmbItem) else "out"
            for svi in item.svis:
                key = (change.device, svi.vlan, direction)
                if key in bound and bound[key] != step.id:
                    raise PlanError(
                        f"{step.where('targets')}: steps '{bound[key]}' and '{step.id}' both bind "
                        f"an ACL {direction} on {change.device} interface Vlan{svi.vlan}; "
                        "IOS keeps only one: merge them into one step"
                    )
                bound[key] = step.id


def _check_overrides(playbook: Playbook, overrides: OverrideRequests) -> dict[str, str]:
    """``STEP`` (every guard of the step) or ``STEP:GUARD`` (that guard only) → reason."""
    known = {s.id for s in playbook.steps}
    wanted: dict[str, str] = {}
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else list(overrides)
    for request, reason in pairs:
        step, _, guard = request.partition(":")
        if step not in known:
            raise PlanError(f"--override {request}: no step '{step}' in playbook {playbook.name}")
        if guard and guard not in GUARDS:
            raise PlanError(f"--override {request}: no guard '{guard}' (guards: {', '.join(GUARDS)})")
        try:
            text = parse_text(reason).strip()
        except BadValue as exc:
            raise PlanError(f"--reason: {exc}") from None
        if not text:
            raise PlanError(f"--override {step} needs --reason TEXT (why it is safe to force)")
        wanted[request] = text
    return wanted


def _lifted(forced: Mapping[str, str], step: str, guards: Iterable[str]) -> dict[str, str] | None:
    """guard → reason for every violated guard, or None if one of them is not overridden."""
    reasons: dict[str, str] = {}
    for guard in guards:
        reason = forced.get(f"{step}:{guard}", forced.get(step))
        if reason is None:
            return None
        reasons[guard] = reason
    return reasons


def _with_tool(inventory: Inventory, tool_address: str | None) -> Inventory:
    if tool_address is None:
        return inventory
    try:
        address: IPAddress = parse_ip(tool_address)
    except BadValue as exc:
        raise PlanError(f"--tool-address: {exc}") from None
    management = inventory.management.model_copy(update={"tool_address": address})
    return inventory.model_copy(update={"management": management})


def build_plan(
    inventory: Inventory,
    playbook: Playbook,
    *,
    overrides: OverrideRequests = (),
    tool_address: str | None = None,
    parameters: Mapping[str, Sequence[str]] | None = None,
    exclude: Mapping[str, str] | Sequence[str] = (),
    limit: Sequence[str] = (),
    baseline: Mapping[str, str] | None = None,
) -> Plan:
    """The plan for ``playbook`` on ``inventory``. Raises PlanError (bad input) or
    PlanRefused (a guard refused a step that is not overridden). ``overrides`` maps
    step id → reason (or is a sequence of such pairs); ``parameters`` maps an incident
    parameter to its ``--set`` values (isolate.playbook.params); ``exclude`` (device names,
    or name → reason) and ``limit`` (isolate.plan.exclude) leave devices out: guards and
    blast radius are computed without them, and the plan says what stays open.
    ``baseline`` maps device name → its captured or last-known state: what the devices
    already filter is closed before any step (isolate.plan.baseline)."""
    inv = _with_tool(inventory, tool_address)
    bound = bind(playbook, inv, parameters)
    playbook, no_directory = without_directory_steps(bound.playbook, inv)
    out = LeftOut(left_out(inv, exclude=exclude, limit=limit))
    skipped = list(bound.skipped) + no_directory
    forced = _check_overrides(playbook, overrides)
    topo = Topology(inv)
    built: list[tuple[Step, list[DeviceChange], list[str], Effect]] = []
    identity_overrides: list[Override] = []
    for step in playbook.steps:
        changes, notes = _changes(step, inv)
        every = sorted({c.device for c in changes})
        changes = out.split(step.id, changes)
        if not changes:
            skipped.append(f"step {step.id} left out: {', '.join(every)} left out of the plan")
            continue
        changes, forced_ids = guard_accounts(step.id, changes, inv, forced.get(step.id))
        identity_overrides += forced_ids
        effect = Effect(step.id)
        for change in changes:
            add_effect(effect, change, inv, topo)
        built.append((step, changes, notes, effect))
    _check_bindings([(b[0], b[1]) for b in built])
    read = read_baseline(inv, baseline) if baseline is not None else None
    passes = Filters(inv, read).passes if read is not None else None
    reach = Reach(inv, [b[3] for b in built], passes=passes)
    tracker = BlastTracker(reach)
    protection = Protection(inv)
    watched = protection.watched(reach.pairs)
    contained: set[str] = set()
    planned: list[PlannedStep] = []
    recorded: list[Override] = list(identity_overrides)
    for step, changes, notes, effect in built:
        newly = reach.apply(effect)
        new_contained = (effect.contained | _prefix_contained(inv, topo, effect)) - contained
        contained |= new_contained
        recorded += _check_coverage(step, changes, reach, forced)
        pairs = [(reach.pairs[pid], newly[pid]) for pid in sorted(watched.intersection(newly))]
        violations = check(pairs, protection, contained, reach.cut)
        reasons = _lifted(forced, step.id, {v.guard for v in violations})
        if violations and reasons is None:
            raise PlanRefused(refusal(step.id, violations))
        for guard in [g for g in GUARDS if reasons and g in reasons]:
            first = [v for v in violations if v.guard == guard]
            more = f" (and {len(first) - 1} more)" if len(first) > 1 else ""
            recorded.append(
                Override(
                    step=step.id,
                    guard=guard,
                    detail=f"on {first[0].device} it cuts {first[0].detail}{more}",
                    reason=(reasons or {})[guard],
                )
            )
        planned.append(
            PlannedStep(
                id=step.id,
                action=step.action,
                policy=step.policy,
                restore_stage=playbook.restore_stage_of(step),
                timeout_s=step.timeout,
                changes=tuple(changes),
                notes=tuple(notes),
                blast=tracker.step(
                    changes, effect, newly, own_services(inv, protection, new_contained, contained)
                ),
            )
        )
    tool = inv.tool_address()
    return Plan(
        inventory=inv.name,
        inventory_path=_absolute(inv.source_path),
        inventory_sha256=inv.sha256,
        playbook=playbook.name,
        playbook_path=_absolute(playbook.source_path),
        playbook_sha256=playbook.sha256,
        tool_address=str(tool) if tool is not None else None,
        steps=tuple(planned),
        overrides=tuple(recorded),
        blast=tracker.radius(protection, watched).model_copy(
            update={
                "flows_closed_at_baseline": reach.closed,
                "baseline_read": tuple(read.read) if read else (),
                "baseline_unmodelled": tuple(read.unmodelled) if read else (),
            }
        ),
        protected=ProtectedSummary(
            management_networks=tuple(str(n) for n in inv.management.networks),
            stations=tuple(inv.management.stations),
            tool_address=str(tool) if tool is not None else None,
            hosts=tuple(inv.protected.hosts),
            services=tuple(s.label for s in inv.protected.services),
            segments=tuple(inv.protected.segments),
        ),
        parameters=tuple(
            PlanParameter(name=p.name, type=p.type, given=p.given, resolved=p.resolved, source=p.source)
            for p in bound.parameters
        ),
        skipped=tuple(skipped),
        excluded=out.records(),
    )


def _check_coverage(
    step: Step, changes: Sequence[DeviceChange], reach: Reach, forced: Mapping[str, str]
) -> list[Override]:
    """A block-smb step must cut SMB between every pair of the segments it selects."""
    if step.action != "block-smb":
        return []
    open_pairs = coverage.open_smb(changes, reach)
    if not open_pairs:
        return []
    message = coverage.refusal(step.id, open_pairs, reach.topo)
    reason = forced.get(f"{step.id}:{coverage.GUARD}", forced.get(step.id))
    if reason is None:
        raise PlanRefused(message)
    detail = message.split(": ", 1)[1].split(" (--override", 1)[0]
    return [Override(step=step.id, guard=coverage.GUARD, detail=detail, reason=reason)]


def _prefix_contained(inv: Inventory, topo: Topology, effect: Effect) -> set[str]:
    """Hosts an edge-block contains: inside one of its prefixes, and that prefix narrower
    than the host's segment (blocking a whole segment, e.g. every outside address, cuts
    its hosts off but does not make them suspects)."""
    found: set[str] = set()
    for host in inv.hosts:
        seg = topo.segments.get(host.segment)
        for prefix in effect.prefixes:
            if host.address.version != prefix.version or host.address not in prefix:
                continue
            if seg is None or prefix.prefixlen > seg.subnet.prefixlen:
                found.add(host.name)
    for source in inv.sources:  # an attacker range blocked is a suspect; the Internet never
        net = source.prefix
        if net.prefixlen and any(p.version == net.version and net.subnet_of(p) for p in effect.prefixes):  # type: ignore[arg-type]
            found.add(source.name)
    return found


def _absolute(path: str | None) -> str | None:
    """A source file as an absolute path: a saved plan (``--out``) and a run's plan are applied,
    resumed or re-checked from whatever directory the admin is in then."""
    return None if path is None else str(Path(path).resolve())
