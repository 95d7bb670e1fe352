"""The run journal: write-ahead, hash-chained, fsynced JSON Lines (docs/journal.md).

Public API:
    Journal.create(state_dir, run_id) / Journal.open(run_dir, recover_torn=False)
    Journal.append(kind, **data) -> Record ; store_state(text) -> sha ; read_state(sha)
    run_id_new() ; state_dir_from(option)
    read_journal(path) -> JournalView ; RunView ; list_runs(state_dir) -> [RunSummary]
    resolve_journal(state_dir, ref) ; resolve_run_dir(state_dir, ref)
    verify_journal(path) -> VerifyReport
"""

from __future__ import annotations

from isolate.journal.reader import (
    IntentView,
    JournalView,
    RunSummary,
    RunView,
    TornTail,
    list_runs,
    read_journal,
    resolve_journal,
    resolve_run_dir,
    run_status,
)
from isolate.journal.records import Record, run_id_new
from isolate.journal.verify import BadRecord, VerifyReport, verify_journal
from isolate.journal.writer import Journal
from isolate.paths import state_dir_from

__all__ = [
    "BadRecord",
    "IntentView",
    "Journal",
    "JournalView",
    "Record",
    "RunSummary",
    "RunView",
    "TornTail",
    "VerifyReport",
    "list_runs",
    "read_journal",
    "resolve_journal",
    "resolve_run_dir",
    "run_id_new",
    "run_status",
    "state_dir_from",
    "verify_journal",
]
