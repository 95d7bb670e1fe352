"""CLI command groups ``inventory`` and ``playbook``: lint files before an incident.

``isolate inventory check`` and ``isolate playbook check`` print a one-line OK
summary; on bad input they raise the loader's InputError, which ``isolate.cli.main``
prints as every problem (``file:line: field: message``) on stderr, exit 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from isolate.cli.options import SetOpt, parameter_values
from isolate.errors import InputError, InventoryError, PlaybookError
from isolate.inventory.loader import load_inventory
from isolate.inventory.models import Inventory
from isolate.playbook.loader import load_playbook, validate_params
from isolate.playbook.models import Playbook
from isolate.playbook.resolve import ResolvedTargets, resolve_step

inventory_app = typer.Typer(name="inventory", help="Inspect and lint the inventory.", no_args_is_help=True)
playbook_app = typer.Typer(name="playbook", help="Inspect and lint playbooks.", no_args_is_help=True)

InventoryOpt = Annotated[
    Path | None,
    typer.Option(
        "-i",
        "--inventory",
        help="Inventory file or directory (default: $ISOLATE_INVENTORY, else ./inventory).",
    ),
]


def default_inventory(given: Path | None) -> Path:
    if given is not None:
        return given
    return Path(os.environ.get("ISOLATE_INVENTORY") or "inventory")


def inventory_summary(inv: Inventory) -> str:
    counts = (
        f"{len(inv.devices)} devices, {len(inv.segments)} segments, {len(inv.hosts)} hosts, "
        f"{len(inv.groups)} groups, {len(inv.vpn.users)} VPN users"
    )
    return f"{inv.source_path}: OK: {counts} (sha256 {inv.sha256[:12]})"


def _targets_summary(found: ResolvedTargets) -> str:
    parts = [
        (len(found.devices), "device"),
        (len(found.segments), "segment"),
        (len(found.hosts), "host"),
        (len(found.users), "VPN user"),
    ]
    shown = [f"{n} {what}{'' if n == 1 else 's'}" for n, what in parts if n]
    return ", ".join(shown) if shown else "nothing"


@inventory_app.command("check")
def inventory_check(
    inventory: InventoryOpt = None,
    offline: Annotated[
        bool, typer.Option("--no-credentials", help="Do not resolve credential references.")
    ] = False,
) -> None:
    """Load and validate an inventory: types, references, duplicates, addresses, subnets,
    and every credential reference resolved (all failures listed).

    Example:

        isolate inventory check -i inventory/city.yml
    """
    from isolate.inventory.loader import load_inventory_with_lines
    from isolate.inventory.show import credential_problems
    from isolate.yamlsrc import raise_problems

    inv, lines = load_inventory_with_lines(default_inventory(inventory))
    if not offline:
        raise_problems(InventoryError, credential_problems(inv, lines), list(lines.files))
    typer.echo(inventory_summary(inv))


@inventory_app.command("show")
def inventory_show(
    inventory: InventoryOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON.")] = False,
    graph: Annotated[bool, typer.Option("--graph", help="Groups and devices, segments and hosts.")] = False,
) -> None:
    """The inventory as isolate understood it, with where each value came from
    (file:line, the Ansible inventory's for imported devices). Never prints a secret.

    Example:

        isolate inventory show -i inventory/city.yml --graph
    """
    from isolate.inventory.loader import load_inventory_with_lines
    from isolate.inventory.show import render_graph, render_json, render_text

    inv, lines = load_inventory_with_lines(default_inventory(inventory))
    if graph:
        typer.echo(render_graph(inv), nl=False)
    elif as_json:
        typer.echo(render_json(inv, lines), nl=False)
    else:
        typer.echo(render_text(inv, lines), nl=False)


def _check_params(book: Playbook) -> list[str]:
    """Every step's params against its action's param model."""
    from isolate.actions.base import PARAMS
    from isolate.playbook.params import without_refs

    problems: list[str] = []
    for step in map(without_refs, book.steps):
        model = PARAMS.get(step.action)
        if model is None:
            problems.append(f"{step.where('action')}: action '{step.action}' is not implemented yet")
            continue
        try:
            validate_params(step, model)
        except InputError as err:
            problems.extend(err.problems)
    return problems


def _check_targets(
    book: Playbook, inv: Inventory, lines: list[str], sets: dict[str, list[str]]
) -> list[str]:
    from isolate.playbook.params import bind

    try:
        bound = bind(book, inv, sets)
    except InputError as err:
        return list(err.problems)
    for p in bound.parameters:
        lines.append(f"  parameter {p.name} ({p.type}, {p.source}): {', '.join(p.resolved) or 'empty'}")
    lines += [f"  note: {note}" for note in bound.skipped]
    problems: list[str] = []
    for step in bound.playbook.steps:
        try:
            found = resolve_step(step, inv)
        except InputError as err:
            problems.extend(err.problems)
            continue
        summary = _targets_summary(found)
        prefixes = len(step.params.get("prefixes") or [])
        if prefixes:
            more = f"{prefixes} prefix{'' if prefixes == 1 else 'es'}"
            summary = more if summary == "nothing" else f"{summary}, {more}"
        accounts = len(step.params.get("users") or []) if step.action == "disable-account" else 0
        if accounts:
            more = f"{accounts} account{'' if accounts == 1 else 's'}"
            summary = more if summary == "nothing" else f"{summary}, {more}"
        lines.append(f"  {step.id} ({step.action}): {summary}")
    return problems


def _raise(problems: list[str]) -> None:
    if problems:
        first = problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)"
        raise PlaybookError(first, problems[:20])


@playbook_app.command("check")
def playbook_check(
    playbook: Annotated[Path, typer.Argument(help="Playbook YAML file.")],
    inventory: Annotated[
        Path | None,
        typer.Option(
            "-i",
            "--inventory",
            help="Also resolve every step's targets against this inventory.",
        ),
    ] = None,
    sets: SetOpt = None,
) -> None:
    """Load and validate a playbook and every step's params; with -i, resolve every
    step's targets against the inventory too.

    Example:

        isolate playbook check playbooks/ransomware-lateral.yml -i inventory/city.yml
    """
    book = load_playbook(playbook)
    inv = load_inventory(inventory) if inventory else None
    details: list[str] = []
    problems = _check_params(book)
    if inv is not None:
        problems += _check_targets(book, inv, details, parameter_values(sets))
    elif sets:
        raise InputError("--set needs -i INVENTORY (values are checked against it)")
    _raise(problems)
    typer.echo(f"{book.source_path}: OK: playbook '{book.name}', {len(book.steps)} steps")
    for line in details:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(inventory_app, name="inventory")
    app.add_typer(playbook_app, name="playbook")
