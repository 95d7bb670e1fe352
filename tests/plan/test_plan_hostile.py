"""Hostile playbook values through build_plan: either a one-line input error (never a
traceback) or a plan whose every command is free of injection characters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from isolate.errors import IsolateError
from isolate.inventory.loader import load_inventory
from isolate.inventory.models import Inventory
from isolate.plan.builder import build_plan
from isolate.plan.render import render_rich, render_text
from isolate.playbook.loader import parse_playbook

DATA = Path(__file__).parent / "data"
INJECTION = ("\n", "\r", "|", "&", "`", "$(", "\x00")

VALUES = st.one_of(
    st.text(max_size=24),
    st.integers(min_value=-5, max_value=70000),
    st.sampled_from(["999\nend", "Q;reload", "10.0.0.0/8|x", "carol`id`", "$(reboot)", "*"]),
)


@pytest.fixture(scope="module")
def city() -> Inventory:
    return load_inventory(DATA / "city.yml")


def _steps(value: Any) -> list[dict[str, Any]]:
    return [
        {"id": "q", "action": "quarantine", "targets": {"hosts": ["ws-17"]}, "params": {"vlan": value}},
        {"id": "q", "action": "quarantine", "targets": {"hosts": ["ws-17"]}, "params": {"name": value}},
        {
            "id": "e",
            "action": "edge-block",
            "targets": {"tags": ["attacker"]},
            "params": {"prefixes": [value]},
        },
        {
            "id": "s",
            "action": "segment-acl",
            "targets": {"segments": ["users", "servers"]},
            "params": {"allow": [{"proto": "tcp", "port": value}, {"service": "dns"}]},
        },
        {"id": "v", "action": "revoke-vpn", "targets": {"users": [value]}},
        {"id": value, "action": "block-smb", "targets": {"segments": ["users", "servers"]}},
    ]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(value=VALUES)
def test_hostile_params_never_reach_a_command(city: Inventory, value: Any) -> None:
    for step in _steps(value):
        raw = json.dumps({"version": 1, "name": "h", "steps": [step]}).encode()
        try:
            plan = build_plan(city, parse_playbook(raw, "h.yml"))
        except IsolateError as exc:
            assert "\n" not in str(exc)
            continue
        for planned in plan.steps:
            for change in planned.changes:
                for command in (*change.commands, *change.exec_after):
                    assert not any(bad in command for bad in INJECTION), command


def test_rich_rendering_has_every_command(city: Inventory) -> None:
    playbook = (Path(__file__).resolve().parents[2] / "playbooks" / "drill.yml").read_bytes()
    plan = build_plan(city, parse_playbook(playbook, "drill.yml"))
    console = Console(record=True, width=200)
    console.print(render_rich(plan))
    text = console.export_text()
    for step in plan.steps:
        for change in step.changes:
            for command in change.commands:
                assert command in text
    assert render_text(plan) == render_text(plan)
