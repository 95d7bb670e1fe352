"""Every test gets its own device-lock directory: the default (/run/lock/isolate) is shared by
every operator of the host, so tests running side by side would otherwise see each other's
locks on devices of the same name (docs/journal.md, "Locks")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lock_dir = tmp_path / "locks"
    monkeypatch.setenv("ISOLATE_LOCK_DIR", str(lock_dir))
    return lock_dir


@pytest.fixture(autouse=True, scope="session")
def _own_signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One journal signing key for the session, never the user's ~/.config/isolate one."""
    key = tmp_path_factory.mktemp("signing") / "journal-ed25519.key"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ISOLATE_SIGNING_KEY", str(key))
        yield key
