"""Lab fixtures: one small IOS lab per test module, stopped by pid in a finalizer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from isolate.lab.process import LabHandle, start_lab

SMALL = Path(__file__).with_name("small.yml")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), SMALL)
    try:
        yield handle
    finally:
        handle.stop()
