"""One session class for CLI platforms over netmiko (cisco_ios, cisco_asa).

netmiko's ``send_config_set`` reports success for a refused line unless told what a
failure looks like; here every line's echo and output are checked against the
platform's failure markers, and the refused line is named in the error.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Sequence
from typing import Any

import paramiko
from netmiko import ConnectHandler
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)

from isolate.drivers.base import CommandResult, Target
from isolate.drivers.cli_platform import EXEC_PREFIX, CliPlatform
from isolate.drivers.revert_timer import RevertTimerConfirm
from isolate.errors import AuthError, CommandRejected, ConnectError, DeviceError, DeviceTimeout


def _first_failure(platform: CliPlatform, output: str) -> str | None:
    match = platform.failure.search(output)
    return match.group(0).strip() if match else None


class NetmikoCliSession:
    """A netmiko connection to one CLI device, in privileged mode, reused across steps."""

    def __init__(self, target: Target, platform: CliPlatform) -> None:
        self.target = target
        self.platform = platform
        self._conn: Any = self._connect()

    # -- connection -------------------------------------------------------------------
    def _connect(self) -> Any:
        t = self.target
        params: dict[str, Any] = {
            "device_type": self.platform.netmiko_type,
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
        }
        try:
            conn = ConnectHandler(**params)
            if not conn.check_enable_mode():
                conn.enable()
            return conn
        except NetmikoAuthenticationException as exc:
            raise AuthError(
                f"{t.name}: authentication failed for user {t.username!r} at {t.host}:{t.port}",
                device=t.name,
            ) from exc
        except (NetmikoTimeoutException, TimeoutError, paramiko.SSHException) as exc:
            # netmiko wraps paramiko's host-key and connection errors in NetmikoTimeoutException
            raise _connect_error(t, exc) from exc
        except (ValueError, ReadTimeout) as exc:
            # netmiko raises ValueError when enable fails ("Failed to enter enable mode")
            raise AuthError(f"{t.name}: could not enter privileged mode: {exc}", device=t.name) from exc
        except OSError as exc:
            raise ConnectError(
                f"{t.name}: cannot connect to {t.host}:{t.port}: {exc}", device=t.name
            ) from exc

    def _wrap(self, exc: Exception, command: str) -> DeviceError:
        name = self.target.name
        if isinstance(exc, ReadTimeout | NetmikoTimeoutException | TimeoutError | socket.timeout):
            return DeviceTimeout(
                f"{name}: {command!r} got no answer within {self.target.timeout_s:g} s",
                device=name,
                command=command,
            )
        return ConnectError(
            f"{name}: connection lost during {command!r}: {exc}", device=name, command=command
        )

    # -- Session protocol -------------------------------------------------------------
    def run(self, command: str) -> CommandResult:
        started = time.time()
        try:
            output = self._conn.send_command(command, read_timeout=self.target.timeout_s)
        except (OSError, EOFError, paramiko.SSHException, ReadTimeout, NetmikoTimeoutException) as exc:
            raise self._wrap(exc, command) from exc
        failure = _first_failure(self.platform, output)
        if failure:
            raise CommandRejected(
                f"{self.target.name}: {command!r} rejected: {failure}",
                device=self.target.name,
                command=command,
            )
        return CommandResult(self.target.name, command, output, True, started, time.time() - started)

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        return self._push(commands, config_mode_command=None)

    def read_state(self) -> str:
        return self.platform.normalise_state(self.run(self.platform.state_command).output)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.disconnect()

    # -- internals --------------------------------------------------------------------
    def _push(self, commands: Sequence[str], *, config_mode_command: str | None) -> list[CommandResult]:
        config = [c for c in commands if not c.startswith(EXEC_PREFIX)]
        execs = [c[len(EXEC_PREFIX) :] for c in commands if c.startswith(EXEC_PREFIX)]
        results: list[CommandResult] = []
        if config:
            results.append(self._send_config(config, config_mode_command))
        for command in execs:
            results.append(self.run(command))
        return results

    def _send_config(self, config: list[str], config_mode_command: str | None) -> CommandResult:
        started = time.time()
        name = self.target.name
        try:
            output = self._conn.send_config_set(
                config,
                config_mode_command=config_mode_command,
                error_pattern=self.platform.failure.pattern,
                read_timeout=self.target.timeout_s,
                cmd_verify=True,
            )
        except ConfigInvalidException as exc:
            command = _refused_command(str(exc), config)
            self._leave_config_mode()
            raise CommandRejected(
                f"{name}: {command!r} rejected: {_marker(str(exc))}", device=name, command=command
            ) from exc
        except ValueError as exc:  # netmiko: "Failed to enter configuration mode"
            self._leave_config_mode()
            command = config_mode_command or "configure terminal"
            raise CommandRejected(
                f"{name}: {command!r} refused: the device did not enter configuration mode "
                "(for a confirm window IOS needs the archive feature: 'archive' / 'path flash:archive')",
                device=name,
                command=command,
            ) from exc
        except (OSError, EOFError, paramiko.SSHException, ReadTimeout, NetmikoTimeoutException) as exc:
            raise self._wrap(
                exc, config[0] if len(config) == 1 else f"{config[0]} … ({len(config)} lines)"
            ) from exc
        failure = _first_failure(self.platform, output)
        if failure:  # e.g. the config-mode command itself (revert timer without archive)
            self._leave_config_mode()
            command = config_mode_command or config[0]
            raise CommandRejected(f"{name}: {command!r} rejected: {failure}", device=name, command=command)
        return CommandResult(name, "\n".join(config), output, True, started, time.time() - started)

    def _leave_config_mode(self) -> None:
        try:
            if self._conn.check_config_mode():
                self._conn.exit_config_mode()
        except Exception:
            pass


def _refused_command(message: str, config: list[str]) -> str:
    marker = "Invalid input detected at command: "
    if marker in message:
        rest = message.split(marker, 1)[1]
        return rest.split(", matched error:", 1)[0]
    return config[0]


def _marker(message: str) -> str:
    return message.split("matched error:", 1)[1].strip() if "matched error:" in message else message


class ConfirmingCliSession(NetmikoCliSession, RevertTimerConfirm):
    """A CLI session whose platform can revert by itself unless confirmed (IOS revert timer)."""

    def __init__(self, target: Target, platform: CliPlatform) -> None:
        self._init_revert_timer(platform)
        super().__init__(target, platform)


def _connect_error(t: Target, exc: Exception) -> DeviceError:
    """One line for a failed SSH connection, whatever layer of netmiko/paramiko raised it."""
    text = str(exc)
    if isinstance(exc, paramiko.BadHostKeyException) or "does not match" in text:
        return ConnectError(
            f"{t.name}: SSH host key of {t.host}:{t.port} does not match known_hosts "
            "(possible impersonation; check the device before going on)",
            device=t.name,
        )
    if "not found in known_hosts" in text:
        return ConnectError(
            f"{t.name}: SSH host key of {t.host}:{t.port} is not in known_hosts "
            f"({t.known_hosts}); add it, or pass --insecure-host-keys (journaled)",
            device=t.name,
        )
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
