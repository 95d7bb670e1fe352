"""Journal records: the typed record, its canonical bytes and its hash.

A record is one JSON line. ``hash`` is the SHA-256 hex of the canonical JSON
(``sort_keys``, separators ``,`` ``:``, UTF-8) of the record without ``hash``;
``prev`` is the previous record's hash (64 zeros for the first). The line itself is
written in one fixed form — top-level keys in the order seq, ts, run, kind, data,
prev, hash; nested keys sorted; no blanks — so a verifier can demand that every line
is byte-for-byte the form its values produce (docs/journal.md).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Any

ZERO_HASH = "0" * 64
FIELDS = ("seq", "ts", "run", "kind", "data", "prev", "hash")
KIND_RE = re.compile(r"[a-z][a-z0-9-]{0,39}")
RUN_ID_RE = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")

# The record kinds, what each carries and when it is written: one table,
# isolate.journal.schema.KIND_MODELS (docs/journal.md's table is generated from it).
# data keys that name a captured state file (state/<sha256>.txt) when they hold a digest
STATE_KEYS = ("state", "pre_state", "post_state", "expected")


class RecordFormatError(ValueError):
    """A line or object is not a well-formed record; the message says why."""


@dataclass(frozen=True)
class Record:
    """One journal record. ``data`` must not be mutated."""

    seq: int
    ts: str
    run: str
    kind: str
    data: Mapping[str, Any]
    prev: str
    hash: str

    @property
    def device(self) -> str | None:
        value = self.data.get("device")
        return value if isinstance(value, str) else None

    @property
    def step(self) -> str | None:
        value = self.data.get("step")
        return value if isinstance(value, str) else None

    def body(self) -> dict[str, Any]:
        """The record without ``hash``: what the hash covers."""
        return {
            "seq": self.seq, "ts": self.ts, "run": self.run, "kind": self.kind,
            "data": dict(self.data), "prev": self.prev,
        }  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    def line(self) -> bytes:
        """The record's one line in the journal, with its newline."""
        return seal(self)[1]

    def state_refs(self) -> list[str]:
        """Digests of the captured states this record names."""
        return [v for k in STATE_KEYS if isinstance(v := self.data.get(k), str) and SHA256_RE.fullmatch(v)]


def canonical_json(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no blanks, UTF-8, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a record without its hash (the definition)."""
    return hashlib.sha256(canonical_json(dict(body))).hexdigest()


def line_bytes(record: Mapping[str, Any]) -> bytes:
    """The journal line of a record: fixed key order, nested keys sorted, newline."""
    parts = [json.dumps(k) + ":" + canonical_json(record[k]).decode("utf-8") for k in FIELDS]
    return ("{" + ",".join(parts) + "}\n").encode("utf-8")


_PLAIN_RE = re.compile(r"[A-Za-z0-9:.-]*")


def seal(rec: Record) -> tuple[str, bytes]:
    """(the hash ``rec``'s content gives, the line ``rec`` is written as) — the same bytes
    ``record_hash`` and ``line_bytes`` give, with the data serialised once."""
    plain = (rec.ts, rec.run, rec.kind, rec.prev, rec.hash)
    if type(rec.seq) is not int or not all(_PLAIN_RE.fullmatch(v) for v in plain):
        return record_hash(rec.body()), line_bytes(rec.to_dict())
    data = canonical_json(rec.data).decode("utf-8")
    seq, ts, run, kind, prev = rec.seq, rec.ts, rec.run, rec.kind, rec.prev
    body = f'{{"data":{data},"kind":"{kind}","prev":"{prev}","run":"{run}","seq":{seq},"ts":"{ts}"}}'
    line = (
        f'{{"seq":{seq},"ts":"{ts}","run":"{run}","kind":"{kind}","data":{data},'
        f'"prev":"{prev}","hash":"{rec.hash}"}}\n'
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest(), line.encode("utf-8")


def make_record(seq: int, ts: str, run: str, kind: str, data: dict[str, Any], prev: str) -> Record:
    unsealed = Record(seq=seq, ts=ts, run=run, kind=kind, data=data, prev=prev, hash="")
    return dataclasses.replace(unsealed, hash=seal(unsealed)[0])


def record_from_obj(obj: object) -> Record:
    """A Record from a parsed JSON object; RecordFormatError says what is wrong."""
    if not isinstance(obj, dict):
        raise RecordFormatError("not a JSON object")
    keys = set(obj)
    if keys != set(FIELDS):
        missing = sorted(set(FIELDS) - keys)
        extra = sorted(keys - set(FIELDS))
        raise RecordFormatError(
            "fields wrong:"
            + (f" missing {', '.join(missing)}" if missing else "")
            + (f" unexpected {', '.join(extra)}" if extra else "")
        )
    seq, ts, run, kind, data = obj["seq"], obj["ts"], obj["run"], obj["kind"], obj["data"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise RecordFormatError("seq is not a non-negative integer")
    if not isinstance(ts, str) or not TS_RE.fullmatch(ts):
        raise RecordFormatError("ts is not a UTC timestamp YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:  # the shape is not enough: a minute 70 or a 30 February is no time either
        parse_ts(ts)
    except ValueError:
        raise RecordFormatError(f"ts is not a UTC timestamp: {ts!r} is no date and time") from None
    if not isinstance(run, str) or not RUN_ID_RE.fullmatch(run):
        raise RecordFormatError("run is not a run id YYYYMMDDTHHMMSSZ-xxxxxx")
    if not isinstance(kind, str) or not KIND_RE.fullmatch(kind):
        raise RecordFormatError("kind is not a record kind")
    if not isinstance(data, dict):
        raise RecordFormatError("data is not an object")
    for name in ("prev", "hash"):
        if not isinstance(obj[name], str) or not SHA256_RE.fullmatch(obj[name]):
            raise RecordFormatError(f"{name} is not a SHA-256 hex digest")
    return Record(seq=seq, ts=ts, run=run, kind=kind, data=data, prev=obj["prev"], hash=obj["hash"])


def parse_line(raw: bytes) -> Record:
    """Parse one journal line (without its newline)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecordFormatError(f"not UTF-8 (byte {err.start})") from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise RecordFormatError(f"not JSON ({err.msg} at column {err.colno})") from None
    except ValueError as err:
        raise RecordFormatError(f"not JSON ({err})") from None
    return record_from_obj(obj)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def timestamp(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def run_id_new(now: datetime | None = None) -> str:
    """A new run id: ``YYYYMMDDTHHMMSSZ-<6 hex>`` (UTC)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def to_jsonable(value: Any, where: str = "data") -> Any:
    """Plain JSON values from what callers pass (dataclasses, pydantic models, paths, enums)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError(f"{where}: {value} is not a finite number")
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, where)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string")
            out[key] = to_jsonable(item, f"{where}.{key}")
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [to_jsonable(item, f"{where}[{i}]") for i, item in enumerate(items)]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_jsonable(dump(mode="json"), where)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value), where)
    raise TypeError(f"{where}: a {type(value).__name__} cannot be journaled")
