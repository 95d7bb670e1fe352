"""A real WireGuard VPN with wireguard-go (this kernel has no WireGuard module).

The gateway and every remote user run ``wireguard-go -f wg0`` inside their holder
(private ``/run``, so ``/run/wireguard/wg0.sock`` is theirs and ``wg`` in an SSH
session on the gateway finds it). Keys live under ``DIR/wg`` (mode 0600). The gateway
knows each peer's endpoint and keeps it alive, so a peer re-added after a cut
handshakes again at once (the gateway sends first).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from isolate.errors import LabError
from isolate.netlab import netns
from isolate.netlab.sshd import inside
from isolate.netlab.state import Ledger, Proc, spawn

IFACE = "wg0"
KEEPALIVE_S = 25
LISTEN_PORT = 51820  # remote users listen here too (the gateway knows their endpoint)


@dataclass(frozen=True)
class Keys:
    private: Path
    public: str
    psk: Path | None = None


@dataclass(frozen=True)
class Peer:
    keys: Keys
    allowed_ips: str
    endpoint: str


def _secret_file(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")


def make_keys(ledger: Ledger, name: str, *, psk: bool = False) -> Keys:
    folder = ledger.dir / "wg"
    folder.mkdir(mode=0o700, exist_ok=True)
    private = folder / f"{name}.key"
    if not private.exists():
        _secret_file(private, netns.run(["wg", "genkey"]).stdout.strip())
    public = netns.run(["wg", "pubkey"], stdin=private.read_text()).stdout.strip()
    shared: Path | None = None
    if psk:
        shared = folder / f"{name}.psk"
        if not shared.exists():
            _secret_file(shared, netns.run(["wg", "genpsk"]).stdout.strip())
    return Keys(private=private, public=public, psk=shared)


def start(ledger: Ledger, holder: Proc, name: str) -> Proc:
    argv = inside(holder, ["env", "WG_PROCESS_FOREGROUND=1", "LOG_LEVEL=error", "wireguard-go", "-f", IFACE])
    return spawn(ledger, f"wireguard-go-{name}", holder.ns, argv)


def wait_socket(holder: Proc, proc: Proc, *, timeout_s: float = 5.0) -> None:
    """Wait for the daemon's UAPI socket, seen through the holder's root."""
    sock = Path(f"/proc/{holder.pid}/root/run/wireguard/{IFACE}.sock")
    deadline = time.monotonic() + timeout_s
    while not sock.exists():
        if time.monotonic() > deadline:
            raise LabError(f"{proc.name}: {sock.name} did not appear (see logs/{proc.name}.log)")
        time.sleep(0.01)


def configure(holder: Proc, own: Keys, listen_port: int, peers: Sequence[Peer]) -> None:
    args = ["wg", "set", IFACE, "private-key", str(own.private), "listen-port", str(listen_port)]
    for peer in peers:
        args += ["peer", peer.keys.public, "allowed-ips", peer.allowed_ips, "endpoint", peer.endpoint]
        args += ["persistent-keepalive", str(KEEPALIVE_S)]
        if peer.keys.psk is not None:
            args += ["preshared-key", str(peer.keys.psk)]
    netns.run(inside(holder, args))
