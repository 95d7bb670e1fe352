"""The audit timeline of a run, and its renderings: text (``journal show``), Markdown,
HTML, CSV, JSON, and the self-contained export document that verifies offline.

Every rendering is made from the same ``Timeline`` — the same events in the same order,
each with the same one-line headline — so they tell the same story.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from isolate import __version__
from isolate.journal import schema
from isolate.journal.heads import sign_export
from isolate.journal.reader import EXPORT_FORMAT, JournalView, RunView
from isolate.journal.records import Record, parse_ts, timestamp
from isolate.journal.signing import Signer, load_signer
from isolate.journal.verify import VerifyReport
from isolate.paths import current_user
from isolate.values import escape_line

CSV_COLUMNS = (
    "seq", "ts", "elapsed_s", "kind", "section", "step", "device", "ok", "duration_s",
    "summary", "forward", "inverse", "details", "hash",
)  # fmt: skip


@dataclass(frozen=True)
class Event:
    seq: int
    ts: str
    elapsed_s: float
    kind: str
    section: str
    step: str | None
    device: str | None
    ok: bool | None
    duration_s: float | None
    summary: str
    details: tuple[tuple[str, tuple[str, ...]], ...]  # (label, lines): forward, inverse, problems…
    hash: str

    @property
    def target(self) -> str:
        return "/".join(p for p in (self.device, self.step) if p) or "-"

    def headline(self) -> str:
        """The event's one line, identical in every rendering."""
        clock = self.ts[11:23]
        target = f" {self.target}" if self.device or self.step else ""
        line = f"[{self.seq:>4}] {clock} +{self.elapsed_s:.3f}s {self.kind}{target}: {self.summary}"
        return escape_line(line)  # a stored value can never forge or disguise a line

    def detail(self, label: str) -> tuple[str, ...]:
        return next((lines for name, lines in self.details if name == label), ())


@dataclass(frozen=True)
class Timeline:
    run: str
    status: str
    header: tuple[tuple[str, str], ...]
    events: tuple[Event, ...]
    verification: str
    warnings: tuple[str, ...]
    end: str

    def sections(self) -> list[tuple[str, list[Event]]]:
        """Events grouped into consecutive sections (pre-checks, step X, restore stage N…)."""
        out: list[tuple[str, list[Event]]] = []
        for event in self.events:
            if not out or out[-1][0] != event.section:
                out.append((event.section, []))
            out[-1][1].append(event)
        return out


# --- building the timeline -------------------------------------------------------------


def build_timeline(view: JournalView, report: VerifyReport | None = None, *, alive: bool = False) -> Timeline:
    """The timeline of a journal; ``alive``: a live process still writes it. Every record is
    read through its kind's model (a record that does not fit is a JournalError naming the
    journal, its seq and the field)."""
    run = RunView(view.records, alive=alive, path=view.path)
    typed = [(rec, view.typed(rec)) for rec in view.records]
    start = typed[0][1] if typed and isinstance(typed[0][1], schema.RunStart) else None
    t0 = parse_ts(view.records[0].ts) if start else None
    stages: dict[tuple[str | None, str | None], str] = {}
    restoring = False
    events: list[Event] = []
    for rec, data in typed:
        if isinstance(data, schema.RestoreStart):
            restoring = True
        if isinstance(data, schema.RestoreIntent):
            stages[(rec.device, rec.step)] = str(data.stage)
        section = _section(rec, data, restoring, stages)
        elapsed = (parse_ts(rec.ts) - t0).total_seconds() if t0 else 0.0
        events.append(_event(rec, data, elapsed, section))
    verification = report.summary() if report else "not verified"
    if report is not None and report.ok and report.head:
        verification += f"; head: seq {report.records - 1} hash {report.head}"
    end = _typed_end(view, run)
    return Timeline(
        run=run.run_id or "?",
        status=run.status,
        header=_header(view.records[0].ts if start else None, start, run),
        events=tuple(events),
        verification=verification,
        warnings=report.warnings if report else (),
        end=_end_line(end, run),
    )


def _typed_end(view: JournalView, run: RunView) -> schema.RunEnd | None:
    record = run.end
    data = view.typed(record) if record is not None else None
    return data if isinstance(data, schema.RunEnd) else None


def _section(
    rec: Record, data: schema.Data, restoring: bool, stages: Mapping[tuple[str | None, str | None], str]
) -> str:
    if rec.kind in ("run-start", "run-end", "torn-tail", "seal"):
        return "run"
    if rec.kind == "precheck":
        return "pre-checks"
    if restoring:
        if rec.kind in ("restore-start", "restore-end"):
            return "restore"
        stage = str(data.stage) if isinstance(data, schema.Gate) else stages.get((rec.device, rec.step))
        return f"restore stage {stage}" if stage is not None else "restore"
    return f"step {rec.step}" if rec.step else "run"


def _header(started: str | None, d: schema.RunStart | None, run: RunView) -> tuple[tuple[str, str], ...]:
    if d is None:
        rows = [("Run", run.run_id or "?"), ("Started", "?"), ("Who", "?@? (pid ?)")]
        rows += [(label, "-") for label in ("Command", "Incident", "Reason", "Tool version")]
        rows += [(label, "-") for label in ("Inventory", "Playbook", "Plan", "Options")]
        rows += [("Overrides", "none"), ("Status", run.status)]
        return tuple((label, escape_line(value)) for label, value in rows)
    rows = [
        ("Run", run.run_id or "?"),
        ("Started", started or "?"),
        ("Who", f"{d.user}@{d.host} (pid {d.pid})"),
        ("Command", _command(d.command)),
        ("Incident", _text(d.incident)),
        ("Reason", _text(d.reason)),
        ("Tool version", _text(d.tool_version)),
        ("Inventory", _file_ref("", d.inventory.path, d.inventory.sha256)),
        ("Playbook", _file_ref(d.playbook.name, d.playbook.path, d.playbook.sha256)),
        ("Plan", _text(d.plan_sha256)),
        ("Options", _options(d.options.model_dump(mode="json", exclude_unset=True))),
    ]
    if not d.options.host_key_checking:
        rows.append(("Host keys", "NOT verified for devices missing from known_hosts (--insecure-host-keys)"))
    if d.overrides:
        rows.extend((f"Override {i + 1}", _override(o)) for i, o in enumerate(d.overrides))
    else:
        rows.append(("Overrides", "none"))
    rows.append(("Status", run.status))
    return tuple((label, escape_line(value)) for label, value in rows)


def _text(value: object) -> str:
    if value is None or value == "":
        return "-"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _command(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return _text(value)


def _file_ref(name: str, path: str | None, sha256: str) -> str:
    named = f"{name} " if name else ""
    return f"{named}{path or '?'} (sha256 {sha256[:16]}…)"


def _options(value: object) -> str:
    if not isinstance(value, Mapping) or not value:
        return "-"
    return ", ".join(f"{k}={_text(v)}" for k, v in sorted(value.items()))


def _override(value: schema.Override) -> str:
    detail = f" ({value.detail})" if value.detail else ""
    return f"step {value.step}: guard {value.guard} overridden: {value.reason}{detail}"


def _end_line(end: schema.RunEnd | None, run: RunView) -> str:
    if end is None:
        return f"no run-end record: {run.status}"
    text = f"{end.status} in {_secs(end.duration_s)}"
    if end.time_to_contain_s is not None:
        text += f"; time to contain {_secs(end.time_to_contain_s)}"
    if run.status != end.status:
        text += f"; now {run.status}"
    return text


def _secs(value: object) -> str:
    return f"{value:.3f}s" if isinstance(value, int | float) and not isinstance(value, bool) else "?"


def _ok(value: object, yes: str = "ok", no: str = "FAILED") -> str:
    return yes if value is True else no


def _event(rec: Record, data: schema.Data, elapsed: float, section: str) -> Event:
    summary, details = _describe(data)
    ok = getattr(data, "ok", None)
    if isinstance(data, schema.Failed):
        ok = False
    duration = getattr(data, "duration_s", None)
    return Event(
        seq=rec.seq, ts=rec.ts, elapsed_s=elapsed, kind=rec.kind, section=section,
        step=rec.step, device=rec.device, ok=ok if isinstance(ok, bool) else None,
        duration_s=None if duration is None else float(duration),
        summary=summary, details=details, hash=rec.hash,
    )  # fmt: skip


Details = tuple[tuple[str, tuple[str, ...]], ...]


def _describe(d: schema.Data) -> tuple[str, Details]:
    """The event's summary and detail lines, from the record's typed data."""
    for describe in (_start_records, _apply_records, _restore_records, _journal_records):
        found = describe(d)
        if found is not None:
            return found
    return json.dumps(d.model_dump(mode="json"), sort_keys=True, ensure_ascii=False), ()


def _start_records(d: schema.Data) -> tuple[str, Details] | None:
    if isinstance(d, schema.RunStart):
        return f"run started by {d.user}@{d.host}, incident {_text(d.incident)}: {_text(d.reason)}", ()
    if isinstance(d, schema.ResumeStart):
        kept = f"{len(d.done)} change(s) verified before the crash kept"
        return f"run resumed by {d.user}@{d.host} (pid {d.pid}); {kept}", (("kept", tuple(d.done)),)
    if isinstance(d, schema.RunEnd):
        ttc = d.time_to_contain_s
        extra = f"; time to contain {_secs(ttc)}" if ttc is not None else ""
        return f"run ended {d.status} in {_secs(d.duration_s)}{extra}", ()
    return None


def _apply_records(d: schema.Data) -> tuple[str, Details] | None:
    if isinstance(d, schema.Precheck):
        return f"pre-check {_ok(d.ok)}{_msg(d.message)}; state {_short(d.state)}", ()
    if isinstance(d, schema.Intent):
        return _intent(d)
    if isinstance(d, schema.Applied):
        return f"applied {_ok(d.ok)} in {_secs(d.duration_s)}{_msg(d.message)}", _answers(d.answers)
    if isinstance(d, schema.Verified):
        summary = f"verification {_ok(d.ok)}; post-state {_short(d.post_state)}"
        return summary, (("problems", tuple(d.problems)),) if d.problems else ()
    if isinstance(d, schema.Confirmed):
        return "confirmed (device-owned revert cancelled)", ()
    if isinstance(d, schema.Failed):
        if d.outcome == "unknown":  # already reads "in flight (unknown): …"
            return _text(d.message), (("may have run", tuple(d.may_have_run or ())),)
        return f"FAILED during {_text(d.phase)}: {_text(d.message)}", ()
    if isinstance(d, schema.Policy):
        return f"policy {_text(d.policy)}: {_text(d.decision)}", ()
    if isinstance(d, schema.StepEnd):
        return f"step {_ok(d.ok, 'done', 'FAILED')} in {_secs(d.duration_s)}", ()
    return None


def _restore_records(d: schema.Data) -> tuple[str, Details] | None:
    if isinstance(d, schema.RestoreStart):
        keys = ", SSH host keys NOT verified (--insecure-host-keys)" if d.host_key_checking is False else ""
        why = f", incident {_text(d.incident)}: {_text(d.reason)}"
        return f"restore started by {d.user}@{d.host}, stages {_text(d.stages)}{why}{keys}", ()
    if isinstance(d, schema.RestoreIntent):
        return f"restore intent, stage {d.stage}: {len(d.commands)} command(s)", (
            ("commands", tuple(d.commands)),
        )
    if isinstance(d, schema.Restored):
        return f"restored {_ok(d.ok)}{_msg(d.message)}", _answers(d.answers)
    if isinstance(d, schema.Gate):
        summary = (
            f"gate of stage {d.stage} {_ok(d.ok, 'passed', 'FAILED')}: "
            f"read-back {_short(d.state)}, expected {_short(d.expected)}"
        )
        return summary, (("problems", tuple(d.problems)),) if d.problems else ()
    if isinstance(d, schema.RestoreEnd):
        return f"restore ended {_ok(d.ok)}", ()
    if isinstance(d, schema.RevertCancelled):
        gone = tuple(d.cancelled) or ("none pending",)
        verdict = "cancelled, proven gone" if d.ok else f"NOT cancelled: {_text(d.message)}"
        return f"device-side revert of step(s) {_text(d.steps)} {verdict}", (("cancelled", gone),)
    if isinstance(d, schema.LocksReleased):
        return "stale device locks of the dead process released", (("locks", tuple(d.locks)),)
    return None


def _journal_records(d: schema.Data) -> tuple[str, Details] | None:
    if isinstance(d, schema.Seal):
        return f"signed head ({_text(d.alg)}, key {_text(d.key)})", ()
    if isinstance(d, schema.TornTail):
        return (
            f"torn tail of {d.bytes} bytes (line {d.line}, crash mid-append) "
            f"moved to {_text(d.file)}, sha256 {_short(d.sha256)}",
            (),
        )
    return None


def _msg(message: str) -> str:
    return f": {message}" if message else ""


def _intent(d: schema.Intent) -> tuple[str, Details]:
    config, execs = d.lines()
    fwd, inv = tuple(config), tuple(d.inverse)
    window = f", confirm window {d.confirm_window_s}s" if d.confirm_window_s else ""
    then = f" then {len(execs)} exec-mode" if execs else ""
    summary = (
        f"intent {_text(d.action)}: {len(fwd)} forward{then}, {len(inv)} inverse command(s); "
        f"pre-state {_short(d.pre_state)}{window}"
    )
    exec_detail = (("exec after", tuple(execs)),) if execs else ()
    return summary, (("forward", fwd), *exec_detail, ("inverse", inv))


def _answers(answers: list[schema.Answer]) -> Details:
    """What the device answered to a push, one line per command that printed something."""
    if not answers:
        return ()
    lines = tuple(f"{a.command}: {' '.join(a.output.split())[:200]}" for a in answers)
    return (("answers", lines),)


def _short(value: object) -> str:
    return f"{value[:12]}…" if isinstance(value, str) and len(value) > 12 else _text(value)


# --- renderings --------------------------------------------------------------------------


def render_text(tl: Timeline) -> str:
    """``isolate journal show``: the header, the events by section, the end."""
    width = max(len(label) for label, _ in tl.header)
    out = [f"{label + ':':<{width + 1}} {value}" for label, value in tl.header]
    out.append(f"{'Verification:':<{width + 1}} {tl.verification}")
    out.extend(f"warning: {w}" for w in tl.warnings)
    for section, events in tl.sections():
        out.append("")
        out.append(f"== {section} ==")
        for event in events:
            out.append(event.headline())
            for label, lines in event.details:
                out.append(f"         {label}:")
                out.extend(f"           {escape_line(line)}" for line in lines)
    out.append("")
    out.append(f"End: {escape_line(tl.end)}")
    return "\n".join(out) + "\n"


def render_markdown(tl: Timeline) -> str:
    out = [f"# Journal of run {tl.run}", "", "| Field | Value |", "|---|---|"]
    out.extend(f"| {_md_cell(label)} | {_md_cell(value)} |" for label, value in tl.header)
    out.extend(["", f"**Verification:** {_md_code(tl.verification)}", ""])
    out.extend(f"- warning: {_md_code(w)}" for w in tl.warnings)
    out.extend(["## Timeline", ""])
    for section, events in tl.sections():
        out.extend([f"### {_md_cell(section)}", ""])
        for event in events:
            out.append(f"- {_md_code(event.headline())}")
            for label, lines in event.details:
                fence = "`" * max(3, _longest_backticks("\n".join(lines)) + 1)
                out.extend(["", f"  {label}:", "", f"  {fence}"])
                out.extend(f"  {line}" for line in lines)
                out.extend([f"  {fence}", ""])
        out.append("")
    out.extend(["## End", "", _md_code(tl.end), ""])
    return "\n".join(out)


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _md_code(text: str) -> str:
    ticks = "`" * (_longest_backticks(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _md_cell(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>()#+!|])", r"\\\1", text).replace("\n", " ")


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
.ok{color:#176b1b}.bad{color:#a11}li{margin:.2em 0}
pre{background:#f4f4f4;padding:.4em;margin:.2em 0 .6em 2em}
code{white-space:pre-wrap}
"""


def render_html(tl: Timeline) -> str:
    """One self-contained page (inline CSS, no scripts); every value is escaped."""
    e = html.escape
    ok_class = "ok" if tl.verification.startswith("OK") else "bad"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Journal of run {e(tl.run)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Journal of run {e(tl.run)}</h1>",
        "<table>",
    ]
    out.extend(f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in tl.header)
    out.append("</table>")
    out.append(f'<p class="{ok_class}"><strong>Verification:</strong> <code>{e(tl.verification)}</code></p>')
    out.extend(f'<p class="bad">warning: {e(w)}</p>' for w in tl.warnings)
    out.append("<h2>Timeline</h2>")
    for section, events in tl.sections():
        out.append(f"<h3>{e(section)}</h3><ul>")
        for event in events:
            css = "" if event.ok is None else (' class="ok"' if event.ok else ' class="bad"')
            out.append(f"<li{css}><code>{e(event.headline())}</code>")
            for label, lines in event.details:
                out.append(f"<div>{e(label)}:</div><pre>{e(chr(10).join(lines))}</pre>")
            out.append("</li>")
        out.append("</ul>")
    out.append(f"<h2>End</h2><p><code>{e(tl.end)}</code></p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_csv(tl: Timeline) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ev in tl.events:
        others = [
            f"{label}: {'; '.join(lines)}"
            for label, lines in ev.details
            if label not in ("forward", "inverse")
        ]
        writer.writerow(
            [
                ev.seq, ev.ts, f"{ev.elapsed_s:.6f}", ev.kind, ev.section, ev.step or "", ev.device or "",
                "" if ev.ok is None else str(ev.ok).lower(),
                "" if ev.duration_s is None else f"{ev.duration_s:.6f}",
                ev.summary, "\n".join(ev.detail("forward")), "\n".join(ev.detail("inverse")),
                " | ".join(others), ev.hash,
            ]
        )  # fmt: skip
    return buf.getvalue()


def timeline_json(tl: Timeline) -> dict[str, Any]:
    """``isolate journal show --json``."""
    return {
        "run": tl.run,
        "status": tl.status,
        "header": dict(tl.header),
        "verification": tl.verification,
        "warnings": list(tl.warnings),
        "events": [
            {
                "seq": ev.seq,
                "ts": ev.ts,
                "elapsed_s": ev.elapsed_s,
                "kind": ev.kind,
                "section": ev.section,
                "step": ev.step,
                "device": ev.device,
                "ok": ev.ok,
                "duration_s": ev.duration_s,
                "summary": ev.summary,
                "headline": ev.headline(),
                "details": {label: list(lines) for label, lines in ev.details},
                "hash": ev.hash,
            }
            for ev in tl.events
        ],
        "end": tl.end,
    }


# --- the offline-verifiable export ----------------------------------------------------------


def export_document(view: JournalView, *, signer: Signer | None = None) -> dict[str, Any]:
    """Records, the captured states they name and any torn bytes: verifiable offline."""
    source = view.source
    states: dict[str, str] = {}
    states_b64: dict[str, str] = {}
    for sha in _state_refs(view.records):
        blob = source.state_bytes(sha)
        if blob is None:
            continue
        try:
            states[sha] = blob.decode("utf-8")
        except UnicodeDecodeError:
            states_b64[sha] = base64.b64encode(blob).decode("ascii")
    torn_files = {
        name: base64.b64encode(blob).decode("ascii")
        for name in source.torn_files
        if (blob := source.torn_file(name)) is not None
    }
    torn = view.torn
    journal_bytes = b"".join(r.raw + b"\n" for r in source.lines) + (torn.data if torn else b"")
    header: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "run": view.run_id,
        "exported_at": timestamp(),
        "exported_by": f"isolate {__version__} ({current_user()}@{socket.gethostname()})",
        "source": str(source.path),
        "journal_sha256": hashlib.sha256(journal_bytes).hexdigest(),
        "head": view.records[-1].hash if view.records else None,
    }
    header["signature"] = sign_export(header, signer or load_signer())
    return {
        **header,
        "records": [r.to_dict() for r in view.records],
        "states": states,
        "states_base64": states_b64,
        "torn_files": torn_files,
        "torn": None
        if torn is None
        else {
            "line": torn.line,
            "offset": torn.offset,
            "base64": base64.b64encode(torn.data).decode("ascii"),
        },
    }


def render_export_json(view: JournalView, *, signer: Signer | None = None) -> str:
    """The export document; its header is signed with ``signer`` (default: this station's key)."""
    document = export_document(view, signer=signer)
    return json.dumps(document, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def _state_refs(records: Iterable[Record]) -> list[str]:
    seen: dict[str, None] = {}
    for rec in records:
        for sha in rec.state_refs():
            seen.setdefault(sha, None)
    return list(seen)
