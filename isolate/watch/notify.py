"""Notifications out: every incident event ``isolate watch`` records is also posted, in the
background (a queue and one thread: a slow or dead receiver never delays a containment), to
each ``--notify-ref`` URL. The URL is a secret (Slack/Mattermost URLs carry their token): it
is read by reference and never logged.

Shapes: ``generic`` (the incident record as JSON, plus ``text``), ``slack`` (``{"text":
...}`` only: Slack, Mattermost and Rocket.Chat incoming webhooks), ``teams`` (a ``message``
with one Adaptive Card attachment: what a Microsoft Teams Workflows "when a Teams webhook
request is received" flow and a Teams incoming webhook take) and ``teams-messagecard`` (the
legacy Office 365 connector ``MessageCard``, for incoming webhooks that refuse Adaptive Cards).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.request
from collections.abc import Sequence
from typing import Any, Literal

log = logging.getLogger("isolate.watch")
Shape = Literal["generic", "slack", "teams", "teams-messagecard"]
SHAPES: tuple[Shape, ...] = ("generic", "slack", "teams", "teams-messagecard")
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ATTENTION = ("pending", "failed", "expired", "released")  # events a person must look at


def text_of(record: dict[str, Any]) -> str:
    """One line a person reads: what happened to which incident."""
    incident, event = record["incident"], record["event"]
    if event == "opened":
        alert = record.get("alert", {})
        return (f"isolate watch: incident {incident} opened by rule {record.get('rule')} "
                f"({record.get('mode')}): {alert.get('signature')} from {alert.get('source')}")
    detail = record.get("why") or record.get("message") or record.get("run") or record.get("by") or ""
    return f"isolate watch: incident {incident} {event}" + (f": {detail}" if detail else "")


class Notifier:
    def __init__(self, urls: Sequence[str], shape: Shape, *, timeout_s: float = 10.0) -> None:
        self.urls = list(urls)
        self.shape = shape
        self.timeout_s = timeout_s
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1000)
        self._thread = threading.Thread(target=self._run, name="watch-notify", daemon=True)
        self._thread.start()

    def __call__(self, record: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            log.warning("notification of incident %s %s dropped: the queue is full",
                        record["incident"], record["event"])

    def _body(self, record: dict[str, Any]) -> bytes:
        text = text_of(record)
        payload: dict[str, Any]
        if self.shape == "slack":
            payload = {"text": text}
        elif self.shape == "teams":
            payload = teams_card(record, text)
        elif self.shape == "teams-messagecard":
            payload = teams_messagecard(record, text)
        else:
            payload = {**record, "text": text}
        return json.dumps(payload, sort_keys=True).encode()

    def _run(self) -> None:
        while True:
            record = self._queue.get()
            for index, url in enumerate(self.urls, start=1):
                self._post(index, url, record)

    def _post(self, index: int, url: str, record: dict[str, Any]) -> None:
        request = urllib.request.Request(url, data=self._body(record), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                reply.read(1024)
        except (OSError, ValueError) as exc:  # the URL is a secret: name it by its position only
            reason = getattr(exc, "code", None) or type(exc).__name__
            log.warning("notification %d of incident %s %s failed: %s", index, record["incident"],
                        record["event"], reason)


def _facts(record: dict[str, Any]) -> list[tuple[str, str]]:
    """What a card lists under its line: the incident, the event, and its run or reason."""
    facts = [("incident", str(record["incident"])), ("event", str(record["event"]))]
    facts += [(key, str(record[key])) for key in ("rule", "run", "by", "why", "message") if record.get(key)]
    alert = record.get("alert") or {}
    facts += [(f"alert {k}", str(alert[k])) for k in ("signature", "source", "sensor") if alert.get(k)]
    return facts


def teams_card(record: dict[str, Any], text: str) -> dict[str, Any]:
    """A Teams ``message`` with one Adaptive Card (1.4): a bold title, the line, the facts."""
    card = {
        "type": "AdaptiveCard",
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": f"isolate watch: incident {record['incident']} {record['event']}",
             "weight": "Bolder", "size": "Medium", "wrap": True,
             "color": "Attention" if record["event"] in ATTENTION else "Default"},
            {"type": "TextBlock", "text": text, "wrap": True},
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(record)]},
        ],
    }
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def teams_messagecard(record: dict[str, Any], text: str) -> dict[str, Any]:
    """The legacy connector card: ``summary`` and ``text`` (one of them is required), facts."""
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": text[:150],
        "themeColor": "D13438" if record["event"] in ATTENTION else "0078D7",
        "title": f"isolate watch: incident {record['incident']} {record['event']}",
        "text": text,
        "sections": [{"facts": [{"name": k, "value": v} for k, v in _facts(record)]}],
    }
