"""Validated, CLI-safe value types: exact messages and alphabet properties."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from isolate import values as v
from isolate.values import BadValue

HOSTILE = st.sampled_from(
    ["\n", "\r", ";", "|", "&", "`", "$(", "\x00", " ", "'", '"', "\t", "\x1b", ">", "<", "#", "{", "!"]
)
TEXT = st.text(max_size=40) | st.builds(
    lambda a, h, b: a + h + b, st.text(alphabet="abcGi1/0.-", max_size=10), HOSTILE, st.text(max_size=10)
)


@pytest.mark.parametrize(
    ("parser", "value", "message"),
    [
        (v.parse_vlan, 4095, "must be 1..4094, got 4095"),
        (v.parse_vlan, 0, "must be 1..4094, got 0"),
        (v.parse_vlan, True, "VLAN id must be an integer, got boolean True"),
        (v.parse_vlan, "10; reload", "VLAN id must be a decimal integer, got '10; reload'"),
        (v.parse_port, 70000, "must be 1..65535, got 70000"),
        (v.parse_timeout, 3601, "must be 1..3600, got 3601"),
        (v.parse_name, "core1\nreload", "newline not allowed in name: 'core1\\nreload'"),
        (v.parse_name, "core 1", "name must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}, got 'core 1'"),
        (v.parse_name, "", "name must not be empty"),
        (v.parse_name, 12, "name must be text, got integer 12"),
        (v.parse_ios_interface, "Gi1/0/1; reload", "';' not allowed in interface name: 'Gi1/0/1; reload'"),
        (v.parse_ios_interface, "Vlan4095", "must be 1..4094, got 4095"),
        (v.parse_ios_interface, "eth0/1x", "not an IOS interface name: 'eth0/1x'"),
        (v.parse_linux_interface, "veth|x", "'|' not allowed in interface name: 'veth|x'"),
        (
            v.parse_linux_interface,
            "a" * 16,
            "interface name must match [A-Za-z0-9_.-]{1,15}, got 'aaaaaaaaaaaaaaaa'",
        ),
        (v.parse_acl_name, "1acl", "ACL/table name must match [A-Za-z][A-Za-z0-9_-]{0,63}, got '1acl'"),
        (v.parse_user, "alice&bob", "'&' not allowed in user name: 'alice&bob'"),
        (v.parse_step_id, "Cut-SMB", "step id must match [a-z0-9][a-z0-9-]{0,39}, got 'Cut-SMB'"),
        (v.parse_prefix, "10.0.0.1/24", "host bits set in prefix '10.0.0.1/24'"),
        (v.parse_prefix, "10.0.0.0/33", "not an IP prefix: '10.0.0.0/33'"),
        (v.parse_ip, "10.0.0.256", "not an IP address: '10.0.0.256'"),
        (v.parse_ip, "10.0.0.1`id`", "backtick not allowed in address: '10.0.0.1`id`'"),
        (v.parse_ipv4, "::1", "not an IPv4 address: '::1'"),
        (v.parse_hostname, "host$(reboot)", "'$(' not allowed in host: 'host$(reboot)'"),
        (v.parse_hostname, "-bad-.example", "not a DNS name or IP address: '-bad-.example'"),
        (
            v.parse_credential_ref,
            "hunter2",
            "literal secret not allowed: use env:VAR, file:PATH or file:PATH#key",
        ),
        (v.parse_credential_ref, "env:1X", "env: reference needs a variable name [A-Za-z_][A-Za-z0-9_]*"),
        (v.parse_credential_ref, "file:a.yml#k/x", "file:PATH#key needs a key [A-Za-z0-9_.-]+"),
        (v.parse_text, "two\nlines", "newline not allowed in text"),
        (v.parse_text, "a; b", "';' not allowed in text"),
        (v.parse_path, "keys/$(id)", "'$(' not allowed in path: 'keys/$(id)'"),
        (v.parse_credential_ref, "file:;x.yml#k", "';' not allowed in a credential reference"),
    ],
)
def test_exact_messages(parser: Callable[[object], object], value: object, message: str) -> None:
    with pytest.raises(BadValue) as info:
        parser(value)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("given_name", "expanded"),
    [
        ("Gi1/0/5", "GigabitEthernet1/0/5"),
        ("gi1/0/5", "GigabitEthernet1/0/5"),
        ("GigabitEthernet1/0/5", "GigabitEthernet1/0/5"),
        ("Te1/1/1", "TenGigabitEthernet1/1/1"),
        ("Fa0/1", "FastEthernet0/1"),
        ("Vl10", "Vlan10"),
        ("Lo0", "Loopback0"),
        ("Po1", "Port-channel1"),
        ("Port-channel12", "Port-channel12"),
        ("Gi0/0.100", "GigabitEthernet0/0.100"),
    ],
)
def test_ios_abbreviations(given_name: str, expanded: str) -> None:
    assert v.parse_interface(given_name, "cisco_ios") == expanded


def test_linux_interface_not_expanded() -> None:
    assert v.parse_interface("eth0", "linux") == "eth0"
    assert v.parse_interface("br-int.10", "openvswitch") == "br-int.10"
    with pytest.raises(BadValue):
        v.parse_interface("Gi1/0/1", "linux")


def test_credential_refs_accepted() -> None:
    for ref in ("env:LAB_PW", "file:secrets.yml", "file:~/x/secrets.yml#enable"):
        assert v.parse_credential_ref(ref) == ref


def test_secret_never_echoed() -> None:
    for value in ("hunter2", "env:bad value;rm", "file:\n#k"):
        with pytest.raises(BadValue) as info:
            v.parse_credential_ref(value)
        assert value not in str(info.value)


class _Model(BaseModel):
    vlan: v.VlanId
    prefix: v.Prefix


def test_pydantic_message_is_ours() -> None:
    with pytest.raises(ValidationError) as info:
        _Model.model_validate({"vlan": 4095, "prefix": "10.0.0.0/8"})
    assert info.value.errors()[0]["msg"] == "must be 1..4094, got 4095"
    model = _Model.model_validate({"vlan": "10", "prefix": "10.0.0.0/8"})
    assert model.vlan == 10 and model.prefix == ipaddress.ip_network("10.0.0.0/8")
    assert model.model_dump(mode="json") == {"vlan": 10, "prefix": "10.0.0.0/8"}


ALPHABETS: list[tuple[Callable[[object], object], str]] = [
    (v.parse_name, r"[A-Za-z0-9._-]+"),
    (v.parse_acl_name, r"[A-Za-z0-9_-]+"),
    (v.parse_user, r"[A-Za-z0-9._@-]+"),
    (v.parse_step_id, r"[a-z0-9-]+"),
    (v.parse_service, r"[A-Za-z0-9._-]+"),
    (v.parse_interface, r"[A-Za-z0-9._/-]+"),
    (lambda x: v.parse_interface(x, "cisco_ios"), r"[A-Za-z0-9./-]+"),
    (v.parse_hostname, r"[A-Za-z0-9.:-]+"),
    (v.parse_ip, r"[0-9A-Fa-f.:]+"),
    (v.parse_prefix, r"[0-9A-Fa-f.:/]+"),
    (v.parse_vlan, r"[0-9]+"),
    (v.parse_port, r"[0-9]+"),
]


@settings(derandomize=True, database=None, max_examples=300)
@given(text=TEXT, which=st.integers(min_value=0, max_value=len(ALPHABETS) - 1))
def test_accepted_values_stay_in_their_alphabet(text: str, which: int) -> None:
    parser, alphabet = ALPHABETS[which]
    try:
        accepted = parser(text)
    except BadValue as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)
        return
    assert re.fullmatch(alphabet, str(accepted)), (text, accepted)


@settings(derandomize=True, database=None)
@given(
    st.none()
    | st.booleans()
    | st.floats()
    | st.lists(st.integers())
    | st.dictionaries(st.text(), st.integers())
)
def test_non_text_never_crashes(value: object) -> None:
    for parser, _ in ALPHABETS:
        with contextlib.suppress(BadValue):
            parser(value)
