"""A 200-server city topology for the embedded lab (issue 15), written as a new user
would: 9 inside segments, management, a VPN pool and the outside; file/DNS/LDAP servers
that all serve LDAP and DNS, two of them infected; 200 servers and workstations in all."""

from __future__ import annotations

from pathlib import Path

import yaml

SEGMENTS = (  # name, vlan, gateway, firewall, criticality, hosts, services
    ("servers", 10, "core1", "fw-int", "high", 24, ("smb:445", "ldap:389", "dns:53", "kerberos:88")),
    ("civil-status", 20, "core1", "fw-int", "critical", 8, ("civil-status:443",)),
    ("payments", 30, "core1", "fw-int", "critical", 8, ("payments:443",)),
    ("websites", 40, "core2", None, "high", 10, ("https:443", "http:80")),
    ("museums", 50, "core2", None, "low", 12, ("museum-kiosk:443",)),
    ("libraries", 60, "core2", None, "low", 12, ("library-catalog:443",)),
    ("conservatory", 65, "core2", None, "low", 10, ("smb:445",)),
    ("backups", 80, "core1", "fw-int", "critical", 6, ("backup:9102",)),
    ("users", 100, "core2", None, "medium", 110, ("smb:445",)),
)


def _service(text: str) -> dict[str, object]:
    name, port = text.split(":")
    return {"name": name, "port": int(port)}


def topology() -> dict[str, object]:
    segments: list[dict[str, object]] = [
        {"name": "management", "vlan": 99, "subnet": "10.99.0.0/24", "gateway": "core1",
         "zone": "management", "criticality": "critical"},
    ]
    hosts: list[dict[str, object]] = [{"name": "admin1", "address": "10.99.0.10", "segment": "management"}]
    for name, vlan, gateway, firewall, criticality, count, services in SEGMENTS:
        seg: dict[str, object] = {"name": name, "vlan": vlan, "subnet": f"10.20.{vlan}.0/24",
                                  "gateway": gateway, "criticality": criticality}
        if firewall:
            seg["firewall"] = firewall
        segments.append(seg)
        prefix = "ws" if name == "users" else "srv" if name == "servers" else name[:3]
        for i in range(1, count + 1):
            host: dict[str, object] = {"name": f"{prefix}-{i}", "address": f"10.20.{vlan}.{10 + i}",
                                       "segment": name, "services": [_service(s) for s in services]}
            if name == "servers" and i in (17, 18):
                host["tags"] = ["infected"]
            hosts.append(host)
    segments += [
        {"name": "vpn", "vlan": 70, "subnet": "10.70.0.0/24", "zone": "vpn"},
        {"name": "outside", "vlan": 200, "subnet": "100.64.0.0/24", "zone": "outside"},
    ]
    hosts += [
        {"name": "vpn-alice", "address": "10.70.0.10", "segment": "vpn", "vpn_user": "alice"},
        {"name": "attacker", "address": "100.64.0.66", "segment": "outside", "tags": ["attacker"]},
        {"name": "citizen", "address": "100.64.0.20", "segment": "outside"},
    ]
    return {
        "version": 1,
        "name": "city200",
        "management": {"networks": ["10.99.0.0/24"], "stations": ["admin1"], "tool_address": "10.99.0.10"},
        "access": {"count": 6, "prefix": "acc", "ports": 48, "first_address": "10.99.0.21",
                   "uplinks": ["core1", "core2"]},
        "devices": [
            {"name": "core1", "kind": "cisco_ios", "role": "core", "address": "10.99.0.2"},
            {"name": "core2", "kind": "cisco_ios", "role": "core", "address": "10.99.0.3"},
            {"name": "fw-edge", "kind": "linux", "role": "edge", "address": "10.99.0.4"},
            {"name": "fw-int", "kind": "linux", "role": "firewall", "address": "10.99.0.5"},
            {"name": "vpn1", "kind": "cisco_asa", "role": "vpn", "address": "10.99.0.6"},
        ],
        "segments": segments,
        "hosts": hosts,
        "protected": {"hosts": ["admin1"], "services": ["civil-status", "payments", "dns", "ldap", "backup"],
                      "segments": ["management"]},
        "vpn": {"concentrators": ["vpn1"], "groups": [{"name": "contractors"}],
                "users": [{"name": "alice", "group": "contractors"}]},
        "edge": {"devices": ["fw-edge"]},
    }


def write_topology(path: Path) -> Path:
    path.write_text(yaml.safe_dump(topology(), sort_keys=False), encoding="utf-8")
    return path
