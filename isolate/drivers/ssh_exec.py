"""A paramiko SSH client with host-key verification, exec channels and wrapped errors.

Shared by drivers that manage a device through exec channels (Linux/nftables,
Open vSwitch, WireGuard) rather than an interactive CLI.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import Any

import paramiko

from isolate.drivers.base import Target
from isolate.drivers.hostkeys import changed_key_message, paramiko_policy, unknown_key_message
from isolate.drivers.jump import HopChain, open_hops
from isolate.drivers.ssh_algorithms import no_common_algorithm, transport_factory
from isolate.errors import AuthError, ConnectError, DeviceTimeout


@dataclass(frozen=True)
class ExecOutput:
    command: str
    stdout: str
    stderr: str
    exit_status: int
    duration_s: float


class JumpedClient(paramiko.SSHClient):
    """A client reached through jump hosts: closing it closes the hops too."""

    hops: HopChain | None = None

    def close(self) -> None:
        super().close()
        if self.hops is not None:
            self.hops.close()


def connect_client(target: Target) -> paramiko.SSHClient:
    """Open an SSH client to ``target`` (through its jump hosts, if any); every failure
    becomes a one-line DeviceError (a hop's names the hop)."""
    if not target.via:
        return connect_direct(target)
    hops, channel = open_hops(target, connect_direct)
    client = JumpedClient()
    client.hops = hops
    try:
        return connect_direct(target, channel, client=client)
    except BaseException:
        hops.close()
        raise


def connect_direct(
    target: Target, sock: Any = None, *, client: paramiko.SSHClient | None = None
) -> paramiko.SSHClient:
    """Open an SSH client to ``target`` over ``sock`` (a jump host's channel) or TCP."""
    client = client or paramiko.SSHClient()
    if target.known_hosts is not None and target.known_hosts.is_file():
        client.load_host_keys(str(target.known_hosts))
    client.set_missing_host_key_policy(paramiko_policy(target))
    name = target.name
    try:
        client.connect(
            target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            key_filename=str(target.key_file) if target.key_file else None,
            allow_agent=target.use_agent,
            look_for_keys=False,
            timeout=min(target.timeout_s, 15.0),
            auth_timeout=min(target.timeout_s, 15.0),
            banner_timeout=min(target.timeout_s, 15.0),
            transport_factory=transport_factory(target.ssh),
            sock=sock,
        )
    except paramiko.AuthenticationException as exc:
        raise AuthError(
            f"{name}: authentication failed for user {target.username!r} at {target.host}:{target.port}",
            device=name,
        ) from exc
    except paramiko.BadHostKeyException as exc:
        raise ConnectError(changed_key_message(target), device=name) from exc
    except TimeoutError as exc:
        raise DeviceTimeout(
            f"{name}: no answer from {target.host}:{target.port} within {target.timeout_s:g} s",
            device=name,
        ) from exc
    except paramiko.SSHException as exc:
        unmatched = no_common_algorithm(target, str(exc))
        if unmatched is not None:
            raise unmatched from exc
        if "not found in known_hosts" in str(exc):
            raise ConnectError(unknown_key_message(target), device=name) from exc
        raise ConnectError(f"{name}: SSH error at {target.host}:{target.port}: {exc}", device=name) from exc
    except OSError as exc:
        raise ConnectError(
            f"{name}: cannot connect to {target.host}:{target.port}: {exc}", device=name
        ) from exc
    return client


def run_exec(
    client: paramiko.SSHClient, target: Target, command: str, *, stdin: str | None = None
) -> ExecOutput:
    """Run one command on an exec channel, feeding ``stdin``; wait for its exit status."""
    started = time.time()
    try:
        transport = client.get_transport()
        if transport is None or not transport.is_active():
            raise ConnectError(
                f"{target.name}: connection lost before {command!r}", device=target.name, command=command
            )
        channel = transport.open_session(timeout=target.timeout_s)
        channel.settimeout(target.timeout_s)
        channel.exec_command(command)
        if stdin is not None:
            channel.sendall(stdin.encode())
        channel.shutdown_write()
        stdout = _read_all(channel, stderr=False)
        stderr = _read_all(channel, stderr=True)
        status = channel.recv_exit_status()
        channel.close()
        if status == -1:  # paramiko: the channel closed without an exit status
            raise ConnectError(
                f"{target.name}: connection dropped during {command!r} (no exit status: the device "
                "closed the connection; the outcome is unknown)",
                device=target.name,
                command=command,
            )
    except TimeoutError as exc:
        raise DeviceTimeout(
            f"{target.name}: {command!r} got no answer within {target.timeout_s:g} s",
            device=target.name,
            command=command,
        ) from exc
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise ConnectError(
            f"{target.name}: connection lost during {command!r}: {exc}", device=target.name, command=command
        ) from exc
    return ExecOutput(command, stdout, stderr, status, time.time() - started)


def _read_all(channel: paramiko.Channel, *, stderr: bool) -> str:
    chunks: list[bytes] = []
    recv = channel.recv_stderr if stderr else channel.recv
    while True:
        data = recv(65536)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


def sudo(target: Target, command: str) -> str:
    """Prefix with non-interactive sudo unless connected as root."""
    return command if target.username == "root" else f"sudo -n {command}"


def quote(value: str) -> str:
    return shlex.quote(value)
