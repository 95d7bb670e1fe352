"""SSH algorithm sets on both transports (``isolate.platforms.ssh``), and one message when a
device and isolate have no algorithm in common.

asyncssh takes the lists as they are. paramiko ≥ 4 dropped the SHA-1 key exchanges and the
``ssh-rsa`` (SHA-1) signature that IOS 12.2/15 devices still need; ``transport_factory``
gives one paramiko ``Transport`` — and only the one of a device whose inventory allows them —
the SHA-1 variants of paramiko's own group-14 and group-exchange key exchanges and an RSA
key class that verifies ``ssh-rsa`` signatures. Nothing global is changed.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from hashlib import sha1
from typing import Any

import paramiko
from cryptography.hazmat.primitives import hashes
from paramiko.kex_gex import KexGexSHA256
from paramiko.kex_group14 import KexGroup14SHA256

from isolate.drivers.base import Target
from isolate.errors import ConnectError
from isolate.platforms.ssh import SshAlgorithms


class KexGroup14SHA1(KexGroup14SHA256):
    name = "diffie-hellman-group14-sha1"
    hash_algo = sha1


class KexGexSHA1(KexGexSHA256):
    name = "diffie-hellman-group-exchange-sha1"
    hash_algo = sha1


class LegacyRSAKey(paramiko.RSAKey):
    """An RSA key that also verifies ``ssh-rsa`` (SHA-1) signatures."""

    HASHES = {**paramiko.RSAKey.HASHES, "ssh-rsa": hashes.SHA1}  # type: ignore[misc]  # noqa: RUF012


_EXTRA_KEX: dict[str, type] = {"diffie-hellman-group14-sha1": KexGroup14SHA1,
                               "diffie-hellman-group-exchange-sha1": KexGexSHA1}  # fmt: skip


def transport_factory(algs: SshAlgorithms) -> Callable[..., paramiko.Transport]:
    """A ``transport_factory`` for ``SSHClient.connect``: a Transport offering exactly ``algs``
    (those paramiko can speak), the legacy ones included only when ``algs`` lists them."""

    def make(sock: socket.socket | Any, **kwargs: Any) -> paramiko.Transport:
        t = paramiko.Transport(sock, **kwargs)
        raw: Any = t  # paramiko's algorithm tables are private (and not in its stubs)
        base: Any = paramiko.Transport
        kex_info = {**base._kex_info, **_EXTRA_KEX}
        key_info = {**base._key_info, "ssh-rsa": LegacyRSAKey}
        raw._kex_info = kex_info
        raw._key_info = key_info
        raw._preferred_kex = tuple(a for a in algs.kex if a in kex_info)
        raw._preferred_ciphers = tuple(a for a in algs.ciphers if a in base._cipher_info)
        keys = tuple(a for a in algs.host_keys if a in key_info)
        if "ssh-rsa" in keys and not any(k.startswith("rsa-sha2-") for k in keys):
            # paramiko's known_hosts check needs an rsa-sha2 name beside ssh-rsa (same key)
            keys += ("rsa-sha2-512", "rsa-sha2-256")
        raw._preferred_keys = keys
        raw._preferred_macs = tuple(a for a in algs.macs if a in base._mac_info)
        return t

    return make


# What each library says when negotiation finds nothing in common.
_NO_COMMON = (
    (re.compile(r"no acceptable kex|matching key exchange", re.I), "key exchange algorithm"),
    (re.compile(r"no acceptable ciphers|matching encryption", re.I), "cipher"),
    (re.compile(r"no acceptable host key|matching (server )?host key", re.I), "host key algorithm"),
    (re.compile(r"no acceptable macs|matching mac", re.I), "MAC algorithm"),
)


def no_common_algorithm(target: Target, text: str) -> ConnectError | None:
    """One line when ``text`` (a library's error) says negotiation found nothing in common."""
    what = next((label for pattern, label in _NO_COMMON if pattern.search(text)), None)
    return None if what is None else _no_common(target, what)


def _no_common(t: Target, what: str) -> ConnectError:
    if t.ssh.legacy:
        return ConnectError(
            f"{t.name}: no SSH {what} in common with {t.host}:{t.port}, "
            "even with the legacy algorithms this device is allowed",
            device=t.name,
        )
    return ConnectError(
        f"{t.name}: no SSH {what} in common with {t.host}:{t.port}; an older device "
        "(IOS 12.2/15: CBC ciphers, SHA-1 key exchange, ssh-rsa) needs 'ssh: {legacy: true}' "
        "on this device in the inventory (a weaker channel)",
        device=t.name,
    )


# -- what the device offers, read from its KEXINIT (RFC 4253 §7.1) ------------------------------
#
# A device that finds nothing in common sends SSH_MSG_DISCONNECT and hangs up at once (IOS and
# OpenSSH both do). asyncssh handles the device's KEXINIT in a task, so the hang-up can reach it
# first and the only error left is "Connection lost". The device's offer is sent in clear before
# any key exchange, so reading it settles what was missing, whatever the race.

KEXINIT = 20
_MAX_PACKET = 35000  # RFC 4253 §6.1: the largest packet an implementation must accept
_LISTS = ("kex", "host_keys", "ciphers", "ciphers_sc", "macs", "macs_sc")
_LABELS = {"kex": "key exchange algorithm", "host_keys": "host key algorithm",
           "ciphers": "cipher", "macs": "MAC algorithm"}  # fmt: skip


def parse_kexinit(payload: bytes) -> dict[str, tuple[str, ...]] | None:
    """The client-to-server name-lists of a KEXINIT payload; None if it is not one."""
    if len(payload) < 17 or payload[0] != KEXINIT:
        return None
    offset, lists = 17, {}
    for kind in _LISTS:
        if offset + 4 > len(payload):
            return None
        size = int.from_bytes(payload[offset : offset + 4], "big")
        raw = payload[offset + 4 : offset + 4 + size]
        if len(raw) != size:
            return None
        lists[kind] = tuple(name for name in raw.decode("ascii", "replace").split(",") if name)
        offset += 4 + size
    return lists


def unmatched_by_offer(target: Target, offer: dict[str, tuple[str, ...]]) -> ConnectError | None:
    """The one line for the first algorithm kind ``target`` and the device's offer do not share."""
    for kind, label in _LABELS.items():
        ours = getattr(target.ssh, kind)
        if not set(ours) & set(offer.get(kind, ())):
            return _no_common(target, label)
    return None


def read_offer(sock: socket.socket) -> dict[str, tuple[str, ...]] | None:
    """Send a version line on a connected socket and read the device's KEXINIT name-lists."""
    sock.sendall(b"SSH-2.0-isolate_probe\r\n")
    stream = sock.makefile("rb")
    for _ in range(50):  # RFC 4253 §4.2: other lines may precede the version line
        line = stream.readline(256)
        if not line:
            return None
        if line.startswith(b"SSH-"):
            break
    else:
        return None
    header = stream.read(5)
    if len(header) != 5:
        return None
    length, padding = int.from_bytes(header[:4], "big"), header[4]
    if not padding < length <= _MAX_PACKET:
        return None
    body = stream.read(length - 1)
    return parse_kexinit(body[: length - 1 - padding]) if len(body) == length - 1 else None


def probe_unmatched(target: Target) -> ConnectError | None:
    """Connect once more and tell, from the device's own offer, which algorithm kind we lack
    (None: the offer shares every kind, or could not be read)."""
    try:
        with socket.create_connection((target.host, target.port), timeout=min(target.timeout_s, 5.0)) as sock:
            offer = read_offer(sock)
    except OSError:
        return None
    return None if offer is None else unmatched_by_offer(target, offer)
