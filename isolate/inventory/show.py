"""``isolate inventory show``: the inventory as isolate understood it, with where each
value came from (``file:line``), as text, JSON or a group/segment graph; and the
credential check ``inventory check`` runs (every reference resolved, all failures listed).
Pure except :func:`credential_problems`, which reads the referenced secrets (and drops
them at once: only whether they resolve is kept)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from isolate.errors import InventoryError
from isolate.inventory.models import Device, Inventory
from isolate.natsort import natural_key
from isolate.secrets import read_ref
from isolate.yamlsrc import LineMap, Loc, Problem

_DEVICE_FIELDS = ("host", "port", "platform", "role", "address", "credentials", "groups", "tags", "site")


def _where(lines: LineMap, loc: Loc) -> str:
    index, line = lines.locate(loc)
    file = lines.files[index] if index < len(lines.files) else "<input>"
    return f"{file}:{line}"


def _value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_value(v) for v in value]
    return value if isinstance(value, int | str | bool) or value is None else str(value)


def _device(inv: Inventory, lines: LineMap, i: int, device: Device) -> dict[str, Any]:
    loc: Loc = ("devices", i)
    fields = {}
    for name in _DEVICE_FIELDS:
        value = getattr(device, name)
        if value in (None, ()):
            continue
        fields[name] = {"value": _value(value), "from": _where(lines, (*loc, name))}
    via = inv.via_of(device)
    if via:  # the jump hosts, from wherever the path is said (the device, its group, its segment)
        fields["via"] = {"value": list(via), "from": _where(lines, _via_loc(inv, i, device))}
    ports = [
        {"interface": p.interface, "host": p.host, "from": _where(lines, (*loc, "ports", j))}
        for j, p in enumerate(device.ports)
    ]
    return {"name": device.name, "from": _where(lines, loc), "fields": fields, "ports": ports}


def _via_loc(inv: Inventory, i: int, device: Device) -> Loc:
    """Where ``device``'s jump path is said (docs/inventory.md, "jump_hosts and via")."""
    if device.via is not None:
        return ("devices", i, "via")
    via = inv.via_of(device)
    for j, group in enumerate(inv.groups):
        if group.name in device.groups and group.via == via:
            return ("groups", j, "via")
    j = next(j for j, seg in enumerate(inv.segments) if seg.via == via)
    return ("segments", j, "via")


def describe(inv: Inventory, lines: LineMap) -> dict[str, Any]:
    """Every device (each field with its source), credential set (references only, never a
    secret), segment and host, in natural name order."""
    devices = [_device(inv, lines, i, d) for i, d in enumerate(inv.devices)]
    credentials = {
        name: {
            "username": c.username,
            "password": c.password,
            "enable": c.enable,
            "token": c.token,
            "key_file": c.key_file,
            "from": _where(lines, ("credentials", name)),
        }
        for name, c in sorted(inv.credentials.items())
    }
    segments = [
        {
            "name": s.name,
            "vlan": s.vlan,
            "subnet": str(s.subnet),
            "zone": s.zone,
            "gateway": s.gateway,
            "firewall": s.firewall,
            "from": _where(lines, ("segments", i)),
        }
        for i, s in enumerate(inv.segments)
    ]
    hosts = [
        {
            "name": h.name,
            "address": str(h.address),
            "segment": h.segment,
            "services": [f"{s.name}:{s.port}/{s.proto}" for s in h.services],
            "tags": list(h.tags),
            "from": _where(lines, ("hosts", i)),
        }
        for i, h in enumerate(inv.hosts)
    ]
    sources = [
        {"name": x.name, "prefix": str(x.prefix), "zone": x.zone, "from": _where(lines, ("sources", i))}
        for i, x in enumerate(inv.sources)
    ]
    return {
        "name": inv.name,
        "source": inv.source_path,
        "files": list(lines.files),
        "sha256": inv.sha256,
        "devices": sorted(devices, key=lambda d: natural_key(d["name"])),
        "credentials": credentials,
        "segments": segments,
        "hosts": sorted(hosts, key=lambda h: natural_key(h["name"])),
        "protected": inv.protected.model_dump(mode="json"),
        **({"sources": sources} if sources else {}),
    }


def render_json(inv: Inventory, lines: LineMap) -> str:
    return json.dumps(describe(inv, lines), indent=2, sort_keys=False) + "\n"


def render_text(inv: Inventory, lines: LineMap) -> str:
    data = describe(inv, lines)
    out = [f"inventory {data['name']} from {', '.join(data['files'])} (sha256 {inv.sha256[:12]})"]
    out.append(f"devices ({len(data['devices'])}):")
    for device in data["devices"]:
        out.append(f"  {device['name']}  [{device['from']}]")
        for name, field in device["fields"].items():
            value = field["value"]
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            out.append(f"    {name}: {shown}  [{field['from']}]")
        for port in device["ports"]:
            out.append(f"    port {port['interface']} -> {port['host']}  [{port['from']}]")
    out.append(f"credentials ({len(data['credentials'])}):")
    for name, cred in data["credentials"].items():
        refs = ", ".join(f"{k} {v}" for k, v in cred.items() if k not in ("from", "username") and v)
        out.append(f"  {name}: user {cred['username']}{'; ' + refs if refs else ''}  [{cred['from']}]")
    out.append(f"segments ({len(data['segments'])}):")
    for seg in data["segments"]:
        via = ", ".join(f"{k} {seg[k]}" for k in ("gateway", "firewall") if seg[k]) or "nothing routes it"
        vlan = f"vlan {seg['vlan']}" if seg["vlan"] is not None else "no vlan"
        head = f"  {seg['name']}: {vlan} {seg['subnet']} zone {seg['zone']}"
        out.append(f"{head}; {via}  [{seg['from']}]")
    out.append(f"hosts ({len(data['hosts'])}):")
    for host in data["hosts"]:
        services = ", ".join(host["services"]) or "no services"
        head = f"  {host['name']}: {host['address']} in {host['segment']}"
        out.append(f"{head}; {services}  [{host['from']}]")
    if "sources" in data:
        out.append(f"sources ({len(data['sources'])}):")
        out += [f"  {x['name']}: {x['prefix']} zone {x['zone']}  [{x['from']}]" for x in data["sources"]]
    return "\n".join(out) + "\n"


def render_graph(inv: Inventory) -> str:
    """Like ``ansible-inventory --graph``: groups and their devices, segments and their hosts."""
    out = ["@devices:"]
    groups: dict[str, list[str]] = {}
    for device in inv.devices:
        for group in device.groups or ("ungrouped",):
            groups.setdefault(group, []).append(f"{device.name} ({device.platform}, {device.role})")
    for group in sorted(groups, key=natural_key):
        out.append(f"  |--@{group}:")
        out += [f"  |  |--{name}" for name in sorted(groups[group], key=natural_key)]
    out.append("@segments:")
    for seg in inv.segments:
        vlan = f"vlan {seg.vlan}" if seg.vlan is not None else "no vlan"
        out.append(f"  |--@{seg.name} ({vlan}, {seg.subnet}, {seg.zone}):")
        hosts = sorted(inv.hosts_in(seg.name), key=lambda h: natural_key(h.name))
        out += [f"  |  |--{h.name} ({h.address})" for h in hosts]
    if inv.sources:
        out.append("@sources:")
        out += [f"  |--{x.name} ({x.prefix}, {x.zone})" for x in inv.sources]
    return "\n".join(out) + "\n"


def credential_problems(inv: Inventory, lines: LineMap) -> list[Problem]:
    """Every credential reference that does not resolve (env var unset, file or key
    missing), each at its line; the secrets read are discarded."""
    from isolate.inventory.loader import base_dir

    base = base_dir(inv)
    used = {d.credentials for d in inv.devices if d.credentials}
    problems: list[Problem] = []
    for name, cred in sorted(inv.credentials.items()):
        if name not in used:
            continue
        for slot in ("password", "enable", "token"):
            ref = getattr(cred, slot)
            if ref is None:
                continue
            try:
                read_ref(ref, base)
            except InventoryError as exc:
                problems.append(lines.problem(("credentials", name, slot), str(exc)))
        if cred.key_file is not None:
            path = Path(cred.key_file).expanduser()
            if not (path if path.is_absolute() else base / path).is_file():
                message = f"key file {cred.key_file} not found"
                problems.append(lines.problem(("credentials", name, "key_file"), message))
    return problems + _broker_problems(inv, lines, base)


def _broker_problems(inv: Inventory, lines: LineMap, base: Path) -> list[Problem]:
    """The broker's password reference, CA, client certificate and key (site workers)."""
    from isolate.inventory.broker import broker_files

    if inv.broker is None:
        return []
    problems: list[Problem] = []
    if inv.broker.password is not None:
        try:
            read_ref(inv.broker.password, base)
        except InventoryError as exc:
            problems.append(lines.problem(("broker", "password"), str(exc)))
    _, found = broker_files(inv.broker, base)
    return problems + [lines.problem(loc, message) for loc, message in found]
