"""A hand-built DrillResult for the renderer tests (no lab needed)."""

from __future__ import annotations

from isolate.reports.model import (
    Blast,
    Check,
    Clock,
    DeviceOutcome,
    DeviceRestore,
    DrillResult,
    FlowRow,
    Span,
    StepOutcome,
)

EVIL = '<script>alert("x")</script>&'


def sample(*, restore_fails: bool = False) -> DrillResult:
    diff = "differs from its captured pre-state: '-ip access-list extended SMB'"
    restore = (
        DeviceRestore(device="core1", identical=not restore_fails, difference=diff if restore_fails else ""),
        DeviceRestore(device="fw-int", identical=True),
    )
    checks = [
        Check(id="steps.cut-smb", group="steps", name="step cut-smb verified", ok=True),
        Check(id="containment.must-block", group="containment", name="must-block flows blocked", ok=True,
              message="4 of 4 blocked"),
        Check(id="containment.must-keep", group="containment", name="must-keep flows kept", ok=True,
              message=f"10 of 10 kept ({EVIL})"),
        Check(id="restore.identical.core1", group="restore", name="core1 restored identical",
              ok=not restore_fails, device="core1", message="" if not restore_fails else diff,
              details=(diff,) if restore_fails else ()),
        Check(id="clock.budget", group="clock", name="contained within budget", ok=True, message="1.20 s"),
    ]
    flows = (
        FlowRow(src="ws1", dst="fs1", port=445, service="smb", expect="block", before=True, during=False,
                after=True),
        FlowRow(src="ws1", dst="web1", port=443, service="https", expect="keep", before=True, during=True,
                after=True),
        FlowRow(src="admin1", dst="core1", port=22, service="ssh", expect="keep", before=True, during=True,
                after=not restore_fails),
        FlowRow(src=EVIL, dst="fs1", port=139, before=False, during=False, after=False),
    )
    return DrillResult(
        tool_version="0.1.0",
        playbook="ransomware-lateral",
        playbook_path="playbooks/ransomware-lateral.yml",
        inventory_path="/tmp/lab/inventory.yml",
        lab=True,
        incident="DRILL-2026-11-23",
        run_id="20261123T054000Z-abc123",
        run_dir="/tmp/state/runs/20261123T054000Z-abc123",
        started_at="2026-11-23T05:40:00Z",
        finished_at="2026-11-23T05:40:09Z",
        apply_status="ok",
        restore_ok=not restore_fails,
        restore_message="restore stopped at stage 1: core1: " + diff if restore_fails else "restored",
        exit_code=1 if restore_fails else 0,
        clock=Clock(time_to_contain_s=1.2, time_to_restore_s=2.5),
        blast=Blast(ports=2, hosts=3, vpn_users=1, services_down=("smb",)),
        steps=(
            StepOutcome(id="cut-smb", action="block-smb", ok=True, duration_s=0.8, devices=(
                DeviceOutcome(device="core1", ok=True, phase="done", duration_s=0.7),
                DeviceOutcome(device="fw-int", ok=True, phase="done", duration_s=0.5),
            )),
        ),
        spans=(
            Span(device="core1", step="cut-smb", phase="apply", start_s=0.1, end_s=0.8, ok=True),
            Span(device="fw-int", step="cut-smb", phase="apply", start_s=0.1, end_s=0.6, ok=True),
            Span(device="core1", step="cut-smb", phase="restore", start_s=3.0, end_s=4.0,
                 ok=not restore_fails,
                 message=diff),
        ),
        restore=restore,
        flows=flows,
        checks=tuple(checks),
    )
