"""The thread runner: results in the items' order, at most ``workers`` at a time, its threads
kept from one map to the next, a map from inside a map never waiting on its caller's threads,
and nothing of a failed map still running once the failure reaches the caller; the cyclic
garbage collector held off while the engine works, and back afterwards, also after an error;
the same for the interpreter lock's longer turns."""

from __future__ import annotations

import gc
import sys
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait

import pytest

from isolate.execute import runner as runner_module
from isolate.execute.runner import (
    GIL_SLICE_S,
    ThreadRunner,
    collector_paused,
    engine_at_work,
    long_gil_slices,
)


def test_results_come_in_the_items_order_and_threads_are_kept_between_maps() -> None:
    runner = ThreadRunner(8)
    seen: list[set[int]] = [set(), set()]
    for k in range(2):
        barrier = threading.Barrier(8)  # all eight items at once: eight threads, each map

        def work(item: int, k: int = k, barrier: threading.Barrier = barrier) -> int:
            barrier.wait(timeout=30)
            seen[k].add(threading.get_ident())
            return item * item

        assert runner.map(work, list(range(8))) == [i * i for i in range(8)]
    assert len(seen[0]) == 8 and seen[1] == seen[0]
    runner.close()


def test_never_more_than_workers_at_once() -> None:
    runner = ThreadRunner(3)
    lock = threading.Lock()
    together = threading.Barrier(3)  # three at a time meet here: a fourth would be counted first
    running = peak = 0

    def work(item: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        together.wait(timeout=30)
        with lock:
            running -= 1
        return item

    assert runner.map(work, list(range(48))) == list(range(48))
    assert peak == 3
    runner.close()


def test_a_map_inside_a_map_gets_threads_of_its_own() -> None:
    runner = ThreadRunner(2)  # both threads are held by the outer map while the inner one runs
    assert runner.map(lambda outer: runner.map(lambda inner: outer * 10 + inner, [1, 2]), [1, 2]) == [
        [11, 12],
        [21, 22],
    ]
    runner.close()


def test_a_failed_map_raises_only_after_every_started_item_ended() -> None:
    runner = ThreadRunner(4)
    release = threading.Event()
    started: list[int] = []
    ended: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        try:
            if item == 0:
                raise RuntimeError("device 0 broke")
            release.wait(timeout=30)
            return item
        finally:
            ended.append(item)

    threading.Timer(0, release.set).start()  # the other items end whenever; the map waits for them
    with pytest.raises(RuntimeError, match="device 0 broke"):
        runner.map(work, [0, 1, 2, 3])
    assert 0 in started and sorted(ended) == sorted(started)  # nothing it started still runs
    runner.close()
    assert sorted(ended) == sorted(started)  # and nothing starts afterwards


def test_an_interrupted_map_starts_no_item_still_waiting_for_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C while item 0 runs on the only thread (the interrupt raised where the caller
    waits for a result, as a SIGINT lands): item 0 ends its work, items 1 and 2 (queued) never
    start, and the interrupt reaches the caller."""
    runner = ThreadRunner(1)
    started: list[int] = []
    running, release = threading.Event(), threading.Event()

    def work(item: int) -> int:
        started.append(item)
        if item == 0:
            running.set()
            release.wait(timeout=30)
        return item

    def interrupted(future: Future[int], timeout: float | None = None) -> int:
        assert running.wait(30)  # every item is submitted by now; item 0 runs
        raise KeyboardInterrupt

    real_wait = futures_wait

    def wait_then_release(futures: Sequence[Future[int]]) -> object:
        release.set()  # item 0 may end only now that the map has cancelled what had not started
        return real_wait(futures)

    monkeypatch.setattr(Future, "result", interrupted)
    monkeypatch.setattr(runner_module, "wait", wait_then_release)
    with pytest.raises(KeyboardInterrupt):
        runner.map(work, [0, 1, 2])
    monkeypatch.undo()
    runner.close()
    assert started == [0]


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_collector_is_held_off_while_the_engine_works_and_back_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="device failed"), collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested (resume's recovery inside a run): still off after
            pass
        assert not gc.isenabled()
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        left = weakref.ref(a)
        del a, b
        raise RuntimeError("device failed")
    assert gc.isenabled()
    gc.collect()
    assert left() is None  # what the paused run left behind is collected once it resumes


def test_threads_hold_the_interpreter_longer_while_the_engine_works_and_as_before_after_an_error() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError, match="device failed"), long_gil_slices():
        assert sys.getswitchinterval() == pytest.approx(GIL_SLICE_S, abs=1e-5)
        with long_gil_slices():  # nested (resume's recovery inside a run)
            pass
        assert sys.getswitchinterval() == pytest.approx(GIL_SLICE_S, abs=1e-5)
        raise RuntimeError("device failed")
    assert sys.getswitchinterval() == before


def test_a_longer_interval_set_by_the_program_is_kept() -> None:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.2)
    try:
        with long_gil_slices():
            assert sys.getswitchinterval() == pytest.approx(0.2, abs=1e-5)
    finally:
        sys.setswitchinterval(before)


def test_a_stopped_map_says_at_once_how_many_items_still_run_then_waits_for_them() -> None:
    started, release = threading.Event(), threading.Event()
    told: list[tuple[int, bool]] = []  # (items still running, was the running one done then)
    finished: list[str] = []

    def stopped(running: int) -> None:
        told.append((running, bool(finished)))
        release.set()  # the running item may end now

    def work(item: str) -> str:
        if item == "fails":
            assert started.wait(timeout=30)
            raise RuntimeError("device failed")
        started.set()
        assert release.wait(timeout=30)
        finished.append(item)
        return item

    runner = ThreadRunner(2, on_stop=stopped)
    with pytest.raises(RuntimeError, match="device failed"):
        runner.map(work, ["fails", "in flight"])
    assert told == [(1, False)]  # said before the item in flight ended
    assert finished == ["in flight"]  # and the map waited for it before raising
    runner.close()


def test_the_engine_at_work_has_both_and_gets_both_back_after_an_error() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError, match="device failed"), engine_at_work():
        assert not gc.isenabled()
        assert sys.getswitchinterval() == pytest.approx(GIL_SLICE_S, abs=1e-5)
        raise RuntimeError("device failed")
    assert gc.isenabled() and sys.getswitchinterval() == before
