"""Centre of pressure, ground reaction and free moment in the lab frame (labkit.analysis.lab_loads),
checked against ezc3d's force-platform output (``extract_forceplat_data=True``) for C3D plate
types 1-4 and against loads placed by hand (issue 16, item 6).

Real files (data/README.md): c3d/PiG_Motion3_FF.c3d (BTKData ``Input/C3DSamples/PiG/``, BSD-style
licence: Vicon Nexus, three type-2 plates whose ORIGIN has a, b of 0.03-0.84 mm) and c3d/Gait.c3d
(BTKData ``Input/C3DSamples/others/``: Motion Analysis, two type-4 plates, a, b of 0.9-1.9 mm).
Constructed files: type 1, 2 and 3 plates placed off the lab origin and turned 90 deg, as in labs
whose plates are not centred under the capture volume; the type-2 plate has ORIGIN a, b of
20 and -30 mm (AMTI OR6 calibration sheets give offsets of a few mm; 20-30 mm makes a missed
offset unmistakable).
"""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.errors import ConfigError

ezc3d = pytest.importorskip("ezc3d", reason="ezc3d is the optional extra for C3D files (labkit[c3d])")

from labkit.analysis.c3d import import_c3d  # noqa: E402
from labkit.analysis.lab_loads import lab_loads  # noqa: E402
from tests.analysis.test_c3d import (  # noqa: E402
    GAIT,
    PIG,
    _c3d_with_plate,
    _kistler_channels,
    _known_loads,
    _need,
)

#: plate-to-lab rotation of the constructed plates: plate x = lab y, plate y = lab x, z down
ROT = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
CENTRE_M = np.array([1.2, 0.5, 0.0])
HALF_M = (0.3, 0.2)


def _corners_mm():
    hx, hy = HALF_M
    plate = np.array([[hx, hy, 0], [-hx, hy, 0], [-hx, -hy, 0], [hx, -hy, 0]], float)
    return ((plate @ ROT.T + CENTRE_M) * 1e3).T[:, :, None]


def _placed(path):
    """Move the constructed file's plate to CENTRE_M, turned by ROT (edit CORNERS with ezc3d)."""
    c = ezc3d.c3d(str(path))
    c["parameters"]["FORCE_PLATFORM"]["CORNERS"]["value"] = _corners_mm()
    c.write(str(path))
    return path


def _compare_with_ezc3d(src, out, fz_min_n=20.0):
    """Worst differences (force N, COP m, free moment N.m) between labkit and ezc3d, and the
    number of frames compared, over loaded frames of every plate."""
    with labkit.open_session(out) as s:
        loads = lab_loads(s, fz_min_n=fz_min_n)
    ref = ezc3d.c3d(str(src), extract_forceplat_data=True)["data"]["platform"]
    worst = np.zeros(3)
    frames = 0
    for lab, p in zip(loads.values(), ref, strict=True):
        to_m = {"mm": 1e-3, "m": 1.0}[p["unit_position"]]
        on = np.isfinite(lab.cop_m[:, 0])
        assert on.sum() > 0
        frames += int(on.sum())
        worst = np.maximum(worst, [
            np.abs(lab.force_n - p["force"].T).max(),
            np.abs(lab.cop_m[on] - p["center_of_pressure"].T[on] * to_m).max(),
            np.abs(lab.free_moment_nm[on] - p["Tz"].T[on] * to_m).max()])
        assert not np.isfinite(lab.cop_m[~on]).any()
    return worst, frames


@pytest.mark.parametrize("src", [PIG, GAIT], ids=["PiG-type2", "Gait-type4"])
def test_real_files_agree_with_ezc3d(tmp_path, src):
    src = _need(src)
    out = import_c3d(src, tmp_path / "r.h5")
    (worst_f, worst_cop, worst_t), frames = _compare_with_ezc3d(src, out)
    assert frames > 1000
    assert worst_f < 1e-9 and worst_cop < 1e-9 and worst_t < 1e-9, (worst_f, worst_cop, worst_t)
    # the ORIGIN offsets matter: leaving a, b out moves the COP by them (0.03-1.9 mm)
    with labkit.open_session(out) as s:
        plates = s.stream("force").device["c3d_plates"]
    assert max(np.hypot(*p["origin_m"][:2]) for p in plates) > 5e-4


def _type2_channels(f, cop_c, tz, origin_o_to_c):
    """Fx..Mz of a type-2 plate (reaction, N and N.mm) carrying the load f at cop_c (surface,
    relative to the centre C) with free moment tz; moments about O = C - origin."""
    r = np.column_stack([cop_c, np.zeros(len(cop_c))]) + origin_o_to_c  # P - O
    m = np.cross(r, f)
    m[:, 2] += tz
    return -np.column_stack([f, m * 1e3])


def test_type2_with_origin_offsets_against_the_known_cop_and_ezc3d(tmp_path):
    f, cop, tz = _known_loads(seed=11)
    origin_file_mm = np.array([20.0, -30.0, 40.0])  # C3D spec: centre -> origin, z down
    ch = _type2_channels(f, cop, tz, -origin_file_mm * 1e-3)
    src = _placed(_c3d_with_plate(tmp_path / "t2.c3d", ch, ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"],
                                  ["N", "N", "N", "Nmm", "Nmm", "Nmm"], ptype=2, origin_mm=origin_file_mm))
    out = import_c3d(src, tmp_path / "t2.h5")
    with labkit.open_session(out) as s:
        got = lab_loads(s)["fp1"]
    truth = np.column_stack([cop, np.zeros(len(cop))]) @ ROT.T + CENTRE_M
    np.testing.assert_allclose(got.cop_m, truth, atol=2e-6)  # float32 channels in the file
    np.testing.assert_allclose(got.force_n, -f @ ROT.T, rtol=1e-6, atol=1e-4)  # on the subject
    np.testing.assert_allclose(got.free_moment_nm[:, 2], tz, atol=2e-3)  # plate z down = lab -z; on subject
    np.testing.assert_allclose(got.free_moment_nm[:, :2], 0.0, atol=1e-9)
    (worst_f, worst_cop, worst_t), _ = _compare_with_ezc3d(src, out)
    assert worst_f < 1e-9 and worst_cop < 1e-9 and worst_t < 1e-6, (worst_f, worst_cop, worst_t)
    # the plate-frame COP of labkit.signal.force_plates (about the measurement origin O) placed
    # at the plate centre without the ORIGIN a, b would be off by their length, 36.1 mm
    from labkit.signal.force_plates import centre_of_pressure

    with labkit.open_session(out) as s:
        st = s.stream("force")
    az0 = st.device["c3d_plates"][0]["az0_m"]
    naive = centre_of_pressure(st.data[:, :3], st.data[:, 3:6], az0_m=az0)
    naive = np.column_stack([naive[:, :2], np.zeros(len(naive))]) @ ROT.T + CENTRE_M
    off = np.linalg.norm(naive - truth, axis=1)
    np.testing.assert_allclose(off, np.hypot(20.0, 30.0) * 1e-3, atol=1e-5)


def test_type1_plate_against_the_known_cop_and_ezc3d(tmp_path):
    f, cop, tz = _known_loads(seed=12)
    ch = np.column_stack([-f, cop * 1e3, -tz * 1e3])
    src = _placed(_c3d_with_plate(tmp_path / "t1.c3d", ch, ["Fx1", "Fy1", "Fz1", "Px1", "Py1", "Tz1"],
                                  ["N", "N", "N", "mm", "mm", "Nmm"], ptype=1, origin_mm=[0, 0, 45.0]))
    out = import_c3d(src, tmp_path / "t1.h5")
    with labkit.open_session(out) as s:
        got = lab_loads(s)["fp1"]
    truth = np.column_stack([cop, np.zeros(len(cop))]) @ ROT.T + CENTRE_M
    np.testing.assert_allclose(got.cop_m, truth, atol=2e-6)
    np.testing.assert_allclose(got.free_moment_nm[:, 2], tz, atol=2e-3)
    ref = ezc3d.c3d(str(src), extract_forceplat_data=True)["data"]["platform"][0]
    np.testing.assert_allclose(got.force_n, ref["force"].T, atol=1e-9)
    np.testing.assert_allclose(got.cop_m[:, :2], ref["center_of_pressure"].T[:, :2] * 1e-3, atol=1e-9)
    np.testing.assert_allclose(got.free_moment_nm, ref["Tz"].T * 1e-3, atol=1e-9)


@pytest.mark.parametrize("signs", [(1, 1), (-1, 1)], ids=["a>0", "a<0"])
def test_type3_kistler_against_the_known_cop_and_ezc3d(tmp_path, signs):
    f, cop, tz = _known_loads(seed=13)
    a, b, az0 = 0.120 * signs[0], 0.200 * signs[1], -0.048
    native = _kistler_channels(f, cop, tz, a, b, az0)
    labels = ["fx12", "fx34", "fy14", "fy23", "fz1", "fz2", "fz3", "fz4"]
    src = _placed(_c3d_with_plate(tmp_path / "t3.c3d", -native, labels, ["N"] * 8, ptype=3,
                                  origin_mm=[a * 1e3, b * 1e3, az0 * 1e3]))
    out = import_c3d(src, tmp_path / "t3.h5")
    with labkit.open_session(out) as s:
        got = lab_loads(s)["fp1"]
    truth = np.column_stack([cop, np.zeros(len(cop))]) @ ROT.T + CENTRE_M
    np.testing.assert_allclose(got.cop_m, truth, atol=2e-6)
    (worst_f, worst_cop, worst_t), _ = _compare_with_ezc3d(src, out)
    assert worst_f < 1e-9 and worst_cop < 1e-9 and worst_t < 1e-6, (worst_f, worst_cop, worst_t)


def test_plate_without_corners_says_where_to_give_them(tmp_path):
    from labkit.session.writer import SessionWriter
    from labkit.spec import ChannelSpec, StreamSpec

    chans = [ChannelSpec(f"fp1.{c}", "N" if c[0] == "F" else "N.m", "force")
             for c in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")]
    spec = StreamSpec("force", "force", chans, 1000.0, "float64", source_id="x")
    with SessionWriter(tmp_path / "s.h5", [spec], subject="A", fsync=False) as w:
        w.append("force", np.ones((10, 6)), np.arange(10) / 1000.0)
    with labkit.open_session(tmp_path / "s.h5") as s, \
            pytest.raises(ConfigError, match=r"stream 'force': plate fp1 has no usable corners_m, so it "
                                             r"cannot be placed in the lab; give corners_m"):
        lab_loads(s)
