"""Watch rules (YAML beside the playbooks): which alert runs which playbook, with which
incident parameters, pre-approved (``auto``) or not (``ask``); and the limits auto-mode keeps.

    version: 1
    limits: {auto_per_hour: 5, deny: [10.10.10.0/24]}
    rules:
      - name: smb-decoy
        match: {signature: "opencanary logtype 5001"}
        playbook: ransomware-lateral.yml        # relative to this file
        parameters: {infected: "{source}"}
        mode: auto
        expires: 4h                             # optional: restored after 4 h unless extended
        release: true                           # optional: a release alert restores it

Loading is pure apart from reading the files; every problem is ``file:line: field: message``.
"""

from __future__ import annotations

import ipaddress
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from isolate.errors import InputError
from isolate.playbook.loader import load_playbook
from isolate.watch.alerts import Alert
from isolate.yamlsrc import LineMap, load_yaml, raise_problems, validation_problems

FIELDS = ("source", "destination", "signature", "severity", "sensor", "shape", "action")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RulesError(InputError):
    pass


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Model):
    auto_per_hour: int = Field(default=5, ge=0, le=1000)
    deny: tuple[str, ...] = ()

    @field_validator("deny")
    @classmethod
    def _prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"not an address or prefix: {item[:60]!r}") from None
        return value


class Rule(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")
    match: dict[Literal["source", "destination", "signature", "severity", "sensor", "shape", "action"],
                str | list[str]] = Field(default_factory=dict)
    playbook: str = Field(min_length=1)
    parameters: dict[str, str] = Field(default_factory=dict)
    mode: Literal["auto", "ask"] = "ask"
    expires: str | None = None  # the containment expires into a staged restore (docs/watch.md)
    release: bool = False  # a release alert for this rule's host restores its containment

    @field_validator("expires")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        from isolate.expiry import parse_duration

        if value is not None:
            try:
                parse_duration("expires", value)
            except InputError as exc:
                raise ValueError(str(exc).removeprefix("expires ")) from None
        return value

    @field_validator("parameters")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            for _, name, spec, conv in string.Formatter().parse(text):
                if name is not None and (name not in FIELDS or spec or conv):
                    raise ValueError(f"{{{name}}} is not an alert field (use one of {', '.join(FIELDS)})")
        return value

    def matches(self, alert: Alert) -> bool:
        fields = alert.fields()
        for key, wanted in self.match.items():
            choices = [wanted] if isinstance(wanted, str) else wanted
            if fields[key] not in choices:
                return False
        return True

    def values(self, alert: Alert) -> dict[str, list[str]]:
        """The incident parameters for this alert (``--set NAME=VALUE`` values)."""
        fields = alert.fields()
        return {name: [text.format_map(fields)] for name, text in self.parameters.items()}


class RulesFile(_Model):
    version: Literal[1]
    limits: Limits = Field(default_factory=Limits)
    rules: list[Rule]


@dataclass(frozen=True)
class Rules:
    path: Path
    limits: Limits
    rules: tuple[Rule, ...]

    def first_match(self, alert: Alert) -> Rule | None:
        return next((r for r in self.rules if r.matches(alert)), None)

    def playbook_path(self, rule: Rule) -> Path:
        return (self.path.parent / rule.playbook).resolve()

    def denied(self, values: Mapping[str, list[str]]) -> str | None:
        """The first parameter value inside the deny-list, if any."""
        networks = [ipaddress.ip_network(d, strict=False) for d in self.limits.deny]
        for items in values.values():
            for item in items:
                try:
                    address = ipaddress.ip_address(item)
                except ValueError:
                    continue
                hit = next((n for n in networks if address in n), None)
                if hit is not None:
                    return f"{item} is in the deny-list ({hit})"
        return None


def load_rules(path: Path) -> Rules:
    source = load_yaml(path, RulesError)
    if not isinstance(source.data, dict):
        raise RulesError(f"{source.path}:1: the top level must be a mapping (version, limits, rules)")
    try:
        parsed = RulesFile.model_validate(source.data)
    except ValidationError as exc:
        raise_problems(RulesError, validation_problems(exc, source.data, source.lines, RulesFile))
        raise AssertionError("unreachable") from exc
    if not parsed.rules:
        raise RulesError(str(source.lines.problem(("rules",), "at least one rule is needed")))
    rules = Rules(path.resolve(), parsed.limits, tuple(parsed.rules))
    _check_playbooks(rules, source.lines)
    return rules


def _check_playbooks(rules: Rules, lines: LineMap) -> None:
    """Every rule's playbook loads, and declares every parameter the rule sets."""
    problems = []
    for i, rule in enumerate(rules.rules):
        playbook_path = rules.playbook_path(rule)
        if not playbook_path.is_file():
            problems.append(lines.problem(("rules", i, "playbook"), f"no playbook {str(playbook_path)!r}"))
            continue
        declared = load_playbook(playbook_path).parameters
        for name in rule.parameters:
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                problems.append(lines.problem(
                    ("rules", i, "parameters", name),
                    f"{rule.playbook} declares no parameter {name!r} (it has: {known})",
                ))
    raise_problems(RulesError, problems)
