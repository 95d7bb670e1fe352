"""Flow summaries that stay readable at 200 servers: a source-segment × service matrix of
counts, and the flows that did not do what was expected (the only per-flow detail the
human reports keep; report.json has every flow)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from isolate.natsort import natural_key
from isolate.reports.model import FlowRow

WRONG_SHOWN = 200  # per-flow rows in report.md / report.html; report.json has them all
HOST_MATRIX_MAX = 40  # above this many hosts the picture is drawn per segment


@dataclass
class Cell:
    open_before: int = 0
    blocked_during: int = 0
    wrong: int = 0

    def text(self) -> str:
        """``12/40`` (blocked during / open at baseline), ``!3`` appended when 3 were wrong."""
        if not self.open_before and not self.wrong:
            return "–"
        return f"{self.blocked_during}/{self.open_before}" + (f" !{self.wrong}" if self.wrong else "")


@dataclass
class Matrix:
    rows: list[str] = field(default_factory=list)  # source segments (or hosts outside any)
    columns: list[str] = field(default_factory=list)  # services
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)


def _source(flow: FlowRow) -> str:
    return flow.src_segment or flow.src


def segment_service_matrix(flows: Sequence[FlowRow]) -> Matrix:
    cells: dict[tuple[str, str], Cell] = {}
    for flow in flows:
        cell = cells.setdefault((_source(flow), flow.service or f"{flow.port}/{flow.proto}"), Cell())
        cell.open_before += flow.before
        cell.blocked_during += bool(flow.before and flow.during is False)
        cell.wrong += not flow.as_expected
    rows = sorted({r for r, _ in cells}, key=natural_key)
    columns = sorted({c for _, c in cells}, key=natural_key)
    return Matrix(rows, columns, cells)


def wrong_flows(flows: Sequence[FlowRow]) -> list[FlowRow]:
    return [f for f in flows if not f.as_expected]


def counts(flows: Sequence[FlowRow]) -> str:
    """The one-line tally every report starts its flow section with."""
    opened = sum(1 for f in flows if f.before)
    cut = sum(1 for f in flows if f.before and f.during is False)
    back = sum(1 for f in flows if f.before and f.after)
    wrong = len(wrong_flows(flows))
    return (
        f"{len(flows)} flows modelled; {opened} open at baseline; {cut} blocked during containment; "
        f"{back} open after restore; {wrong} did not do what was expected."
    )


def by_segment(flows: Sequence[FlowRow]) -> tuple[FlowRow, ...]:
    """The flows with each end renamed to its segment (for a segment-level picture)."""
    return tuple(
        f.model_copy(update={"src": f.src_segment or f.src, "dst": f.dst_segment or f.dst}) for f in flows
    )
