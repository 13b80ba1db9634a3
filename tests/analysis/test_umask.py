"""Exported and imported files get the permissions the umask gives any new file.

They were written beside the output with ``tempfile.mkstemp`` and renamed into place, so
they came out ``-rw-------`` whatever the umask: a lab's shared folder could not read them.
"""

from __future__ import annotations

import os
import stat

import pytest

CASES = [(0o022, 0o644), (0o077, 0o600)]


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("mask", "mode"), CASES)
def test_c3d_export_and_import_honour_the_umask(tmp_path, umask, mask, mode):
    pytest.importorskip("ezc3d", reason="ezc3d is the optional extra for C3D files (labkit[c3d])")
    import warnings

    from labkit.analysis.c3d import export_c3d, import_c3d
    from tests.analysis.test_c3d import _small_session

    umask(mask)
    session, _ = _small_session(tmp_path / "s.h5")
    assert _mode(session) == mode  # the session writer always did
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # placeholder/strings notes of the export
        c3d = export_c3d(session, tmp_path / "s.c3d")
    assert _mode(c3d) == mode
    imported = import_c3d(c3d, tmp_path / "back.h5")
    assert _mode(imported) == mode


@pytest.mark.parametrize(("mask", "mode"), CASES)
def test_xdf_import_honours_the_umask(tmp_path, umask, mask, mode):
    pytest.importorskip("pyxdf")
    from labkit.analysis.xdf import import_xdf
    from tests.analysis.test_xdf import write_recording

    umask(mask)
    xdf = tmp_path / "rec.xdf"
    write_recording(xdf)
    out = import_xdf(xdf, tmp_path / "rec.h5")
    assert _mode(out) == mode


def test_xdf_import_onto_a_full_disk_says_so_in_one_line(tmp_path):
    """`labkit import` whose output cannot grow (a real file-size limit): one line naming
    the output, exit 2, no crash, no temporary file left."""
    pytest.importorskip("pyxdf")
    import subprocess
    import sys

    from tests.analysis.test_xdf import write_recording
    from tests.disk import limit_file_size

    xdf = tmp_path / "rec.xdf"
    write_recording(xdf)  # 7 MB; its session is 29 MB
    out = tmp_path / "rec.h5"
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "import", str(xdf), "-o", str(out)],
                         capture_output=True, text=True, timeout=120,
                         preexec_fn=limit_file_size(8_000_000, hard=True))
    assert run.returncode == 2, run.stderr[-2000:]
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"labkit: error: {out}: cannot write it: ") and "EFBIG" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.xdf"]
