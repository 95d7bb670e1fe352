"""CLI command group ``isolate netlab``: up, down, status, flows (Linux, root).

The network lab builds real namespaces, an Open vSwitch switch, nftables firewalls,
sshd on every managed device, WireGuard and TCP listeners. ``up`` prints the
inventory path on stdout and a summary on stderr. Run isolate against it from the
admin station's namespace: ``ip netns exec <prefix>-admin1 isolate apply …``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from isolate.errors import ExitCode

netlab_app = typer.Typer(
    name="netlab",
    help="The network lab (root, Linux): real namespaces, Open vSwitch VLANs, nftables, "
    "sshd, WireGuard and TCP listeners, measured with real packets.",
    no_args_is_help=True,
)

Dir = Annotated[
    Path,
    typer.Option("--dir", help="Lab directory (netlab.json, inventory.yml, keys, logs).", show_default=True),
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
DEFAULT_DIR = Path("netlab")


@netlab_app.command("up")
def up(
    directory: Dir = DEFAULT_DIR,
    topology: Annotated[
        Path | None,
        typer.Option("--topology", help="Topology file (default: the shipped city).", show_default=False),
    ] = None,
    as_json: Json = False,
) -> None:
    """Build the lab; on failure nothing is left behind."""
    from isolate.netlab.build import up as build_up

    result = build_up(directory, topology)
    if as_json:
        data = {**asdict(result), "dir": str(result.dir), "inventory": str(result.inventory)}
        typer.echo(json.dumps(data, sort_keys=True))
        return
    typer.echo(
        f"netlab {result.lab_id} up in {result.duration_s:.2f} s: {result.namespaces} namespaces "
        f"(iso-{result.lab_id}-*), {result.processes} processes",
        err=True,
    )
    typer.echo(str(result.inventory))


@netlab_app.command("down")
def down(
    directory: Dir = DEFAULT_DIR,
    as_json: Json = False,
    lab: Annotated[
        str | None,
        typer.Option(
            "--lab",
            help="Remove a lab whose directory is lost, by its id (see 'isolate netlab list').",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Stop every recorded process (by pid) and remove every recorded namespace."""
    from isolate.netlab.build import down as build_down
    from isolate.netlab.build import down_orphan

    result = down_orphan(lab) if lab else build_down(directory)
    if as_json:
        typer.echo(json.dumps(asdict(result), sort_keys=True))
    else:
        typer.echo(
            f"netlab {result.lab_id} down in {result.duration_s:.2f} s: "
            f"{len(result.namespaces_removed)} namespaces removed, "
            f"{result.processes_stopped} processes stopped",
            err=True,
        )
        for problem in result.problems:
            typer.echo(f"error: {problem}", err=True)
    if result.problems:
        raise typer.Exit(int(ExitCode.PARTIAL))


@netlab_app.command("list")
def list_labs(as_json: Json = False) -> None:
    """Network labs present on this machine (by their namespaces), whoever started them."""
    from isolate.netlab.build import labs_present

    labs = labs_present()
    if as_json:
        typer.echo(json.dumps(labs, sort_keys=True))
        return
    for lab_id, names in sorted(labs.items()):
        typer.echo(f"{lab_id}  {len(names)} namespaces  ({', '.join(sorted(names)[:3])}, …)")
    if not labs:
        typer.echo("no network lab on this machine", err=True)


@netlab_app.command("status")
def status(directory: Dir = DEFAULT_DIR, as_json: Json = False) -> None:
    """Which namespaces and processes of the lab are present (exit 1 if any is missing)."""
    from isolate.netlab.build import status as build_status

    st = build_status(directory)
    if as_json:
        data = {
            "lab_id": st.lab_id,
            "status": st.status,
            "dir": str(st.dir),
            "healthy": st.healthy,
            "namespaces": [asdict(n) for n in st.namespaces],
            "processes": [asdict(p) for p in st.processes],
        }
        typer.echo(json.dumps(data, sort_keys=True))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"netlab {st.lab_id} ({st.status})")
        for col in ("process", "namespace", "pid", "state"):
            table.add_column(col)
        for p in st.processes:
            table.add_row(p.name, p.namespace, str(p.pid), "running" if p.alive else "[red]gone[/]")
        Console().print(table)
        present = sum(n.present for n in st.namespaces)
        typer.echo(f"{present}/{len(st.namespaces)} namespaces present")
    if st.status == "up" and not st.healthy:
        raise typer.Exit(int(ExitCode.PARTIAL))


@netlab_app.command("flows")
def flows(
    directory: Dir = DEFAULT_DIR,
    as_json: Json = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per connect.")] = 1.0,
    settle: Annotated[
        float,
        typer.Option(
            "--settle",
            help="Re-probe closed flows for up to this many seconds (after a restore: VPN handshakes).",
        ),
    ] = 0.0,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Also write the JSON matrix to this file.", show_default=False),
    ] = None,
) -> None:
    """Measure the flow matrix with real TCP connects from every host's namespace."""
    from isolate.netlab.probes import probe, to_json

    results = probe(directory, timeout_s=timeout, settle_s=settle)
    text = to_json(results)
    if output is not None:
        output.write_text(text)
    if as_json:
        typer.echo(text, nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="netlab flows (real TCP connects)")
    for col in ("kind", "from", "to", "address", "port", "service", "result"):
        table.add_column(col)
    for r in results:
        f = r.flow
        mark = "[green]open[/]" if r.ok else f"[red]{r.outcome}[/]"
        table.add_row(f.kind, f.src, f.dst, f.address, str(f.port), f.service, mark)
    Console().print(table)
    typer.echo(f"{sum(r.ok for r in results)}/{len(results)} flows open")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(netlab_app, name="netlab")
