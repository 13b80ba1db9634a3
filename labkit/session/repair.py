"""Turn a session whose recorder was killed into a normal, complete HDF5 file.

A killed SWMR writer leaves the file's "open for writing" flag set, so tools that do not
open it for SWMR reading (HDFView, plain ``h5py.File(path)``) refuse it. Repair copies
everything committed into a fresh file, cutting each table to its committed row count,
marks it ``status="recovered"`` and swaps it in atomically, keeping the original as a
backup (``<name>.h5.crashed``) unless told otherwise.

The copy is written beside the file, so it needs free space there (about the committed
data's size). On a full disk (a recording stopped by it) repair refuses before writing,
in one line: free space, or copy the file to a disk with space and repair the copy. A
disk that fills during the copy gives the same line and leaves the original untouched.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np

from labkit._disk import FULL, errno_label, error_errno, free_bytes, human_bytes
from labkit.errors import SessionError, SessionWriteError
from labkit.session import format as fmt
from labkit.session._h5 import attr_str, check_format, committed_counts, open_h5, release_failed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepairReport:
    """What :func:`repair_session` did."""

    path: Path
    repaired: bool
    backup: Path | None
    rows_kept: dict[str, int] = field(default_factory=dict)
    rows_dropped: dict[str, int] = field(default_factory=dict)
    message: str = ""


def needs_repair(path: str | os.PathLike[str]) -> bool:
    """True when the file cannot be opened as a normal HDF5 file or was never closed."""
    try:
        with h5py.File(path, "r") as f:
            return attr_str(f.attrs.get("status", "")) == fmt.STATUS_RECORDING
    except OSError:
        return True


def repair_session(path: str | os.PathLike[str], *, backup: bool = True,
                   force: bool = False) -> RepairReport:
    """Repair a session left open by a crashed or killed recorder.

    Parameters
    ----------
    path : str or Path
        The session file.
    backup : bool
        Keep the original file as ``<path>.crashed``.
    force : bool
        Repair even when the file looks clean (rewrites it in place).

    Returns
    -------
    RepairReport

    Notes
    -----
    Do not repair a file that a recorder is still writing: the copy would be a snapshot
    and the recorder would go on writing into the backup.
    """
    p = Path(path)
    # refuse what is not a labkit session (not HDF5, another format, a newer version, a
    # damaged file) with the one-line error every command gives, before looking further
    open_h5(p, "r").close()
    if not force and not needs_repair(p):
        return RepairReport(p, False, None, message="the session is clean; nothing to repair")
    src = open_h5(p, "r")  # SWMR read: opens even with the writer's flag still set
    tmp = p.with_name(p.name + ".repairing")
    kept: dict[str, int] = {}
    dropped: dict[str, int] = {}
    dst = None
    try:
        committed = committed_counts(src)
        need = _copy_bytes(src)
        free = free_bytes(p.parent)
        if free is not None and free < need:
            raise SessionWriteError(_no_space(p, free, need, None), path=p, errno=errno.ENOSPC)
        try:
            dst = h5py.File(tmp, "w", libver="latest")
            for key, value in src.attrs.items():
                dst.attrs[key] = value
            for name in src:
                src.copy(src[name], dst, name=name)
            for path_, n in committed.items():
                targets = [path_]
                if path_.endswith("/data"):
                    targets.append(path_[: -len("data")] + "time_stamps")
                for target in targets:
                    ds = dst[target]
                    extent = ds.shape[0]
                    keep = min(extent, n)
                    if keep < extent:
                        ds.resize(keep, axis=0)
                    kept[target] = keep
                    dropped[target] = extent - keep
            dst[fmt.COMMIT_PATH][...] = np.array(
                [kept.get(k, 0) for k in committed], dtype="<i8"
            )
            if attr_str(dst.attrs.get("status", "")) == fmt.STATUS_RECORDING:
                dst.attrs["status"] = fmt.STATUS_RECOVERED
            dst.attrs["repaired_utc"] = datetime.now(UTC).isoformat(timespec="microseconds")
            check_format(dst, p)
            dst.close()
        except (OSError, RuntimeError) as exc:  # the disk filled while writing the copy
            code = error_errno(exc)
            if code not in FULL and code != errno.EFBIG:
                raise
            release_failed(dst)  # a plain close would fail again and crash the process at exit
            dst = None
            raise SessionWriteError(_no_space(p, free_bytes(p.parent), need, code), path=p,
                                    errno=code) from exc
    except BaseException:
        if dst is not None:
            release_failed(dst)
        src.close()
        tmp.unlink(missing_ok=True)
        raise
    src.close()
    backup_path = p.with_name(p.name + ".crashed") if backup else None
    try:
        if backup_path is not None:
            os.replace(p, backup_path)
        os.replace(tmp, p)
    except OSError as exc:
        raise SessionError(
            f"{p}: repaired copy written to {tmp} but could not be moved into place ({exc}); "
            "move it by hand"
        ) from exc
    n_dropped = sum(dropped.values())
    msg = (f"repaired: kept everything committed up to the last flush; {n_dropped} "
           "uncommitted rows dropped")
    log.info("%s: %s", p, msg)
    return RepairReport(p, True, backup_path, kept, dropped, msg)


def _copy_bytes(src: h5py.File) -> int:
    """Bytes the repaired copy needs: the copy takes every dataset whole before cutting the
    growing ones to their committed rows, so their storage, plus 2 % and 256 kB for HDF5's
    own structures."""
    total = 0

    def add(name: str, obj: object) -> None:
        nonlocal total
        if isinstance(obj, h5py.Dataset):
            total += obj.id.get_storage_size()

    src.visititems(add)
    return int(total * 1.02) + 256_000


def _no_space(p: Path, free: int | None, need: int, code: int | None) -> str:
    during = ("the disk filled while writing the repaired copy" if code is not None
              else "not enough space for the repaired copy")
    return (f"{p}: cannot repair it in place: {during} ({human_bytes(free)} free on "
            f"{p.absolute().parent}, about {human_bytes(need)} needed"
            f"{'; ' + errno_label(code) if code is not None else ''}); free space there, or copy "
            f"the file to a disk with space and run `labkit repair COPY` on the copy (the "
            "original is unchanged)")
