"""What a command loads before it does anything: the engine (``isolate.api``, which every
command that plans, applies, restores or reads a journal uses) does not import the clients of
platforms the run may never touch — aiohttp (FortiOS), ldap3 (Active Directory), netmiko (the
optional CLI transport). They are loaded when a session of theirs is opened."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import typer
from typer.main import get_command

from isolate import cli

HEAVY = ("aiohttp", "ldap3", "netmiko")


def _modules_after(code: str) -> set[str]:
    """Every module a fresh interpreter holds after running ``code``."""
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def _modules_after_cli(argv: list[str], exit_code: int = 0) -> set[str]:
    """Every module a fresh interpreter holds after ``isolate ARGV`` ran in it (exit code checked)."""
    return _modules_after(
        "from isolate import cli\n"
        f"try:\n    cli.main({argv!r})\n"
        f"except SystemExit as exc:\n    assert exc.code == {exit_code}, exc.code\n"
    )


def _loaded_after(code: str) -> set[str]:
    """The top-level packages loaded after ``code``."""
    return {name.split(".")[0] for name in _modules_after(code)}


def test_the_engine_loads_no_optional_client() -> None:
    loaded = _loaded_after("import isolate.api, isolate.actions.table")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "asyncssh" in loaded  # the default CLI transport is there before any worker thread starts


def test_the_netmiko_transport_is_loaded_when_chosen() -> None:
    chosen = "from isolate.drivers.registry import connector\nconnector({!r})"
    assert "netmiko" in _loaded_after(chosen.format("netmiko"))
    assert "netmiko" not in _loaded_after(chosen.format("asyncssh"))


def test_each_client_is_loaded_by_its_session_module() -> None:
    assert "aiohttp" in _loaded_after("import isolate.drivers.fortios")
    assert "ldap3" in _loaded_after("import isolate.drivers.active_directory")


def test_the_command_table_names_what_each_module_registers() -> None:
    """``isolate.cli.COMMAND_MODULES`` (which module a command line imports) is what the
    modules really register: a command missing from it, or sent to the wrong module, would
    make `isolate <command>` say "No such command"."""
    registered: dict[str, str] = {}
    for module_name in dict.fromkeys(cli.COMMAND_MODULES.values()):
        probe = typer.Typer()
        probe.callback()(lambda: None)
        importlib.import_module(f"isolate.cli.{module_name}").register(probe)
        group = get_command(probe)
        for name in group.list_commands(group.make_context("isolate", [])):  # type: ignore[attr-defined]
            registered[name] = module_name
    assert registered == cli.COMMAND_MODULES


def test_a_command_line_loads_only_its_own_command_module() -> None:
    """`isolate apply` does not import the drill's reports, the watch's server or the lab; the
    root's help still lists every command."""
    loaded = _modules_after_cli(["apply", "--help"])
    assert "isolate.cli.run" in loaded
    assert loaded.isdisjoint({"isolate.cli.drill", "isolate.cli.watch", "isolate.cli.lab",
                              "isolate.cli.netlab", "isolate.cli.worker"})
    root = subprocess.run([sys.executable, "-m", "isolate", "--help"], capture_output=True, text=True,
                          check=False)
    assert root.returncode == 0, root.stderr
    assert set(cli.COMMAND_MODULES) <= set(root.stdout.split())


def test_a_client_of_the_lab_loads_no_simulator(tmp_path: Path) -> None:
    """`isolate lab status` (and fault, down, advance) talk to a running lab over its control
    socket: they load neither asyncssh, aiohttp nor the device simulators, which only the lab
    process serves with. With no lab running, status says so (exit 1, one line)."""
    loaded = _modules_after_cli(["lab", "status", "--state-dir", str(tmp_path)], exit_code=1)
    assert "isolate.lab.process" in loaded
    assert {name.split(".")[0] for name in loaded}.isdisjoint({"asyncssh", "aiohttp"})
    assert loaded.isdisjoint({"isolate.lab.ios", "isolate.lab.server", "isolate.lab.topology"})
    status = subprocess.run([sys.executable, "-m", "isolate", "lab", "status", "--state-dir", str(tmp_path)],
                            capture_output=True, text=True, check=False)
    assert (status.returncode, status.stdout, status.stderr) == (1, f"lab: not running ({tmp_path})\n", "")


def test_the_version_loads_no_command_module() -> None:
    loaded = _modules_after_cli(["--version"])
    assert not {name for name in loaded if name.startswith("isolate.cli.")} - {"isolate.cli.options"}
    version = subprocess.run([sys.executable, "-m", "isolate", "--version"], capture_output=True, text=True,
                             check=False)
    assert (version.returncode, version.stderr) == (0, "")
    assert version.stdout.startswith("isolate ") and len(version.stdout.splitlines()) == 1
