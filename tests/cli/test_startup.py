"""What a command loads before it does anything: the engine (``isolate.api``, which every
command that plans, applies, restores or reads a journal uses) does not import the clients of
platforms the run may never touch — aiohttp (FortiOS), ldap3 (Active Directory), netmiko (the
optional CLI transport). They are loaded when a session of theirs is opened."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("aiohttp", "ldap3", "netmiko")


def _loaded_after(code: str) -> set[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


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
