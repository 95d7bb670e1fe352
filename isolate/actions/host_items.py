"""Host actions (``disable-smb-host``, ``fence-host``): params and per-host work items.

Hosts are reached through Ansible (platform ``ansible``); the mapping from a step's
targets to work items is :mod:`isolate.actions.host_targets`. ``os`` picks the
rendering: ``windows`` for devices tagged ``windows``, else ``linux``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from isolate.values import Name, Port, Prefix, ServiceName, StepId

HostOs = Literal["linux", "windows"]
WINDOWS_TAG = "windows"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ----------------------------------------------------------------------------- params


class DisableSmbHostParams(_Model):
    boot: bool = True  # also disable the services at boot where a service manager exists


class HostAllow(_Model):
    """A service the fenced host keeps offering: an inventory service name, or a port."""

    service: ServiceName | None = None
    proto: Literal["tcp", "udp"] = "tcp"
    port: Port | None = None


class FenceHostParams(_Model):
    allow: tuple[HostAllow, ...] = ()


# ----------------------------------------------------------------------------- work items


class HostPort(_Model):
    proto: Literal["tcp", "udp"]
    port: Port


class DisableSmbHostItem(_Model):
    action: Literal["disable-smb-host"] = "disable-smb-host"
    step: StepId
    os: HostOs = "linux"
    host: Name
    boot: bool = True


class FenceHostItem(_Model):
    action: Literal["fence-host"] = "fence-host"
    step: StepId
    os: HostOs = "linux"
    host: Name
    management: tuple[Prefix, ...]  # sources allowed to reach tcp/22
    allow: tuple[HostPort, ...] = ()  # inbound services kept open


HOST_PARAMS: dict[str, type[BaseModel]] = {
    "disable-smb-host": DisableSmbHostParams,
    "fence-host": FenceHostParams,
}
