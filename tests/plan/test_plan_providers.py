"""Guards that know who provides what (issue 15): a contained provider's own services are
consequences; a protected service is violated only when a client loses its last provider;
overrides lift the guard they name; a whole-segment edge block is no containment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from isolate.errors import PlanRefused
from isolate.inventory.loader import load_inventory
from isolate.inventory.models import Host, Inventory, Service
from isolate.plan.builder import build_plan
from isolate.playbook.loader import load_playbook
from isolate.playbook.models import Playbook

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def city() -> Inventory:
    return load_inventory(DATA / "city.yml")


def _playbook(tmp_path: Path, steps: str) -> Playbook:
    path = tmp_path / "p.yml"
    path.write_text(f"version: 1\nname: p\nsteps:\n{steps}", encoding="utf-8")
    return load_playbook(path)


def _with(city: Inventory, *, services: dict[str, list[tuple[str, int]]], protected: Any) -> Inventory:
    """``city`` where the named hosts serve more, and with another ``protected`` block."""
    hosts = []
    for host in city.hosts:
        extra = tuple(Service(name=n, port=p) for n, p in services.get(host.name, []))
        hosts.append(Host.model_validate({**host.model_dump(), "services": (*host.services, *extra)}))
    # a fresh model: model_copy would keep the original's cached host lookups
    data = {**city.model_dump(), "hosts": [h.model_dump() for h in hosts], "protected": protected}
    return Inventory.model_validate(data).model_copy(update={"source_path": city.source_path})


LDAP_EVERYWHERE = {"fs1": [("ldap", 389), ("dns", 53)], "fs2": [("ldap", 389), ("dns", 53)]}
PROTECT = {"hosts": ["admin1"], "services": ["ldap", "dns"], "segments": ["management"]}
QUARANTINE_FS = "  - id: q\n    action: quarantine\n    targets: {hosts: [fs1, fs2]}\n"


def test_quarantining_two_of_four_providers_passes_and_lists_their_services(
    city: Inventory, tmp_path: Path
) -> None:
    inventory = _with(city, services=LDAP_EVERYWHERE, protected=PROTECT)
    plan = build_plan(inventory, _playbook(tmp_path, QUARANTINE_FS))
    assert plan.overrides == ()
    own = {o.host: o for o in plan.steps[0].blast.own_services}
    assert own["fs1"].services == ("smb", "netbios-ssn", "ldap", "dns")
    assert {s.service: s.providers for s in own["fs1"].still_served} == {"ldap": ("dc1",), "dns": ("dns1",)}


def test_cutting_a_clients_last_provider_is_refused(city: Inventory, tmp_path: Path) -> None:
    inventory = _with(city, services=LDAP_EVERYWHERE, protected=PROTECT)
    steps = "  - id: q\n    action: quarantine\n    targets: {hosts: [fs1, fs2, dc1]}\n"
    with pytest.raises(PlanRefused) as caught:
        build_plan(inventory, _playbook(tmp_path, steps))
    assert str(caught.value).startswith(
        "step 'q' refused: on acc1 it would cut protected service ldap on fs1 (10.10.10.11:389/tcp) "
        "from servers, "
    )
    assert "which then reaches no ldap provider (protected-service " in str(caught.value)


def test_override_lifts_only_the_guard_it_names(city: Inventory, tmp_path: Path) -> None:
    inventory = _with(city, services={}, protected={**PROTECT, "hosts": ["admin1", "aaa1"]})
    steps = "  - id: seg\n    action: segment-acl\n    targets: {segments: [users, servers]}\n"
    playbook = _playbook(tmp_path, steps)
    with pytest.raises(PlanRefused) as caught:
        build_plan(inventory, playbook, overrides={"seg:protected-service": "INC-9"})
    assert "(protected-host 1, protected-service 2;" in str(caught.value)
    plan = build_plan(
        inventory, playbook, overrides={"seg:protected-service": "INC-9", "seg:protected-host": "INC-9 too"}
    )
    assert [(o.guard, o.reason) for o in plan.overrides] == [
        ("protected-host", "INC-9 too"),
        ("protected-service", "INC-9"),
    ]


def test_override_of_an_unknown_guard_is_bad_input(city: Inventory, tmp_path: Path) -> None:
    from isolate.errors import PlanError

    wanted = r"--override q:protected-asset: no guard 'protected-asset' \(guards: "
    with pytest.raises(PlanError, match=wanted):
        build_plan(city, _playbook(tmp_path, QUARANTINE_FS), overrides={"q:protected-asset": "x"})


def test_edge_blocking_the_whole_outside_cuts_a_protected_public_service(
    city: Inventory, tmp_path: Path
) -> None:
    https = {"service": "https", "segments": ["websites"]}
    inventory = _with(city, services={}, protected={**PROTECT, "services": [https]})
    whole = "  - id: edge\n    action: edge-block\n    targets: {segments: [outside]}\n"
    with pytest.raises(PlanRefused) as caught:
        build_plan(inventory, _playbook(tmp_path, whole))
    assert str(caught.value).startswith(
        "step 'edge' refused: on fw-edge it would cut protected service https on web1 "
        "(10.10.40.11:443/tcp) from attacker (100.64.0.66), which then reaches no https provider"
    )
    attacker_only = "  - id: edge\n    action: edge-block\n    targets: {tags: [attacker]}\n"
    assert build_plan(inventory, _playbook(tmp_path, attacker_only)).overrides == ()


def test_a_service_protected_on_one_segment_leaves_the_others_free(city: Inventory, tmp_path: Path) -> None:
    https = {"service": "https", "segments": ["websites"]}
    inventory = _with(city, services={"lib1": [("https", 443)]}, protected={**PROTECT, "services": [https]})
    steps = "  - id: q\n    action: quarantine\n    targets: {hosts: [lib1]}\n"
    plan = build_plan(inventory, _playbook(tmp_path, steps))
    assert plan.overrides == ()
    assert plan.protected.services == ("https@websites",)
