"""SSH jump hosts (inventory ``via:``): the hops' targets, their one-line errors, and the
paramiko chain shared by the paramiko exec sessions and netmiko.

Each hop is a real SSH connection authenticated with its own credentials; the next hop (or
the device) is reached through a ``direct-tcpip`` channel of the previous one, exactly what
``ssh -J`` does. Every hop's host key is checked against the inventory's known_hosts under
the address and port the inventory gives it; ``--insecure-host-keys`` never covers a hop.
The asyncssh transport builds the same chain with asyncssh's ``tunnel=``
(``asyncssh_cli.py``) and speaks the same errors (``hop_error``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import paramiko

from isolate.drivers.base import Hop, Target
from isolate.drivers.hostkeys import HOP_ADVICE, INSECURE_ADVICE
from isolate.errors import ConnectError, DeviceError
from isolate.platforms.ssh import MODERN


def hop_target(target: Target, hop: Hop) -> Target:
    """The hop as a target of its own: its address, credentials, modern algorithms, strict
    host-key checking against the device's known_hosts."""
    return replace(
        target,
        name=hop.name,
        host=hop.host,
        port=hop.port,
        username=hop.username,
        password=hop.password,
        secret=None,
        key_file=hop.key_file,
        use_agent=hop.use_agent,
        host_key_checking=True,
        via=(),
        test_credentials=(),
        ssh=MODERN,
    )


def hop_label(target: Target, index: int) -> str:
    hop = target.via[index]
    return f"via jump host {hop.name} (hop {index + 1} of {len(target.via)})"


def hop_error(target: Target, index: int, exc: DeviceError) -> DeviceError:
    """``exc`` (raised for the hop as a target) re-said for the device:
    ``core1: via jump host bastion2 (hop 2 of 2): authentication failed for user 'jump' at …``."""
    text = str(exc)
    hop = target.via[index]
    if text.startswith(f"{hop.name}: "):
        text = text[len(hop.name) + 2 :]
    text = text.replace(INSECURE_ADVICE, HOP_ADVICE)
    return type(exc)(f"{target.name}: {hop_label(target, index)}: {text}", device=target.name)


# RFC 4254 5.1: why a channel open failed (both libraries' codes, one wording)
OPEN_FAILURES = {
    1: "Administratively prohibited",
    2: "Connect failed",
    3: "Unknown channel type",
    4: "Resource shortage",
}


def forward_refused(target: Target, index: int, host: str, port: int, code: int, reason: str) -> ConnectError:
    """The hop at ``index`` answered the forward to the next hop/device with a refusal."""
    return forward_error(target, index, host, port, OPEN_FAILURES.get(code) or reason or f"refused ({code})")


def forward_error(target: Target, index: int, host: str, port: int, reason: str) -> ConnectError:
    """The hop at ``index`` refused or failed to open the forward to the next hop/device."""
    return ConnectError(
        f"{target.name}: {hop_label(target, index)}: cannot forward to {host}:{port}: {reason}",
        device=target.name,
    )


def next_address(target: Target, index: int) -> tuple[str, int]:
    """Where hop ``index`` must forward to: the next hop, or the device after the last."""
    if index + 1 < len(target.via):
        nxt = target.via[index + 1]
        return nxt.host, nxt.port
    return target.host, target.port


class HopChain:
    """Open paramiko clients of the hops, first hop first; ``close`` closes them last first."""

    def __init__(self) -> None:
        self.clients: list[paramiko.SSHClient] = []

    def close(self) -> None:
        for client in reversed(self.clients):
            with contextlib.suppress(Exception):
                client.close()
        self.clients.clear()


def open_hops(
    target: Target, connect: Callable[[Target, Any], paramiko.SSHClient]
) -> tuple[HopChain, paramiko.Channel]:
    """Connect every hop of ``target`` in turn (``connect(hop_target, sock)`` is the paramiko
    client connector) and return the chain and a ``direct-tcpip`` channel to the device."""
    chain = HopChain()
    sock: Any = None
    try:
        for index, hop in enumerate(target.via):
            try:
                client = connect(hop_target(target, hop), sock)
            except DeviceError as exc:
                raise hop_error(target, index, exc) from exc
            chain.clients.append(client)
            sock = _forward(target, index, client)
    except BaseException:
        chain.close()
        raise
    channel: paramiko.Channel = sock
    return chain, channel


def _forward(target: Target, index: int, client: paramiko.SSHClient) -> paramiko.Channel:
    host, port = next_address(target, index)
    transport = client.get_transport()
    if transport is None:
        raise forward_error(target, index, host, port, "the jump host closed the connection")
    try:
        return transport.open_channel(
            "direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=min(target.timeout_s, 15.0)
        )
    except paramiko.ChannelException as exc:
        raise forward_refused(target, index, host, port, exc.code, exc.text) from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise forward_error(target, index, host, port, str(exc) or type(exc).__name__) from exc
