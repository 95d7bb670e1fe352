"""The ansible driver through a real ansible-runner job (no host needed): an unreachable
host is one line naming it, and a password never lands in the job's files or messages."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from isolate.drivers.ansible import AnsibleSession
from isolate.drivers.base import Target
from isolate.drivers.registry import connect
from isolate.errors import DeviceError

SECRET = "s3cret-PW-4711"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _target(**extra: object) -> Target:
    fields: dict[str, object] = {
        "name": "fs9",
        "host": "127.0.0.1",
        "port": _closed_port(),
        "platform": "ansible",
        "username": "admin",
        "timeout_s": 3.0,
        "host_key_checking": False,
    }
    fields.update(extra)
    return Target(**fields)  # type: ignore[arg-type]


def test_registry_connects_platform_ansible_to_the_ansible_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOLATE_STATE_DIR", str(tmp_path))
    session = connect(_target())
    try:
        assert isinstance(session, AnsibleSession)
        assert session.data_dir.parent == tmp_path / "ansible"
        assert session.data_dir.stat().st_mode & 0o777 == 0o700
    finally:
        session.close()


def test_unreachable_host_is_one_line_naming_it(tmp_path: Path) -> None:
    session = AnsibleSession(_target(), state_dir=tmp_path)
    try:
        with pytest.raises(DeviceError) as caught:
            session.read_state()
    finally:
        session.close()
    message = str(caught.value)
    assert message.startswith("fs9: ") and "\n" not in message, message


def test_a_password_never_reaches_job_files_or_messages(tmp_path: Path) -> None:
    session = AnsibleSession(_target(password=SECRET, secret=SECRET), state_dir=tmp_path)
    try:
        with pytest.raises(DeviceError) as caught:
            session.read_state()
    finally:
        session.close()
    assert SECRET not in str(caught.value)
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == []
