"""What an Active Directory state text says (the lines ``ActiveDirectorySession.read_state``
writes, one JSON record a line), and the constants the actions share with the session. Pure:
no ``ldap3`` here, so planning and journal commands do not import an LDAP client."""

from __future__ import annotations

import json
from typing import Any

ACCOUNTDISABLE = 0x2
BIND_TEST = "bind-test"


def accounts_in_state(state: str) -> dict[str, dict[str, Any]]:
    """``{account name lower-cased: record}`` from a state text."""
    return {str(r["account"]).lower(): r for r in _records(state) if "account" in r}


def groups_in_state(state: str) -> dict[str, dict[str, Any]]:
    """``{group name lower-cased: record}`` (a record's ``groups``: the groups it is in)."""
    return {str(r["group"]).lower(): r for r in _records(state) if "group" in r}


def bind_account_in_state(state: str) -> str | None:
    for record in _records(state):
        if "bind_account" in record:
            return str(record["bind_account"])
    return None


def _records(state: str) -> list[dict[str, Any]]:
    out = []
    for line in state.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out
