"""Writing an output file so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replaced_atomically(out: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``out``; when the block succeeds it replaces ``out``.

    A failed or interrupted write leaves ``out`` as it was and removes the temporary file
    (a reader never sees a half-written import or export). ``suffix`` is the temporary
    file's ending, for writers that insist on one (ezc3d adds ``.c3d`` otherwise).
    """
    out = Path(out)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
