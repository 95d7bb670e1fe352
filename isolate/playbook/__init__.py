"""Playbooks: typed models, loader and selector resolution."""

from isolate.playbook.models import ACTIONS, POLICIES, Defaults, Expect, Playbook, Selector, Step

__all__ = ["ACTIONS", "POLICIES", "Defaults", "Expect", "Playbook", "Selector", "Step"]
