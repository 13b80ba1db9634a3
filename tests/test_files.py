"""labkit._files.replaced_atomically: the output appears whole or not at all."""

from __future__ import annotations

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
        raise OSError(28, "No space left on device", str(tmp))
    assert exc.value.filename == str(out) and exc.value.errno == 28
    assert sorted(p.name for p in tmp_path.iterdir()) == []
