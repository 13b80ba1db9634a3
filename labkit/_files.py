"""Writing an output file so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from labkit.errors import ConfigError, LabkitError

_FOLDER_PROBLEMS = {
    errno.ENOENT: "no such folder; create it or choose another path",
    errno.ENOTDIR: "not a folder; choose another path",
    errno.EACCES: "permission denied; choose another path or check its permissions",
    errno.EPERM: "permission denied; choose another path or check its permissions",
    errno.EROFS: "read-only file system; choose another path",
}


@contextlib.contextmanager
def replaced_atomically(out: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``out``; when the block succeeds it replaces ``out``.

    A failed or interrupted write leaves ``out`` as it was and removes the temporary file
    (a reader never sees a half-written import or export). ``suffix`` is the temporary
    file's ending, for writers that insist on one (ezc3d adds ``.c3d`` otherwise).

    The temporary file is never named in an error: a folder that cannot take it raises
    :class:`~labkit.errors.ConfigError` naming ``out``, and a labkit error or an
    :class:`OSError` about the temporary file from the block names ``out`` instead.
    """
    out = Path(out)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix, dir=out.parent)
    except OSError as exc:
        problem = _FOLDER_PROBLEMS.get(exc.errno, f"{(exc.strerror or str(exc)).lower()}")
        raise ConfigError(f"{out}: cannot write into {out.parent}: {problem}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, out)
    except LabkitError as exc:
        if len(exc.args) == 1 and isinstance(exc.args[0], str):
            exc.args = (exc.args[0].replace(str(tmp), str(out)).replace(tmp.name, out.name),)
        raise
    except OSError as exc:
        for attr in ("filename", "filename2"):
            if getattr(exc, attr, None) in (str(tmp), tmp):
                setattr(exc, attr, str(out))
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
