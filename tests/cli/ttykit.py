"""Run the real CLI on a pseudo-terminal (80 columns) and answer its prompt, as an operator would."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path


def run_on_tty(
    *args: str, state: Path, answer: bytes, prompt: bytes = b"[y/N]: ", timeout: float = 300
) -> tuple[int, str]:
    """Exit code and everything the terminal showed; ``answer`` is typed once ``prompt`` appears."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 80, 0, 0))
    env = {**os.environ, "ISOLATE_STATE_DIR": str(state), "TERM": "dumb", "COLUMNS": "80"}
    proc = subprocess.Popen([sys.executable, "-m", "isolate", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=env, close_fds=True)
    os.close(slave)
    shown, sent = b"", False
    deadline = time.monotonic() + timeout  # a safety net only: the loop ends when the CLI does
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the CLI closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not sent and prompt in shown:
                os.write(master, answer)
                sent = True
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        os.close(master)
    return proc.returncode, shown.decode(errors="replace").replace("\r\n", "\n")
