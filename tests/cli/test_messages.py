"""What the CLI says names its own flags (--overwrite, --allow-truncated, --plate-convention,
...), not the Python keyword arguments of the library it calls, and never a temporary file."""

from __future__ import annotations

import re

import pytest

from .conftest import run_cli

KEYWORD = re.compile(r"\b(overwrite|allow_truncated|plate_convention|analog_rate_hz|test|side)=")


def _one_line(err: str) -> str:
    assert err.startswith("labkit: error: ") and len(err.splitlines()) == 1, err
    return err


def test_a_second_synthetic_demo_names_overwrite(capsys, tmp_path):
    out = tmp_path / "d.h5"
    assert run_cli(capsys, "demo", "--synthetic", "-o", out)[0] == 0
    code, _, err = run_cli(capsys, "demo", "--synthetic", "-o", out)
    assert code == 2 and "--overwrite" in _one_line(err) and not KEYWORD.search(err)


def test_record_over_an_existing_session_names_overwrite_without_waiting(capsys, tmp_path):
    out = tmp_path / "rec.h5"
    out.write_bytes(b"keep me")
    code, stdout, err = run_cli(capsys, "record", "-o", out)
    assert code == 2 and "waiting for streams" not in stdout
    assert "--overwrite" in _one_line(err) and not KEYWORD.search(err)


def test_a_truncated_xdf_names_allow_truncated(capsys, xdf_file, tmp_path):
    cut = tmp_path / "cut.xdf"
    raw = xdf_file.read_bytes()
    cut.write_bytes(raw[: int(len(raw) * 0.6)])
    code, _, err = run_cli(capsys, "import", cut, "-o", tmp_path / "cut.h5")
    assert code == 2 and "damaged XDF file" in _one_line(err)
    assert "pass --allow-truncated" in err
    assert run_cli(capsys, "import", cut, "-o", tmp_path / "cut.h5", "--allow-truncated")[0] == 0


@pytest.mark.parametrize("command", ["import", "export"])
def test_a_bad_plate_convention_names_the_flag(capsys, c3d_file, session_h5, tmp_path, command):
    args = (["import", c3d_file, "-o", tmp_path / "x.h5"] if command == "import"
            else ["export", session_h5, "-o", tmp_path / "x.c3d"])
    code, _, err = run_cli(capsys, *args, "--plate-convention", "sideways")
    assert code == 2
    assert _one_line(err) == ("labkit: error: --plate-convention 'sideways' is invalid; use 'reaction' "
                              "(the channels hold the force on the subject) or 'action' (the load on "
                              "the plate)\n")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("rate, words", [
    ("-5", "--analog-rate -5.0 is invalid; give a positive rate in Hz"),
    ("nan", "--analog-rate nan is invalid; give a positive rate in Hz"),
    ("2100", "--analog-rate 2100.0 (analog_rate_hz in Python) is not an integer multiple of the point "
             "rate 200.0 Hz"),
])
def test_a_bad_analog_rate_names_the_flag(capsys, session_h5, tmp_path, rate, words):
    code, _, err = run_cli(capsys, "export", session_h5, "-o", tmp_path / "x.c3d", "--analog-rate", rate)
    # (the session is read for the point rate: its warnings, one line each, come first)
    assert all(line.startswith("labkit: warning: ") for line in err.splitlines()[:-1])
    assert code == 2 and words in _one_line(err.splitlines()[-1])
    assert "analog_rate_hz=" not in err
    assert not (tmp_path / "x.c3d").exists()


@pytest.mark.parametrize("extra, words", [
    (["--test", "sprint"], "--test 'sprint' cannot be analysed from an imported file; use one of imtp, "),
    (["--test", "isometric_hip_flexion"], "--test isometric_hip_flexion needs --side left or --side right"),
    (["--test", "cmj", "--side", "up"], "--side 'up' is invalid; use left or right (or leave it out)"),
])
def test_bad_test_or_side_names_the_flags(capsys, c3d_file, tmp_path, extra, words):
    code, _, err = run_cli(capsys, "import", c3d_file, "-o", tmp_path / "x.h5", *extra)
    assert code == 2 and words in _one_line(err) and not KEYWORD.search(err)
    assert not (tmp_path / "x.h5").exists()


def test_a_c3d_export_into_a_missing_folder_names_no_temporary_file(capsys, session_h5, tmp_path):
    out = tmp_path / "missing" / "x.c3d"
    code, _, err = run_cli(capsys, "export", session_h5, "-o", out)
    assert code == 2 and ".x.c3d." not in _one_line(err) and "Errno" not in err
