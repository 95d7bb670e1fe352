"""CLI command group ``isolate lab``: up, status, down, inventory, fault, flows.

The embedded lab serves simulated devices over real SSH on 127.0.0.1. ``up``
prints the inventory path on stdout (so ``INV=$(isolate lab up)`` works) and a
summary on stderr.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from isolate.errors import ExitCode, LabError
from isolate.lab.faults import FAULT_KINDS, Fault, make_fault, parse_fault

lab_app = typer.Typer(
    name="lab",
    help="The embedded lab: simulated IOS switches, Linux firewalls and a VPN concentrator "
    "served over real SSH on 127.0.0.1.",
    no_args_is_help=True,
)

StateDir = Annotated[
    Path | None,
    typer.Option("--state-dir", help="Lab state directory (default: $ISOLATE_STATE_DIR/lab, "
                 "else ~/.local/state/isolate/lab).", show_default=False),
]
Topology = Annotated[
    str | None,
    typer.Option("--topology", help="Topology file, or a shipped name (default: city).",
                 show_default=False),
]
Devices = Annotated[
    int | None,
    typer.Option("--devices", help="Scale the access layer to N switches.", show_default=False),
]
BasePort = Annotated[
    int | None,
    typer.Option("--base-port", help="First device port (below 32768); default: 20001 if "
                 "free, else a free range.", show_default=False),
]


@lab_app.command("up")
def up(
    topology: Topology = None,
    devices: Devices = None,
    state_dir: StateDir = None,
    base_port: BasePort = None,
    foreground: Annotated[bool, typer.Option("--foreground",
                                             help="Serve in this process until Ctrl-C.")] = False,
    fault: Annotated[list[str] | None, typer.Option(
        "--fault", help="DEVICE=KIND[:ARG], e.g. acc1=slow:0.5, core1=hang-after:3 "
        "(repeatable).", show_default=False)] = None,
) -> None:
    """Start the lab in the background and write STATE/inventory.yml."""
    from isolate.lab.process import (
        DEFAULT_BASE_PORT,
        default_lab_dir,
        serve_foreground,
        start_lab,
    )

    state = default_lab_dir(state_dir)
    faults = [parse_fault(text) for text in fault or []]
    if foreground:
        serve_foreground(state, topology, devices=devices, base_port=base_port, faults=faults)
        return
    handle = start_lab(state, topology, devices=devices, base_port=base_port, faults=faults,
                       prefer_port=DEFAULT_BASE_PORT)
    typer.echo(f"lab up: {len(handle.ports)} devices on 127.0.0.1:{min(handle.ports.values())}"
               f"-{max(handle.ports.values())}, pid {handle.pid}", err=True)
    if topology in (None, "city") and devices is None:
        _shipped_inventory_reaches(state, min(handle.ports.values()), handle.inventory)
    typer.echo(str(handle.inventory))


def _shipped_inventory_reaches(state: Path, first_port: int, own: Path) -> None:
    """The shipped inventory/city.yml names the lab at ~/.local/state/isolate/lab on ports
    from 20001: a lab elsewhere (ISOLATE_STATE_DIR, --state-dir) or on other ports is reached
    only by its own inventory, which the runbook's commands then take."""
    from isolate.lab.inventory_out import DEFAULT_LAB_DIR_DISPLAY
    from isolate.lab.process import DEFAULT_BASE_PORT

    why = []
    if state.expanduser().resolve() != Path(DEFAULT_LAB_DIR_DISPLAY).expanduser().resolve():
        why.append(f"its secrets and known_hosts are in {state}, not {DEFAULT_LAB_DIR_DISPLAY}")
    if first_port != DEFAULT_BASE_PORT:
        why.append(f"its ports start at {first_port}, not {DEFAULT_BASE_PORT}")
    if why:
        typer.echo(f"lab up: inventory/city.yml does not reach this lab ({'; '.join(why)}): "
                   f"use -i {own} wherever the runbook says -i inventory/city.yml", err=True)


@lab_app.command("status")
def status(
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Say whether the lab runs, and list its devices, ports, sessions and faults."""
    from isolate.lab.process import default_lab_dir, lab_status

    state = default_lab_dir(state_dir)
    info = lab_status(state)
    if as_json:
        typer.echo(json.dumps({"running": info is not None, "state_dir": str(state),
                               **(info or {})}, indent=2))
    elif info is None:
        typer.echo(f"lab: not running ({state})")
    else:
        typer.echo(f"lab: running, pid {info['pid']}, {len(info['devices'])} devices ({state})")
        for dev in info["devices"]:
            faults = ", ".join(f["kind"] for f in dev["faults"]) or "-"
            typer.echo(f"  {dev['name']:<16} {dev['kind']:<10} 127.0.0.1:{dev['port']:<6} "
                       f"sessions {dev['sessions']:<3} faults {faults}")
    if info is None:
        sys.exit(int(ExitCode.PARTIAL))


@lab_app.command("down")
def down(state_dir: StateDir = None) -> None:
    """Stop the lab by its pid; no process is left behind."""
    from isolate.lab.process import default_lab_dir, stop_lab

    state = default_lab_dir(state_dir)
    typer.echo("lab stopped" if stop_lab(state) else f"lab: not running ({state})")


@lab_app.command("inventory")
def inventory(
    topology: Topology = None,
    devices: Devices = None,
    state_dir: StateDir = None,
    base_port: BasePort = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to this file instead of stdout.", show_default=False)
    ] = None,
) -> None:
    """Print the inventory a lab of this topology has (default: the shipped one)."""
    from isolate.lab.inventory_out import render_inventory, shipped_inventory
    from isolate.lab.process import DEFAULT_BASE_PORT
    from isolate.lab.topology import load_topology

    lab = load_topology(topology, devices=devices)
    port = base_port if base_port is not None else DEFAULT_BASE_PORT
    if state_dir is None:
        text = shipped_inventory(lab, port)
    else:
        state = state_dir.expanduser().resolve()
        text = render_inventory(lab, base_port=port, secrets_path=f"{state}/secrets.yml",
                                known_hosts=f"{state}/known_hosts", origin="inventory")
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@lab_app.command("fault")
def fault(
    device: Annotated[str, typer.Argument(help="Device name.")],
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(FAULT_KINDS)}.")],
    state_dir: StateDir = None,
    after: Annotated[int | None, typer.Option("--after", help="N commands (hang-after, "
                                              "drop-after).", show_default=False)] = None,
    delay: Annotated[float | None, typer.Option("--delay", help="Seconds per reply (slow).",
                                                show_default=False)] = None,
    pattern: Annotated[str | None, typer.Option("--pattern", help="Regex of commands to "
                                                "reject (reject), hang on (hang-on), drop on (drop-on), "
                                                "deny as TACACS+ would (authz-fail) or hold until "
                                                "cleared (hold-on).",
                                                show_default=False)] = None,
) -> None:
    """Set a fault on a device of the running lab (clear removes them all)."""
    from isolate.lab.process import default_lab_dir, set_fault

    spec: Fault = make_fault(kind, after=after, delay=delay, pattern=pattern)
    reply = set_fault(default_lab_dir(state_dir), device, spec)
    active = ", ".join(f["kind"] for f in reply["faults"]) or "none"
    typer.echo(f"{device}: faults now {active}")


@lab_app.command("advance")
def advance(
    seconds: Annotated[float, typer.Argument(min=0, help="Fire every device timer due within SECONDS.")],
    state_dir: StateDir = None,
) -> None:
    """Fire now every device timer (IOS revert timer, Linux revert job) due within SECONDS, as
    if that time had passed: rehearse what a device-side revert does without waiting.

    Example: isolate lab advance 3600
    """
    from isolate.lab.process import advance_clock, default_lab_dir

    advance_clock(default_lab_dir(state_dir), seconds)
    typer.echo(f"fired every device timer due within {seconds:g} s")


@lab_app.command("move-host")
def move_host(
    host: Annotated[str, typer.Argument(help="Host name (from the topology).")],
    device: Annotated[str, typer.Argument(help="Switch to plug it into.")],
    interface: Annotated[str, typer.Argument(help="Port, e.g. Gi1/0/7.")],
    state_dir: StateDir = None,
) -> None:
    """Unplug a host and plug it into another switch port of the running lab."""
    from isolate.lab.process import default_lab_dir
    from isolate.lab.process import move_host as move

    reply = move(default_lab_dir(state_dir), host, device, interface)
    (old_dev, old_port), (new_dev, new_port) = reply["from"], reply["to"]
    vlan = reply["vlan"]
    typer.echo(f"{host}: moved from {old_dev} {old_port} to {new_dev} {new_port}"
               + (f" (vlan {vlan})" if vlan is not None else " (port down)"))


@lab_app.command("flows")
def flows(
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print the flow matrix: which host reaches which service, from the current configs."""
    from isolate.lab.process import default_lab_dir

    try:
        module = importlib.import_module("isolate.lab.flows")
    except ImportError:
        raise LabError(
            "lab flows: the traffic model (isolate.lab.flows) is not available"
        ) from None
    render = getattr(module, "render_flows", None)
    if not callable(render):
        raise LabError("lab flows: isolate.lab.flows has no render_flows(state_dir, as_json)")
    typer.echo(render(default_lab_dir(state_dir), as_json), nl=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(lab_app)
