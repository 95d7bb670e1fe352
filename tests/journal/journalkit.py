"""Helpers shared by the journal tests (records written through the real Journal API)."""

from __future__ import annotations

from isolate.journal import Journal


def start_run(journal: Journal, *, user: str = "ops", host: str = "admin1", reason: str = "test") -> None:
    """A run-start record with every required field (the writer checks the whole model)."""
    journal.append(
        "run-start", user=user, host=host, pid=1, command=["isolate"], incident=None, reason=reason,
        tool_version="0.1.0", inventory={"path": "inv.yml", "sha256": "a" * 64},
        playbook={"path": None, "name": "p", "sha256": "b" * 64}, plan_sha256="c" * 64,
        overrides=[], options={},
    )  # fmt: skip
