"""One literal table from platform name to driver. An unknown platform lists the valid ones.

CLI platforms (cisco_ios, cisco_asa) have two transports with the same ``Session``
contract, platform data and error messages: ``netmiko`` (threads, paramiko) and
``asyncssh`` (one shared event loop). ``connect(target, transport=...)`` picks one;
without it, ``$ISOLATE_TRANSPORT``, else ``DEFAULT_TRANSPORT``. Platforms without a CLI
transport choice (linux, …) ignore it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from isolate.drivers.ansible import connect as connect_ansible
from isolate.drivers.asyncssh_cli import AsyncsshCliSession, AsyncsshConfirmingSession
from isolate.drivers.base import Session, Target
from isolate.drivers.cli_platform import CISCO_ASA, CISCO_IOS, CliPlatform
from isolate.drivers.linux import LinuxSession
from isolate.drivers.netmiko_cli import ConfirmingCliSession, NetmikoCliSession
from isolate.errors import PlanError

TRANSPORTS = ("asyncssh", "netmiko")
DEFAULT_TRANSPORT = "asyncssh"
TRANSPORT_ENV = "ISOLATE_TRANSPORT"


def transport_from(option: str | None = None) -> str:
    """The CLI transport: ``option``, else ``$ISOLATE_TRANSPORT``, else the default."""
    chosen = option or os.environ.get(TRANSPORT_ENV) or DEFAULT_TRANSPORT
    if chosen not in TRANSPORTS:
        raise PlanError(f"unknown transport {chosen!r}; valid: {', '.join(TRANSPORTS)}")
    return chosen


class CliDriver:
    def __init__(self, platform: CliPlatform) -> None:
        self.platform = platform.name
        self._data = platform

    def connect(self, target: Target, transport: str | None = None) -> Session:
        confirming = bool(self._data.confirm_mode_command and self._data.confirm_command)
        if transport_from(transport) == "asyncssh":
            if confirming:
                return AsyncsshConfirmingSession(target, self._data)
            return AsyncsshCliSession(target, self._data)
        if confirming:
            return ConfirmingCliSession(target, self._data)
        return NetmikoCliSession(target, self._data)


def _openvswitch(target: Target) -> Session:
    from isolate.drivers.openvswitch import OpenvswitchSession

    session: Session = OpenvswitchSession(target)
    return session


def _wireguard(target: Target) -> Session:
    from isolate.drivers.wireguard import WireguardSession

    session: Session = WireguardSession(target)
    return session


def _linux(target: Target) -> Session:
    return LinuxSession(target)


CONNECTORS: dict[str, Callable[[Target], Session]] = {
    "cisco_ios": CliDriver(CISCO_IOS).connect,
    "cisco_asa": CliDriver(CISCO_ASA).connect,
    "linux": _linux,
    "openvswitch": _openvswitch,
    "wireguard": _wireguard,
    "ansible": connect_ansible,
}

IDENTITY = {"cisco_ios": CISCO_IOS, "cisco_asa": CISCO_ASA}


CLI_DRIVERS = {"cisco_ios": CliDriver(CISCO_IOS), "cisco_asa": CliDriver(CISCO_ASA)}


def connect(target: Target, transport: str | None = None) -> Session:
    """A session to ``target``; CLI platforms over ``transport`` (see ``transport_from``)."""
    cli = CLI_DRIVERS.get(target.platform)
    if cli is not None:
        return cli.connect(target, transport)
    try:
        connector = CONNECTORS[target.platform]
    except KeyError:
        valid = ", ".join(sorted(CONNECTORS))
        raise PlanError(f"{target.name}: unknown platform {target.platform!r}; valid: {valid}") from None
    return connector(target)


def connector(transport: str | None = None) -> Callable[[Target], Session]:
    """``connect`` bound to one transport, validated now (for ``Executor(connect=...)``)."""
    chosen = transport_from(transport)
    return lambda target: connect(target, chosen)


def identify(session: Session) -> str | None:
    """Pre-check "platform as declared": None when the device is what the inventory says."""
    target = session.target
    platform = IDENTITY.get(target.platform)
    if platform is not None:
        output = session.run(platform.identity_command).output
        if platform.identity.search(output):
            return None
        return f"{target.name}: declared {target.platform} but '{platform.identity_command}' does not show it"
    if target.platform == "linux":
        if session.run("uname -s").output.strip() == "Linux":
            return None
        return f"{target.name}: declared linux but 'uname -s' does not say Linux"
    return None
