"""Hostile values never reach a rendered command: every string a work item carries goes
through its isolate.values type, so a value is either refused (ValidationError) or is
made only of its type's characters — no newline, ';', '|', '&', backtick, '$(' ever
appears in a forward command."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from isolate.actions.base import (
    BlockSmbItem,
    EdgeBlockItem,
    QuarantineItem,
    RevokeVpnItem,
    SegmentAclItem,
    ShutPortItem,
)
from isolate.actions.table import ACTIONS

DANGER = ("\n", "\r", ";", "|", "&", "`", "$(", "\x00", "'", '"', " ")
HOSTILE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "ws-17\nend\nwrite erase",
            "alice; reload",
            "Gi1/0/1 | include",
            "10.0.0.0/24\nflush ruleset",
            "x`reboot`",
            "$(rm -rf /)",
            "999\n",
            "users&",
            "GigabitEthernet1/0/1\r\nshutdown",
        ]
    ),
    st.builds(
        lambda a, b: a + b, st.sampled_from(["alice", "Gi1/0/2", "10.1.0.0/16"]), st.sampled_from(DANGER)
    ),
)


def _items(value: Any) -> list[tuple[str, type[BaseModel], dict[str, Any]]]:
    port = {"interface": "Gi1/0/1", "host": "ws-01"}
    return [
        (
            "quarantine",
            QuarantineItem,
            {"step": "q", "vlan": 999, "vlan_name": value, "ports": [{**port, "expected_vlan": 10}]},
        ),
        (
            "quarantine",
            QuarantineItem,
            {
                "step": "q",
                "vlan": 999,
                "vlan_name": "Q",
                "ports": [{"interface": value, "host": "h", "expected_vlan": 10}],
            },
        ),
        ("quarantine", QuarantineItem, {"step": "q", "vlan": value, "vlan_name": "Q", "ports": []}),
        ("shut-port", ShutPortItem, {"step": value, "ports": [port]}),
        ("shut-port", ShutPortItem, {"step": "s", "ports": [{"interface": value, "host": "h"}]}),
        (
            "block-smb",
            BlockSmbItem,
            {
                "step": "b",
                "segments": ["users"],
                "svis": [{"segment": "users", "vlan": value}],
                "subnets": ["10.0.0.0/24"],
            },
        ),
        ("block-smb", BlockSmbItem, {"step": "b", "segments": ["users"], "subnets": [value]}),
        (
            "segment-acl",
            SegmentAclItem,
            {
                "step": "s",
                "segments": ["users"],
                "subnets": ["10.0.0.0/24", "10.1.0.0/24"],
                "allow": [{"proto": "tcp", "port": value}],
            },
        ),
        ("edge-block", EdgeBlockItem, {"step": "e", "prefixes": [value]}),
        ("revoke-vpn", RevokeVpnItem, {"step": "v", "users": [value]}),
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=HOSTILE)
def test_hostile_values_are_refused_or_harmless(value: Any) -> None:
    for action, model, data in _items(value):
        try:
            item = model.model_validate(data)
        except ValidationError:
            continue
        for (name, _platform), module in ACTIONS.items():
            if name != action:
                continue
            try:
                commands = module.render(item)
            except Exception as exc:  # only a typed refusal is acceptable
                assert type(exc).__name__ == "PlanError", exc
                continue
            for command in commands:
                for bad in ("\n", "\r", ";", "|", "&", "`", "$(", "\x00"):
                    if bad == ";" and "policy accept;" in command:
                        continue  # our own nft chain spec
                    assert bad not in command, (action, value, command)


@pytest.mark.parametrize("value", ["ws-17\nend", "alice;reload", "Gi1/0/1|x", "10.0.0.0/24\nflush ruleset"])
def test_known_injections_are_refused(value: str) -> None:
    refused = 0
    for _action, model, data in _items(value):
        try:
            model.model_validate(data)
        except ValidationError:
            refused += 1
    assert refused == len(_items(value))
