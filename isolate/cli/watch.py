"""`isolate watch` (the alert intake), `isolate watch list`, `isolate approve`, `isolate reject`."""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from isolate.cli.options import one_line
from isolate.cli.run import InventoryOpt, LockDir, StateDir, TransportOpt
from isolate.errors import InputError

MIN_SECRET = 16  # a shared secret shorter than this is refused (a guessable token is no auth)
watch_app = typer.Typer(help="Take alerts by webhook and contain by rules (docs/watch.md).")


@watch_app.callback(invoke_without_command=True)
def watch_cmd(
    ctx: typer.Context,
    rules: Annotated[Path | None, typer.Option("--rules", help="The rules file (YAML, beside playbooks).")]
    = None,
    inventory: InventoryOpt = None,
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to listen on (port 0: any free port).")]
    = "127.0.0.1:8443",
    token_ref: Annotated[
        list[str] | None,
        typer.Option("--token-ref", help="The shared secret by reference: env:VAR or file:PATH; "
                     "repeat it while rotating (any of them is accepted)."),
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate chain: serve HTTPS.")]
    = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")] = None,
    max_body: Annotated[int, typer.Option("--max-body", min=256, max=1_048_576, help="Largest body, bytes.")]
    = 65536,
    rate: Annotated[int, typer.Option("--rate", min=1, max=10000, help="Requests a minute per address.")]
    = 60,
    notify_ref: Annotated[
        list[str] | None,
        typer.Option("--notify-ref", help="A webhook URL to post every incident event to, by reference "
                     "(env:VAR or file:PATH: such URLs carry a token); repeatable."),
    ] = None,
    notify_shape: Annotated[
        str, typer.Option("--notify-shape", help="generic (the event as JSON, plus text), slack "
                          "({\"text\"}: Slack, Mattermost), teams (an Adaptive Card message: Teams "
                          "Workflows and incoming webhooks) or teams-messagecard (legacy MessageCard).")
    ] = "generic",
    expiry_check: Annotated[
        float, typer.Option("--expiry-check", min=1, max=3600,
                            help="Seconds between two looks for containments whose expiry passed.")
    ] = 30.0,
    transport: TransportOpt = None,
    state_dir: StateDir = None,
    lock_dir: LockDir = None,
) -> None:
    """Listen for alerts (POST /alert) and act on them by the rules: auto-contain or ask.

    Example: isolate watch --rules playbooks/watch-rules.yml -i inventory/city.yml \
        --token-ref env:ISOLATE_WATCH_TOKEN --listen 127.0.0.1:8443
    """
    if ctx.invoked_subcommand is not None:
        return
    if rules is None or inventory is None or not token_ref:
        raise InputError("isolate watch needs --rules FILE, -i INVENTORY and --token-ref env:VAR|file:PATH")
    from isolate.inventory.loader import load_inventory
    from isolate.paths import state_dir_from
    from isolate.secrets import read_ref
    from isolate.watch.notify import SHAPES, Notifier
    from isolate.watch.recover import settle_interrupted
    from isolate.watch.rules import load_rules
    from isolate.watch.server import make_app, serve, tls_context
    from isolate.watch.service import Settings, Watcher

    host, port = _listen(listen, tls=tls_cert is not None)
    if (tls_cert is None) != (tls_key is None):
        raise InputError("--tls-cert and --tls-key go together")
    loaded = load_rules(rules)
    load_inventory(inventory)  # a bad inventory stops here, not at the first alert
    secrets = [read_ref(ref, Path.cwd()).encode() for ref in token_ref]
    for ref, secret in zip(token_ref, secrets, strict=True):
        if len(secret) < MIN_SECRET:
            raise InputError(f"--token-ref {ref}: the secret must be at least {MIN_SECRET} bytes long")
    tls = tls_context(str(tls_cert), str(tls_key)) if tls_cert and tls_key else None
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s watch: %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # not a line per SSH connection step
    settings = Settings(loaded, inventory, state_dir=state_dir, lock_dir=lock_dir, transport=transport)
    shape = next((s for s in SHAPES if s == notify_shape), None)
    if shape is None:
        raise InputError(f"--notify-shape {notify_shape!r}: one of {', '.join(SHAPES)}")
    urls = [read_ref(ref, Path.cwd()) for ref in notify_ref or []]
    for ref, url in zip(notify_ref or [], urls, strict=True):
        if not url.startswith(("https://", "http://")):
            raise InputError(f"--notify-ref {ref}: not an http(s):// URL")
    notifier = Notifier(urls, shape) if urls else None
    watcher = Watcher(settings, on_event=notifier)
    for line in [*settle_interrupted(watcher.store, state_dir_from(state_dir)), *watcher.sweep()]:
        logging.getLogger("isolate.watch").warning("%s", line)
    app = make_app(watcher, secrets=secrets, max_body=max_body, per_minute=rate)
    scheme = "https" if tls else "http"

    def ready(bound_host: str, bound_port: int) -> None:
        logging.getLogger("isolate.watch").info(
            "listening on %s://%s:%d/alert (%d rules, incidents in %s)",
            scheme, bound_host, bound_port, len(loaded.rules), watcher.store.path,
        )

    serve(app, host, port, tls=tls, ready=ready, tick=(expiry_check, watcher.sweep))


def _listen(listen: str, *, tls: bool) -> tuple[str, int]:
    host, _, port_text = listen.rpartition(":")
    host = host.strip("[]")
    try:
        address = ipaddress.ip_address(host)
        port = int(port_text)
    except ValueError:
        raise InputError(f"--listen {listen!r}: HOST:PORT with an IP address, e.g. 127.0.0.1:8443") from None
    if not 0 <= port <= 65535:
        raise InputError(f"--listen {listen!r}: port must be 0..65535")
    if not tls and not address.is_loopback:
        raise InputError(
            f"--listen {listen!r}: plain HTTP is for loopback only; "
            f"give --tls-cert and --tls-key to listen on {host}"
        )
    return host, port


@watch_app.command("check")
def check_cmd(
    rules: Annotated[Path, typer.Option("--rules", help="The rules file to check (and its playbooks).")],
) -> None:
    """Check a rules file and the playbooks it names, without listening: file:line errors, exit 2.

    Example: isolate watch check --rules playbooks/watch/rules.yml
    """
    from isolate.watch.rules import load_rules

    loaded = load_rules(rules)
    for rule in loaded.rules:
        values = ", ".join(f"{k}={v}" for k, v in rule.parameters.items())
        typer.echo(f"rule {rule.name}: {rule.mode} {loaded.playbook_path(rule).name} {values}")
    deny = ", ".join(loaded.limits.deny) or "none"
    typer.echo(f"limits: {loaded.limits.auto_per_hour} automatic containments per hour; deny-list: {deny}")


@watch_app.command("list")
def list_cmd(
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per incident.")] = False,
) -> None:
    """List the incidents watch opened, newest last, with their state."""
    from isolate.paths import state_dir_from
    from isolate.watch.incidents import IncidentStore

    store = IncidentStore(state_dir_from(state_dir))
    rows = incident_rows(store.dir.parent)
    if not rows:
        typer.echo(f"no incidents in {store.path}", err=as_json)
        return
    for row in rows:
        if as_json:
            typer.echo(json.dumps(row, sort_keys=True))
        else:
            more = f" (+{row['attached']} alerts)" if row["attached"] else ""
            targets = ",".join(row["targets"])
            typer.echo(f"{row['incident']}  {row['state']:<9} {row['rule']} {targets}{more}  {row['detail']}")


def incident_rows(state: Path) -> list[dict[str, Any]]:
    """Every incident of ``state`` (a state directory), oldest first, as watch list shows it."""
    from isolate.watch.incidents import IncidentStore, run_restored

    rows = []
    for inc in IncidentStore(state).load().values():
        alert = inc.opened.get("alert", {})
        last = inc.last
        state_now = inc.state
        if state_now == "contained" and run_restored(state, last["run"]):
            state_now = "restored"  # recorded so by watch at the host's next alert
        detail = last.get("why") or last.get("message") or last.get("run") or last.get("reason") or ""
        rows.append({"incident": inc.id, "state": state_now, "rule": inc.opened.get("rule"),
                     "mode": inc.opened.get("mode"), "targets": inc.targets,
                     "signature": alert.get("signature"),
                     "attached": sum(1 for e in inc.events if e["event"] == "attached"), "detail": detail})
    return rows


def approve_cmd(
    incident: Annotated[str, typer.Argument(help="The incident id (isolate watch list).")],
    override: Annotated[
        list[str] | None, typer.Option("--override", help="Step id a guard refused; needs --reason.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (journaled; required with --override).")] = "",
    state_dir: StateDir = None,
    lock_dir: LockDir = None,
) -> None:
    """Approve a pending incident: plan it again (the guards run again), then contain it."""
    from isolate import api
    from isolate.paths import current_user, state_dir_from
    from isolate.watch.incidents import IncidentStore
    from isolate.watch.service import approve

    overrides = [api.Override(step, one_line("--reason", reason)) for step in (override or [])]
    if overrides and not reason:
        raise InputError("--override needs --reason TEXT (it is journaled)")
    store = IncidentStore(state_dir_from(state_dir))
    outcome = approve(store, incident, user=current_user(), overrides=overrides, state_dir=state_dir,
                      lock_dir=lock_dir)
    typer.echo(json.dumps(outcome, sort_keys=True))
    raise typer.Exit(0 if outcome["state"] == "contained" else 1)


def reject_cmd(
    incident: Annotated[str, typer.Argument(help="The incident id (isolate watch list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    state_dir: StateDir = None,
) -> None:
    """Reject a pending incident: nothing is sent to any device."""
    from isolate.paths import current_user, state_dir_from
    from isolate.watch.incidents import IncidentStore
    from isolate.watch.service import reject

    store = IncidentStore(state_dir_from(state_dir))
    outcome = reject(store, incident, user=current_user(), reason=one_line("--reason", reason))
    typer.echo(json.dumps(outcome, sort_keys=True))


def register(app: typer.Typer) -> None:
    app.add_typer(watch_app, name="watch")
    app.command("approve")(approve_cmd)
    app.command("reject")(reject_cmd)
