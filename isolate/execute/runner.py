"""The runner contract: how the executor spreads work over devices.

One runner serves the whole engine — pre-checks, each step's apply work, and undo work
(rollback policies, restore, resume's recovery) — so concurrency is bounded and chosen in
one place. ``ThreadRunner`` runs on a bounded thread pool (drivers block on SSH or wait on
the shared asyncssh event loop); another runner (an event loop, a fake for tests) only has
to satisfy ``Runner``.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while the engine works on devices.

    Reference counting still frees every object as soon as it is unused; only the search for
    reference cycles waits. During a 1,000-device apply that search ran over a heap of a
    thousand sessions, parsed configurations and states some 1,600 times, found no garbage at
    all, and took about a sixth of the engine's CPU (docs/benchmarks.md). It resumes, with any
    cycle left behind, when the block ends, also on an error."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


# How long a thread may hold the interpreter before a waiting one may take it over (CPython's
# default is 5 ms). See long_gil_slices.
GIL_SLICE_S = 0.05


@contextlib.contextmanager
def long_gil_slices() -> Iterator[None]:
    """Longer turns on the interpreter lock while the engine works on devices.

    All SSH traffic runs on one event-loop thread, and up to 1,000 worker threads wait for it.
    CPython takes the lock from a running thread when another one has waited 5 ms for it, so
    the loop was stopped mid-burst about every 5 ms for a worker that needed a few hundred
    microseconds. Each turn costs thread switches and cold caches. With 50 ms turns, the loop
    handles more packets per turn. Workers give the lock back on their own as soon as they
    wait for the device, so their turns rarely get longer.

    In seven interleaved pairs of 1,000-device applies (2026-12-04, docs/benchmarks.md), six
    were faster with 50 ms turns. The wall median fell by 8-14 %, and CPU time fell about as much.
    The previous interval is restored when the block ends, also on an error."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(max(before, GIL_SLICE_S))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@contextlib.contextmanager
def engine_at_work() -> Iterator[None]:
    """The interpreter as the engine wants it while it works on devices (apply, restore, resume):
    the cyclic collector held off (``collector_paused``) and longer turns on the interpreter lock
    (``long_gil_slices``); both back as they were when the block ends, also on an error."""
    with collector_paused(), long_gil_slices():
        yield


class Runner(Protocol):
    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``fn`` over every item, results in the items' order; an exception ``fn`` raises
        propagates (work functions turn device failures into results themselves)."""
        ...


class ThreadRunner:
    """At most ``workers`` items at a time, each on its own thread. The threads are kept from
    one ``map`` to the next (a run maps its pre-checks, then each step, over up to 1,000
    devices: starting a thousand threads per map cost about 3 % of a 1,000-device apply's
    CPU). A ``map`` called while another is running (from one of its items, or from another
    thread) gets a pool of its own, so it never waits for threads its caller holds."""

    def __init__(self, workers: int = 32, on_stop: Callable[[int], None] | None = None) -> None:
        self.workers = workers
        # told, at once, how many items are still running when a map is stopped (Ctrl-C, an
        # error): the map then waits for them, up to their devices' timeouts
        self.on_stop = on_stop
        self._busy = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if not items:
            return []
        if not self._busy.acquire(blocking=False):
            with ThreadPoolExecutor(max_workers=self._size(items), thread_name_prefix="isolate") as own:
                return list(own.map(fn, items))
        try:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="isolate")
            futures = [self._pool.submit(fn, item) for item in items]
            try:
                return [future.result() for future in futures]
            finally:
                # Nothing of this map still runs once it returns or raises. On an interrupt
                # (Ctrl-C) or an error, the items not yet started never start: a device waiting
                # for a free thread is not touched after the operator said stop. The running
                # ones end their work (and its journal records) first.
                for future in futures:
                    future.cancel()
                running = sum(1 for future in futures if not future.done())
                if running and self.on_stop is not None:
                    self.on_stop(running)
                wait(futures)
        finally:
            self._busy.release()

    def _size(self, items: Sequence[T]) -> int:
        return max(1, min(self.workers, len(items)))

    def close(self) -> None:
        """Let the kept threads end (they are idle between maps; the interpreter also ends
        them at exit)."""
        with self._busy:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
