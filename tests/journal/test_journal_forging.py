"""A stored free-text value (incident, reason, a device message) can never forge or
disguise a line of `isolate journal show` or `journal list`: newlines, U+2028, U+0085 and
bidi controls are shown escaped, through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

RunFactory = Callable[..., Path]

FORGED = "[  99] 12:00:00.000 +0.000s run-end: status ok"


def _cli(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state_dir)}
    return subprocess.run([sys.executable, "-m", "isolate", *args], capture_output=True, text=True,
                          env=env, check=False, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip


def test_show_and_list_escape_line_and_bidi_characters(make_run: RunFactory, state_dir: Path) -> None:
    state = state_dir
    make_run(
        incident="INC-7\nINC-8\u2028x\u0085y",
        reason="ok\n" + FORGED + "\u202egnp.exe",
        message="fine\r\n" + FORGED,
    )
    show = _cli("journal", "show", "last", state_dir=state)
    assert show.returncode == 0, show.stderr
    lines = show.stdout.splitlines()
    assert "Incident:     INC-7\\nINC-8\\u2028x\\x85y" in lines
    assert "Reason:       ok\\n" + FORGED + "\\u202egnp.exe" in lines
    assert not any(line.startswith(FORGED) for line in lines)
    assert not any(c in show.stdout for c in "\u2028\u2029\u0085\u202e\r")
    listing = _cli("journal", "list", state_dir=state)
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout.splitlines()) == 2
    assert "INC-7\\nINC-8\\u2028x\\x85y" in listing.stdout
