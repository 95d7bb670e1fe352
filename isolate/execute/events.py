"""Progress events. The engine never prints: it sends events to a sink the CLI renders."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run.

    kinds: run-start, precheck, step-start, device-ok, device-failed, step-end, policy,
    run-end, restore-start, stage-start, device-restored, gate, restore-end.
    """

    kind: str
    run: str
    step: str | None = None
    device: str | None = None
    ok: bool = True
    message: str = ""
    ts: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


EventSink = Callable[[Event], None]


def null_sink(event: Event) -> None:
    """A sink that drops every event."""
