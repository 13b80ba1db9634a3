"""Room on disk for a session: the estimate and warning before recording, the refusal
before HDF5 starts, and the one-line message of a write that failed (a full disk, a quota,
a file-size limit, an I/O error). See ``docs/session-format.md``, "A full disk".
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labkit._disk import FULL, errno_label, error_errno, free_bytes, human_bytes
from labkit.errors import LowDiskSpaceWarning
from labkit.session._stream_writer import _chunk_rows
from labkit.spec import StreamSpec

#: free space (and file-size limit) below which a new session is refused before HDF5 starts
_MIN_ROOM_BYTES = 1_000_000


def _file_size_limit() -> int | None:
    """The soft RLIMIT_FSIZE in bytes (``ulimit -f``), None when unlimited or unknown."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def no_room_errno(path: Path) -> int | None:
    """ENOSPC or EFBIG when the disk (or the file-size limit) has no room for even the layout
    of a new session at ``path``, else None."""
    folder = path.absolute().parent
    free = free_bytes(folder)
    limit = _file_size_limit()
    if free is not None and free < _MIN_ROOM_BYTES:
        return errno.ENOSPC
    if limit is not None and limit < _MIN_ROOM_BYTES:
        return errno.EFBIG
    return None


def write_failure_message(path: Path, exc: BaseException, *, creating: bool, committed_s: float,
                          protocol: str) -> str:
    """The one-line message of a failed write: cause, errno, free space, what stays, the fix.

    ``committed_s`` is how long the writer had committed data (0: nothing committed yet).
    """
    code = error_errno(exc)
    folder = path.absolute().parent
    where = f"{human_bytes(free_bytes(folder))} free on {folder}"
    if code in FULL:
        cause = "the disk is full" if code == errno.ENOSPC else "the disk quota is used up"
        fix = "free space there or move the file to a disk with space"
    elif code == errno.EFBIG:
        cause = ("the file reached the largest size allowed (the file-size limit, "
                 "`ulimit -f`, or the file system's)")
        fix = "raise the limit or move the file to a file system that allows it"
    else:
        cause = os.strerror(code) if code else str(exc).strip().splitlines()[0]
        fix = "check the disk, or move the file to another one"
    if creating:
        return (f"{path}: cannot create the session file: {cause} "
                f"({errno_label(code)}; {where}); free space there or write the session to "
                "another disk")
    kept = (f"its first {committed_s:.1f} s (everything committed) stay "
            "readable" if committed_s > 0 else
            "nothing had been committed yet")
    resume = (f" (to continue the protocol run: `labkit run {protocol} --resume "
              f"{path}`, which repairs it first)" if protocol else "")
    return (f"{path}: cannot write the session: {cause} ({errno_label(code)}; {where}); "
            f"recording stopped, and {kept}; {fix}, then run `labkit repair {path}`{resume}")


def estimate_session_bytes(streams: Sequence[StreamSpec], duration_s: float, *,
                           flush_interval_s: float = 1.0) -> int:
    """Bytes a recording of ``streams`` for ``duration_s`` seconds needs on disk (uncompressed).

    Per regular stream: rate x (channels x sample size + 8 bytes of time stamp) x
    duration, plus one chunk of data and stamps allocated ahead; plus 256 kB for the
    layout, events and trials. Irregular streams (markers) are small and not counted.
    """
    total = 256_000
    for spec in streams:
        if spec.nominal_rate_hz <= 0:
            continue
        item = spec.max_string_bytes if spec.is_string else np.dtype(spec.dtype).itemsize
        row = len(spec.channels) * item + 8
        ahead = _chunk_rows(spec.nominal_rate_hz, row, flush_interval_s, False) * row
        total += math.ceil(spec.nominal_rate_hz * max(0.0, duration_s) * row) + ahead
    return total


def warn_if_low_space(path: str | os.PathLike[str], streams: Sequence[StreamSpec],
                      duration_s: float, *, flush_interval_s: float = 1.0) -> bool:
    """Warn (:class:`~labkit.errors.LowDiskSpaceWarning`) when the disk of ``path`` cannot
    hold ``duration_s`` seconds of ``streams``; returns True if it warned."""
    import warnings

    need = estimate_session_bytes(streams, duration_s, flush_interval_s=flush_interval_s)
    folder = Path(path).absolute().parent
    free = free_bytes(folder)
    if free is None or free >= need:
        return False
    per_s = estimate_session_bytes(streams, 1.0, flush_interval_s=flush_interval_s) - \
        estimate_session_bytes(streams, 0.0, flush_interval_s=flush_interval_s)
    lasts = max(0.0, (free - (need - per_s * duration_s)) / per_s) if per_s > 0 else 0.0
    warnings.warn(LowDiskSpaceWarning(
        f"{path}: only {human_bytes(free)} free on {folder}, but {duration_s:g} s of these "
        f"{len(streams)} streams need about {human_bytes(need)} ({human_bytes(per_s)}/s): the "
        f"disk fills after about {lasts:.0f} s and the recording stops there; free space or "
        "record to another disk"), stacklevel=2)
    return True
