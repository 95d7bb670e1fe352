"""Undo work: what brings one change back, as the executor and restore both see it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UndoEntry:
    """One change to undo: a journaled intent that reached (or may have reached) a device."""

    seq: int
    step: str
    device: str
    stage: int
    inverse: tuple[str, ...]
    pre_sha: str
    pre_state: str = field(repr=False)
