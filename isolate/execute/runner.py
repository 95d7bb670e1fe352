"""The runner contract: how the executor spreads work over devices.

One runner serves the whole engine — pre-checks, each step's apply work, and undo work
(rollback policies, restore, resume's recovery) — so concurrency is bounded and chosen in
one place. ``ThreadRunner`` runs on a bounded thread pool (drivers block on SSH or wait on
the shared asyncssh event loop); another runner (an event loop, a fake for tests) only has
to satisfy ``Runner``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Runner(Protocol):
    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``fn`` over every item, results in the items' order; an exception ``fn`` raises
        propagates (work functions turn device failures into results themselves)."""
        ...


@dataclass(frozen=True)
class ThreadRunner:
    """At most ``workers`` items at a time, each on its own thread."""

    workers: int = 32

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if not items:
            return []
        workers = max(1, min(self.workers, len(items)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="isolate") as pool:
            return list(pool.map(fn, items))
