"""Lab test kit (imported, not a conftest: other test dirs import their conftest by name):
the small-lab fixture, netmiko and raw paramiko sessions to a lab device."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from netmiko import ConnectHandler

from isolate.lab.process import LabHandle, start_lab

SMALL = Path(__file__).with_name("small.yml")


@pytest.fixture(scope="module", name="lab")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """One small IOS lab per test module, stopped by pid in the finalizer."""
    handle = start_lab(tmp_path_factory.mktemp("lab"), SMALL)
    try:
        yield handle
    finally:
        handle.stop()


def netmiko_to(lab: LabHandle, device: str, **extra: Any) -> Any:
    params: dict[str, Any] = {
        "device_type": "cisco_ios", "host": "127.0.0.1", "port": lab.port(device),
        "username": lab.credentials.username, "password": lab.credentials.password,
        "secret": lab.credentials.enable, "fast_cli": True,
    }
    params.update(extra)
    return ConnectHandler(**params)


class RawShell:
    """A paramiko PTY shell read byte by byte, to see exactly what the device sends."""

    def __init__(self, lab: LabHandle, device: str, *, password: str | None = None) -> None:
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect("127.0.0.1", port=lab.port(device),
                            username=lab.credentials.username,
                            password=password or lab.credentials.password,
                            look_for_keys=False, allow_agent=False, timeout=10)
        self.chan = self.client.invoke_shell(width=511)
        self.chan.settimeout(10)
        self.buffer = ""

    def send(self, data: str) -> None:
        self.chan.send(data.encode())

    def read_until(self, pattern: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while not regex.search(self.buffer):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pattern!r} not seen; got {self.buffer!r}")
            self.chan.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.chan.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise EOFError(f"closed; got {self.buffer!r}")
            self.buffer += chunk.decode()
        found = regex.search(self.buffer)
        assert found is not None
        out, self.buffer = self.buffer[: found.end()], self.buffer[found.end():]
        return out

    def close(self) -> None:
        self.client.close()
