"""Real OpenSSH jump hosts for tests: each an ``sshd`` on its own 127.0.0.x address and port,
its own host key and its own authorized client key, forwarding (``PermitOpen``) only to the
next hop or to the devices given. sshd runs in a private mount namespace (a tmpfs on /run for
its privilege-separation directory) and is stopped by its process group id."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


@dataclass
class JumpHost:
    name: str
    address: str
    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def key_file(self) -> Path:  # the client key this jump host accepts
        return self.dir / "client_key"

    @property
    def log(self) -> Path:
        return self.dir / "sshd.log"

    def known_hosts_line(self) -> str:
        kind, key = (self.dir / "host_key.pub").read_text().split()[:2]
        return f"[{self.address}]:{self.port} {kind} {key}\n"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # sshd and its per-connection children
            self.proc.wait(timeout=10)


def needs_sshd() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or not Path(SSHD).exists():
        pytest.skip("jump hosts need root, unshare and OpenSSH's sshd (scripts/netlab-deps.sh)")


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True)


def start_jump(name: str, address: str, where: Path, permit_open: Sequence[tuple[str, int]]) -> JumpHost:
    """An sshd jump host on ``address`` forwarding only to ``permit_open``; debug log in DIR/sshd.log
    (it records each direct-tcpip target)."""
    jump = JumpHost(name, address, free_port(address), where / name)
    jump.dir.mkdir(parents=True)
    _keygen(jump.dir / "host_key", f"jump-{name}")
    _keygen(jump.key_file, f"client-of-{name}")
    (jump.dir / "authorized_keys").write_text((jump.dir / "client_key.pub").read_text())
    config = jump.dir / "sshd_config"
    config.write_text("\n".join([
        f"ListenAddress {address}:{jump.port}",
        f"HostKey {jump.dir / 'host_key'}",
        f"PidFile {jump.dir / 'sshd.pid'}",
        f"AuthorizedKeysFile {jump.dir / 'authorized_keys'}",
        "PermitRootLogin prohibit-password", "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "UseDNS no",
        "AllowTcpForwarding local", "PermitTTY no", "ForceCommand /bin/false", "X11Forwarding no",
        "PermitOpen " + " ".join(f"{h}:{p}" for h, p in permit_open),
        "LogLevel DEBUG1", "MaxStartups 100:30:200", "MaxSessions 64", "",
    ]))
    script = (f"mount -t tmpfs -o mode=755 jump-run /run && mkdir -p /run/sshd"
              f" && exec {SSHD} -D -f {config} -E {jump.log}")
    jump.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                 start_new_session=True, stdin=subprocess.DEVNULL)
    _wait_listening(jump)
    return jump


def _wait_listening(jump: JumpHost, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert jump.proc is not None
        if jump.proc.poll() is not None:
            said = jump.log.read_text() if jump.log.exists() else ""
            raise AssertionError(f"sshd {jump.name} exited: {said}")
        try:
            socket.create_connection((jump.address, jump.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    jump.stop()
    raise AssertionError(f"sshd {jump.name} never listened on {jump.address}:{jump.port}")


def forwarded_to(jump: JumpHost) -> list[tuple[str, int]]:
    """Every forward the jump host opened (direct-tcpip channels connected), from its debug log."""
    found = []
    for line in jump.log.read_text(errors="replace").splitlines():
        if ": connected to " in line and line.startswith("debug1: channel "):
            host, _, port = line.split(": connected to ", 1)[1].split()[:3]
            found.append((host, int(port)))
    return found
