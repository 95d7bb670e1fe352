"""tests/watch: the end-to-end helpers of tests/execute (the CLI in a subprocess, devices
read back with netmiko) and the lab kit of tests/lab."""

from __future__ import annotations

import sys
from pathlib import Path

for _dir in ("execute", "lab", "watch"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / _dir))
