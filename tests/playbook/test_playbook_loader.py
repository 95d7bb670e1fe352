"""Playbook loading: exact located messages, defaults, params located for actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from isolate.errors import PlaybookError
from isolate.playbook import load_playbook, param_error, validate_params
from isolate.values import Prefix, VlanId

FIXTURES = Path(__file__).parent.parent / "fixtures" / "playbooks"

BASE = """\
version: 1
name: lateral
defaults: {policy: continue, timeout: 30}
steps:
  - id: cut-smb
    action: block-smb
    targets: {segments: ["*"], except: {segments: [management]}}
  - id: quarantine-ws17
    action: quarantine
    targets: {hosts: [ws-17]}
    params:
      vlan: 999
    policy: abort
    restore_stage: 1
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "x.yml"
    path.write_text(text)
    with pytest.raises(PlaybookError) as info:
        load_playbook(path)
    return [p.replace(f"{tmp_path}/", "") for p in info.value.problems]


def one_problem(tmp_path: Path, text: str) -> str:
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_fixture() -> None:
    book = load_playbook(FIXTURES / "valid.yml")
    assert [s.id for s in book.steps] == ["cut-smb", "quarantine-infected", "revoke-contractors", "edge"]
    assert len(book.sha256) == 64
    assert book.source_path == str(FIXTURES / "valid.yml")


def test_defaults_apply_to_steps(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text(BASE)
    book = load_playbook(path)
    first, second = book.steps
    assert (first.policy, first.timeout) == ("continue", 30)
    assert (second.policy, second.timeout, second.restore_stage) == ("abort", 30, 1)
    assert first.targets.segments == ("*",)
    assert first.targets.except_.segments == ("management",)
    assert book.restore_stage_of(first) == 2
    assert [[s.id for s in stage] for stage in book.restore_order()] == [["quarantine-ws17"], ["cut-smb"]]


def test_bad_yaml(tmp_path: Path) -> None:
    text = BASE.replace("    action: block-smb\n", "    action: block-smb\n   bad: [\n")
    assert one_problem(tmp_path, text).startswith("x.yml:7: YAML syntax error: ")


def test_unknown_action_with_did_you_mean(tmp_path: Path) -> None:
    text = BASE.replace("action: block-smb", "action: block-smd")
    assert one_problem(tmp_path, text) == (
        "x.yml:6: steps[0].action: unknown action 'block-smd' (did you mean 'block-smb'?); known: "
        "quarantine, segment-acl, block-smb, revoke-vpn, edge-block, shut-port, disable-smb-host, "
        "fence-host, disable-account"
    )


def test_unknown_key_with_did_you_mean(tmp_path: Path) -> None:
    text = BASE.replace("    restore_stage: 1", "    restore-stage: 1")
    assert one_problem(tmp_path, text) == (
        "x.yml:14: steps[1].restore-stage: unknown key (did you mean 'restore_stage'?)"
    )


def test_unknown_selector_key(tmp_path: Path) -> None:
    text = BASE.replace("{hosts: [ws-17]}", "{host: [ws-17]}")
    assert one_problem(tmp_path, text) == (
        "x.yml:10: steps[1].targets.host: unknown key (did you mean 'hosts'?)"
    )


def test_bad_policy(tmp_path: Path) -> None:
    text = BASE.replace("policy: abort", "policy: rollback")
    assert one_problem(tmp_path, text) == (
        "x.yml:13: steps[1].policy: must be one of abort, continue, rollback-step or rollback-all, "
        "got 'rollback'"
    )


def test_timeout_range(tmp_path: Path) -> None:
    text = BASE.replace("timeout: 30", "timeout: 0")
    assert one_problem(tmp_path, text) == "x.yml:3: defaults.timeout: must be 1..3600, got 0"


def test_duplicate_step_id(tmp_path: Path) -> None:
    text = BASE.replace("id: quarantine-ws17", "id: cut-smb")
    assert (
        one_problem(tmp_path, text) == "x.yml:8: steps[1].id: duplicate step id 'cut-smb' (first at line 5)"
    )


def test_injection_in_step_id(tmp_path: Path) -> None:
    text = BASE.replace("id: cut-smb", 'id: "cut-smb\\nreload"')
    assert one_problem(tmp_path, text) == (
        "x.yml:5: steps[0].id: newline not allowed in step id: 'cut-smb\\nreload'"
    )


def test_injection_in_selector(tmp_path: Path) -> None:
    text = BASE.replace("[ws-17]", '["ws-17; reload"]')
    assert one_problem(tmp_path, text) == (
        "x.yml:10: steps[1].targets.hosts[0]: ';' not allowed in name: 'ws-17; reload'"
    )


def test_wrong_type(tmp_path: Path) -> None:
    text = BASE.replace("targets: {hosts: [ws-17]}", "targets: [ws-17]")
    assert one_problem(tmp_path, text) == "x.yml:10: steps[1].targets: must be a mapping, got a list"


def test_missing_steps(tmp_path: Path) -> None:
    assert one_problem(tmp_path, "version: 1\nname: x\n") == "x.yml:1: steps: required"


def test_version_must_be_1(tmp_path: Path) -> None:
    assert one_problem(tmp_path, BASE.replace("version: 1", "version: 2")) == (
        "x.yml:1: version: must be one of 1, got 2"
    )


class QuarantineParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vlan: VlanId


class EdgeParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    prefixes: tuple[Prefix, ...]


def test_params_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text(BASE.replace("vlan: 999", "vlan: 4095"))
    step = load_playbook(path).steps[1]
    assert param_error(step, "vlan", "no SVI allowed") == f"{path}:12: steps[1].params.vlan: no SVI allowed"
    with pytest.raises(PlaybookError) as info:
        validate_params(step, QuarantineParams)
    assert info.value.problems == [f"{path}:12: steps[1].params.vlan: must be 1..4094, got 4095"]


def test_params_list_item_located() -> None:
    step = load_playbook(FIXTURES / "valid.yml").steps[3]
    assert validate_params(step, EdgeParams).prefixes[0].prefixlen == 24
    assert param_error(step, ("prefixes", 0), "bad").endswith(
        "valid.yml:24: steps[3].params.prefixes[0]: bad"
    )


def test_params_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text(BASE.replace("vlan: 999", "vlna: 999"))
    with pytest.raises(PlaybookError) as info:
        validate_params(load_playbook(path).steps[1], QuarantineParams)
    assert info.value.problems == [
        f"{path}:11: steps[1].params.vlan: required",
        f"{path}:12: steps[1].params.vlna: unknown key (did you mean 'vlan'?)",
    ]
