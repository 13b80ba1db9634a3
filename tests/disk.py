"""Real write failures for the disk-full tests: a small tmpfs, or a file-size limit.

* :func:`small_tmpfs` mounts a tmpfs of a few MB (needs root and a sandbox that allows
  ``mount``): writes fail with ENOSPC exactly as on a full disk.
* :func:`file_size_limit` / :func:`limit_file_size` set ``RLIMIT_FSIZE`` (with SIGXFSZ
  ignored, so the write fails with EFBIG instead of the signal killing the process): a
  kernel limit at the same system-call boundary, available everywhere on Linux/macOS.

Nothing of labkit (or h5py) is mocked: HDF5's own ``write(2)`` calls fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

resource = pytest.importorskip("resource", reason="RLIMIT_FSIZE needs a POSIX system")


def mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` at ``where``; the reason it cannot, or None."""
    if os.name != "posix" or shutil.which("mount") is None:
        return "no mount command"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    where.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                         capture_output=True, text=True)
    return None if run.returncode == 0 else f"mount -t tmpfs refused: {run.stderr.strip()}"


def resize_tmpfs(where: Path, size: str) -> None:
    """Give a mounted tmpfs more room ("freeing space")."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` for the block; skips the test if it cannot."""
    reason = mount_tmpfs(where, size)
    if reason is not None:
        pytest.skip(f"no small tmpfs for a real full disk ({reason}); the RLIMIT_FSIZE "
                    "variant of this test covers the write failure")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def limit_file_size(limit_bytes: int, *, hard: bool = False):
    """A ``preexec_fn`` for subprocess: files of the child cannot grow past ``limit_bytes``.

    ``hard=True`` sets the hard limit too, as the shell's ``ulimit -f`` does: the child
    cannot lift it again.
    """

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death; kept across exec
        _, max_ = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes if hard else max_))

    return apply


@contextlib.contextmanager
def file_size_limit(limit_bytes: int) -> Iterator[None]:
    """In this process: no file grows past ``limit_bytes`` during the block (EFBIG)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
