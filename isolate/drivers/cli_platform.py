"""CLI platforms as data: prompts and failure markers, the state command, how state is
normalised, identity check, commit-confirm support. One netmiko session class serves them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

EXEC_PREFIX = "@exec "


def _drop_lines(patterns: tuple[str, ...]) -> Callable[[str], str]:
    compiled = [re.compile(p) for p in patterns]

    def normalise(text: str) -> str:
        lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        kept = [line for line in lines if not any(c.match(line) for c in compiled)]
        while kept and not kept[0]:
            kept.pop(0)
        while kept and not kept[-1]:
            kept.pop()
        return "\n".join(kept) + "\n"

    return normalise


@dataclass(frozen=True)
class CliPlatform:
    name: str
    netmiko_type: str
    failure: re.Pattern[str]  # a line of output that means the command was refused
    state_command: str
    normalise_state: Callable[[str], str]
    identity_command: str
    identity: re.Pattern[str]  # what identity_command must show for "platform as declared"
    confirm_mode_command: str | None = None  # e.g. "configure terminal revert timer {minutes}"
    confirm_command: str | None = None  # e.g. "configure confirm"


CISCO_IOS = CliPlatform(
    name="cisco_ios",
    netmiko_type="cisco_ios",
    # IOS answers a refused or failed command with a line starting with '%' (Invalid input,
    # Incomplete, Ambiguous, Unknown command, Access denied, No Rollback Confirmed Change
    # pending, IP addresses may not be configured on L2 links, Duplicate sequence number, ...).
    failure=re.compile(r"^\s*%\s*\S.*$", re.M),
    state_command="show running-config",
    # Documented normalisation: the header IOS prints before the config and the timestamps
    # it updates on every change are not configuration.
    normalise_state=_drop_lines(
        (
            r"^Building configuration\.\.\.$",
            r"^Current configuration : \d+ bytes$",
            r"^! Last configuration change at ",
            r"^! NVRAM config last updated at ",
            r"^! No configuration change since last restart",
        )
    ),
    identity_command="show version",
    identity=re.compile(r"Cisco IOS"),
    confirm_mode_command="configure terminal revert timer {minutes}",
    confirm_command="configure confirm",
)

CISCO_ASA = CliPlatform(
    name="cisco_asa",
    netmiko_type="cisco_asa",
    failure=re.compile(r"^\s*(ERROR:|%\s*Invalid input|%\s*Incomplete command|%\s*Ambiguous).*$", re.M),
    state_command="show running-config",
    normalise_state=_drop_lines((r"^: ", r"^:$", r"^Cryptochecksum:")),
    identity_command="show version",
    identity=re.compile(r"Adaptive Security Appliance"),
)
