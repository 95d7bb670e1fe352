"""Device locks across real processes: refused naming the holder, stale reported, broken on request."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import isolate.cli
from isolate.errors import InputError, LockHeld
from isolate.execute import locks as lock_module
from isolate.execute.locks import DeviceLocks

HOLDER = """
import sys
from pathlib import Path
from isolate.execute import locks as lock_module
from isolate.execute.locks import DeviceLocks
locks = DeviceLocks(Path(sys.argv[1]))
with locks.acquire(sys.argv[3].split(","), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()  # hold until told (or killed)
print("released", flush=True)
"""

Spawn = Callable[[str, list[str]], subprocess.Popen[str]]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    procs: list[subprocess.Popen[str]] = []

    def start(run_id: str, devices: list[str]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(tmp_path / "state"), run_id, ",".join(devices)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream:
                stream.close()


@pytest.fixture
def locks(tmp_path: Path) -> DeviceLocks:
    return DeviceLocks(tmp_path / "state")


def test_acquire_and_release(locks: DeviceLocks) -> None:
    with locks.acquire(["core1", "fw-int"], "R1") as held:
        assert held.devices == ("core1", "fw-int") and held.adopted == ()
        infos = locks.held()
        assert [i.device for i in infos] == ["core1", "fw-int"]
        assert infos[0].run == "R1" and infos[0].pid == os.getpid() and infos[0].host == socket.gethostname()
        on_disk = json.loads((locks.dir / "core1.lock").read_text())
        assert set(on_disk) == {"run", "pid", "host", "user", "since", "state_dir"}
        # Shared by every operator: each may read a holder and add a lock (sticky: not remove another's).
        assert (locks.dir / "core1.lock").stat().st_mode & 0o777 == 0o644
        assert locks.dir.stat().st_mode & 0o7777 == 0o1777
        with pytest.raises(LockHeld, match=r"^core1 is locked by run R1 \(pid \d+, user \S+ on \S+, since "):
            locks.take(["core1"], "R2")
    assert locks.held() == []


def test_a_take_of_many_devices_leaves_only_their_locks(
    locks: DeviceLocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every device's lock holds the holder, whichever holder file it was linked from; no
    temp file is left, after a take or after one refused part-way (all or nothing)."""
    monkeypatch.setattr(lock_module, "LINKS_PER_HOLDER", 2)
    devices = [f"sw{k}" for k in range(5)]
    with locks.acquire(devices, "R1"):
        assert [(i.device, i.run, i.pid) for i in locks.held()] == [(d, "R1", os.getpid()) for d in devices]
        assert sorted(p.name for p in locks.dir.iterdir()) == [f"{d}.lock" for d in devices]
        with pytest.raises(LockHeld, match=r"^sw3 is locked by run R1 "):
            locks.take(["core1", "sw3", "zz"], "R2")
        assert sorted(p.name for p in locks.dir.iterdir()) == [f"{d}.lock" for d in devices]
    assert list(locks.dir.iterdir()) == []


def test_second_process_is_refused_naming_the_holder(spawn: Spawn, locks: DeviceLocks) -> None:
    holder = spawn("R-first", ["core1", "sw2"])
    with pytest.raises(LockHeld) as err:
        locks.take(["access9", "sw2"], "R-second")
    assert str(err.value).startswith(f"sw2 is locked by run R-first (pid {holder.pid}, user ")
    assert "stale" not in str(err.value)
    assert [i.device for i in locks.held()] == ["core1", "sw2"]  # all-or-nothing: access9 released
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"
    holder.wait()
    with locks.acquire(["access9", "sw2"], "R-second"):
        pass


def test_dead_holder_is_reported_stale_and_broken_only_on_request(spawn: Spawn, locks: DeviceLocks) -> None:
    holder = spawn("R-dead", ["core1"])
    with pytest.raises(LockHeld, match="it is not stale"):
        locks.break_stale("core1")  # alive: refused
    holder.kill()
    holder.wait()
    with pytest.raises(LockHeld) as err:
        locks.take(["core1"], "R-new")
    message = str(err.value)
    assert f"core1 is locked by run R-dead (pid {holder.pid}" in message
    assert f"stale: pid {holder.pid} is not running — break it with 'isolate lock break core1'" in message
    assert locks.read("core1") is not None  # never broken silently
    info = locks.break_stale("core1")
    assert info.run == "R-dead" and info.stale
    with locks.acquire(["core1"], "R-new"):
        pass
    with pytest.raises(InputError, match="core1 is not locked"):
        locks.break_stale("core1")


def test_a_run_adopts_its_own_stale_locks_and_says_so(spawn: Spawn, locks: DeviceLocks) -> None:
    holder = spawn("R-crashed", ["core1"])
    holder.kill()
    holder.wait()
    with locks.acquire(["core1", "fw-int"], "R-crashed") as held:
        assert [(i.device, i.pid) for i in held.adopted] == [("core1", holder.pid)]
        assert locks.read("core1") is not None and locks.read("core1").pid == os.getpid()  # type: ignore[union-attr]
    assert locks.held() == []


def test_release_never_removes_a_lock_another_run_took_after_a_break(locks: DeviceLocks) -> None:
    held = locks.take(["core1"], "R1")
    locks.break_lock("core1")
    with locks.acquire(["core1"], "R2"):
        held.release()
        assert locks.read("core1") is not None and locks.read("core1").run == "R2"  # type: ignore[union-attr]


def test_bad_device_names_are_refused(locks: DeviceLocks) -> None:
    with pytest.raises(InputError, match="not valid for a lock"):
        locks.take(["../etc/passwd"], "R1")


def test_lock_cli_lists_and_breaks(spawn: Spawn, tmp_path: Path) -> None:
    holder = spawn("R-cli", ["core1"])
    isolate.cli._register_all()
    runner = CliRunner()
    state = str(tmp_path / "state")
    result = runner.invoke(isolate.cli.app, ["lock", "list", "--lock-dir", state, "--json"])
    assert result.exit_code == 0 and json.loads(result.output)[0]["run"] == "R-cli"
    result = runner.invoke(isolate.cli.app, ["lock", "break", "core1", "--lock-dir", state])
    assert isinstance(result.exception, LockHeld)  # alive: refused without --force
    holder.kill()
    holder.wait()
    result = runner.invoke(isolate.cli.app, ["lock", "list", "--lock-dir", state])
    assert "stale: pid" in result.output
    result = runner.invoke(isolate.cli.app, ["lock", "break", "core1", "--lock-dir", state])
    assert result.exit_code == 0 and "broke the lock on core1 held by run R-cli" in result.output
    result = runner.invoke(isolate.cli.app, ["lock", "list", "--lock-dir", state])
    assert result.output == "no device is locked\n"


def test_lock_info_reads_as_its_description(locks: DeviceLocks) -> None:
    with locks.acquire(["core1"], "R1"):
        (info,) = locks.held()
        assert str(info) == info.describe() and str(info).startswith("core1 is locked by run R1 (pid ")


def test_release_stale_of_run_removes_only_that_runs_dead_locks(spawn: Spawn, locks: DeviceLocks) -> None:
    dead = spawn("R-dead", ["core1", "fw-int"])
    alive = spawn("R-alive", ["acc1"])
    dead.kill()
    dead.wait()
    assert locks.release_stale_of_run("R-alive") == []
    removed = locks.release_stale_of_run("R-dead")
    assert sorted(i.device for i in removed) == ["core1", "fw-int"]
    assert [i.device for i in locks.held()] == ["acc1"]
    assert alive.poll() is None


def test_the_lock_dir_is_shared_by_default_and_never_inside_a_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from isolate.paths import DEFAULT_LOCK_DIRS, lock_dir_from

    monkeypatch.delenv("ISOLATE_LOCK_DIR", raising=False)
    monkeypatch.setenv("ISOLATE_STATE_DIR", str(tmp_path / "state"))
    assert lock_dir_from(None) in DEFAULT_LOCK_DIRS
    monkeypatch.setenv("ISOLATE_LOCK_DIR", str(tmp_path / "site-locks"))
    assert lock_dir_from(None) == tmp_path / "site-locks"
    assert lock_dir_from(tmp_path / "opt") == tmp_path / "opt"


def test_the_inventory_may_name_the_sites_lock_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--lock-dir, else $ISOLATE_LOCK_DIR, else the inventory's lock_dir (relative to it)."""
    from isolate.inventory import load_inventory, lock_dir_path
    from isolate.paths import lock_dir_from

    inventory_file = tmp_path / "site" / "city.yml"
    inventory_file.parent.mkdir()
    inventory_file.write_text("version: 1\nname: city\nlock_dir: shared/locks\n")
    site = lock_dir_path(load_inventory(inventory_file))
    assert site == tmp_path / "site" / "shared" / "locks"
    monkeypatch.delenv("ISOLATE_LOCK_DIR", raising=False)
    assert lock_dir_from(None, site=site) == site
    monkeypatch.setenv("ISOLATE_LOCK_DIR", str(tmp_path / "env"))
    assert lock_dir_from(None, site=site) == tmp_path / "env"
    assert lock_dir_from(tmp_path / "opt", site=site) == tmp_path / "opt"
    with DeviceLocks.at(None, site=site).acquire(["core1"], "R1"):
        assert (tmp_path / "env" / "core1.lock").is_file() and not site.exists()
    monkeypatch.delenv("ISOLATE_LOCK_DIR")
    with DeviceLocks.at(None, site=site).acquire(["core1"], "R1"):
        assert (site / "core1.lock").is_file()
