"""`isolate drill`: an unattended containment rehearsal with reports; rendering and exit codes only."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from isolate.cli.options import SetOpt, parameter_values
from isolate.cli.progress import Progress
from isolate.errors import InputError
from isolate.reports.model import DrillResult, fmt_seconds


def drill_cmd(
    playbook: Annotated[Path, typer.Argument(help="The playbook to rehearse.")],
    inventory: Annotated[
        Path | None, typer.Option("-i", "--inventory", help="Inventory (a lab's DIR/inventory.yml).")
    ] = None,
    lab: Annotated[
        bool,
        typer.Option("--lab", help="Start an embedded lab (default topology) for the drill; stop it after."),
    ] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report-dir", help="Where the reports go (default STATE/drills/<stamp>-<playbook>)."),
    ] = None,
    budget: Annotated[
        str, typer.Option("--budget", help="Time-to-contain budget: 40m (Caen), 4m, 90s, 1h.")
    ] = "40m",
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Journals, locks, drills (default $ISOLATE_STATE_DIR or ~/.local/state/isolate).",
        ),
    ] = None,
    devices: Annotated[
        int | None, typer.Option("--devices", min=1, max=2000, help="With --lab: access switches in the lab.")
    ] = None,
    compare: Annotated[
        Path | None,
        typer.Option("--compare", help="Another playbook (e.g. full-isolation) to compare the cut with."),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault-before-restore",
            help="With --lab: DEVICE=KIND[:ARG] set after containment, to rehearse a restore that fails.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Plan and pre-check every device only; change nothing (real networks)."),
    ] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=1000, help="Devices worked in parallel.")
    ] = 32,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per device operation.")] = 30.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Events as JSON lines on stderr; report.json on stdout.")
    ] = False,
    sets: SetOpt = None,
    override: Annotated[
        list[str] | None,
        typer.Option("--override", help="Let STEP (or STEP:GUARD) pass a safety guard; needs --reason."),
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why the override is safe (journaled).")] = "",
    topology: Annotated[
        Path | None, typer.Option("--topology", help="With --lab: the lab's topology file (default: city).")
    ] = None,
) -> None:
    """Rehearse containment unattended and write reports; never prompts.

    Plan, apply, check the flows, restore, check every device is back byte-identical.

    Time-to-contain is scored against --budget (default 40m: the Caen figure).

    Reports: report.json, junit.xml, report.md, report.html (see docs/drills.md).

    Exit 0: every check passed; 1: a check failed; others: docs/exit-codes.md.

    Example: isolate drill --lab playbooks/ransomware-lateral.yml --report-dir drill-report
    """
    from isolate.drill import DrillOptions, default_drill_dir, parse_duration, run_drill
    from isolate.reports import write_reports
    from isolate.reports.json import to_dict

    budget_s = parse_duration(budget)
    drill_dir = default_drill_dir(state_dir, playbook)
    options = DrillOptions(
        playbook=playbook,
        inventory=inventory,
        lab=lab,
        budget_s=budget_s,
        state_dir=state_dir,
        devices=devices,
        compare=compare,
        faults_before_restore=tuple(fault or ()),
        check_only=check,
        workers=workers,
        timeout_s=timeout,
        drill_dir=drill_dir,
        parameters=parameter_values(sets),
        overrides=tuple((step, reason) for step in (override or [])),
        topology=topology,
    )
    if override and not reason:
        raise InputError("--override needs --reason TEXT (it is journaled)")
    reports_at = report_dir or drill_dir
    _check_report_dir(reports_at)  # before anything is sent: said now, not after the drill
    # cron and systemd stop a drill with SIGTERM: unwind, so that the lab is stopped by its pid
    signal.signal(signal.SIGTERM, _terminated)
    mode = "json" if as_json else "auto"
    with Progress(mode=mode, budget_s=budget_s, title=f"drill {playbook.stem}") as progress:
        result = run_drill(options, sink=progress.sink)
    paths = write_reports(result, reports_at)
    for error in result.errors if not result.run_id else ():
        typer.echo(f"error: {error}", err=True)  # refused or invalid: the reports say it too
    if as_json:
        typer.echo(json.dumps(to_dict(result), sort_keys=True))
    else:
        _summary(result, paths, Console(highlight=False, soft_wrap=True))  # a line per line in cron logs
    # sys.exit, not typer.Exit: with standalone_mode=False click returns an Exit's code instead of exiting
    sys.exit(result.exit_code)


def _check_report_dir(path: Path) -> None:
    """InputError unless the reports can be written at ``path``: a writable directory, or one
    its nearest existing parent, a writable directory, can hold (created later, with them)."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(f"--report-dir {path}: cannot write reports there: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"--report-dir {path}: cannot write reports there: {probe} is not writable")


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _summary(result: DrillResult, paths: dict[str, Path], console: Console) -> None:
    clock = result.clock
    verdict = "[green]PASSED[/green]" if result.ok else "[red]FAILED[/red]"
    console.print(f"drill {escape(result.playbook)}: {verdict}  (run {result.run_id or '-'})")
    for error in result.errors:
        console.print(f"[red]error:[/red] {escape(error)}")
    within = "[red]OVER[/red]" if result.budget_label == "OVER" else result.budget_label
    console.print(
        f"time to contain: {fmt_seconds(clock.time_to_contain_s)} "
        f"({within}{'' if clock.time_to_contain_s is None else ' the'} budget {fmt_seconds(clock.budget_s)}; "
        f"fastest ransomware family: {fmt_seconds(clock.fastest_family_s)})"
    )
    console.print(f"time to restore: {fmt_seconds(clock.time_to_restore_s)}")
    if result.flows:
        cut = sum(1 for f in result.flows if f.before and f.during is False)
        opened = sum(1 for f in result.flows if f.before)
        applied = any(f.during is not None for f in result.flows)
        during = f", {cut} blocked during containment" if applied else ""
        console.print(f"flows: {opened} open at baseline{during}")
    label = result.restored_label
    console.print(f"restored: {'[red]' + label + '[/red]' if label.startswith('NOT') else label}")
    for row in result.restore:
        if not row.identical:
            console.print(f"  [red]✗[/red] {escape(row.device)}: {escape(row.difference)}")
    for check in result.failed_checks:
        if check.group != "restore" or check.device is None:
            console.print(f"[red]✗[/red] {escape(check.name)}: {escape(check.message)}")
    if result.comparison is not None:
        comp = result.comparison
        console.print(
            f"compared with {escape(comp.other)}: it cuts {comp.extra_flows_lost} more flows "
            "and these services "
            f"too: {escape(', '.join(comp.extra_services_lost) or 'none')}"
        )
    console.print(f"reports: {paths['report.html'].parent}/ (report.html, report.md, junit.xml, report.json)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("drill")(drill_cmd)

