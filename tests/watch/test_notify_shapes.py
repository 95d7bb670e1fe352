"""Notification shapes of `isolate watch` posted to a real HTTP receiver on 127.0.0.1:
Microsoft Teams (an Adaptive Card message, as Teams Workflows' "when a Teams webhook request
is received" trigger and Teams incoming webhooks take it; the legacy connector MessageCard),
checked field by field against what Microsoft documents those receivers to require."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import run_cli
from labkit import SMALL
from watchkit import PLAYBOOK, RULES, TOKEN, Receiver, start_watch, stop

from isolate.lab.process import LabHandle, start_lab

ASK = RULES.replace("auto_per_hour: 5", "auto_per_hour: 0")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("lab"), SMALL)
    try:
        yield handle
    finally:
        handle.stop()


def adaptive_card_message(body: dict[str, Any]) -> dict[str, Any]:
    """What a Teams webhook requires of a card message; returns the card."""
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert tuple(int(p) for p in card["version"].split(".")) <= (1, 5), "Teams renders up to 1.5"
    for element in card["body"]:
        assert element["type"] in ("TextBlock", "FactSet")
        if element["type"] == "TextBlock":
            assert isinstance(element["text"], str) and element["text"]
        else:
            assert all(set(f) == {"title", "value"} and all(isinstance(v, str) for v in f.values())
                       for f in element["facts"])
    return card


def test_teams_shape_is_an_adaptive_card_message(
    tmp_path: Path, lab: LabHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    monkeypatch.setenv("TEAMS_URL", receiver.url + "?sig=t3ams")
    watch = start_watch(tmp_path, lab, "--notify-ref", "env:TEAMS_URL", "--notify-shape", "teams", rules=ASK)
    try:
        status, reply = watch.alert(source="10.10.100.17", signature="smb-scan", sensor="ids-1")
        assert (status, reply["state"]) == (200, "pending")
        opened, pending = receiver.wait_for(2)
    finally:
        stop(watch)
        receiver.close()
    card = adaptive_card_message(pending)
    title, line, facts = card["body"]
    assert title["text"] == f"isolate watch: incident {reply['incident']} pending"
    assert title["color"] == "Attention"
    assert line["text"] == (f"isolate watch: incident {reply['incident']} pending: "
                            "the limit of 0 automatic containments per hour is reached")
    assert {f["title"]: f["value"] for f in facts["facts"]} == {
        "incident": reply["incident"], "event": "pending",
        "why": "the limit of 0 automatic containments per hour is reached"}
    opened_facts = {f["title"]: f["value"] for f in adaptive_card_message(opened)["body"][2]["facts"]}
    assert opened_facts["alert source"] == "10.10.100.17"
    assert opened_facts["alert sensor"] == "ids-1"
    assert opened_facts["rule"] == "smb-decoy"
    assert "t3ams" not in watch.log.read_text()


def test_teams_messagecard_shape(tmp_path: Path, lab: LabHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = Receiver()
    monkeypatch.setenv("TEAMS_URL", receiver.url)
    watch = start_watch(tmp_path, lab, "--notify-ref", "env:TEAMS_URL", "--notify-shape", "teams-messagecard",
                        rules=ASK)
    try:
        status, reply = watch.alert(source="10.10.100.17", signature="smb-scan")
        assert status == 200
        _, pending = receiver.wait_for(2)
    finally:
        stop(watch)
        receiver.close()
    assert pending["@type"] == "MessageCard"
    assert pending["@context"] == "https://schema.org/extensions"
    assert pending["summary"] and pending["text"], "a connector refuses a card without summary or text"
    assert pending["title"] == f"isolate watch: incident {reply['incident']} pending"
    assert pending["themeColor"] == "D13438"
    [section] = pending["sections"]
    assert {f["name"]: f["value"] for f in section["facts"]}["event"] == "pending"


def test_an_unknown_shape_is_one_line(
    tmp_path: Path, lab: LabHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCH_TOKEN", TOKEN)
    (tmp_path / "quarantine.yml").write_text(PLAYBOOK)
    (tmp_path / "rules.yml").write_text(RULES)
    proc = run_cli("watch", "--rules", str(tmp_path / "rules.yml"), "-i", str(lab.inventory),
                   "--listen", "127.0.0.1:0", "--token-ref", "env:WATCH_TOKEN", "--notify-shape", "msteams",
                   state=tmp_path / "state")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "error: --notify-shape 'msteams': one of generic, slack, teams, teams-messagecard")


def test_shapes_of_one_record() -> None:
    from isolate.watch.notify import Notifier

    record = {"incident": "W1", "event": "contained", "run": "R1", "time": 1.0}
    card = adaptive_card_message(json.loads(Notifier([], "teams")._body(record)))
    assert card["body"][0]["color"] == "Default"
    assert json.loads(Notifier([], "teams-messagecard")._body(record))["themeColor"] == "0078D7"
