"""One typed model per record kind: docs/journal.md's table is generated from the models,
every kind the package writes has a model, and the writer refuses data that does not fit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from journalkit import start_run

from isolate.errors import JournalError
from isolate.journal import Journal, read_journal
from isolate.journal.records import make_record
from isolate.journal.schema import KIND_MODELS, Intent, SchemaError, kinds_table, typed

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "journal.md"


def test_docs_table_is_generated_from_the_models() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- kinds: [^\n]*-->\n(.*?)<!-- /kinds -->", text, re.DOTALL)
    assert found is not None, "docs/journal.md lost its generated kinds table markers"
    assert found.group(1) == kinds_table(), (
        "docs/journal.md's table of kinds differs from isolate/journal/schema.py: regenerate it with "
        "python -c 'from isolate.journal.schema import kinds_table; print(kinds_table(), end=\"\")'"
    )


def test_every_kind_the_package_writes_has_a_model() -> None:
    written: set[str] = set()
    for path in (ROOT / "isolate").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(re.findall(r'(?:journal|self)\.append\(\s*"([a-z][a-z0-9-]*)"', text))
    assert {"run-start", "intent", "restore-intent", "gate", "torn-tail"} <= written
    assert written - set(KIND_MODELS) == set()


def _start(journal: Journal) -> None:
    start_run(journal)


APPLIED = {"device": "core1", "step": "s", "ok": True, "message": "", "duration_s": 0.5}


def test_the_writer_refuses_an_unknown_field_and_a_wrong_type(tmp_path: Path) -> None:
    with Journal.create(tmp_path, "20261202T000000Z-abcdef") as journal:
        _start(journal)
        with pytest.raises(JournalError) as unknown:
            journal.append("applied", **APPLIED, colour="red")
        assert str(unknown.value) == (
            f"{journal.path}: applied record: field colour is not in its model (isolate/journal/schema.py)"
        )
    with Journal.create(tmp_path, "20261202T000000Z-abcde0") as journal:
        _start(journal)
        with pytest.raises(JournalError) as wrong:
            journal.append("step-end", step="s", ok=True, duration_s="fast")
        assert str(wrong.value) == (
            f"{journal.path}: step-end record: duration_s: "
            "Input should be a valid number"
        )


def test_the_writer_refuses_a_missing_field_and_an_unknown_kind(tmp_path: Path) -> None:
    """What the writer lets through is what `journal verify` and every reader accept: a
    record without a required field, or of a kind no model names, is never written."""
    with Journal.create(tmp_path, "20261202T000000Z-abcdef") as journal:
        _start(journal)
        with pytest.raises(JournalError) as missing:
            journal.append("applied", device="core1", step="s", ok=True)
        assert str(missing.value) == f"{journal.path}: applied record: message: Field required"
        with pytest.raises(JournalError) as unknown:
            journal.append("note", text="hello")
        assert str(unknown.value) == (
            f"{journal.path}: unknown record kind 'note' (isolate/journal/schema.py lists the kinds)"
        )
        assert journal.append("applied", **APPLIED).seq == 1  # nothing refused was written
    assert [r.kind for r in read_journal(journal.run_dir).records] == ["run-start", "applied", "seal"]


def test_typed_requires_every_field_not_marked_optional(tmp_path: Path) -> None:
    with Journal.create(tmp_path, "20261202T000000Z-abcdef") as journal:
        _start(journal)
        record = journal.append(
            "intent", device="core1", step="s", action="block-smb", platform="cisco_ios",
            forward=["x"], inverse=["no x"], pre_state=None, stage=1, confirm_window_s=None,
        )
    intent = typed(record)
    assert isinstance(intent, Intent) and intent.inverse == ["no x"]
    # another writer's record (the writer refuses it): read, it names the missing field
    data = {"device": "core1", "step": "s", "ok": True}
    partial = make_record(2, record.ts, record.run, "applied", data, record.hash)
    with pytest.raises(SchemaError) as caught:
        typed(partial)
    assert str(caught.value) == "seq 2: applied record: message: Field required"


def test_every_append_in_the_package_names_only_fields_of_its_model() -> None:
    """Static guard: a field added to a journal.append(...) call must be added to its model
    first, and a call that names its fields (no ``**``) names every required one: else the
    writer refuses the record at run time (exit 7), found here before any run is."""
    import ast

    wrong = []
    for path in sorted((ROOT / "isolate").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "append" and node.args and isinstance(node.args[0], ast.Constant)):
                continue
            kind = node.args[0].value
            if kind not in KIND_MODELS:
                continue
            named = {k.arg for k in node.keywords if k.arg is not None}
            model = KIND_MODELS[kind][0]
            unknown = named - set(model.model_fields)
            if unknown:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {kind}: {', '.join(sorted(unknown))}")
            spread = any(k.arg is None for k in node.keywords)
            missing = {n for n, info in model.model_fields.items() if info.is_required()} - named
            if missing and not spread:
                where = f"{path.relative_to(ROOT)}:{node.lineno}: {kind}"
                wrong.append(f"{where}: missing {', '.join(sorted(missing))}")
    assert wrong == []
