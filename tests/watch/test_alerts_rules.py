"""Alert shapes and rules files: what is accepted, and the one-line error for what is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from watchkit import PLAYBOOK

from isolate.watch.alerts import BadAlert, parse_alert
from isolate.watch.rules import RulesError, load_rules


def test_generic_alert() -> None:
    body = json.dumps({"source": "10.10.100.17", "destination": "10.10.10.11", "signature": "smb-scan",
                       "severity": 8, "sensor": "ids-1"}).encode()
    alert = parse_alert(body, "application/json")
    assert (alert.source, alert.destination, alert.severity, alert.shape) == (
        "10.10.100.17", "10.10.10.11", 8, "generic")


def test_opencanary_default_payload_as_form_and_json() -> None:
    record = {"src_host": "10.10.100.17", "dst_host": "10.10.10.50", "dst_port": 445, "logtype": 5001,
              "node_id": "decoy-1", "logdata": {}}
    form = parse_alert(b"message=" + json.dumps(record).replace(" ", "+").encode(),
                       "application/x-www-form-urlencoded")
    inline = parse_alert(json.dumps({"message": json.dumps(record)}).encode(), "application/json")
    assert form == inline
    assert (form.source, form.signature, form.sensor, form.shape) == (
        "10.10.100.17", "opencanary logtype 5001", "decoy-1", "opencanary")


@pytest.mark.parametrize(("body", "message"), [
    (b"{", "the body is not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    (b"[1]", "the body must be a JSON object"),
    (b'{"source": "10.1.1", "signature": "x"}', "field 'source': not an IP address: '10.1.1'"),
    (b'{"source": "10.1.1.1"}', "field 'signature': a non-empty string is required"),
    (b'{"source": "10.1.1.1", "signature": "x", "sev": 1}', "unknown field 'sev' (allowed: source, "
     "destination, signature, severity, sensor, action)"),
    (b'{"source": "10.1.1.1", "signature": "x", "severity": 11}',
     "field 'severity': an integer 0..10 is required"),
])
def test_malformed_alerts_name_the_field(body: bytes, message: str) -> None:
    with pytest.raises(BadAlert) as caught:
        parse_alert(body, "application/json")
    assert str(caught.value) == message


def test_rules_errors_name_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "version: 1\n"
        "rules:\n"
        "  - name: smb\n"
        "    playbook: quarantine.yml\n"
        "    parameters: {infected: \"{src}\"}\n"
        "    mode: auto\n"
    )
    with pytest.raises(RulesError) as caught:
        load_rules(rules)
    assert str(caught.value).startswith(f"{rules}:5: rules[0].parameters")
    assert "{src} is not an alert field" in str(caught.value)
    rules.write_text(
        "version: 1\n"
        "rules:\n"
        "  - name: smb\n"
        "    playbook: quarantine.yml\n"
        "    parameters: {attacker: \"{source}\"}\n"
    )
    with pytest.raises(RulesError) as caught:
        load_rules(rules)
    assert str(caught.value) == (
        f"{rules}:5: rules[0].parameters.attacker: quarantine.yml declares no parameter 'attacker' "
        "(it has: infected)"
    )


def test_suricata_eve_alert() -> None:
    record = {"timestamp": "2026-12-02T11:00:00.000000+0000", "event_type": "alert", "src_ip": "10.10.100.17",
              "src_port": 50123, "dest_ip": "10.10.10.11", "dest_port": 445, "proto": "TCP", "host": "ids-1",
              "alert": {"action": "allowed", "gid": 1, "signature_id": 2024217, "rev": 3, "severity": 1,
                        "signature": "ET EXPLOIT Possible ETERNALBLUE MS17-010", "category": "Attempted"}}
    alert = parse_alert(json.dumps(record).encode(), "application/json")
    assert (alert.source, alert.destination, alert.signature, alert.severity, alert.sensor, alert.shape) == (
        "10.10.100.17", "10.10.10.11", "ET EXPLOIT Possible ETERNALBLUE MS17-010", 9, "ids-1", "suricata")
    record["event_type"] = "flow"
    with pytest.raises(BadAlert) as caught:
        parse_alert(json.dumps(record).encode(), "application/json")
    assert str(caught.value) == "Suricata EVE event_type 'flow': only 'alert' records"


def test_wazuh_alert_agent_or_event_source() -> None:
    record = {"timestamp": "2026-12-02T11:00:00.000+0000",
              "rule": {"level": 12, "description": "Ransomware note created", "id": "100200"},
              "agent": {"id": "017", "name": "ws-17", "ip": "10.10.100.17"}, "manager": {"name": "wazuh"}}
    alert = parse_alert(json.dumps(record).encode(), "application/json")
    assert (alert.source, alert.destination, alert.signature, alert.severity, alert.sensor, alert.shape) == (
        "10.10.100.17", "", "wazuh rule 100200", 8, "ws-17", "wazuh")
    record["data"] = {"srcip": "203.0.113.9"}
    alert = parse_alert(json.dumps(record).encode(), "application/json")
    assert (alert.source, alert.destination) == ("203.0.113.9", "10.10.100.17")
    record["rule"] = {"level": 16, "id": "1"}
    with pytest.raises(BadAlert) as caught:
        parse_alert(json.dumps(record).encode(), "application/json")
    assert str(caught.value) == "Wazuh field 'rule.level': an integer 0..15 is required"
