"""Site-worker tests reuse the end-to-end helpers of tests/execute (real CLI in a subprocess,
devices read back with netmiko/paramiko, the city lab fixture)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "execute"))

from e2e import lab  # noqa: F401  (a fixture: pytest finds it here)
