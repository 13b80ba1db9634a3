"""Writing an output file so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def _create_beside(out: Path, suffix: str) -> Path:
    """Create an empty, new file beside ``out`` with the permissions of any new file.

    Not ``tempfile.mkstemp``: it creates files ``-rw-------`` whatever the umask, and the
    temporary file *becomes* the output. ``os.open(..., 0o666)`` lets the kernel apply the
    umask, as for any file a program writes (``-rw-r--r--`` with umask 022).
    """
    for _ in range(100):
        tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}{suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{out.parent}: could not create a temporary file beside {out.name}")


@contextlib.contextmanager
def replaced_atomically(out: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``out``; when the block succeeds it replaces ``out``.

    A failed or interrupted write leaves ``out`` as it was and removes the temporary file
    (a reader never sees a half-written import or export). ``suffix`` is the temporary
    file's ending, for writers that insist on one (ezc3d adds ``.c3d`` otherwise). The
    output gets the permissions the umask gives new files (0644 with umask 022).
    """
    out = Path(out)
    tmp = _create_beside(out, suffix)
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
