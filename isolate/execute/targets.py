"""From inventory devices to driver targets: credentials resolved by reference, in memory only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from isolate.drivers.base import Hop, Target
from isolate.errors import InventoryError
from isolate.files import user_path
from isolate.inventory.credentials import read_secrets
from isolate.inventory.models import Inventory
from isolate.secrets import read_ref


@dataclass(frozen=True)
class ResolvedTargets:
    targets: dict[str, Target]
    secrets: tuple[str, ...]  # every secret value resolved, for the run's scrubber


def inventory_dir(inventory: Inventory) -> Path:
    source = Path(inventory.source_path or ".")
    return source if source.is_dir() else source.parent


def resolve_targets(
    inventory: Inventory,
    devices: Iterable[str],
    *,
    host_key_checking: bool = True,
    timeout_s: float = 30.0,
    work_dir: Path | None = None,
    serving_site: str | None = None,
) -> ResolvedTargets:
    """Targets for ``devices``. Every reference is read now, before anything is sent, so a
    missing secret fails the run at once with a message naming device and reference.
    A device with a ``site`` is driven by that site's worker: the controller's target only
    names the site (no secret is read here; the worker reads them, ``serving_site``)."""
    base = inventory_dir(inventory)
    known_hosts = (base / user_path(inventory.known_hosts, InventoryError)) if inventory.known_hosts else None
    targets: dict[str, Target] = {}
    secrets: list[str] = []
    read: dict[str, tuple[str | None, str | None, str | None]] = {}  # credential set -> its values
    for name in sorted(set(devices)):
        device = inventory.device(name)
        if device.credentials is None:
            raise InventoryError(f"{name}: no credentials set (devices[].credentials)")
        if device.site is not None and device.site != serving_site:
            targets[name] = Target(
                name=name, host=device.host, port=int(device.port), platform=device.platform,
                username="", timeout_s=timeout_s, work_dir=work_dir, site=device.site,
                host_key_checking=host_key_checking,
            )  # fmt: skip
            continue
        creds = inventory.credentials[device.credentials]
        if device.credentials not in read:  # each set read once, not once per device
            password, secret, token = read_secrets(creds, base, f"{name}: credentials '{device.credentials}'")
            read[device.credentials] = (password, secret, token)
            secrets.extend(v for v in (password, secret, token) if v)
        password, secret, token = read[device.credentials]
        key_file = (base / user_path(creds.key_file, InventoryError)) if creds.key_file else None
        ca_file, tests = directory_extras(inventory, name, base)
        if device.tls is not None and device.tls.ca_file:
            ca_file = base / user_path(device.tls.ca_file, InventoryError)
        secrets.extend(password for _, password in tests)
        targets[name] = Target(
            name=name,
            host=device.host,
            port=int(device.port),
            platform=device.platform,
            username=creds.username,
            password=password,
            secret=secret or password,
            key_file=key_file,
            use_agent=creds.agent,
            known_hosts=known_hosts,
            host_key_checking=host_key_checking,
            timeout_s=timeout_s,
            work_dir=work_dir,
            ca_file=ca_file,
            tls_fingerprint=device.tls.fingerprint if device.tls is not None else None,
            token=token,
            test_credentials=tests,
            ssh=device.ssh_algorithms,
            via=tuple(_hop(inventory, name, hop, base, secrets) for hop in inventory.via_of(device)),
        )
    return ResolvedTargets(targets, tuple(secrets))


def _hop(inventory: Inventory, device: str, name: str, base: Path, secrets: list[str]) -> Hop:
    """Jump host ``name`` on ``device``'s path, its credentials read now (secrets collected)."""
    jump = inventory.jump_host(name)
    creds = inventory.credentials[jump.credentials]
    try:
        password = read_ref(creds.password, base) if creds.password else None
    except InventoryError as exc:
        raise InventoryError(
            f"{device}: jump host {name}: credentials '{jump.credentials}': {exc}"
        ) from None
    if password:
        secrets.append(password)
    key_file = (base / user_path(creds.key_file, InventoryError)) if creds.key_file else None
    return Hop(
        name=name,
        host=jump.host,
        port=int(jump.port),
        username=creds.username,
        password=password,
        key_file=key_file,
        use_agent=creds.agent,
    )


def directory_extras(
    inventory: Inventory, name: str, base: Path
) -> tuple[Path | None, tuple[tuple[str, str], ...]]:
    """For a directory device: its CA file and the test credentials (read now)."""
    if name not in inventory.directory.devices:
        return None, ()
    directory = inventory.directory
    ca_file = (base / user_path(directory.ca_file, InventoryError)) if directory.ca_file else None
    tests: list[tuple[str, str]] = []
    for account, ref in sorted(directory.test_credentials.items()):
        try:
            tests.append((account, read_ref(ref, base)))
        except InventoryError as exc:
            raise InventoryError(f"{name}: directory.test_credentials.{account}: {exc}") from None
    return ca_file, tuple(tests)
