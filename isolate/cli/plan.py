"""`isolate plan`: show (or save) what a playbook would do, before anything is sent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from isolate.cli.options import ExcludeOpt, LimitOpt, SetOpt, one_line, parameter_values
from isolate.errors import InputError
from isolate.plan.models import Plan

EXAMPLE = (
    "\n\nExample: isolate plan -i inventory/city.yml playbooks/ransomware-lateral.yml"
    "\n\nForce a refused step (the override and its reason are recorded in the plan): "
    "isolate plan -i inventory/city.yml playbooks/full-isolation.yml "
    "--override cut-all --override cut-internet "
    '--reason "INC-42: director ordered full isolation" --out plan.json'
    "\n\nIncident parameters: isolate plan -i inventory/city.yml playbooks/ransomware-lateral.yml "
    "--set infected=10.10.100.17 --set attacker=203.0.113.0/24"
    "\n\nShow a saved plan (content hash, inventory digest and guards checked as apply does): "
    "isolate plan show plan.json"
    "\n\nExit codes: 0 planned, 2 bad input, 6 refused by a safety guard."
)


def plan_cmd(
    playbook: Annotated[Path, typer.Argument(help="The playbook (YAML) to plan, or 'show'.")],
    saved: Annotated[
        Path | None, typer.Argument(help="With 'show': a plan saved by --out, checked and rendered.")
    ] = None,
    inventory: Annotated[
        Path | None, typer.Option("-i", "--inventory", help="Inventory file or directory.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also save the plan (JSON) for `isolate apply`.")
    ] = None,
    override: Annotated[
        list[str] | None,
        typer.Option("--override", help="Let this step pass a safety guard (repeatable)."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the override is safe (journaled).")
    ] = None,
    sets: SetOpt = None,
    exclude: ExcludeOpt = None,
    limit: LimitOpt = None,
    detail: Annotated[
        bool, typer.Option("--detail", help="Every command and every service cut, in full (text).")
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="Device states (DIR/<device>.txt, or an embedded lab's dir): flows the devices "
            "already stop are not counted as cut.",
        ),
    ] = None,
) -> None:
    """Plan a playbook: every step, device and command, the blast radius, what stays protected."""
    from isolate import api

    if str(playbook) == "show" and not playbook.is_file():
        if saved is None:
            raise InputError("isolate plan show FILE: which saved plan?")
        _show(saved, inventory, as_json, detail=detail)
        return
    if saved is not None:
        raise InputError(
            f"isolate plan takes one playbook (got also {saved}); 'isolate plan show FILE' shows a saved plan"
        )
    if inventory is None:
        raise InputError("isolate plan PLAYBOOK needs -i INVENTORY")
    steps = override or []
    reason = one_line("--reason", reason) or None
    if steps and not reason:
        raise InputError("--override needs --reason TEXT (why forcing it is safe)")
    if reason and not steps:
        raise InputError("--reason goes with --override STEP")
    _, built = api.plan(
        inventory,
        playbook,
        overrides=[api.Override(step, reason or "") for step in steps],
        parameters=parameter_values(sets),
        exclude=exclude or (),
        limit=limit or (),
        baseline=_states(baseline, out),
    )
    _print(built, as_json, out, detail=detail)


def _states(directory: Path | None, out: Path | None) -> dict[str, str] | None:
    """``--baseline DIR``: an embedded lab's devices, else every ``DIR/<device>.txt``."""
    if directory is None:
        return None
    if out is not None:
        raise InputError("--baseline with --out: a saved plan is re-checked without the device states")
    from isolate.reports.flows import lab_states

    found = lab_states(directory) if directory.is_dir() else None
    if found is not None:
        return found
    try:
        return {p.stem: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.txt"))}
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--baseline {directory}: cannot read the device states: {exc}") from None


def _show(saved: Path, inventory: Path | None, as_json: bool, *, detail: bool = False) -> None:
    """A saved plan, rendered like a fresh one once every check apply makes has passed."""
    from isolate import api

    _, built = api.load_saved_plan(saved, inventory)
    _print(built, as_json, None, detail=detail)


def _print(built: Plan, as_json: bool, out: Path | None, *, detail: bool = False) -> None:
    from isolate.plan.render import render_rich, render_text

    text = built.to_json()
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from None
    if as_json:
        sys.stdout.write(text)
    elif sys.stdout.isatty():
        Console(highlight=False).print(render_rich(built, detail=detail))
    else:
        sys.stdout.write(render_text(built, detail=detail))


def register(app: typer.Typer) -> None:
    """Add `isolate plan` to the root app."""
    app.command(
        "plan",
        help="Plan a playbook against an inventory: steps, devices, exact commands, blast radius "
        "and protected services; nothing is sent. Plain text when piped, rich tables on a "
        "terminal, JSON with --json; the same inputs give the same bytes." + EXAMPLE,
    )(plan_cmd)
