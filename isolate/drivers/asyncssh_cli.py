"""The asyncssh channel for CLI sessions (``isolate.drivers.cli``): send a line, read to a prompt.

Every channel of the process shares one asyncio event loop that runs in a daemon thread, so
the executor's threads only wait on futures while a single thread does the SSH work: no
per-command sleeps, no per-connection reader thread, one connection per device. The session
logic (login, escalation, refusals, batches, confirm windows) is in ``cli.py``, shared with
the netmiko channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import asyncssh

from isolate.drivers.base import Target
from isolate.drivers.cli import Until
from isolate.drivers.hostkeys import changed_key_message, unknown_key_message
from isolate.drivers.jump import forward_refused, hop_error, hop_target
from isolate.drivers.ssh_algorithms import no_common_algorithm, probe_unmatched
from isolate.errors import AuthError, ConnectError, DeviceError, DeviceTimeout
from isolate.platforms.ssh import MODERN_CIPHERS

T = TypeVar("T")

READ_CHUNK = 65536
ENCRYPTION = MODERN_CIPHERS  # the default cipher choice (the benchmark's floor uses it too)
# A key first, then the password, as paramiko (netmiko, NAPALM) tries them: a password sent as
# such is one round trip; keyboard-interactive (asyncssh's default before the password) is two,
# the device's prompt and the answer. It stays the fallback for a device that offers only it.
PREFERRED_AUTH = ("publickey", "password", "keyboard-interactive")


# -- the shared event loop ---------------------------------------------------------------------


class _LoopThread:
    """One asyncio loop in a daemon thread, started on first use, shared by every session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # touched on the loop's thread only

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="isolate-asyncssh", daemon=True)
                thread.start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """``coro`` run on the loop, the calling thread waiting for its result. A plain lock
        the task releases when done, not ``run_coroutine_threadsafe``'s future (a Condition
        and chained callbacks): a session makes a dozen such hops."""
        loop = self.loop()
        done = threading.Lock()
        done.acquire()
        outcome: list[Any] = []

        async def task() -> None:
            try:
                outcome.append((True, await coro))
            except BaseException as exc:  # handed to the waiting thread, raised there
                outcome.append((False, exc))
            finally:
                done.release()

        def start() -> None:  # on the loop; the task is kept referenced until it ends
            running = loop.create_task(task())
            self._tasks.add(running)
            running.add_done_callback(self._tasks.discard)

        loop.call_soon_threadsafe(start)
        done.acquire()
        ok, value = outcome[0]
        if not ok:
            raise value
        result: T = value
        return result


LOOP = _LoopThread()
_KNOWN_HOSTS: dict[tuple[str, float], Any] = {}
_KNOWN_HOSTS_LOCK = threading.Lock()


def _known_hosts(target: Target) -> Any:
    """What the host key is checked against (the rule of isolate/drivers/hostkeys.py): the
    parsed known_hosts; with --insecure-host-keys, nothing for a device it does not list."""
    parsed = _parsed_known_hosts(target)
    if target.host_key_checking or _listed(parsed, target):
        return parsed
    return None


def _parsed_known_hosts(target: Target) -> Any:
    """Parsed known_hosts, cached per file and mtime (one parse for a thousand sessions)."""
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
    return _listed(_parsed_known_hosts(target), target)


def _listed(parsed: Any, target: Target) -> bool:
    trusted = parsed.match(target.host, target.host, target.port)
    return bool(trusted[0] or trusted[1])


class AsyncsshChannel:
    """The PTY shell of one asyncssh connection (the ``cli.Channel`` contract)."""

    def __init__(self, target: Target, conn: Any, process: Any) -> None:
        self.target = target
        self.conn = conn
        self.process = process
        self.buffer = ""
        self.hops: list[Any] = []  # jump-host connections, first hop first

    def send_line(self, line: str) -> None:
        LOOP.loop().call_soon_threadsafe(self.process.stdin.write, line + "\n")

    def read_to_prompt(self, prompt: Until) -> str:
        return LOOP.run(self._read(prompt))

    def exchange(self, line: str, prompt: Until) -> str:
        """Write ``line`` and read its answer in one hop to the event loop."""
        answers: list[str] = []
        self.exchange_all(line, [prompt], answers)
        return answers[0]

    def exchange_all(self, text: str, prompts: Sequence[Until], answers: list[str]) -> None:
        """Write ``text`` and read one answer per prompt, all in one hop to the event loop;
        each answer is appended to ``answers`` as soon as it is read (each within the timeout)."""
        LOOP.run(self._exchange_all(text, prompts, answers))

    async def _exchange_all(self, text: str, prompts: Sequence[Until], answers: list[str]) -> None:
        self._write(text)
        for prompt in prompts:
            answers.append(await self._read(prompt))

    def _write(self, text: str) -> None:
        try:
            self.process.stdin.write(text + "\n")
        except asyncssh.Error as exc:
            raise ConnectionError(str(exc)) from exc

    async def _read(self, prompt: Until) -> str:
        try:
            async with asyncio.timeout(self.target.timeout_s):  # one timer per answer, not per chunk
                return await self._read_until(prompt)
        except asyncssh.Error as exc:
            raise ConnectionError(str(exc)) from exc

    async def _read_until(self, pattern: Until) -> str:
        scan_from = 0
        while True:
            found = pattern.search(self.buffer, max(0, scan_from - 512))
            if found is not None:
                text, self.buffer = self.buffer[: found.end()], self.buffer[found.end() :]
                return text
            scan_from = len(self.buffer)
            chunk = await self.process.stdout.read(READ_CHUNK)
            if not chunk:
                raise EOFError(f"the device closed the session (after {self.buffer[-80:]!r})")
            self.buffer += chunk

    def close(self) -> None:
        """Send the disconnect and drop the connection; do not wait for the device's answer."""
        with contextlib.suppress(Exception):
            LOOP.loop().call_soon_threadsafe(self.conn.close)
            for hop in reversed(self.hops):
                LOOP.loop().call_soon_threadsafe(hop.close)


def open_channel(target: Target) -> AsyncsshChannel:
    """An SSH shell on ``target`` (through its jump hosts, if any); every failure becomes a
    one-line DeviceError (a hop's names the hop)."""
    return LOOP.run(_connect_via(target))


async def _connect_via(t: Target) -> AsyncsshChannel:
    """Each jump host in turn over the previous one's ``tunnel=``, then the device's shell."""
    hops: list[Any] = []
    try:
        for index, hop in enumerate(t.via):
            tunnel = hops[-1] if hops else None
            hop_t = hop_target(t, hop)
            try:
                hops.append(await _guard(hop_t, _open_connection(hop_t, tunnel), tunneled=tunnel is not None))
            except asyncssh.ChannelOpenError as exc:
                raise forward_refused(t, index - 1, hop.host, hop.port, exc.code, exc.reason) from exc
            except DeviceError as exc:
                raise hop_error(t, index, exc) from exc
        try:
            channel = await _guard(t, _connect(t, hops[-1] if hops else None), tunneled=bool(hops))
        except asyncssh.ChannelOpenError as exc:
            raise forward_refused(t, len(hops) - 1, t.host, t.port, exc.code, exc.reason) from exc
    except BaseException:
        for conn in reversed(hops):
            conn.close()
        raise
    channel.hops = hops
    return channel


async def _guard(t: Target, coro: Coroutine[Any, Any, T], *, tunneled: bool = False) -> T:
    """Await ``coro`` (a connection to ``t``) within ``t``'s timeout, errors said in one line.
    Through a tunnel, a refused forward (ChannelOpenError) is the previous hop's: re-raised."""
    try:
        return await asyncio.wait_for(coro, t.timeout_s)
    except DeviceError:
        raise
    except asyncssh.ChannelOpenError as exc:
        if tunneled:
            raise
        raise ConnectError(f"{t.name}: SSH error at {t.host}:{t.port}: {exc}", device=t.name) from exc
    except asyncssh.PermissionDenied as exc:
        raise AuthError(
            f"{t.name}: authentication failed for user {t.username!r} at {t.host}:{t.port}",
            device=t.name,
        ) from exc
    except asyncssh.HostKeyNotVerifiable as exc:
        if _host_key_listed(t):
            raise ConnectError(changed_key_message(t), device=t.name) from exc
        raise ConnectError(unknown_key_message(t), device=t.name) from exc
    except TimeoutError as exc:
        raise DeviceTimeout(
            f"{t.name}: no answer from {t.host}:{t.port} within {t.timeout_s:g} s", device=t.name
        ) from exc
    except asyncssh.ConnectionLost as exc:
        # the device hung up during the handshake: if it was over algorithms, its offer says so
        # (read directly; never around the jump hosts of a device reached through a tunnel)
        unmatched = None if tunneled else await asyncio.get_running_loop().run_in_executor(
            None, probe_unmatched, t
        )
        raise unmatched or ConnectError(
            f"{t.name}: SSH error at {t.host}:{t.port}: {exc}", device=t.name
        ) from exc
    except asyncssh.Error as exc:
        raise no_common_algorithm(t, str(exc)) or ConnectError(
            f"{t.name}: SSH error at {t.host}:{t.port}: {exc}", device=t.name
        ) from exc
    except (OSError, EOFError) as exc:
        raise ConnectError(f"{t.name}: cannot connect to {t.host}:{t.port}: {exc}", device=t.name) from exc


async def _open_connection(t: Target, tunnel: Any) -> Any:
    return await asyncssh.connect(
        t.host,
        t.port,
        tunnel=tunnel,
        username=t.username,
        password=t.password,
        client_keys=[str(t.key_file)] if t.key_file else None,
        agent_path=() if t.use_agent else None,
        known_hosts=_known_hosts(t),
        config=[],
        preferred_auth=PREFERRED_AUTH,
        connect_timeout=min(t.timeout_s, 15.0),
        login_timeout=min(t.timeout_s, 15.0),
        keepalive_interval=0,
        kex_algs=t.ssh.kex,
        encryption_algs=t.ssh.ciphers,
        server_host_key_algs=t.ssh.host_keys,
        mac_algs=t.ssh.macs,
    )


async def _connect(t: Target, tunnel: Any = None) -> AsyncsshChannel:
    conn = await _open_connection(t, tunnel)
    try:
        process = await conn.create_process(term_type="vt100", term_size=(511, 24), encoding="utf-8")
    except BaseException:
        conn.abort()
        raise
    return AsyncsshChannel(t, conn, process)


def known_hosts_cache_clear() -> None:
    """Forget parsed known_hosts files (tests that rewrite one within a second)."""
    with _KNOWN_HOSTS_LOCK:
        _KNOWN_HOSTS.clear()
