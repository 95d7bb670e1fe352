"""The command line: typer app, rendering and exit codes. Nothing imports this package.

Each command group lives in its own module exposing ``register(app)``. ``main``
turns every ``IsolateError`` into one line on stderr and its exit code; any other
exception is a bug: one line, exit 70, and the traceback only with ``--debug``.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from isolate import __version__
from isolate.errors import ExitCode, InputError, IsolateError

app = typer.Typer(
    name="isolate",
    help="Surgical, fast, provably reversible network isolation for ransomware containment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

_DEBUG = {"on": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"isolate {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show Python tracebacks for errors (for bug reports).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """isolate: plan, apply, journal and restore network containment."""
    _DEBUG["on"] = debug or os.environ.get("ISOLATE_DEBUG") == "1"


def debug_enabled() -> bool:
    return _DEBUG["on"]


def _register_all() -> None:
    from isolate.cli import checks, drill, journal, lab, netlab, plan, run

    for module in (checks, plan, run, drill, journal, lab, netlab):
        module.register(app)


def _print_error(err: IsolateError) -> None:
    if isinstance(err, InputError) and len(err.problems) > 1:
        for problem in err.problems:
            typer.echo(f"error: {problem}", err=True)
    else:
        typer.echo(f"error: {err}", err=True)


def main(argv: list[str] | None = None) -> None:
    _register_all()
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args, standalone_mode=False)
        # In non-standalone mode click returns typer.Exit's code instead of raising it.
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except IsolateError as err:
        if debug_enabled() or "--debug" in args:
            raise
        _print_error(err)
        sys.exit(int(err.exit_code))
    except typer.Exit as ex:
        sys.exit(ex.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # usage errors (typer's click) and bugs
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):  # a click UsageError/ClickException
            show()
            usage = type(exc).__name__ in (
                "UsageError",
                "BadParameter",
                "NoSuchOption",
                "MissingParameter",
                "BadOptionUsage",
                "BadArgumentUsage",
            )
            sys.exit(int(ExitCode.BAD_INPUT) if usage else int(exc.exit_code))
        if debug_enabled() or "--debug" in args:
            raise
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc} (run again with --debug for details)",
            err=True,
        )
        sys.exit(int(ExitCode.INTERNAL))
