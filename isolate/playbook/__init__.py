"""Playbooks: typed models, loader and selector resolution."""

from isolate.playbook.loader import load_playbook, param_error, parse_playbook, validate_params
from isolate.playbook.models import (
    ACTIONS,
    POLICIES,
    SELECTOR_KEYS,
    Defaults,
    Exclusion,
    Expect,
    FlowExpect,
    Playbook,
    Selector,
    Step,
    StepSource,
)
from isolate.playbook.resolve import ResolvedTargets, resolve, resolve_step

__all__ = [
    "ACTIONS",
    "POLICIES",
    "SELECTOR_KEYS",
    "Defaults",
    "Exclusion",
    "Expect",
    "FlowExpect",
    "Playbook",
    "ResolvedTargets",
    "Selector",
    "Step",
    "StepSource",
    "load_playbook",
    "param_error",
    "parse_playbook",
    "resolve",
    "resolve_step",
    "validate_params",
]
