"""One session class for CLI platforms over asyncssh (cisco_ios, cisco_asa).

The same ``Session`` contract, platform data (``cli_platform``), failure detection and
error messages as ``netmiko_cli``; what differs is the transport. Every session of the
process shares one asyncio event loop that runs in a daemon thread, so the executor's
threads only wait on futures while a single thread does the SSH work: no per-command
sleeps, no per-connection reader thread, one connection per device.

Each configuration line is sent on its own and its answer read up to the next prompt
before the next line goes out, so a refused line stops the batch exactly where netmiko's
``send_config_set(error_pattern=...)`` stops it (a refused ``interface X`` must never let
the following lines land on the previous interface).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import asyncssh

from isolate.drivers.base import CommandResult, Target
from isolate.drivers.cli_platform import EXEC_PREFIX, CliPlatform
from isolate.drivers.revert_timer import RevertTimerConfirm
from isolate.errors import AuthError, CommandRejected, ConnectError, DeviceError, DeviceTimeout

T = TypeVar("T")

FIRST_PROMPT = re.compile(r"(?:^|\n)([^\r\n]*?[>#])[ \t]*$")
PASSWORD_PROMPT = re.compile(r"[Pp]assword:\s*$")
PROMPT_HOST_CHARS = 16  # IOS truncates the hostname in configuration prompts; match its start
READ_CHUNK = 65536
# What the session sends after login, per platform (as netmiko's session_preparation does):
# no paging, wide lines. Read-only, mode-independent: sent in one write.
PREPARE = {"cisco_ios": ("terminal length 0", "terminal width 511"), "cisco_asa": ("terminal pager 0",)}
# AES-GCM first: asyncssh's chacha20-poly1305 builds a cipher object per packet and costs
# several times more CPU per packet; every IOS release with SSHv2 AES-GCM/CTR offers these.
ENCRYPTION = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
)


# -- the shared event loop ---------------------------------------------------------------------


class _LoopThread:
    """One asyncio loop in a daemon thread, started on first use, shared by every session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="isolate-asyncssh", daemon=True)
                thread.start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop()).result()


LOOP = _LoopThread()
_KNOWN_HOSTS: dict[tuple[str, float], Any] = {}
_KNOWN_HOSTS_LOCK = threading.Lock()


def _known_hosts(target: Target) -> Any:
    """Parsed known_hosts, cached per file and mtime (one parse for a thousand sessions)."""
    if not target.host_key_checking:
        return None
    path = target.known_hosts
    if path is None or not path.is_file():
        return asyncssh.import_known_hosts("")  # nothing trusted: every host key is refused
    key = (str(path), path.stat().st_mtime)
    with _KNOWN_HOSTS_LOCK:
        parsed = _KNOWN_HOSTS.get(key)
        if parsed is None:
            parsed = asyncssh.read_known_hosts(str(path))
            _KNOWN_HOSTS.clear()
            _KNOWN_HOSTS[key] = parsed
        return parsed


def _host_key_listed(target: Target) -> bool:
    """Whether known_hosts holds any key for this host and port (to tell mismatch from absence)."""
    parsed = _known_hosts(target)
    if parsed is None:
        return False
    trusted = parsed.match(target.host, target.host, target.port)
    return bool(trusted[0] or trusted[1])


def _first_failure(platform: CliPlatform, output: str) -> str | None:
    match = platform.failure.search(output)
    return match.group(0).strip() if match else None


def _strip_echo(text: str, command: str) -> str:
    """The answer to ``command``: without its echoed line and the prompt that ends it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first, sep, rest = text.partition("\n")
    body = rest if sep and command.strip() and command.strip() in first else text
    lines = body.split("\n")
    return "\n".join(lines[:-1]) if lines else ""


class _Channel:
    """The PTY shell of one connection: write a line, read up to a prompt (async side)."""

    def __init__(self, target: Target, conn: Any, process: Any) -> None:
        self.target = target
        self.conn = conn
        self.process = process
        self.buffer = ""
        self.prompt: re.Pattern[str] = FIRST_PROMPT
        self.prompt_start: re.Pattern[str] = FIRST_PROMPT

    async def read_until(self, pattern: re.Pattern[str], command: str) -> str:
        deadline = time.monotonic() + self.target.timeout_s
        scan_from = 0
        while True:
            found = pattern.search(self.buffer, max(0, scan_from - 512))
            if found is not None:
                text, self.buffer = self.buffer[: found.end()], self.buffer[found.end() :]
                return text
            scan_from = len(self.buffer)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            chunk = await asyncio.wait_for(self.process.stdout.read(READ_CHUNK), remaining)
            if not chunk:
                raise EOFError(f"the device closed the session (after {self.buffer[-80:]!r})")
            self.buffer += chunk

    async def send(self, line: str, until: re.Pattern[str] | None = None) -> str:
        self.process.stdin.write(line + "\n")
        return await self.read_until(until or self.prompt, line)

    async def send_all(self, lines: Sequence[str]) -> str:
        """Several read-only lines in one write; returns once every answer and prompt is in."""
        self.process.stdin.write("".join(f"{line}\n" for line in lines))
        text = ""
        while len(self.prompt_start.findall(text)) < len(lines):
            text += await self.read_until(self.prompt, lines[-1])
        return text

    def set_host(self, host: str) -> None:
        start = re.escape(host[:PROMPT_HOST_CHARS])
        self.prompt_start = re.compile(rf"(?:^|\n){start}[^\r\n]*?(?:\([^)\r\n]*\))?[>#]")
        self.prompt = re.compile(rf"{self.prompt_start.pattern}[ \t]*$")


class AsyncsshCliSession:
    """An asyncssh connection to one CLI device, in privileged mode, reused across steps."""

    def __init__(self, target: Target, platform: CliPlatform) -> None:
        self.target = target
        self.platform = platform
        self._sending: str | None = None  # the config line in flight, for error messages
        self._chan: _Channel = LOOP.run(self._guard_connect())

    # -- connection -------------------------------------------------------------------
    async def _guard_connect(self) -> _Channel:
        t = self.target
        try:
            return await asyncio.wait_for(self._connect(), t.timeout_s)
        except DeviceError:
            raise
        except asyncssh.PermissionDenied as exc:
            raise AuthError(
                f"{t.name}: authentication failed for user {t.username!r} at {t.host}:{t.port}",
                device=t.name,
            ) from exc
        except asyncssh.HostKeyNotVerifiable as exc:
            if _host_key_listed(t):
                raise ConnectError(
                    f"{t.name}: SSH host key of {t.host}:{t.port} does not match known_hosts "
                    "(possible impersonation; check the device before going on)",
                    device=t.name,
                ) from exc
            raise ConnectError(
                f"{t.name}: SSH host key of {t.host}:{t.port} is not in known_hosts "
                f"({t.known_hosts}); add it, or pass --insecure-host-keys (journaled)",
                device=t.name,
            ) from exc
        except TimeoutError as exc:
            raise DeviceTimeout(
                f"{t.name}: no answer from {t.host}:{t.port} within {t.timeout_s:g} s", device=t.name
            ) from exc
        except asyncssh.Error as exc:
            raise ConnectError(f"{t.name}: SSH error at {t.host}:{t.port}: {exc}", device=t.name) from exc
        except (OSError, EOFError) as exc:
            raise ConnectError(
                f"{t.name}: cannot connect to {t.host}:{t.port}: {exc}", device=t.name
            ) from exc

    async def _connect(self) -> _Channel:
        t = self.target
        conn = await asyncssh.connect(
            t.host,
            t.port,
            username=t.username,
            password=t.password,
            client_keys=[str(t.key_file)] if t.key_file else None,
            agent_path=() if t.use_agent else None,
            known_hosts=_known_hosts(t),
            config=[],
            connect_timeout=min(t.timeout_s, 15.0),
            login_timeout=min(t.timeout_s, 15.0),
            keepalive_interval=0,
            encryption_algs=ENCRYPTION,
        )
        try:
            process = await conn.create_process(term_type="vt100", term_size=(511, 24), encoding="utf-8")
            chan = _Channel(t, conn, process)
            first = await chan.read_until(FIRST_PROMPT, "(login)")
            prompt = first.replace("\r", "\n").rstrip().rsplit("\n", 1)[-1].strip()
            chan.set_host(prompt[:-1])
            if prompt.endswith(">"):
                await self._enable(chan)
            await chan.send_all(PREPARE.get(self.platform.name, ("terminal length 0",)))
        except BaseException:
            conn.abort()
            raise
        return chan

    async def _enable(self, chan: _Channel) -> None:
        t = self.target
        asked = await chan.send("enable", re.compile(rf"{PASSWORD_PROMPT.pattern}|{chan.prompt.pattern}"))
        answer = asked
        if PASSWORD_PROMPT.search(asked):
            answer = await chan.send(t.secret or "")
        if not answer.rstrip().endswith("#"):
            reason = _first_failure(self.platform, answer) or _first_line(_strip_echo(answer, ""))
            raise AuthError(f"{t.name}: could not enter privileged mode: {reason}", device=t.name)

    def _wrap(self, exc: BaseException, command: str) -> DeviceError:
        name = self.target.name
        if isinstance(exc, TimeoutError):
            return DeviceTimeout(
                f"{name}: {command!r} got no answer within {self.target.timeout_s:g} s",
                device=name,
                command=command,
            )
        return ConnectError(
            f"{name}: connection lost during {command!r}: {exc}", device=name, command=command
        )

    async def _guard(self, coro: Coroutine[Any, Any, T], command: str) -> T:
        try:
            return await coro
        except DeviceError:
            raise
        except (TimeoutError, OSError, EOFError, asyncssh.Error) as exc:
            # Inside a config batch, name the very line the device stopped answering on.
            raise self._wrap(exc, self._sending or command) from exc
        finally:
            self._sending = None

    # -- Session protocol -------------------------------------------------------------
    def run(self, command: str) -> CommandResult:
        return LOOP.run(self._guard(self._run(command), command))

    async def _run(self, command: str) -> CommandResult:
        started = time.time()
        output = _strip_echo(await self._chan.send(command), command)
        failure = _first_failure(self.platform, output)
        if failure:
            name = self.target.name
            raise CommandRejected(f"{name}: {command!r} rejected: {failure}", device=name, command=command)
        return CommandResult(self.target.name, command, output, True, started, time.time() - started)

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        return self._push(commands, config_mode_command=None)

    def read_state(self) -> str:
        return self.platform.normalise_state(self.run(self.platform.state_command).output)

    def close(self) -> None:
        """Send the disconnect and drop the connection; do not wait for the device's answer."""
        with contextlib.suppress(Exception):
            LOOP.run(self._close())

    async def _close(self) -> None:
        self._chan.conn.close()

    # -- internals --------------------------------------------------------------------
    def _push(self, commands: Sequence[str], *, config_mode_command: str | None) -> list[CommandResult]:
        config = [c for c in commands if not c.startswith(EXEC_PREFIX)]
        execs = [c[len(EXEC_PREFIX) :] for c in commands if c.startswith(EXEC_PREFIX)]
        results: list[CommandResult] = []
        if config:
            what = config[0] if len(config) == 1 else f"{config[0]} … ({len(config)} lines)"
            results.append(LOOP.run(self._guard(self._send_config(config, config_mode_command), what)))
        for command in execs:
            results.append(self.run(command))
        return results

    async def _send_config(self, config: list[str], config_mode_command: str | None) -> CommandResult:
        started = time.time()
        name = self.target.name
        chan = self._chan
        enter = config_mode_command or "configure terminal"
        self._sending = enter
        answer = await chan.send(enter)
        outputs = [answer]
        if not _in_config_mode(answer):
            refused = _first_failure(self.platform, answer) or _first_line(_strip_echo(answer, enter))
            raise CommandRejected(f"{name}: {enter!r} rejected: {refused}", device=name, command=enter)
        for line in config:
            self._sending = line
            answer = await chan.send(line)
            outputs.append(answer)
            failure = _first_failure(self.platform, _strip_echo(answer, line))
            if failure:
                await self._leave_config_mode()
                raise CommandRejected(f"{name}: {line!r} rejected: {failure}", device=name, command=line)
        self._sending = "end"
        outputs.append(await chan.send("end"))
        output = "".join(outputs).replace("\r\n", "\n")
        return CommandResult(name, "\n".join(config), output, True, started, time.time() - started)

    async def _leave_config_mode(self) -> None:
        with contextlib.suppress(Exception):
            await self._chan.send("end")


class AsyncsshConfirmingSession(AsyncsshCliSession, RevertTimerConfirm):
    """A CLI session whose platform can revert by itself unless confirmed (IOS revert timer)."""

    def __init__(self, target: Target, platform: CliPlatform) -> None:
        self._init_revert_timer(platform)
        super().__init__(target, platform)


def _in_config_mode(answer: str) -> bool:
    last = answer.replace("\r", "\n").rstrip().rsplit("\n", 1)[-1]
    return "(config" in last and last.endswith("#")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no configuration mode"


def known_hosts_cache_clear() -> None:
    """Forget parsed known_hosts files (tests that rewrite one within a second)."""
    with _KNOWN_HOSTS_LOCK:
        _KNOWN_HOSTS.clear()
