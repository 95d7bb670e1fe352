"""Progress events. The engine never prints: it sends events to a sink the CLI renders."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run.

    kinds: run-start, precheck, step-start, device-ok, device-failed, step-end, policy,
    run-end, restore-start, stage-start, device-restored, gate, restore-end, stopping (a
    Ctrl-C or an error stopped the work: devices still in flight are waited for).
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


_log = logging.getLogger("isolate.events")


class GuardedSink:
    """A sink made harmless: an exception it raises (a broken pipe on stderr, a renderer's
    bug) is logged and the event dropped; the run goes on. The engine emits only through it:
    a display must never abort a step half-way, without its ``run-end``."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self.dropped = 0

    def __call__(self, event: Event) -> None:
        try:
            self._sink(event)
        except Exception as exc:  # any failure of a display: logged, never fatal
            self.dropped += 1
            _log.warning(
                "event sink failed on %s (%s: %s); event dropped", event.kind, type(exc).__name__, exc
            )


def guarded(sink: EventSink) -> GuardedSink:
    """``sink`` wrapped in a GuardedSink (once: a guarded sink is returned as is)."""
    return sink if isinstance(sink, GuardedSink) else GuardedSink(sink)
