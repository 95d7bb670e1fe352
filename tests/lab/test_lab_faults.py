"""Each fault kind, set through `isolate lab fault` while the lab runs, seen over SSH."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from labkit import RawShell, netmiko_to, small_lab  # noqa: F401 (small_lab: the `lab` fixture)
from netmiko.exceptions import NetmikoAuthenticationException
from typer.testing import CliRunner

from isolate.cli import _register_all, app
from isolate.errors import InputError
from isolate.lab.faults import parse_fault
from isolate.lab.process import LabHandle, start_lab

_register_all()
RUNNER = CliRunner()
SMALL = Path(__file__).with_name("small.yml")


def fault(lab: LabHandle, *args: str) -> str:
    result = RUNNER.invoke(app, ["lab", "fault", "--state-dir", str(lab.state_dir), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture()
def acc2(lab: LabHandle) -> Iterator[str]:
    yield "acc2"
    fault(lab, "acc2", "clear")


def _enabled(lab: LabHandle) -> RawShell:
    shell = RawShell(lab, "acc2")
    shell.read_until(r"acc2>")
    shell.send(f"enable\n{lab.credentials.enable}\n")
    shell.read_until(r"acc2#")
    return shell


def test_auth_fail_refuses_logins_until_cleared(lab: LabHandle, acc2: str) -> None:
    assert "auth-fail" in fault(lab, acc2, "auth-fail")
    with pytest.raises(NetmikoAuthenticationException):
        netmiko_to(lab, acc2)
    fault(lab, acc2, "clear")
    conn = netmiko_to(lab, acc2)
    conn.disconnect()


def test_slow_replies_still_answer_in_order(lab: LabHandle, acc2: str) -> None:
    fault(lab, acc2, "slow", "--delay", "0.2")
    shell = _enabled(lab)
    try:
        shell.send("show privilege\n")
        out = shell.read_until(r"level is 15\r\nacc2#")
        assert out.startswith("show privilege\r\n")
    finally:
        shell.close()


def test_hang_after_n_commands_stops_answering(lab: LabHandle, acc2: str) -> None:
    shell = _enabled(lab)
    try:
        fault(lab, acc2, "hang-after", "--after", "1")
        shell.send("show privilege\n")
        shell.read_until(r"level is 15\r\nacc2#")
        shell.send("show privilege\n")
        with pytest.raises(TimeoutError):
            shell.read_until(r"level is 15", timeout=1.0)
    finally:
        shell.close()


def test_hang_on_a_line_echoes_it_and_reads_nothing_typed_after(lab: LabHandle, acc2: str) -> None:
    """As on a device stuck running a command: the line was read (its echo comes back), its
    answer never comes, and the lines typed ahead of it are never read, echoed nor run. Before,
    the lab skipped the line silently and ran the ones after it, which no device does."""
    shell = _enabled(lab)
    try:
        fault(lab, acc2, "hang-on", "--pattern", "^description stuck")
        shell.send("configure terminal\ninterface Gi1/0/6\ndescription stuck-here\ndescription never\nend\n")
        shell.read_until(r"acc2\(config-if\)#description stuck-here\r\n")
        with pytest.raises(TimeoutError):
            shell.read_until(r"description never", timeout=1.0)
    finally:
        shell.close()
    conn = netmiko_to(lab, acc2)
    conn.enable()
    try:
        shown = conn.send_command("show running-config interface Gi1/0/6")
        assert "description" not in shown, shown
    finally:
        conn.disconnect()


def test_hold_on_answers_the_command_once_cleared(lab: LabHandle, acc2: str) -> None:
    shell = _enabled(lab)
    try:
        fault(lab, acc2, "hold-on", "--pattern", "^show privilege")
        shell.send("show privilege\n")
        with pytest.raises(TimeoutError):
            shell.read_until(r"level is 15", timeout=1.0)
        fault(lab, acc2, "clear")
        shell.read_until(r"level is 15\r\nacc2#")  # held, not dropped: answered as usual
    finally:
        shell.close()


def test_drop_after_n_commands_closes_mid_command(lab: LabHandle, acc2: str) -> None:
    shell = _enabled(lab)
    try:
        fault(lab, acc2, "drop-after", "--after", "1")
        shell.send("show privilege\n")
        shell.read_until(r"level is 15\r\nacc2#")
        shell.send("show running-config\n")
        with pytest.raises(EOFError):
            shell.read_until(r"Building configuration")
    finally:
        shell.close()


def test_reject_pattern_gets_invalid_input(lab: LabHandle, acc2: str) -> None:
    fault(lab, acc2, "reject", "--pattern", "^switchport access")
    conn = netmiko_to(lab, acc2)
    conn.enable()
    try:
        out = conn.send_config_set(["interface Gi1/0/6", "switchport access vlan 10"])
        assert "% Invalid input detected at '^' marker." in out
        assert "switchport access vlan 10" not in conn.send_command(
            "show running-config interface Gi1/0/6")
        assert "% Invalid" not in conn.send_config_set(["interface Gi1/0/6", "description ok"])
    finally:
        conn.disconnect()


def test_status_lists_faults_and_bad_fault_is_refused(lab: LabHandle, acc2: str) -> None:
    fault(lab, acc2, "slow", "--delay", "0.1")
    status = RUNNER.invoke(app, ["lab", "status", "--state-dir", str(lab.state_dir)])
    assert status.exit_code == 0
    assert any(line.split()[0] == "acc2" and line.rstrip().endswith("slow")
               for line in status.output.splitlines()[1:])
    bad = _cli_fault(lab, acc2, "slow")  # through the real entry point: one line, its exit code
    assert (bad.returncode, bad.stdout, bad.stderr) == (
        2, "", "error: fault slow: --delay S (0 < S <= 600 seconds) is required\n")
    unknown = _cli_fault(lab, "nope", "clear")
    assert (unknown.returncode, unknown.stdout, unknown.stderr) == (1, "", "error: fault: no device 'nope'\n")


def _cli_fault(lab: LabHandle, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "isolate", "lab", "fault", "--state-dir", str(lab.state_dir),
                           *args], capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)  # fmt: skip


def test_exec_channel_obeys_faults(lab: LabHandle, acc2: str) -> None:
    fault(lab, acc2, "reject", "--pattern", "privilege")
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=lab.port(acc2), username=lab.credentials.username,
                   password=lab.credentials.password, look_for_keys=False, allow_agent=False)
    try:
        _, stdout, _ = client.exec_command("show privilege")
        assert "% Invalid input detected" in stdout.read().decode()
    finally:
        client.close()


def test_faults_set_at_start_from_topology_and_option(tmp_path: Path) -> None:
    text = SMALL.read_text().replace(
        "options: {vtp: transparent}}",
        'options: {vtp: transparent}, faults: [{kind: reject, pattern: "^vlan"}]}',
    )
    topo = tmp_path / "faulty.yml"
    topo.write_text(text)
    with start_lab(tmp_path / "s", topo, faults=[parse_fault("acc1=auth-fail")]) as faulty:
        conn = netmiko_to(faulty, "core1")
        conn.enable()
        try:
            assert "% Invalid input" in conn.send_config_set(["vlan 300"])
        finally:
            conn.disconnect()
        with pytest.raises(NetmikoAuthenticationException):
            netmiko_to(faulty, "acc1")


@pytest.mark.parametrize("text", ["acc1", "acc1=nope", "acc1=slow:x", "acc1=hang-after"])
def test_bad_fault_option_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError):
        parse_fault(text)
