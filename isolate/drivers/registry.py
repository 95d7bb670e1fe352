"""Sessions by platform, derived from the one platform table (``isolate.platforms``).

A platform record names its session family (``cli``, ``nft``, ``ovs``, ``wireguard``,
``ansible``); ``SESSIONS`` is the one literal table from family to how a session is opened.
An unknown platform lists the valid ones.

CLI platforms have two transports (channels) under the same session logic (``cli.py``):
``netmiko`` (threads, paramiko) and ``asyncssh`` (one shared event loop).
``connect(target, transport=...)`` picks one; without it, ``$ISOLATE_TRANSPORT``, else
``DEFAULT_TRANSPORT``. Other session families ignore it. The default transport's module is
imported here at module level, the netmiko transport's by ``connector`` (once, in the caller's
thread): a first import inside ``connect`` made 200 worker threads queue on the import lock
(docs/benchmarks.md); commands that open no session never load netmiko.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from isolate.drivers import asyncssh_cli
from isolate.drivers.ansible import connect as connect_ansible
from isolate.drivers.base import Session, Target
from isolate.drivers.cli import Channel, CliSession, RevertOnEnterSession
from isolate.drivers.linux import LinuxSession
from isolate.drivers.openvswitch import OpenvswitchSession
from isolate.drivers.wireguard import WireguardSession
from isolate.errors import ConnectError, PlanError
from isolate.platforms import PLATFORMS, Platform, RevertOnEnter

TRANSPORTS = ("asyncssh", "netmiko")
DEFAULT_TRANSPORT = "asyncssh"
TRANSPORT_ENV = "ISOLATE_TRANSPORT"


def transport_from(option: str | None = None) -> str:
    """The CLI transport: ``option``, else ``$ISOLATE_TRANSPORT``, else the default."""
    chosen = option or os.environ.get(TRANSPORT_ENV) or DEFAULT_TRANSPORT
    if chosen not in TRANSPORTS:
        raise PlanError(f"unknown transport {chosen!r}; valid: {', '.join(TRANSPORTS)}")
    return chosen


def open_channel(target: Target, platform: Platform, transport: str | None = None) -> Channel:
    """The SSH channel of a CLI session over ``transport``."""
    if transport_from(transport) == "asyncssh":
        return asyncssh_cli.open_channel(target)
    from isolate.drivers import netmiko_cli  # loaded by connector() before any worker runs

    return netmiko_cli.open_channel(target, platform)


def _cli(target: Target, platform: Platform, transport: str | None) -> Session:
    channel = open_channel(target, platform, transport)
    if isinstance(platform.confirm, RevertOnEnter):
        return RevertOnEnterSession(target, platform, channel)
    return CliSession(target, platform, channel)


def _active_directory(target: Target, platform: Platform, transport: str | None) -> Session:
    from isolate.drivers.active_directory import connect as connect_ad

    session: Session = connect_ad(target)
    return session


def _openvpn(target: Target, platform: Platform, transport: str | None) -> Session:
    from isolate.drivers.openvpn import connect as connect_openvpn

    session: Session = connect_openvpn(target)
    return session


def _fortios(target: Target, platform: Platform, transport: str | None) -> Session:
    from isolate.drivers.fortios import connect as connect_fortios

    session: Session = connect_fortios(target)
    return session


def _netconf(target: Target, platform: Platform, transport: str | None) -> Session:
    from isolate.drivers.junos import connect as connect_junos

    session: Session = connect_junos(target)
    return session


def _nft(target: Target, platform: Platform, transport: str | None) -> Session:
    return LinuxSession(target)


def _ovs(target: Target, platform: Platform, transport: str | None) -> Session:
    return OpenvswitchSession(target)


def _wireguard(target: Target, platform: Platform, transport: str | None) -> Session:
    return WireguardSession(target)


def _ansible(target: Target, platform: Platform, transport: str | None) -> Session:
    return connect_ansible(target)


SESSIONS: dict[str, Callable[[Target, Platform, str | None], Session]] = {
    "cli": _cli,
    "nft": _nft,
    "ovs": _ovs,
    "wireguard": _wireguard,
    "ansible": _ansible,
    "ldap": _active_directory,
    "openvpn": _openvpn,
    "fortios": _fortios,
    "netconf": _netconf,
}


def platform_of(target: Target) -> Platform:
    try:
        return PLATFORMS[target.platform]
    except KeyError:
        valid = ", ".join(sorted(PLATFORMS))
        raise PlanError(f"{target.name}: unknown platform {target.platform!r}; valid: {valid}") from None


def connect(target: Target, transport: str | None = None) -> Session:
    """A session to ``target``; CLI platforms over ``transport`` (see ``transport_from``).
    A target driven by a site worker is never connected to from here (its site's network is
    not this machine's): only ``isolate.api.site_connect`` opens it, through the worker."""
    if target.site is not None:
        raise ConnectError(
            f"{target.name}: driven by site {target.site}'s worker; this command does not go through "
            "site workers (run it at the site)",
            device=target.name,
        )
    platform = platform_of(target)
    return SESSIONS[platform.session](target, platform, transport)


def connector(transport: str | None = None) -> Callable[[Target], Session]:
    """``connect`` bound to one transport, validated now (for ``Executor(connect=...)``)."""
    chosen = transport_from(transport)
    if chosen == "netmiko":  # imported now, in this thread, not by every worker at once
        import isolate.drivers.netmiko_cli  # noqa: F401
    return lambda target: connect(target, chosen)


def identify(session: Session) -> str | None:
    """Pre-check "platform as declared": None when the device is what the inventory says."""
    target = session.target
    identity = platform_of(target).identity
    if identity is None:
        return None
    output = session.run(identity.command).output
    if identity.matches(output):
        return None
    first = next((line.strip() for line in output.splitlines() if any(c.isalnum() for c in line)), "")
    answered = f"answered {first[:80]!r}" if first else "answered nothing"
    return f"{target.name}: declared {target.platform} but '{identity.command}' does not show it ({answered})"
