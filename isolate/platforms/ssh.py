"""SSH algorithm sets: what isolate offers by default, and the legacy algorithms an older
device (IOS 12.2/15.x: a 2960 in a city hall) offers instead. Legacy algorithms are offered
only to a device whose inventory entry allows them (``ssh: {legacy: true}`` or an explicit
list); the plan and the pre-check table say such a device is reached over a weaker channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MODERN_KEX: Final = (
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group14-sha256",
)
# AES-GCM first: asyncssh's chacha20-poly1305 builds a cipher object per packet and costs
# several times more CPU per packet; every IOS release with SSHv2 AES-GCM/CTR offers these.
MODERN_CIPHERS: Final = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
)
MODERN_HOST_KEYS: Final = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
MODERN_MACS: Final = (
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
)

# What IOS 12.2/15.x offers (Cisco "Secure Shell Version 2 Support", IOS 15 defaults).
LEGACY_KEX: Final = ("diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1")
LEGACY_CIPHERS: Final = ("aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc")
LEGACY_HOST_KEYS: Final = ("ssh-rsa",)
LEGACY_MACS: Final = ("hmac-sha1", "hmac-sha1-96")

KINDS: Final = ("kex", "ciphers", "host_keys", "macs")
SUPPORTED: Final[dict[str, tuple[str, ...]]] = {
    "kex": MODERN_KEX + LEGACY_KEX,
    "ciphers": MODERN_CIPHERS + LEGACY_CIPHERS,
    "host_keys": MODERN_HOST_KEYS + LEGACY_HOST_KEYS,
    "macs": MODERN_MACS + LEGACY_MACS,
}
LEGACY: Final[dict[str, tuple[str, ...]]] = {
    "kex": LEGACY_KEX,
    "ciphers": LEGACY_CIPHERS,
    "host_keys": LEGACY_HOST_KEYS,
    "macs": LEGACY_MACS,
}


@dataclass(frozen=True)
class SshAlgorithms:
    """The algorithms offered to one device, most preferred first."""

    kex: tuple[str, ...] = MODERN_KEX
    ciphers: tuple[str, ...] = MODERN_CIPHERS
    host_keys: tuple[str, ...] = MODERN_HOST_KEYS
    macs: tuple[str, ...] = MODERN_MACS

    @property
    def legacy(self) -> tuple[str, ...]:
        """The legacy algorithms among those offered (empty: a modern channel only)."""
        return tuple(a for kind in KINDS for a in getattr(self, kind) if a in LEGACY[kind])


MODERN: Final = SshAlgorithms()
WITH_LEGACY: Final = SshAlgorithms(
    MODERN_KEX + LEGACY_KEX,
    MODERN_CIPHERS + LEGACY_CIPHERS,
    MODERN_HOST_KEYS + LEGACY_HOST_KEYS,
    MODERN_MACS + LEGACY_MACS,
)


def algorithms(*, legacy: bool = False, **explicit: tuple[str, ...]) -> SshAlgorithms:
    """The set for one device: modern, modern + legacy, or an explicit list per kind
    (kinds not given keep the default: modern, or modern + legacy with ``legacy``)."""
    base = WITH_LEGACY if legacy else MODERN
    given = {kind: tuple(names) for kind, names in explicit.items() if names}
    return SshAlgorithms(**{kind: given.get(kind, getattr(base, kind)) for kind in KINDS})
