"""Opening session files with clear errors, and table <-> compound dataset helpers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from labkit.errors import NotASessionError, SessionError, SessionVersionError
from labkit.session import format as fmt

log = logging.getLogger(__name__)

_REPAIR_HINT = "run `labkit repair {path}` to make it a normal file (a backup is kept)"


def open_h5(path: str | os.PathLike[str], mode: str = "r") -> h5py.File:
    """Open a labkit session file, translating every failure into one clear line.

    Read mode uses SWMR so that files still being written, and files whose writer was
    killed, open too.
    """
    p = Path(path)
    if not p.exists():
        raise SessionError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise SessionError(f"{p}: is a directory, not a session file; pass a .h5 file")
    if p.stat().st_size == 0:
        raise NotASessionError(f"{p}: file is empty, not a labkit session (HDF5) file")
    if not h5py.is_hdf5(p):
        raise NotASessionError(
            f"{p}: not an HDF5 file (no HDF5 signature); pass a labkit session .h5 file"
        )
    try:
        # A plain open first: it runs HDF5's full checks (e.g. a file shorter than its
        # superblock says). Only files flagged as open for writing (a live or killed SWMR
        # writer) are opened for SWMR reading, which skips those checks.
        f = h5py.File(p, mode, libver="latest") if mode != "r" else h5py.File(p, "r")
    except (OSError, RuntimeError, ValueError) as exc:
        msg = str(exc)
        live = "already open for write" in msg or "consistency flags" in msg
        # a SWMR writer stopped by a full disk or a file-size limit may leave the file
        # shorter than its superblock says (space allocated, never written); what it
        # committed lies before that end, and a SWMR read opens it
        live = live or ("truncated file" in msg and _flagged_swmr_write(p))
        if mode == "r" and live:
            try:
                f = h5py.File(p, "r", libver="latest", swmr=True)
            except (OSError, RuntimeError, ValueError) as exc2:
                raise SessionError(
                    f"{p}: HDF5 file is damaged ({_first_line(str(exc2))}); if it was being "
                    f"recorded, {_REPAIR_HINT.format(path=p)}"
                ) from exc2
        elif live:
            raise SessionError(
                f"{p}: the session was not closed cleanly (recording in progress or the "
                f"recorder crashed); {_REPAIR_HINT.format(path=p)}"
            ) from exc
        else:
            raise SessionError(
                f"{p}: HDF5 file is truncated or damaged ({_first_line(msg)}); if it was "
                f"being recorded, keep the file and report it"
            ) from exc
    try:
        check_format(f, p)
    except Exception:
        f.close()
        raise
    return f


def release_failed(f: h5py.File | None) -> None:
    """Close an HDF5 file after a failed write (disk full), without writing to it again.

    The safe sequence, found on a full tmpfs and under a file-size limit: after a failed
    write, ``File.close()`` fails too (``H5Fclose`` flushes the metadata and chunk caches,
    which fail again, then truncates the file to its allocated size), leaves the file's
    objects half closed, and the process dies at exit with SIGSEGV in HDF5's shutdown;
    leaving the file open ends the same way. So:

    1. the real file is extended (``ftruncate``: a sparse hole, no data, no disk space) to
       the end HDF5 has allocated, when it is shorter: the superblock written before the
       failure may already name that end, and HDF5 refuses to open a file shorter than
       its superblock says ("truncated file");
    2. HDF5's own file descriptor (the sec2 driver's, ``get_vfd_handle()``) is pointed at
       a scratch sink with ``dup2``, which closes the real file. The sink is an anonymous
       in-memory file (``memfd``), which takes writes and ``ftruncate`` at any offset and
       costs only what HDF5 still flushes; under a file-size limit that cannot be lifted
       (``ulimit -f`` sets the hard limit too, and a memfd obeys it) it is ``/dev/null``,
       which takes writes at any offset (HDF5's closing ``ftruncate`` is not needed there:
       tested under hard limits of 1-6 MB);
    3. ``close()`` flushes into the sink and succeeds. A soft file-size limit is lifted to
       the hard limit for steps 1 and 3 only.

    If the file stays shorter than its superblock says (a hard limit: step 1 fails),
    :func:`open_h5` still opens it, for SWMR reading, since its SWMR-write flag is set.

    The file on disk keeps exactly what it held when the write failed: its SWMR metadata
    is consistent and ``/committed`` still names the rows of the last successful commit,
    so readers see an exact prefix; its "open for writing" flag stays set, so
    ``labkit repair`` makes it a normal file later (on a disk with space). No other h5py
    call may touch the file between the failed write and this one.
    """
    if f is None:
        return
    try:
        if not f.id.valid:
            return
        name = f.filename
        fd = f.id.get_vfd_handle()
    except Exception:  # an invalid file, or a driver without a descriptor: nothing to redirect
        name, fd = "?", None
    with _file_size_limit_lifted() as unlimited:
        if isinstance(fd, int) and fd >= 0:
            try:  # the superblock may already name space the failed write did not fill
                allocated = int(f.id.get_filesize())  # max(end of allocation, end of file)
                if os.fstat(fd).st_size < allocated:
                    os.ftruncate(fd, allocated)  # a hole: no data written, no space needed
            except (OSError, RuntimeError, ValueError) as exc:
                log.debug("extending %s to its allocated size: %s", name, exc)
            sink = (os.memfd_create("labkit-failed-h5", os.MFD_CLOEXEC)
                    if unlimited and hasattr(os, "memfd_create") else os.open(os.devnull, os.O_RDWR))
            try:
                os.dup2(sink, fd, inheritable=False)
            finally:
                os.close(sink)
        try:
            f.close()
        except Exception as exc:  # nothing more can be done: the real file is closed already
            log.debug("closing %s after a failed write: %s", name, exc)


@contextmanager
def _file_size_limit_lifted() -> Iterator[bool]:
    """Raise the soft RLIMIT_FSIZE to the hard limit for the block; yields True when files
    may then grow without limit (always, where there is no RLIMIT_FSIZE)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        yield True
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft == hard:
        yield hard == resource.RLIM_INFINITY
        return
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    try:
        yield hard == resource.RLIM_INFINITY
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SWMR_WRITE_FLAGS = 0x01 | 0x04  # superblock v3 consistency flags: open for write, for SWMR write


def _flagged_swmr_write(p: Path) -> bool:
    """True when the file's superblock (v3, ``libver="latest"``) says a SWMR writer has it
    open, or had it when it stopped (killed, or a failed write)."""
    try:
        with open(p, "rb") as fh:
            for base in (0, 512, 1024, 2048, 4096):  # where a superblock may start (user block)
                fh.seek(base)
                head = fh.read(12)
                if head[:8] == _HDF5_SIGNATURE:
                    return head[8] >= 3 and (head[11] & _SWMR_WRITE_FLAGS) == _SWMR_WRITE_FLAGS
    except OSError:
        return False
    return False


@contextmanager
def reading(path: Path, what: str) -> Iterator[None]:
    """Turn low-level HDF5 failures while reading into one clear SessionError."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        raise SessionError(
            f"{path}: cannot read {what}: the file is damaged ({_first_line(str(exc))})"
        ) from exc


def _first_line(msg: str) -> str:
    return msg.strip().splitlines()[0] if msg.strip() else "unknown HDF5 error"


def check_format(f: h5py.File, path: Path) -> None:
    name = f.attrs.get("format")
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    if name != fmt.FORMAT_NAME:
        raise NotASessionError(
            f"{path}: HDF5 file of another format (root attribute format={name!r}, expected "
            f"{fmt.FORMAT_NAME!r}); import it first or pass a labkit session"
        )
    version = f.attrs.get("format_version")
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise NotASessionError(
            f"{path}: root attribute format_version={version!r} is not an integer; the file is "
            "damaged or not a labkit session"
        ) from None
    if version > fmt.FORMAT_VERSION:
        raise SessionVersionError(
            f"{path}: session format version {version} is newer than this labkit reads "
            f"(<= {fmt.FORMAT_VERSION}); upgrade labkit (pip install -U labkit)"
        )
    if version < 1:
        raise NotASessionError(f"{path}: format_version={version} is invalid (expected >= 1)")


def attr_str(value: Any) -> Any:
    """Attributes as plain Python values (bytes decoded, numpy scalars unwrapped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [attr_str(v) for v in value.tolist()]
    return value


def committed_counts(f: h5py.File) -> dict[str, int]:
    """Row counts the writer committed, by dataset path."""
    if fmt.COMMIT_PATH not in f:
        return {}
    ds = f[fmt.COMMIT_PATH]
    ds.refresh()
    paths = [attr_str(p) for p in ds.attrs["paths"]]
    return dict(zip(paths, (int(v) for v in ds[()]), strict=True))


def table_to_frame(array: np.ndarray) -> pd.DataFrame:
    """Compound array -> DataFrame with UTF-8 strings decoded to ``str``."""
    columns = {}
    for name in array.dtype.names or ():
        col = array[name]
        if col.dtype.kind in ("S", "O"):
            col = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in col]
        columns[name] = col
    return pd.DataFrame(columns, columns=list(array.dtype.names or ()))


def frame_to_table(frame: pd.DataFrame, where: str) -> np.ndarray:
    """DataFrame -> compound array (numbers, booleans, UTF-8 strings; nothing pickled)."""
    vlen = h5py.string_dtype("utf-8")
    fields = []
    data = []
    for name in frame.columns:
        col = frame[name]
        kind = col.dtype.kind
        if kind == "b":
            fields.append((str(name), "?"))
            data.append(col.to_numpy(dtype=bool))
        elif kind in "iu":
            fields.append((str(name), "<i8"))
            data.append(col.to_numpy(dtype=np.int64))
        elif kind == "f":
            fields.append((str(name), "<f8"))
            data.append(col.to_numpy(dtype=np.float64))
        elif kind in ("O", "U", "T") or isinstance(col.dtype, pd.StringDtype):
            values = col.to_numpy(dtype=object)
            bad = [v for v in values if v is not None and not isinstance(v, str)
                   and not (isinstance(v, float) and np.isnan(v))]
            if bad:
                raise SessionError(
                    f"{where}: column {name!r} holds {type(bad[0]).__name__} values such as "
                    f"{bad[0]!r}; store numbers, booleans or strings only"
                )
            fields.append((str(name), vlen))
            data.append(np.array(["" if not isinstance(v, str) else v for v in values],
                                 dtype=object))
        else:
            raise SessionError(
                f"{where}: column {name!r} has dtype {col.dtype}; convert it to numbers, "
                "booleans or strings"
            )
    table = np.empty(len(frame), dtype=fields)
    for (name, _), values in zip(fields, data, strict=True):
        table[name] = values
    return table
