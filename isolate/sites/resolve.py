"""The inventory's ``broker`` as both ends use it: references read now, paths made absolute."""

from __future__ import annotations

from isolate.errors import InventoryError
from isolate.files import user_path
from isolate.inventory.models import Inventory
from isolate.secrets import read_ref
from isolate.sites.config import BrokerTarget


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
    ca_file = base / user_path(broker.ca_file, InventoryError) if broker.ca_file else None
    if broker.url.startswith("rediss://") and ca_file is None:
        raise InventoryError(
            "broker: rediss:// needs ca_file (the CA the broker's certificate is checked against)"
        )
    return BrokerTarget(broker.url, password, ca_file)


def sites_of(inventory: Inventory) -> dict[str, tuple[str, ...]]:
    """Each site and its devices, in inventory order."""
    found: dict[str, list[str]] = {}
    for device in inventory.devices:
        if device.site is not None:
            found.setdefault(device.site, []).append(device.name)
    return {site: tuple(names) for site, names in found.items()}
