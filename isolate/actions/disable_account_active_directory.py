"""disable-account on Active Directory (over LDAP, :mod:`isolate.drivers.active_directory`).

Forward: ``disable U`` (``userAccountControl |= ACCOUNTDISABLE``) for each account, then
``remove-member U G`` for each group of ``remove_groups``. Pre-check: every account and
group exists; no account is the tool's own bind account (never, even overridden: restore
would be locked out), listed as protected, or a member (direct or nested) of a protected
group — unless the step was overridden. Inverse, from the captured state: ``add-member U G``
for each removed group the account was directly in, then ``set-uac U N`` with the captured
value. Verify: read back (disabled, out of the groups) and, for each account the inventory
holds a test credential for, a real bind as it must be refused.
"""

from __future__ import annotations

from typing import Any

from isolate.actions.account_items import DisableAccountItem
from isolate.drivers.active_directory_state import (
    ACCOUNTDISABLE,
    BIND_TEST,
    accounts_in_state,
    bind_account_in_state,
    groups_in_state,
)


def _closure(record: dict[str, Any], groups: dict[str, dict[str, Any]]) -> set[str]:
    """Every group (lower-cased) ``record`` is in, directly or through nested groups."""
    seen: set[str] = set()
    todo = [str(g).lower() for g in record.get("groups", [])]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [str(g).lower() for g in groups.get(name, {}).get("groups", [])]
    return seen


class DisableAccountActiveDirectory:
    action = "disable-account"
    platform = "active_directory"
    verify_commands: tuple[str, ...] = (BIND_TEST,)

    def render(self, item: DisableAccountItem) -> list[str]:
        lines = [f"disable {user}" for user in item.users]
        lines += [f"remove-member {user} {group}" for user in item.users for group in item.remove_groups]
        return lines

    def precheck(self, item: DisableAccountItem, state: str) -> list[str]:
        accounts, groups = accounts_in_state(state), groups_in_state(state)
        bind = (bind_account_in_state(state) or "").lower()
        listed = {a.lower() for a in item.protected_accounts}
        guarded = {g.lower() for g in item.protected_groups}
        problems = [
            f"group {g} not found in the directory" for g in item.remove_groups if g.lower() not in groups
        ]
        for user in item.users:
            record = accounts.get(user.lower())
            if record is None:
                problems.append(f"account {user} not found in the directory")
            elif user.lower() == bind:
                problems.append(f"account {user} is isolate's own bind account: never disabled")
            elif item.override:
                continue
            elif user.lower() in listed:
                problems.append(f"account {user} is protected (directory.protected.accounts)")
            elif inside := sorted(_closure(record, groups) & guarded):
                name = groups.get(inside[0], {}).get("group", inside[0])
                problems.append(f"account {user} is protected: member of protected group {name}")
        return problems

    def inverse(self, item: DisableAccountItem, state: str) -> list[str]:
        accounts = accounts_in_state(state)
        lines: list[str] = []
        for user in item.users:
            record = accounts.get(user.lower())
            if record is None:
                continue
            had = {str(g).lower() for g in record["groups"]}
            lines += [f"add-member {user} {g}" for g in item.remove_groups if g.lower() in had]
            lines.append(f"set-uac {user} {int(record['uac'])}")
        return lines

    def verify(self, item: DisableAccountItem, state: str, extra: dict[str, str]) -> list[str]:
        accounts = accounts_in_state(state)
        binds = dict(line.split(" ", 1) for line in extra.get(BIND_TEST, "").splitlines() if " " in line)
        binds = {k.lower(): v for k, v in binds.items()}
        removed = {g.lower() for g in item.remove_groups}
        problems: list[str] = []
        for user in item.users:
            record = accounts.get(user.lower())
            if record is None:
                problems.append(f"account {user} not found in the directory")
                continue
            if not int(record["uac"]) & ACCOUNTDISABLE:
                problems.append(f"account {user} is not disabled (userAccountControl {record['uac']})")
            still = sorted(str(g) for g in record["groups"] if str(g).lower() in removed)
            if still:
                problems.append(f"account {user} is still in {', '.join(still)}")
            if binds.get(user.lower(), "").startswith("accepted"):
                problems.append(f"account {user} can still bind (test credential accepted)")
        return problems


ACTION = DisableAccountActiveDirectory()
