"""Plan output: plain text (pipes, logs, ``apply``'s confirmation) and rich tables
(terminals). Both are deterministic functions of the plan; JSON is ``Plan.to_json()``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from isolate.plan.models import Plan, PlannedStep, ServiceCut, StepBlast


def _service_groups(services: Sequence[ServiceCut]) -> list[str]:
    """One line per (sources, devices): ``from users [on core2]: fs1 smb 445/tcp, …``."""
    grouped: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for cut in services:
        key = (cut.sources, cut.devices)
        grouped.setdefault(key, []).append(f"{cut.host} {cut.service} {cut.port}/{cut.proto}")
    return [
        f"from {', '.join(sources)} [on {', '.join(devices)}]: {', '.join(names)}"
        for (sources, devices), names in sorted(grouped.items())
    ]


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
                parts.append(f"{', '.join(providers)} still {verb} {', '.join(services)} to every client")
            else:
                parts.append(f"no other host serves {', '.join(services)}")
        lines.append("; ".join(parts))
    return lines


def _step_head(index: int, total: int, step: PlannedStep) -> str:
    return (
        f"step {index}/{total} {step.id}: {step.action} on {len(step.changes)} device(s) "
        f"(policy {step.policy}, restore stage {step.restore_stage}, timeout {step.timeout_s}s)"
    )


def _blast_lines(blast: StepBlast) -> list[str]:
    lines = [f"cuts {blast.flows_cut} flow(s), {blast.flows_cut_total} cut in total"]
    if blast.hosts_cut_off:
        lines.append(f"hosts cut off: {', '.join(blast.hosts_cut_off)}")
    if blast.segments_cut_off:
        lines.append(f"segments cut off: {', '.join(blast.segments_cut_off)}")
    for port in blast.ports:
        lines.append(f"port {port.device} {port.interface} ({port.host}) -> {port.change}")
    if blast.vpn_users:
        lines.append(f"VPN users cut: {', '.join(blast.vpn_users)}")
    if blast.accounts_disabled:
        lines.append(f"accounts disabled: {', '.join(blast.accounts_disabled)}")
    for cut in blast.management:
        lines.append(f"MANAGEMENT PATH CUT: {cut.source} -> {cut.device} ({cut.address}:22) on {cut.by}")
    lines += own_service_lines(blast)
    own = {o.host for o in blast.own_services}
    services = [s for s in blast.services if s.host not in own]
    if services:
        lines.append(f"services unreachable ({len(services)}):")
        lines += [f"  {line}" for line in _service_groups(services)]
    return lines


def _summary_lines(plan: Plan, *, kept_lines: bool = True) -> list[str]:
    blast = plan.blast
    lines = [
        f"blast radius: {blast.flows_cut} of {blast.flows_total} flows cut; "
        f"{blast.ports} port(s); hosts cut off: {', '.join(blast.hosts_cut_off) or 'none'}; "
        f"segments cut off: {', '.join(blast.segments_cut_off) or 'none'}; "
        f"VPN users cut: {', '.join(blast.vpn_users) or 'none'}"
        + (f"; accounts disabled: {', '.join(blast.accounts_disabled)}" if blast.accounts_disabled else ""),
        "management path: "
        + ("kept" if blast.management_kept else "CUT (overridden)")
        + f" (from {plan.tool_address or 'no tool address'} and stations "
        f"{', '.join(plan.protected.stations) or 'none'} to every device on tcp/22)",
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


def render_text(plan: Plan) -> str:
    """The whole plan as plain text: every step, device and command, then the blast radius."""
    devices = sorted({c.device for s in plan.steps for c in s.changes})
    lines = [
        f"plan {plan.playbook} on inventory {plan.inventory}: {len(plan.steps)} step(s), "
        f"{len(devices)} device(s)",
        f"inventory sha256 {plan.inventory_sha256}",
        f"playbook sha256 {plan.playbook_sha256}",
        *_parameter_lines(plan),
    ]
    for index, step in enumerate(plan.steps, 1):
        lines += ["", _step_head(index, len(plan.steps), step)]
        for change in step.changes:
            lines.append(f"  {change.device} ({change.platform}): {len(change.commands)} command(s)")
            lines += [f"    {command}" for command in change.commands]
        lines += [f"  note: {note}" for note in step.notes]
        lines += [f"  {line}" for line in _blast_lines(step.blast)]
    lines += ["", *_summary_lines(plan)]
    return "\n".join(lines) + "\n"


def render_rich(plan: Plan) -> RenderableType:
    """Rich tables for a terminal: per step its devices and exact commands, its blast."""
    parts: list[RenderableType] = [Text(f"plan {plan.playbook} on inventory {plan.inventory}", style="bold")]
    if plan.parameters or plan.skipped or plan.excluded:
        parts.append(Text("\n".join(_parameter_lines(plan))))
    for index, step in enumerate(plan.steps, 1):
        table = Table(title=_step_head(index, len(plan.steps), step), title_justify="left")
        table.add_column("device", style="cyan", no_wrap=True)
        table.add_column("platform")
        table.add_column("commands")
        for change in step.changes:
            table.add_row(change.device, change.platform, "\n".join(change.commands))
        parts.append(table)
        notes = [f"note: {n}" for n in step.notes]
        parts.append(Text("\n".join(notes + _blast_lines(step.blast)), style="yellow"))
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
