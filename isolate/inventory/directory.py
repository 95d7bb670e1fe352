"""The inventory's ``directory:`` section: the Active Directory domain controllers
isolate may disable accounts on, what must never be disabled, and the lab's test
credentials (docs/identity.md)::

    directory:
      devices: [dc1]                  # devices of platform active_directory
      ca_file: dc-ca.pem              # CA that signed the DCs' LDAPS/StartTLS certificate
      protected:
        accounts: [Administrator, svc-backup]   # break-glass admin, backup service accounts
        groups: [Domain Admins]                 # members (also nested) are protected too
      test_credentials:               # optional: a verification bind as the user must fail
        carol: file:secrets.yml#carol

The bind account (the device's ``credentials``) is always protected.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from isolate.values import CredentialRef, DeviceName, FilePath
from isolate.values_directory import AccountName, GroupName


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DirectoryProtected(_Model):
    accounts: tuple[AccountName, ...] = ()
    groups: tuple[GroupName, ...] = ()


class Directory(_Model):
    devices: tuple[DeviceName, ...] = ()
    ca_file: FilePath | None = None
    protected: DirectoryProtected = Field(default_factory=DirectoryProtected)
    test_credentials: dict[AccountName, CredentialRef] = Field(default_factory=dict)
