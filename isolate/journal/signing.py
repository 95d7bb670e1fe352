"""The journal's signing key: Ed25519, generated on first use, referenced by path.

Why Ed25519 and not an HMAC: an auditor checks a signature with the *public* key alone,
which cannot sign; an HMAC key that lets the auditor check would also let the auditor (or
anyone the key leaks to) forge a head. The private key never leaves the admin station.

Where: ``$ISOLATE_SIGNING_KEY`` (a path), else ``~/.config/isolate/journal-ed25519.key``
(``$XDG_CONFIG_HOME`` honoured); PKCS#8 PEM, mode 0600, in a 0700 directory, created on first
use. Its public half sits next to it as ``<key>.pub``, one line
``isolate-journal-ed25519 <base64 of the 32 raw bytes>``. A key's id is the first 16 hex
digits of the SHA-256 of those raw bytes (docs/journal.md, "Signed heads").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from isolate.errors import InputError, JournalError
from isolate.files import user_path
from isolate.paths import make_private_dir

SIGNING_KEY_ENV = "ISOLATE_SIGNING_KEY"
PUBLIC_PREFIX = "isolate-journal-ed25519"
ALG = "ed25519"


def default_key_path() -> Path:
    env = os.environ.get(SIGNING_KEY_ENV, "")
    if env:
        return user_path(env)
    config = os.environ.get("XDG_CONFIG_HOME", "") or str(Path("~/.config").expanduser())
    return Path(config) / "isolate" / "journal-ed25519.key"


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    raw: bytes
    source: str  # where it was read from, for messages

    @property
    def id(self) -> str:
        return key_id(self.raw)

    @property
    def b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    def line(self) -> str:
        return f"{PUBLIC_PREFIX} {self.b64}\n"

    def verifies(self, message: bytes, signature_b64: str) -> bool:
        try:
            signature = base64.b64decode(signature_b64, validate=True)
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except (InvalidSignature, ValueError, binascii.Error):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey
    public: PublicKey
    path: Path

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode("ascii")


def load_signer(path: Path | None = None) -> Signer:
    """The signing key at ``path`` (default: ``default_key_path()``), created on first use."""
    target = path or default_key_path()
    try:
        if not target.exists():
            return _create(target)
        private = serialization.load_pem_private_key(target.read_bytes(), password=None)
    except OSError as err:
        raise JournalError(f"{target}: cannot read/create the journal signing key: {err.strerror}") from None
    except ValueError:
        raise JournalError(f"{target}: not a PEM private key (the journal signing key)") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise JournalError(f"{target}: the journal signing key must be an Ed25519 key")
    if target.stat().st_mode & 0o077:
        raise JournalError(f"{target}: the journal signing key is readable by others; chmod 600 it")
    public = _public_of(private, str(target))
    _write_public(target, public)
    return Signer(private, public, target)


def _create(target: Path) -> Signer:
    make_private_dir(target.parent)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    public = _public_of(private, str(target))
    _write_public(target, public)
    return Signer(private, public, target)


def _public_of(private: Ed25519PrivateKey, source: str) -> PublicKey:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PublicKey(raw, source)


def public_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub")


def _write_public(key_path: Path, public: PublicKey) -> None:
    path = public_path(key_path)
    try:
        if path.read_text(encoding="utf-8") == public.line():
            return
    except OSError:
        pass
    path.write_text(public.line(), encoding="utf-8")
    os.chmod(path, 0o644)


def read_public_key(path: Path) -> PublicKey:
    """A public key file: ``isolate-journal-ed25519 BASE64`` (the ``.pub`` next to the key)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise InputError(f"{path}: cannot read public key: {err.strerror}") from None
    prefix, _, b64 = text.partition(" ")
    try:
        raw = base64.b64decode(b64.strip(), validate=True)
    except binascii.Error:
        raw = b""
    if prefix != PUBLIC_PREFIX or len(raw) != 32:
        raise InputError(f"{path}:1: not an isolate journal public key ('{PUBLIC_PREFIX} BASE64')")
    return PublicKey(raw, str(path))


def local_public_key() -> PublicKey | None:
    """This station's own public key, if its signing key exists (never creates one)."""
    path = public_path(default_key_path())
    if path.is_file():
        try:
            return read_public_key(path)
        except InputError:
            return None
    key = default_key_path()
    if key.is_file():
        try:
            return load_signer(key).public
        except JournalError:
            return None
    return None
