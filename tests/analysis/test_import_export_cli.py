"""``labkit import`` and ``labkit export``: C3D and XDF in, C3D and CSV out, one-line errors.

Real files only: data/c3d/Gait.c3d (BTKData, data/README.md) and an XDF file
written by tests/analysis/test_xdf.py's recording writer (known clocks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.cli import main

ezc3d = pytest.importorskip("ezc3d", reason="ezc3d is the test extra for C3D files")

GAIT = Path(__file__).resolve().parents[2] / "data" / "c3d" / "Gait.c3d"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def gait_h5(tmp_path_factory) -> Path:
    if not GAIT.exists():
        pytest.fail(f"real recording missing at {GAIT}: it ships in data/ (data/README.md)")
    out = tmp_path_factory.mktemp("cli") / "gait.h5"
    assert main(["import", str(GAIT), "-o", str(out)]) == 0
    return out


def test_import_c3d_prints_the_session(gait_h5, tmp_path, capsys):
    code, out, err = _run(capsys, "import", GAIT, "-o", tmp_path / "g.h5", "--athlete", "MA01")
    assert code == 0, err
    assert "wrote" in out and "force" in out and "emg" in out and "mocap" in out
    assert "RSHO.x [m]" in out  # units survive rich markup
    # Gait.c3d's occluded markers (NaN coordinates) are normal, not integrity problems
    assert "301 of 487 frames have an occluded marker" in out and "no integrity problems found" in out
    with labkit.open_session(tmp_path / "g.h5") as s:
        assert s.info["subject"] == "MA01"
        st = s.stream("force")
        fz = [st.data[:, st.labels.index(f"fp{i}.Fz")] for i in (1, 2)]
    # the README's known answer for Gait.c3d: plate Fz peaks about 799 N and 855 N
    peaks = sorted(float(np.max(np.abs(f))) for f in fz)
    assert peaks == pytest.approx([799, 855], abs=2)


def test_plate_convention_option(gait_h5, tmp_path, capsys):
    # "action": the channels already hold the load on the plate, so they are not negated
    code, _, err = _run(capsys, "import", GAIT, "-o", tmp_path / "a.h5", "--plate-convention", "action")
    assert code == 0, err
    with labkit.open_session(gait_h5) as r, labkit.open_session(tmp_path / "a.h5") as a:
        np.testing.assert_array_equal(a.stream("force").data, -r.stream("force").data)
    code, _, err = _run(capsys, "import", GAIT, "-o", tmp_path / "b.h5", "--plate-convention", "sideways")
    assert code == 2 and err.startswith("labkit: error:") and "sideways" in err
    assert len(err.strip().splitlines()) == 1


def test_export_csv_matches_the_session(gait_h5, tmp_path, capsys):
    code, _, err = _run(capsys, "export", gait_h5, "-o", tmp_path / "csv")
    assert code == 0, err
    force = pd.read_csv(tmp_path / "csv" / "streams" / "force.csv")
    with labkit.open_session(gait_h5) as s:
        st = s.stream("force")
        np.testing.assert_array_equal(force["time_s"].to_numpy(), st.times)
        np.testing.assert_array_equal(force[st.labels].to_numpy(), st.data)
    channels = pd.read_csv(tmp_path / "csv" / "channels.csv")
    assert channels.set_index(["stream", "label"]).loc[("force", "fp1.Mz"), "unit"] == "N.m"
    # a second export into the same folder is refused unless --overwrite
    code, _, err = _run(capsys, "export", gait_h5, "-o", tmp_path / "csv")
    assert code == 2 and err.startswith("labkit: error:") and len(err.strip().splitlines()) == 1
    assert _run(capsys, "export", gait_h5, "-o", tmp_path / "csv", "--overwrite")[0] == 0


def test_c3d_round_trip_through_the_cli(gait_h5, tmp_path, capsys):
    code, _, err = _run(capsys, "export", gait_h5, "-o", tmp_path / "back.c3d")
    assert code == 0, err
    c = ezc3d.c3d(str(tmp_path / "back.c3d"))
    assert c["parameters"]["FORCE_PLATFORM"]["USED"]["value"][0] == 2
    code, _, err = _run(capsys, "import", tmp_path / "back.c3d", "-o", tmp_path / "back.h5")
    assert code == 0, err
    with labkit.open_session(gait_h5) as a, labkit.open_session(tmp_path / "back.h5") as b:
        for name in ("force", "emg", "mocap"):
            sa, sb = a.stream(name), b.stream(name)
            assert sb.labels == sa.labels and sb.data.shape == sa.data.shape
            # C3D stores float32
            np.testing.assert_allclose(sb.data, sa.data, rtol=1e-6, atol=1e-6 * np.nanmax(np.abs(sa.data)))


def test_import_xdf(tmp_path, capsys):
    pytest.importorskip("pyxdf")
    from tests.analysis.test_xdf import write_recording

    truth = write_recording(tmp_path / "rec.xdf")
    code, _, err = _run(capsys, "import", tmp_path / "rec.xdf", "-o", tmp_path / "rec.h5",
                          "--athlete", "AB12")
    assert code == 0, err
    with labkit.open_session(tmp_path / "rec.h5") as s:
        assert s.info["subject"] == "AB12"
        t = s.stream("FP_1__AMTI_").times
        t_true = truth["streams"]["force"]["t_true"]
        # clock offsets applied: within 0.1 ms of the truth (the raw stamps are 2.5 s off)
        assert np.max(np.abs(t - t_true)) < 1e-4
        assert np.max(np.abs(s.stream("FP_1__AMTI_").raw_times - t_true)) > 2.4


@pytest.mark.parametrize("args, needle", [
    (["import", "{tmp}/x.txt", "-o", "{tmp}/x.h5"], "unknown file type '.txt'"),
    (["import", "{tmp}/missing.c3d", "-o", "{tmp}/x.h5"], "missing.c3d"),
    (["import", "{tmp}/x.txt", "-o", "{tmp}/x.h5", "--allow-truncated"], "unknown file type"),
    (["export", "{gait}", "-o", "{tmp}/out.xlsx"], "give a .c3d or .xdf file, or a folder"),
    (["export", "{gait}", "-o", "{tmp}/out.c3d", "--raw"], "--raw is for CSV export"),
])
def test_bad_input_is_one_line(gait_h5, tmp_path, capsys, args, needle):
    (tmp_path / "x.txt").write_text("not a recording\n")
    args = [a.format(tmp=tmp_path, gait=gait_h5) for a in args]
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert err.startswith("labkit: error:") and len(err.strip().splitlines()) == 1, err
    assert needle in err
    assert "Traceback" not in out + err
