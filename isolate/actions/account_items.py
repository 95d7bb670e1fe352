"""``disable-account``: its params and per-directory work item (docs/identity.md).

The accounts come from ``params.users`` (``--set users=carol,dave`` once playbook
parameters exist) and from the step's ``users``/``vpn_groups`` selectors (inventory VPN
users). Every name is an :data:`~isolate.values_directory.AccountName`, so an LDAP filter
or DN fragment (``*)(uid=*``, ``carol,ou=x``) never gets past the plan.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from isolate.values import StepId
from isolate.values_directory import AccountName, GroupName


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DisableAccountParams(_Model):
    users: tuple[AccountName, ...] = ()
    remove_groups: tuple[GroupName, ...] = ()  # e.g. the VPN users' group


class DisableAccountItem(_Model):
    action: Literal["disable-account"] = "disable-account"
    step: StepId
    users: tuple[AccountName, ...]
    remove_groups: tuple[GroupName, ...] = ()
    # never disabled (pre-check): the inventory's protected accounts and the bind account
    protected_accounts: tuple[AccountName, ...] = ()
    protected_groups: tuple[GroupName, ...] = ()  # members, also nested, are protected
    override: bool = False  # the operator forced the step past the identity guard (journaled)


ACCOUNT_PARAMS: dict[str, type[BaseModel]] = {"disable-account": DisableAccountParams}
