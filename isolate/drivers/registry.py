"""One literal table from platform name to driver. An unknown platform lists the valid ones."""

from __future__ import annotations

from isolate.drivers.base import Session, Target
from isolate.drivers.cli_platform import CISCO_ASA, CISCO_IOS, CliPlatform
from isolate.drivers.linux import LinuxSession
from isolate.drivers.netmiko_cli import NetmikoCliSession
from isolate.errors import PlanError


class CliDriver:
    def __init__(self, platform: CliPlatform) -> None:
        self.platform = platform.name
        self._data = platform

    def connect(self, target: Target) -> Session:
        return NetmikoCliSession(target, self._data)


class LinuxDriver:
    platform = "linux"

    def connect(self, target: Target) -> Session:
        return LinuxSession(target)


def _openvswitch(target: Target) -> Session:
    from isolate.drivers.openvswitch import OpenvswitchSession  # type: ignore[import-not-found,unused-ignore]

    session: Session = OpenvswitchSession(target)
    return session


def _wireguard(target: Target) -> Session:
    from isolate.drivers.wireguard import WireguardSession  # type: ignore[import-not-found,unused-ignore]

    session: Session = WireguardSession(target)
    return session


CONNECTORS = {
    "cisco_ios": CliDriver(CISCO_IOS).connect,
    "cisco_asa": CliDriver(CISCO_ASA).connect,
    "linux": LinuxDriver().connect,
    "openvswitch": _openvswitch,
    "wireguard": _wireguard,
}

IDENTITY = {"cisco_ios": CISCO_IOS, "cisco_asa": CISCO_ASA}


def connect(target: Target) -> Session:
    try:
        connector = CONNECTORS[target.platform]
    except KeyError:
        valid = ", ".join(sorted(CONNECTORS))
        raise PlanError(f"{target.name}: unknown platform {target.platform!r}; valid: {valid}") from None
    return connector(target)


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
