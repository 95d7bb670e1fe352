"""Selector resolution against an inventory: *, except, kinds, unknown names located."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from isolate.errors import PlaybookError
from isolate.inventory import load_inventory
from isolate.playbook import Selector, load_playbook, resolve, resolve_step

FIXTURES = Path(__file__).parent.parent / "fixtures"
INV = load_inventory(FIXTURES / "inventory" / "valid.yml")


def names(items: tuple[Any, ...]) -> list[str]:
    return [i.name for i in items]


def sel(**kwargs: object) -> Selector:
    return Selector.model_validate(kwargs)


def test_star_with_except() -> None:
    found = resolve(sel(segments="*", **{"except": {"segments": ["management"]}}), INV)
    assert names(found.segments) == ["servers", "staff", "vpn-clients"]
    assert found.devices == () and found.hosts == ()


def test_groups_roles_tags() -> None:
    assert names(resolve(sel(groups=["core"]), INV).devices) == ["core1"]
    assert names(resolve(sel(roles=["edge", "firewall"]), INV).devices) == ["fw-int", "fw-edge"]
    tagged = resolve(sel(tags=["file-server", "l3"]), INV)
    assert names(tagged.devices) == ["core1"]
    assert names(tagged.hosts) == ["fs1"]


def test_users_and_vpn_groups() -> None:
    found = resolve(sel(vpn_groups=["staff"]), INV)
    assert names(found.users) == ["alice"] and found.vpn_groups == ("staff",)
    assert names(resolve(sel(users="*", **{"except": {"users": ["alice"]}}), INV).users) == ["bob@corp"]


def test_inventory_order_is_kept() -> None:
    found = resolve(sel(devices=["vpn1", "core1", "fw-edge"]), INV)
    assert names(found.devices) == ["core1", "fw-edge", "vpn1"]


def test_empty_selector() -> None:
    assert resolve(sel(), INV).is_empty()


def test_unknown_names_are_located(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text(
        "version: 1\nname: x\nsteps:\n"
        "  - id: q\n    action: quarantine\n    targets:\n      hosts: [ws-17, ws-71]\n"
        "      except: {segments: [servres]}\n"
    )
    step = load_playbook(path).steps[0]
    with pytest.raises(PlaybookError) as info:
        resolve_step(step, INV)
    assert info.value.problems == [
        f"{path}:7: steps[0].targets.hosts[1]: no host 'ws-71' in the inventory (did you mean 'ws-17'?)",
        f"{path}:8: steps[0].targets.except.segments[0]: no segment 'servres' in the inventory "
        "(did you mean 'servers'?)",
    ]


def test_fixture_playbook_resolves() -> None:
    book = load_playbook(FIXTURES / "playbooks" / "valid.yml")
    counts = [len(resolve_step(s, INV).segments) for s in book.steps]
    assert counts == [3, 0, 0, 0]
