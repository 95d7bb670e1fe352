"""The command line: typer app, rendering and exit codes. Nothing imports this package.

Each command group lives in its own module exposing ``register(app)``. ``main``
turns every ``IsolateError`` into one line on stderr and its exit code; any other
exception is a bug: one line, exit 70. ``--debug`` adds the traceback before that line
and keeps the exit code; every traceback printed goes through
``isolate.secrets.scrub_debug`` first (resolved secrets, secret-bearing configuration
fields and pydantic ``input_value``s redacted), so it is fit to attach to a bug report.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
from types import TracebackType
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


# Which module registers each top-level command: a command line imports only its own module
# (an apply does not pay for the drill's reports or the watch's server at start-up). The root's
# help, a mistyped command and shell completion register them all. tests/cli/test_startup.py
# checks this table against what the modules register.
COMMAND_MODULES: dict[str, str] = {
    "inventory": "checks", "playbook": "checks", "plan": "plan",
    "apply": "run", "restore": "run", "status": "run", "locate": "locate", "drill": "drill",
    "journal": "journal", "lock": "journal", "lab": "lab", "netlab": "netlab",
    "watch": "watch", "approve": "watch", "reject": "watch",
    "extend": "expiry", "expire": "expiry", "worker": "worker",
}
_REGISTERED: set[str] = set()


def _register(module_name: str) -> None:
    if module_name in _REGISTERED:
        return
    module = importlib.import_module(f"isolate.cli.{module_name}")
    module.register(app)
    _REGISTERED.add(module_name)


def _register_all() -> None:
    for module_name in dict.fromkeys(COMMAND_MODULES.values()):
        _register(module_name)


def _register_for(args: list[str]) -> None:
    """Register the module of the command ``args`` name, or every module when it names none."""
    command = next((arg for arg in args if not arg.startswith("-")), None)
    if command in COMMAND_MODULES and "--help" not in args[: args.index(command)]:
        _register(COMMAND_MODULES[command])
    elif command is None and "--version" in args and "--help" not in args:
        return  # the root's eager --version answers before any command is looked up
    else:
        _register_all()


def _print_error(err: IsolateError) -> None:
    if isinstance(err, InputError) and len(err.problems) > 1:
        for problem in err.problems:
            typer.echo(f"error: {problem}", err=True)
    else:
        typer.echo(f"error: {err}", err=True)


def _print_traceback(exc: BaseException) -> None:
    from isolate.secrets import scrub_debug

    sys.stderr.write(scrub_debug("".join(traceback.format_exception(exc))))
    sys.stderr.flush()


def _excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    _print_traceback(exc.with_traceback(tb))


def _thread_excepthook(hook: threading.ExceptHookArgs) -> None:
    if hook.exc_value is not None:
        sys.stderr.write(f"exception in thread {hook.thread.name if hook.thread else '?'}:\n")
        _print_traceback(hook.exc_value)


def entry() -> None:
    """The ``isolate`` command (and ``python -m isolate``): ``main``, then Ctrl-C ignored while
    the interpreter shuts down. The command has said everything by then. Before this, a Ctrl-C
    in that instant (joining the worker threads) printed a ``threading`` traceback, and the
    exit code stayed the command's."""
    try:
        main()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    _register_for(args)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    cut = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:cut]
    if debug:  # the root's option, wherever it was typed ("run the same command with --debug")
        args = ["--debug", *[a for a in args[:cut] if a != "--debug"], *args[cut:]]
    try:
        code = app(args=args, standalone_mode=False)
        # In non-standalone mode click returns typer.Exit's code instead of raising it.
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except IsolateError as err:
        if debug or debug_enabled():
            _print_traceback(err)
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
        from isolate.secrets import scrub_debug

        if debug or debug_enabled():
            _print_traceback(exc)
        first = str(exc).splitlines()[0] if str(exc) else ""
        line = f"internal error: {type(exc).__name__}: {first} (run again with --debug for details)"
        typer.echo(scrub_debug(line), err=True)
        sys.exit(int(ExitCode.INTERNAL))
