"""Hostile values never reach a rendered command: every string a work item carries goes
through its isolate.values type, so a value is either refused (ValidationError) or every
command rendered from it, on every platform of every action in the table, fits that
platform's grammar (isolate.cmdguard) — no zone ID, bidi or line-separator character,
control character, '#', ';' or '}' smuggled into a device line."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from isolate.actions.account_items import DisableAccountItem
from isolate.actions.base import (
    BlockSmbItem,
    EdgeBlockItem,
    QuarantineItem,
    RevokeVpnItem,
    SegmentAclItem,
    ShutPortItem,
    batch_of,
)
from isolate.actions.host_items import DisableSmbHostItem, FenceHostItem
from isolate.actions.table import ACTIONS
from isolate.cmdguard import CommandRefused, Mode, check_lines
from isolate.errors import PlanError

DANGER = (
    "\n", "\r", ";", "|", "&", "`", "$(", "\x00", "'", '"', " ", "#", "}", "{", "%eth0", "%x } accept #",
    "\u202e", "\u2028", "\u2029", "\u0085", "\x1b[2J", "\t", "\x7f", "\x9b", "?", "!", "\\",
)
SEEDS = ("alice", "Gi1/0/2", "10.1.0.0/16", "fe80::1", "fe80::", "2001:db8::/32", "999", "10.0.0.1")
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
            "fe80::1%x } accept #",
            "fe80::1%x do write erase",
            "fe80::%eth0/64",
            "10.0.0.0/255.255.255.0",
            "10.0.0.0/024",
            "010.0.0.1",
            "1.2.3.4\u202e",
            "alice\u2028bob",
            "10 ",
            "0x3E7",
            "01747",
            "16:39",
            "9" * 5000,
        ]
    ),
    st.builds(lambda a, b: a + b, st.sampled_from(SEEDS), st.sampled_from(DANGER)),
    st.builds(
        lambda a, b, c: a + b + c, st.sampled_from(SEEDS), st.sampled_from(DANGER), st.sampled_from(SEEDS)
    ),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**5000),
)

PORT = {"interface": "Gi1/0/1", "host": "ws-01"}
BASE: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "quarantine": (
        QuarantineItem,
        {"step": "q", "vlan": 999, "vlan_name": "Q", "ports": [{**PORT, "expected_vlan": 10}]},
    ),
    "shut-port": (ShutPortItem, {"step": "s", "ports": [PORT]}),
    "block-smb": (
        BlockSmbItem,
        {"step": "b", "segments": ["users"], "svis": [{"segment": "users", "vlan": 10}],
         "subnets": ["10.0.0.0/24"]},
    ),
    "segment-acl": (
        SegmentAclItem,
        {"step": "s", "segments": ["users"], "svis": [{"segment": "users", "vlan": 10}],
         "subnets": ["10.0.0.0/24", "2001:db8::/64"],
         "allow": [{"proto": "tcp", "port": 53, "address": "10.0.0.5/32"}]},
    ),
    "edge-block": (EdgeBlockItem, {"step": "e", "prefixes": ["203.0.113.0/24", "2001:db8:1::/48"]}),
    "revoke-vpn": (RevokeVpnItem, {"step": "v", "users": ["alice"]}),
    "disable-smb-host": (DisableSmbHostItem, {"step": "d", "host": "ws-01"}),
    "disable-account": (
        DisableAccountItem,
        {"step": "a", "users": ["carol"], "remove_groups": ["VPN Users"],
         "protected_accounts": ["breakglass"], "protected_groups": ["Domain Admins"]},
    ),
    "fence-host": (
        FenceHostItem,
        {"step": "f", "host": "ws-01", "management": ["10.99.0.0/24", "fd00::/64"],
         "allow": [{"proto": "tcp", "port": 443}]},
    ),
}

Where = tuple[str | int, ...]


def leaves(node: Any, here: Where = ()) -> list[Where]:
    """Every scalar field of a work item (the value types reach these)."""
    if isinstance(node, dict):
        return [w for k, v in node.items() for w in leaves(v, (*here, k))]
    if isinstance(node, list):
        return [w for i, v in enumerate(node) for w in leaves(v, (*here, i))]
    return [here]


def with_value(data: dict[str, Any], where: Where, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    return out


FIELDS = [(action, where) for action, (_, data) in BASE.items() for where in leaves(data)]
WINDOWS = [("fence-host", "windows"), ("disable-smb-host", "windows")]


def rendered(action: str, item: BaseModel) -> list[tuple[str, list[str], Mode]]:
    """(platform, lines, grammar mode): the configuration lines, the exec-mode lines and the
    inverse of every module of the action."""
    out: list[tuple[str, list[str], Mode]] = []
    for (name, platform), module in ACTIONS.items():
        if name == action:
            try:
                batch = batch_of(module.render(item))
            except PlanError:  # a typed refusal (e.g. IPv6 on an IOS ACL) is acceptable
                continue
            out.append((platform, list(batch.config), "config"))
            out.append((platform, list(batch.exec_after), "exec"))
            try:
                inverse = module.inverse(item, "")
            except Exception:  # an empty captured state is not every module's input
                inverse = []
            out.append((platform, inverse, "config"))
    return out


def test_every_action_in_the_table_is_fed() -> None:
    assert {name for name, _ in ACTIONS} == set(BASE)


@pytest.mark.parametrize("action", sorted(BASE))
def test_valid_items_render_within_the_grammar(action: str) -> None:
    model, data = BASE[action]
    for variant in (data, *({**data, "os": os} for a, os in WINDOWS if a == action)):
        for platform, commands, mode in rendered(action, model.model_validate(variant)):
            if commands:
                check_lines(platform, commands, mode=mode)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=HOSTILE, windows=st.booleans())
def test_hostile_value_in_any_field_is_refused_or_fits_the_grammar(
    field: tuple[str, Where], value: Any, windows: bool
) -> None:
    action, where = field
    model, data = BASE[action]
    data = with_value(data, where, value)
    if windows and (action, "windows") in WINDOWS:
        data["os"] = "windows"
    try:
        item = model.model_validate(data)
    except ValidationError:
        return
    for platform, commands, mode in rendered(action, item):
        if commands:
            check_lines(platform, commands, mode=mode)  # CommandRefused fails the test


@pytest.mark.parametrize(
    "value", ["ws-17\nend", "alice;reload", "Gi1/0/1|x", "10.0.0.0/24\nflush ruleset", "fe80::1%x } accept #"]
)
def test_known_injections_are_refused(value: str) -> None:
    for action, where in FIELDS:
        model, data = BASE[action]
        if isinstance(data_at(data, where), str):
            with pytest.raises(ValidationError):
                model.model_validate(with_value(data, where, value))


def data_at(data: Any, where: Where) -> Any:
    for part in where:
        data = data[part]
    return data


NFT_TASK = '{"name":"x","ansible.builtin.command":{"argv":["nft","-f","-"],"stdin":"%s"}}'


@pytest.mark.parametrize(
    ("platform", "line"),
    [
        ("linux", "add rule inet isolate_e forward ip6 saddr { fe80::1%x } accept #/128 } drop"),
        ("linux", "add rule inet t forward ip saddr 10.0.0.1 drop; flush ruleset"),
        ("linux", "add rule inet t forward ip saddr 10.0.0.1 drop } }"),
        ("cisco_ios", "ipv6 route fe80::1%x do write erase/128 Null0"),
        ("cisco_ios", "ip route 10.0.0.0 255.0.0.0 Null0 ?"),
        ("cisco_ios", "deny ip any host 10.0.0.1\u202e"),
        ("cisco_asa", "username alice\u2028 attributes"),
        ("openvswitch", "ovs-vsctl set port p1 tag=999 -- del-br br0;"),
        ("wireguard", "wg set wg0 peer @alice remove\u0085"),
        ("ansible", NFT_TASK % "flush ruleset # x\\n"),
        ("ansible", '{"name":"x\\u202e"}'),
        ("junos", "set interfaces ge-0/0/1 description x; delete system"),
    ],
)
def test_guard_refuses_lines_outside_the_grammar(platform: str, line: str) -> None:
    with pytest.raises(CommandRefused) as refused:
        check_lines(platform, [line])
    message = str(refused.value)
    assert message.startswith(f"command refused, not sent: outside the {platform} command grammar (")
    assert "\n" not in message and "\u202e" not in message and "\u2028" not in message


def test_the_canonical_form_is_rendered_never_the_text_as_written() -> None:
    item = EdgeBlockItem.model_validate({"step": "e", "prefixes": ["2001:DB8:0:0::/32", "0:0:0:0:0:0:0:0/0"]})
    rendered_ios = ACTIONS[("edge-block", "cisco_ios")].render(item)
    rendered_nft = ACTIONS[("edge-block", "linux")].render(item)
    assert isinstance(rendered_ios, list) and isinstance(rendered_nft, list)  # lines, not a batch
    assert rendered_ios == ["ipv6 route ::/0 Null0", "ipv6 route 2001:db8::/32 Null0"]
    assert "add rule inet isolate_e forward ip6 saddr { ::/0, 2001:db8::/32 } drop" in rendered_nft
    assert not any("DB8" in line or "0:0:0" in line for line in rendered_ios + rendered_nft)


@pytest.mark.parametrize(
    ("platform", "lines", "mode", "why"),
    [
        ("cisco_asa", ["@exec vpn-sessiondb logoff name alice noconfirm"], "config",
         "an '@exec ' line: exec-mode lines travel apart, as exec_after"),
        ("linux", ["flush ruleset"], "exec", "an exec-mode line on a platform without exec-mode lines"),
        ("cisco_asa", ["vpn-sessiondb logoff name alice noconfirm?"], "exec",
         "character '?' outside the CLI alphabet"),
    ],
)  # fmt: skip
def test_guard_on_exec_mode_lines(platform: str, lines: list[str], mode: Mode, why: str) -> None:
    """Exec-mode lines travel typed (a batch's exec_after): the earlier in-band spelling is
    never sent as a configuration line, and only platforms with an exec mode take them."""
    with pytest.raises(CommandRefused) as refused:
        check_lines(platform, lines, mode=mode)
    assert str(refused.value) == (
        f"command refused, not sent: outside the {platform} command grammar ({why}): {lines[0]!r}"
    )
    check_lines("cisco_asa", ["vpn-sessiondb logoff name alice noconfirm"], mode="exec")
