"""Reading the files a user names (inventory, playbook, plan, secrets, Ansible inventory).

``read_input`` opens without blocking and refuses anything that is not a regular file (a
FIFO would hang, ``/dev/zero`` never ends) and anything larger than its limit; errors are
:class:`UnreadableFile` with the one-line reason (``Too many levels of symbolic links``,
``not a regular file (a FIFO)``, ``larger than 64 MiB``) for the caller to put after the
file name. ``expand_user`` expands ``~`` and ``~user`` and says so when the user does not
exist instead of raising ``RuntimeError``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from isolate.errors import InputError
from isolate.values import safe_repr

MAX_INPUT_BYTES: Final = 64 * 1024 * 1024
MAX_SECRET_BYTES: Final = 1024 * 1024
_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class UnreadableFile(Exception):
    """A file that cannot be used as input. ``str()`` is the reason, without the name."""


def expand_user(path: str | Path) -> Path:
    """``path`` with a leading ``~``/``~user`` expanded; UnreadableFile if that user is unknown."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        head = str(path).split("/", 1)[0]
        raise UnreadableFile(f"cannot expand {head!r}: no such user") from None


def _size_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


def read_input(path: str | Path, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(expand_user(path), flags)
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "a special file")
            raise UnreadableFile(f"not a regular file ({kind})")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UnreadableFile(f"larger than {_size_text(limit)}")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def user_path(path: str | Path, error_cls: type[InputError] = InputError) -> Path:
    """``expand_user`` for a path given by a user: an unknown ``~user`` is ``error_cls``
    (exit 2) naming the path."""
    try:
        return expand_user(path)
    except UnreadableFile as exc:
        raise error_cls(f"{display_path(path)}: {exc}") from None


def display_path(path: object) -> str:
    """A path as messages show it: as given, or escaped when it holds control characters."""
    text = str(path)
    return text if text.isprintable() else safe_repr(text, limit=200)
