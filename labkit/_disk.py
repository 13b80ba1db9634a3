"""Disk space and failed writes: free bytes, sizes for people, the errno of an h5py error."""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

#: errno values that mean "this disk cannot take more": the user must free space or move
FULL = (errno.ENOSPC, errno.EDQUOT)


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Bytes free for this user on the file system holding ``path`` (None if unknown)."""
    p = Path(path).absolute()
    for folder in (p, *p.parents):
        if folder.is_dir():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def human_bytes(n: float | None) -> str:
    """``1536000`` -> ``"1.5 MB"`` (decimal units, as disk tools and file managers show)."""
    if n is None:
        return "unknown space"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"  # pragma: no cover


def error_errno(exc: BaseException) -> int | None:
    """The errno of a failed write: ``OSError.errno``, or the one h5py puts in its message.

    h5py raises ``RuntimeError('Unable to synchronously flush file (file write failed: ...,
    errno = 28, error message = 'No space left on device', ...)')`` for a failed flush and
    ``OSError`` with or without ``errno`` for other failed writes.
    """
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code > 0:
        return code
    match = re.search(r"errno = (\d+)", str(exc))
    return int(match.group(1)) if match else None


def errno_label(code: int | None) -> str:
    """``28`` -> ``"ENOSPC"``."""
    return errno.errorcode.get(code, f"errno {code}") if code else "unknown errno"
