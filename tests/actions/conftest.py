"""Fixtures: the embedded lab's simulated devices, driven line by line the way the drivers
drive them (configuration mode, then a batch's exec-mode lines, for IOS/ASA; ``nft -f -`` for Linux),
and the lab's own inventory, so plans are built for exactly the devices simulated."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from simkit import CREDS, CliSim, LinuxSim, Sim

from isolate.inventory.loader import load_inventory
from isolate.inventory.models import Inventory
from isolate.lab.inventory_out import shipped_inventory
from isolate.lab.topology import Lab, load_topology, make_device
from isolate.platforms import PLATFORMS


@pytest.fixture(scope="session")
def lab() -> Lab:
    return load_topology("city")


@pytest.fixture(scope="session")
def lab_inventory(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = Path(tmp_path_factory.mktemp("inv")) / "city.yml"
    path.write_text(shipped_inventory(lab, 20001), encoding="utf-8")
    return load_inventory(path)


@pytest.fixture
def sim(lab: Lab) -> Callable[[str], Sim]:
    """A fresh simulated device by name."""

    def make(name: str) -> Sim:
        device = make_device(lab.device(name), lab, CREDS)
        kind = lab.device(name).kind
        if kind == "linux":
            return LinuxSim(device)
        return CliSim(device, next(p for p in PLATFORMS.values() if p.lab_kind == kind))

    return make
