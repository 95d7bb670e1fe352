"""Every test gets its own device-lock directory: the default (/run/lock/isolate) is shared by
every operator of the host, so tests running side by side would otherwise see each other's
locks on devices of the same name (docs/journal.md, "Locks")."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lock_dir = tmp_path / "locks"
    monkeypatch.setenv("ISOLATE_LOCK_DIR", str(lock_dir))
    return lock_dir
