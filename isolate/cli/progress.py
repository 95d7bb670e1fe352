"""Live progress for apply, restore and drill: rich on a terminal, plain lines otherwise,
one JSON object per line with --json. A sink of engine events; the engine never prints."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from isolate.execute.events import Event


@dataclass
class _StepRow:
    action: str = ""
    total: int = 0
    ok: int = 0
    failed: int = 0
    started: float = field(default_factory=time.time)
    duration: float | None = None


class Progress:
    """Renders events. Use as a context manager; pass ``progress.sink`` to the engine."""

    def __init__(self, *, mode: str = "auto", stream: TextIO | None = None, budget_s: float | None = None,
                 title: str = "isolate") -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "rich" if self.stream.isatty() else "plain"
        self.mode = mode
        self.budget_s = budget_s
        self.title = title
        self.started = time.time()
        self.steps: dict[str, _StepRow] = defaultdict(_StepRow)
        self.order: list[str] = []
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._live: Live | None = None
        self.console = Console(file=self.stream, highlight=False)
        self.run_id: str | None = None  # the run the events are about (for an interrupt message)
        self.prechecks = [0, 0]  # done, failed
        self.stages: dict[str, list[int]] = {}  # "stage N" -> [devices, identical, failed]

    def __enter__(self) -> Progress:
        if self.mode == "rich":
            # get_renderable: the table is drawn again at every refresh, so the clock ticks
            # while a device is slow to answer (pre-checks, a restore gate)
            self._live = Live(console=self.console, refresh_per_second=4, transient=False,
                              get_renderable=self._table)
            self._live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def _clock(self) -> str:
        elapsed = time.time() - self.started
        text = f"{elapsed:6.1f}s"
        if self.budget_s:
            text += f" of {self.budget_s / 60:g} min budget"
        return text

    def sink(self, event: Event) -> None:
        with self._lock:
            self._record(event)
            if self.mode == "json":
                self.stream.write(json.dumps(event.to_json(), sort_keys=True, default=str) + "\n")
                self.stream.flush()
            elif self.mode == "plain":
                line = self._plain(event)
                if line:
                    self.stream.write(line + "\n")
                    self.stream.flush()
            elif self._live is not None:
                if event.kind in ("device-failed", "gate") and not event.ok:
                    self.lines.append(f"[red]✗[/red] {escape(event.message)}")
                elif event.kind == "stopping":
                    self.lines.append(f"[yellow]{escape(event.message)}[/yellow]")
                self._live.update(self._table())

    def _record(self, event: Event) -> None:
        if event.run and event.run != "drill":
            self.run_id = event.run
        if event.kind == "precheck":
            self.prechecks[0] += 1
            self.prechecks[1] += 0 if event.ok else 1
        elif event.kind == "stage-start":
            devices = event.data.get("devices") or []
            self.stages[event.message] = [len(devices) if isinstance(devices, list) else int(devices), 0, 0]
        elif event.kind == "gate" and self.stages and (event.message == "identical" or not event.ok):
            counts = self.stages[list(self.stages)[-1]]
            counts[1 if event.ok else 2] += 1
        if event.kind == "step-start" and event.step:
            row = self.steps[event.step]
            row.action = event.message
            row.total = int(event.data.get("devices", 0))
            row.started = event.ts
            self.order.append(event.step)
        elif event.kind == "device-ok" and event.step:
            self.steps[event.step].ok += 1
        elif event.kind == "device-failed" and event.step:
            self.steps[event.step].failed += 1
        elif event.kind == "step-end" and event.step:
            self.steps[event.step].duration = float(event.data.get("duration_s", 0.0))

    def _plain(self, event: Event) -> str:
        stamp = f"[{time.time() - self.started:7.2f}s]"
        where = " ".join(x for x in (event.step and f"step={event.step}", event.device) if x)
        status = "ok" if event.ok else "FAILED"
        if event.kind in ("device-ok", "precheck") and event.ok:
            return f"{stamp} {event.kind} {where} ok".rstrip()
        if event.kind == "stopping":
            return f"{stamp} {event.message}"
        if event.kind == "step-start":
            return f"{stamp} step {event.step} ({event.message}) on {event.data.get('devices', 0)} device(s)"
        if event.kind == "step-end":
            return f"{stamp} step {event.step} {status} in {event.data.get('duration_s', 0):.2f}s"
        return f"{stamp} {event.kind} {where} {status}: {event.message}".rstrip(": ")

    def _table(self) -> Table:
        table = Table(title=f"{self.title} — {self._clock()}", expand=False)
        for col in ("step", "action", "done", "failed", "pending", "time"):
            table.add_column(col)
        if self.prechecks[0] and not self.order:
            done, failed = self.prechecks
            table.add_row("pre-checks", "connect, identify, capture", str(done - failed),
                          f"[red]{failed}[/red]" if failed else "0", "", f"{time.time() - self.started:.1f}s")
        for stage, (devices, identical, bad) in self.stages.items():
            table.add_row(stage, "restore, read back", str(identical), f"[red]{bad}[/red]" if bad else "0",
                          str(max(0, devices - identical - bad)), "")
        for step in self.order:
            row = self.steps[step]
            pending = max(0, row.total - row.ok - row.failed)
            spent = row.duration if row.duration is not None else time.time() - row.started
            table.add_row(step, row.action, str(row.ok), f"[red]{row.failed}[/red]" if row.failed else "0",
                          str(pending), f"{spent:.1f}s")
        for line in self.lines[-6:]:
            table.add_row("", line, "", "", "", "")
        return table
