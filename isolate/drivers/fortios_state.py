"""The FortiGate's comparable state, as isolate reads and normalises it (docs/platforms.md).

``read_state`` is one JSON object per line, keys sorted: for each table isolate reads
(``TABLES``), its objects as FortiOS returns them from ``GET /api/v2/cmdb/TABLE``, each with
``"table"`` added; firewall policies carry ``"seq"`` (their position: FortiOS evaluates
policies in list order, so the order is state) and keep their list order; every other table
is sorted by its key. Dropped (``VOLATILE``), because FortiOS rewrites them by itself or they
are not configuration isolate may compare:

- ``q_origin_key`` (an echo of the object's key, also inside every member list);
- ``uuid`` (assigned by FortiOS when an object is created: an object isolate restores by
  re-creating it would get a new one);
- ``passwd`` (a local user's password, as ``ENC …``: a secret, never stored by isolate).

This module is pure (no I/O): the driver and the action modules share it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

POLICY: Final = "firewall/policy"
ADDRESS: Final = "firewall/address"
ADDRGRP: Final = "firewall/addrgrp"
SERVICE: Final = "firewall.service/custom"
USER: Final = "user/local"
GROUP: Final = "user/group"
TABLES: Final[tuple[str, ...]] = (ADDRESS, ADDRGRP, SERVICE, POLICY, USER, GROUP)
VPN_SESSIONS: Final = "vpn-sessions"  # the read of the SSL-VPN sessions (the monitor API)
VOLATILE: Final[frozenset[str]] = frozenset({"q_origin_key", "uuid", "passwd"})


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def normalise(table: str, rows: Iterable[dict[str, Any]]) -> list[str]:
    """One sorted-key JSON line per object of ``table``, volatile fields dropped."""
    cleaned = [_clean(row) for row in rows]
    if table == POLICY:
        for seq, row in enumerate(cleaned, 1):
            row["seq"] = seq
    else:
        cleaned.sort(key=lambda row: str(row.get("name", "")))
    return [json.dumps({"table": table, **row}, sort_keys=True) for row in cleaned]


def records(state: str) -> list[dict[str, Any]]:
    """Every object of a state text (lines that are not JSON objects are skipped)."""
    out = []
    for line in state.splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                out.append(record)
    return out


def table_in(state: str, table: str) -> list[dict[str, Any]]:
    """The objects of ``table`` in a state text, in state order (policies: by ``seq``)."""
    return [r for r in records(state) if r.get("table") == table]


def by_name(state: str, table: str) -> dict[str, dict[str, Any]]:
    return {str(r.get("name")): r for r in table_in(state, table)}


def member_names(record: dict[str, Any], field: str) -> list[str]:
    return [str(m.get("name")) for m in record.get(field, []) if isinstance(m, dict)]
