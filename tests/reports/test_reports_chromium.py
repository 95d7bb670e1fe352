"""report.html rendered by a real browser: headless Chromium parses it into one page whose DOM
holds the timeline, the clock and the flow matrix. Needs the Debian package ``chromium``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import pytest
from drill_sample import sample

from isolate.reports.html import render_html

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(page: Path) -> str:
    """The DOM of ``page`` after Chromium loaded it (a finished browser process, reaped)."""
    binary = chromium()
    if binary is None:
        message = "chromium is not installed: apt-get install -y --no-install-recommends chromium"
        warnings.warn(message, stacklevel=2)
        pytest.skip(message)
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "HOME": profile},
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_chromium_renders_timeline_and_matrix(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(sample(restore_fails=True)), encoding="utf-8")
    dom = dump_dom(page)
    assert '<svg id="timeline"' in dom
    assert '<svg id="flow-matrix"' in dom
    assert '<svg id="clock"' in dom
    assert 'class="cell wrong"' in dom  # admin1 → core1 did not come back
    assert "core1" in dom and "NOT identical" in dom
    assert "<script>alert" not in dom
