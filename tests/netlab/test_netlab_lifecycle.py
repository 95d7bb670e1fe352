"""The lab's whole life through the CLI: up, status, flows, down — and nothing left."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from netlabkit import Lab

from isolate.errors import LabError, TopologyError
from isolate.netlab import build, netns
from isolate.netlab.state import Ledger, alive
from isolate.netlab.topology import DEFAULT_TOPOLOGY, load_topology

pytestmark = pytest.mark.netlab


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isolate", "netlab", *args], capture_output=True, text=True, timeout=120
    )


def _root_links() -> set[str]:
    return {line.split()[0].split("@")[0] for line in netns.run(["ip", "-br", "link"]).stdout.splitlines()}


def test_up_flows_down_leaves_no_namespace_link_or_process(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    links_before = _root_links()
    try:
        done = _cli("up", "--dir", str(directory), "--json")
        assert done.returncode == 0, done.stderr
        lab_id = json.loads(done.stdout)["lab_id"]
        ledger = Ledger.load(directory)
        assert ledger.status == "up" and len(ledger.namespaces) == 17
        assert all(n.startswith(f"iso-{lab_id}-") for n in ledger.namespaces)
        assert _root_links() == links_before, "the root namespace got a lab interface"

        status = build.status(directory)
        assert status.healthy and status.status == "up"

        flows = _cli("flows", "--dir", str(directory), "--json", "--timeout", "1")
        assert flows.returncode == 0, flows.stderr
        matrix = {row["key"]: row for row in json.loads(flows.stdout)["flows"]}
        closed = [k for k, row in matrix.items() if not row["ok"]]
        assert closed == [], f"baseline flows closed: {closed}"
        assert matrix["ws-17->fs1:445/tcp"]["ok"] and matrix["ws-17->fs1:139/tcp"]["ok"]
        assert matrix["admin1->sw1:22/tcp"]["kind"] == "management"
    finally:
        down = _cli("down", "--dir", str(directory), "--json")
    assert down.returncode == 0, down.stderr
    assert json.loads(down.stdout)["problems"] == []
    ledger = Ledger.load(directory)
    assert ledger.status == "down"
    assert not set(ledger.namespaces) & set(netns.namespaces())
    assert [p.name for p in ledger.procs if alive(p)] == []
    assert _root_links() == links_before
    assert build.down(directory).problems == ()  # twice is harmless

    again = build.up(directory)  # the same directory serves a fresh lab
    try:
        assert again.lab_id != lab_id and build.status(directory).healthy
    finally:
        assert build.down(directory).problems == ()


def test_up_refuses_a_directory_whose_lab_is_running(netlab: Lab) -> None:
    with pytest.raises(LabError, match="still up"):
        build.up(netlab.dir)


def test_topology_refuses_addresses_outside_the_lab_ranges(tmp_path: Path) -> None:
    text = DEFAULT_TOPOLOGY.read_text().replace("10.99.10.11", "192.0.2.11")
    bad = tmp_path / "bad.yml"
    bad.write_text(text)
    with pytest.raises(TopologyError, match=r"192\.0\.2\.11"):
        load_topology(bad)


def test_failed_up_removes_what_it_created(tmp_path: Path) -> None:
    """A lab whose start fails half-way (a listener cannot bind its port twice) removes
    every namespace and process it had created, then raises."""
    text = DEFAULT_TOPOLOGY.read_text().replace(
        "services: [{name: dns, port: 53}]", "services: [{name: dns, port: 53}, {name: dup, port: 53}]"
    )
    topo = tmp_path / "dup.yml"
    topo.write_text(text)
    directory = tmp_path / "lab"
    with pytest.raises(LabError, match="listen-dns1 exited"):
        build.up(directory, topo)
    ledger = Ledger.load(directory)
    assert len(ledger.namespaces) == 17
    assert not set(ledger.namespaces) & set(netns.namespaces())
    assert [p.name for p in ledger.procs if alive(p)] == []


def test_a_lab_whose_directory_is_lost_is_listed_and_removed_by_id(tmp_path: Path) -> None:
    directory = tmp_path / "lost"
    result = build.up(directory)
    procs = Ledger.load(directory).procs
    shutil.rmtree(directory)  # e.g. a killed test run's tmp dir was cleaned
    try:
        assert len(build.labs_present()[result.lab_id]) == result.namespaces
    finally:
        done = build.down_orphan(result.lab_id)
    assert done.problems == ()
    assert result.lab_id not in build.labs_present()
    assert [p.name for p in procs if alive(p)] == []


def test_a_failed_lab_command_never_shows_its_password() -> None:
    """samba-tool takes the lab's passwords on its command line: a failure message must not."""
    with pytest.raises(LabError) as info:
        netns.run([sys.executable, "-c", "import sys; sys.exit(3)", "--adminpass=Lab-S3cret!"],
                  secrets=["Lab-S3cret!"])
    assert "Lab-S3cret!" not in str(info.value)
    assert str(info.value).endswith("--adminpass=***: exit 3: ")
