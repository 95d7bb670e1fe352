"""Verifying a journal: is it complete and untampered?

Checks, in record order, stopping at the first bad record: every line is a record in
its one canonical form; seq runs 0, 1, 2…; one run id; the first record is
``run-start``; each ``prev`` is the previous record's hash and each ``hash`` recomputes;
each record's kind is known and its data fits the kind's model (isolate/journal/schema.py:
required fields present, strict JSON types); every captured state a record names exists
and hashes to its name; a ``torn-tail`` record's side file holds exactly the bytes it
quotes. Then: every ``intent`` has an outcome (``applied`` or ``failed``) and every
``restore-intent`` one (``restored`` or ``failed``); a torn final line fails the journal;
every ``seal`` (signed head) verifies with a trusted public key and the journal ends with
one (so a cut, an appended record or a rewritten chain fails without ``--head``); a mirror
of heads, when given, holds the last one. The same checks run on an offline export
(``isolate journal export --format json``), whose header (run, journal_sha256,
exported_by…) is signed too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from isolate.journal.heads import check_seals, export_problem, mirror_problem, mirrored_heads
from isolate.journal.reader import (
    OUTCOMES,
    RESTORE_OUTCOMES,
    JournalSource,
    _is_torn_name,
    load_source,
    run_status,
)
from isolate.journal.records import ZERO_HASH, Record, RecordFormatError, parse_line, seal
from isolate.journal.schema import TornTail, misfit, typed, unknown_fields
from isolate.journal.signing import PublicKey, local_public_key


@dataclass(frozen=True)
class BadRecord:
    """The first record that fails verification."""

    line: int
    seq: int | None
    kind: str | None
    reason: str

    def describe(self, source_name: str, *, export: bool = False) -> str:
        where = f"{source_name}:record {self.line}" if export else f"{source_name}:{self.line}"
        seq = "?" if self.seq is None else str(self.seq)
        return f"{where} (seq {seq}, kind {self.kind or '?'}): {self.reason}"


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    records: int
    first_bad: BadRecord | None
    warnings: tuple[str, ...]
    source: str  # the journal's file name, for messages
    path: Path
    run: str | None
    is_export: bool = False
    head: str | None = None  # hash of the last whole record: keep it to detect a later truncation
    signed_by: str | None = None  # id of the key whose signature closes the journal
    run_status: str | None = None  # the run's status as its records tell it (reader.run_status)

    @property
    def complete(self) -> bool:
        """The run reached an end: its run-end, or a restore that ended."""
        return self.run_status not in (None, "open", "interrupted", "restoring")

    def summary(self) -> str:
        """The one line ``isolate journal verify`` prints."""
        if self.first_bad is None:
            done = "complete" if self.complete else "NOT complete"
            return (
                f"OK: {self.records} records, chain intact, every intent has an outcome, head signed by "
                f"key {self.signed_by}; run {done} (status {self.run_status})"
            )
        return "FAIL: " + self.first_bad.describe(self.source, export=self.is_export)


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_journal(
    path: Path,
    *,
    expect_head: str | None = None,
    trusted: Sequence[PublicKey] | None = None,
    mirror: Path | None = None,
) -> VerifyReport:
    """Verify a run directory, journal.jsonl or export .json. Never raises for bad content;
    raises JournalError only when the file cannot be read at all. ``expect_head``: a hash
    noted earlier (e.g. from a previous verify); some record must still carry it.
    ``trusted``: public keys a signed head may be made with (default: this station's own).
    ``mirror``: a file of mirrored heads (``$ISOLATE_HEAD_MIRROR`` file, or a syslog file)."""
    return verify_source(load_source(path), expect_head=expect_head, trusted=trusted, mirror=mirror)


def _check_carried_states(records: Sequence[Record], source: JournalSource) -> BadRecord | None:
    """An export carries exactly the captured states its records name (``export_document``):
    one more is text no record and no signature covers. (Those named were hashed against
    their names with the records, ``_check_files``.)"""
    named = {sha for record in records for sha in record.state_refs()}
    extra = next((name for name in source.state_names if name not in named), None)
    if extra is None:
        return None
    reason = (f"the export carries a captured state {extra} that no record names: added to the export "
              "after it was made")
    return BadRecord(len(source.lines) + 1, None, None, reason)


def verify_source(
    source: JournalSource,
    *,
    expect_head: str | None = None,
    trusted: Sequence[PublicKey] | None = None,
    mirror: Path | None = None,
) -> VerifyReport:
    if trusted is None:
        local = local_public_key()
        trusted = [] if local is None else [local]
    records, bad = check_chain(source, check_states=True, check_models=True)
    warnings: list[str] = []
    if bad is None and expect_head is not None and all(r.hash != expect_head for r in records):
        bad = BadRecord(
            len(source.lines) + 1,
            len(records),
            None,
            f"no record has the expected hash {expect_head[:16]}…: records were cut from the end "
            "(or this is another journal)",
        )
    if bad is None:
        bad = _check_outcomes(records, source)
    if bad is None and source.is_export:
        bad = _check_carried_states(records, source)
    if bad is None and source.torn is not None:
        bad = BadRecord(
            source.torn.line,
            len(records),
            None,
            f"torn final line: {source.torn.length} bytes without a newline (the writer died "
            "mid-append); resuming or restoring the run moves it aside and journals it",
        )
    seals = check_seals(records, trusted)
    if bad is None and not seals.ok:
        bad = _bad_at(seals.problem_seq, records, source, str(seals.problem))
    if bad is None and source.is_export:
        bad = _export_bad(source, records, trusted)
    if bad is None and mirror is not None:
        problem = mirror_problem(records, mirrored_heads(mirror, records[0].run), mirror)
        if problem is not None:
            bad = _bad_at(records[-1].seq, records, source, problem)
    if bad is None:
        warnings.extend(_warnings(records, source))
    return VerifyReport(
        ok=bad is None,
        records=len(records),
        first_bad=bad,
        warnings=tuple(warnings),
        source=source.name,
        path=source.path,
        run=records[0].run if records else None,
        is_export=source.is_export,
        head=records[-1].hash if records else None,
        signed_by=seals.key.id if seals.key else None,
        run_status=run_status(tuple(records), alive=False) if records else None,
    )


def _bad_at(seq: int | None, records: list[Record], source: JournalSource, reason: str) -> BadRecord:
    index = min(seq if seq is not None else len(records) - 1, len(records) - 1)
    rec = records[index] if records else None
    line = source.lines[index].line if records else 1
    return BadRecord(line, None if rec is None else rec.seq, None if rec is None else rec.kind, reason)


def _export_bad(
    source: JournalSource, records: list[Record], trusted: Sequence[PublicKey]
) -> BadRecord | None:
    """An export's header: journal_sha256 must be the digest of its records, the head its last
    record's hash, and the signature must cover them."""
    header = source.header or {}
    blob = b"".join(r.raw + b"\n" for r in source.lines) + (source.torn.data if source.torn else b"")
    reason: str | None = None
    if header.get("journal_sha256") != hashlib.sha256(blob).hexdigest():
        reason = "the export's journal_sha256 is not the digest of its records (header or records changed)"
    elif header.get("run") != records[0].run:
        reason = f"the export's header names run {header.get('run')}, its records run {records[0].run}"
    elif header.get("head") != records[-1].hash:
        reason = "the export's head is not its last record's hash (records cut or added)"
    else:
        reason = export_problem(header, trusted)
    return None if reason is None else _bad_at(len(records) - 1, records, source, reason)


def check_chain(
    source: JournalSource, *, check_states: bool = False, check_models: bool = False
) -> tuple[list[Record], BadRecord | None]:
    """Parse and chain-check every complete line; stop at the first bad one. ``check_models``:
    each record's data must also fit its kind's model (isolate/journal/schema.py)."""
    records: list[Record] = []
    prev = ZERO_HASH
    good_states: set[str] = set()
    for raw in source.lines:
        seq = len(records)
        try:
            record = parse_line(raw.raw)
        except RecordFormatError as err:
            return records, BadRecord(raw.line, seq, None, f"not a journal record: {err}")
        try:
            _check_record(record, raw.raw, seq, prev, records)
            if check_models:
                _check_model(record)
            if check_states:
                _check_files(record, source, good_states)
        except _Bad as err:
            return records, BadRecord(raw.line, seq, record.kind, err.reason)
        records.append(record)
        prev = record.hash
    if not records and source.torn is None:
        return records, BadRecord(1, 0, None, "empty journal: no run-start record")
    return records, None


def _check_record(record: Record, raw: bytes, seq: int, prev: str, before: list[Record]) -> None:
    if record.seq != seq:
        raise _Bad(f"seq {record.seq} where {seq} was expected (a record is missing or moved)")
    if seq == 0 and record.kind != "run-start":
        raise _Bad("the first record is not run-start")
    if seq > 0 and record.run != before[0].run:
        raise _Bad(f"run id {record.run} differs from the journal's run {before[0].run}")
    if record.prev != prev:
        raise _Bad("prev is not the previous record's hash (chain broken)")
    try:
        computed, line = seal(record)
    except ValueError:  # not encodable (NaN…): cannot be what the writer wrote
        computed, line = "", b""
    if computed != record.hash:
        raise _Bad("hash does not match the record's content (changed after it was written)")
    if line.rstrip(b"\n") != raw:
        raise _Bad("line is not in its canonical form (edited after it was written)")


def _check_model(record: Record) -> None:
    """The record's kind is known and its data fits the kind's model: every required field
    present, each of its type (what every reader of the journal relies on)."""
    problem = misfit(record.kind, record.data)
    if problem is not None:
        raise _Bad(f"{problem} (the record does not fit its kind's model, isolate/journal/schema.py)")


def _check_files(record: Record, source: JournalSource, good: set[str]) -> None:
    for sha in record.state_refs():
        if sha in good:
            continue
        blob = source.state_bytes(sha)
        if blob is None:
            raise _Bad(f"captured state state/{sha}.txt is missing")
        if hashlib.sha256(blob).hexdigest() != sha:
            raise _Bad(f"captured state state/{sha}.txt does not hash to its name (changed)")
        good.add(sha)
    if record.kind == "torn-tail":
        _check_torn_record(record, source)


def _check_torn_record(record: Record, source: JournalSource) -> None:
    data = typed(record)  # its model was checked first
    assert isinstance(data, TornTail)
    name = data.file
    if not _is_torn_name(name):
        raise _Bad("torn-tail record names no journal.torn.<n> file")
    blob = source.torn_file(name)
    if blob is None:
        raise _Bad(f"torn tail file {name} is missing")
    if len(blob) != data.bytes or hashlib.sha256(blob).hexdigest() != data.sha256:
        raise _Bad(f"torn tail file {name} does not match the length and digest quoted")


def _check_outcomes(records: list[Record], source: JournalSource) -> BadRecord | None:
    """The first intent or restore-intent that no later outcome of its device and step answers."""
    answers = {"intent": OUTCOMES, "restore-intent": RESTORE_OUTCOMES}
    waiting: dict[tuple[str | None, str | None], list[int]] = {}
    for index, rec in enumerate(records):
        key = (rec.device, rec.step)
        if rec.kind in answers:
            waiting.setdefault(key, []).append(index)
            continue
        queue = waiting.get(key, [])
        for position, open_index in enumerate(queue):
            if rec.kind in answers[records[open_index].kind]:
                del queue[position]
                break
    unanswered = [index for queue in waiting.values() for index in queue]
    if not unanswered:
        return None
    rec = records[min(unanswered)]
    wanted = "applied or failed" if rec.kind == "intent" else "restored or failed"
    return BadRecord(
        source.lines[min(unanswered)].line,
        rec.seq,
        rec.kind,
        f"{rec.kind} for {rec.device} step {rec.step} has no outcome (no {wanted} record "
        "follows: the run stopped mid-flight)",
    )


def _warnings(records: list[Record], source: JournalSource) -> list[str]:
    out: list[str] = []
    if records and not any(r.kind == "run-end" for r in records):
        out.append("no run-end record: the run is still open or was interrupted")
    for record, line in zip(records, source.lines, strict=False):
        unknown = unknown_fields(record.kind, record.data)
        if unknown:
            out.append(
                f"{source.where(line.line)} (seq {record.seq}, kind {record.kind}): field(s) "
                f"{', '.join(unknown)} not in its model (written by another version of isolate?): "
                "readers ignore them"
            )
    quoted = {_torn_file(r) for r in records if r.kind == "torn-tail"}
    out.extend(
        f"{name} is not quoted by any torn-tail record (a crash during recovery?)"
        for name in source.torn_files
        if name not in quoted
    )
    return out


def _torn_file(record: Record) -> str:
    data = typed(record)
    assert isinstance(data, TornTail)
    return data.file


def head_line(path: Path) -> str:
    """One line for reports: ``seq N hash H, signed by key K`` when the journal verifies,
    else ``NOT verified: <why>``."""
    report = verify_journal(path)
    if not report.ok or report.head is None:
        return "NOT verified: " + report.summary().removeprefix("FAIL: ")
    return f"seq {report.records - 1} hash {report.head}, signed by key {report.signed_by}"
