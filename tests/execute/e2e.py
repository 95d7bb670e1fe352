"""Helpers for end-to-end tests: run the real CLI in a subprocess, read devices back through
netmiko and paramiko exactly as an admin's script would (never through the simulator)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
import yaml
from netmiko import ConnectHandler

from isolate.lab.process import LabHandle, start_lab

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"


def isolate_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "isolate", *args]


def run_cli(*args: str, state: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    return subprocess.run(isolate_cmd(*args), capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def ctrl_c_as_on_a_terminal() -> None:
    """In the child before exec: SIGINT at its default disposition, as an admin's shell leaves it.
    A test runner started in the background of a non-interactive shell ignores SIGINT, and an
    ignored signal stays ignored across exec: Python then never turns Ctrl-C into
    KeyboardInterrupt, and a test of Ctrl-C would see a run that ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args: str, state: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    return subprocess.Popen(isolate_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, stdin=subprocess.DEVNULL, preexec_fn=ctrl_c_as_on_a_terminal)


def lab_inventory(lab_dir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    inventory = yaml.safe_load((lab_dir / "inventory.yml").read_text())
    secrets = yaml.safe_load((lab_dir / "secrets.yml").read_text())
    return inventory, secrets


def read_device(lab_dir: Path, name: str) -> str:
    """The device's configuration as an admin reads it: netmiko for IOS/ASA, paramiko exec for Linux."""
    inventory, secrets = lab_inventory(lab_dir)
    device = next(d for d in inventory["devices"] if d["name"] == name)
    if device["platform"] == "linux":
        client = paramiko.SSHClient()
        client.load_host_keys(str(lab_dir / "known_hosts"))
        client.connect("127.0.0.1", port=device["port"], username=secrets["username"],
                       password=secrets["password"], look_for_keys=False, allow_agent=False, timeout=10)
        try:
            _, stdout, _ = client.exec_command("sudo -n nft -s list ruleset")
            return str(stdout.read().decode())
        finally:
            client.close()
    # netmiko's default 10 s read limit: exceeded once in CI with both cores busy (session 12)
    text = _netmiko(lab_dir, device, secrets,
                    lambda conn: conn.send_command("show running-config", read_timeout=60))
    # The header and change timestamps are not configuration (docs/platforms.md).
    return "\n".join(
        line for line in text.splitlines()
        if not line.startswith(("Building configuration", "Current configuration", "! Last configuration",
                                "! NVRAM config", ": ", "Cryptochecksum"))
    )


def configure_by_hand(lab_dir: Path, name: str, lines: list[str]) -> None:
    """``lines`` sent in configuration mode with netmiko, as an admin at the console would (an
    IOS device of the lab); the device accepted every one."""
    inventory, secrets = lab_inventory(lab_dir)
    device = next(d for d in inventory["devices"] if d["name"] == name)
    out = _netmiko(lab_dir, device, secrets, lambda conn: conn.send_config_set(lines))
    assert "% " not in out, out


def _netmiko(lab_dir: Path, device: dict[str, Any], secrets: dict[str, str],
             work: Callable[[Any], Any]) -> str:
    """``work`` on a netmiko session to ``device`` in privileged exec, its host key checked."""
    conn = ConnectHandler(device_type=device["platform"], host="127.0.0.1", port=device["port"],
                          username=secrets["username"], password=secrets["password"],
                          secret=secrets["enable"], ssh_strict=True, alt_host_keys=True,
                          alt_key_file=str(lab_dir / "known_hosts"))
    try:
        conn.enable()
        return str(work(conn))
    finally:
        conn.disconnect()


def read_all(lab_dir: Path, names: list[str]) -> dict[str, str]:
    return {name: read_device(lab_dir, name) for name in names}


def newest_run(state: Path) -> Path | None:
    runs = sorted((state / "runs").glob("*")) if (state / "runs").is_dir() else []
    return runs[-1] if runs else None


def records(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "journal.jsonl"
    out = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            break  # a torn final line
    return out


def wait_for_record(proc: subprocess.Popen[str], state: Path, predicate: Callable[[dict[str, Any]], bool],
                    *, timeout: float = 120) -> dict[str, Any]:
    """The first record of ``proc``'s (newest) journal matching ``predicate``, once it is written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = newest_run(state)
        if run is not None and (run / "journal.jsonl").exists():
            found = next((r for r in records(run) if predicate(r)), None)
            if found is not None:
                return found
        if proc.poll() is not None:
            raise AssertionError(f"process ended before the record was written: {proc.communicate()}")
        time.sleep(0.005)
    raise AssertionError("the record was never written")


ENDS = ("run-end", "restore-end")


def kill_when(proc: subprocess.Popen[str], state: Path, predicate: Callable[[dict[str, Any]], bool],
              *, timeout: float = 120) -> dict[str, Any]:
    """SIGKILL ``proc`` as soon as its journal holds a record matching ``predicate``, and
    prove the kill landed in the middle of the work: the process died of SIGKILL and wrote
    no run-end/restore-end after the matched record (a kill after the end proves nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = newest_run(state)
        if run is not None and (run / "journal.jsonl").exists():
            for record in records(run):
                if predicate(record):
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=30)
                    ended = proc.returncode
                    assert ended == -signal.SIGKILL, f"the process ended by itself first: {ended}"
                    later = [r["kind"] for r in records(run) if r["seq"] > record["seq"]]
                    assert not set(later) & set(ENDS), f"killed after the end, not mid-run: {later}"
                    return record
        if proc.poll() is not None:
            raise AssertionError(f"process ended before the kill point: {proc.communicate()}")
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    raise AssertionError("kill point never reached")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """The shipped city topology on the embedded lab, one per test module (tests/cli and
    tests/execute take it through their conftest; a module may define its own ``lab``)."""
    handle = start_lab(tmp_path_factory.mktemp("lab"), "city")
    try:
        yield handle
    finally:
        handle.stop()
