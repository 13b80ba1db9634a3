"""Bad files give one clear error naming the file and the fix, in the API and the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

import labkit
from labkit.errors import NotASessionError, SessionError, SessionVersionError
from labkit.session.writer import ChannelSpec, SessionWriter, StreamSpec


def _session(path):
    spec = StreamSpec("f", "force", [ChannelSpec("fz", "N")], 1000.0)
    with SessionWriter(path, [spec]) as w:
        w.append("f", np.arange(20000, dtype=np.float32), np.arange(20000) / 1000.0)
    return path


def _bad_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("athlete felt fine\n")
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    newer = _session(tmp_path / "newer.h5")
    with h5py.File(newer, "r+") as f:
        f.attrs["format_version"] = 99
    truncated = tmp_path / "truncated.h5"
    shutil.copy(_session(tmp_path / "good.h5"), truncated)
    with open(truncated, "r+b") as fh:
        fh.truncate(truncated.stat().st_size // 2)
    garbage = tmp_path / "garbage.h5"
    good = (tmp_path / "good.h5").read_bytes()
    garbage.write_bytes(good[:8] + b"\xff" * (len(good) - 8))
    return {
        "text": (text, NotASessionError, "not an HDF5 file"),
        "empty": (empty, NotASessionError, "file is empty"),
        "foreign": (foreign, NotASessionError, "another format"),
        "newer": (newer, SessionVersionError, "version 99 is newer"),
        "truncated": (truncated, SessionError, "truncated or damaged"),
        "garbage": (garbage, SessionError, "truncated or damaged"),
        "missing": (tmp_path / "nope.h5", SessionError, "no such file"),
        "directory": (tmp_path, SessionError, "is a directory"),
    }


@pytest.mark.parametrize("kind", ["text", "empty", "foreign", "newer", "truncated", "garbage",
                                  "missing", "directory"])
def test_open_session_explains_bad_files(tmp_path, kind):
    path, error, words = _bad_files(tmp_path)[kind]
    with pytest.raises(error, match=words) as info:
        labkit.open_session(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


@pytest.mark.parametrize("kind", ["text", "foreign", "newer", "truncated", "garbage"])
def test_cli_inspect_prints_one_line_and_exits_non_zero(tmp_path, kind):
    path, _, words = _bad_files(tmp_path)[kind]
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "inspect", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("labkit: error: ") and words in lines[0]
    assert "Traceback" not in run.stderr


def test_debug_shows_the_traceback(tmp_path):
    path, _, _ = _bad_files(tmp_path)["text"]
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "--debug", "inspect", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "Traceback" in run.stderr


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("kind", ["text", "empty", "foreign", "newer", "truncated", "garbage",
                                  "missing", "directory"])
def test_cli_repair_refuses_what_is_not_a_labkit_session(tmp_path, kind, force):
    """`labkit repair` said "the session is clean; nothing to repair" (exit 0) for an HDF5 file
    of another format; it refuses it like every other command, and leaves it untouched."""
    files = _bad_files(tmp_path)
    path, _, words = files[kind]
    before = sorted(p.name for p in tmp_path.iterdir())
    content = path.read_bytes() if path.is_file() else None
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "repair", str(path),
                          *(["--force"] if force else [])],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("labkit: error: ") and words in lines[0] and str(path) in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .repairing, no .crashed
    if content is not None:
        assert path.read_bytes() == content
