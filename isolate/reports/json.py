"""report.json: every figure, check, step, device span and flow of a drill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from isolate.reports.model import DrillResult


def to_dict(result: DrillResult) -> dict[str, Any]:
    """The model's fields plus the figures derived from them (ok, budget verdict, counts)."""
    data = result.model_dump(mode="json")
    failed = result.failed_checks
    measured = result.clock.time_to_contain_s
    data["ok"] = result.ok
    data["summary"] = {
        "checks": len(result.checks),
        "checks_failed": len(failed),
        "failed": [c.id for c in failed],
        "devices": list(result.devices),
        "restored_identical": result.restored_identical,
        # null, not false, when nothing was contained to time (a refused plan, failed pre-checks):
        # a script reading false would report a containment over budget that never ran
        "within_budget": None if measured is None else result.clock.within_budget,
        "within_fastest_family": None if measured is None else result.clock.within_fastest,
        "flows": len(result.flows),
        "flows_blocked_during": sum(1 for f in result.flows if f.before and f.during is False),
    }
    if result.comparison is not None:
        data["comparison"]["extra_flows_lost"] = result.comparison.extra_flows_lost
        data["comparison"]["extra_services_lost"] = list(result.comparison.extra_services_lost)
    return data


def render_json(result: DrillResult) -> str:
    return json.dumps(to_dict(result), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_json(path: Path) -> DrillResult:
    """Read a report.json back into the model (derived keys are dropped)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("ok", None)
    data.pop("summary", None)
    if isinstance(data.get("comparison"), dict):
        data["comparison"].pop("extra_flows_lost", None)
        data["comparison"].pop("extra_services_lost", None)
    return DrillResult.model_validate(data)
