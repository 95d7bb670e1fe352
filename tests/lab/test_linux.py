"""The simulated Linux firewall over real SSH: netmiko ``linux`` and paramiko exec channels,
and isolate's own linux driver (atomic push, device-owned revert, confirm)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from netmiko import ConnectHandler

from isolate.drivers.base import Target
from isolate.drivers.linux import LinuxSession
from isolate.lab.process import LabHandle, start_lab

TOPOLOGY = """\
version: 1
name: fwlab
management: {networks: [10.99.0.0/24], stations: [admin1], tool_address: 10.99.0.10}
access: {count: 1, ports: 8, first_address: 10.99.0.21}
devices:
  - {name: fw1, kind: linux, role: firewall, address: 10.99.0.5}
segments:
  - {name: management, vlan: 99, subnet: 10.99.0.0/24, zone: management}
  - {name: servers, vlan: 10, subnet: 10.10.10.0/24, firewall: fw1}
hosts:
  - {name: admin1, address: 10.99.0.10, segment: management}
"""
TIME_SCALE = 20  # a revert's `sleep 2` lasts 0.1 s


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    base = tmp_path_factory.mktemp("fwlab")
    topology = base / "fwlab.yml"
    topology.write_text(TOPOLOGY)
    handle = start_lab(base / "state", topology, time_scale=TIME_SCALE)
    try:
        yield handle
    finally:
        handle.stop()


def netmiko_linux(lab: LabHandle) -> Any:
    return ConnectHandler(
        device_type="linux", host="127.0.0.1", port=lab.port("fw1"),
        username=lab.credentials.username, password=lab.credentials.password,
        secret=lab.credentials.password, fast_cli=True,
    )  # fmt: skip


class Exec:
    """paramiko exec channels: one command each, with stdin, stdout, stderr and status."""

    def __init__(self, lab: LabHandle) -> None:
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect("127.0.0.1", port=lab.port("fw1"), username=lab.credentials.username,
                            password=lab.credentials.password, look_for_keys=False,
                            allow_agent=False, timeout=10)  # fmt: skip

    def __call__(self, command: str, stdin: str | None = None) -> tuple[str, str, int]:
        chan = self.client.get_transport().open_session()  # type: ignore[union-attr]
        chan.settimeout(20)
        chan.exec_command(command)
        if stdin is not None:
            chan.sendall(stdin.encode())
        chan.shutdown_write()
        out = chan.makefile("rb").read().decode()
        err = chan.makefile_stderr("rb").read().decode()
        return out, err, chan.recv_exit_status()

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def sh(lab: LabHandle) -> Iterator[Exec]:
    run = Exec(lab)
    try:
        yield run
    finally:
        run("sudo -n nft delete table inet t 2>/dev/null; true")
        run.close()


def test_netmiko_linux_adds_and_lists_a_table(lab: LabHandle) -> None:
    conn = netmiko_linux(lab)
    try:
        assert conn.find_prompt() == "admin@fw1:~$"
        assert conn.send_command("sudo nft add table inet t") == ""
        spec = "'{ type filter hook forward priority 0; policy accept; }'"
        assert conn.send_command(f"sudo nft add chain inet t c {spec}") == ""
        assert conn.send_command("sudo nft add rule inet t c tcp dport { 445, 139 } drop") == ""
        listing = conn.send_command("sudo nft list table inet t")
        assert listing.splitlines() == [
            "table inet t {", "\tchain c {",
            "\t\ttype filter hook forward priority filter; policy accept;",
            "\t\ttcp dport { 139, 445 } drop", "\t}", "}",
        ]  # fmt: skip
        data = json.loads(conn.send_command("sudo nft -j list ruleset"))
        assert {"table": {"family": "inet", "name": "t", "handle": 2}} in data["nftables"]
        conn.enable()  # netmiko's `sudo -s`
        assert conn.find_prompt() == "root@fw1:/home/admin#"
        assert "# handle" in conn.send_command("nft -a list table inet t")
        conn.exit_enable_mode()
        assert conn.find_prompt() == "admin@fw1:~$"
        assert conn.send_command("sudo nft delete table inet t") == ""
    finally:
        conn.disconnect()


def test_netmiko_sees_nft_and_shell_errors(lab: LabHandle) -> None:
    conn = netmiko_linux(lab)
    try:
        err = conn.send_command("sudo nft add rule inet filter forward tcp dprt 22 accept")
        assert err.splitlines() == [
            "Error: syntax error, unexpected string",
            "add rule inet filter forward tcp dprt 22 accept",
            "                                 ^^^^",
        ]
        assert conn.send_command("ifconfig") == "-bash: ifconfig: command not found"
        assert conn.send_command("nft list ruleset").startswith("Operation not permitted")
    finally:
        conn.disconnect()


def test_ip_output_parses_with_ntc_templates(lab: LabHandle) -> None:
    conn = netmiko_linux(lab)
    try:
        addresses = conn.send_command("ip address show", use_textfsm=True)
        assert isinstance(addresses, list)
        assert [(a["interface"], a["ip_addresses"]) for a in addresses] == [
            ("lo", ["127.0.0.1"]), ("eth0", ["10.99.0.5"]), ("eth1", ["10.10.10.254"]),
        ]  # fmt: skip
        routes = conn.send_command("ip route show", use_textfsm=True)
        assert isinstance(routes, list)
        assert routes[0]["network"] == "default" and routes[0]["nexthop_ip"] == "10.99.0.1"
    finally:
        conn.disconnect()


def test_exec_statuses_and_system_commands(sh: Exec) -> None:
    assert sh("hostname") == ("fw1\n", "", 0)
    assert sh("id -u") == ("1000\n", "", 0)
    assert sh("sudo -n id -u") == ("0\n", "", 0)
    assert sh("sudo -n true") == ("", "", 0)
    assert sh("frobnicate now") == ("", "bash: line 1: frobnicate: command not found\n", 127)
    addrs = json.loads(sh("ip -j addr")[0])
    assert [a["ifname"] for a in addrs] == ["lo", "eth0", "eth1"]
    assert addrs[1]["addr_info"][0]["local"] == "10.99.0.5"
    routes = json.loads(sh("ip -j route")[0])
    assert routes[0] == {"dst": "default", "gateway": "10.99.0.1", "dev": "eth0", "flags": []}
    _, err, status = sh("nft add table inet x")
    assert status == 1 and "Operation not permitted" in err


def test_nft_file_from_stdin_is_atomic(sh: Exec) -> None:
    before = sh("sudo -n nft list ruleset")[0]
    script = "add table inet t\nadd chain inet t c\nadd rule inet t c tcp dport 22 drp\n"
    out, err, status = sh("sudo -n nft -f -", script)
    assert out == ""
    assert status == 1
    line = "add rule inet t c tcp dport 22 drp"
    column = len(line) + 1  # nft points at the end of line: `drp` began a new statement
    assert err == (
        f"/dev/stdin:3:{column}-{column}: Error: syntax error, unexpected newline\n"
        f"{line}\n{' ' * len(line)}^\n"
    )
    assert sh("sudo -n nft list ruleset")[0] == before
    assert sh("sudo -n nft -f -", "add table inet t\nadd chain inet t c\n")[2] == 0
    assert "table inet t {" in sh("sudo -n nft list ruleset")[0]


def _wait_for(check: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def test_scheduled_revert_fires_unless_killed(sh: Exec) -> None:
    before = sh("sudo -n nft list ruleset")[0]
    assert sh("sudo -n mkdir -p /var/lib/isolate")[2] == 0
    assert sh("sudo -n tee /var/lib/isolate/r.nft", "flush ruleset\n" + before)[2] == 0
    # the change first, then the job: a job that fired before the change reached the device
    # (2 s pass quickly on a loaded machine) would leave the change standing
    assert sh("sudo -n nft add table inet t")[2] == 0
    job = "nohup sh -c 'sleep 2 && nft -f /var/lib/isolate/r.nft' >/dev/null 2>&1 & echo $!"
    pid, _, status = sh(f"sudo -n {job}")
    assert status == 0 and pid.strip().isdigit()
    _wait_for(lambda: sh("sudo -n nft list ruleset")[0] == before, "the revert job")
    # a killed job never applies its file
    long_job = job.replace("sleep 2", "sleep 600")
    pid = sh(f"sudo -n {long_job}")[0].strip()
    assert sh("sudo -n nft add table inet t")[2] == 0
    assert sh(f"sudo -n kill {pid}") == ("", "", 0)
    assert sh(f"sudo -n kill {pid}") == ("", f"bash: line 1: kill: ({pid}) - No such process\n", 1)
    assert "table inet t {" in sh("sudo -n nft list ruleset")[0]


def test_isolate_linux_driver_push_confirm_and_revert(lab: LabHandle, tmp_path: Path) -> None:
    target = Target("fw1", "127.0.0.1", lab.port("fw1"), "linux", lab.credentials.username,
                    password=lab.credentials.password, host_key_checking=False)  # fmt: skip
    session = LinuxSession(target)
    try:
        before = session.read_state()
        commands = ["add table inet t", "add chain inet t c { type filter hook forward priority -10; }",
                    "add rule inet t c tcp dport 445 drop"]  # fmt: skip
        session.push_confirmed(commands, window_s=600)
        assert "tcp dport 445 drop" in session.read_state()
        session.confirm()
        session.push(["delete table inet t"])
        assert session.read_state() == before
        # not confirmed: the device reverts (60 s last 3 s at the lab's time scale of 20)
        session.push_confirmed(commands, window_s=60)
        _wait_for(lambda: session.read_state() == before, "the device-owned revert")
    finally:
        session.close()
