"""Writing an output file so that it appears whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from labkit._disk import FULL, errno_label, error_errno, free_bytes, human_bytes
from labkit.errors import ConfigError, LabkitError, SessionWriteError

_FOLDER_PROBLEMS = {
    errno.ENOENT: "no such folder; create it or choose another path",
    errno.ENOTDIR: "not a folder; choose another path",
    errno.EACCES: "permission denied; choose another path or check its permissions",
    errno.EPERM: "permission denied; choose another path or check its permissions",
    errno.EROFS: "read-only file system; choose another path",
}


def _create_beside(out: Path, suffix: str) -> Path:
    """Create an empty, new file beside ``out`` with the permissions of any new file.

    Not ``tempfile.mkstemp``: it creates files ``-rw-------`` whatever the umask, and the
    temporary file *becomes* the output. ``os.open(..., 0o666)`` lets the kernel apply the
    umask, as for any file a program writes (``-rw-r--r--`` with umask 022). A folder that
    cannot take it is a :class:`ConfigError` naming ``out``, never the temporary name.
    """
    for _ in range(100):
        tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}{suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            problem = _FOLDER_PROBLEMS.get(exc.errno, f"{(exc.strerror or str(exc)).lower()}")
            raise ConfigError(f"{out}: cannot write into {out.parent}: {problem}") from None
        os.close(fd)
        return tmp
    raise ConfigError(f"{out}: could not create a temporary file beside it in {out.parent}")


def _name_the_output(exc: BaseException, tmp: Path, out: Path) -> None:
    """Errors about the temporary file name the output instead (the temporary is gone)."""
    if isinstance(exc, LabkitError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        exc.args = (exc.args[0].replace(str(tmp), str(out)).replace(tmp.name, out.name),)
    elif isinstance(exc, OSError):
        for attr in ("filename", "filename2"):
            if getattr(exc, attr, None) in (str(tmp), tmp):
                setattr(exc, attr, str(out))


@contextlib.contextmanager
def replaced_atomically(out: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``out``; when the block succeeds it replaces ``out``.

    A failed or interrupted write leaves ``out`` as it was and removes the temporary file
    (a reader never sees a half-written import or export). ``suffix`` is the temporary
    file's ending, for writers that insist on one (ezc3d adds ``.c3d`` otherwise). The
    output gets the permissions the umask gives new files (0644 with umask 022).

    The temporary file is never named in an error: a folder that cannot take it raises
    :class:`~labkit.errors.ConfigError` naming ``out``; a write that fails because the disk
    is full (or the file-size limit is reached) raises
    :class:`~labkit.errors.SessionWriteError` naming ``out``, the free space and the fix;
    any other labkit error or :class:`OSError` about the temporary file names ``out``.
    """
    out = Path(out)
    tmp = _create_beside(out, suffix)
    try:
        yield tmp
        os.replace(tmp, out)
    except (OSError, RuntimeError, SessionWriteError) as exc:
        code = error_errno(exc)
        if code not in FULL and code != errno.EFBIG:
            _name_the_output(exc, tmp, out)
            raise
        folder = out.absolute().parent
        cause = ("the file-size limit (`ulimit -f`) or the file system's largest file was reached"
                 if code == errno.EFBIG else "the disk is full")
        kept = f"the old {out.name} is unchanged" if out.exists() else f"no {out.name} was made"
        raise SessionWriteError(
            f"{out}: cannot write it: {cause} ({errno_label(code)}; "
            f"{human_bytes(free_bytes(folder))} free on {folder}); nothing was written ({kept}); "
            "free space there or write it to another disk", path=out, errno=code) from exc
    except LabkitError as exc:
        _name_the_output(exc, tmp, out)
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
