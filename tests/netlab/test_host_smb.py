"""disable-smb-host on real Samba file servers, through Ansible, in the network lab.

fs1 and fs2 (segment servers) run Debian's smbd and a real sshd. ``isolate apply``
(from the admin station's namespace) runs playbooks/host-smb.yml: SMB inside the
servers segment — which no network device sees — fails after apply (real SMB2
negotiate on 445, NetBIOS session on 139) and works again after restore; each host's
services and isolate's nft table read back identical, and the journal verifies.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from netlabkit import Lab

from isolate.drivers.ansible import AnsibleSession
from isolate.drivers.base import Target
from isolate.errors import CommandRejected
from isolate.netlab import netns, samba

pytestmark = pytest.mark.netlab

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "host-smb.yml"
SERVERS = {"fs1": "10.99.10.11", "fs2": "10.99.10.12"}


@pytest.fixture(scope="module")
def file_servers(netlab: Lab) -> Iterator[Lab]:
    samba.start_file_servers(netlab.dir, list(SERVERS))
    try:
        yield netlab
    finally:
        problems = samba.stop_file_servers(netlab.dir)
        assert problems == [], problems


def _isolate(lab: Lab, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """isolate from the admin station; the ansible driver's job dirs go under ``state``
    too (it finds the state dir through $ISOLATE_STATE_DIR)."""
    argv = ["ip", "netns", "exec", lab.ns("admin1"), sys.executable, "-m", "isolate", *args]
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state)}
    return subprocess.run(argv, capture_output=True, text=True, timeout=240, env=env)


def _smb2_negotiate() -> bytes:
    header = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 0, 0, 0, 0, 0xFEFF, 0, 0, b"\0" * 16)
    body = struct.pack("<HHHHI16sQ", 36, 1, 1, 0, 0, b"isolate-netlab-1", 0) + struct.pack("<H", 0x0202)
    message = header + body
    return struct.pack(">I", len(message)) + message


def _netbios_session_request() -> bytes:
    def name(text: str) -> bytes:
        padded = text.ljust(15)[:15].encode() + b"\x20"
        return b"\x20" + bytes(c for b in padded for c in (0x41 + (b >> 4), 0x41 + (b & 0xF))) + b"\0"

    payload = name("*SMBSERVER") + name("ISOLATE")
    return struct.pack(">BBH", 0x81, 0, len(payload)) + payload


def smb_answers(lab: Lab, src: str, dst: str, port: int) -> bool:
    """A real SMB exchange from ``src``'s namespace: SMB2 negotiate on 445 (answer starts
    with \\xfeSMB), NetBIOS session request on 139 (positive response 0x82)."""
    try:
        sock = netns.connect_in(lab.ns(src), SERVERS[dst], port, timeout_s=1.5)
    except OSError:
        return False
    with sock:
        try:
            sock.sendall(_smb2_negotiate() if port == 445 else _netbios_session_request())
            answer = sock.recv(512)
        except OSError:
            return False
    return answer[4:8] == b"\xfeSMB" if port == 445 else answer[:1] == b"\x82"


def _smb_matrix(lab: Lab) -> dict[str, bool]:
    pairs = [("fs2", "fs1"), ("fs1", "fs2")]
    return {f"{s}->{d}:{p}": smb_answers(lab, s, d, p) for s, d in pairs for p in (445, 139)}


def _target(lab: Lab, name: str) -> Target:
    return Target(
        name=name,
        host=SERVERS[name],
        port=22,
        platform="ansible",
        username="root",
        key_file=lab.dir / "id_ed25519",
        known_hosts=lab.dir / samba.KNOWN_HOSTS,
        timeout_s=10.0,
    )


def _read_state(lab: Lab, state_dir: Path, name: str) -> str:
    with netns.entered(lab.ns("admin1")):
        session = AnsibleSession(_target(lab, name), state_dir=state_dir)
        try:
            return session.read_state()
        finally:
            session.close()


def _states(lab: Lab, state_dir: Path) -> dict[str, str]:
    """Each server's state read back by the ansible driver (one thread per host)."""
    with ThreadPoolExecutor(max_workers=len(SERVERS)) as pool:
        read = {n: pool.submit(_read_state, lab, state_dir, n) for n in SERVERS}
        return {n: f.result() for n, f in read.items()}


def _rulesets(lab: Lab) -> dict[str, str]:
    return {n: netns.run(["nft", "-s", "list", "ruleset"], ns=lab.ns(n)).stdout for n in SERVERS}


def test_disable_smb_host_cuts_smb_inside_the_segment_and_restore_brings_it_back(
    file_servers: Lab, tmp_path: Path
) -> None:
    lab = file_servers
    inventory, state = str(lab.dir / samba.INVENTORY), tmp_path / "state"
    assert all(_smb_matrix(lab).values()), _smb_matrix(lab)
    before, rules_before = _states(lab, state), _rulesets(lab)
    assert "service smbd installed=yes running=yes" in before["fs1"]
    assert "service nmbd installed=yes running=no" in before["fs1"]
    common = ["--state-dir", str(state)]
    try:
        done = _isolate(
            lab,
            state,
            "apply",
            "-i",
            inventory,
            str(PLAYBOOK),
            "--yes",
            "--incident",
            "NETLAB-SMB",
            "--reason",
            "t",
            *common,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        during = _smb_matrix(lab)
        assert not any(during.values()), f"SMB still answers inside the segment: {during}"
        ssh_ok = netns.connect_in(lab.ns("admin1"), SERVERS["fs1"], 22, timeout_s=2.0)
        ssh_ok.close()
    finally:
        restored = _isolate(lab, state, "restore", "--yes", "-i", inventory, *common)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "identical to pre-state: fs1, fs2, fw-int" in restored.stdout + restored.stderr
    assert all(_smb_matrix(lab).values()), _smb_matrix(lab)
    assert _states(lab, tmp_path / "reads") == before
    assert _rulesets(lab) == rules_before
    verified = _isolate(lab, state, "journal", "verify", "last", *common)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    journal = next((state / "runs").iterdir()) / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    for host in SERVERS:
        kinds = [r["kind"] for r in records if r["data"].get("device") == host]
        for kind in ("precheck", "intent", "applied", "verified", "restore-intent", "restored", "gate"):
            assert kind in kinds, (host, kind, kinds)
        prechecks = [r["data"] for r in records if r["kind"] == "precheck"]
        checks = [d["checks"] for d in prechecks if d["device"] == host]
        assert checks[0]["platform"] is True, (host, checks)  # 'uname -s' answered through an Ansible task


def test_a_failing_task_is_one_line_naming_host_and_task(file_servers: Lab, tmp_path: Path) -> None:
    task = {"name": "isolate probe: a command that fails", "ansible.builtin.command": {"argv": ["false"]}}
    with netns.entered(file_servers.ns("admin1")):
        session = AnsibleSession(_target(file_servers, "fs1"), state_dir=tmp_path)
        try:
            with pytest.raises(CommandRejected) as caught:
                session.push([json.dumps(task)])
        finally:
            session.close()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("fs1: task 'isolate probe: a command that fails' failed:"), message


def test_fence_host_keeps_only_management_and_restore_reopens(file_servers: Lab, tmp_path: Path) -> None:
    """fence-host on fs1: admin1 still reaches its sshd (management path); fs2 no longer
    reaches its SMB, fs1 no longer opens connections; restore brings both back."""
    lab = file_servers
    book = tmp_path / "fence.yml"
    steps = [{"id": "fence-fs1", "action": "fence-host", "targets": {"hosts": ["fs1"]}}]
    book.write_text(json.dumps({"version": 1, "name": "fence", "steps": steps}))
    inventory, state = str(lab.dir / samba.INVENTORY), tmp_path / "state"
    before = _states(lab, state)
    common = ["-i", inventory, "--state-dir", str(state)]
    try:
        done = _isolate(
            lab, state, "apply", *common, str(book), "--yes", "--incident", "N-2", "--reason", "t"
        )
        assert done.returncode == 0, done.stdout + done.stderr
        netns.connect_in(lab.ns("admin1"), SERVERS["fs1"], 22, timeout_s=2.0).close()
        assert not smb_answers(lab, "fs2", "fs1", 445)
        assert not smb_answers(lab, "fs1", "fs2", 445)  # the fenced host starts nothing
    finally:
        restored = _isolate(lab, state, "restore", "--yes", *common)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert smb_answers(lab, "fs2", "fs1", 445) and smb_answers(lab, "fs1", "fs2", 445)
    assert _states(lab, tmp_path / "reads") == before
