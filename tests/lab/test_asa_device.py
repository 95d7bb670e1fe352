"""Fast checks of the ASA device through its shell contract (what the SSH server feeds it):
prompts, the logoff confirmation, persistence and the reconnect timer."""

from __future__ import annotations

import json

from isolate.lab.asa import AsaDevice, Client


def device() -> AsaDevice:
    clients = [Client("alice", "10.70.0.10", "198.51.100.10"), Client("bob", "10.70.0.11", "198.51.100.11")]
    users: list[tuple[str, str | None]] = [("alice", "staff"), ("bob", None)]
    return AsaDevice.build(
        "vpn1", enable="en", users=users, groups=["staff"], clients=clients, reconnect_s=5.0
    )


def feed(shell: object, *lines: str) -> list[str]:
    out = []
    for line in lines:
        out.append(shell.feed(line).output)  # type: ignore[attr-defined]
    return out


def test_prompts_and_secret_handling() -> None:
    shell = device().open_shell("admin")
    assert shell.prompt() == "vpn1> "
    reply = shell.feed("enable")
    assert (shell.prompt(), reply.echo_next) == ("Password: ", False)
    assert shell.feed("wrong").output == "Invalid password\n"
    assert shell.prompt() == "vpn1> "
    feed(shell, "enable", "en", "conf t", "username alice attributes")
    assert shell.prompt() == "vpn1(config-username)# "
    feed(shell, "group-policy staff attributes")
    assert shell.prompt() == "vpn1(config-group-policy)# "
    feed(shell, "exit")
    assert shell.prompt() == "vpn1(config)# "
    feed(shell, "end")
    assert shell.prompt() == "vpn1# "


def test_logoff_asks_for_confirmation() -> None:
    dev = device()
    shell = dev.open_shell("admin")
    feed(shell, "enable", "en")
    assert shell.feed("vpn-sessiondb logoff name bob").output == (
        "Do you want to logoff the VPN session(s)? [confirm]"
    )
    assert shell.feed("").output == 'INFO: Number of sessions with name "bob" logged off : 1\n'
    assert dev.active_users() == {"alice"}


def test_reconnect_timer_and_snapshot_round_trip() -> None:
    dev = device()
    assert dev.logoff("alice", 1000.0) == 1
    assert not dev.tick(1001.0)  # the client waits reconnect_s before retrying
    restored = AsaDevice.from_snapshot("vpn1", json.loads(json.dumps(dev.snapshot())))
    assert restored.active_users() == {"bob"}
    assert restored.tick(1000.0 + 5.0)
    assert restored.active_users() == {"alice", "bob"}


def test_incomplete_and_invalid_input() -> None:
    shell = device().open_shell("admin")
    feed(shell, "enable", "en")
    assert shell.feed("show").output == "ERROR: % Incomplete command\n"
    assert shell.feed("show bogus").output == (
        "           ^\nERROR: % Invalid input detected at '^' marker.\n"
    )
