"""Fast checks of the Linux device through its shell and exec contract: prompts, sudo
shells, the in-memory filesystem limits, persistence of rulesets, files and revert jobs."""

from __future__ import annotations

import json

from isolate.lab.linux import LinuxDevice, LinuxSpec

SPEC = LinuxSpec("fw9", (("eth0", "10.99.0.9/24"),), (("default", "10.99.0.1", "eth0"),))


def test_login_and_root_prompts() -> None:
    shell = LinuxDevice("fw9", SPEC).open_shell("admin")
    assert shell.prompt() == "admin@fw9:~$ "
    assert shell.feed("sudo su -").output == ""
    assert shell.prompt() == "root@fw9:~# "
    assert shell.feed("whoami").output == "root\n"
    assert shell.feed("exit").output == "exit\n"
    assert shell.prompt() == "admin@fw9:~$ "
    reply = shell.feed("exit")
    assert reply.close and reply.output == "logout\n"


def test_files_only_under_tmp_and_var_lib_isolate() -> None:
    dev = LinuxDevice("fw9", SPEC)
    assert dev.exec("admin", "tee /etc/passwd", "x").stderr == "tee: /etc/passwd: Permission denied\n"
    assert dev.exec("admin", "tee /var/lib/isolate/a", "x").exit_status == 1  # no such dir yet
    assert dev.exec("admin", "sudo -n mkdir -p /var/lib/isolate", "").exit_status == 0
    assert dev.exec("admin", "tee /var/lib/isolate/a", "x").stderr.endswith("Permission denied\n")
    assert dev.exec("admin", "sudo -n tee /var/lib/isolate/a", "x\n").exit_status == 0
    assert dev.exec("root", "cat /var/lib/isolate/a", "").stdout == "x\n"
    assert dev.exec("admin", "echo hi > /tmp/b && cat /tmp/b", "").stdout == "hi\n"
    assert dev.exec("admin", "rm -f /tmp/b /tmp/none", "").exit_status == 0
    assert dev.exec("admin", "cat /tmp/b", "").exit_status == 1


def test_exec_reads_stdin_only_for_commands_that_do() -> None:
    dev = LinuxDevice("fw9", SPEC)
    assert dev.exec_reads_stdin("sudo -n nft -f -")
    assert dev.exec_reads_stdin("sudo -n tee /var/lib/isolate/r.nft")
    assert not dev.exec_reads_stdin("sudo -n nft list ruleset")
    assert not dev.exec_reads_stdin("nohup sh -c 'sleep 5 && nft -f /tmp/r' >/dev/null 2>&1 & echo $!")


def test_snapshot_keeps_ruleset_handles_files_and_jobs() -> None:
    dev = LinuxDevice("fw9", SPEC)
    script = "add table inet t\nadd chain inet t c\nadd rule inet t c tcp dport 22 accept\n"
    assert dev.exec("root", "nft -f -", script).exit_status == 0
    assert dev.exec("root", "tee /tmp/r.nft", "flush ruleset\n").exit_status == 0
    job = dev.exec("root", "nohup sh -c 'sleep 30 && nft -f /tmp/r.nft' >/dev/null 2>&1 & echo $!", "")
    restored = LinuxDevice.from_snapshot("fw9", json.loads(json.dumps(dev.snapshot())))
    listing = "nft -a list ruleset"
    assert restored.exec("root", listing, "").stdout == dev.exec("root", listing, "").stdout
    assert restored.exec("root", f"kill {job.stdout.strip()}", "").exit_status == 0
    assert restored.exec("root", "cat /tmp/r.nft", "").stdout == "flush ruleset\n"
