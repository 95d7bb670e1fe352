"""The netmiko channel for CLI sessions (``isolate.drivers.cli``): send a line, read to a prompt.

netmiko (over paramiko) opens the SSH shell; the session logic — login prompt, escalation,
paging, refusals, configuration batches, confirm windows, error messages — is in ``cli.py``,
shared with the asyncssh channel, so both transports behave and speak alike.
"""

from __future__ import annotations

import contextlib
from typing import Any

import paramiko
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout
from netmiko.ssh_dispatcher import CLASS_MAPPER

from isolate.drivers.base import Target
from isolate.drivers.cli import Until
from isolate.drivers.hostkeys import changed_key_message, paramiko_policy, unknown_key_message
from isolate.drivers.jump import HopChain, open_hops
from isolate.drivers.ssh_algorithms import no_common_algorithm, transport_factory
from isolate.drivers.ssh_exec import connect_direct
from isolate.errors import AuthError, ConnectError, DeviceError, DeviceTimeout
from isolate.platforms import Platform


class NetmikoChannel:
    """The interactive shell of one netmiko connection (the ``cli.Channel`` contract)."""

    def __init__(self, target: Target, conn: Any, hops: HopChain | None = None) -> None:
        self.target = target
        self.conn = conn
        self.hops = hops

    def send_line(self, line: str) -> None:
        try:
            self.conn.write_channel(line + "\n")
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise ConnectionError(str(exc)) from exc

    def read_to_prompt(self, prompt: Until) -> str:
        try:
            text: str = self.conn.read_until_pattern(
                pattern=prompt.pattern, read_timeout=self.target.timeout_s
            )
        except (TimeoutError, ReadTimeout, NetmikoTimeoutException) as exc:
            raise TimeoutError(str(exc)) from exc
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise ConnectionError(str(exc)) from exc
        return text

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.disconnect()
        if self.hops is not None:
            self.hops.close()


def open_channel(target: Target, platform: Platform) -> NetmikoChannel:
    """An SSH shell on ``target`` opened by netmiko (no session preparation: ``cli.py`` does
    it), through its jump hosts if any (paramiko ``direct-tcpip`` channels given to netmiko as
    ``sock``); every failure becomes a one-line DeviceError."""
    if platform.netmiko_type is None:
        raise ConnectError(
            f"{target.name}: platform {platform.name} has no netmiko device type", device=target.name
        )
    if not target.via:
        return _open(target, platform, None)
    hops, sock = open_hops(target, connect_direct)
    try:
        channel = _open(target, platform, sock)
    except BaseException:
        hops.close()
        raise
    channel.hops = hops
    return channel


def _open(t: Target, platform: Platform, sock: Any) -> NetmikoChannel:
    assert platform.netmiko_type is not None  # checked by open_channel
    params: dict[str, Any] = {
        "device_type": platform.netmiko_type,
        "host": t.host,
        "port": t.port,
        "username": t.username,
        "password": t.password or "",
        "secret": t.secret or "",
        "conn_timeout": min(t.timeout_s, 15.0),
        "auth_timeout": min(t.timeout_s, 15.0),
        "banner_timeout": min(t.timeout_s, 15.0),
        "read_timeout_override": t.timeout_s,
        "fast_cli": True,
        "allow_agent": t.use_agent,
        "use_keys": t.key_file is not None,
        "key_file": str(t.key_file) if t.key_file else None,
        "ssh_strict": t.host_key_checking,
        "system_host_keys": False,
        "alt_host_keys": t.known_hosts is not None,
        "alt_key_file": str(t.known_hosts) if t.known_hosts else "",
        "auto_connect": False,
        "sock": sock,
    }
    try:
        conn = _with_algorithms(CLASS_MAPPER[platform.netmiko_type], t)(**params)
        conn.key_policy = paramiko_policy(t)  # the same host-key rule as every transport
        conn.establish_connection()
    except NetmikoAuthenticationException as exc:
        raise AuthError(
            f"{t.name}: authentication failed for user {t.username!r} at {t.host}:{t.port}",
            device=t.name,
        ) from exc
    except (NetmikoTimeoutException, TimeoutError, paramiko.SSHException) as exc:
        # netmiko wraps paramiko's host-key and connection errors in NetmikoTimeoutException
        raise _connect_error(t, exc) from exc
    except OSError as exc:
        raise ConnectError(f"{t.name}: cannot connect to {t.host}:{t.port}: {exc}", device=t.name) from exc
    return NetmikoChannel(t, conn)


def _with_algorithms(base: type[Any], target: Target) -> type[Any]:
    """netmiko's class for the platform, opening its paramiko transport with the device's
    algorithm set (``ssh_algorithms.transport_factory``)."""
    factory = transport_factory(target.ssh)

    class WithAlgorithms(base):  # type: ignore[misc]
        def _connect_params_dict(self) -> dict[str, Any]:
            params: dict[str, Any] = super()._connect_params_dict()
            params["transport_factory"] = factory
            return params

    return WithAlgorithms


def _connect_error(t: Target, exc: Exception) -> DeviceError:
    """One line for a failed SSH connection, whatever layer of netmiko/paramiko raised it."""
    text = str(exc)
    unmatched = no_common_algorithm(t, text)
    if unmatched is not None:
        return unmatched
    if isinstance(exc, paramiko.BadHostKeyException) or "does not match" in text:
        return ConnectError(changed_key_message(t), device=t.name)
    if "not found in known_hosts" in text:
        return ConnectError(unknown_key_message(t), device=t.name)
    if "TCP connection to device failed" in text:
        return ConnectError(
            f"{t.name}: cannot connect to {t.host}:{t.port}: connection refused or unreachable",
            device=t.name,
        )
    if isinstance(exc, NetmikoTimeoutException | TimeoutError) and "SSHException" not in text:
        return DeviceTimeout(
            f"{t.name}: no answer from {t.host}:{t.port} within {t.timeout_s:g} s", device=t.name
        )
    first = next(
        (line.strip() for line in text.splitlines() if line.strip() and "paramiko SSHException" not in line),
        "SSH error",
    )
    return ConnectError(f"{t.name}: SSH error at {t.host}:{t.port}: {first}", device=t.name)
