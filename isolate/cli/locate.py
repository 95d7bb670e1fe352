"""`isolate locate IP|MAC|HOSTNAME`: where a host is plugged in (read-only queries)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from isolate.errors import ExitCode


def locate_cmd(
    what: Annotated[str, typer.Argument(help="An IP address, a MAC address or an inventory host name.")],
    inventory: Annotated[
        Path | None, typer.Option("-i", "--inventory", help="Inventory file or directory.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer and every query as JSON.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per device operation.")] = 30.0,
    insecure_host_keys: Annotated[
        bool, typer.Option("--insecure-host-keys", help="Do not verify SSH host keys.")
    ] = False,
    transport: Annotated[
        str | None, typer.Option("--transport", help="SSH transport for CLI devices: asyncssh or netmiko.")
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="State directory (default $ISOLATE_STATE_DIR).")
    ] = None,
) -> None:
    """Find a host's switch port: ARP on its segment's gateways and firewalls, then the MAC
    tables of the access switches, keeping only edge ports (no trunk, no CDP/LLDP neighbour,
    no port-channel). Read-only: show commands only. Every candidate is listed when more
    than one remains.

    Exit 0: found (one or more candidates); 1: not found; 2: bad input.

    Example: isolate locate 10.10.100.23 -i inventory/city.yml
    """
    from isolate.cli.checks import default_inventory
    from isolate.drivers.registry import connector
    from isolate.execute.targets import resolve_targets
    from isolate.inventory.loader import load_inventory
    from isolate.locate import locate
    from isolate.paths import state_dir_from

    inv = load_inventory(default_inventory(inventory))
    work = state_dir_from(state_dir)
    found = locate(
        inv,
        what,
        targets=lambda names: dict(
            resolve_targets(
                inv, names, host_key_checking=not insecure_host_keys, timeout_s=timeout, work_dir=work
            ).targets
        ),
        connect=connector(transport),
    )
    if as_json:
        typer.echo(json.dumps(found.to_json(), sort_keys=True))
    else:
        _print(found)
    raise typer.Exit(int(ExitCode.OK if found.candidates else ExitCode.PARTIAL))


def _print(found: object) -> None:
    from isolate.locate import Location

    assert isinstance(found, Location)
    for entry in found.arp:
        typer.echo(f"{entry.address} is at {entry.mac} (ARP on {entry.device} {entry.interface})")
    if found.address and not found.arp:
        asked = sorted({q.device for q in found.queries if "arp" in q.command or "neigh" in q.command})
        typer.echo(f"{found.address}: no ARP entry on {', '.join(asked) or 'any gateway'}", err=True)
    for row in found.candidates:
        typer.echo(f"{row.device} {row.interface} vlan {row.vlan} mac {row.mac}")
    if len(found.candidates) > 1:
        typer.echo(f"ambiguous: {len(found.candidates)} edge ports hold this MAC", err=True)
    if found.mac and not found.candidates:
        typer.echo(f"{found.mac}: on no edge port of the access switches", err=True)
        for seen in found.not_edge:
            typer.echo(f"  seen on {seen.device} {seen.interface}: {seen.why}, not an edge port", err=True)
    for query in found.errors:
        typer.echo(f"  {query.device}: {query.output}", err=True)


def register(app: typer.Typer) -> None:
    app.command("locate")(locate_cmd)
