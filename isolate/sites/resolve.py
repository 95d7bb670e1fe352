"""The inventory's ``broker`` as both ends use it: references read now, paths made absolute,
files checked (a problem is said at its line of the inventory, as a load problem is)."""

from __future__ import annotations

from isolate.errors import InventoryError
from isolate.inventory.broker import NEEDS_CA, broker_files
from isolate.inventory.models import Inventory
from isolate.secrets import read_ref
from isolate.sites.config import BrokerTarget
from isolate.yamlsrc import Loc, format_loc, raise_problems


def broker_of(inventory: Inventory) -> BrokerTarget | None:
    """None when the inventory has no broker (no device is driven by a site worker)."""
    broker = inventory.broker
    if broker is None:
        return None
    from isolate.execute.targets import inventory_dir

    base = inventory_dir(inventory)
    try:
        password = read_ref(broker.password, base) if broker.password else None
    except InventoryError as exc:
        raise InventoryError(f"broker.password: {exc}") from None
    if broker.url.startswith("rediss://") and broker.ca_file is None:  # an inventory not loaded from YAML
        raise InventoryError(f"broker: {NEEDS_CA}")
    files, problems = broker_files(broker, base)
    if problems:
        _raise_located(inventory, problems)
    return BrokerTarget(broker.url, password, files.ca_file, files.cert_file, files.key_file)


def _raise_located(inventory: Inventory, problems: list[tuple[Loc, str]]) -> None:
    """InventoryError, each problem at its file and line (the inventory read again for its
    lines: only on this error path); just the field when the inventory has no file."""
    from isolate.inventory.loader import load_inventory_with_lines

    if inventory.source_path is not None:
        try:
            _, lines = load_inventory_with_lines(inventory.source_path)
        except InventoryError:
            pass
        else:
            located = [lines.problem(loc, message) for loc, message in problems]
            raise_problems(InventoryError, located, list(lines.files))
    said = [f"{format_loc(loc)}: {message}" for loc, message in problems]
    raise InventoryError(said[0] if len(said) == 1 else f"{said[0]} (and {len(said) - 1} more)", said)


def sites_of(inventory: Inventory) -> dict[str, tuple[str, ...]]:
    """Each site and its devices, in inventory order."""
    found: dict[str, list[str]] = {}
    for device in inventory.devices:
        if device.site is not None:
            found.setdefault(device.site, []).append(device.name)
    return {site: tuple(names) for site, names in found.items()}
