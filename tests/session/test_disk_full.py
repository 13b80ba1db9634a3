"""A session writer on a disk that fills up (a real full tmpfs, or a real file-size limit).

Before: the flush raised h5py's RuntimeError, every later call raised again, closing the
file failed ("Can't decrement id ref count"), and the process died at exit with SIGSEGV
in HDF5's shutdown; `labkit repair` on the full disk failed with an unexpected OSError.
Now the first failed write stops the writer with one line (file, free space, the fix),
nothing is written to the file after it, the process exits normally, everything
committed before is an exact prefix, and repair says where to repair it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import labkit
from labkit.errors import LowDiskSpaceWarning, SessionWriteError
from labkit.session.repair import repair_session
from labkit.session.writer import estimate_session_bytes, warn_if_low_space
from tests.disk import limit_file_size, resize_tmpfs, small_tmpfs

from .streams import block, lab_streams

REPO = Path(__file__).resolve().parents[2]
LIMIT = 1_500_000


def _child(mode: str, path: Path, limit: int | None = None, *, hard: bool = False) -> dict:
    """Run the child; ``limit``: RLIMIT_FSIZE (soft, or soft and hard like ``ulimit -f``)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-m", "tests.session.disk_full_child", mode, str(path)],
                         capture_output=True, text=True, timeout=120, cwd=REPO, env=env,
                         preexec_fn=limit_file_size(limit, hard=hard) if limit else None)
    # no traceback, no HDF5 error dump, no crash at exit (SIGSEGV was -11)
    assert run.returncode == 0, (run.returncode, run.stderr[-3000:])
    assert run.stderr == "", run.stderr[-3000:]
    return json.loads(run.stdout)


def _check_prefix(path: Path, committed: dict) -> None:
    """The file holds exactly the rows of the last successful flush, as appended."""
    with labkit.open_session(path) as s:
        for spec in lab_streams():
            st = s.stream(spec.name)
            n = committed[spec.name]
            assert n > 0 and st.n_samples == n, (spec.name, st.n_samples, n)
            data, stamps = block(spec, 0, n)
            np.testing.assert_array_equal(st.raw_times, stamps)
            if spec.is_string:
                assert st.data[:, 0].tolist() == data[:, 0].tolist()
            else:
                np.testing.assert_array_equal(st.data, data)
        assert s.events["value"].tolist() == [str(i) for i in range(committed["events"])]


def _check_message(result: dict, path: Path, code: int, words: str) -> str:
    msg = result["error"]
    assert "\n" not in msg and msg.startswith(f"{path}: cannot write the session: {words}")
    assert errno.errorcode[code] in msg and "free on" in msg
    assert f"then run `labkit repair {path}`" in msg
    assert f"`labkit run imtp --resume {path}`" in msg  # the writer was given protocol="imtp"
    assert result["errno"] == code
    assert result["same_after"] == [True, True, True] and result["closed"]
    return msg


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("hard", [False, True], ids=["soft-limit", "hard-limit"])
@pytest.mark.parametrize("limit", [LIMIT, 2_345_678])
def test_file_size_limit_stops_the_writer_with_an_exact_prefix(tmp_path, limit, hard):
    """A hard limit (``ulimit -f``) cannot be lifted to close the file: the file may stay
    shorter than its superblock says, and still opens (SWMR read of a flagged file)."""
    path = tmp_path / "limited.h5"
    result = _child("fill", path, limit, hard=hard)
    _check_message(result, path, errno.EFBIG, "the file reached the largest size allowed")
    _check_prefix(path, result["committed"])
    report = repair_session(path)  # no limit here: repair works in place
    assert report.repaired
    _check_prefix(path, result["committed"])
    with labkit.open_session(path) as s:
        assert s.status == "recovered"


def test_full_tmpfs_stops_the_writer_and_repair_says_where_to_repair(tmp_path):
    with small_tmpfs(tmp_path / "disk", "2m") as disk:
        path = disk / "full.h5"
        result = _child("fill", path)
        msg = _check_message(result, path, errno.ENOSPC, "the disk is full")
        assert "free space there or move the file to a disk with space" in msg
        _check_prefix(path, result["committed"])  # readable on the full disk already
        before = _sha(path)
        # repair on the full disk: one line, nothing written, the file untouched
        run = subprocess.run([sys.executable, "-m", "labkit.cli", "repair", str(path)],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, run.stderr
        (line,) = run.stderr.strip().splitlines()
        assert line.startswith(f"labkit: error: {path}: cannot repair it in place")
        assert "free on" in line and "run `labkit repair COPY` on the copy" in line
        assert sorted(p.name for p in disk.iterdir()) == ["full.h5"] and _sha(path) == before
        # elsewhere: copy to a disk with space and repair the copy
        copy = tmp_path / "copy.h5"
        shutil.copy(path, copy)
        assert repair_session(copy).repaired
        _check_prefix(copy, result["committed"])
        # or free space and repair in place
        resize_tmpfs(disk, "16m")
        assert repair_session(path).repaired
        _check_prefix(path, result["committed"])


@pytest.mark.parametrize("kind", ["limit", "tmpfs"])
def test_a_session_that_cannot_even_be_created(tmp_path, kind):
    if kind == "limit":
        path = tmp_path / "tiny.h5"
        result = _child("create", path, 100_000)
        words = "the file reached the largest size allowed"
    else:
        with small_tmpfs(tmp_path / "disk", "1m") as disk:
            filler = disk / "filler"
            with open(filler, "wb") as fh, pytest.raises(OSError):
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            path = disk / "new.h5"
            result = _child("create", path)
            assert not path.exists()  # an empty layout is not left behind
        words = "the disk is full"
    msg = result["error"]
    assert msg.startswith(f"{path}: cannot create the session file: {words}") and "\n" not in msg
    assert "free on" in msg and "another disk" in msg


def test_low_space_warning_names_the_space_and_the_duration(tmp_path):
    specs = lab_streams()
    per_s = estimate_session_bytes(specs, 1.0) - estimate_session_bytes(specs, 0.0)
    # force 12 x f64, EMG 16 x f32, mocap 60 x f32, counts 1 x i16: each with an 8-byte stamp
    assert per_s == pytest.approx(2000 * 104 + 2148.148 * 72 + 200 * 248 + 1000 * 10, rel=1e-3)
    free = shutil.disk_usage(tmp_path).free
    assert not warn_if_low_space(tmp_path / "s.h5", specs, 10.0)
    years = 2 * free / per_s  # more than this disk holds
    with pytest.warns(LowDiskSpaceWarning) as caught:
        assert warn_if_low_space(tmp_path / "s.h5", specs, years)
    (w,) = caught
    text = str(w.message)
    assert text.startswith(f"{tmp_path / 's.h5'}: only ") and "free on" in text and "\n" not in text
    assert f"{years:g} s of these 5 streams" in text


def test_errors_are_session_errors():
    assert issubclass(SessionWriteError, labkit.errors.SessionError)
