"""The benchmark's tool runner records the generation-2 collections that paused it (Nornir's row
carries them: one paramiko thread per open connection stretched a collection past netmiko's read
timeouts, docs/benchmarks.md "Why Nornir at 20 threads failed")."""

from __future__ import annotations

import gc
import importlib.util
import sys
import time
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "containment_tools.py"
_SPEC = importlib.util.spec_from_file_location("containment_tools", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
tools_module = importlib.util.module_from_spec(_SPEC)
sys.modules["containment_tools"] = tools_module
_SPEC.loader.exec_module(tools_module)
long_collections = tools_module.long_collections


def test_a_full_collection_inside_the_block_is_recorded_with_the_thread_count() -> None:
    callbacks = list(gc.callbacks)
    with long_collections(time.perf_counter(), over_s=0.0) as pauses:
        gc.collect()
    gc.collect()  # after the block: not recorded
    assert len(pauses) == 1
    assert set(pauses[0]) == {"at_s", "threads", "pause_s"}
    assert pauses[0]["threads"] >= 1
    assert gc.callbacks == callbacks  # the block leaves no callback behind


def test_younger_generations_are_not_recorded() -> None:
    with long_collections(time.perf_counter(), over_s=0.0) as pauses:
        gc.collect(0)
        gc.collect(1)
    assert pauses == []
