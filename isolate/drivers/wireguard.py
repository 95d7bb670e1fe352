"""WireGuard (``wg``), over paramiko exec channels.

State is ``wg show wg0 dump`` normalised to sorted lines, volatile counters dropped and
secrets redacted (the private key and every pre-shared key)::

    interface wg0 public-key=K listen-port=51820 fwmark=off private-key=(redacted)
    peer K user=alice preshared-key=(redacted) endpoint=100.64.2.10:51820
      allowed-ips=10.99.200.10/32 persistent-keepalive=25      (one line, wrapped here)

WireGuard has no user names: the peer-name file on the device (``$WG_PEER_NAMES``,
else ``/etc/wireguard/<iface>.names``, lines ``<user> <public key>``) gives them.

``push`` accepts ``wg set`` commands only. ``peer @USER`` names a peer by user (resolved
on the device). A re-add ending with the flag ``with-captured-preshared-key`` (or written
``preshared-key /dev/stdin``) gets the peer's key from the raw dump this session
captured (held in memory, never returned or logged; the flag form carries no word a
secret scrubber would take for a key, so the command can be journaled); when a
peer is removed its pre-shared key is also stashed on the device (``/run/isolate``,
mode 0600), so a restore from another process (after a crash) can re-add it.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass

import paramiko

from isolate.drivers.base import CommandResult, Target
from isolate.drivers.ssh_exec import ExecOutput, connect_client, run_exec, sudo
from isolate.errors import CommandRejected, DeviceError

IFACE = "wg0"
REDACTED = "(redacted)"
STASH_DIR = "/run/isolate"
CAPTURED_PSK = "with-captured-preshared-key"
_KEY = r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]="
_IFACE = r"[A-Za-z0-9_.-]{1,15}"
_USER = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_REMOVE = re.compile(rf"wg set ({_IFACE}) peer ({_KEY}|@{_USER}) remove")
_ADD = re.compile(rf"wg set ({_IFACE}) peer ({_KEY})((?: [a-z-]+ [^ ]+)*)( {CAPTURED_PSK})?")
_OPTION_VALUES = {
    "preshared-key": re.compile(r"/dev/stdin"),
    "allowed-ips": re.compile(r"[0-9./,]{1,400}"),
    "endpoint": re.compile(r"[0-9.]{7,15}:[0-9]{1,5}"),
    "persistent-keepalive": re.compile(r"off|[0-9]{1,5}"),
}


@dataclass(frozen=True)
class Peer:
    public: str
    psk: str | None  # secret: held in memory only
    endpoint: str
    allowed_ips: str
    keepalive: str


def parse_dump(text: str) -> tuple[list[str], list[Peer]]:
    """The interface fields and the peers of ``wg show IFACE dump``."""
    lines = [line.split("\t") for line in text.splitlines() if line.strip()]
    if not lines or len(lines[0]) != 4:
        raise ValueError("not a 'wg show dump' output")
    peers = [
        Peer(f[0], None if f[1] == "(none)" else f[1], f[2], f[3], f[7]) for f in lines[1:] if len(f) == 8
    ]
    return lines[0], peers


def parse_names(text: str) -> dict[str, str]:
    """``{public key: user}`` from the peer-name file."""
    names: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            names[parts[1]] = parts[0]
    return names


def normalise(dump: str, names: dict[str, str], iface: str = IFACE) -> str:
    head, peers = parse_dump(dump)
    iface_line = f"interface {iface} public-key={head[1]} listen-port={head[2]} fwmark={head[3]}"
    lines = [f"{iface_line} private-key={REDACTED}"]
    for peer in sorted(peers, key=lambda p: p.public):
        allowed = ",".join(sorted(a for a in peer.allowed_ips.split(",") if a and a != "(none)")) or "none"
        psk = REDACTED if peer.psk else "(none)"
        lines.append(
            f"peer {peer.public} user={names.get(peer.public, '-')} preshared-key={psk} "
            f"endpoint={peer.endpoint} allowed-ips={allowed} persistent-keepalive={peer.keepalive}"
        )
    return "".join(f"{line}\n" for line in lines)


def peers_in_state(state: str) -> dict[str, dict[str, str]]:
    """``{public key: {user, preshared-key, endpoint, allowed-ips, persistent-keepalive}}``."""
    found: dict[str, dict[str, str]] = {}
    for line in state.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "peer":
            found[parts[1]] = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
    return found


def _stash_path(iface: str, key: str) -> str:
    return f"{STASH_DIR}/wg-{iface}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.psk"


class WireguardSession:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._client: paramiko.SSHClient = connect_client(target)
        self._psk: dict[str, str] = {}  # public key -> pre-shared key (secret, memory only)

    # ------------------------------------------------------------------ exec

    def _exec(self, command: str, *, stdin: str | None = None, shown: str | None = None) -> ExecOutput:
        out = run_exec(self._client, self.target, sudo(self.target, command), stdin=stdin)
        if out.exit_status != 0:
            label = shown or command
            first = (out.stderr or out.stdout).strip().splitlines()
            raise CommandRejected(
                f"{self.target.name}: {label!r} rejected: {first[0] if first else 'no error text'}",
                device=self.target.name,
                command=label,
            )
        return out

    def _names(self, iface: str) -> dict[str, str]:
        default = shlex.quote(f"/etc/wireguard/{iface}.names")
        out = self._exec(f'cat "${{WG_PEER_NAMES:-{default}}}" 2>/dev/null || true')
        return parse_names(out.stdout)

    def _dump(self, iface: str) -> str:
        dump = self._exec(f"wg show {shlex.quote(iface)} dump").stdout
        try:
            _, peers = parse_dump(dump)
        except ValueError as exc:
            raise DeviceError(
                f"{self.target.name}: wg show {iface} dump: {exc}", device=self.target.name
            ) from None
        self._psk.update({p.public: p.psk for p in peers if p.psk})
        return dump

    # --------------------------------------------------------------- protocol

    def run(self, command: str) -> CommandResult:
        started = time.time()
        out = self._exec(command)
        return CommandResult(self.target.name, command, out.stdout, started, out.duration_s)

    def read_state(self) -> str:
        try:
            return normalise(self._dump(IFACE), self._names(IFACE))
        except ValueError as exc:
            raise DeviceError(f"{self.target.name}: wg state: {exc}", device=self.target.name) from None

    def push(self, commands: Sequence[str]) -> list[CommandResult]:
        results = []
        for command in commands:
            started = time.time()
            output = self._push_one(command)
            results.append(
                CommandResult(self.target.name, command, output, started, time.time() - started)
            )
        return results

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ push

    def _refuse(self, command: str, why: str) -> CommandRejected:
        return CommandRejected(
            f"{self.target.name}: {command[:80]!r} refused: {why}", device=self.target.name, command=command
        )

    def _push_one(self, command: str) -> str:
        removal = _REMOVE.fullmatch(command)
        if removal:
            return self._remove(command, removal.group(1), removal.group(2))
        addition = _ADD.fullmatch(command)
        if addition:
            rest = addition.group(3) + (" preshared-key /dev/stdin" if addition.group(4) else "")
            return self._add(command, addition.group(1), addition.group(2), rest)
        raise self._refuse(command, "only 'wg set IFACE peer KEY remove' and peer re-adds are accepted")

    def _resolve(self, command: str, iface: str, peer: str) -> str:
        if not peer.startswith("@"):
            return peer
        for key, user in self._names(iface).items():
            if user == peer[1:]:
                return key
        raise self._refuse(command, f"no peer named {peer[1:]} in the peer-name file")

    def _remove(self, command: str, iface: str, peer: str) -> str:
        key = self._resolve(command, iface, peer)
        self._dump(iface)  # make sure this session holds the peer's pre-shared key
        psk = self._psk.get(key)
        if psk is not None:
            path = _stash_path(iface, key)
            self._exec(
                f"umask 077 && mkdir -p {STASH_DIR} && cat > {path}", stdin=psk + "\n", shown=f"stash {path}"
            )
        return self._exec(f"wg set {shlex.quote(iface)} peer {shlex.quote(key)} remove", shown=command).stdout

    def _add(self, command: str, iface: str, key: str, rest: str) -> str:
        words = rest.split()
        options = list(zip(words[::2], words[1::2], strict=True))
        for name, value in options:
            pattern = _OPTION_VALUES.get(name)
            if pattern is None or not pattern.fullmatch(value):
                raise self._refuse(command, f"option {name} {value[:40]!r} not allowed")
        argv = ["wg", "set", iface, "peer", key]
        stdin: str | None = None
        for name, value in options:
            if name == "preshared-key":
                stdin = self._psk.get(key)
                if stdin is None:  # another process removed it: use the device-side stash
                    argv += [name, _stash_path(iface, key)]
                    continue
                stdin += "\n"
            argv += [name, value]
        out = self._exec(" ".join(shlex.quote(a) for a in argv), stdin=stdin, shown=command).stdout
        self._exec(f"rm -f {_stash_path(iface, key)}")
        return out
