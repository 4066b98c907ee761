"""Files named from event data, and files holding secrets: confined to their folder, private to the owner."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

from shared.errors import DataError

FILE_STEM: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,199}")
"""What an identifier must look like to become a file name: no separators, dots, spaces or controls."""


class UnsafePath(DataError, ValueError):
    """A name or path from outside would lead out of the folder it must stay in."""


def safe_stem(name: str) -> str:
    """Return ``name`` if it may be used as a file name stem, else raise ``UnsafePath``."""
    if not FILE_STEM.fullmatch(name):
        raise UnsafePath(f"not a safe file name: {name[:80]!r}")
    return name


def confined(root: Path, path: Path | str) -> Path:
    """Return ``path`` (relative to ``root`` unless absolute) resolved, if it lies inside ``root``.

    Symbolic links are resolved first, so a link inside ``root`` that points elsewhere is refused too.
    """
    base = root.resolve()
    resolved = (base / path).resolve()
    if not resolved.is_relative_to(base):
        raise UnsafePath(f"{str(path)[:200]!r} is outside {base}")
    return resolved


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by the owner only (0600), atomically.

    The file is created with mode 0600 before any byte is written (no window where it is readable),
    and replaces ``path`` in one rename, so readers never see half a file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            fd = -1
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
