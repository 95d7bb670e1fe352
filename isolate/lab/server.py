"""The lab's SSH server: one asyncio process, one 127.0.0.1 port per simulated device.

The server owns sockets, authentication (per-device username/password and the
lab's authorized public key), the PTY line discipline, faults and persistence; a
``SimDevice`` owns behaviour only.

PTY shells: the banner and first prompt are sent as soon as the shell opens;
typed characters are echoed (not after a ``Reply(echo_next=False)``: secrets);
``\\r``, ``\\n`` and ``\\r\\n`` are one Enter even when split across packets;
output uses ``\\r\\n`` and is written together with the next prompt. The lines of
one packet are answered in one write (the same bytes, in order), after their changes
are persisted.

Exec channels: accepted when the device kind overrides ``SimDevice.exec``. The
command runs at once with empty stdin, unless the device defines
``exec_reads_stdin(command) -> bool`` returning True for it; then stdin is read
to EOF first (as a real ``nft -f -`` would block on it). A None result from
``exec`` is answered as sshd answers an unknown command (exit status 127).

Persistence: when a command (or ``tick``) changes a device, its ``snapshot()`` is
written to ``STATE/devices/<name>.json`` (temp file + rename, mode 0600) before any
answer leaves for the client. A shell session persists once for all the lines it has
answered but not yet sent (one packet's, up to the next wait): a lab killed at any
instant and restarted shows every change whose answer a client has received.

A lab started with ``persist="at-stop"`` (the benchmark's, see ``isolate.lab.process``) keeps
changes in memory instead and writes each changed device once, on a graceful stop or a control
``flush``: a real switch spends nothing on a configuration line but the line, and the lab's
snapshot per answered packet was close to half the CPU a benchmark's lab spent, on the same two
cores as the client it measured. Such a lab killed with SIGKILL forgets what it was not asked
to flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from isolate.errors import LabError
from isolate.lab.device import Reply, SimDevice
from isolate.lab.fabric import Fabric, MoveError, save_moves
from isolate.lab.faults import AUTHZ_FAILED, DeviceFaults, fault_from_json, socket_path
from isolate.lab.ios import IosDevice, names
from isolate.lab.ios.cli import INVALID
from isolate.lab.ssh_profiles import needs_rsa, server_options

TICK_S = 0.5
PERSIST_MODES = ("on-change", "at-stop")
LISTEN_HOST = "127.0.0.1"


def checked_persist(mode: str) -> str:
    """``mode`` if it is a persistence mode (``PERSIST_MODES``), else a one-line LabError."""
    if mode not in PERSIST_MODES:
        raise LabError(f"persist: {mode!r} is not one of {', '.join(PERSIST_MODES)}")
    return mode


@dataclass
class Hosted:
    """One device as the server hosts it."""

    name: str
    port: int
    device: SimDevice
    username: str
    password: str
    faults: DeviceFaults = field(default_factory=DeviceFaults)
    sessions: int = 0
    ssh: str = "modern"  # SSH algorithm profile (isolate.lab.ssh_profiles)
    reply_s: float = 0.0  # latency: added to every reply on its way (topology ``latency``)
    per_kb_s: float = 0.0  # latency: spent per KiB of output before answering

    def output_cost(self, text: str) -> float:
        """Seconds the device spends producing ``text`` (``per_kb_s`` per KiB)."""
        return self.per_kb_s * len(text) / 1024 if self.per_kb_s else 0.0


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class LabServer:
    def __init__(self, hosted: list[Hosted], *, host_key: asyncssh.SSHKey,
                 authorized: list[asyncssh.SSHKey], state_dir: Path | None,
                 fabric: Fabric | None = None, rsa_key: asyncssh.SSHKey | None = None,
                 persist: str = "on-change") -> None:
        self.hosted = {h.name: h for h in hosted}
        self.persist_at_stop = checked_persist(persist) == "at-stop"
        self._unsaved: dict[str, Hosted] = {}  # at-stop: changed since the last flush
        self.fabric = fabric
        self.host_key = host_key
        self.rsa_key = rsa_key
        self.authorized = {k.public_data for k in authorized}
        self.state_dir = state_dir
        self._servers: list[asyncssh.SSHAcceptor] = []
        self._ticker: asyncio.Task[None] | None = None
        self._control: asyncio.AbstractServer | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        for hosted in self.hosted.values():
            if getattr(hosted.device, "listens", "ssh") != "ssh":
                continue  # served by its own listener (isolate.lab.process: HTTPS devices)
            server = await asyncssh.create_server(
                _factory(self, hosted), LISTEN_HOST, hosted.port,
                server_host_keys=[self._host_key(hosted)], line_editor=False, encoding=None,
                keepalive_interval=0, **server_options(hosted.ssh),
            )
            self._servers.append(server)
        if self.state_dir is not None:
            sock = self.state_dir / "control.sock"
            with contextlib.suppress(FileNotFoundError):
                sock.unlink()
            with socket_path(self.state_dir) as address:
                self._control = await asyncio.start_unix_server(self._on_control, path=address)
            os.chmod(sock, 0o600)
        self._ticker = asyncio.create_task(self._tick_loop())

    def _host_key(self, hosted: Hosted) -> asyncssh.SSHKey | asyncssh.SSHKeyPair:
        """ed25519, or for the legacy profile the RSA key signing ``ssh-rsa`` only."""
        if not (needs_rsa(hosted.ssh) and self.rsa_key is not None):
            return self.host_key
        pair = asyncssh.load_keypairs([self.rsa_key])[0]
        pair.host_key_algorithms = [b"ssh-rsa"]
        return pair

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for server in self._servers:
            server.close()
        self.flush()
        if self._control is not None:
            self._control.close()
            if self.state_dir is not None:
                with contextlib.suppress(FileNotFoundError):
                    (self.state_dir / "control.sock").unlink()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.tick_all()

    def tick_all(self, ahead_s: float = 0.0) -> None:
        """Fire device timers that are due (``ahead_s``: as if that much later)."""
        now = time.time() + ahead_s
        for hosted in self.hosted.values():
            if hosted.device.tick(now):
                self.persist(hosted)

    def persist(self, hosted: Hosted) -> None:
        """Write the device's snapshot now (``on-change``), or at the next flush (``at-stop``)."""
        if self.state_dir is None:
            return
        if self.persist_at_stop:
            self._unsaved[hosted.name] = hosted
            return
        self._write(hosted, self.state_dir)

    def flush(self) -> int:
        """Write every device changed since the last flush (``at-stop``); how many were written."""
        unsaved, self._unsaved = self._unsaved, {}
        if self.state_dir is not None:
            for hosted in unsaved.values():
                self._write(hosted, self.state_dir)
        return len(unsaved)

    @staticmethod
    def _write(hosted: Hosted, state_dir: Path) -> None:
        write_atomic(state_dir / "devices" / f"{hosted.name}.json", snapshot_json(hosted.device))

    # ------------------------------------------------------------ control socket

    async def _on_control(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline())
            reply = self.handle_control(request)
        except Exception as err:  # one bad request must not stop the lab
            reply = {"ok": False, "error": f"control: {type(err).__name__}: {err}"}
        writer.write(json.dumps(reply).encode() + b"\n")
        await writer.drain()
        writer.close()

    def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "status":
            return {"ok": True, "pid": os.getpid(), "devices": [
                {"name": h.name, "kind": h.device.kind, "port": h.port,
                 "sessions": h.sessions, "faults": h.faults.describe()}
                for h in self.hosted.values()]}
        if op == "fault":
            hosted = self.hosted.get(str(request.get("device")))
            if hosted is None:
                return {"ok": False, "error": f"fault: no device {request.get('device')!r}"}
            hosted.faults.set(fault_from_json(request["fault"]))
            return {"ok": True, "faults": hosted.faults.describe()}
        if op == "flush":
            return {"ok": True, "written": self.flush()}
        if op == "advance":
            # The lab's clock control: fire every device timer due within `seconds` from now
            # (IOS revert timers, Linux revert jobs) at once, as if that time had passed.
            self.tick_all(float(request.get("seconds", 0)))
            return {"ok": True}
        if op == "move-host":
            return self.move_host(str(request.get("host")), str(request.get("device")),
                                  str(request.get("interface")))
        return {"ok": False, "error": f"control: unknown op {op!r}"}

    def move_host(self, host: str, device: str, interface: str) -> dict[str, Any]:
        """Unplug a host and plug it into another switch port (the lab's "host moved")."""
        if self.fabric is None:
            return {"ok": False, "error": "move-host: this lab has no wiring model"}
        target = self.hosted.get(device)
        try:
            port = names.normalise(interface)
        except names.BadInterface:
            return {"ok": False, "error": f"move-host: {interface!r} is not an interface name"}
        if target is None or not isinstance(target.device, IosDevice):
            return {"ok": False, "error": f"move-host: no switch {device!r} in the lab"}
        new = target.device.interface(port)
        if new is None or names.is_virtual(port):
            return {"ok": False, "error": f"move-host: {device} has no port {interface}"}
        try:
            old_switch, old_port = self.fabric.move(host, device, port)
        except MoveError as err:
            return {"ok": False, "error": str(err)}
        old = self.hosted.get(old_switch)
        if old is not None and isinstance(old.device, IosDevice):
            left = old.device.interface(old_port)
            if left is not None and old_port not in self.fabric.occupied(old_switch):
                left.connected = False
                old.device.touch()
                self.persist(old)
        new.connected = True
        target.device.touch()
        self.persist(target)
        if self.state_dir is not None:
            save_moves(self.state_dir, self.fabric)
        vlan = self.fabric.edge_vlan(self.fabric.hosts[host])
        return {"ok": True, "host": host, "from": [old_switch, old_port], "to": [device, port],
                "vlan": vlan}


def snapshot_json(device: SimDevice) -> bytes:
    """``json.dumps(device.snapshot(), sort_keys=True)``, from the device's own encoder when
    it has one that reuses what did not change (IosDevice.snapshot_json: the same bytes)."""
    encode = getattr(device, "snapshot_json", None)
    if callable(encode):
        return bytes(encode())
    return json.dumps(device.snapshot(), sort_keys=True).encode()


def _factory(lab: LabServer, hosted: Hosted) -> Callable[[], asyncssh.SSHServer]:
    return lambda: _Server(lab, hosted)


class _Server(asyncssh.SSHServer):
    def __init__(self, lab: LabServer, hosted: Hosted) -> None:
        self.lab = lab
        self.hosted = hosted
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        hosted = self.hosted
        if hosted.faults.auth_fails():
            return False
        return username == hosted.username and password == hosted.password

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self.hosted.faults.auth_fails() or username != self.hosted.username:
            return False
        return key.public_data in self.lab.authorized

    def session_requested(self) -> asyncssh.SSHServerSession[bytes]:
        return _Session(self.lab, self.hosted)


class _Session(asyncssh.SSHServerSession[bytes]):
    def __init__(self, lab: LabServer, hosted: Hosted) -> None:
        self.lab = lab
        self.hosted = hosted
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.kind = ""
        self.command = ""
        self.stdin = bytearray()
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.line = ""
        self.out: list[str] = []  # answered, not yet written (see _flush)
        self.unsaved = False  # the device changed since it was last persisted by this session
        self.echo = True
        self.skip_lf = False
        self.dead = False
        # a line the device hung on: as on a real device, nothing typed after it is read (nor
        # echoed, nor run) — the session is stuck there, typed-ahead lines included
        self.hung = False
        self.netconf: Any = None  # a NETCONF subsystem channel (Junos)

    # ------------------------------------------------------------ asyncssh callbacks

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan
        self.hosted.sessions += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.hosted.sessions -= 1
        self.dead = True
        if self.netconf is not None:
            self.netconf.lost()
            if self.netconf.changed:
                self.lab.persist(self.hosted)
        if self.task is not None:
            self.task.cancel()

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        return True

    def shell_requested(self) -> bool:
        self.kind = "shell"
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        """NETCONF over SSH (RFC 6242) on devices that speak it (``open_netconf``)."""
        if subsystem != "netconf" or not hasattr(self.hosted.device, "open_netconf"):
            return False
        self.kind = "netconf"
        return True

    def exec_requested(self, command: str) -> bool:
        if type(self.hosted.device).exec is SimDevice.exec:
            return False
        self.kind, self.command = "exec", command
        return True

    def session_started(self) -> None:
        if self.kind == "shell":
            self.task = asyncio.create_task(self._shell())
        elif self.kind == "netconf":
            open_netconf = getattr(self.hosted.device, "open_netconf")  # noqa: B009
            self.netconf = open_netconf(self.chan.get_extra_info("username") if self.chan else "")
            self._send(self.netconf.hello())
            self.task = asyncio.create_task(self._netconf_loop())
        elif self.kind == "exec" and not self._reads_stdin():
            self.task = asyncio.create_task(self._exec(""))

    def data_received(self, data: bytes, datatype: int | None) -> None:
        if self.kind == "netconf":
            self.queue.put_nowait(data)
            return
        if self.kind == "shell":
            self.queue.put_nowait(data)
        else:
            self.stdin += data

    def eof_received(self) -> bool:
        if self.kind == "exec" and self.task is None:
            stdin = self.stdin.decode("utf-8", "replace")
            self.task = asyncio.create_task(self._exec(stdin))
        return True

    # ------------------------------------------------------------ netconf

    async def _netconf_loop(self) -> None:
        """Client bytes in order; a ``slow`` fault delays each chunk as it would a command."""
        while True:
            data = await self.queue.get()
            if data is None or self.dead:
                return
            delay = self.hosted.faults.delay()
            if delay:
                await asyncio.sleep(delay)
            self._netconf(data)

    def _netconf(self, data: bytes) -> None:
        hosted = self.hosted
        if hosted.device.tick(time.time()):
            self.lab.persist(hosted)
        try:
            out = self.netconf.feed(data)
        except Exception as err:  # a simulator bug must not leave the client hanging
            print(f"{hosted.name}: NETCONF simulator error: {err!r}", file=sys.stderr, flush=True)
            assert self.chan is not None
            self.chan.get_connection().abort()
            return
        if self.netconf.changed:
            self.netconf.changed = False
            self.lab.persist(hosted)
        self._send(out)
        if self.netconf.closed and self.chan is not None:
            self.chan.exit(0)

    def _send(self, data: bytes) -> None:
        if data and self.chan is not None and not self.dead:
            self.chan.write(data)

    # ------------------------------------------------------------ exec

    def _reads_stdin(self) -> bool:
        hook = getattr(self.hosted.device, "exec_reads_stdin", None)
        return bool(hook(self.command)) if callable(hook) else False

    async def _exec(self, stdin: str) -> None:
        assert self.chan is not None
        hosted = self.hosted
        action = hosted.faults.on_command(self.command)
        if action in ("hang", "stuck"):
            return
        if action == "hold":
            await hosted.faults.held()
            if self.dead:
                return
        if action == "drop":
            self.chan.get_connection().abort()
            return
        if hosted.faults.delay():
            await asyncio.sleep(hosted.faults.delay())
        if action == "reject":
            self.chan.write(f"{INVALID}\n".encode())
            self.chan.exit(1)
            return
        if action == "deny":
            self.chan.write(f"{AUTHZ_FAILED}\n".encode())
            self.chan.exit(1)
            return
        hosted.device.tick(time.time())
        result = hosted.device.exec(self.chan.get_extra_info("username"), self.command, stdin)
        if hosted.reply_s or hosted.per_kb_s:  # one reply: its round trip, then its output
            await asyncio.sleep(hosted.reply_s + hosted.output_cost(result.stdout if result else ""))
        if result is None:
            self.chan.write_stderr(f"sh: 1: {self.command.split()[0]}: not found\n".encode())
            self.chan.exit(127)
            return
        if result.changed:
            self.lab.persist(hosted)
        self.chan.write(result.stdout.encode())
        if result.stderr:
            self.chan.write_stderr(result.stderr.encode())
        self.chan.exit(result.exit_status)

    # ------------------------------------------------------------ shell

    async def _shell(self) -> None:
        assert self.chan is not None
        shell = self.hosted.device.open_shell(self.chan.get_extra_info("username"))
        self._write(_crlf(shell.banner()) + shell.prompt())
        self._flush()
        while True:
            data = await self.queue.get()
            if data is None or self.dead:
                return
            if not await self._feed(shell, data.decode("utf-8", "replace")):
                return

    async def _feed(self, shell: Any, text: str) -> bool:
        echo: list[str] = []
        for char in text:
            if self.hung:
                return True
            if self.skip_lf and char == "\n":
                self.skip_lf = False
                continue
            self.skip_lf = char == "\r"
            if char in "\r\n":
                pending, echo = "".join(echo), []
                if not await self._enter(shell, pending):
                    return False
            elif char in "\x7f\x08":
                if self.line:
                    self.line = self.line[:-1]
                    if self.echo:
                        echo.append("\b \b")
            elif char == "\x03":
                self.line = ""
                echo.append("^C\r\n" + shell.prompt())
            elif char >= " " or char == "\t":
                self.line += char
                if self.echo:
                    echo.append(char)
        if echo:
            self._write("".join(echo))
        self._flush()
        return True

    async def _enter(self, shell: Any, echoed: str) -> bool:
        hosted = self.hosted
        line, self.line = self.line, ""
        action = hosted.faults.on_command(line)
        if action in ("hang", "stuck"):
            self.hung = True
            if action == "stuck":  # read (so echoed, as a terminal does) and never finished
                self._write(echoed + "\r\n")
                self._flush()
            return True
        if action == "drop":
            self._write(echoed + "\r\n")
            self._flush()
            assert self.chan is not None
            self.chan.get_connection().abort()
            return False
        delay = hosted.faults.delay()
        if delay:
            if echoed:
                self._write(echoed)
                echoed = ""
            self._flush()
            await asyncio.sleep(delay)
        if action == "reject":
            caret = " " * len(shell.prompt()) + "^"
            self._write(f"{echoed}\r\n{caret}\r\n{INVALID}\r\n{shell.prompt()}")
            return True
        if action == "deny":
            self._write(f"{echoed}\r\n{AUTHZ_FAILED}\r\n{shell.prompt()}")
            return True
        if action == "hold":  # answered as usual once the fault is cleared
            self._flush()
            await hosted.faults.held()
            if self.dead:
                return False
        if hosted.device.tick(time.time()):
            self.unsaved = True
        try:
            reply = shell.feed(line)
        except Exception as err:  # a simulator bug must not leave the client hanging
            print(f"{hosted.name}: simulator error on {line!r}: {err!r}", file=sys.stderr,
                  flush=True)
            reply = Reply(output=f"% Simulator error: {type(err).__name__}\n")
        if reply.changed:
            self.unsaved = True
        self.echo = reply.echo_next
        cost = hosted.output_cost(reply.output)
        if cost:
            self._flush()
            await asyncio.sleep(cost)
        if reply.close:
            self._write(echoed + "\r\n" + _crlf(reply.output))
            self._flush()
            self._later(self._exit)
            return False
        self._write(echoed + "\r\n" + _crlf(reply.output) + shell.prompt())
        if cost:  # its output took time to produce: it leaves as soon as it is made
            self._flush()
        return True

    def _exit(self) -> None:
        if self.chan is not None:
            self.chan.exit(0)

    def _later(self, send: Callable[[], None]) -> None:
        """``send`` now, or after the lab's reply latency (in order: every reply waits as long)."""
        if self.hosted.reply_s:
            asyncio.get_running_loop().call_later(self.hosted.reply_s, send)
        else:
            send()

    def _write(self, text: str) -> None:
        """Queue ``text`` for the client; ``_flush`` sends it (before any wait, and once the
        packet's lines are answered). With a reply latency each answer is scheduled as it is
        made, as before: the loop runs it only after this packet's ``_flush`` has persisted."""
        if self.hosted.reply_s:
            data = text.encode()
            self._later(lambda: self._send(data))
        else:
            self.out.append(text)

    def _flush(self) -> None:
        """Persist the device if a queued answer acknowledges a change, then write the queue
        in one piece (the bytes, their order and their latency are those of separate writes)."""
        if self.unsaved:
            self.unsaved = False
            self.lab.persist(self.hosted)
        if self.out:
            data = "".join(self.out).encode()
            self.out = []
            self._later(lambda: self._send(data))


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")
