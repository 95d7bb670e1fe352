"""Drill reports: report.json, junit.xml, report.md and a self-contained report.html."""

from __future__ import annotations

from pathlib import Path

from isolate.reports.html import render_html
from isolate.reports.json import render_json
from isolate.reports.junit import render_junit
from isolate.reports.markdown import render_markdown
from isolate.reports.model import DrillResult

REPORT_FILES = ("report.json", "junit.xml", "report.md", "report.html")


def write_reports(result: DrillResult, directory: Path) -> dict[str, Path]:
    """Write the four reports into ``directory`` (created); returns name → path."""
    directory.mkdir(parents=True, exist_ok=True)
    rendered = {
        "report.json": render_json(result),
        "junit.xml": render_junit(result),
        "report.md": render_markdown(result),
        "report.html": render_html(result),
    }
    paths = {}
    for name, text in rendered.items():
        path = directory / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        paths[name] = path
    return paths


__all__ = ["REPORT_FILES", "DrillResult", "write_reports"]
