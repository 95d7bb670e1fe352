"""The SSH host-key rule is the same on every transport (asyncssh and netmiko CLI sessions,
paramiko exec, Ansible's OpenSSH), against the embedded lab over real SSH:
checking on, a device known_hosts does not list is refused with a message saying what to do
(never ``known_hosts (None)``); with ``--insecure-host-keys`` (``host_key_checking=False``)
such a device is accepted, but a key that contradicts known_hosts is still refused, and the
user's known_hosts file is never written."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from isolate.drivers.ansible import AnsibleSession
from isolate.drivers.base import Target
from isolate.drivers.hostkeys import changed_key_message, unknown_key_message
from isolate.drivers.registry import connect
from isolate.errors import ConnectError, DeviceError
from isolate.execute.targets import resolve_targets
from isolate.inventory.loader import load_inventory
from isolate.lab.process import LabHandle, start_lab

FAKE = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
TRANSPORTS = [("core1", "asyncssh"), ("core1", "netmiko"), ("fw-edge", "paramiko")]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("hostkeys"), "city")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def targets(lab: LabHandle) -> dict[str, Target]:
    inventory = load_inventory(lab.inventory)
    return resolve_targets(inventory, ["core1", "fw-edge"], timeout_s=10.0).targets


def _open(target: Target, transport: str) -> str:
    """Connect, read the state, close: the device answered through this transport."""
    session = connect(target) if transport == "paramiko" else connect(target, transport)
    try:
        return session.read_state()
    finally:
        session.close()


def _other_key(tmp_path: Path, target: Target) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(f"[{target.host}]:{target.port} ssh-ed25519 {FAKE}\n")
    return path


@pytest.mark.parametrize(("device", "transport"), TRANSPORTS)
def test_no_known_hosts_says_what_to_do(targets: dict[str, Target], device: str, transport: str) -> None:
    target = dataclasses.replace(targets[device], known_hosts=None)
    with pytest.raises(ConnectError) as caught:
        _open(target, transport)
    message = str(caught.value)
    assert message == unknown_key_message(target)
    assert "None" not in message
    assert "the inventory names no known_hosts file; set 'known_hosts: FILE' in the inventory" in message


@pytest.mark.parametrize(("device", "transport"), TRANSPORTS)
def test_insecure_accepts_an_unlisted_device_without_writing_known_hosts(
    targets: dict[str, Target], device: str, transport: str, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    for known in (empty, None):
        target = dataclasses.replace(targets[device], known_hosts=known, host_key_checking=False)
        assert _open(target, transport)
    assert empty.read_text() == ""


@pytest.mark.parametrize(("device", "transport"), TRANSPORTS)
def test_insecure_still_refuses_a_changed_key(
    targets: dict[str, Target], device: str, transport: str, tmp_path: Path
) -> None:
    known = _other_key(tmp_path, targets[device])
    before = known.read_bytes()
    for checking in (True, False):
        target = dataclasses.replace(targets[device], known_hosts=known, host_key_checking=checking)
        with pytest.raises(ConnectError) as caught:
            _open(target, transport)
        assert str(caught.value) == changed_key_message(target)
    assert known.read_bytes() == before


def _ansible(targets: dict[str, Target], known: Path, tmp_path: Path) -> str:
    """An Ansible session to the lab's fw-edge without a password (so its own OpenSSH master
    connects in batch mode); the error says how far SSH got."""
    fw = targets["fw-edge"]
    target = Target("fw-edge", fw.host, fw.port, "ansible", "nobody-isolate", known_hosts=known,
                    host_key_checking=False, timeout_s=10.0)  # fmt: skip
    session = AnsibleSession(target, state_dir=tmp_path / "state")
    try:
        with pytest.raises(DeviceError) as caught:
            session.read_state()
    finally:
        session.close()
    return str(caught.value)


def test_ansible_follows_the_same_rule(targets: dict[str, Target], tmp_path: Path) -> None:
    changed = _other_key(tmp_path, targets["fw-edge"])
    before = changed.read_bytes()
    assert _ansible(targets, changed, tmp_path) == changed_key_message(
        dataclasses.replace(targets["fw-edge"], known_hosts=changed)
    )
    assert changed.read_bytes() == before
    unlisted = tmp_path / "empty_known_hosts"
    unlisted.write_text("")
    message = _ansible(targets, unlisted, tmp_path)
    assert "Permission denied" in message  # past the host key: the key was accepted
    assert "host key" not in message.lower()
    assert unlisted.read_text() == ""


def test_cli_warns_journals_and_explains(lab: LabHandle, tmp_path: Path) -> None:
    """Through the CLI: without known_hosts the pre-checks refuse (exit 3) saying what to do;
    with --insecure-host-keys one warning line, the run goes on, and the journal says so."""
    text = lab.inventory.read_text()
    line = next(x for x in text.splitlines() if x.startswith("known_hosts:"))
    bare = lab.inventory.with_name("no-known-hosts.yml")
    bare.write_text(text.replace(line + "\n", ""))
    playbook = Path(__file__).resolve().parents[2] / "playbooks" / "drill.yml"
    env = {**os.environ, "ISOLATE_STATE_DIR": str(tmp_path / "state"),
           "ISOLATE_LOCK_DIR": str(tmp_path / "locks")}  # fmt: skip

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "isolate", *args], env=env, capture_output=True,
                              text=True, check=False, timeout=300, stdin=subprocess.DEVNULL)  # fmt: skip

    refused = cli("apply", "-i", str(bare), str(playbook), "--check", "--yes", "--json")
    assert refused.returncode == 3, refused.stderr
    assert "known_hosts (None)" not in refused.stderr + refused.stdout
    assert "the inventory names no known_hosts file; set 'known_hosts: FILE'" in refused.stdout
    done = cli("apply", "-i", str(bare), str(playbook), "--check", "--yes", "--insecure-host-keys")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        "warning: --insecure-host-keys: devices missing from known_hosts are accepted without "
        "verifying their SSH host key (a changed key is still refused); this is journaled"
    )
    show = cli("journal", "show", "last")
    assert show.returncode == 0, show.stderr
    assert "Host keys:    NOT verified for devices missing from known_hosts (--insecure-host-keys)" in (
        show.stdout.splitlines()
    )
