"""labkit._files.replaced_atomically: the output appears whole or not at all."""

from __future__ import annotations

import os
import stat

import pytest

from labkit._files import replaced_atomically
from labkit.errors import ConfigError, SessionError


def test_success_replaces_the_output_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "x.h5"
    out.write_text("old")
    with replaced_atomically(out) as tmp:
        assert tmp.parent == tmp_path and tmp != out
        tmp.write_text("new")
    assert out.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5"]


def test_failure_keeps_the_old_output_and_removes_the_temporary(tmp_path):
    out = tmp_path / "x.c3d"
    out.write_text("old")
    with pytest.raises(RuntimeError), replaced_atomically(out, suffix=".c3d") as tmp:
        assert tmp.suffix == ".c3d"
        tmp.write_text("half")
        raise RuntimeError("writer died")
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.c3d"]


def test_replaced_atomically_into_a_missing_folder_names_the_output(tmp_path):
    out = tmp_path / "missing" / "x.h5"
    with pytest.raises(ConfigError) as exc, replaced_atomically(out):
        pass
    assert str(exc.value) == (f"{out}: cannot write into {out.parent}: no such folder; create it or "
                              "choose another path")
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    with pytest.raises(ConfigError) as exc, replaced_atomically(not_a_folder / "x.h5"):
        pass
    assert str(exc.value) == (f"{not_a_folder / 'x.h5'}: cannot write into {not_a_folder}: not a "
                              "folder; choose another path")


def test_an_error_about_the_temporary_file_names_the_output(tmp_path):
    out = tmp_path / "x.h5"
    with pytest.raises(SessionError) as exc, replaced_atomically(out) as tmp:
        raise SessionError(f"{tmp}: disk full while writing stream 'emg'; free some space")
    assert str(exc.value) == f"{out}: disk full while writing stream 'emg'; free some space"
    with pytest.raises(OSError) as exc, replaced_atomically(out) as tmp:
        raise OSError(5, "Input/output error", str(tmp))
    assert exc.value.filename == str(out) and exc.value.errno == 5


@pytest.fixture
def umask():
    """Set the process umask for one test (and restore it)."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_the_output_honours_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    out = tmp_path / "x.c3d"
    with replaced_atomically(out, suffix=".c3d") as tmp:
        assert stat.S_IMODE(tmp.stat().st_mode) == mode  # writers that truncate keep it
        tmp.write_text("new")
    assert stat.S_IMODE(out.stat().st_mode) == mode


def test_a_full_disk_names_the_output_not_the_temporary(tmp_path):
    """A real write failure (EFBIG under RLIMIT_FSIZE): one line naming the output."""
    from labkit.errors import SessionWriteError
    from tests.disk import file_size_limit

    out = tmp_path / "x.csv"
    with pytest.raises(SessionWriteError) as info, file_size_limit(10_000), \
            replaced_atomically(out) as tmp, open(tmp, "wb") as fh:
        fh.write(b"\0" * 20_000)
    msg = str(info.value)
    assert msg.startswith(f"{out}: cannot write it: ") and "\n" not in msg
    assert "EFBIG" in msg and "free on" in msg and "no x.csv was made" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == []
