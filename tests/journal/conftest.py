"""Fixtures: finished journals written through the real Journal API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from isolate.journal import Journal, run_id_new
from isolate.secrets import Scrubber

PRE_STATE = "hostname core1\ninterface Vlan10\n ip address 10.10.10.1 255.255.255.0\n"
POST_STATE = PRE_STATE + " ip access-group ISOLATE-SMB in\n"

RunFactory = Callable[..., Path]
OVERRIDE = {"step": "cut-smb", "reason": "approved by CISO", "guard": "protected-asset", "detail": "fs1"}


def write_run(
    state_dir: Path,
    *,
    scrubber: Scrubber | None = None,
    restore: bool = True,
    finish: bool = True,
    reason: str = "ransomware on fs1",
    incident: str = "INC-7",
    pre_state: str = PRE_STATE,
    message: str = "",
) -> Path:
    """A small complete run: start, precheck, one step on two devices, restore, end."""
    journal = Journal.create(state_dir, run_id_new(), scrubber=scrubber)
    with journal:
        journal.append(
            "run-start", user="alice", host="admin1", pid=4242, command=["isolate", "apply", "-i", "inv"],
            incident=incident, reason=reason, tool_version="0.1.0",
            inventory={"path": "inventory/city.yml", "sha256": "a" * 64},
            playbook={"path": "playbooks/lateral.yml", "name": "ransomware-lateral", "sha256": "b" * 64},
            plan_sha256="c" * 64,
            overrides=[OVERRIDE],
            options={"workers": 4, "confirm_window_s": 120},
        )  # fmt: skip
        pre = journal.store_state(pre_state)
        post = journal.store_state(POST_STATE)
        for device in ("core1", "fw-int"):
            journal.append("precheck", device=device, ok=True, message=message, state=pre, checks={})
        for device in ("core1", "fw-int"):
            journal.append(
                "intent", device=device, step="cut-smb", action="block-smb", platform="cisco_ios", stage=1,
                forward=["ip access-list extended ISOLATE-SMB", " deny tcp any any eq 445"],
                inverse=["no ip access-list extended ISOLATE-SMB"], pre_state=pre, confirm_window_s=120,
            )  # fmt: skip
        for device in ("core1", "fw-int"):
            journal.append(
                "applied", device=device, step="cut-smb", ok=True, message=message, duration_s=0.25
            )
            journal.append("verified", device=device, step="cut-smb", ok=True, problems=[], post_state=post)
        journal.append("step-end", step="cut-smb", ok=True, duration_s=0.5)
        if not finish:
            return journal.run_dir
        journal.append("run-end", status="ok", duration_s=1.25, time_to_contain_s=1.0)
        if restore:
            journal.append("restore-start", stages=[1], user="ops", host="admin1", pid=4242)
            for device in ("core1", "fw-int"):
                journal.append(
                    "restore-intent", device=device, step="cut-smb", stage=1,
                    commands=["no ip access-list extended ISOLATE-SMB"], target_state=pre,
                )  # fmt: skip
                journal.append("restored", device=device, step="cut-smb", ok=True, stage=1, message=message)
                journal.append(
                    "gate", stage=1, device=device, ok=True, check="equality",
                    state=pre, expected=pre, problems=[],
                )  # fmt: skip
            journal.append("restore-end", ok=True)
    return journal.run_dir


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def make_run(state_dir: Path) -> RunFactory:
    def factory(**kwargs: object) -> Path:
        return write_run(state_dir, **kwargs)  # type: ignore[arg-type]

    return factory
