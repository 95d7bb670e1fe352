"""Signed heads: the ``seal`` record that closes every writing session of a journal, the
signature over an export's header, and the optional append-only mirror of heads.

A ``seal`` record's ``data`` is ``{alg, key, public_key, sig}``. ``sig`` is the Ed25519
signature of ``head_message(record)``: the record's own hash computed with ``sig`` empty,
so it covers the seal's seq, time and ``prev`` — hence every record before it. An export's
``signature`` covers its header fields (``EXPORT_SIGNED``) with ``head`` = the hash of its
last record. docs/journal.md ("Signed heads") is the auditor's description.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isolate.journal.records import Record, canonical_json, make_record
from isolate.journal.schema import SchemaError, Seal, typed
from isolate.journal.signing import ALG, PublicKey, Signer

SEAL_KIND = "seal"
SEAL_DOMAIN = b"isolate-journal-seal-v1\n"
EXPORT_DOMAIN = b"isolate-journal-export-v1\n"
EXPORT_SIGNED = ("format", "version", "run", "exported_at", "exported_by", "source", "journal_sha256", "head")
MIRROR_ENV = "ISOLATE_HEAD_MIRROR"
MIRROR_TAG = "isolate-journal-head"
_MIRROR_RE = re.compile(
    MIRROR_TAG + r" run=(?P<run>\S+) seq=(?P<seq>\d+) hash=(?P<hash>[0-9a-f]{64}) key=(?P<key>[0-9a-f]{16})"
)


def seal_data(signer: Signer, sig: str = "") -> dict[str, Any]:
    return {"alg": ALG, "key": signer.public.id, "public_key": signer.public.b64, "sig": sig}


def head_message(record: Record) -> bytes:
    """What a seal's signature signs: its record's hash with ``sig`` blank."""
    blank = make_record(
        record.seq, record.ts, record.run, record.kind, {**record.data, "sig": ""}, record.prev
    )
    return SEAL_DOMAIN + f"{record.run}\n{record.seq}\n{blank.hash}".encode()


@dataclass(frozen=True)
class SealCheck:
    """What the seals of a journal say: the first problem, else the last valid seal."""

    problem: str | None
    problem_seq: int | None
    last: Record | None
    key: PublicKey | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_seals(records: Sequence[Record], trusted: Sequence[PublicKey]) -> SealCheck:
    """Every seal must verify with a trusted key, and the journal must end with one."""
    by_id = {k.id: k for k in trusted}
    last: Record | None = None
    key: PublicKey | None = None
    if not records:
        return SealCheck("empty journal", 0, None, None)
    if not by_id:
        return SealCheck(
            "no trusted public key to check the signed head with (pass --public-key FILE: the "
            "signer's journal-ed25519.key.pub)",
            records[-1].seq,
            None,
            None,
        )
    for rec in records:
        if rec.kind != SEAL_KIND:
            continue
        problem = _seal_problem(rec, by_id)
        if problem is not None:
            return SealCheck(problem, rec.seq, last, key)
        last, key = rec, by_id[_seal(rec).key]
    if last is None or last.seq != records[-1].seq:
        tail = records[-1]
        after = "no signed head at all" if last is None else f"the last signed head is seq {last.seq}"
        return SealCheck(
            f"the journal ends at seq {tail.seq} ({tail.kind}) without a signed head ({after}): "
            "records were cut from its end or added after its head, or its writer died or is "
            "still writing (isolate restore / apply --resume seal it)",
            tail.seq,
            last,
            key,
        )
    return SealCheck(None, None, last, key)


def _seal_problem(rec: Record, by_id: Mapping[str, PublicKey]) -> str | None:
    try:
        data = typed(rec)
    except SchemaError as exc:
        return f"seal is not a signed head: {exc}"
    assert isinstance(data, Seal)
    if data.alg != ALG:
        return f"seal is not an {ALG} signature"
    known = by_id.get(data.key)
    if known is None:
        return f"signed by key {data.key}, which is not a trusted key (trusted: {', '.join(sorted(by_id))})"
    if not known.verifies(head_message(rec), data.sig):
        return "signature does not verify: the records before this head were changed, or it was forged"
    return None


# --- exports ----------------------------------------------------------------------------


def export_message(header: Mapping[str, Any]) -> bytes:
    return EXPORT_DOMAIN + canonical_json({k: header.get(k) for k in EXPORT_SIGNED})


def sign_export(header: Mapping[str, Any], signer: Signer) -> dict[str, str]:
    return {
        "alg": ALG,
        "key": signer.public.id,
        "public_key": signer.public.b64,
        "sig": signer.sign(export_message(header)),
    }


def export_problem(header: Mapping[str, Any], trusted: Sequence[PublicKey]) -> str | None:
    """Why an export's header signature fails, or None."""
    signature = header.get("signature")
    if not isinstance(signature, Mapping) or not isinstance(signature.get("sig"), str):
        return "the export's header is not signed (made by an older isolate, or the signature was removed)"
    known = {k.id: k for k in trusted}.get(str(signature.get("key")))
    if known is None:
        return f"the export is signed by key {signature.get('key')}, which is not a trusted key"
    if not known.verifies(export_message(header), str(signature["sig"])):
        return (
            "the export's header signature does not verify: run, journal_sha256, exported_by or "
            "another signed header field was changed"
        )
    return None


# --- the mirror of heads ----------------------------------------------------------------


def _seal(rec: Record) -> Seal:
    data = typed(rec)
    assert isinstance(data, Seal)
    return data


def mirror_line(rec: Record) -> str:
    seal = _seal(rec)
    return f"{MIRROR_TAG} run={rec.run} seq={rec.seq} hash={rec.hash} key={seal.key} sig={seal.sig}"


def mirror_head(rec: Record) -> str | None:
    """Send a seal's head to ``$ISOLATE_HEAD_MIRROR`` (``file:PATH`` or ``syslog``); returns
    an error text, or None. Best effort: the journal is sealed whether or not this works."""
    target = os.environ.get(MIRROR_ENV, "")
    if not target:
        return None
    line = mirror_line(rec)
    try:
        if target == "syslog":
            subprocess.run(
                ["logger", "-t", "isolate", "--", line], check=True, capture_output=True, timeout=10
            )
            return None
        if target.startswith("file:"):
            fd = os.open(Path(target[5:]).expanduser(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            return None
    except (OSError, subprocess.SubprocessError, RuntimeError) as err:  # RuntimeError: unknown ~user
        return f"cannot mirror the head to {target}: {err}"
    return f"{MIRROR_ENV}={target!r}: expected file:PATH or syslog"


@dataclass(frozen=True)
class MirroredHead:
    run: str
    seq: int
    hash: str


def mirrored_heads(path: Path, run: str) -> list[MirroredHead]:
    """The heads a mirror file (or a syslog file) holds for ``run``, in file order."""
    out: list[MirroredHead] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = _MIRROR_RE.search(line)
            if match and match["run"] == run:
                out.append(MirroredHead(run, int(match["seq"]), match["hash"]))
    return out


def mirror_problem(records: Sequence[Record], heads: Sequence[MirroredHead], mirror: Path) -> str | None:
    """The journal must hold every head the mirror recorded, and end at the newest one."""
    if not records:
        return None
    if not heads:
        return f"the mirror {mirror} holds no head for run {records[0].run}"
    by_seq = {r.seq: r.hash for r in records}
    for head in heads:
        if by_seq.get(head.seq) != head.hash:
            why = "does not reach: records were cut from its end"
            if head.seq < len(records):
                why = "does not carry: it was rewritten"
            return f"the mirror {mirror} has head seq {head.seq} ({head.hash[:16]}…) which the journal {why}"
    newest = max(h.seq for h in heads)
    if newest != records[-1].seq:
        return f"the journal goes on past its last mirrored head (seq {newest}) to seq {records[-1].seq}"
    return None
