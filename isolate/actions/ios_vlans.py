"""The VLAN database of a Catalyst, as read from the device state.

In VTP server or client mode (IOS's default is server) VLANs 1-1005 live in vlan.dat and
are absent from ``show running-config``; only ``show vlan brief`` and ``show vtp status``
show them. The IOS platform's state carries both after the running configuration, each
under a ``! state: <command>`` line (``isolate.platforms``, State.also). Pure text handling.
"""

from __future__ import annotations

import re

from isolate.actions.ios_config import RunningConfig, child_value
from isolate.platforms.record import ALSO_MARK

VLAN_BRIEF = "show vlan brief"
VTP_STATUS = "show vtp status"
_ROW = re.compile(r"^(\d{1,4})\s+(\S+)\s+(active|act/lshut|act/ishut|act/unsup|suspended|sus/\S+)")
_MODE = re.compile(r"^VTP Operating Mode\s*:\s*(\S+)", re.M)


def section(state: str, command: str) -> str | None:
    """The output of ``command`` inside ``state``, or None when the state has no such part."""
    mark = f"{ALSO_MARK}{command}\n"
    start = state.find(mark)
    if start < 0:
        return None
    body = state[start + len(mark) :]
    end = body.find(f"\n{ALSO_MARK}")
    return body if end < 0 else body[: end + 1]


def vlan_database(state: str) -> dict[int, str]:
    """VLAN id -> name: from ``show vlan brief`` when the state has it, else from the
    ``vlan N`` blocks of the running configuration (VTP transparent, older states)."""
    brief = section(state, VLAN_BRIEF)
    if brief is not None:
        found = (_ROW.match(line) for line in brief.splitlines())
        return {int(m.group(1)): m.group(2) for m in found if m}
    config = RunningConfig(state)
    out: dict[int, str] = {}
    for block in config.blocks:
        words = block.header.split()
        if len(words) == 2 and words[0] == "vlan" and words[1].isdigit():
            vid = int(words[1])
            out[vid] = child_value(block, "name") or f"VLAN{vid:04d}"
    return out


def vtp_mode(state: str) -> str | None:
    """``server``, ``client``, ``transparent`` or ``off``; None when the state does not say."""
    status = section(state, VTP_STATUS)
    if status is not None:
        found = _MODE.search(status)
        if found:
            return found.group(1).lower()
    if re.search(r"(?m)^vtp mode transparent$", state):
        return "transparent"
    return None
