"""A compromised account on a directory-backed VPN (the identity lab with OpenVPN, root).

Real parts: Samba AD DC; Debian's OpenVPN server asking the DC through the Debian
``openvpn-auth-ldap`` plugin; real OpenVPN clients for carol and dave in their own
namespaces; the DC's SMB listener (TCP 445) is the inside service. isolate (its CLI, in
the admin namespace) runs playbooks/compromised-account.yml for carol:

- before: carol's client logs in and reaches 10.77.0.2:445 through its tunnel;
- after apply: her session is gone (the OpenVPN server's own ``status``), her client
  process ends, a new login is refused (AUTH_FAILED), her LDAP bind fails, she reaches
  nothing inside; dave's session and his reach are untouched;
- after restore: carol logs in again and reaches the same listener; her directory entry
  (userAccountControl, memberOf, read with samba-tool) reads back identical.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from idlabkit import can_bind, cli, show

from isolate.netlab import build, directory, netns, openvpn_lab
from isolate.netlab.directory import DC_ADDRESS, VPN_INSIDE, VPN_OUTSIDE, DirectoryLab
from isolate.netlab.state import Ledger, Proc, alive

pytestmark = pytest.mark.netlab

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "compromised-account.yml"
WAIT_S = 60.0


@pytest.fixture(scope="module")
def vpnlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectoryLab]:
    problems = directory.missing() + openvpn_lab.missing()
    if problems:
        pytest.skip("IDENTITY VPN LAB SKIPPED: " + "; ".join(problems))
    lab_dir = tmp_path_factory.mktemp("idvpn")
    try:
        yield directory.up_directory(lab_dir, vpn=True)
    finally:
        if (lab_dir / "netlab.json").exists():
            result = build.down(lab_dir)
            assert not result.problems, result.problems
        shutil.rmtree(lab_dir, ignore_errors=True)


def client(lab: DirectoryLab, user: str, name: str) -> Proc:
    ledger = Ledger.load(lab.dir)
    return openvpn_lab.start_client(ledger, lab.prefix, user, remote=VPN_OUTSIDE, name=name)


def reaches_445(lab: DirectoryLab, user: str) -> bool:
    """One TCP connection from the user's client namespace to the DC's SMB port."""
    try:
        netns.connect_in(lab.ns(openvpn_lab.CLIENT_NS[user]), DC_ADDRESS, 445, timeout_s=2).close()
    except OSError:
        return False
    return True


def wait_reach(lab: DirectoryLab, user: str, proc: Proc) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if reaches_445(lab, user):
            return
        assert alive(proc), openvpn_lab.log_of(Ledger.load(lab.dir), proc)[-800:]
        time.sleep(0.2)
    raise AssertionError(f"{user} never reached {DC_ADDRESS}:445 through the VPN")


def wait_exit(lab: DirectoryLab, proc: Proc) -> str:
    """Wait for a client process to end; its log."""
    deadline = time.monotonic() + WAIT_S
    while alive(proc) and time.monotonic() < deadline:
        time.sleep(0.2)
    log = openvpn_lab.log_of(Ledger.load(lab.dir), proc)
    assert not alive(proc), f"client {proc.name} still running: {log[-800:]}"
    return log


def sessions(lab: DirectoryLab) -> set[str]:
    """Common names with a session, from the server's management interface (``status 3``)."""
    password = lab.passwords["openvpn-management"]
    # the socket is made inside the admin namespace (never in the root one)
    with netns.connect_in(lab.ns("adm"), VPN_INSIDE, openvpn_lab.MGMT_PORT, timeout_s=10) as sock:
        assert sock.recv(64).startswith(b"ENTER PASSWORD:")
        stream = sock.makefile("rw", newline="\n")
        stream.write(password + "\n")
        stream.flush()
        assert stream.readline().startswith("SUCCESS:")
        stream.write("status 3\n")
        stream.flush()
        lines: list[str] = []
        while (line := stream.readline()) not in ("END\r\n", ""):  # "": closed
            lines.append(line)
    # a client not (yet) authenticated is listed as UNDEF without a virtual address: no session
    rows = [line.split("\t") for line in lines if line.startswith("CLIENT_LIST\t")]
    return {row[1] for row in rows if len(row) > 3 and row[3]}


def test_compromised_account_cut_from_a_directory_backed_vpn(vpnlab: DirectoryLab, tmp_path: Path) -> None:
    carol = client(vpnlab, "carol", "carol-1")
    dave = client(vpnlab, "dave", "dave-1")
    wait_reach(vpnlab, "carol", carol)
    wait_reach(vpnlab, "dave", dave)
    assert sessions(vpnlab) == {"carol", "dave"}
    before = show(vpnlab, "carol")

    done = cli(vpnlab, tmp_path, "apply", "-i", str(vpnlab.inventory), str(PLAYBOOK),
               "--set", "accounts=carol", "--set", "vpn_users=carol", "--yes")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    log = wait_exit(vpnlab, carol)  # killed, tried again, refused
    assert "AUTH_FAILED" in log
    assert sessions(vpnlab) == {"dave"}
    assert not reaches_445(vpnlab, "carol")
    again = client(vpnlab, "carol", "carol-2")
    assert "AUTH_FAILED" in wait_exit(vpnlab, again)
    assert not can_bind(vpnlab, "carol")
    assert reaches_445(vpnlab, "dave")

    done = cli(vpnlab, tmp_path, "restore", "last", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert show(vpnlab, "carol") == before
    back = client(vpnlab, "carol", "carol-3")
    wait_reach(vpnlab, "carol", back)
    assert sessions(vpnlab) == {"carol", "dave"}
    assert can_bind(vpnlab, "carol")
