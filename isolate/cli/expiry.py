"""`isolate extend RUN --by DURATION` / `--keep`, and `isolate expire` (fire due expiries)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from isolate.cli.options import one_line
from isolate.cli.run import LockDir, StateDir, TransportOpt
from isolate.errors import ExitCode, InputError


def extend_cmd(
    run: Annotated[str, typer.Argument(help="The run id (or 'last') whose containment expires.")],
    by: Annotated[str | None, typer.Option("--by", help="Push the expiry this much later: 30m, 4h, 2d.")]
    = None,
    keep: Annotated[bool, typer.Option("--keep", help="Confirm the containment: it never expires.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the extension).")] = "",
    state_dir: StateDir = None,
) -> None:
    """Extend a containment that expires (apply --expires, a watch rule's expires), or keep it.

    Example: isolate extend last --by 4h --reason "forensics still imaging ws-17"
    """
    from isolate.expiry import extend, parse_duration
    from isolate.paths import current_user, state_dir_from

    if (by is None) == (not keep):
        raise InputError("isolate extend RUN needs --by DURATION or --keep (not both)")
    seconds = parse_duration("--by", by) if by is not None else None
    found = extend(state_dir_from(state_dir), run, by_s=seconds, user=current_user(),
                   reason=one_line("--reason", reason))
    typer.echo(f"run {found.run_id}: {found.describe()}")


def expire_cmd(
    transport: TransportOpt = None,
    state_dir: StateDir = None,
    lock_dir: LockDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run with an expiry.")] = False,
) -> None:
    """Restore every containment whose expiry has passed (the staged restore, journaled), and
    list the ones still pending. For cron or a systemd timer when `isolate watch` is not running.

    Example: isolate expire
    """
    from isolate.expiry import expiries
    from isolate.paths import state_dir_from
    from isolate.watch.incidents import IncidentStore
    from isolate.watch.service import line_of, sweep

    state = state_dir_from(state_dir)  # the sweep also closes the watch incidents it restores
    store = IncidentStore(state)
    with store.locked():  # never beside a watch decision or an approve
        fired = sweep(store, state, by="isolate expire", lock_dir=lock_dir, transport=transport)
    for one in fired:
        typer.echo(line_of(one), err=True)
    pending = expiries(state)
    for item in pending:
        if as_json:
            typer.echo(json.dumps({"run": item.run_id, "incident": item.incident, "expires_at": item.at,
                                   "settled": item.settled, "events": list(item.events)}, sort_keys=True))
        else:
            typer.echo(f"run {item.run_id}: {item.describe()}")
    if not pending and not as_json:
        typer.echo("no containment with an expiry is pending")
    if any(not f.ok and not f.retry for f in fired):
        raise typer.Exit(int(ExitCode.VERIFY_FAILED))
    if any(f.retry for f in fired):
        raise typer.Exit(int(ExitCode.LOCKED))


def register(app: typer.Typer) -> None:
    app.command("extend")(extend_cmd)
    app.command("expire")(expire_cmd)
