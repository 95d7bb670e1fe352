"""Start, stop and query the embedded lab process; ``python -m isolate.lab.process``.

``start_lab(state_dir, topology=..., devices=None, base_port=None) -> LabHandle``
spawns one background process (new session) serving every device of the
topology, waits until every port accepts, and returns a handle (a context
manager that stops the lab by pid). State dir files: ``lab.json`` (how the lab
was started), ``lab.pid``, ``lab.ready``, ``lab.log``, ``control.sock``,
``secrets.yml`` (0600), ``ssh_host_ed25519_key``, ``lab_key``/``lab_key.pub``
(the lab's authorized client key), ``known_hosts``, ``inventory.yml``,
``devices/<name>.json``, ``fortios_cert.pem``/``fortios_key.pem`` (the HTTPS certificate of
the lab's FortiGates, served by ``isolate.lab.fortios_http``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from isolate.errors import IsolateError, LabError
from isolate.lab.faults import Fault, control, fault_from_json
from isolate.paths import make_private_dir, process_alive, state_dir_from

if TYPE_CHECKING:  # the lab process's modules (asyncssh, the simulators) load where they serve:
    # a client of a running lab (status, fault, down) needs none of them
    import asyncssh

    from isolate.lab.fabric import Fabric
    from isolate.lab.server import Hosted
    from isolate.lab.topology import Lab, LabCredentials

# "1": build every IOS device's running configuration before the lab says it is ready (the
# benchmark: a client's first login must not pay for building a 600-line configuration)
BUILD_AT_START_ENV = "ISOLATE_LAB_BUILD_AT_START"
DEFAULT_BASE_PORT = 20001
MAX_PORT = 32767  # above this, ports collide with clients' ephemeral source ports
LAB_SUBDIR = "lab"
PORT_TAKEN = 75  # the lab process's exit status when a device port is in use


def default_lab_dir(option: Path | str | None = None) -> Path:
    """``--state-dir`` if given, else ``$ISOLATE_STATE_DIR/lab``, else ``~/.local/state/isolate/lab``."""
    if option is not None and str(option) != "":
        return Path(option).expanduser()
    return state_dir_from(None) / LAB_SUBDIR


@dataclass
class LabHandle:
    """A running lab. ``stop()`` (or leaving the ``with`` block) ends it by pid."""

    state_dir: Path
    pid: int
    base_port: int
    inventory: Path
    credentials: LabCredentials
    ports: dict[str, int]
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def port(self, device: str) -> int:
        return self.ports[device]

    def stop(self) -> None:
        stop_lab(self.state_dir, proc=self._proc)

    def __enter__(self) -> LabHandle:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# ---------------------------------------------------------------- ports


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the lab's listeners
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _range_free(base: int, count: int) -> bool:
    return base + count - 1 <= MAX_PORT and all(_port_free(base + i) for i in range(count))


def pick_base_port(count: int, prefer: int | None = None) -> int:
    """A base port with ``count`` free consecutive ports below 32768."""
    if prefer is not None and _range_free(prefer, count):
        return prefer
    rng = random.Random()
    for _ in range(50):
        base = rng.randrange(10000, MAX_PORT - count)
        if _range_free(base, count):
            return base
    raise LabError(f"no {count} free consecutive ports below {MAX_PORT + 1} on 127.0.0.1")


# ---------------------------------------------------------------- control


def _read_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / "lab.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def running_pid(state_dir: Path) -> int | None:
    pid = _read_pid(state_dir)
    if pid is None or not process_alive(pid, socket.gethostname()):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid
    return pid if b"isolate" in cmdline else None  # not a recycled pid of another program


def _lab_args(state_dir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((state_dir / "lab.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


def start_lab(state_dir: Path | str, topology: str | Path | None = "city", *,
              devices: int | None = None, base_port: int | None = None,
              faults: Sequence[tuple[str, Fault]] = (), prefer_port: int | None = None,
              timeout_s: float = 180.0, time_scale: float | None = None,
              persist: str = "on-change") -> LabHandle:
    """Start a lab in the background and wait until every device port accepts.

    ``time_scale`` (rehearsals and tests) makes the lab's device timers run that many times
    faster: IOS revert timers, Linux revert jobs, VPN clients reconnecting.

    ``persist``: ``on-change`` writes a changed device to ``devices/`` before its answer
    leaves (a lab killed at any instant comes back with every change a client saw);
    ``at-stop`` (the benchmark) keeps changes in memory until a graceful stop or
    :func:`flush_lab`: the lab shares the machine's cores with the client it measures, and a
    real switch writes nothing per configuration line."""
    from isolate.lab.inventory_out import ensure_secrets
    from isolate.lab.server import checked_persist, write_atomic
    from isolate.lab.topology import load_topology, resolve

    checked_persist(persist)  # before anything starts
    state = Path(state_dir).expanduser().resolve()
    make_private_dir(state)
    make_private_dir(state / "devices")
    pid = running_pid(state)
    if pid is not None:
        raise LabError(f"{state}: a lab is already running (pid {pid}); "
                       "run `isolate lab down` first")
    path = resolve(topology).resolve()
    lab = load_topology(path, devices=devices)
    given = base_port
    port = 0
    for attempt in range(3):
        port = _choose_base_port(state, str(path), devices, len(lab.devices), given,
                                 prefer_port if attempt == 0 else None)
        args = {"topology": str(path), "devices": devices, "base_port": port,
                "faults": [[name, f.to_json()] for name, f in faults], "persist": persist}
        write_atomic(state / "lab.json", json.dumps(args, indent=2).encode())
        proc = _spawn(state, time_scale)
        try:
            _wait_ready(state, proc, timeout_s)
            break
        except LabError:
            # Another process took a port between our probe and the lab's bind: new range.
            if given is not None or attempt == 2 or proc.returncode != PORT_TAKEN:
                raise
    ports = {d.name: port + d.index for d in lab.hosted()}
    _wait_ports(ports.values(), timeout_s)
    return LabHandle(state, proc.pid, port, state / "inventory.yml",
                     ensure_secrets(state), ports, proc)


def _lab_env(time_scale: float | None) -> dict[str, str]:
    from isolate.lab.ios.device import TIME_SCALE_ENV

    env = dict(os.environ)
    if time_scale is not None:
        env[TIME_SCALE_ENV] = f"{time_scale:g}"
    return env


def _spawn(state: Path, time_scale: float | None = None) -> subprocess.Popen[bytes]:
    for stale in ("lab.ready", "lab.pid"):
        with contextlib.suppress(FileNotFoundError):
            (state / stale).unlink()
    log = open(state / "lab.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "isolate.lab.process", "serve", "--state-dir", str(state)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            cwd=str(state), env=_lab_env(time_scale),
        )
    finally:
        log.close()


def _choose_base_port(state: Path, topology: str, devices: int | None, count: int,
                      base_port: int | None, prefer: int | None) -> int:
    """The given port (checked), else the previous run's (same topology), else a free one."""
    if base_port is not None:
        if base_port < 1024 or base_port + count - 1 > MAX_PORT:
            raise LabError(f"--base-port {base_port}: the {count} ports must lie in "
                           f"1024..{MAX_PORT}")
        return base_port
    previous = _lab_args(state)
    if (previous.get("topology") == topology and previous.get("devices") == devices
            and _range_free(int(previous.get("base_port", 0)), count)):
        return int(previous["base_port"])
    return pick_base_port(count, prefer)


def _wait_ready(state: Path, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    ready = state / "lab.ready"
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip() == str(proc.pid):
            return
        if proc.poll() is not None:
            raise LabError(f"lab failed to start: {_last_log_line(state)}")
        time.sleep(0.02)
    stop_lab(state, proc=proc)
    raise LabError(f"lab did not become ready in {timeout_s:.0f}s (see {state / 'lab.log'})")


def _wait_ports(ports: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise LabError(f"127.0.0.1:{port} does not accept connections") from None
                time.sleep(0.02)


def _last_log_line(state: Path) -> str:
    try:
        lines = (state / "lab.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output (see lab.log)"


def stop_lab(state_dir: Path | str, *, proc: subprocess.Popen[bytes] | None = None,
             timeout_s: float = 15.0) -> bool:
    """Stop the lab of ``state_dir`` by its pid; True if one was running."""
    state = Path(state_dir).expanduser()
    pid = proc.pid if proc is not None and proc.poll() is None else running_pid(state)
    was_running = pid is not None
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, proc, timeout_s):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, proc, 5.0)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)
    for name in ("lab.pid", "lab.ready", "control.sock"):
        with contextlib.suppress(FileNotFoundError):
            (state / name).unlink()
    return was_running


def _wait_gone(pid: int, proc: subprocess.Popen[bytes] | None, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return True
        elif not process_alive(pid, socket.gethostname()):
            return True
        time.sleep(0.02)
    return False


def lab_status(state_dir: Path | str) -> dict[str, Any] | None:
    """The running lab's status (pid, devices with port, kind, sessions, faults) or None."""
    state = Path(state_dir).expanduser()
    if running_pid(state) is None:
        return None
    return control(state, {"op": "status"})


def move_host(state_dir: Path | str, host: str, device: str, interface: str
              ) -> dict[str, Any]:
    """Unplug ``host`` and plug it into ``device`` ``interface`` in a running lab."""
    return control(Path(state_dir).expanduser(), {"op": "move-host", "host": host,
                                                  "device": device, "interface": interface})


def advance_clock(state_dir: Path | str, seconds: float) -> dict[str, Any]:
    """Fire, now, every device timer of a running lab that is due within ``seconds``
    (revert timers and jobs): tests wait past a window without sleeping."""
    return control(Path(state_dir).expanduser(), {"op": "advance", "seconds": seconds})


def flush_lab(state_dir: Path | str) -> dict[str, Any]:
    """Write every device a running lab changed and has not persisted yet (a lab started with
    ``persist="at-stop"``; a no-op for any other lab, which has written them already)."""
    return control(Path(state_dir).expanduser(), {"op": "flush"})


def set_fault(state_dir: Path | str, device: str, fault: Fault) -> dict[str, Any]:
    """Set (or clear) a fault on one device of a running lab."""
    return control(Path(state_dir).expanduser(), {"op": "fault", "device": device,
                                                  "fault": fault.to_json()})


# ---------------------------------------------------------------- the lab process


def _key(path: Path, kind: str) -> asyncssh.SSHKey:
    import asyncssh

    from isolate.lab.server import write_atomic

    if path.exists():
        return asyncssh.read_private_key(str(path))
    options = {"key_size": 2048} if kind == "ssh-rsa" else {}
    key = asyncssh.generate_private_key(kind, comment=f"isolate-lab-{path.name}", **options)
    write_atomic(path, key.export_private_key())
    return key


def _keys(state: Path) -> tuple[asyncssh.SSHKey, asyncssh.SSHKey]:
    from isolate.lab.server import write_atomic

    host, client = _key(state / "ssh_host_ed25519_key", "ssh-ed25519"), _key(
        state / "lab_key", "ssh-ed25519")
    write_atomic(state / "lab_key.pub", client.export_public_key(), mode=0o644)
    return host, client


def ensure_credentials(state: Path) -> None:
    """The lab's secrets, host key and client key in ``state``, made now if missing (what a
    lab makes when it starts; labs that share one credential set copy them from here)."""
    from isolate.lab.inventory_out import ensure_secrets

    make_private_dir(state)
    ensure_secrets(state)
    _keys(state)


def _key_line(key: asyncssh.SSHKey) -> str:
    kind, data = key.export_public_key().decode().split()[:2]
    return f"{kind} {data}"


def build_hosted(state: Path, lab: Lab, creds: LabCredentials, base_port: int) -> list[Hosted]:
    from isolate.lab.server import Hosted
    from isolate.lab.topology import load_snapshot_device, make_device

    hosted: list[Hosted] = []
    for dev in lab.hosted():
        snap = state / "devices" / f"{dev.name}.json"
        device = None
        if snap.exists():
            try:
                data = json.loads(snap.read_text())
            except (OSError, ValueError) as err:
                raise LabError(f"{snap}: unreadable device snapshot: {err}") from None
            if isinstance(data, dict) and data.get("kind", dev.kind) == dev.kind:
                try:
                    device = load_snapshot_device(dev.kind, dev.name, data)
                except (KeyError, TypeError, ValueError) as err:
                    raise LabError(f"{snap}: bad {dev.kind} snapshot: {err!r}") from None
        if device is None:
            device = make_device(dev, lab, creds)
        latency = lab.topology.latency
        entry = Hosted(dev.name, base_port + dev.index, device, creds.username, creds.password,
                       ssh=str(dev.options.get("ssh", "modern")), reply_s=latency.reply_ms / 1000,
                       per_kb_s=latency.per_kb_ms / 1000)
        for fault in dev.faults:
            entry.faults.set(fault)
        hosted.append(entry)
    return hosted


def wire(state: Path, lab: Lab, hosted: list[Hosted]) -> Fabric:
    """The lab's wiring, with the host moves kept in the state dir, shared by its switches."""
    from isolate.lab.fabric import load_moves
    from isolate.lab.ios import IosDevice
    from isolate.lab.junos import JunosDevice
    from isolate.lab.linux import LinuxDevice

    fabric = lab.fabric()
    fabric.apply_moves(load_moves(state))
    for entry in hosted:
        if isinstance(entry.device, IosDevice):
            entry.device.fabric = fabric
            fabric.attach(entry.name, entry.device)
        elif isinstance(entry.device, LinuxDevice):
            entry.device.fabric = fabric  # its neighbour table (ip neigh)
        elif isinstance(entry.device, JunosDevice):
            entry.device.fabric = fabric  # its ARP table (show arp)
    return fabric


async def _serve(state: Path) -> None:
    from isolate.lab.fortios import FortiGateDevice
    from isolate.lab.fortios_http import HttpsDevices, ensure_certificate, server_context
    from isolate.lab.inventory_out import ensure_secrets, write_lab_files
    from isolate.lab.ios import IosDevice
    from isolate.lab.server import LabServer, write_atomic
    from isolate.lab.ssh_profiles import needs_rsa
    from isolate.lab.topology import DEVICE_KINDS, load_topology

    args = _lab_args(state)
    lab = load_topology(args["topology"], devices=args.get("devices"))
    base_port = int(args["base_port"])
    creds = ensure_secrets(state)
    host_key, client_key = _keys(state)
    hosted = build_hosted(state, lab, creds, base_port)
    if os.environ.get(BUILD_AT_START_ENV) == "1":
        for entry in hosted:
            if isinstance(entry.device, IosDevice):
                _ = entry.device.config
    by_name = {h.name: h for h in hosted}
    for name, data in args.get("faults", []):
        if name not in by_name:
            raise LabError(f"--fault {name}: no such device in the lab")
        by_name[name].faults.set(fault_from_json(data))
    fabric = wire(state, lab, hosted)
    legacy = {h.name for h in hosted if needs_rsa(h.ssh)}
    rsa_key = _key(state / "ssh_host_rsa_key", "ssh-rsa") if legacy else None
    cert, key, tls_fingerprint = ensure_certificate(state)
    write_lab_files(state, lab, base_port=base_port, host_key_line=_key_line(host_key),
                    rsa_key_line=_key_line(rsa_key) if rsa_key else "", rsa_devices=legacy,
                    tls_fingerprint=tls_fingerprint)
    server = LabServer(hosted, host_key=host_key, authorized=[client_key], state_dir=state,
                       fabric=fabric, rsa_key=rsa_key, persist=str(args.get("persist") or "on-change"))
    await server.start()
    https = HttpsDevices()
    context = server_context(cert, key)
    for entry in hosted:
        if isinstance(entry.device, FortiGateDevice):
            await https.add(entry.device, entry.port, creds.token, context,
                            functools.partial(server.persist, entry), entry.faults)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    write_atomic(state / "lab.pid", str(os.getpid()).encode(), mode=0o644)
    write_atomic(state / "lab.ready", str(os.getpid()).encode(), mode=0o644)
    missing = [d.name for d in lab.devices if DEVICE_KINDS.get(d.kind) is None]
    print(f"lab {lab.name}: {len(hosted)} devices on 127.0.0.1:{base_port}+"
          + (f" (kinds not available, not served: {', '.join(missing)})" if missing else ""),
          flush=True)
    await stop.wait()
    await https.stop()
    await server.stop()
    for name in ("lab.ready", "lab.pid"):
        with contextlib.suppress(FileNotFoundError):
            (state / name).unlink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m isolate.lab.process")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--state-dir", required=True, type=Path)
    ns = parser.parse_args(argv)
    try:
        asyncio.run(_serve(ns.state_dir.resolve()))
    except IsolateError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return int(err.exit_code)
    except OSError as err:  # a device port is taken
        print(f"error: cannot listen: {err}", file=sys.stderr, flush=True)
        return PORT_TAKEN
    return 0


if __name__ == "__main__":
    sys.exit(main())


def load_lab(state_dir: Path | str) -> tuple[Lab, dict[str, Any]]:
    """The lab of ``state_dir`` as last persisted: its topology and every device built from
    the topology, overlaid with ``devices/<name>.json`` snapshots (for ``isolate lab flows``
    and other readers in another process than the lab's)."""
    from isolate.lab.inventory_out import ensure_secrets
    from isolate.lab.topology import load_topology

    state = Path(state_dir).expanduser()
    args = _lab_args(state)
    if not args:
        raise LabError(f"{state}: no lab here (no lab.json); run `isolate lab up` first")
    lab = load_topology(args["topology"], devices=args.get("devices"))
    hosted = build_hosted(state, lab, ensure_secrets(state), int(args["base_port"]))
    wire(state, lab, hosted)
    return lab, {h.name: h.device for h in hosted}


def serve_foreground(state_dir: Path | str, topology: str | Path | None = "city", *,
                     devices: int | None = None, base_port: int | None = None,
                     faults: Sequence[tuple[str, Fault]] = ()) -> None:
    """Run the lab in this process until SIGTERM/SIGINT (``isolate lab up --foreground``)."""
    from isolate.lab.server import write_atomic
    from isolate.lab.topology import load_topology, resolve

    state = Path(state_dir).expanduser().resolve()
    make_private_dir(state)
    make_private_dir(state / "devices")
    if running_pid(state) is not None:
        raise LabError(f"{state}: a lab is already running; run `isolate lab down` first")
    path = resolve(topology).resolve()
    lab = load_topology(path, devices=devices)
    base_port = _choose_base_port(state, str(path), devices, len(lab.devices), base_port,
                                  DEFAULT_BASE_PORT)
    args = {"topology": str(path), "devices": devices, "base_port": base_port,
            "faults": [[name, f.to_json()] for name, f in faults]}
    write_atomic(state / "lab.json", json.dumps(args, indent=2).encode())
    asyncio.run(_serve(state))
