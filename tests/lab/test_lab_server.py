"""The SSH server's line discipline, auth, exec channel and persistence, over paramiko."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import paramiko
import pytest
from labkit import RawShell, small_lab  # noqa: F401 (small_lab: the `lab` fixture)

from isolate.errors import LabError
from isolate.lab.process import LabHandle, flush_lab, start_lab


def test_banner_and_first_prompt_arrive_without_input(lab: LabHandle) -> None:
    shell = RawShell(lab, "acc1")
    try:
        assert shell.read_until(r"acc1>") == "\r\nacc1>"
    finally:
        shell.close()


@pytest.mark.parametrize("enter", ["\r", "\n", "\r\n"])
def test_each_line_ending_is_one_enter(lab: LabHandle, enter: str) -> None:
    shell = RawShell(lab, "acc1")
    try:
        shell.read_until(r"acc1>")
        shell.send(f"show privilege{enter}")
        out = shell.read_until(r"acc1>")
        assert out == "show privilege\r\nCurrent privilege level is 1\r\nacc1>"
        shell.send(enter)
        assert shell.read_until(r"acc1>") == "\r\nacc1>"
    finally:
        shell.close()


def test_crlf_split_across_packets_and_typed_char_by_char(lab: LabHandle) -> None:
    shell = RawShell(lab, "acc1")
    try:
        shell.read_until(r"acc1>")
        for char in "show privilege\r":
            shell.send(char)
        assert shell.read_until(r"acc1>").endswith("level is 1\r\nacc1>")
        shell.send("\n")  # the LF of a CRLF split from its CR: not a second Enter
        shell.send("show privilege\r\n")
        assert shell.read_until(r"acc1>") == "show privilege\r\nCurrent privilege level is 1\r\nacc1>"
    finally:
        shell.close()


def test_enable_secret_is_never_echoed(lab: LabHandle) -> None:
    shell = RawShell(lab, "acc1")
    try:
        shell.read_until(r"acc1>")
        shell.send("enable\n")
        assert shell.read_until(r"Password: ") == "enable\r\nPassword: "
        shell.send(lab.credentials.enable + "\n")
        out = shell.read_until(r"acc1#")
        assert lab.credentials.enable not in out
        assert out == "\r\nacc1#"
        shell.send("enable\n")
        shell.read_until(r"acc1#")
        shell.send("disable\n")
        shell.read_until(r"acc1>")
        shell.send("enable\nwrong\n")
        assert "% Access denied\r\nacc1>" in shell.read_until(r"Access denied\r\nacc1>")
    finally:
        shell.close()


def test_several_lines_in_one_packet_answer_in_order(lab: LabHandle) -> None:
    shell = RawShell(lab, "acc1")
    try:
        shell.read_until(r"acc1>")
        shell.send(f"enable\n{lab.credentials.enable}\nterminal length 0\nshow privilege\n")
        out = shell.read_until(r"level is 15\r\nacc1#")
        assert out.index("terminal length 0") < out.index("show privilege")
    finally:
        shell.close()


def test_wrong_password_is_refused(lab: LabHandle) -> None:
    with pytest.raises(paramiko.AuthenticationException):
        RawShell(lab, "acc1", password="nope")


def test_public_key_auth_with_the_lab_key(lab: LabHandle) -> None:
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.state_dir / "known_hosts"))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect("127.0.0.1", port=lab.port("core1"), username=lab.credentials.username,
                       key_filename=str(lab.state_dir / "lab_key"), look_for_keys=False,
                       allow_agent=False, timeout=10)
        _, stdout, _ = client.exec_command("show privilege")
        assert stdout.read().decode() == "Current privilege level is 15\n"
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()


def test_known_hosts_lists_every_device_port(lab: LabHandle) -> None:
    lines = (lab.state_dir / "known_hosts").read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(
        f"[127.0.0.1]:{port}" for port in lab.ports.values())
    assert all(line.split()[1] == "ssh-ed25519" for line in lines)
    assert (lab.state_dir / "secrets.yml").stat().st_mode & 0o777 == 0o600


def test_config_persists_across_a_kill_9_and_restart(tmp_path: Path) -> None:
    small = Path(__file__).with_name("small.yml")
    first = start_lab(tmp_path, small)
    try:
        shell = RawShell(first, "acc2")
        shell.read_until(r"acc2>")
        shell.send(f"enable\n{first.credentials.enable}\nconfigure terminal\nvlan 777\n"
                   " name persisted\nend\n")
        shell.read_until(r"\(config-vlan\)#end\r\nacc2#")
        shell.close()
        snapshot = json.loads((tmp_path / "devices" / "acc2.json").read_text())
        assert [777, "persisted"] in snapshot["running"]["vlans"]
        os.kill(first.pid, signal.SIGKILL)  # persisted on change, not at shutdown
    finally:
        first.stop()
    assert not (tmp_path / "lab.pid").exists()
    with start_lab(tmp_path, small) as second:
        assert second.ports == first.ports
        shell = RawShell(second, "acc2")
        shell.read_until(r"acc2>")
        shell.send(f"enable\n{second.credentials.enable}\nshow running-config | section vlan 777\n")
        assert "vlan 777\r\n name persisted\r\n" in shell.read_until(r"persisted\r\nacc2#")
        shell.close()


def _add_vlan(lab: LabHandle, device: str, vid: int, name: str) -> None:
    shell = RawShell(lab, device)
    try:
        shell.read_until(rf"{device}>")
        shell.send(f"enable\n{lab.credentials.enable}\nconfigure terminal\nvlan {vid}\n name {name}\nend\n")
        shell.read_until(rf"\(config-vlan\)#end\r\n{device}#")
    finally:
        shell.close()


def _persisted_vlans(state: Path, device: str) -> list[list[object]]:
    path = state / "devices" / f"{device}.json"
    return json.loads(path.read_text())["running"]["vlans"] if path.exists() else []


def test_a_lab_persisting_at_stop_writes_changes_on_flush_and_on_a_graceful_stop(tmp_path: Path) -> None:
    """The benchmark's lab: a change is answered at once and kept in memory, written when a
    client asks for a flush (each changed device once) or when the lab stops gracefully."""
    small = Path(__file__).with_name("small.yml")
    with start_lab(tmp_path, small, persist="at-stop") as lab:
        _add_vlan(lab, "acc2", 777, "flushed")
        assert [777, "flushed"] not in _persisted_vlans(tmp_path, "acc2")  # not written per change
        assert flush_lab(tmp_path) == {"ok": True, "written": 1}
        assert [777, "flushed"] in _persisted_vlans(tmp_path, "acc2")
        assert flush_lab(tmp_path) == {"ok": True, "written": 0}
        _add_vlan(lab, "acc2", 778, "at-stop")
    assert [778, "at-stop"] in _persisted_vlans(tmp_path, "acc2")  # written by the graceful stop
    with start_lab(tmp_path, small) as again:  # the default again: written before each answer
        assert json.loads((tmp_path / "lab.json").read_text())["persist"] == "on-change"
        _add_vlan(again, "acc2", 779, "on-change")
        assert [779, "on-change"] in _persisted_vlans(tmp_path, "acc2")
        assert [778, "at-stop"] in _persisted_vlans(tmp_path, "acc2")
        assert flush_lab(tmp_path) == {"ok": True, "written": 0}


def test_an_unknown_persist_mode_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(LabError, match=r"^persist: 'never' is not one of on-change, at-stop$"):
        start_lab(tmp_path, Path(__file__).with_name("small.yml"), persist="never")
    assert not (tmp_path / "lab.pid").exists()


def test_lines_of_one_packet_are_persisted_before_their_answers(tmp_path: Path) -> None:
    """The server persists once per packet, before it answers: whatever prompt the client has
    read, a kill -9 right after it and a restart keep every change it acknowledged."""
    small = Path(__file__).with_name("small.yml")
    first = start_lab(tmp_path, small)
    try:
        shell = RawShell(first, "acc2")
        shell.read_until(r"acc2>")
        shell.send(f"enable\n{first.credentials.enable}\n")
        shell.read_until(r"acc2#")
        names = [f"batch{vid}" for vid in range(780, 786)]
        lines = "".join(f"vlan {vid}\n name batch{vid}\n" for vid in range(780, 786))
        shell.send(f"configure terminal\n{lines}interface GigabitEthernet1/0/3\n"
                   " description packed\nend\n")
        shell.read_until(r"\(config-if\)#end\r\nacc2#")
        os.kill(first.pid, signal.SIGKILL)  # at once: no shutdown hook could save anything
    finally:
        first.stop()
    with start_lab(tmp_path, small) as second:
        shell = RawShell(second, "acc2")
        shell.read_until(r"acc2>")
        shell.send(f"enable\n{second.credentials.enable}\nshow vlan brief\n"
                   "show running-config interface GigabitEthernet1/0/3\n")
        out = shell.read_until(r"end\r\n\r\nacc2#")
        shell.close()
    assert all(name in out for name in names)
    assert " description packed\r\n" in out
