"""Reading journals: a run directory, a journal file or an offline export.

``load_source`` gives the raw lines (what ``verify`` checks byte for byte);
``read_journal`` parses them into typed records; ``RunView`` answers what the
restore and status layers ask of a run (per device, the intents and their outcomes,
which intents were left without one by a crash); ``list_runs`` summarises every run
of a state directory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from isolate.errors import InputError, JournalError
from isolate.files import user_path
from isolate.journal.records import (
    RUN_ID_RE,
    SHA256_RE,
    Record,
    RecordFormatError,
    line_bytes,
    parse_line,
    record_from_obj,
)
from isolate.journal.schema import (
    KIND_MODELS,
    Applied,
    Confirmed,
    Data,
    Excluded,
    Failed,
    Intent,
    Precheck,
    Restored,
    RestoreEnd,
    RestoreIntent,
    RunEnd,
    RunStart,
    SchemaError,
    Verified,
    typed,
)
from isolate.paths import process_alive, runs_dir

D = TypeVar("D", bound=Data)

JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = "journal.lock"
STATE_SUBDIR = "state"
TORN_PREFIX = "journal.torn."
EXPORT_FORMAT = "isolate-journal-export"
_EXPORT_BODY = frozenset({"records", "states", "states_base64", "torn_files", "torn"})
OUTCOMES = frozenset({"applied", "failed"})
RESTORE_OUTCOMES = frozenset({"restored", "failed"})


@dataclass(frozen=True)
class TornTail:
    """Bytes after the last newline: a record cut by a crash while it was being written."""

    line: int
    offset: int
    length: int
    sha256: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class RawLine:
    line: int  # 1-based line (or record index in an export)
    raw: bytes  # without the newline


def _no_file(_: str) -> bytes | None:
    return None


@dataclass(frozen=True)
class JournalSource:
    """The raw material of one journal, from a run directory or an export document."""

    path: Path
    name: str  # how messages name it: journal.jsonl or export.json
    lines: tuple[RawLine, ...]
    torn: TornTail | None
    state_bytes: Callable[[str], bytes | None] = _no_file
    torn_file: Callable[[str], bytes | None] = _no_file
    torn_files: tuple[str, ...] = ()
    is_export: bool = False
    header: Mapping[str, Any] | None = None  # an export's document minus records and blobs
    state_names: tuple[str, ...] = ()  # an export: the captured states it carries

    def where(self, line: int) -> str:
        return f"{self.name}:record {line}" if self.is_export else f"{self.name}:{line}"


@dataclass(frozen=True)
class JournalView:
    path: Path
    records: tuple[Record, ...]
    torn: TornTail | None
    source: JournalSource

    @property
    def run_id(self) -> str | None:
        return self.records[0].run if self.records else None

    def typed(self, record: Record) -> Data:
        """The record's data as its kind's model (isolate/journal/schema.py); a record that
        does not fit it is a JournalError naming this journal, the record's seq and the field."""
        return typed_data(record, self.path)

    def run_start(self) -> RunStart | None:
        """The first record's data, which must be a run-start (None: no record at all)."""
        return first_run_start(self.records, self.path)

    def check_models(self) -> None:
        """Every record read through its kind's model: the first that does not fit is the
        JournalError ``typed`` raises. ``journal list`` and ``status`` both call it, so they
        name the same runs as bad whatever kinds each goes on to read."""
        for record in self.records:
            self.typed(record)

    def of_kind(self, model: type[D]) -> list[tuple[Record, D]]:
        """Every record whose kind ``model`` describes, with its typed data, in journal order."""
        kinds = {kind for kind, (m, _) in KIND_MODELS.items() if m is model}
        out: list[tuple[Record, D]] = []
        for record in self.records:
            if record.kind in kinds:
                data = self.typed(record)
                assert isinstance(data, model)
                out.append((record, data))
        return out

    def read_state(self, sha: str) -> str | None:
        data = self.source.state_bytes(sha) if SHA256_RE.fullmatch(sha) else None
        return None if data is None else data.decode("utf-8", errors="replace")

    def checked_state(self, sha: str) -> str:
        """The captured state of digest ``sha``, proven by its hash; JournalError if it is
        missing or altered (what restore and resume read: they never trust an unchecked file)."""
        return check_state_bytes(
            self.path.parent / STATE_SUBDIR,
            sha,
            self.source.state_bytes(sha) if SHA256_RE.fullmatch(sha) else None,
        )


def typed_data(record: Record, journal: Path | None) -> Data:
    """``record``'s data as its kind's model; JournalError (exit 7) in one line naming the
    journal file, the seq and the field when it does not fit (hand-edited, or not written by
    isolate). Fields the model does not name are left out: another version may have added them."""
    try:
        return typed(record)
    except SchemaError as exc:
        where = journal if journal is not None else f"the journal of run {record.run}"
        check = verify_command(journal, record.run)
        raise JournalError(
            f"{where}: {exc}; the record does not fit its kind's model (isolate/journal/schema.py): "
            f"the journal was edited or not written by isolate (check it: {check})"
        ) from None


def unreadable(run_dir: Path, exc: JournalError) -> str:
    """The one line for a run whose journal holds a line that is not a record."""
    run = run_dir.name
    return f"run {run}: {exc}: the journal is damaged (check it: isolate journal verify {run})"


def verify_command(journal: Path | None, run: str) -> str:
    """The command that checks ``journal``: by run id inside a state directory, else by path."""
    if journal is None:
        return f"isolate journal verify {run}"
    in_state_dir = journal.name == JOURNAL_NAME and journal.parent.parent.name == "runs"
    return f"isolate journal verify {journal.parent.name if in_state_dir else journal}"


def first_run_start(records: Sequence[Record], journal: Path | None) -> RunStart | None:
    """The run-start that opens ``records`` (None when there is no record); JournalError when
    the first record is of another kind or does not fit the model."""
    if not records:
        return None
    first = records[0]
    data = typed_data(first, journal)
    if not isinstance(data, RunStart):
        raise JournalError(
            f"{journal or 'the journal of run ' + first.run}: seq {first.seq}: the first record is "
            f"{first.kind}, not run-start: the journal was edited or not written by isolate "
            f"(check it: {verify_command(journal, first.run)})"
        )
    return data


ARTIFACT_RE = re.compile(r"plan(\.[a-z-]+)?\.json")


def checked_artifact(run_dir: Path, name: str, sha: str, *, where: str) -> str:
    """A run artifact's text, proven by the digest a record journaled (``where`` names that
    record); JournalError if it is missing or its bytes changed."""
    path = run_dir / name
    try:
        blob = path.read_bytes()
    except OSError:
        raise JournalError(f"{path}: missing; {where} journals it (sha256 {sha[:12]})") from None
    if hashlib.sha256(blob).hexdigest() != sha:
        raise JournalError(f"{path}: altered since it was journaled ({where} has sha256 {sha[:12]})")
    return blob.decode("utf-8")


def journaled_plan_text(view: JournalView) -> str:
    """The text of the run's plan.json, proven by the digest its journal holds: run-start's
    ``plan_sha256``, or the last ``excluded`` record's when --skip-unreachable narrowed the
    plan. JournalError (exit 7) when the file is missing, altered, or no record holds one."""
    start = view.run_start()
    if start is None:
        raise JournalError(f"{view.path}: no run-start record: the run has no journaled plan")
    holder, sha = view.records[0], start.plan_sha256
    for record, excluded in view.of_kind(Excluded):
        if excluded.plan_sha256:
            holder, sha = record, excluded.plan_sha256
    return checked_artifact(view.path.parent, "plan.json", sha, where=f"{holder.kind} (seq {holder.seq})")


def check_state_bytes(directory: Path, sha: str, blob: bytes | None) -> str:
    """``blob`` as the state text of digest ``sha``; JournalError naming the file otherwise."""
    path = directory / f"{sha}.txt"
    if not SHA256_RE.fullmatch(sha):
        raise JournalError(f"{sha!r} is not a state digest")
    if blob is None:
        raise JournalError(f"{path}: captured state is missing")
    if hashlib.sha256(blob).hexdigest() != sha:
        raise JournalError(f"{path}: captured state does not hash to its name (altered)")
    return blob.decode("utf-8")


def journal_path(path: Path) -> Path:
    """The journal file of a run directory (or ``path`` itself when it is a file)."""
    return path / JOURNAL_NAME if path.is_dir() else path


def load_source(path: Path) -> JournalSource:
    """Raw lines of a run directory, a journal.jsonl or an export .json. Raises JournalError."""
    target = journal_path(path)
    if target.suffix == ".json":
        return _load_export(target)
    if target.suffix.lower() in _READABLE_EXPORTS:  # a report, not evidence: bad input, not tampering
        raise InputError(
            f"{target}: a {target.suffix[1:]} export is for reading and carries no proof; verify the "
            "run directory, its journal.jsonl, or a JSON export (isolate journal export RUN --format json)"
        )
    try:
        blob = target.read_bytes()
    except OSError as err:
        raise JournalError(f"{target}: cannot read journal: {err.strerror or err}") from None
    lines, torn = split_lines(blob)
    run_dir = target.parent
    return JournalSource(
        path=target,
        name=target.name,
        lines=lines,
        torn=torn,
        state_bytes=lambda sha: _read_optional(run_dir / STATE_SUBDIR / f"{sha}.txt"),
        torn_file=lambda name: _read_optional(run_dir / name) if _is_torn_name(name) else None,
        torn_files=tuple(sorted(p.name for p in run_dir.glob(TORN_PREFIX + "*"))),
    )


_READABLE_EXPORTS = frozenset({".md", ".csv", ".html", ".htm"})


def split_lines(blob: bytes) -> tuple[tuple[RawLine, ...], TornTail | None]:
    parts = blob.split(b"\n")
    tail = parts.pop()  # bytes after the last newline ("" when the file ends cleanly)
    lines = tuple(RawLine(i + 1, raw) for i, raw in enumerate(parts))
    torn = None
    if tail:
        offset = len(blob) - len(tail)
        torn = TornTail(len(parts) + 1, offset, len(tail), hashlib.sha256(tail).hexdigest(), tail)
    return lines, torn


def _is_torn_name(name: str) -> bool:
    return re.fullmatch(re.escape(TORN_PREFIX) + r"\d+", name) is not None


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _load_export(path: Path) -> JournalSource:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise JournalError(f"{path}: cannot read export: {err.strerror or err}") from None
    except ValueError:
        raise JournalError(f"{path}: not a JSON document") from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise JournalError(f"{path}: not an isolate journal export (format {EXPORT_FORMAT!r})")
    records = doc.get("records")
    if not isinstance(records, list):
        raise JournalError(f"{path}: export has no records list")
    lines = tuple(RawLine(i + 1, _export_line(obj)) for i, obj in enumerate(records))
    states = _decode_blobs(doc.get("states"), text=True)
    states.update(_decode_blobs(doc.get("states_base64"), text=False))
    torn_blobs = _decode_blobs(doc.get("torn_files"), text=False)
    return JournalSource(
        path=path,
        name=path.name,
        lines=lines,
        torn=_export_torn(doc.get("torn")),
        state_bytes=states.get,
        torn_file=torn_blobs.get,
        torn_files=tuple(sorted(torn_blobs)),
        is_export=True,
        header={k: v for k, v in doc.items() if k not in _EXPORT_BODY},
        state_names=tuple(sorted(states)),
    )


def _export_line(obj: object) -> bytes:
    """An exported record as the journal line its values produce (invalid ones stay invalid)."""
    try:
        return line_bytes(record_from_obj(obj).to_dict()).rstrip(b"\n")
    except (RecordFormatError, ValueError, TypeError):
        return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b" (invalid)"


def _decode_blobs(value: object, *, text: bool) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if not isinstance(value, Mapping):
        return out
    for key, item in value.items():
        if not isinstance(item, str):
            continue
        try:
            out[str(key)] = item.encode("utf-8") if text else base64.b64decode(item, validate=True)
        except (binascii.Error, UnicodeEncodeError):
            continue
    return out


def _export_torn(value: object) -> TornTail | None:
    if not isinstance(value, Mapping):
        return None
    try:
        data = base64.b64decode(str(value.get("base64", "")), validate=True)
        return TornTail(
            int(value["line"]), int(value["offset"]), len(data), hashlib.sha256(data).hexdigest(), data
        )
    except (KeyError, ValueError, TypeError, binascii.Error):
        return None


def parse_records(source: JournalSource) -> tuple[Record, ...]:
    """Every line parsed; JournalError names the first line that is not a record."""
    records = []
    for raw in source.lines:
        try:
            records.append(parse_line(raw.raw))
        except RecordFormatError as err:
            raise JournalError(f"{source.where(raw.line)}: not a journal record: {err}") from None
    return tuple(records)


def read_journal(path: Path) -> JournalView:
    """The records of a run directory, journal file or export, and its torn tail if any."""
    source = load_source(path)
    return JournalView(source.path, parse_records(source), source.torn, source)


# --- what a run did -------------------------------------------------------------------


@dataclass(frozen=True)
class IntentView:
    """One intent (its record and typed data) and what followed it for the same device and
    step; the outcomes were read through their models too."""

    intent: Record
    data: Intent
    outcome: Record | None = None  # applied or failed
    verified: Record | None = None
    confirmed: Record | None = None
    restore_intents: tuple[Record, ...] = ()
    restored: Record | None = None  # the last restored (or restore-phase failed) record
    applied_ok: bool = False  # the outcome is an applied record with ok true
    restored_ok: bool = False  # the last restore outcome is a restored record with ok true

    @property
    def device(self) -> str:
        return self.data.device

    @property
    def step(self) -> str:
        return self.data.step

    @property
    def action(self) -> str:
        return self.data.action

    @property
    def forward(self) -> list[str]:
        return list(self.data.forward)

    @property
    def inverse(self) -> list[str]:
        return list(self.data.inverse)

    @property
    def pre_state(self) -> str | None:
        return self.data.pre_state

    @property
    def pending(self) -> bool:
        """No applied/failed record: the run stopped mid-flight; the device state is unknown."""
        return self.outcome is None


class RunView:
    """A run's records, grouped the way restore, resume and status need them. Every record
    it reads is read through its kind's model: one that does not fit is a JournalError
    (exit 7) naming ``path`` (the journal), the seq and the field."""

    def __init__(self, records: tuple[Record, ...], *, alive: bool = False, path: Path | None = None) -> None:
        self.records = records
        self.alive = alive
        self.path = path
        self._intents = _match_intents(records, self.typed)

    @classmethod
    def load(cls, run_dir: Path) -> RunView:
        view = read_journal(run_dir)
        return cls(view.records, alive=run_alive(journal_path(run_dir).parent), path=view.path)

    def typed(self, record: Record) -> Data:
        return typed_data(record, self.path)

    @property
    def run_id(self) -> str | None:
        return self.records[0].run if self.records else None

    @property
    def start(self) -> Record | None:
        return self.records[0] if self.records and self.records[0].kind == "run-start" else None

    @property
    def end(self) -> Record | None:
        return _last(self.records, "run-end")

    def start_data(self) -> RunStart | None:
        return first_run_start(self.records, self.path)

    def end_data(self) -> RunEnd | None:
        return None if self.end is None else _as(self.typed(self.end), RunEnd)

    @property
    def status(self) -> str:
        return run_status(self.records, alive=self.alive, journal=self.path)

    def intents(self) -> list[IntentView]:
        return list(self._intents)

    def devices(self) -> list[str]:
        """Devices the run pre-checked or touched, in first-seen order."""
        seen: dict[str, None] = {}
        for rec in self.records:
            if rec.kind in ("precheck", "intent"):
                data = self.typed(rec)
                assert isinstance(data, Precheck | Intent)
                seen.setdefault(data.device, None)
        return list(seen)

    def by_device(self) -> dict[str, list[IntentView]]:
        out: dict[str, list[IntentView]] = {}
        for view in self._intents:
            out.setdefault(view.device, []).append(view)
        return out

    def pending_intents(self) -> list[IntentView]:
        """Intents with no outcome: the device may or may not have received the change."""
        return [v for v in self._intents if v.pending]

    def pending_restores(self) -> list[Record]:
        """restore-intent records with no restored/failed record after them."""
        open_: list[tuple[Record, tuple[str, str]]] = []
        for rec in self.records:
            if rec.kind == "restore-intent" or rec.kind in RESTORE_OUTCOMES:
                key = _device_step(self.typed(rec))
                if rec.kind == "restore-intent":
                    open_.append((rec, key))
                    continue
                for i, (_, cand) in enumerate(open_):
                    if cand == key:
                        del open_[i]
                        break
        return [rec for rec, _ in open_]

    def prechecks(self) -> dict[str, Record]:
        """The last precheck record of each device."""
        return {
            _as(self.typed(rec), Precheck).device: rec for rec in self.records if rec.kind == "precheck"
        }


def _as(data: Data, model: type[D]) -> D:
    """``data`` (typed by its record's kind) as the model that kind has."""
    assert isinstance(data, model), (type(data), model)
    return data


_ON_DEVICE_STEP = (Intent, Applied, Failed, Verified, Confirmed, RestoreIntent, Restored)


def _device_step(data: Data) -> tuple[str, str]:
    """(device, step) of a record kind that names both."""
    assert isinstance(data, _ON_DEVICE_STEP), type(data)
    return data.device, data.step


def _last(records: tuple[Record, ...], kind: str) -> Record | None:
    for rec in reversed(records):
        if rec.kind == kind:
            return rec
    return None


_MATCHED = frozenset({"intent", "applied", "failed", "verified", "confirmed", "restore-intent", "restored"})


def _match_intents(records: tuple[Record, ...], typed: Callable[[Record], Data]) -> tuple[IntentView, ...]:
    """Attach to each intent the later records of the same device and step."""
    views: list[dict[str, Any]] = []
    latest: dict[tuple[str, str], int] = {}
    for rec in records:
        if rec.kind not in _MATCHED:
            continue
        data = typed(rec)
        key = _device_step(data)
        if isinstance(data, Intent):
            latest[key] = len(views)
            views.append({"intent": rec, "data": data})
            continue
        index = latest.get(key)
        if index is None:
            continue
        slot = views[index]
        restoring = bool(slot.get("restore_intents"))
        if rec.kind in OUTCOMES and "outcome" not in slot and not restoring:
            slot["outcome"] = rec
            slot["applied_ok"] = isinstance(data, Applied) and data.ok
        elif rec.kind == "verified":
            slot["verified"] = rec
        elif rec.kind == "confirmed":
            slot["confirmed"] = rec
        elif rec.kind == "restore-intent":
            slot["restore_intents"] = (*slot.get("restore_intents", ()), rec)
        elif rec.kind in RESTORE_OUTCOMES and restoring:
            slot["restored"] = rec
            slot["restored_ok"] = isinstance(data, Restored) and data.ok
    return tuple(IntentView(**slot) for slot in views)


def run_status(records: tuple[Record, ...], *, alive: bool, journal: Path | None = None) -> str:
    """open | interrupted | ok | partial | failed | aborted | prechecks-failed | rolled-back |
    checked | restoring | restored | restore-failed. The run-end and restore-end records are
    read through their models (JournalError naming ``journal`` when one does not fit)."""
    restore_at = max((i for i, r in enumerate(records) if r.kind == "restore-start"), default=-1)
    if restore_at >= 0:
        ends = [r for r in records[restore_at:] if r.kind == "restore-end"]
        if ends:
            return "restored" if _as(typed_data(ends[-1], journal), RestoreEnd).ok else "restore-failed"
        return "restoring" if alive else "interrupted"
    end = _last(records, "run-end")
    if end is not None:
        return str(_as(typed_data(end, journal), RunEnd).status)
    return "open" if alive else "interrupted"


def run_alive(run_dir: Path) -> bool:
    """Whether a live process holds this run's journal open for writing."""
    try:
        holder = json.loads((run_dir / LOCK_NAME).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return False
    if not isinstance(holder, dict) or not isinstance(holder.get("pid"), int):
        return False
    return process_alive(holder["pid"], str(holder.get("host", "")))


# --- runs of a state directory -----------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    run: str
    path: Path
    started: str | None
    user: str | None
    host: str | None
    incident: str | None
    playbook: str | None
    status: str
    devices: tuple[str, ...]
    records: int
    duration_s: float | None = None
    time_to_contain_s: float | None = None
    problem: str | None = None  # status bad-record: the record that does not fit, in one line

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "path": str(self.path),
            "started": self.started,
            "user": self.user,
            "host": self.host,
            "incident": self.incident,
            "playbook": self.playbook,
            "status": self.status,
            "devices": list(self.devices),
            "records": self.records,
            "duration_s": self.duration_s,
            "time_to_contain_s": self.time_to_contain_s,
            "problem": self.problem,
        }


def summarize(run_dir: Path) -> RunSummary:
    """One run's row of ``isolate journal list``. A journal whose lines are not records is
    listed ``unreadable``, one holding a record that does not fit its model ``bad-record``;
    either way its ``problem`` names the journal, the line or seq and the command that checks
    it (the list goes on: every other run is still shown)."""
    try:
        journal = read_journal(run_dir)
    except JournalError as exc:
        return RunSummary(run_dir.name, run_dir, None, None, None, None, None, "unreadable", (), 0,
                          problem=unreadable(run_dir, exc))  # fmt: skip
    try:
        journal.check_models()
        return _summary(run_dir, journal)
    except JournalError as exc:
        started = journal.records[0].ts if journal.records else None
        return RunSummary(run_dir.name, run_dir, started, None, None, None, None, "bad-record", (),
                          len(journal.records), problem=str(exc))  # fmt: skip


def _summary(run_dir: Path, journal: JournalView) -> RunSummary:
    view = RunView(journal.records, alive=run_alive(journal.path.parent), path=journal.path)
    start, end = view.start_data(), view.end_data()
    return RunSummary(
        run=view.run_id or run_dir.name,
        path=run_dir,
        started=view.records[0].ts if view.records else None,
        user=start.user if start else None,
        host=start.host if start else None,
        incident=start.incident if start else None,
        playbook=start.playbook.name if start else None,
        status=view.status,
        devices=tuple(view.devices()),
        records=len(view.records),
        duration_s=end.duration_s if end else None,
        time_to_contain_s=end.time_to_contain_s if end else None,
    )


def run_dirs(state_dir: Path) -> list[Path]:
    base = runs_dir(state_dir)
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if (p / JOURNAL_NAME).is_file())


def list_runs(state_dir: Path) -> list[RunSummary]:
    """Every run of the state directory, oldest first."""
    summaries = [summarize(p) for p in run_dirs(state_dir)]
    return sorted(summaries, key=lambda s: (s.started or "", s.run))


def resolve_journal(state_dir: Path, ref: str) -> Path:
    """A run reference — run id (or a unique prefix), ``last``, run directory, journal.jsonl
    or export .json — as the path of a journal file or export. Raises InputError."""
    candidate = user_path(ref)
    if candidate.exists():
        target = journal_path(candidate)
        if not target.is_file():
            raise InputError(f"{candidate}: no {JOURNAL_NAME} in this directory")
        return target
    return resolve_run_dir(state_dir, ref) / JOURNAL_NAME


def resolve_run_dir(state_dir: Path, ref: str) -> Path:
    """The run directory named by a run id, a unique prefix of one, ``last`` or a path."""
    candidate = user_path(ref)
    if candidate.is_dir() and (candidate / JOURNAL_NAME).is_file():
        return candidate
    if candidate.is_file() and candidate.name == JOURNAL_NAME:
        return candidate.parent
    runs = run_dirs(state_dir)
    if ref == "last":
        if not runs:
            raise InputError(f"no runs in {runs_dir(state_dir)}")
        return list_runs(state_dir)[-1].path
    if RUN_ID_RE.fullmatch(ref) and (runs_dir(state_dir) / ref / JOURNAL_NAME).is_file():
        return runs_dir(state_dir) / ref
    matches = [p for p in runs if p.name.startswith(ref)] if ref else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InputError(f"run {ref!r} is ambiguous: {', '.join(p.name for p in matches[:5])}")
    raise InputError(f"no run {ref!r} in {runs_dir(state_dir)} ('isolate journal list' shows the runs)")
