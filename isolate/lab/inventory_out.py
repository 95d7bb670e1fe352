"""Write the lab's inventory (docs/design.md "Inventory YAML"), secrets and known_hosts.

``STATE/inventory.yml`` references ``STATE/secrets.yml`` (mode 0600, a random
password and enable secret per lab) and ``STATE/known_hosts``; the shipped
``inventory/city.yml`` is the same document for the default state dir
(``~/.local/state/isolate/lab``) and base port, with ``~`` paths.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Any

import yaml

from isolate.errors import LabError
from isolate.lab.server import write_atomic
from isolate.lab.topology import DEVICE_KINDS, Lab, LabCredentials

LAB_USERNAME = "admin"
DEFAULT_LAB_DIR_DISPLAY = "~/.local/state/isolate/lab"


def ensure_secrets(state_dir: Path) -> LabCredentials:
    """The lab's credentials, created once per state dir (``secrets.yml``, mode 0600): a
    password and enable secret for the SSH devices, an API token for the REST devices (added
    to an older secrets file that has none)."""
    path = state_dir / "secrets.yml"
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            creds = LabCredentials(str(data["username"]), str(data["password"]),
                                   str(data["enable"]), str(data.get("token") or ""))
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as err:
            raise LabError(f"{path}: unreadable lab secrets ({type(err).__name__})") from None
        if creds.token:
            return creds
        creds = LabCredentials(creds.username, creds.password, creds.enable,
                               secrets.token_hex(15))
    else:
        creds = LabCredentials(LAB_USERNAME, secrets.token_urlsafe(18), secrets.token_urlsafe(18),
                               secrets.token_hex(15))  # FortiOS API keys: 30 characters
    text = yaml.safe_dump({"username": creds.username, "password": creds.password,
                           "enable": creds.enable, "token": creds.token}, sort_keys=False)
    write_atomic(path, text.encode())
    return creds


def _networks(lab: Lab, hosted: set[str]) -> list[str]:
    nets = [ipaddress.ip_network(str(n)) for n in lab.topology.management.networks]
    for dev in lab.devices:
        if dev.name not in hosted:
            continue
        addr = ipaddress.ip_address(dev.address)
        if not any(addr in n for n in nets):
            nets.append(ipaddress.ip_network(f"{addr}/24", strict=False))
    return [str(n) for n in nets]


REST_KINDS = ("fortios",)  # served over HTTPS with an API token (isolate.lab.fortios_http)


def inventory_data(lab: Lab, *, base_port: int, secrets_path: str, known_hosts: str,
                   tls_fingerprint: str = "") -> dict[str, Any]:
    """The inventory for ``lab`` served from ``base_port`` (deterministic). REST devices
    take the ``lab-api`` credential set (the API token) and their HTTPS certificate pinned
    by ``tls_fingerprint``."""
    topo = lab.topology
    hosted = {d.name for d in lab.devices if DEVICE_KINDS.get(d.kind) is not None}
    devices: list[dict[str, Any]] = []
    groups: list[str] = []
    unlisted = {h.name for h in topo.hosts if not h.listed}
    for dev in lab.devices:
        if dev.name not in hosted:
            continue
        entry: dict[str, Any] = {
            "name": dev.name, "host": "127.0.0.1", "port": base_port + dev.index,
            "platform": dev.kind, "role": dev.role, "address": dev.address,
            "credentials": "lab",
        }
        if dev.groups:
            entry["groups"] = list(dev.groups)
            groups += [g for g in dev.groups if g not in groups]
        if dev.tags:
            entry["tags"] = list(dev.tags)
        if dev.kind in REST_KINDS:
            entry["credentials"] = "lab-api"
            entry["tls"] = {"fingerprint": tls_fingerprint or "unknown until `isolate lab up`"}
        if dev.options.get("ssh") == "ios15":
            entry["ssh"] = {"legacy": True}  # the lab offers it IOS 15's algorithms only
        ports = [{"interface": i, "host": h} for i, h in dev.access_ports if h not in unlisted]
        if ports:
            entry["ports"] = ports
        devices.append(entry)
    segments = []
    for seg in topo.segments:
        data = seg.model_dump(mode="json", exclude_none=True)
        for key in ("gateway", "firewall"):
            if data.get(key) is not None and data[key] not in hosted:
                del data[key]
        segments.append(data)
    hosts = [h.model_dump(mode="json", exclude_none=True, exclude_defaults=True,
                          exclude={"switch", "listed"}) for h in topo.hosts if h.listed]
    return {
        "version": 1,
        "name": topo.name,
        "management": {
            "networks": _networks(lab, hosted),
            "stations": list(topo.management.stations),
            **({"tool_address": str(topo.management.tool_address)}
               if topo.management.tool_address else {}),
        },
        "known_hosts": known_hosts,
        "credentials": {"lab": {
            "username": LAB_USERNAME,
            "password": f"file:{secrets_path}#password",
            "enable": f"file:{secrets_path}#enable",
        }, **({"lab-api": {"username": LAB_USERNAME, "token": f"file:{secrets_path}#token"}}
              if any(d.kind in REST_KINDS for d in lab.devices if d.name in hosted) else {})},
        "devices": devices,
        "groups": [{"name": g} for g in groups],
        "segments": segments,
        "hosts": hosts,
        "protected": topo.protected.model_dump(mode="json"),
        "vpn": {
            "concentrators": [c for c in topo.vpn.concentrators if c in hosted],
            "groups": [g.model_dump(mode="json", exclude_defaults=True)
                       for g in topo.vpn.groups],
            "users": [u.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
                      for u in topo.vpn.users],
        },
        "edge": {"devices": [d for d in topo.edge.devices if d in hosted]},
    }


def render_inventory(lab: Lab, *, base_port: int, secrets_path: str, known_hosts: str,
                     origin: str, tls_fingerprint: str = "") -> str:
    data = inventory_data(lab, base_port=base_port, secrets_path=secrets_path,
                          known_hosts=known_hosts, tls_fingerprint=tls_fingerprint)
    header = (f"# Embedded-lab inventory, generated by `isolate lab {origin}` from topology "
              f"{lab.name!r}.\n# Credentials are references to the lab's secrets file; "
              "do not edit by hand.\n")
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: 1,000 devices in ms
    return header + yaml.dump(data, Dumper=dumper, sort_keys=False, width=100)


def shipped_inventory(lab: Lab, base_port: int) -> str:
    """``inventory/city.yml``: the default topology at the default lab state dir."""
    return render_inventory(lab, base_port=base_port,
                            secrets_path=f"{DEFAULT_LAB_DIR_DISPLAY}/secrets.yml",
                            known_hosts=f"{DEFAULT_LAB_DIR_DISPLAY}/known_hosts",
                            origin="inventory")


def write_lab_files(state_dir: Path, lab: Lab, *, base_port: int, host_key_line: str,
                    rsa_key_line: str = "", rsa_devices: set[str] | None = None,
                    tls_fingerprint: str = "") -> Path:
    """Write ``known_hosts`` and ``inventory.yml`` for a lab served from ``base_port``
    (``rsa_devices`` present the RSA host key: the legacy SSH profile; REST devices present
    the certificate of ``tls_fingerprint``)."""
    hosted = [d for d in lab.devices
              if DEVICE_KINDS.get(d.kind) is not None and d.kind not in REST_KINDS]
    rsa = rsa_devices or set()
    known = "".join(
        f"[127.0.0.1]:{base_port + d.index} {rsa_key_line if d.name in rsa else host_key_line}\n"
        for d in hosted)
    write_atomic(state_dir / "known_hosts", known.encode(), mode=0o644)
    text = render_inventory(lab, base_port=base_port, secrets_path="secrets.yml",
                            known_hosts="known_hosts", origin="up", tls_fingerprint=tls_fingerprint)
    path = state_dir / "inventory.yml"
    write_atomic(path, text.encode(), mode=0o644)
    return path
