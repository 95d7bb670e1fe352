"""`isolate worker --site NAME`: drive the devices of one site for a controller (docs/scale.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def worker_cmd(
    site: Annotated[
        str, typer.Option("--site", help="The site this worker serves (devices with 'site: NAME').")
    ],
    inventory: Annotated[
        Path | None, typer.Option("-i", "--inventory", help="The site's inventory file or directory.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=1000, help="Calls served in parallel (threads).")
    ] = 32,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per device operation.")] = 30.0,
    idle_close: Annotated[
        float, typer.Option("--idle-close", min=1, help="Close a session no call used for this many seconds.")
    ] = 900.0,
    broker_retries: Annotated[
        int,
        typer.Option(
            "--broker-retries",
            min=0,
            help="Reconnections to a broker lost while serving (2, 4, 6 … s apart); then exit 1.",
        ),
    ] = 10,
    transport: Annotated[
        str | None, typer.Option("--transport", help="SSH transport for CLI devices: asyncssh or netmiko.")
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="State directory (default $ISOLATE_STATE_DIR).")
    ] = None,
) -> None:
    """Serve a site: take the controller's calls for this site's devices from the broker
    (the inventory's 'broker'), run them with isolate's own drivers, answer. Runs until
    SIGTERM/SIGINT. The controller keeps the journal; this worker writes none.

    Example: isolate worker --site north -i /etc/isolate/north.yml
    """
    from isolate.cli import debug_enabled
    from isolate.cli.checks import default_inventory
    from isolate.drivers.registry import transport_from
    from isolate.errors import InputError
    from isolate.inventory.loader import load_inventory
    from isolate.paths import state_dir_from
    from isolate.sites.worker import run_worker
    from isolate.values import BadValue, parse_name

    try:
        name = parse_name(site, "site")
    except BadValue as exc:
        raise InputError(f"--site: {exc}") from None
    inv = load_inventory(default_inventory(inventory))
    run_worker(
        inv,
        name,
        concurrency=concurrency,
        transport=transport_from(transport),
        work_dir=state_dir_from(state_dir),
        timeout_s=timeout,
        idle_close_s=idle_close,
        broker_retries=broker_retries,
        debug=debug_enabled(),
        ready=lambda w: typer.echo(
            f"worker {w.name}: site {w.site}, {len(w.devices)} device(s), "
            f"queues {w.queue} and isolate.site.{w.site}",
            err=True,
        ),
    )


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_cmd)
