"""`isolate apply`, `isolate restore`, `isolate status`: rendering and exit codes only."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from isolate.cli.options import ExcludeOpt, LimitOpt, SetOpt, one_line, parameter_values
from isolate.cli.progress import Progress
from isolate.errors import ExitCode, InputError, IsolateError
from isolate.execute.records import RunResult
from isolate.execute.undo import RestoreResult
from isolate.journal.verify import head_line
from isolate.plan.models import Plan
from isolate.reopen import RunToRestore

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where journals and locks live (default $ISOLATE_STATE_DIR or ~/.local/state/isolate).",
    ),
]
LockDir = Annotated[
    Path | None,
    typer.Option(
        "--lock-dir",
        help="Device locks shared by every operator (default $ISOLATE_LOCK_DIR, else /run/lock/isolate).",
    ),
]
InventoryOpt = Annotated[Path | None, typer.Option("-i", "--inventory", help="Inventory file or directory.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="One JSON event per line on stderr, a JSON summary on stdout.")
]
TransportOpt = Annotated[
    str | None,
    typer.Option(
        "--transport",
        help="SSH transport for CLI devices (cisco_ios, cisco_asa): asyncssh (one event loop, fastest) "
        "or netmiko. Default: $ISOLATE_TRANSPORT, else the registry default.",
    ),
]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, max=1000, help="Devices worked in parallel.")]


def exit_code_for(result: RunResult) -> ExitCode:
    if result.status in ("ok", "checked"):
        return ExitCode.OK
    if result.status == "prechecks-failed":
        return ExitCode.PRECHECK_FAILED
    failed = [d for s in result.steps for d in s.devices if not d.ok]
    if failed and all(d.phase == "verify" for d in failed):
        return ExitCode.VERIFY_FAILED
    return ExitCode.PARTIAL


def _paths(result: RunResult, console: Console) -> None:
    """--check: how the devices whose pre-check said more than ``ready`` are reached (jump hosts,
    a site's worker, legacy SSH), one line per way: ``ready (via j1 → j2): core2, fw-int``."""
    by_message: dict[str, list[str]] = {}
    for p in result.prechecks:
        if p.ok and p.message != "ready":
            by_message.setdefault(p.message, []).append(p.device)
    for message, devices in sorted(by_message.items()):
        console.print(f"pre-check {message}: {', '.join(sorted(devices))}", markup=False)


def _summary(result: RunResult, console: Console) -> None:
    if result.status == "checked":
        _paths(result, console)
    if result.status == "prechecks-failed":
        table = Table(title="pre-checks failed — nothing was changed")
        table.add_column("device")
        table.add_column("problem")
        table.add_column("what to do")
        for p in result.prechecks:
            if not p.ok:
                table.add_row(p.device, p.message, _advice(p.message))
        console.print(table)
    for step in result.steps:
        for device in step.devices:
            if not device.ok:
                console.print(f"[red]✗[/red] {device.message}")
        if step.decision:
            console.print(f"  step {step.step}: {step.decision}")
    _kept(result, console)
    if result.messages:
        console.print("[yellow]stayed open (devices left out):[/yellow]")
        for line in result.messages:
            console.print(f"  {escape(line)}")
    ttc = f", time to contain {result.time_to_contain_s:.2f}s" if result.time_to_contain_s is not None else ""
    console.print(f"run {result.run_id}: {result.status} in {result.duration_s:.2f}s{ttc}")
    console.print(f"journal: {result.run_dir}/journal.jsonl")
    console.print(f"journal head: {head_line(Path(result.run_dir))}", markup=False)
    if result.status not in ("ok", "checked", "prechecks-failed"):
        console.print(f"to undo what was applied: isolate restore {result.run_id}")


def _kept(result: RunResult, console: Console) -> None:
    """A re-apply: the earlier runs' changes read back on their devices, kept or made again."""
    kept = [(p.device, k) for p in result.prechecks for k in p.kept]
    there = sorted(f"{k.step}@{device}" for device, k in kept if k.still_there)
    if there:
        console.print(f"kept (made earlier, read back on the device): {', '.join(there)}", markup=False)
    again = "to be made again" if result.status == "checked" else "made again"
    for device, k in sorted(kept, key=lambda dk: (dk[0], dk[1].step)):
        if not k.still_there:
            console.print(
                f"[yellow]no longer on the device, {again}:[/yellow] {escape(k.step)}@{escape(device)} "
                f"(made by run {k.run}; now: {escape('; '.join(k.problems))})"
            )


def _advice(message: str) -> str:
    lowered = message.lower()
    if "authentication" in lowered:
        return "check the credentials reference in the inventory"
    if "known_hosts" in lowered or "host key" in lowered:
        return "verify the device's SSH host key, then add it to known_hosts"
    if "no answer" in lowered or "cannot connect" in lowered:
        return "check the device is up and reachable from this station"
    if "drift" in lowered or "inventory" in lowered:
        return "update the inventory to match the device, then plan again"
    return "fix the cause, then run isolate apply again"


INSECURE_HELP = (
    "Accept devices that known_hosts does not list without verifying their SSH host key "
    "(warned, journaled); a key that contradicts known_hosts is still refused."
)


def warn_insecure_host_keys(insecure: bool) -> None:
    """The one-line warning --insecure-host-keys prints (stderr), before anything connects."""
    if insecure:
        typer.echo(
            "warning: --insecure-host-keys: devices missing from known_hosts are accepted without "
            "verifying their SSH host key (a changed key is still refused); this is journaled",
            err=True,
        )


def apply_cmd(
    target: Annotated[
        Path | None,
        typer.Argument(help="A playbook (with -i) or a plan.json saved by `isolate plan --out`."),
    ] = None,
    inventory: InventoryOpt = None,
    incident: Annotated[str, typer.Option("--incident", help="Incident reference, journaled.")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why, journaled (also the override reason).")] = "",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; for unattended use.")] = False,
    workers: WorkersOpt = 32,
    check: Annotated[bool, typer.Option("--check", help="Pre-checks and plan only; change nothing.")] = False,
    confirm_window: Annotated[
        int | None,
        typer.Option(
            "--confirm-window",
            min=60,
            max=3600,
            help="Seconds: devices revert by themselves unless confirmed after verification.",
        ),
    ] = None,
    override: Annotated[
        list[str] | None, typer.Option("--override", help="Step id a guard may refuse; needs --reason.")
    ] = None,
    insecure_host_keys: Annotated[
        bool, typer.Option("--insecure-host-keys", help=INSECURE_HELP)
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per device operation.")] = 30.0,
    transport: TransportOpt = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume", help="Continue the run RUN (id or 'last') whose process died, from its journal."
        ),
    ] = None,
    retry_failed: Annotated[
        str | None,
        typer.Option(
            "--retry-failed",
            help="Redo the failed devices of RUN (id or 'last'), which ended partial: what it verified is "
            "kept, each failed change is first brought back to its pre-state, then done again.",
        ),
    ] = None,
    sets: SetOpt = None,
    exclude: ExcludeOpt = None,
    limit: LimitOpt = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", metavar="DURATION",
                     help="The containment expires after DURATION (30m, 4h, 2d) into the staged restore, "
                     "unless extended (isolate extend RUN --by 4h) or kept; fired by isolate watch "
                     "or isolate expire (docs/watch.md)."),
    ] = None,
    skip_unreachable: Annotated[
        bool,
        typer.Option(
            "--skip-unreachable",
            help="Devices no connection reaches at pre-check are left out: the plan is made again "
            "without them (guards, blast radius), the rest is contained; exit 1 (partial) and the "
            "summary says what stayed open.",
        ),
    ] = False,
    state_dir: StateDir = None,
    lock_dir: LockDir = None,
    as_json: JsonOpt = False,
) -> None:
    """Contain: pre-check every device, then run the steps, journaled ahead of every change.

    Example:

        isolate apply -i inventory/city.yml playbooks/ransomware-lateral.yml \
            --set infected=10.10.100.17 --set attacker=203.0.113.0/24 \
            --incident INC-42 --reason "ws-17 encrypting" --yes
    """
    from isolate import api

    request = api.ApplyRequest(
        incident=one_line("--incident", incident),
        reason=one_line("--reason", reason),
        workers=workers,
        confirm_window_s=confirm_window,
        check_only=check,
        host_key_checking=not insecure_host_keys,
        timeout_s=timeout,
        transport=transport,
    )
    if expires is not None:
        from isolate.expiry import run_options

        if check or resume is not None or retry_failed is not None:
            raise InputError("--expires goes with a new containment, not with --check, --resume or "
                             "--retry-failed")
        request = replace(request, extra=run_options(expires))
    warn_insecure_host_keys(insecure_host_keys)
    if retry_failed is not None:
        if target is not None or resume is not None:
            raise InputError("isolate apply --retry-failed RUN takes no playbook and no --resume")
        with Progress(mode="json" if as_json else "auto", title=f"retry {retry_failed}") as progress:
            result = api.resume(
                retry_failed, request, state_dir=state_dir, inventory_path=inventory, lock_dir=lock_dir,
                sink=progress.sink, retry_failed=True,
            )
        _report(result, as_json)
    if resume is not None:
        if target is not None:
            raise InputError("isolate apply --resume RUN takes no playbook: the run's saved plan is used")
        with Progress(mode="json" if as_json else "auto", title=f"resume {resume}") as progress:
            result = api.resume(
                resume,
                request,
                state_dir=state_dir,
                inventory_path=inventory,
                lock_dir=lock_dir,
                sink=progress.sink,
            )
        _report(result, as_json)
    if target is None:
        raise InputError("isolate apply needs a PLAYBOOK (with -i INVENTORY), a plan.json, or --resume RUN")
    overrides = [api.Override(step, reason) for step in (override or [])]
    if overrides and not reason:
        raise InputError("--override needs --reason TEXT (it is journaled)")
    if target.suffix == ".json":
        if sets or exclude or limit or skip_unreachable:
            raise InputError(
                "--set, --exclude, --limit and --skip-unreachable go with a playbook: "
                "a saved plan is applied as it was made"
            )
        inv, built = api.load_saved_plan(target, inventory)
    else:
        if inventory is None:
            raise InputError("isolate apply PLAYBOOK needs -i INVENTORY")
        values = parameter_values(sets)
        inv, built = api.plan(
            inventory, target, overrides=overrides, parameters=values,
            exclude=exclude or (), limit=limit or (),
        )
        if skip_unreachable:
            playbook_path, inventory_path, excluded = target, inventory, list(exclude or ())

            def replan(unreachable: Mapping[str, str]) -> Plan:
                wanted = {**{d: "--exclude" for d in excluded}, **unreachable}
                return api.plan(
                    inventory_path, playbook_path, overrides=overrides, parameters=values,
                    exclude=wanted, limit=limit or (),
                )[1]
    if not yes and not check:
        _confirm_apply(built)
    progress = Progress(mode="json" if as_json else "auto", title=f"apply {built.playbook}")
    try:
        with progress:
            result = api.apply(
                inv, built, request, state_dir=state_dir, lock_dir=lock_dir, sink=progress.sink,
                replan=replan if skip_unreachable else None,
            )
    except KeyboardInterrupt:
        _interrupted(progress.run_id, state_dir, lock_dir)
    _report(result, as_json)


def _interrupted(run_id: str | None, state_dir: Path | None, lock_dir: Path | None) -> NoReturn:
    """Ctrl-C: the run id, what is contained now (from the journal) and the next command; 130."""
    import signal

    from isolate import api

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this message
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if run_id is None:
        console.print("interrupted before anything was sent: nothing changed", markup=False)
        sys.exit(130)
    console.print(f"interrupted: run {run_id} stopped; its journal holds every change sent", markup=False)
    report = api.status(state_dir=state_dir, lock_dir=lock_dir)
    rows = [r for run in report["contained"] if run["run"] == run_id for r in run["devices"]]
    if rows:
        console.print("contained now:", markup=False)
        for row in rows:
            console.print(f"  {row['device']} {row['step']}: {row['state']}", markup=False)
    else:
        console.print("contained now: nothing (no change was made)", markup=False)
    console.print(f"next: isolate apply --resume {run_id} --yes   (finish the containment)", markup=False)
    console.print(f"  or: isolate restore {run_id} --yes   (undo what was applied)", markup=False)
    sys.exit(130)


def _confirm_apply(built: Plan) -> None:
    """Show the plan as `isolate plan` does (rich tables on a terminal, never markup-parsed
    text), then ask; no terminal: refuse in one line; a no: "Apply cancelled.", exit 8."""
    from isolate.plan.render import render_rich

    if not sys.stdin.isatty():
        raise InputError("not a terminal: pass --yes to apply without asking")
    console = Console(stderr=True, highlight=False)
    console.print(render_rich(built))
    if not typer.confirm("Apply this plan now?", default=False):
        console.print("Apply cancelled.", markup=False)
        raise typer.Exit(int(ExitCode.CANCELLED))


def _report(result: RunResult, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps(_result_json(result), sort_keys=True))
    else:
        _summary(result, Console(stderr=True, highlight=False, soft_wrap=True))
    raise typer.Exit(int(exit_code_for(result)))


def _result_json(result: RunResult) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(result)


def restore_cmd(
    run: Annotated[
        str | None,
        typer.Argument(help="Run id (or unique prefix), run directory, or 'last' (default): the newest "
                       "run with changes not yet restored."),
    ] = None,
    inventory: InventoryOpt = None,
    stage: Annotated[int | None, typer.Option("--stage", min=1, help="Restore only this stage.")] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the run, what it re-opens, stages and commands; send nothing."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; for scripts.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why restore now (journaled).")] = "",
    incident: Annotated[str, typer.Option("--incident", help="Incident reference (journaled).")] = "",
    only_this_run: Annotated[
        bool,
        typer.Option("--only-this-run", help="Restore this run alone, not the earlier runs it continued "
                     "(a re-apply of the same playbook: options.adopted / taken_over)."),
    ] = False,
    workers: WorkersOpt = 32,
    insecure_host_keys: Annotated[
        bool, typer.Option("--insecure-host-keys", help=INSECURE_HELP)
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per device operation.")] = 30.0,
    transport: TransportOpt = None,
    state_dir: StateDir = None,
    lock_dir: LockDir = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore a run stage by stage; each gate reads the devices back and compares them with
    the state captured before the change. Running it twice is harmless.

    Restore re-opens what the run contained: on a terminal it says what and asks; scripts
    pass --yes (without a terminal and without --yes it refuses, exit 2).

    Example: isolate restore last --yes --incident INC-42 --reason "all clear from the EDR"
    """
    from isolate import api
    from isolate.reopen import choose_run, reopens

    choice = choose_run(run, state_dir)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    target = choice.run
    if target is None or not target.needs_restore:
        message = choice.message if target is None else target.nothing_message()
        # A restore killed after its last record may have left its device locks: free them.
        for checked in (*([target] if target else []), *choice.passed_over):
            freed = api.release_stale_locks(checked.run_id, state_dir=state_dir, lock_dir=lock_dir)
            message += f"; {freed}" if freed else ""
        _say({"run": target.run_id if target else None, "restored": [], "message": message}, message, as_json)
        raise typer.Exit(0)
    chain = [] if stage is not None or only_this_run else _continued(target)
    for run_to_restore in (target, *chain):  # nothing shown nor sent from a journal changed since
        api.unchanged(run_to_restore.path)
    heading = (
        f"restore run {target.run_id} ({target.playbook}, incident {target.incident or '-'}, {target.status})"
    )
    opened = reopens(target)
    if dry_run:
        _dry_run(target, heading, opened, as_json, chain=chain)
        raise typer.Exit(0)
    if not yes and not sys.stdin.isatty():
        raise InputError(
            f"not a terminal: restoring run {target.run_id} re-opens what it contained; "
            "pass --yes to restore without asking"
        )
    for passed in choice.passed_over:
        err.print(f"{passed.nothing_message()}: left alone", markup=False)
    if not yes:
        err.print(f"{heading} re-opens:", markup=False)
        for line in opened:
            err.print(f"  {line}", markup=False)
        for earlier in chain:
            err.print(f"then {_continued_heading(earlier, target)} re-opens:", markup=False)
            for line in reopens(earlier):
                err.print(f"  {line}", markup=False)
        if not typer.confirm("Restore now?", default=False):
            err.print("Restore cancelled.")
            raise typer.Exit(int(ExitCode.CANCELLED))
    warn_insecure_host_keys(insecure_host_keys)
    done: list[tuple[RunToRestore, RestoreResult]] = []
    for one in [target, *chain]:
        with _restore_interrupt(one.run_id), Progress(
            mode="json" if as_json else "auto", title=f"restore {one.run_id}"
        ) as progress:
            try:
                result = api.restore(
                    str(one.path),
                    state_dir=state_dir,
                    inventory_path=inventory,
                    only_stage=stage,
                    workers=workers,
                    host_key_checking=not insecure_host_keys,
                    timeout_s=timeout,
                    transport=transport,
                    lock_dir=lock_dir,
                    sink=progress.sink,
                    reason=reason,
                    incident=incident,
                )
            except IsolateError as exc:
                if one is target:
                    raise
                exc.args = (f"run {one.run_id} (continued by run {target.run_id}, restored): {exc}",)
                raise
        done.append((one, result))
    _restored(done, as_json, err)


def _continued(target: RunToRestore) -> list[RunToRestore]:
    """The earlier runs ``target`` continued (isolate.takeover.continued) that still have
    changes on devices, newest first: restoring ``target`` goes on with them."""
    from isolate.reopen import load_run
    from isolate.takeover import continued

    found = [load_run(target.path.parent / run) for run in continued(target.path)]
    return [run for run in found if run.needs_restore]


def _continued_heading(earlier: RunToRestore, target: RunToRestore) -> str:
    return (f"restore run {earlier.run_id} ({earlier.playbook}, incident {earlier.incident or '-'}, "
            f"{earlier.status}), which run {target.run_id} continued,")


def _restored(done: list[tuple[RunToRestore, RestoreResult]], as_json: bool, err: Console) -> None:
    from dataclasses import asdict

    if as_json:
        [(first, result), *rest] = done
        data: dict[str, object] = {"run": first.run_id, **asdict(result)}
        if rest:
            data["continued"] = [{"run": run.run_id, **asdict(r)} for run, r in rest]
        typer.echo(json.dumps(data, sort_keys=True))
        return
    for run, result in done:
        if result.message:
            err.print(result.message, markup=False)
        else:
            devices = ", ".join(result.restored) or "none needed"
            err.print(
                f"restored run {run.run_id}: stages {list(result.stages)}; identical to pre-state: {devices}",
                markup=False,
            )


@contextmanager
def _restore_interrupt(run_id: str) -> Iterator[None]:
    """Ctrl-C during a restore: say where it stands and how to go on; exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        typer.echo(
            f"interrupted: restore of run {run_id} stopped; stages already back stay back.\n"
            f"next: isolate restore {run_id} --yes   "
            "(finish it; isolate status shows what is still contained)",
            err=True,
        )
        sys.exit(130)


def _say(data: dict[str, object], text: str, as_json: bool) -> None:
    typer.echo(json.dumps(data, sort_keys=True) if as_json else text)


def _dry_run(
    target: RunToRestore, heading: str, opened: list[str], as_json: bool, *, chain: list[RunToRestore]
) -> None:
    """What restore would do, on stdout: the run, what it re-opens, each stage's commands; then
    the same for each earlier run it continued (``chain``)."""
    from isolate.reopen import reopens

    if as_json:
        data = _dry_run_json(target, opened)
        if chain:
            data["continued"] = [_dry_run_json(run, reopens(run)) for run in chain]
        typer.echo(json.dumps(data, sort_keys=True))
        return
    lines = _dry_run_lines(target, f"{heading} (dry run: nothing is sent)", opened)
    for run in chain:
        lines += _dry_run_lines(run, f"then {_continued_heading(run, target)} (dry run)", reopens(run))
    typer.echo("\n".join(lines))


def _dry_run_json(target: RunToRestore, opened: list[str]) -> dict[str, object]:
    ordered = sorted(target.entries, key=lambda e: (e.stage, -e.seq))
    return {
        "run": target.run_id,
        "playbook": target.playbook,
        "incident": target.incident,
        "status": target.status,
        "dry_run": True,
        "reopens": opened,
        "stages": [
            {
                "stage": n,
                "undo": [
                    {"device": e.device, "step": e.step, "commands": list(e.inverse)}
                    for e in ordered
                    if e.stage == n
                ],
            }
            for n in sorted({e.stage for e in target.entries})
        ],
    }


def _dry_run_lines(target: RunToRestore, heading: str, opened: list[str]) -> list[str]:
    ordered = sorted(target.entries, key=lambda e: (e.stage, -e.seq))
    lines = [heading, "re-opens:", *(f"  {line}" for line in opened)]
    for n in sorted({e.stage for e in target.entries}):
        lines.append(f"stage {n}:")
        for e in (e for e in ordered if e.stage == n):
            lines.append(f"  {e.device} (undo step {e.step}):")
            lines += [f"    {command}" for command in e.inverse]
    return lines


def status_cmd(state_dir: StateDir = None, lock_dir: LockDir = None, as_json: JsonOpt = False) -> None:
    """What is contained now: open runs, each device's state and stage.

    A run whose journal holds a record that does not fit its model, or a line that is not a
    record, is named in one line on stderr (file, seq or line, field, the command that checks
    it) after every other run is shown; then the exit status is 7.

    Example: isolate status --json
    """
    from isolate import api
    from isolate.cli.journal import exit_for_bad_runs
    from isolate.cli.watch import incident_rows
    from isolate.expiry import expiries
    from isolate.paths import state_dir_from

    report = api.status(state_dir=state_dir, lock_dir=lock_dir)
    waiting = [r for r in incident_rows(state_dir_from(state_dir)) if r["state"] in ("pending", "applying")]
    report["incidents"] = waiting  # isolate watch incidents not settled yet (docs/watch.md)
    expiring = {e.run_id: e for e in expiries(state_dir_from(state_dir), skip_unreadable=True)}
    for run in report["contained"]:  # containments that expire (apply --expires, docs/watch.md)
        if run["run"] in expiring:
            found = expiring[run["run"]]
            hint = "" if found.settled else f"; isolate extend {run['run']} --by 4h, or --keep"
            run["expires_at"], run["expiry"] = found.at, found.describe() + hint
    problems = [bad["problem"] for bad in report["bad_runs"]]
    if as_json:
        typer.echo(json.dumps(report, sort_keys=True, indent=2))
    else:
        _print_status(report, waiting)
    exit_for_bad_runs(problems)


def _print_status(report: dict[str, Any], waiting: list[dict[str, Any]]) -> None:
    console = Console(highlight=False)
    if not report["contained"] and report["bad_runs"]:
        count = len(report["bad_runs"])
        console.print(f"nothing contained in the runs that could be read; {count} could not be (see below)")
    elif not report["contained"] and not report["runs"]:  # not the all-clear: maybe the wrong place
        runs = Path(report["state_dir"]) / "runs"
        console.print(f"nothing contained here: no runs in {runs} (runs made with another --state-dir or "
                      "ISOLATE_STATE_DIR are not seen: is it the one the runs were made with?)",
                      markup=False, soft_wrap=True)  # fmt: skip
    elif not report["contained"]:
        console.print("nothing contained: no run has changes left unrestored")
    for run in report["contained"]:
        console.print(
            f"run {run['run']} ({run['playbook']}, incident {run['incident'] or '-'}, {run['status']})",
            markup=False, soft_wrap=True,
        )  # fmt: skip
        if "expiry" in run:
            console.print(f"  {run['expiry']}", markup=False, soft_wrap=True)
        table = Table()
        reverts = "reverts" in run
        extra = ["unconfirmed revert fires"] if reverts else []
        for col in ("device", "step", "state", "restore stage", *extra):
            table.add_column(col)
        for row in run["devices"]:
            fires = row["revert"]["fires_at"] if "revert" in row else "-"
            revert = [fires] if reverts else []
            table.add_row(row["device"], row["step"], row["state"], str(row["stage"]), *revert)
        if run["devices"]:
            console.print(table)
        else:
            console.print("  nothing sent yet", markup=False)
        if reverts:
            console.print(f"  {run['reverts']}", markup=False, soft_wrap=True)
        for step in _by_step(run.get("not_started", [])):
            console.print(f"  not started (the run stopped before it): {step}", markup=False, soft_wrap=True)
        if "not_started_unknown" in run:
            console.print(f"  what the run never began is unknown: {run['not_started_unknown']}",
                          markup=False, soft_wrap=True)  # fmt: skip
        if run.get("not_started"):
            console.print(f"  to finish the containment: isolate apply --resume {run['run']} --yes",
                          markup=False, soft_wrap=True)  # fmt: skip
        for line in run.get("left_open", []):
            console.print(f"  stayed open (left out by --skip-unreachable): {line}", markup=False,
                          soft_wrap=True)  # fmt: skip
        if run.get("left_open"):
            retry = f"isolate apply --retry-failed {run['run']} --yes"
            console.print(f"  once they answer: {retry}", markup=False, soft_wrap=True)
    for lock in report["locks"]:  # one line each, whatever the width: grep finds a device's
        console.print(f"lock: {lock}", markup=False, soft_wrap=True)
    for row in waiting:
        console.print(f"watch incident {row['incident']} {row['state']}: {row['detail']}", markup=False,
                      soft_wrap=True)
        if row["state"] == "pending":
            console.print(f"  isolate approve {row['incident']}, or isolate reject {row['incident']}",
                          markup=False, soft_wrap=True)


def _by_step(changes: list[dict[str, str]]) -> list[str]:
    """``STEP on DEV1, DEV2`` for each step, in plan order."""
    devices: dict[str, list[str]] = {}
    for change in changes:
        devices.setdefault(change["step"], []).append(change["device"])
    return [f"{step} on {', '.join(names)}" for step, names in devices.items()]


def register(app: typer.Typer) -> None:
    app.command("apply")(apply_cmd)
    app.command("restore")(restore_cmd)
    app.command("status")(status_cmd)
