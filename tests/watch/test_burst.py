"""Ordering per host: "isolate, isolate, release, release" of one host in a burst (each alert
sent once the watch has taken the previous one, while the first is still being decided)
settles, in that order, to what the last asked for; the switch is read back with netmiko."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import read_device, records
from labkit import SMALL
from watchkit import RULES, Watch, start_watch, stop

from isolate.lab.process import LabHandle, start_lab

RELEASING = RULES.replace("    mode: auto\n", "    mode: auto\n    release: true\n")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), SMALL)
    try:
        yield handle
    finally:
        handle.stop()


def burst(watch: Watch, actions: list[str]) -> list[dict[str, Any]]:
    """Send each alert once the watch logged the previous one (taken, queued in order)."""
    replies: list[dict[str, Any]] = [{} for _ in actions]

    def send(i: int, action: str) -> None:
        replies[i] = watch.alert(source="10.10.100.17", signature="smb-scan", sensor="edr-1",
                                 action=action)[1]

    def taken() -> int:
        return watch.log.read_text().count(" alert from sensor edr-1 ")

    threads = []
    for i, action in enumerate(actions):
        before = taken()
        threads.append(threading.Thread(target=send, args=(i, action)))
        threads[-1].start()
        deadline = time.monotonic() + 60
        while taken() == before and time.monotonic() < deadline:
            time.sleep(0.005)
    for thread in threads:
        thread.join(timeout=300)
    return replies


def test_isolate_isolate_release_release(tmp_path: Path, lab: LabHandle) -> None:
    before = read_device(lab.state_dir, "acc1")
    watch = start_watch(tmp_path, lab, rules=RELEASING)
    try:
        first, second, third, fourth = burst(watch, ["contain", "contain", "release", "release"])
        assert first["state"] == "contained", first
        incident, run = first["incident"], first["run"]
        assert second == {"incident": incident, "state": "contained", "attached": True}
        assert third == {"incident": incident, "state": "released", "run": run,
                         "message": f"run {run} restored: identical to pre-state: acc1"}
        assert fourth == {"state": "none", "message": "no open incident for 10.10.100.17: nothing to release"}
        assert read_device(lab.state_dir, "acc1") == before
        [listed] = watch.incidents()
        assert (listed["incident"], listed["state"], listed["attached"]) == (incident, "released", 1)

        again = burst(watch, ["release", "contain"])  # the last word is contain: contained again
        assert again[0]["state"] == "none"
        assert again[1]["state"] == "contained" and again[1]["incident"] != incident
        assert "switchport access vlan 999" in read_device(lab.state_dir, "acc1")
        last = burst(watch, ["release"])[0]
        assert (last["incident"], last["state"]) == (again[1]["incident"], "released")
        assert read_device(lab.state_dir, "acc1") == before
    finally:
        stop(watch)
    log = watch.log.read_text()
    taken = [line.split(" alert from sensor ")[0].rsplit(" ", 1)[1] for line in log.splitlines()
             if " alert from sensor edr-1 " in line]
    assert taken == ["contain", "contain", "release", "release", "release", "contain", "release"]
    lines = (watch.state / "watch" / "incidents.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events if e["incident"] == incident] == [
        "opened", "applying", "contained", "attached", "released"]
    [start] = [r["data"] for r in records(watch.state / "runs" / run) if r["kind"] == "restore-start"]
    assert (start["incident"], start["reason"]) == (
        incident, "watch: rule smb-decoy: release alert smb-scan from edr-1")


def test_release_without_release_rule_is_attached(tmp_path: Path, lab: LabHandle) -> None:
    watch = start_watch(tmp_path, lab)
    try:
        status, first = watch.alert(source="10.10.100.17", signature="smb-scan")
        assert (status, first["state"]) == (200, "contained")
        status, refused = watch.alert(source="10.10.100.17", signature="smb-scan", action="release")
        assert status == 200
        assert refused == {
            "incident": first["incident"], "state": "contained", "attached": True,
            "why": f"rule smb-decoy does not let an alert release a containment (release: true): "
                   f"isolate restore {first['run']} --yes"}
        assert "switchport access vlan 999" in read_device(lab.state_dir, "acc1")
        status, bad = watch.alert(source="10.10.100.17", signature="smb-scan", action="unisolate")
        assert (status, bad) == (400, {"error": "malformed alert: field 'action': contain or release"})
    finally:
        stop(watch)
    from e2e import run_cli

    assert run_cli("restore", first["run"], "--yes", state=watch.state).returncode == 0


def test_release_while_an_approve_is_applying_is_attached(tmp_path: Path, lab: LabHandle) -> None:
    """An `isolate approve` in a terminal is applying the incident (another process): a
    release alert then is attached and says to send it again, nothing is restored."""
    from watchkit import PLAYBOOK

    from isolate.watch.alerts import Alert
    from isolate.watch.rules import load_rules
    from isolate.watch.service import Settings, Watcher

    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    (tmp_path / "rules.yml").write_text(RELEASING)
    watcher = Watcher(Settings(load_rules(tmp_path / "rules.yml"), lab.inventory, state_dir=tmp_path / "s"))
    watcher.store.append("W1", "opened", rule="smb-decoy", targets=["10.10.100.17"], alert={})
    watcher.store.append("W1", "applying", by="alice", pid=1, host="elsewhere")
    reply = watcher.handle(Alert("10.10.100.17", "", "smb-scan", 0, "edr-1", "generic", action="release"))
    assert reply == {"incident": "W1", "state": "applying", "attached": True,
                     "why": "being applied by alice: send the release again once it is contained"}
    assert [e["event"] for e in watcher.store.get("W1").events] == ["applying", "attached"]


def test_an_alert_waits_for_a_decision_in_a_terminal(tmp_path: Path, lab: LabHandle) -> None:
    """While another process (isolate approve, reject, expire) holds watch/decide.lock, an
    alert is taken (logged) but decided only once the lock is released."""
    import fcntl
    import os

    watch = start_watch(tmp_path, lab, rules=RELEASING)
    try:
        fd = os.open(watch.state / "watch" / "decide.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            replies = []
            sender = threading.Thread(target=lambda: replies.append(
                watch.alert(source="10.10.100.17", signature="smb-scan", sensor="edr-1")))
            sender.start()
            deadline = time.monotonic() + 60
            while " alert from sensor edr-1 " not in watch.log.read_text() and time.monotonic() < deadline:
                time.sleep(0.005)
            assert replies == [] and watch.incidents() == [], "decided while another process decides"
        finally:
            os.close(fd)
        sender.join(timeout=300)
        [(status, reply)] = replies
        assert (status, reply["state"]) == (200, "contained")
        assert burst(watch, ["release"])[0]["state"] == "released"
    finally:
        stop(watch)
