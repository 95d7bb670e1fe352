"""The platform-action contract, each action's params and its per-device work item.

A step's ``params`` (from the playbook) are validated by the action's param model;
the plan builder then turns the step into one *work item* per device: everything the
platform module needs to render, pre-check, invert and verify the change on that
device, typed with :mod:`isolate.values` so nothing unvalidated can reach a command.
Work items are carried in the plan JSON, discriminated by ``action``.

Command batches (docs/design.md): ``render`` gives the configuration lines, or a typed
:class:`~isolate.drivers.base.Batch` when the change also has exec-mode lines (run in
privileged exec mode, in order, after leaving configuration mode: ``cisco_asa``'s
session log-off); for ``linux`` the batch is one nft script applied atomically with
``nft -f -``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from isolate.actions.account_items import ACCOUNT_PARAMS, DisableAccountItem
from isolate.actions.host_items import HOST_PARAMS, DisableSmbHostItem, FenceHostItem
from isolate.drivers.base import Batch
from isolate.values import (
    InterfaceName,
    Name,
    Port,
    Prefix,
    ServiceName,
    StepId,
    UserName,
    VlanId,
)

SMB_TCP_PORTS: tuple[int, ...] = (139, 445)
SMB_UDP_PORTS: tuple[int, ...] = (137, 138)
QUARANTINE_VLAN_NAME = "ISOLATE-QUARANTINE"

Proto = Literal["tcp", "udp"]
Enforce = Literal["auto", "gateway", "firewall"]

ItemT_contra = TypeVar("ItemT_contra", contravariant=True)


def batch_of(rendered: list[str] | Batch) -> Batch:
    """What ``render`` gave, as the typed batch."""
    return rendered if isinstance(rendered, Batch) else Batch(tuple(rendered))


class PlatformAction(Protocol[ItemT_contra]):
    """One action spoken to one platform (docs/design.md, "Plan")."""

    action: str
    platform: str
    verify_commands: tuple[str, ...]

    def render(self, item: ItemT_contra) -> list[str] | Batch:
        """The forward change: its configuration lines, or a Batch with exec-mode lines."""
        ...

    def precheck(self, item: ItemT_contra, state: str) -> list[str]: ...

    def inverse(self, item: ItemT_contra, state: str) -> list[str]: ...

    def verify(self, item: ItemT_contra, state: str, extra: dict[str, str]) -> list[str]: ...


@runtime_checkable
class RevokesVpn(Protocol):
    """A revoke-vpn action: it says what it does to users a directory authenticates (the plan
    quotes it, since it differs by concentrator)."""

    directory_users: str


def is_smb(port: int, proto: str) -> bool:
    """TCP 445/139 or UDP 137/138: the ports block-smb cuts."""
    return port in (SMB_TCP_PORTS if proto == "tcp" else SMB_UDP_PORTS)


def acl_name(step: str) -> str:
    """The IOS ACL a step owns: ``ISOLATE-`` + the step id, upper case (``ISOLATE-CUT-SMB``)."""
    return "ISOLATE-" + step.upper()


def table_name(step: str) -> str:
    """The nft table a step owns (one table per step, so each inverse is independent)."""
    return "isolate_" + step.replace("-", "_")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ----------------------------------------------------------------------------- params


class QuarantineParams(_Model):
    vlan: VlanId = 999
    name: Name = QUARANTINE_VLAN_NAME


class ShutPortParams(_Model):
    pass


class BlockSmbParams(_Model):
    enforce: Enforce = "auto"


class AllowService(_Model):
    """An allowed service: by inventory service name, or by protocol/port between any hosts."""

    service: ServiceName | None = None
    proto: Proto = "tcp"
    port: Port | None = None


class SegmentAclParams(_Model):
    allow: tuple[AllowService, ...] = ()
    allow_from: tuple[Name, ...] = ()  # segments whose own connections still pass (e.g. management)
    enforce: Enforce = "auto"


class EdgeBlockParams(_Model):
    prefixes: tuple[Prefix, ...] = ()


class RevokeVpnParams(_Model):
    pass


PARAMS: dict[str, type[BaseModel]] = {
    "quarantine": QuarantineParams,
    "shut-port": ShutPortParams,
    "block-smb": BlockSmbParams,
    "segment-acl": SegmentAclParams,
    "edge-block": EdgeBlockParams,
    "revoke-vpn": RevokeVpnParams,
    **HOST_PARAMS,
    **ACCOUNT_PARAMS,
}

# ----------------------------------------------------------------------------- work items


class PortMove(_Model):
    interface: InterfaceName  # as the inventory spells it for the device's platform
    host: Name
    expected_vlan: VlanId  # the host's segment VLAN, per the inventory


class QuarantineItem(_Model):
    action: Literal["quarantine"] = "quarantine"
    step: StepId
    vlan: VlanId
    vlan_name: Name
    ports: tuple[PortMove, ...]


class PortRef(_Model):
    interface: InterfaceName  # as the inventory spells it for the device's platform
    host: Name


class ShutPortItem(_Model):
    action: Literal["shut-port"] = "shut-port"
    step: StepId
    ports: tuple[PortRef, ...]


class Svi(_Model):
    """A segment's L3 interface (``interface VlanN``) on its gateway."""

    segment: Name
    vlan: VlanId


class BlockSmbItem(_Model):
    action: Literal["block-smb"] = "block-smb"
    step: StepId
    svis: tuple[Svi, ...] = ()  # IOS: the SVIs the ACL is bound to (in)
    segments: tuple[Name, ...]  # segments whose traffic this device filters
    subnets: tuple[Prefix, ...]  # every selected segment's subnet


class AllowEntry(_Model):
    proto: Proto
    port: Port
    address: Prefix | None = None  # the host offering it; None = any host


class SegmentAclItem(_Model):
    action: Literal["segment-acl"] = "segment-acl"
    step: StepId
    svis: tuple[Svi, ...] = ()  # IOS: the SVIs the ACL is bound to (out)
    segments: tuple[Name, ...]
    subnets: tuple[Prefix, ...]
    allow: tuple[AllowEntry, ...] = ()
    allow_from: tuple[Prefix, ...] = ()  # sources whose connections pass (and their replies)


class EdgeBlockItem(_Model):
    action: Literal["edge-block"] = "edge-block"
    step: StepId
    prefixes: tuple[Prefix, ...]


class RevokeVpnItem(_Model):
    action: Literal["revoke-vpn"] = "revoke-vpn"
    step: StepId
    users: tuple[UserName, ...]
    directory: tuple[UserName, ...] = ()  # those of ``users`` authenticated by a directory


WorkItem = Annotated[
    QuarantineItem
    | ShutPortItem
    | BlockSmbItem
    | SegmentAclItem
    | EdgeBlockItem
    | RevokeVpnItem
    | DisableSmbHostItem
    | FenceHostItem
    | DisableAccountItem,
    Field(discriminator="action"),
]

AnyAction = PlatformAction[Any]
