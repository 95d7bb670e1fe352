"""Which SSH algorithms a lab device offers (topology ``options: {ssh: PROFILE}``).

``modern`` (the default): asyncssh's own set, ed25519 host key. ``ios15``: only what
IOS 12.2/15.x offers (Cisco "Secure Shell Version 2 Support"): CBC ciphers and 3DES,
SHA-1 key exchanges, an RSA host key signing ``ssh-rsa``, HMAC-SHA1 — no mlkem, no
curve25519, no ed25519, no AES-GCM/CTR. A client that cannot speak them fails to connect
as it would against a 2960 in a city hall.
"""

from __future__ import annotations

from typing import Any, Final

SSH_PROFILES: Final = ("modern", "ios15")
IOS15: Final[dict[str, tuple[str, ...]]] = {
    "kex_algs": ("diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"),
    "encryption_algs": ("aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc"),
    "mac_algs": ("hmac-sha1", "hmac-sha1-96"),
    "signature_algs": ("ssh-rsa",),
}


def server_options(profile: str) -> dict[str, Any]:
    """Extra ``asyncssh.create_server`` arguments for ``profile`` (host keys aside)."""
    if profile == "ios15":
        return {key: list(value) for key, value in IOS15.items()}
    return {}


def needs_rsa(profile: str) -> bool:
    return profile == "ios15"
