"""labkit._files.replaced_atomically: the output appears whole or not at all."""

from __future__ import annotations

import pytest

from labkit._files import replaced_atomically


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
