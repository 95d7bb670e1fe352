"""Platforms as data: one ``Platform`` record per kind of device, in one literal table.

Everything else derives from the table (docs/platforms.md): the inventory's platform list,
interface-name validation, the driver registry, session preparation, the Ansible
``ansible_network_os`` aliases, failure markers, volatile state lines and commit-confirm.
This package imports nothing from the rest of isolate.
"""

from __future__ import annotations

from typing import Final

from isolate.platforms.record import (
    CommitConfirmed,
    ConfirmStrategy,
    Dialect,
    Identity,
    InterfaceGrammar,
    Locate,
    Markers,
    Platform,
    Probe,
    RevertOnEnter,
    ScheduledRevert,
    State,
)
from isolate.platforms.table import PLATFORMS

NAMES: Final[tuple[str, ...]] = tuple(PLATFORMS)


def get(name: str) -> Platform:
    """The record of ``name``; an unknown name raises KeyError listing the valid ones."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise KeyError(f"unknown platform {name!r}; valid: {', '.join(NAMES)}") from None


def has_revert(name: str) -> bool:
    """Whether ``name`` has a device-owned revert (a confirm window means something there)."""
    record = PLATFORMS.get(name)
    return record is not None and record.confirm is not None


def has_identity(name: str) -> bool:
    """Whether ``name`` declares an identity probe (the pre-check's "platform" check)."""
    record = PLATFORMS.get(name)
    return record is not None and record.identity is not None


def precheck_reads(name: str) -> tuple[str, ...]:
    """The read-only commands a pre-check of ``name`` runs, in its order: the identity probe,
    the pending-revert probe (revert-on-enter platforms), the state commands."""
    record = PLATFORMS.get(name)
    if record is None:
        return ()
    probe = (record.confirm.armed.command,) if isinstance(record.confirm, RevertOnEnter) else ()
    identity = (record.identity.command,) if record.identity else ()
    return (*identity, *probe, *state_reads(name))


def state_reads(name: str) -> tuple[str, ...]:
    """The read-only commands whose answers make the state of ``name``."""
    record = PLATFORMS.get(name)
    return () if record is None else (record.state.command, *record.state.also)


def network_os_map() -> dict[str, str]:
    """Ansible ``ansible_network_os`` alias → platform name."""
    return {alias: p.name for p in PLATFORMS.values() for alias in p.ansible_network_os}


__all__ = [
    "NAMES",
    "PLATFORMS",
    "CommitConfirmed",
    "ConfirmStrategy",
    "Dialect",
    "Identity",
    "InterfaceGrammar",
    "Locate",
    "Markers",
    "Platform",
    "Probe",
    "RevertOnEnter",
    "ScheduledRevert",
    "State",
    "get",
    "has_identity",
    "has_revert",
    "network_os_map",
    "precheck_reads",
    "state_reads",
]
