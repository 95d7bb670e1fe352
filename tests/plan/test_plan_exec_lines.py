"""A plan carries exec-mode lines typed (``exec_after``); a plan.json of an earlier version,
which spelled them ``@exec LINE`` inside ``commands``, is read the same way (its run still
resumes from it)."""

from __future__ import annotations

from isolate.plan.models import DeviceChange

ITEM = {"action": "revoke-vpn", "step": "revoke-vpn", "users": ["alice"]}


def test_an_earlier_plans_exec_lines_are_read_as_exec_after() -> None:
    earlier = DeviceChange.model_validate(
        {"device": "vpn1", "platform": "cisco_asa", "item": ITEM,
         "commands": ["username alice attributes", "@exec vpn-sessiondb logoff name alice noconfirm",
                      "vpn-simultaneous-logins 0"]}
    )  # fmt: skip
    assert earlier.commands == ("username alice attributes", "vpn-simultaneous-logins 0")
    assert earlier.exec_after == ("vpn-sessiondb logoff name alice noconfirm",)
    now = DeviceChange.model_validate_json(earlier.model_dump_json())
    assert now == earlier and '"exec_after":["vpn-sessiondb' in earlier.model_dump_json()
