"""Plan output: plain text (pipes, logs, ``apply``'s confirmation) and rich tables
(terminals). Both are deterministic functions of the plan; JSON is ``Plan.to_json()``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from isolate.natsort import natural_key, natural_sorted
from isolate.plan.models import DeviceChange, KeptService, Plan, PlannedStep, ServiceCut, StepBlast

SHOWN = 6  # names listed before "and N more" in the summary and step lines


def names(items: Sequence[str], limit: int = SHOWN) -> str:
    """``a, b, c`` or ``a, b, c, d, e, f and 12 more`` (natural order kept as given)."""
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


def _service_groups(services: Sequence[ServiceCut], *, detail: bool = True) -> list[str]:
    """One line per (sources, devices): ``from users [on core2]: fs1 smb 445/tcp, …``;
    without ``detail``, services grouped by name with a host count."""
    grouped: dict[tuple[tuple[str, ...], tuple[str, ...]], list[ServiceCut]] = {}
    for cut in services:
        grouped.setdefault((cut.sources, cut.devices), []).append(cut)
    lines = []
    for (sources, devices), cuts in sorted(grouped.items()):
        if detail:
            what = ", ".join(f"{c.host} {c.service} {c.port}/{c.proto}" for c in _natural(cuts))
            lines.append(f"from {', '.join(sources)} [on {', '.join(devices)}]: {what}")
        else:
            lines.append(f"from {names(natural_sorted(sources))} [on {', '.join(devices)}]: {_by_name(cuts)}")
    return lines


def _natural(cuts: Sequence[ServiceCut]) -> list[ServiceCut]:
    return sorted(cuts, key=lambda c: (natural_key(c.host), c.port, c.proto))


def _by_name(cuts: Sequence[ServiceCut], limit: int = 3) -> str:
    """``smb 445/tcp on 110 hosts (ws-1, …), backup 9102/tcp on bac-1``."""
    by: dict[tuple[str, int, str], list[str]] = {}
    for cut in cuts:
        by.setdefault((cut.service, cut.port, cut.proto), []).append(cut.host)
    parts = []
    for (service, port, proto), hosts in sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        ordered = natural_sorted(hosts)
        where = ordered[0] if len(ordered) == 1 else f"{len(ordered)} hosts ({names(ordered, 3)})"
        parts.append(f"{service} {port}/{proto} on {where}")
    return names(parts, limit)


def own_service_lines(blast: StepBlast) -> list[str]:
    """``fs1 serves smb, ldap, dns: cut with it; dc1, fs3 still serve ldap, dns to every client``."""
    lines = []
    for own in blast.own_services:
        by_providers: dict[tuple[str, ...], list[str]] = {}
        for still in own.still_served:
            by_providers.setdefault(still.providers, []).append(still.service)
        parts = [f"{own.host} serves {', '.join(own.services)}: cut with it"]
        for providers, services in by_providers.items():
            if providers:
                verb = "serves" if len(providers) == 1 else "serve"
                parts.append(f"{names(providers)} still {verb} {', '.join(services)} to every client")
            else:
                parts.append(f"no other host serves {', '.join(services)}")
        lines.append("; ".join(parts))
    return lines


def _step_head(index: int, total: int, step: PlannedStep) -> str:
    return (
        f"step {index}/{total} {step.id}: {step.action} on {len(step.changes)} device(s) "
        f"(policy {step.policy}, restore stage {step.restore_stage}, timeout {step.timeout_s}s)"
    )


def _blast_lines(blast: StepBlast, *, detail: bool = True) -> list[str]:
    lines = [f"cuts {blast.flows_cut} flow(s), {blast.flows_cut_total} cut in total"]
    if blast.hosts_cut_off:
        lines.append(f"hosts cut off: {', '.join(natural_sorted(blast.hosts_cut_off))}")
    if blast.segments_cut_off:
        lines.append(f"segments cut off: {', '.join(blast.segments_cut_off)}")
    for port in blast.ports:
        lines.append(f"port {port.device} {port.interface} ({port.host}) -> {port.change}")
    if blast.vpn_users:
        lines.append(f"VPN users cut: {', '.join(blast.vpn_users)}")
    if blast.accounts_disabled:
        lines.append(f"accounts disabled: {', '.join(blast.accounts_disabled)}")
    for cut in blast.management:
        where = f"{cut.address}:{cut.port}"
        lines.append(f"MANAGEMENT PATH CUT: {cut.source} -> {cut.device} ({where}) on {cut.by}")
    lines += own_service_lines(blast)
    own = {o.host for o in blast.own_services}
    services = [s for s in blast.services if s.host not in own]
    if services:
        lines.append(f"services unreachable ({len(services)}):")
        lines += [f"  {line}" for line in _service_groups(services, detail=detail)]
    return lines


def _management_line(plan: Plan) -> str:
    """``management path: kept (from TOOL and stations … to every device on its management port)``."""
    return (
        "management path: "
        + ("kept" if plan.blast.management_kept else "CUT (overridden)")
        + f" (from {plan.tool_address or 'no tool address'} and stations "
        f"{', '.join(plan.protected.stations) or 'none'} to every device on its management port)"
    )


def _summary_lines(plan: Plan, *, kept_lines: bool = True) -> list[str]:
    blast = plan.blast
    lines = [
        f"blast radius: {blast.flows_cut} of {blast.flows_total} flows cut; "
        f"{blast.ports} port(s); hosts cut off: {', '.join(blast.hosts_cut_off) or 'none'}; "
        f"segments cut off: {', '.join(blast.segments_cut_off) or 'none'}; "
        f"VPN users cut: {', '.join(blast.vpn_users) or 'none'}"
        + (f"; accounts disabled: {', '.join(blast.accounts_disabled)}" if blast.accounts_disabled else ""),
        _management_line(plan),
    ]
    if blast.kept and kept_lines:
        lines.append("protected services:")
        for kept in blast.kept:
            cut = f", cut for {kept.cut_from}" if kept.cut_from else ""
            lines.append(
                f"  {kept.host} {kept.service} {kept.port}/{kept.proto}: "
                f"kept for {kept.reachable_from} source(s){cut}"
            )
    prot = plan.protected
    lines.append(
        "protected: management "
        f"{', '.join(prot.management_networks) or '-'}; hosts {', '.join(prot.hosts) or '-'}; "
        f"services {', '.join(prot.services) or '-'}; segments {', '.join(prot.segments) or '-'}"
    )
    for override in plan.overrides:
        lines.append(
            f"OVERRIDE step {override.step} ({override.guard}): {override.detail} - reason: {override.reason}"
        )
    return lines


def _parameter_lines(plan: Plan) -> list[str]:
    """Incident parameters (as given -> what they stand for) and the steps they left out."""
    lines = []
    for p in plan.parameters:
        values = ", ".join(p.given) or "(empty)"
        means = f" -> {', '.join(p.resolved) or 'nothing'}" if p.resolved != p.given else ""
        lines.append(f"parameter {p.name} ({p.type}, {p.source}): {values}{means}")
    lines += [f"note: {line}" for line in plan.skipped]
    for left in plan.excluded:
        lines.append(f"left out: {left.device} ({left.reason}); stays open:")
        lines += [f"  {line}" for line in left.left_open]
    return lines


def _kept_lines(kept: Sequence[KeptService]) -> list[str]:
    """Per protected host and service when few, else per service name with totals."""
    if len(kept) <= 2 * SHOWN:
        return [
            f"  {k.host} {k.service} {k.port}/{k.proto}: kept for {k.reachable_from} source(s)"
            + (f", cut for {k.cut_from}" if k.cut_from else "")
            for k in kept
        ]
    by: dict[str, list[KeptService]] = {}
    for k in kept:
        by.setdefault(k.service, []).append(k)
    return [
        f"  {service} on {len(items)} host(s): kept for {sum(k.reachable_from for k in items)} "
        f"source(s)" + (f", cut for {cut}" if (cut := sum(k.cut_from for k in items)) else "")
        for service, items in sorted(by.items())
    ]


def _step_summary(step: PlannedStep, contained: set[str]) -> str:
    blast = step.blast
    what = [f"{blast.flows_cut} flow(s)"]
    if blast.hosts_cut_off:
        what.append(f"cuts off {names(natural_sorted(blast.hosts_cut_off))}")
    if blast.segments_cut_off:
        what.append(f"segment(s) {names(natural_sorted(blast.segments_cut_off))} cut off")
    if blast.vpn_users:
        what.append(f"VPN user(s) {names(natural_sorted(blast.vpn_users))}")
    own = {o.host for o in blast.own_services}
    services = [
        c.model_copy(update={"sources": tuple(s for s in c.sources if s not in contained)})
        for c in blast.services
        if c.host not in own
    ]
    services = [c for c in services if c.sources]
    if services:
        sources = natural_sorted({src for c in services for src in c.sources})
        what.append(f"{_by_name(services, 2)} cut for {names(sources, 4)}")
    return f"  {step.id} ({step.action}): " + "; ".join(what)


def summary_lines(plan: Plan) -> list[str]:
    """What is cut, for whom, what stays, what is refused or forced: the plan's first screen."""
    blast = plan.blast
    share = f" ({100 * blast.flows_cut // blast.flows_total}%)" if blast.flows_total else ""
    lines = [f"CUT: {blast.flows_cut} of {blast.flows_total} flows{share}; {blast.ports} switch port(s)"]
    if blast.baseline_read or blast.baseline_unmodelled:
        lines.append(
            f"  baseline: rules read from {names(list(blast.baseline_read)) or 'no device'}; "
            f"{blast.flows_closed_at_baseline} flow(s) already closed there, not counted"
        )
        lines += [f"  baseline not modelled: {what}" for what in blast.baseline_unmodelled]
    contained = set(blast.hosts_cut_off)
    lines += [_step_summary(step, contained) for step in plan.steps]
    for step in plan.steps:
        lines += [f"  {line}" for line in own_service_lines(step.blast)]
    lines.append("STAYS:")
    lines.append(f"  {_management_line(plan)}")
    if blast.kept:
        lines.append("  protected services:")
        lines += [f"  {line}" for line in _kept_lines(blast.kept)]
    prot = plan.protected
    lines.append(
        "  protected: management "
        f"{', '.join(prot.management_networks) or '-'}; hosts {names(list(prot.hosts)) or '-'}; "
        f"services {names(list(prot.services)) or '-'}; segments {', '.join(prot.segments) or '-'}"
    )
    refused = [
        f"  OVERRIDE step {o.step} ({o.guard}): {o.detail} - reason: {o.reason}" for o in plan.overrides
    ]
    lines.append("REFUSED: " + ("nothing: every guard passed" if not refused else "forced by override:"))
    lines += refused
    notes = [f"  note: {step.id}: {note}" for step in plan.steps for note in step.notes]
    return lines + notes


def render_text(plan: Plan, *, detail: bool = False) -> str:
    """The plan as plain text: the summary first, then each step with its devices and
    command counts. ``detail``: every command and every service cut, in full."""
    devices = sorted({c.device for s in plan.steps for c in s.changes})
    commands = sum(len(c.commands) + len(c.exec_after) for s in plan.steps for c in s.changes)
    lines = [
        f"plan {plan.playbook} on inventory {plan.inventory}: {len(plan.steps)} step(s), "
        f"{len(devices)} device(s), {commands} command(s)",
        f"inventory sha256 {plan.inventory_sha256}",
        f"playbook sha256 {plan.playbook_sha256}",
        *_parameter_lines(plan),
        "",
        *summary_lines(plan),
    ]
    if not detail:
        lines += ["", "(every command and service cut: isolate plan --detail, or --json)"]
    for index, step in enumerate(plan.steps, 1):
        lines += ["", _step_head(index, len(plan.steps), step)]
        for change in step.changes:
            count = len(change.commands) + len(change.exec_after)
            lines.append(f"  {change.device} ({change.platform}): {count} command(s)")
            if detail:
                lines += [f"    {command}" for command in _shown(change)]
        lines += [f"  note: {note}" for note in step.notes]
        lines += [f"  {line}" for line in _blast_lines(step.blast, detail=detail)]
    if detail:
        lines += ["", *_summary_lines(plan)]
    return "\n".join(lines) + "\n"


EXEC_MARK = "(exec) "  # how a plan shows an exec-mode line, run after the configuration lines


def _shown(change: DeviceChange) -> list[str]:
    """A change's lines as the plan shows them: configuration, then ``(exec) LINE``."""
    return [*change.commands, *(EXEC_MARK + line for line in change.exec_after)]


def render_rich(plan: Plan, *, detail: bool = False) -> RenderableType:
    """Rich tables for a terminal: the summary, then per step its devices and exact
    commands, its blast (service lists in full with ``detail``)."""
    parts: list[RenderableType] = [Text(f"plan {plan.playbook} on inventory {plan.inventory}", style="bold")]
    if plan.parameters or plan.skipped or plan.excluded:
        parts.append(Text("\n".join(_parameter_lines(plan))))
    parts.append(Text("\n".join(summary_lines(plan)), style="bold"))
    for index, step in enumerate(plan.steps, 1):
        table = Table(title=_step_head(index, len(plan.steps), step), title_justify="left")
        table.add_column("device", style="cyan", no_wrap=True)
        table.add_column("platform")
        table.add_column("commands")
        for change in step.changes:
            table.add_row(change.device, change.platform, "\n".join(_shown(change)))
        parts.append(table)
        notes = [f"note: {n}" for n in step.notes]
        parts.append(Text("\n".join(notes + _blast_lines(step.blast, detail=detail)), style="yellow"))
    kept = Table(title="protected services", title_justify="left")
    for column in ("host", "service", "port", "kept for", "cut from"):
        kept.add_column(column)
    for item in plan.blast.kept:
        kept.add_row(
            item.host,
            item.service,
            f"{item.port}/{item.proto}",
            str(item.reachable_from),
            str(item.cut_from),
        )
    parts += [Text("\n".join(_summary_lines(plan, kept_lines=False)), style="bold"), kept]
    return Group(*parts)
