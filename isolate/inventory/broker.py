"""The broker block's files — the CA, and for mutual TLS the client certificate and its key —
resolved like every path of the inventory (relative to its directory, ``~`` expanded) and
checked where they are used (``isolate/sites/resolve.py``, ``isolate inventory check``).

A key file anyone but its owner can read or write is refused, as the journal signing key is
(``chmod 600``); an encrypted key is refused rather than let OpenSSL prompt for a passphrase
on the terminal of an unattended worker or drill; a certificate and a key that do not belong
together are said here, not as an SSL error at the first connection.
"""

from __future__ import annotations

import os
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path

from isolate.errors import InventoryError
from isolate.files import user_path
from isolate.inventory.models import Broker
from isolate.yamlsrc import Loc

NEEDS_CA = "rediss:// needs ca_file (the CA the broker's certificate is checked against)"


@dataclass(frozen=True)
class BrokerFiles:
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


class _Encrypted(Exception):
    """Raised by the passphrase callback: the key is encrypted (never prompt)."""


def _no_passphrase() -> bytes:
    raise _Encrypted


def broker_files(broker: Broker, base: Path) -> tuple[BrokerFiles, list[tuple[Loc, str]]]:
    """The broker's files made absolute, and each problem found with them (where, what)."""
    problems: list[tuple[Loc, str]] = []
    paths: dict[str, Path | None] = {}
    for name in ("ca_file", "cert_file", "key_file"):
        given: str | None = getattr(broker, name)
        path = base / user_path(given, InventoryError) if given else None
        paths[name] = path
        why = None if path is None else _unusable(path, secret=name == "key_file")
        if why is not None:
            problems.append((("broker", name), why))
    files = BrokerFiles(paths["ca_file"], paths["cert_file"], paths["key_file"])
    if not problems and files.cert_file is not None and files.key_file is not None:
        problems += _pair_problems(files.cert_file, files.key_file)
    return files, problems


def _unusable(path: Path, *, secret: bool) -> str | None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    if not stat.S_ISREG(mode):
        return f"{path}: not a regular file"
    if not os.access(path, os.R_OK):
        return f"{path}: not readable by this user"
    if secret and mode & 0o077:
        return f"{path}: the broker client key is readable by others; chmod 600 it"
    return None


def _pair_problems(cert_file: Path, key_file: Path) -> list[tuple[Loc, str]]:
    """Why ``cert_file`` and ``key_file`` are not a PEM certificate and its unencrypted key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(str(cert_file), str(key_file), password=_no_passphrase)
    except _Encrypted:
        why = f"{key_file} is encrypted: isolate takes an unencrypted key (kept chmod 600)"
        return [(("broker", "key_file"), why)]
    except ssl.SSLError as exc:
        reason = "the key does not match the certificate" if "MISMATCH" in str(exc) else "not PEM"
        why = f"{cert_file} and {key_file}: not a client certificate and its key ({reason})"
        return [(("broker", "cert_file"), why)]
    return []
