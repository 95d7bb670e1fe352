"""Configuration lines go to an IOS device in one write up to the next mode boundary
(isolate/drivers/cli.py). A line refused in the middle of such a write is named; the lines
written after it ran and are named too; nothing after the write's context line was sent; the
journal holds the device's state read back, and restore brings the device back exactly.
Through the CLI on the city lab, the device read back with netmiko."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import PLAYBOOKS, newest_run, read_all, read_device, records, run_cli

from isolate.lab.faults import make_fault
from isolate.lab.process import LabHandle, set_fault

LATERAL = str(PLAYBOOKS / "ransomware-lateral.yml")
TOUCHED = ["acc3", "core2", "fw-edge", "fw-int", "vpn1"]
ACL = "ISOLATE-CUT-SMB"
REFUSED = "deny udp any 10.10.60.0 0.0.0.255 eq 137"
AFTER = [  # the ACL's lines after the refused one, then the context line that ends the write
    "deny udp any 10.10.60.0 0.0.0.255 eq 138",
    "deny tcp any 10.10.80.0 0.0.0.255 eq 445",
    "deny tcp any 10.10.80.0 0.0.0.255 eq 139",
    "deny udp any 10.10.80.0 0.0.0.255 eq 137",
    "deny udp any 10.10.80.0 0.0.0.255 eq 138",
    "deny tcp any 10.10.100.0 0.0.0.255 eq 445",
    "deny tcp any 10.10.100.0 0.0.0.255 eq 139",
    "deny udp any 10.10.100.0 0.0.0.255 eq 137",
    "deny udp any 10.10.100.0 0.0.0.255 eq 138",
    "permit ip any any",
]


PORTS = {"netbios-ns": "137", "netbios-dgm": "138", "netbios-ssn": "139"}  # as IOS prints them


def _entries(config: str) -> list[str]:
    """The ACL's entries as pushed: words single-spaced, well-known ports as numbers."""
    block = config.split(f"ip access-list extended {ACL}\n", 1)[1].split("\n!", 1)[0]
    return [" ".join(PORTS.get(w, w) for w in line.split()) for line in block.splitlines() if line.strip()]


@pytest.fixture()
def state(tmp_path: Path, lab: LabHandle) -> Iterator[Path]:
    baseline = read_all(lab.state_dir, TOUCHED)
    yield tmp_path / "state"
    set_fault(lab.state_dir, "core2", make_fault("clear"))
    if read_all(lab.state_dir, TOUCHED) != baseline:
        run_cli("restore", "last", "--yes", state=tmp_path / "state")


def test_a_line_refused_mid_write_is_named_with_the_lines_that_ran_after_it(
    lab: LabHandle, state: Path
) -> None:
    baseline = read_all(lab.state_dir, TOUCHED)
    inventory = str(lab.state_dir / "inventory.yml")
    set_fault(lab.state_dir, "core2", make_fault("reject", pattern=REFUSED.replace(".", r"\.")))
    result = run_cli("apply", "-i", inventory, LATERAL, "--yes", state=state)
    assert result.returncode == 1, result.stdout + result.stderr  # partial: cut-smb's policy is continue
    run_dir = newest_run(state)
    assert run_dir is not None
    journal = records(run_dir)
    forward: list[str] = next(
        r["data"]["forward"] for r in journal if r["kind"] == "intent" and r["data"]["device"] == "core2"
    )
    context = forward[forward.index(AFTER[-1]) + 1]  # the first interface binding: ends the write
    assert context.startswith("interface Vlan")
    ran = ", ".join(f"'{line}' (accepted)" for line in [*AFTER, context])
    message = (
        f"core2: '{REFUSED}' rejected: % Invalid input detected at '^' marker.; "
        f"sent in the same write after it, and run: {ran}"
    )
    assert f"✗ {message}" in result.stderr, result.stderr
    failed = next(r["data"] for r in journal if r["kind"] == "failed" and r["data"]["device"] == "core2")
    assert (failed["phase"], failed["message"]) == ("push", message)
    assert not any(r["kind"] == "applied" and r["data"]["device"] == "core2" for r in journal)
    # the state journaled with the failure is the device's, read back: the lines after the refused
    # one are there, the refused one is not, and no binding (after the write's context) was sent
    captured = (run_dir / "state" / f"{failed['state']}.txt").read_text()
    device = read_device(lab.state_dir, "core2")
    for text in (captured, device):
        entries = _entries(text)
        assert all(line in entries for line in AFTER), entries
        assert REFUSED not in entries
        assert f"ip access-group {ACL}" not in text
    set_fault(lab.state_dir, "core2", make_fault("clear"))
    restored = run_cli("restore", "--yes", state=state)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert read_all(lab.state_dir, TOUCHED) == baseline  # the inverse from the captured state undid it all
