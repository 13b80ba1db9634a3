"""Writing an output file so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from labkit._disk import FULL, errno_label, error_errno, free_bytes, human_bytes
from labkit.errors import SessionWriteError


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

    A write that fails because the disk is full (or the file-size limit is reached)
    raises :class:`~labkit.errors.SessionWriteError` naming ``out``, the free space and
    the fix (not the temporary file, which is gone).
    """
    out = Path(out)
    tmp = _create_beside(out, suffix)
    try:
        yield tmp
        os.replace(tmp, out)
    except (OSError, RuntimeError, SessionWriteError) as exc:
        code = error_errno(exc)
        if code not in FULL and code != errno.EFBIG:
            raise
        folder = out.absolute().parent
        cause = ("the file-size limit (`ulimit -f`) or the file system's largest file was reached"
                 if code == errno.EFBIG else "the disk is full")
        kept = f"the old {out.name} is unchanged" if out.exists() else f"no {out.name} was made"
        raise SessionWriteError(
            f"{out}: cannot write it: {cause} ({errno_label(code)}; "
            f"{human_bytes(free_bytes(folder))} free on {folder}); nothing was written ({kept}); "
            "free space there or write it to another disk", path=out, errno=code) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
