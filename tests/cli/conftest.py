"""Real files for the command-line tests: a synthetic session (written by the library's own
writer, no LSL), a C3D file exported from it, and an XDF recording with known clocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.cli import main


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """``labkit ARGS`` in this process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="session")
def session_h5(tmp_path_factory) -> Path:
    from labkit.demo import write_demo_session

    return write_demo_session(tmp_path_factory.mktemp("cli-session") / "s.h5")


@pytest.fixture(scope="session")
def c3d_file(session_h5, tmp_path_factory) -> Path:
    pytest.importorskip("ezc3d", reason="ezc3d is the test extra for C3D files")
    import warnings

    from labkit.analysis.c3d import export_c3d

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the demo plate has no stored geometry
        return export_c3d(session_h5, tmp_path_factory.mktemp("cli-c3d") / "s.c3d")


@pytest.fixture(scope="session")
def xdf_file(tmp_path_factory) -> Path:
    pytest.importorskip("pyxdf", reason="pyxdf is the test extra for XDF files")
    from tests.analysis.test_xdf import write_recording

    path = tmp_path_factory.mktemp("cli-xdf") / "rec.xdf"
    write_recording(path)
    return path
