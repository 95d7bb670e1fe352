"""Alert shapes accepted by ``isolate watch``, turned into one :class:`Alert` (pure).

Generic JSON: ``{"source": ip, "destination": ip, "signature": str, "severity": int,
"sensor": str, "action": "contain" | "release"}`` (``source`` and ``signature`` required;
``action`` defaults to contain; release asks to undo the source's containment). OpenCanary's webhook: its log
record (``src_host``, ``dst_host``, ``logtype``, ``node_id``), as the JSON body itself, or as
the string ``message`` of its default ``{"message": "%(message)s"}`` payload (JSON or form).
Suricata EVE: an ``event_type: alert`` record (``src_ip``, ``dest_ip``, ``alert.signature``,
``alert.severity`` 1 (high) .. 4). Wazuh: an alert as its integrations send it (``rule.id``,
``rule.level`` 0..15, ``agent.ip``/``agent.name``, ``data.srcip`` when the event has one).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from isolate.errors import InputError

MAX_TEXT = 200


class BadAlert(InputError):
    """The body is not an alert isolate understands (the HTTP reply is 400)."""


class NotAnAlert(InputError):
    """A well-formed sensor record that names no source host (OpenCanary's own start-up and
    status records, logtype 1001..): the reply is 200 ``ignored``, nothing is decided."""


@dataclass(frozen=True)
class Alert:
    source: str
    destination: str
    signature: str
    severity: int
    sensor: str
    shape: str  # generic | opencanary | suricata | wazuh
    action: str = "contain"  # contain | release (generic shape only)

    def fields(self) -> dict[str, str]:
        """What a rule matches on and a template may use."""
        return {
            "source": self.source,
            "destination": self.destination,
            "signature": self.signature,
            "severity": str(self.severity),
            "sensor": self.sensor,
            "shape": self.shape,
            "action": self.action,
        }


def parse_alert(body: bytes, content_type: str) -> Alert:
    doc = _document(body, content_type)
    if isinstance(doc, Mapping) and "message" in doc and "source" not in doc:
        inner = doc["message"]
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError:
                raise BadAlert("field 'message': not an OpenCanary JSON log record") from None
        doc = inner
    if not isinstance(doc, Mapping):
        raise BadAlert("the body must be a JSON object")
    if "src_host" in doc:
        return _opencanary(doc)
    if "event_type" in doc:
        return _suricata(doc)
    if "rule" in doc and "agent" in doc:
        return _wazuh(doc)
    return _generic(doc)


def _document(body: bytes, content_type: str) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadAlert("the body is not UTF-8 text") from None
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(text, max_num_fields=20)
        return {k: v[0] for k, v in form.items()}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadAlert(f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _generic(doc: Mapping[str, Any]) -> Alert:
    unknown = sorted(set(doc) - {"source", "destination", "signature", "severity", "sensor", "action"})
    if unknown:
        allowed = "source, destination, signature, severity, sensor, action"
        raise BadAlert(f"unknown field {unknown[0]!r} (allowed: {allowed})")
    action = doc.get("action", "contain")
    if action not in ("contain", "release"):
        raise BadAlert("field 'action': contain or release")
    return Alert(
        source=_address(doc, "source", required=True),
        destination=_address(doc, "destination", required=False),
        signature=_text(doc, "signature", required=True),
        severity=_severity(doc.get("severity", 0)),
        sensor=_text(doc, "sensor", required=False),
        shape="generic",
        action=str(action),
    )


def _opencanary(doc: Mapping[str, Any]) -> Alert:
    logtype = doc.get("logtype")
    if isinstance(logtype, bool) or not isinstance(logtype, int):
        raise BadAlert("OpenCanary field 'logtype': must be an integer")
    if doc.get("src_host") in ("", None):
        node = _text(doc, "node_id", required=False) or "-"
        raise NotAnAlert(f"OpenCanary logtype {logtype} from {node}: no source host (a status record)")
    return Alert(
        source=_address(doc, "src_host", required=True),
        destination=_address(doc, "dst_host", required=False),
        signature=f"opencanary logtype {logtype}",
        severity=5,
        sensor=_text(doc, "node_id", required=False),
        shape="opencanary",
    )


SURICATA_SEVERITY = {1: 9, 2: 6, 3: 3, 4: 1}


def _suricata(doc: Mapping[str, Any]) -> Alert:
    if doc.get("event_type") != "alert":
        raise BadAlert(f"Suricata EVE event_type {str(doc.get('event_type'))[:40]!r}: only 'alert' records")
    alert = _mapping(doc, "alert")
    severity = alert.get("severity", 3)
    if severity not in SURICATA_SEVERITY or isinstance(severity, bool):
        raise BadAlert("Suricata field 'alert.severity': must be 1..4")
    return Alert(
        source=_address(doc, "src_ip", required=True),
        destination=_address(doc, "dest_ip", required=False),
        signature=_text(alert, "signature", required=True),
        severity=SURICATA_SEVERITY[severity],
        sensor=_text(doc, "host", required=False),
        shape="suricata",
    )


def _wazuh(doc: Mapping[str, Any]) -> Alert:
    rule, agent = _mapping(doc, "rule"), _mapping(doc, "agent")
    raw_data = doc.get("data")
    data: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else {}
    level = rule.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 15:
        raise BadAlert("Wazuh field 'rule.level': an integer 0..15 is required")
    rule_id = _text(rule, "id", required=True)
    has_source = bool(data.get("srcip"))
    return Alert(
        source=_address(data, "srcip", required=True) if has_source else _address(agent, "ip", required=True),
        destination=_address(agent, "ip", required=False) if has_source else "",
        signature=f"wazuh rule {rule_id}",
        severity=round(level * 10 / 15),
        sensor=_text(agent, "name", required=False),
        shape="wazuh",
    )


def _mapping(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key)
    if not isinstance(value, Mapping):
        raise BadAlert(f"field {key!r}: an object is required")
    return value


def _address(doc: Mapping[str, Any], key: str, *, required: bool) -> str:
    value = doc.get(key)
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str):
        raise BadAlert(f"field {key!r}: an IP address is required")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise BadAlert(f"field {key!r}: not an IP address: {value[:60]!r}") from None


def _text(doc: Mapping[str, Any], key: str, *, required: bool) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadAlert(f"field {key!r}: a non-empty string is required")
    if len(value) > MAX_TEXT or any(ord(c) < 32 for c in value):
        raise BadAlert(f"field {key!r}: at most {MAX_TEXT} printable characters on one line")
    return value


def _severity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise BadAlert("field 'severity': an integer 0..10 is required")
    return value
