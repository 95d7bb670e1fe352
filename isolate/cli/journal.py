"""CLI command groups: ``isolate journal list|show|export|verify`` and ``isolate lock list|break``."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from isolate.errors import ExitCode, InputError
from isolate.execute.locks import DeviceLocks
from isolate.journal.export import (
    build_timeline,
    render_csv,
    render_export_json,
    render_html,
    render_markdown,
    render_text,
    timeline_json,
)
from isolate.journal.reader import RunSummary, list_runs, read_journal, resolve_journal, run_alive
from isolate.journal.signing import load_signer, public_path, read_public_key
from isolate.journal.verify import verify_journal, verify_source
from isolate.paths import state_dir_from
from isolate.values import escape_line

journal_app = typer.Typer(
    name="journal",
    help="Audit a run: list runs, show the timeline, export it, verify it is complete and untampered.",
    no_args_is_help=True,
)
lock_app = typer.Typer(
    name="lock",
    help="Device locks: see who holds which device, break a stale lock.",
    no_args_is_help=True,
)

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="State directory (default: $ISOLATE_STATE_DIR, else ~/.local/state/isolate).",
        show_default=False,
    ),
]
RunRef = Annotated[
    str,
    typer.Argument(
        help="Run id (or a unique prefix), 'last', a run directory, a journal.jsonl or an export .json."
    ),
]
LockDir = Annotated[
    Path | None,
    typer.Option(
        "--lock-dir",
        help="Device locks shared by every operator (default $ISOLATE_LOCK_DIR, else /run/lock/isolate).",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


class ExportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"
    csv = "csv"


@journal_app.command("list")
def list_command(state_dir: StateDir = None, as_json: AsJson = False) -> None:
    """List the runs of the state directory, oldest first.

    A run holding a record that does not fit its model (bad-record) or a line that is not a
    record (unreadable) is named in one line on stderr (file, seq or line, field, the command
    that checks it); every other run is still listed, then the exit status is 7.

    Example: isolate journal list --state-dir /var/lib/isolate
    """
    runs = list_runs(state_dir_from(state_dir))
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in runs], indent=1))
    else:
        _list_table(runs, state_dir)
    exit_for_bad_runs([r.problem for r in runs if r.problem])


def exit_for_bad_runs(problems: list[str]) -> None:
    """One ``error:`` line per run holding a bad record, then exit 7; nothing when there is none."""
    for problem in problems:
        typer.echo(f"error: {escape_line(problem)}", err=True)
    if problems:
        raise typer.Exit(int(ExitCode.JOURNAL_INVALID))


def _list_table(runs: list[RunSummary], state_dir: Path | None) -> None:
    if not runs:
        typer.echo(f"no runs in {state_dir_from(state_dir) / 'runs'}")
        return
    rows: list[tuple[str, ...]] = [("RUN", "STARTED", "USER", "INCIDENT", "PLAYBOOK", "STATUS", "DEVICES")]
    rows.extend(
        tuple(escape_line(cell) for cell in (  # a stored value never forges a line
            r.run, (r.started or "?")[:19], r.user or "?", r.incident or "-", r.playbook or "-", r.status,
            str(len(r.devices))))
        for r in runs
    )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@journal_app.command("show")
def show_command(run: RunRef, state_dir: StateDir = None, as_json: AsJson = False) -> None:
    """Show a run's timeline: who, why, each step and device, commands, results.

    The header gives user@host, incident and reason, options and overrides; then every
    event in order, with forward and inverse commands, results, durations, restore
    stages and gates, and the end status.

    Example: isolate journal show last
    """
    path = resolve_journal(state_dir_from(state_dir), run)
    view = read_journal(path)
    report = verify_source(view.source)
    timeline = build_timeline(view, report, alive=run_alive(path.parent))
    if as_json:
        typer.echo(json.dumps(timeline_json(timeline), indent=1, ensure_ascii=False))
    else:
        typer.echo(render_text(timeline), nl=False)


@journal_app.command("export")
def export_command(
    run: RunRef,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="md, html, json (verifiable offline) or csv.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file (default: stdout).")
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Export a run's journal as Markdown, HTML, JSON or CSV.

    md and html tell the same story as 'show'; json is a self-contained document
    (records and captured states) that 'isolate journal verify' checks offline; csv is
    one row per record.

    Example: isolate journal export last --format json --out run.json && isolate journal verify run.json
    """
    path = resolve_journal(state_dir_from(state_dir), run)
    view = read_journal(path)
    if fmt is ExportFormat.json:
        text = render_export_json(view)
    else:
        timeline = build_timeline(view, verify_source(view.source), alive=run_alive(path.parent))
        renderers = {
            ExportFormat.md: render_markdown,
            ExportFormat.html: render_html,
            ExportFormat.csv: render_csv,
        }
        text = renderers[fmt](timeline)
    if out is None:
        typer.echo(text, nl=False)
        return
    _write_private(out, text)
    typer.echo(f"wrote {out}", err=True)


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        raise InputError(f"{path}: cannot write: {err.strerror}") from None


@journal_app.command("verify")
def verify_command(
    run: Annotated[str, typer.Argument(help="Run id, 'last', run directory, journal.jsonl or export .json.")],
    state_dir: StateDir = None,
    head: Annotated[
        str | None,
        typer.Option("--head", help="A head hash noted earlier: fail if no record carries it (truncation)."),
    ] = None,
    public_key: Annotated[
        list[Path] | None,
        typer.Option(
            "--public-key",
            help="A trusted signer's public key (journal-ed25519.key.pub); repeatable. "
            "Default: this station's own key.",
        ),
    ] = None,
    mirror: Annotated[
        Path | None,
        typer.Option(
            "--mirror",
            help="A file of mirrored heads (ISOLATE_HEAD_MIRROR=file:..., or a syslog file): the journal "
            "must reach the newest head it holds for the run.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Verify a journal or an export is complete and untampered (exit 0, or 7).

    Checks: hash chain intact, no gap, one run, every record fits its kind's model (kind
    known, fields typed, required fields present), every intent has an outcome, every
    captured state present and unaltered, every signed head (seal) valid for a trusted
    key and the last record one of them; for an export, its signed header. Prints OK with
    whether the run is complete, or FAIL with the first bad record's line and seq.

    Example: isolate journal verify last
    """
    trusted = [read_public_key(path) for path in public_key] if public_key else None
    report = verify_journal(
        resolve_journal(state_dir_from(state_dir), run), expect_head=head, trusted=trusted, mirror=mirror
    )
    if as_json:
        bad = report.first_bad
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "records": report.records,
                    "run": report.run,
                    "path": str(report.path),
                    "summary": report.summary(),
                    "head": report.head,
                    "signed_by": report.signed_by,
                    "complete": report.complete,
                    "run_status": report.run_status,
                    "warnings": list(report.warnings),
                    "first_bad": None
                    if bad is None
                    else {"line": bad.line, "seq": bad.seq, "kind": bad.kind, "reason": bad.reason},
                },
                indent=1,
            )
        )
    else:
        typer.echo(report.summary())
        for warning in report.warnings:
            typer.echo(f"warning: {warning}")
        if report.ok and report.head:
            typer.echo(f"head: seq {report.records - 1} hash {report.head}")
    if not report.ok:
        raise typer.Exit(int(ExitCode.JOURNAL_INVALID))


@journal_app.command("key")
def key_command(
    export: Annotated[
        Path | None, typer.Option("--export", help="Also write the public key to this file (for auditors).")
    ] = None,
) -> None:
    """Show this station's journal signing key: its path, id and public key (for auditors).

    The key is created on first use (Ed25519, mode 0600): $ISOLATE_SIGNING_KEY, else
    ~/.config/isolate/journal-ed25519.key. Give the public key to auditors.

    Example: isolate journal key --export site.pub
    """
    signer = load_signer()
    typer.echo(f"signing key: {signer.path} (id {signer.public.id})")
    typer.echo(f"public key:  {public_path(signer.path)}")
    typer.echo(signer.public.line(), nl=False)
    if export is not None:
        try:
            export.write_text(signer.public.line(), encoding="utf-8")
        except OSError as err:
            raise InputError(f"{export}: cannot write: {err.strerror}") from None
        typer.echo(f"wrote {export}", err=True)


@lock_app.command("list")
def lock_list_command(lock_dir: LockDir = None, as_json: AsJson = False) -> None:
    """List the device locks held, with their run, process and whether they are stale.

    Example: isolate lock list
    """
    infos = DeviceLocks.at(lock_dir).held()
    if as_json:
        typer.echo(json.dumps([i.to_json() for i in infos], indent=1))
        return
    if not infos:
        typer.echo("no device is locked")
    for info in infos:
        typer.echo(info.describe())


@lock_app.command("break")
def lock_break_command(
    device: Annotated[str, typer.Argument(help="The device whose lock to break.")],
    force: Annotated[
        bool,
        typer.Option("--force", help="Break it even if its process looks alive (you checked it is not)."),
    ] = False,
    lock_dir: LockDir = None,
) -> None:
    """Break a device lock. Only a stale one (its process is dead) unless --force.

    Example: isolate lock break core1
    """
    locks = DeviceLocks.at(lock_dir)
    info = locks.break_lock(device) if force else locks.break_stale(device)
    typer.echo(f"broke the lock on {device} held by run {info.run} (pid {info.pid} on {info.host})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(journal_app, name="journal")
    app.add_typer(lock_app, name="lock")
