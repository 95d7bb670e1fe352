"""Planning speed: a synthetic inventory of N devices and a 20-step playbook.

Usage: .venv/bin/python benchmarks/plan_speed.py [--devices 10,100,1000] [--repeat 3]

Prints a table and writes benchmarks/results/plan_speed.json. The figure that matters is
``build_plan`` for 1,000 devices × 20 steps (target: well under 2 s); parsing the YAML
files is measured apart because it is not planning.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from isolate.inventory.models import Inventory  # noqa: E402
from isolate.plan.builder import build_plan  # noqa: E402
from isolate.plan.models import plan_json  # noqa: E402
from isolate.playbook.models import Playbook  # noqa: E402

STEPS = 20


def synthetic_inventory(devices: int) -> dict[str, Any]:
    """A city scaled up: ~4% gateways, 1% firewalls, an edge, a VPN, the rest access."""
    gateways = max(2, devices // 25)
    firewalls = max(1, devices // 100)
    access = max(1, devices - gateways - firewalls - 2)
    segments = max(4, devices // 5)
    devs: list[dict[str, Any]] = []

    def dev(name: str, platform_: str, role: str, index: int, **extra: Any) -> dict[str, Any]:
        address = f"10.99.{index // 250}.{index % 250 + 2}"
        return {
            "name": name,
            "host": "127.0.0.1",
            "port": 20000 + index,
            "platform": platform_,
            "role": role,
            "address": address,
            **extra,
        }

    index = 0
    for g in range(gateways):
        devs.append(dev(f"core{g}", "cisco_ios", "core", index))
        index += 1
    for f in range(firewalls):
        devs.append(dev(f"fw{f}", "linux", "firewall", index))
        index += 1
    devs.append(dev("fw-edge", "linux", "edge", index))
    devs.append(dev("vpn1", "cisco_asa", "vpn", index + 1))
    index += 2
    segs: list[dict[str, Any]] = [
        {
            "name": "management",
            "vlan": 4000,
            "subnet": "10.99.0.0/16",
            "gateway": "core0",
            "zone": "management",
        },
        {"name": "vpn", "vlan": 4001, "subnet": "10.70.0.0/16", "zone": "vpn"},
        {"name": "outside", "vlan": 4002, "subnet": "100.64.0.0/16", "zone": "outside"},
    ]
    hosts: list[dict[str, Any]] = [
        {"name": "admin1", "address": "10.99.250.10", "segment": "management"},
        {"name": "attacker", "address": "100.64.0.66", "segment": "outside"},
    ]
    for s in range(segments):
        seg: dict[str, Any] = {
            "name": f"seg{s}",
            "vlan": 10 + s,
            "subnet": f"10.{s // 250 + 1}.{s % 250}.0/24",
            "gateway": f"core{s % gateways}",
        }
        if s % 4 == 0:
            seg["firewall"] = f"fw{s % firewalls}"
        segs.append(seg)
        for h in range(5):
            host: dict[str, Any] = {
                "name": f"h{s}-{h}",
                "address": f"10.{s // 250 + 1}.{s % 250}.{h + 10}",
                "segment": f"seg{s}",
            }
            if h == 0 and s % 2 == 0:
                host["services"] = [{"name": "smb", "port": 445}, {"name": "app", "port": 443}]
            hosts.append(host)
    for u in range(50):
        hosts.append(
            {"name": f"vpnc{u}", "address": f"10.70.0.{u + 10}", "segment": "vpn", "vpn_user": f"user{u}"}
        )
    all_hosts = [h["name"] for h in hosts if h["segment"] not in ("management", "outside", "vpn")]
    for a in range(access):
        mine = all_hosts[a::access]
        devs.append(
            dev(
                f"acc{a}",
                "cisco_ios",
                "access",
                index,
                ports=[{"interface": f"GigabitEthernet1/0/{i + 1}", "host": n} for i, n in enumerate(mine)],
            )
        )
        index += 1
    devs[0]["ports"] = [{"interface": "GigabitEthernet1/0/48", "host": "admin1"}]
    return {
        "version": 1,
        "name": "synthetic",
        "management": {"networks": ["10.99.0.0/16"], "stations": ["admin1"], "tool_address": "10.99.250.10"},
        "devices": devs,
        "segments": segs,
        "hosts": hosts,
        "protected": {"services": ["app"], "segments": ["management"]},
        "vpn": {
            "concentrators": ["vpn1"],
            "groups": [{"name": "staff"}],
            "users": [{"name": f"user{u}", "group": "staff"} for u in range(50)],
        },
        "edge": {"devices": ["fw-edge"]},
    }


def synthetic_playbook(segments: int) -> dict[str, Any]:
    inside = {"segments": ["*"], "except": {"segments": ["management", "vpn", "outside"]}}
    steps: list[dict[str, Any]] = [
        {"id": "cut-smb", "action": "block-smb", "targets": inside},
        {
            "id": "cut-all",
            "action": "segment-acl",
            "targets": inside,
            "params": {"allow": [{"service": "app"}]},
        },
    ]
    for e in range(4):
        steps.append(
            {
                "id": f"edge-{e}",
                "action": "edge-block",
                "targets": {"devices": ["fw-edge"]},
                "params": {"prefixes": [f"100.64.{e}.0/24", f"203.0.113.{e}/32"]},
            }
        )
    for q in range(10):
        chosen = [f"h{(q * 7 + k * 13) % segments}-{1 + k % 4}" for k in range(20)]
        steps.append(
            {"id": f"quarantine-{q}", "action": "quarantine", "targets": {"hosts": sorted(set(chosen))}}
        )
    steps.append(
        {"id": "revoke-a", "action": "revoke-vpn", "targets": {"users": [f"user{u}" for u in range(10)]}}
    )
    steps.append({"id": "revoke-b", "action": "revoke-vpn", "targets": {"users": ["*"]}})
    for p in range(2):
        steps.append(
            {
                "id": f"shut-{p}",
                "action": "shut-port",
                "targets": {"hosts": [f"h{(p * 11 + k) % segments}-4" for k in range(10)]},
            }
        )
    assert len(steps) == STEPS
    return {"version": 1, "name": "bench", "steps": steps}


def measure(devices: int, repeat: int) -> dict[str, Any]:
    raw_inv = synthetic_inventory(devices)
    started = time.perf_counter()
    inventory = Inventory.model_validate(raw_inv)
    playbook = Playbook.model_validate(synthetic_playbook(len(raw_inv["segments"]) - 3))
    load_s = time.perf_counter() - started
    forced = {s.id: "benchmark" for s in playbook.steps}
    timings = []
    cpu = []
    plan = None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        plan = build_plan(inventory, playbook, overrides=forced)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    assert plan is not None
    started = time.perf_counter()
    text = plan_json(plan)
    json_s = time.perf_counter() - started
    return {
        "devices": len(inventory.devices),
        "steps": len(plan.steps),
        "segments": len(inventory.segments),
        "hosts": len(inventory.hosts),
        "changes": sum(len(s.changes) for s in plan.steps),
        "commands": sum(len(c.commands) for s in plan.steps for c in s.changes),
        "flows": plan.blast.flows_total,
        "model_s": round(load_s, 4),
        "plan_s_min": round(min(timings), 4),
        "plan_s_max": round(max(timings), 4),
        "plan_cpu_s_min": round(min(cpu), 4),
        "json_s": round(json_s, 4),
        "json_bytes": len(text.encode()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", default="10,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(int(n), args.repeat) for n in args.devices.split(",")]
    head = (
        "devices",
        "steps",
        "changes",
        "commands",
        "flows",
        "plan_s_min",
        "plan_s_max",
        "plan_cpu_s_min",
        "json_s",
        "json_bytes",
    )
    print(" ".join(f"{h:>11}" for h in head))
    for row in rows:
        print(" ".join(f"{row[h]:>11}" for h in head))
    out = ROOT / "benchmarks" / "results" / "plan_speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "plan_speed",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "target_s": 2.0,
        "rows": rows,
    }
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
