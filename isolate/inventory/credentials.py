"""Resolve a device's credential set (references read now, values kept in memory only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from isolate.errors import InventoryError
from isolate.files import user_path
from isolate.inventory.loader import base_dir
from isolate.inventory.models import CredentialSet, Device, Inventory
from isolate.secrets import read_ref


@dataclass(frozen=True)
class Credentials:
    """What a driver needs to log in. ``repr`` never shows the secrets; iterating gives
    ``(username, password, secret, key_file, agent)``."""

    username: str
    password: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    key_file: Path | None = None
    agent: bool = False
    token: str | None = field(default=None, repr=False)  # REST API token (FortiOS)

    def __iter__(self) -> Iterator[object]:
        return iter((self.username, self.password, self.secret, self.key_file, self.agent))


def read_secrets(
    creds: CredentialSet, base: Path, who: str
) -> tuple[str | None, str | None, str | None]:
    """A credential set's password, enable secret and token, each read from its reference
    (None when not set); a reference that cannot be read is one InventoryError led by ``who``."""
    try:
        password = read_ref(creds.password, base) if creds.password else None
        secret = read_ref(creds.enable, base) if creds.enable else None
        token = read_ref(creds.token, base) if creds.token else None
    except InventoryError as exc:
        raise InventoryError(f"{who}: {exc}") from None
    return password, secret, token


def resolve_credentials(inventory: Inventory, device: Device | str) -> Credentials:
    """Read ``device``'s credential references (env:, file:, file:#key; relative paths
    from the inventory's directory, ``~`` expanded). The enable secret defaults to the
    password (docs/inventory.md). Errors name the device and the
    reference, never a secret value."""
    dev = inventory.device(device) if isinstance(device, str) else device
    if dev.credentials is None:
        raise InventoryError(f"{dev.name}: no credentials set (devices[].credentials)")
    creds = inventory.credentials.get(dev.credentials)
    if creds is None:
        raise InventoryError(f"{dev.name}: unknown credential set '{dev.credentials}'")
    base = base_dir(inventory)
    password, secret, token = read_secrets(creds, base, f"{dev.name}: credentials '{dev.credentials}'")
    key_file = None
    if creds.key_file is not None:
        key_path = user_path(creds.key_file, InventoryError)
        key_file = key_path if key_path.is_absolute() else base / key_path
    return Credentials(creds.username, password, secret or password, key_file, creds.agent, token)
