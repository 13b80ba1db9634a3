"""C3D import and export (labkit.analysis.c3d) against real files and files with known loads.

Real data (data/ of the repository, data/README.md):

* c3d/Gait.c3d from Biomechanical-ToolKit/BTKData (``Input/C3DSamples/others/``, BSD-style
  licence): Motion Analysis walk, 2 type-4 plates with a calibration matrix, 16 named EMG,
  33 markers; known answer: plate Fz peaks about 799 N and 855 N.
* c3d/PiG_Motion3_FF.c3d from BTKData (``Input/C3DSamples/PiG/``): Vicon Nexus Plug-in Gait
  walk, 3 type-2 plates, EMG1..16, markers, model outputs, foot strike/off events.
* force/GRFZjump.txt from demotu/BMC (Marcos Duarte, data/), CC BY 4.0: one vertical force
  column (N) at 600 Hz of a countermovement jump; known answers with takeoff/landing at
  10 N above the minimum force and g = 9.8: takeoff 0.907 s, landing 1.323 s, flight-time
  height 0.213 m.
"""

from __future__ import annotations

import json
import math
import sys
import warnings

import numpy as np
import pytest

import labkit
from labkit.errors import ConfigError, LabkitWarning

ezc3d = pytest.importorskip("ezc3d", reason="ezc3d is the optional extra for C3D files (labkit[c3d])")

from labkit.analysis.c3d import export_c3d, import_c3d  # noqa: E402
from tests.conftest import SHARED_DATA  # noqa: E402

C3D_DIR = SHARED_DATA / "c3d"
GAIT = C3D_DIR / "Gait.c3d"
PIG = C3D_DIR / "PiG_Motion3_FF.c3d"
GRFZ = SHARED_DATA / "force" / "GRFZjump.txt"


def _need(path):
    if not path.is_file():
        pytest.fail(f"real recording missing at {path}: it ships in data/ (data/README.md)")
    return path


def _imported(tmp_path_factory, src, **kw):
    out = tmp_path_factory.mktemp("c3d") / (src.stem + ".h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabkitWarning)  # the real files import without complaint
        import_c3d(src, out, **kw)
    return out


@pytest.fixture(scope="module")
def gait(tmp_path_factory):
    src = _need(GAIT)
    return _imported(tmp_path_factory, src), ezc3d.c3d(str(src), extract_forceplat_data=True)


@pytest.fixture(scope="module")
def pig(tmp_path_factory):
    src = _need(PIG)
    return _imported(tmp_path_factory, src), ezc3d.c3d(str(src), extract_forceplat_data=True)


def _plate(st, name):
    cols = [st.labels.index(f"{name}.{c}") for c in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")]
    return st.data[:, cols[:3]], st.data[:, cols[3:]]


def _analog(c, label):
    labels = c["parameters"]["ANALOG"]["LABELS"]["value"]
    return c["data"]["analogs"][0, labels.index(label)]


def _check_against_ezc3d_platforms(st, c):
    """labkit's plate-frame load on the plate, turned into ezc3d's lab-frame reaction."""
    plates = st.device["c3d_plates"]
    worst_f = worst_m = 0.0
    for k, (info, ref) in enumerate(zip(plates, c["data"]["platform"], strict=True)):
        f, m = _plate(st, f"fp{k + 1}")
        rot = np.asarray(info["plate_to_lab"])
        # ezc3d: F_lab = R F_channels, M_lab = R (M_channels + F_channels x origin), origin with z < 0 (mm)
        origin_mm = np.asarray(info["origin_m"]) * 1e3
        f_ch, m_ch = -f, -m * 1e3
        f_lab = f_ch @ rot.T
        m_lab = (m_ch + np.cross(f_ch, origin_mm)) @ rot.T
        worst_f = max(worst_f, np.abs(f_lab - ref["force"].T).max())
        worst_m = max(worst_m, np.abs(m_lab - ref["moment"].T).max() / 1e3)
    return worst_f, worst_m


# ------------------------------------------------------------------------------ Gait.c3d


def test_gait_streams_and_metadata(gait):
    path, _ = gait
    with labkit.open_session(path) as s:
        assert s.status == "complete"
        assert s.streams == ["emg", "force", "mocap"]  # no model outputs, no other analogs
        info = s.info
        assert info["source_file"] == "Gait.c3d" and info["source_format"] == "c3d"
        header = json.loads(info["c3d_header"])
        assert header["points"]["frame_rate"] == 100.0 and header["format"] == "integer"
        assert header["manufacturer"]["company"] == "Motion Analysis Corp."
        force, emg, mocap = s.stream("force"), s.stream("emg"), s.stream("mocap")
        assert (force.rate_hz, force.data.shape) == (1000.0, (4870, 12))
        assert (emg.rate_hz, emg.data.shape) == (1000.0, (4870, 16))
        assert (mocap.rate_hz, mocap.data.shape) == (100.0, (487, 99))
        assert force.raw_times[0] == 0.0 and force.raw_times[1] == 0.001
        assert [p["type"] for p in force.device["c3d_plates"]] == [4, 4]
        assert np.asarray(force.device["c3d_plates"][0]["cal_matrix"]).shape == (6, 6)
        assert set(force.channels["unit"]) == {"N", "N.m"}
        params = json.loads(s._file["config/c3d_parameters"][()])
        assert params["FORCE_PLATFORM"]["TYPE"] == [4, 4]


def test_gait_analogs_come_scaled_from_ezc3d(gait):
    """ezc3d applies ANALOG:SCALE (an integer file: values are whole multiples of it)."""
    _, c = gait
    scale = c["parameters"]["ANALOG"]["SCALE"]["value"]
    counts = c["data"]["analogs"][0] / scale[:, None]
    assert np.abs(counts - np.round(counts)).max() < 1e-3
    assert np.abs(counts).max() > 100  # not trivially zero


def test_gait_type4_plates(gait):
    path, c = gait
    with labkit.open_session(path) as s:
        st = s.stream("force")
    fz1, fz2 = st.data[:, st.labels.index("fp1.Fz")], st.data[:, st.labels.index("fp2.Fz")]
    print(f"Gait Fz peaks {fz1.max():.2f} N, {fz2.max():.2f} N")
    assert fz1.max() == pytest.approx(799.0, abs=1.0)  # README: about 799 N and 855 N
    assert fz2.max() == pytest.approx(855.0, abs=1.0)
    assert fz1.min() > -10 and fz2.min() > -25  # loads on the plate: positive
    # independent: CAL_MATRIX times the scaled analogs, done here
    cal = c["parameters"]["FORCE_PLATFORM"]["CAL_MATRIX"]["value"]
    chan = c["parameters"]["FORCE_PLATFORM"]["CHANNEL"]["value"]
    for k in range(2):
        ch = c["data"]["analogs"][0, chan[:, k] - 1]  # (6, n)
        loads = cal[:, :, k] @ ch
        f, m = _plate(st, f"fp{k + 1}")
        np.testing.assert_allclose(f, -loads[:3].T, rtol=0, atol=1e-9)
        np.testing.assert_allclose(m, -loads[3:].T / 1e3, rtol=0, atol=1e-12)  # N.mm -> N.m
    worst_f, worst_m = _check_against_ezc3d_platforms(st, c)
    print(f"Gait vs ezc3d platforms: max |dF| {worst_f:.2e} N, |dM| {worst_m:.2e} N.m")
    assert worst_f < 1e-9 and worst_m < 1e-9


def test_gait_emg_and_markers(gait):
    path, c = gait
    with labkit.open_session(path) as s:
        emg, mocap = s.stream("emg"), s.stream("mocap")
    named = dict(zip(emg.channels["device_channel"], emg.labels, strict=True))
    assert len(named) == 16 and named["LREC"] == "rectus_l" and named["RJUM"] == "jum_int_r"
    assert emg.channels.set_index("label").loc["rectus_l", "side"] == "l"
    for label, lab in named.items():
        np.testing.assert_array_equal(emg.data[:, emg.labels.index(lab)], _analog(c, label))
    # markers: POINT / 1000, NaN where the residual is negative; duplicate labels made unique
    labels = c["parameters"]["POINT"]["LABELS"]["value"]
    assert labels.count("RKNE") == 2 and "RKNE_2.x" in mocap.labels
    pts = c["data"]["points"][:3] / 1000.0
    res = c["data"]["meta_points"]["residuals"][0]
    names = mocap.channels["marker"].tolist()[::3]
    for k, name in enumerate(names):
        got = mocap.data[:, 3 * k : 3 * k + 3]
        want = pts[:, k].T.copy()
        want[res[k] < 0] = np.nan
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0, err_msg=name)
    assert np.isnan(mocap.data).any() and np.isfinite(mocap.data).mean() > 0.3


# ---------------------------------------------------------------------- PiG_Motion3_FF.c3d


def test_pig_streams(pig):
    path, c = pig
    with labkit.open_session(path) as s:
        assert s.streams == ["emg", "force", "mocap", "model"]
        force, emg, mocap, model = (s.stream(n) for n in ("force", "emg", "mocap", "model"))
        assert s.info["subject"] == "flatFoot"
    assert force.data.shape == (2930, 18) and emg.data.shape == (2930, 16)
    assert mocap.data.shape == (293, 3 * 61) and model.data.shape == (293, 3 * 36)
    # C3D clock: frame 725 (first_frame 724 + 1) is at 7.24 s
    assert force.raw_times[0] == pytest.approx(7.24, abs=1e-12)
    assert mocap.raw_times[-1] == pytest.approx(7.24 + 292 / 100, abs=1e-12)
    assert emg.labels == [f"emg{k}" for k in range(1, 17)]
    for k in range(1, 17):
        np.testing.assert_array_equal(emg.data[:, k - 1], _analog(c, f"EMG{k}"))
    # model outputs apart from the markers, in SI units
    assert "LHipAnglesV.x" in model.labels and "LHipAnglesV.x" not in mocap.labels
    assert "LASI.x" in mocap.labels and "PELO.x" in mocap.labels
    units = model.channels.set_index("label")["unit"]
    assert units["LKneeAnglesV.x"] == "rad" and units["LKneeMoment.x"] == "N.m"
    assert units["LKneePower.z"] == "W" and units["LGroundReactionForce.z"] == "N"
    pl = c["parameters"]["POINT"]["LABELS"]["value"]
    deg = c["data"]["points"][:3, pl.index("LKneeAnglesV")].T
    np.testing.assert_allclose(model.data[:, model.labels.index("LKneeAnglesV.x")], np.deg2rad(deg[:, 0]),
                               rtol=1e-15, equal_nan=True)
    nmm = c["data"]["points"][:3, pl.index("LKneeMoment")].T
    np.testing.assert_allclose(model.data[:, model.labels.index("LKneeMoment.y")], nmm[:, 1] / 1e3,
                               rtol=1e-15, equal_nan=True)
    lasi = c["data"]["points"][:3, pl.index("LASI")].T / 1e3
    got = mocap.data[:, mocap.labels.index("LASI.x") : mocap.labels.index("LASI.x") + 3]
    np.testing.assert_allclose(got, lasi, rtol=1e-15, atol=0)


def test_pig_type2_plates(pig):
    path, c = pig
    with labkit.open_session(path) as s:
        st = s.stream("force")
    peaks = []
    for k in range(1, 4):
        f, m = _plate(st, f"fp{k}")
        np.testing.assert_array_equal(f[:, 2], -_analog(c, f"Fz{k}"))  # channel convention: reaction
        np.testing.assert_allclose(m[:, 0], -_analog(c, f"Mx{k}") / 1e3, rtol=1e-15)  # N.mm -> N.m
        peaks.append(f[:, 2].max())
        info = st.device["c3d_plates"][k - 1]
        assert info["type"] == 2 and info["origin_m"][2] < 0  # stored +39.5 mm, made negative
        assert info["channel_labels"][2] == f"Fz{k}"
    print("PiG Fz peaks", np.round(peaks, 2))
    np.testing.assert_allclose(peaks, [792.99, 822.80, 826.81], atol=0.01)
    worst_f, worst_m = _check_against_ezc3d_platforms(st, c)
    print(f"PiG vs ezc3d platforms: max |dF| {worst_f:.2e} N, |dM| {worst_m:.2e} N.m")
    assert worst_f < 1e-9 and worst_m < 1e-9


def test_pig_events(pig):
    path, c = pig
    with labkit.open_session(path) as s:
        ev = s.events
    g = c["parameters"]["EVENT"]
    want = sorted((60 * t0 + t1, f"{ctx} {lab}") for ctx, lab, t0, t1 in zip(
        g["CONTEXTS"]["value"], g["LABELS"]["value"], *g["TIMES"]["value"], strict=True))
    assert len(ev) == 12 and set(ev["source"]) == {"c3d"}
    assert list(ev["label"]) == [w[1] for w in want]
    np.testing.assert_array_equal(ev["time"].to_numpy(), [w[0] for w in want])
    strikes = ev[ev["label"] == "Left Foot Strike"]["time"].to_numpy()
    np.testing.assert_allclose(strikes, [7.85, 8.93, 10.01], atol=1e-6)
    value = json.loads(ev["value"].iloc[0])
    assert value["context"] in ("Left", "Right") and value["subject"] == "flatFoot"


def test_import_without_model_outputs_and_with_named_emg(tmp_path):
    out = import_c3d(_need(PIG), tmp_path / "p.h5", model_outputs=False,
                     emg_channels={"EMG1": "gluteus_maximus_l", "EMG2": "gluteus_maximus_r"})
    with labkit.open_session(out) as s:
        assert "model" not in s.streams
        emg, analog = s.stream("emg"), s.stream("analog")
    assert emg.labels == ["gluteus_maximus_l", "gluteus_maximus_r"]
    assert list(emg.channels["side"]) == ["l", "r"] and set(emg.channels["muscle"]) == {"gluteus_maximus"}
    assert analog.labels == [f"EMG{k}" for k in range(3, 17)] and set(analog.channels["unit"]) == {"V"}


def test_unflagged_zero_markers_are_gaps(tmp_path):
    """A marker at exactly (0, 0, 0) with residual 0 is a gap some writers leave unflagged;
    a model output at 0 is a value."""
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = np.array([100.0])
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    c["parameters"]["POINT"]["LABELS"]["value"] = ["LASI", "LKneeAnglesV"]
    pts = np.ones((4, 2, 10))
    pts[:3, 0] = np.arange(30.0).reshape(3, 10) + 1
    pts[:3, :, 4] = 0.0
    c["data"]["points"] = pts
    c.add_parameter("POINT", "ANGLES", ["LKneeAnglesV"])
    c.add_parameter("POINT", "ANGLE_UNITS", ["deg"])
    c.write(str(tmp_path / "z.c3d"))
    with labkit.open_session(import_c3d(tmp_path / "z.c3d", tmp_path / "z.h5")) as s:
        mocap, model = s.stream("mocap"), s.stream("model")
    assert np.isnan(mocap.data[4]).all() and np.isfinite(np.delete(mocap.data, 4, axis=0)).all()
    np.testing.assert_array_equal(mocap.data[3], [0.004, 0.014, 0.024])
    np.testing.assert_array_equal(model.data[4], [0.0, 0.0, 0.0])
    assert model.data[0, 0] == pytest.approx(math.radians(1.0), rel=1e-15)


# ---------------------------------------------------------------- synthetic plates (1, 3)


def _c3d_with_plate(path, channels, labels, units, *, ptype, origin_mm, rate=1000.0):
    """A C3D file with one plate of ``ptype`` on ``channels`` (n, k) and no markers."""
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = np.array([rate])
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    c["parameters"]["ANALOG"]["RATE"]["value"] = np.array([rate])
    c["parameters"]["ANALOG"]["LABELS"]["value"] = labels
    c["parameters"]["ANALOG"]["UNITS"]["value"] = units
    c["data"]["analogs"] = np.asarray(channels, dtype=float).T[None]
    c["data"]["points"] = np.zeros((4, 0, len(channels)))
    fp = c["parameters"]["FORCE_PLATFORM"]
    fp["USED"]["value"] = np.array([1])
    fp["TYPE"]["value"] = np.array([ptype])
    fp["CHANNEL"]["value"] = np.arange(1, len(labels) + 1).reshape(-1, 1)
    # plate x = lab x, y = lab -y, z down; a 600 x 400 mm plate centred at the lab origin
    fp["CORNERS"]["value"] = np.array([[300, -200, 0], [-300, -200, 0], [-300, 200, 0],
                                       [300, 200, 0]], dtype=float).T[:, :, None]
    fp["ORIGIN"]["value"] = np.asarray(origin_mm, dtype=float).reshape(3, 1)
    c.write(str(path))
    return path


def _known_loads(n=400, seed=3):
    """Loads on the plate (action, z down): force at a moving COP with a free moment."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 1000.0
    f = np.column_stack([40 * np.sin(7 * t), -25 * np.cos(5 * t), 700 + 150 * np.sin(3 * t)])
    f += rng.normal(0, 1, f.shape)
    cop = np.column_stack([0.05 * np.sin(2 * t), -0.03 + 0.02 * np.cos(4 * t)])  # m, surface
    tz = 2.0 * np.sin(6 * t)  # N.m
    return f, cop, tz


def _expected_moments(f, cop, tz, az0):
    r = np.column_stack([cop, np.full(len(cop), az0)])
    m = np.cross(r, f)
    m[:, 2] += tz
    return m


def _check_cop(st, f_true, cop, tz, az0):
    from labkit.signal.force_plates import centre_of_pressure, free_moment

    f, m = _plate(st, "fp1")
    got = centre_of_pressure(f, m, az0_m=az0)
    np.testing.assert_allclose(got, cop, atol=1e-6)
    np.testing.assert_allclose(free_moment(f, m, got), tz, atol=1e-4)
    np.testing.assert_allclose(f, f_true, rtol=1e-6, atol=1e-4)  # float32 in the file


def test_type1_plate_from_cop_and_free_moment(tmp_path):
    f, cop, tz = _known_loads()
    az0 = -0.045
    # the file holds the reaction (the force on the subject), as C3D writers do
    ch = np.column_stack([-f, cop * 1e3, -tz * 1e3])
    src = _c3d_with_plate(tmp_path / "t1.c3d", ch, ["Fx1", "Fy1", "Fz1", "Px1", "Py1", "Tz1"],
                          ["N", "N", "N", "mm", "mm", "Nmm"], ptype=1, origin_mm=[0, 0, 45.0])
    with labkit.open_session(import_c3d(src, tmp_path / "t1.h5")) as s:
        st = s.stream("force")
    assert st.device["c3d_plates"][0]["type"] == 1 and st.device["c3d_plates"][0]["az0_m"] == az0
    _, m = _plate(st, "fp1")
    np.testing.assert_allclose(m, _expected_moments(f, cop, tz, az0), rtol=1e-5, atol=1e-3)
    _check_cop(st, f, cop, tz, az0)


def _kistler_channels(f, cop, tz, a, b, az0):
    """fx12 fx34 fy14 fy23 fz1..fz4 (N) of a Kistler plate carrying these loads (sensors
    1 (+a, +b), 2 (-a, +b), 3 (-a, -b), 4 (+a, -b)); solved by hand, not with labkit."""
    fx, fy, fz = f.T
    mx = cop[:, 1] * fz - az0 * fy  # about the sensor-plane origin
    my = az0 * fx - cop[:, 0] * fz
    mz = cop[:, 0] * fy - cop[:, 1] * fx + tz
    a4 = np.array([[1, 1, 1, 1], [1, 1, -1, -1], [-1, 1, 1, -1], [1, -1, 1, -1]], dtype=float)
    rhs = np.column_stack([fz, mx / b, my / a, np.zeros_like(fz)])
    fz4 = np.linalg.solve(a4, rhs.T).T
    d = mz / b  # fx34 - fx12 (fy14 = fy23)
    return np.column_stack([fx / 2 - d / 2, fx / 2 + d / 2, fy / 2, fy / 2, fz4])


@pytest.mark.parametrize("convention", ["reaction", "action"])
def test_type3_kistler_plate(tmp_path, convention):
    f, cop, tz = _known_loads(seed=4)
    a, b, az0 = 0.120, 0.200, -0.048  # 9281EA
    native = _kistler_channels(f, cop, tz, a, b, az0)
    ch = -native if convention == "reaction" else native
    labels = ["fx12", "fx34", "fy14", "fy23", "fz1", "fz2", "fz3", "fz4"]
    src = _c3d_with_plate(tmp_path / "t3.c3d", ch, labels, ["N"] * 8, ptype=3, origin_mm=[120, 200, -48])
    out = import_c3d(src, tmp_path / "t3.h5", plate_convention=convention)
    with labkit.open_session(out) as s:
        st = s.stream("force")
    info = st.device["c3d_plates"][0]
    assert (info["a_m"], info["b_m"], info["az0_m"]) == pytest.approx((a, b, az0))
    assert st.channels["device_channel"].iloc[0] == ",".join(labels)
    _, m = _plate(st, "fp1")
    np.testing.assert_allclose(m, _expected_moments(f, cop, tz, az0), rtol=1e-5, atol=1e-3)
    _check_cop(st, f, cop, tz, az0)
    # and the Kistler maths of labkit.signal.force_plates agree
    from labkit.signal.force_plates import kistler_8ch

    kf, km = kistler_8ch(native.astype(np.float32), a_m=a, b_m=b)
    np.testing.assert_allclose(st.data[:, :3], kf, rtol=1e-12)
    np.testing.assert_allclose(st.data[:, 3:6], km, rtol=1e-12)


@pytest.mark.parametrize("signs", [(-1, 1), (-1, -1)], ids=["a<0", "a<0,b<0"])
def test_type3_kistler_plate_with_signed_origin(tmp_path, signs):
    """A negative ORIGIN a or b places sensor 1 at that x or y (a mirrored sensor layout): the
    moments use the signed values, as BTK's ForcePlatformWrenchFilter and ezc3d do."""
    f, cop, tz = _known_loads(seed=6)
    a, b, az0 = 0.120 * signs[0], 0.200 * signs[1], -0.048
    native = _kistler_channels(f, cop, tz, a, b, az0)
    labels = ["fx12", "fx34", "fy14", "fy23", "fz1", "fz2", "fz3", "fz4"]
    src = _c3d_with_plate(tmp_path / "t3.c3d", -native, labels, ["N"] * 8, ptype=3,
                          origin_mm=[a * 1e3, b * 1e3, az0 * 1e3])
    with labkit.open_session(import_c3d(src, tmp_path / "t3.h5")) as s:
        st = s.stream("force")
    info = st.device["c3d_plates"][0]
    assert (info["a_m"], info["b_m"]) == pytest.approx((a, b))
    _, m = _plate(st, "fp1")
    np.testing.assert_allclose(m, _expected_moments(f, cop, tz, az0), rtol=1e-5, atol=1e-3)
    _check_cop(st, f, cop, tz, az0)
    worst_f, worst_m = _check_against_ezc3d_platforms(st, ezc3d.c3d(str(src), extract_forceplat_data=True))
    assert worst_f < 1e-3 and worst_m < 1e-3

def test_wrong_plate_convention_is_warned(tmp_path):
    f, cop, tz = _known_loads(seed=5)
    native = _kistler_channels(f, cop, tz, 0.12, 0.2, -0.048)
    labels = ["fx12", "fx34", "fy14", "fy23", "fz1", "fz2", "fz3", "fz4"]
    src = _c3d_with_plate(tmp_path / "k.c3d", native, labels, ["N"] * 8, ptype=3, origin_mm=[120, 200, -48])
    with pytest.warns(LabkitWarning, match=r"negative Fz under load.*import with plate_convention='action' "
                      r"\(labkit import --plate-convention action\)"):
        import_c3d(src, tmp_path / "k.h5")


# ------------------------------------------------------------------- integer C3D scaling


def _integer_c3d(path, raw, labels, units, *, scale, offset, gen_scale, rate=1000.0):
    """An integer-format C3D (POINT:SCALE > 0, Intel) written byte by byte: no markers, the
    analog counts ``raw`` (n, k) int16, ANALOG:SCALE/OFFSET/GEN_SCALE as given, and one
    type-2 plate on channels 1-6. ezc3d only writes float files (and resets OFFSET to 0)."""
    import struct

    n, k = raw.shape

    def param(gid, name, fmt, dims, values):
        if fmt == "c":
            width = dims[0]
            body = b"".join(v.ljust(width).encode() for v in values)
            dtype = -1
        else:
            dtype = {"h": 2, "f": 4}[fmt]
            body = struct.pack(f"<{len(values)}{fmt}", *values)
        rest = struct.pack("<bB", dtype, len(dims)) + bytes(dims) + body + b"\x00"
        return struct.pack("<bb", len(name), gid) + name.encode() + struct.pack("<h", 2 + len(rest)) + rest

    def group(gid, name):
        return struct.pack("<bb", len(name), -gid) + name.encode() + struct.pack("<h", 3) + b"\x00"

    w = max(len(s) for s in labels)
    u = max(len(s) for s in units)
    corners = [300, -200, 0, -300, -200, 0, -300, 200, 0, 300, 200, 0]
    recs = [group(1, "POINT"), param(1, "USED", "h", [], [0]), param(1, "SCALE", "f", [], [0.1]),
            param(1, "RATE", "f", [], [rate]), param(1, "FRAMES", "h", [], [n]),
            param(1, "UNITS", "c", [2], ["mm"]),
            group(2, "ANALOG"), param(2, "USED", "h", [], [k]), param(2, "RATE", "f", [], [rate]),
            param(2, "LABELS", "c", [w, k], labels), param(2, "UNITS", "c", [u, k], units),
            param(2, "SCALE", "f", [k], list(scale)), param(2, "OFFSET", "h", [k], list(offset)),
            param(2, "GEN_SCALE", "f", [], [gen_scale]),
            group(3, "FORCE_PLATFORM"), param(3, "USED", "h", [], [1]), param(3, "TYPE", "h", [1], [2]),
            param(3, "ZERO", "h", [2], [0, 0]), param(3, "CHANNEL", "h", [6, 1], list(range(1, 7))),
            param(3, "CORNERS", "f", [3, 4, 1], corners), param(3, "ORIGIN", "f", [3, 1], [0, 0, -40])]
    params = b"".join(recs)
    n_blocks = (4 + len(params) + 511) // 512
    params = (struct.pack("<BBBB", 1, 0x50, n_blocks, 84) + params).ljust(512 * n_blocks, b"\x00")
    data_start = 2 + n_blocks
    header = struct.pack("<BBhhhhhfhhf", 2, 0x50, 0, k, 1, n, 0, 0.1, data_start, 1, rate).ljust(512, b"\x00")
    data = np.ascontiguousarray(raw, dtype="<i2").tobytes()
    path.write_bytes(header + params + data.ljust(-(-len(data) // 512) * 512, b"\x00"))
    return path


def test_integer_c3d_analogs_are_scaled_once_with_offset_and_gen_scale(tmp_path):
    """(raw - OFFSET) * SCALE * GEN_SCALE, computed here, is what labkit stores: ezc3d
    applies the scaling and labkit neither misses it nor applies it again."""
    rng = np.random.default_rng(8)
    n = 300
    t = np.arange(n) / 1000.0
    raw = np.column_stack([rng.integers(-200, 200, n), rng.integers(-200, 200, n),
                           (-2000 - 1500 * np.sin(2 * np.pi * 2 * t)).astype(int),  # reaction: Fz < 0
                           rng.integers(-3000, 3000, (n, 3)),
                           (800 * np.sin(2 * np.pi * 60 * t)).astype(int)]).astype(np.int16)
    labels = ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1", "EMG1"]
    units = ["N", "N", "N", "Nmm", "Nmm", "Nmm", "V"]
    scale = np.array([0.5, 0.5, 0.25, 2.0, 2.0, 1.5, 1e-6])
    # positive offsets: ezc3d reads OFFSET as abs(OFFSET) (for unsigned-format files whose offset
    # overflowed int16), so a negative offset in a signed file is read as its opposite
    offset = np.array([3, 5, 100, 7, 11, 0, 40])
    gen_scale = 2.0
    src = _integer_c3d(tmp_path / "int.c3d", raw, labels, units, scale=scale, offset=offset,
                       gen_scale=gen_scale)
    expected = (raw.astype(np.float64) - offset) * scale * gen_scale
    c = ezc3d.c3d(str(src))
    assert c["parameters"]["POINT"]["SCALE"]["value"][0] > 0  # really an integer file
    assert list(c["parameters"]["ANALOG"]["OFFSET"]["value"]) == list(offset)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabkitWarning)
        out = import_c3d(src, tmp_path / "int.h5", emg_channels=["EMG1"])
    with labkit.open_session(out) as s:
        assert json.loads(s.info["c3d_header"])["format"] == "integer"
        force, emg = s.stream("force"), s.stream("emg")
    f, m = _plate(force, "fp1")
    # the default reaction convention negates; moments N.mm -> N.m
    np.testing.assert_allclose(f, -expected[:, :3], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(m, -expected[:, 3:6] * 1e-3, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(emg.data[:, 0], expected[:, 6], rtol=1e-6, atol=1e-12)
    assert np.abs(expected[:, 6]).max() > 1e-3 and np.median(f[:, 2]) > 0

# ------------------------------------------------------------------------------------ CMJ


def test_cmj_from_imported_c3d_reproduces_direct_analysis(tmp_path):
    from labkit.signal import force

    fz = np.loadtxt(_need(GRFZ))
    fs = 600.0
    assert fz.size == 1200
    ch = np.zeros((fz.size, 6))
    ch[:, 2] = -fz  # the reaction, as C3D stores it
    src = _c3d_with_plate(tmp_path / "jump.c3d", ch, ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"],
                          ["N", "N", "N", "Nmm", "Nmm", "Nmm"], ptype=2, origin_mm=[0, 0, -40], rate=fs)
    out = import_c3d(src, tmp_path / "jump.h5", test="cmj", athlete="BMC")
    params = {"weighing_s": 0.1, "takeoff_n": 10.0, "takeoff_ref": "min", "g": 9.8,
              "takeoff_hold_s": 0.0, "landing_hold_s": 0.025}
    with labkit.open_session(out) as s:
        assert len(s.trials) == 1 and s.trials["test"].iloc[0] == "cmj"
        stored = s.stream("force").data[:, 2]
    np.testing.assert_array_equal(stored, fz.astype(np.float32))  # C3D floats are float32
    df = labkit.analyze(out, {"cmj": params})
    got = df.set_index("metric")["value"]
    assert set(df["test"]) == {"cmj"} and set(df["athlete"]) == {"BMC"}
    direct = force.cmj(fz, fs, **params)
    exact = force.cmj(fz.astype(np.float32), fs, **params)
    print(f"imported C3D CMJ: takeoff {got['takeoff_s']:.4f} s, landing {got['landing_s']:.4f} s, "
          f"flight height {got['jump_height_flight_m']:.4f} m, impulse height {got['jump_height_m']:.4f} m")
    # the known answers of the recording
    assert abs(got["takeoff_s"] - 0.907) <= 1 / fs and abs(got["landing_s"] - 1.323) <= 1 / fs
    assert abs(got["jump_height_flight_m"] - 0.213) <= 1e-3
    for key, value in direct.to_dict().items():
        if isinstance(value, float) and key in got:
            # same as the direct analysis of the txt array within float32 round-off ...
            assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-6, nan_ok=True), key
            # ... and identical to the direct analysis of the float32 values the file holds
            assert got[key] == pytest.approx(exact.to_dict()[key], rel=1e-12, abs=1e-12, nan_ok=True), key


# ----------------------------------------------------------------------------- export


def _small_session(path, *, emg_rate=2000.0, t_start=1234.5, cues=True):
    from labkit.session.writer import SessionWriter
    from labkit.spec import COUNTER, PLATE_COMPONENTS, StreamSpec, emg_channel, marker_channels, plate_channel

    plates = [plate_channel(p, c) for p in ("fp1", "fp2") for c in PLATE_COMPONENTS]
    emg = [emg_channel("gluteus_maximus", "l"), emg_channel("gluteus_maximus", "r")]
    markers = [ch for m in ("LASI", "RASI", "LHEE") for ch in marker_channels(m)]
    specs = [StreamSpec("force", "force", [*plates, COUNTER], 2000.0, "float64", device={"origins_m":
                        "0.0,0.0,-0.04;0.0,0.0,-0.04"}),
             StreamSpec("emg", "emg", [*emg, COUNTER], emg_rate, "float32"),
             StreamSpec("mocap", "mocap", [*markers, COUNTER], 200.0, "float32")]
    if cues:
        specs.append(StreamSpec("cues", "markers", [labkit.ChannelSpec("cue", "", "marker")], 0.0, "string"))
    rng = np.random.default_rng(0)
    n_f, dur = 4000, 2.0
    tf = np.arange(n_f) / 2000.0
    force = np.column_stack([rng.normal(0, 5, (n_f, 2)), 400 + 300 * np.sin(np.pi * tf)[:, None],
                             rng.normal(0, 20, (n_f, 3)), rng.normal(0, 5, (n_f, 2)),
                             350 + 10 * tf[:, None], rng.normal(0, 20, (n_f, 3)), np.arange(n_f)])
    n_e = round(dur * emg_rate)
    te = np.arange(n_e) / emg_rate
    emg_data = np.column_stack([1e-3 * np.sin(2 * np.pi * 20 * te), 5e-4 * np.cos(2 * np.pi * 35 * te),
                                np.arange(n_e)]).astype(np.float32)
    n_m = 400
    tm = np.arange(n_m) / 200.0
    mk = np.column_stack([0.1 + 0.01 * k + 0.2 * np.sin(tm + k) for k in range(9)] + [np.arange(n_m)])
    mk[50:60, 6:9] = np.nan  # LHEE occluded
    with SessionWriter(path, specs, subject="A01") as w:
        w.append("force", force, t_start + tf)
        w.append("emg", emg_data, t_start + te)
        w.append("mocap", mk.astype(np.float32), t_start + tm)
        if cues:
            w.append("cues", [["go"]], [t_start + 0.5])
        w.add_event(t_start + 0.25, "Left Foot Strike", "", "operator")
        w.add_event(t_start + 1.5, "go", "", "protocol")
    return path, {"force": force, "emg": emg_data, "mocap": mk, "t_start": t_start}


def test_export_then_import_round_trip(tmp_path):
    path, orig = _small_session(tmp_path / "s.h5")
    out = tmp_path / "s.c3d"
    with pytest.warns(LabkitWarning) as rec:
        export_c3d(path, out)
    msgs = " | ".join(str(r.message) for r in rec)
    assert "cues (strings)" in msgs  # the string stream is not silently dropped
    assert "placeholder" in msgs and "resampled" not in msgs
    # read with ezc3d directly
    c = ezc3d.c3d(str(out), extract_forceplat_data=True)
    p = c["parameters"]
    assert p["POINT"]["UNITS"]["value"] == ["mm"] and p["POINT"]["RATE"]["value"][0] == 200.0
    assert p["ANALOG"]["RATE"]["value"][0] == 2000.0
    assert p["POINT"]["LABELS"]["value"] == ["LASI", "RASI", "LHEE"]
    a_labels = p["ANALOG"]["LABELS"]["value"]
    assert a_labels[:6] == ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"]
    assert a_labels[12:] == ["gluteus_maximus_l", "gluteus_maximus_r"]
    assert p["ANALOG"]["UNITS"]["value"][:6] == ["N", "N", "N", "Nmm", "Nmm", "Nmm"]
    fp = p["FORCE_PLATFORM"]
    assert list(fp["TYPE"]["value"]) == [2, 2] and fp["USED"]["value"][0] == 2
    np.testing.assert_array_equal(fp["CHANNEL"]["value"], np.arange(1, 13).reshape(2, 6).T)
    np.testing.assert_allclose(fp["ORIGIN"]["value"][:, 0], [0, 0, -40])
    assert fp["CORNERS"]["value"].shape == (3, 4, 2)
    an = c["data"]["analogs"][0]
    assert an.shape == (14, 4000)
    np.testing.assert_allclose(an[2], -orig["force"][:, 2], rtol=1e-7)  # Fz1: reaction
    np.testing.assert_allclose(an[9], -orig["force"][:, 9] * 1e3, rtol=1e-7)  # Mx2 in N.mm
    np.testing.assert_array_equal(an[12], orig["emg"][:, 0])
    # ezc3d's own platform maths sees an upward reaction in the lab (placeholder corners: z down)
    np.testing.assert_allclose(c["data"]["platform"][0]["force"][2], orig["force"][:, 2], rtol=1e-6)
    pts, res = c["data"]["points"], c["data"]["meta_points"]["residuals"][0]
    assert pts.shape == (4, 3, 400)
    np.testing.assert_allclose(pts[:3, 0].T, orig["mocap"][:, 0:3] * 1e3, rtol=1e-6)
    assert (res[2, 50:60] < 0).all() and (res[2, :50] >= 0).all()
    ev = p["EVENT"]
    assert ev["LABELS"]["value"] == ["Foot Strike", "go"] and ev["CONTEXTS"]["value"] == ["Left", "General"]
    np.testing.assert_allclose(ev["TIMES"]["value"][1], [0.25, 1.5], atol=1e-6)
    assert float(p["LABKIT"]["TIME_OFFSET"]["value"][0]) == pytest.approx(1234.5, abs=1e-9)
    # and back into a session: the original within float32 precision, on the original clock
    back = import_c3d(out, tmp_path / "back.h5")
    with labkit.open_session(path) as s0, labkit.open_session(back) as s1:
        assert s1.streams == ["emg", "force", "mocap"]
        for name in ("force", "emg", "mocap"):
            a, b = s0.stream(name), s1.stream(name)
            labels = [lab for lab in a.labels if lab != "counter"]
            assert b.labels == labels and b.rate_hz == a.rate_hz
            np.testing.assert_allclose(b.raw_times, a.raw_times, rtol=0, atol=1e-9)
            x = a.data[:, [a.labels.index(lab) for lab in labels]].astype(np.float64)
            scale = np.nanmax(np.abs(x), axis=0)
            err = np.nanmax(np.abs(b.data - x), axis=0) / scale
            print(name, "max relative error", err.max())
            assert err.max() < 1e-6
            np.testing.assert_array_equal(np.isnan(b.data), np.isnan(x))
        ev = s1.events
        assert list(ev["label"]) == ["Left Foot Strike", "go"]
        np.testing.assert_allclose(ev["time"], [1234.75, 1236.0], atol=1e-5)
        assert list(s1.stream("emg").channels["side"]) == ["l", "r"]
        assert s1.info["subject"] == "A01"
    # a second export of the imported session writes the same C3D data
    export_c3d(back, tmp_path / "again.c3d")
    c2 = ezc3d.c3d(str(tmp_path / "again.c3d"))
    np.testing.assert_array_equal(c2["data"]["analogs"], c["data"]["analogs"])
    np.testing.assert_array_equal(c2["parameters"]["FORCE_PLATFORM"]["CORNERS"]["value"],
                                  fp["CORNERS"]["value"])


def test_export_resamples_emg_at_another_rate(tmp_path):
    """EMG at 1500 Hz goes to the 2000 Hz analog rate by linear interpolation: the error
    of a sine of amplitude A at f Hz is at most A (2 pi f h)^2 / 8 with h = 1 / 1500 s."""
    path, orig = _small_session(tmp_path / "s.h5", emg_rate=1500.0, t_start=0.0, cues=False)
    out = tmp_path / "s.c3d"
    with pytest.warns(LabkitWarning) as rec:
        export_c3d(path, out)
    assert any("'emg' (emg) at 1500 Hz is resampled to the C3D analog rate 2000 Hz" in str(r.message)
               for r in rec)
    c = ezc3d.c3d(str(out))
    an = c["data"]["analogs"][0]
    t = np.arange(an.shape[1]) / 2000.0
    inside = t <= (orig["emg"].shape[0] - 1) / 1500.0
    for row, (amp, freq, fn) in zip((12, 13), ((1e-3, 20, np.sin), (5e-4, 35, np.cos)), strict=True):
        bound = amp * (2 * np.pi * freq / 1500.0) ** 2 / 8 + 1e-9
        err = np.abs(an[row, inside] - amp * fn(2 * np.pi * freq * t[inside])).max()
        print(f"EMG {freq} Hz resampling error {err:.3e} V (bound {bound:.3e})")
        assert err <= bound
        assert np.all(an[row, ~inside] == 0)  # beyond the stream's span: 0 (no missing value)
    with labkit.open_session(import_c3d(out, tmp_path / "b.h5")) as s:
        emg = s.stream("emg")
    assert emg.rate_hz == 2000.0 and emg.raw_times[-1] <= (orig["emg"].shape[0] - 1) / 1500.0 + 1e-9


def test_export_analog_rate_must_be_a_multiple(tmp_path):
    path, _ = _small_session(tmp_path / "s.h5", cues=False)
    with pytest.raises(ConfigError, match="not an integer multiple of the point rate 200"):
        export_c3d(path, tmp_path / "x.c3d", analog_rate_hz=1050.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabkitWarning)
        export_c3d(path, tmp_path / "x.c3d", analog_rate_hz=1000.0)
    c = ezc3d.c3d(str(tmp_path / "x.c3d"))
    assert c["parameters"]["ANALOG"]["RATE"]["value"][0] == 1000.0 and c["data"]["analogs"].shape[2] == 2000
    with pytest.raises(ConfigError, match=r"file exists.*overwrite=True"):
        export_c3d(path, tmp_path / "x.c3d")


@pytest.mark.parametrize("src", [PIG, GAIT], ids=["PiG-type2", "Gait-type4"])
def test_export_imported_file_keeps_plate_geometry(tmp_path, src):
    """C3D -> session -> C3D (type 2): ezc3d computes the same lab-frame plate forces and
    moments from both files (type 4 written as its calibrated loads; float32 round-off)."""
    sess = import_c3d(_need(src), tmp_path / "p.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabkitWarning)
        export_c3d(sess, tmp_path / "p.c3d")
    a = ezc3d.c3d(str(src), extract_forceplat_data=True)
    b = ezc3d.c3d(str(tmp_path / "p.c3d"), extract_forceplat_data=True)
    assert list(b["parameters"]["FORCE_PLATFORM"]["TYPE"]["value"]) == [2] * len(a["data"]["platform"])
    for pa, pb in zip(a["data"]["platform"], b["data"]["platform"], strict=True):
        np.testing.assert_allclose(pb["force"], pa["force"], atol=1e-3)  # N
        np.testing.assert_allclose(pb["moment"], pa["moment"], atol=0.05)  # N.mm
    pa_, pb_ = a["parameters"]["POINT"], b["parameters"]["POINT"]
    if "ANGLES" in pa_:
        assert pb_["ANGLES"]["value"] == pa_["ANGLES"]["value"] and pb_["ANGLE_UNITS"]["value"] == ["deg"]
        i, j = pa_["LABELS"]["value"].index("LKneeAnglesV"), pb_["LABELS"]["value"].index("LKneeAnglesV")
        np.testing.assert_allclose(b["data"]["points"][:3, j], a["data"]["points"][:3, i], rtol=1e-6)


def test_export_picks_marker_columns_wherever_they_are(tmp_path):
    """Markers after a counter and between orientation channels; the orientation is named
    in a warning, not silently dropped."""
    from labkit.session.writer import SessionWriter
    from labkit.spec import COUNTER, ChannelSpec, StreamSpec, marker_channels

    chans = [COUNTER, *marker_channels("LASI"),
             ChannelSpec("pelvis.qw", "", "orientation", extra={"segment": "pelvis", "axis": "qw"}),
             *marker_channels("RASI")]
    n = 50
    data = np.column_stack([np.arange(n), np.full((n, 3), 0.1), np.ones(n), np.full((n, 3), 0.2)])
    data[:, 2] += np.arange(n) * 1e-3
    with SessionWriter(tmp_path / "m.h5", [StreamSpec("mocap", "mocap", chans, 100.0, "float64")]) as w:
        w.append("mocap", data, np.arange(n) / 100.0)
    with pytest.warns(LabkitWarning, match=r"mocap channels \['pelvis.qw'\] \(not positions\)"):
        export_c3d(tmp_path / "m.h5", tmp_path / "m.c3d")
    c = ezc3d.c3d(str(tmp_path / "m.c3d"))
    assert c["parameters"]["POINT"]["LABELS"]["value"] == ["LASI", "RASI"]
    np.testing.assert_allclose(c["data"]["points"][:3, 0].T, data[:, 1:4] * 1e3, rtol=1e-6)
    np.testing.assert_allclose(c["data"]["points"][:3, 1].T, data[:, 5:8] * 1e3, rtol=1e-6)


def test_export_warns_about_gaps(tmp_path):
    from labkit.session.writer import SessionWriter
    from labkit.spec import PLATE_COMPONENTS, StreamSpec, plate_channel

    spec = StreamSpec("force", "force", [plate_channel("fp1", c) for c in PLATE_COMPONENTS], 1000.0,
                      "float64")
    t = np.arange(1000) / 1000.0
    keep = (t < 0.4) | (t >= 0.5)  # 100 samples lost
    data = np.column_stack([np.zeros((1000, 2)), 700 + 100 * t, np.zeros((1000, 3))])
    with SessionWriter(tmp_path / "g.h5", [spec]) as w:
        w.append("force", data[keep], t[keep])
    with pytest.warns(LabkitWarning) as rec:
        export_c3d(tmp_path / "g.h5", tmp_path / "g.c3d")
    assert any("'force' misses 100 samples" in str(r.message) for r in rec)
    an = ezc3d.c3d(str(tmp_path / "g.c3d"))["data"]["analogs"][0]
    assert an.shape == (6, 1000)
    np.testing.assert_allclose(-an[2], 700 + 100 * t, rtol=1e-6)  # a straight line bridges the gap


# ------------------------------------------------------------------------------ errors


def test_errors_are_one_line(tmp_path):
    out = tmp_path / "o.h5"
    cases = {
        tmp_path / "missing.c3d": "no such C3D file",
        tmp_path / "text.c3d": "not a C3D file",
        tmp_path / "empty.c3d": "not a C3D file (empty)",
    }
    (tmp_path / "text.c3d").write_text("time,force\n" * 100)
    (tmp_path / "empty.c3d").write_bytes(b"")
    if PIG.is_file():
        (tmp_path / "cut.c3d").write_bytes(PIG.read_bytes()[:3000])
        cases[tmp_path / "cut.c3d"] = "cannot read the C3D file"
    for src, what in cases.items():
        with pytest.raises(ConfigError) as exc:
            import_c3d(src, out)
        msg = str(exc.value)
        assert what in msg and str(src) in msg and "\n" not in msg, msg
    assert not out.exists()
    with pytest.raises(ConfigError, match="cannot be analysed from an imported file"):
        import_c3d(tmp_path / "missing.c3d", out, test="mvc")


def test_existing_output_is_kept(tmp_path):
    out = tmp_path / "o.h5"
    out.write_bytes(b"keep")
    with pytest.raises(ConfigError, match="file exists"):
        import_c3d(_need(PIG), out)
    assert out.read_bytes() == b"keep"


def test_missing_ezc3d_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ezc3d", None)  # makes `import ezc3d` raise ImportError
    for call in (lambda: import_c3d(tmp_path / "a.c3d", tmp_path / "a.h5"),
                 lambda: export_c3d(tmp_path / "a.h5", tmp_path / "a.c3d")):
        with pytest.raises(ConfigError) as exc:
            call()
        assert str(exc.value) == 'C3D import and export need ezc3d: pip install "labkit[c3d]"'


def test_truncated_data_is_warned(tmp_path):
    src = _need(PIG).read_bytes()
    cut = tmp_path / "cut.c3d"
    cut.write_bytes(src[: len(src) - 40000])
    with pytest.warns(LabkitWarning, match="truncated"):
        out = import_c3d(cut, tmp_path / "cut.h5")
    with labkit.open_session(out) as s:
        assert 0 < s.stream("mocap").n_samples < 293
        assert np.isfinite(s.stream("force").data).all()


def _fast_emg_session(path, *, force_rate=1000.0, emg_rate=58000 / 27, freq=700.0, amp=1e-3, dur=1.0):
    """Force at ``force_rate`` (a multiple of the 100 Hz markers) and one EMG channel (Trigno
    rate by default) carrying a sine of ``amp`` V at ``freq`` Hz."""
    from labkit.session.writer import SessionWriter
    from labkit.spec import COUNTER, PLATE_COMPONENTS, StreamSpec, emg_channel, marker_channels, plate_channel

    specs = [StreamSpec("force", "force", [*(plate_channel("fp1", c) for c in PLATE_COMPONENTS), COUNTER],
                        force_rate, "float64"),
             StreamSpec("emg", "emg", [emg_channel("vastus_lateralis", "r"), COUNTER], emg_rate, "float32"),
             StreamSpec("mocap", "mocap", [*marker_channels("RASI"), COUNTER], 100.0, "float32")]
    n_f, n_e, n_m = round(dur * force_rate), round(dur * emg_rate), round(dur * 100.0)
    tf, te, tm = np.arange(n_f) / force_rate, np.arange(n_e) / emg_rate, np.arange(n_m) / 100.0
    force = np.zeros((n_f, 7))
    force[:, 2] = 600.0 + 100 * np.sin(2 * np.pi * tf)
    force[:, 6] = np.arange(n_f)
    emg = np.column_stack([amp * np.sin(2 * np.pi * freq * te), np.arange(n_e)]).astype(np.float32)
    mk = np.column_stack([np.full((n_m, 3), 0.5), np.arange(n_m)]).astype(np.float32)
    with SessionWriter(path, specs) as w:
        w.append("force", force, tf)
        w.append("emg", emg, te)
        w.append("mocap", mk, tm)
    return path


def _tone_amplitudes(x, rate, freqs):
    """Least-squares amplitudes of sines at ``freqs`` (Hz) in ``x`` sampled at ``rate``."""
    t = np.arange(len(x)) / rate
    cols = [np.ones_like(t)] + [fn(2 * np.pi * f * t) for f in freqs for fn in (np.sin, np.cos)]
    coef = np.linalg.lstsq(np.column_stack(cols), x, rcond=None)[0]
    return [float(np.hypot(coef[1 + 2 * k], coef[2 + 2 * k])) for k in range(len(freqs))]


def _exported_emg(out, label="vastus_lateralis_r", span_s=1.0):
    c = ezc3d.c3d(str(out))
    rate = float(c["parameters"]["ANALOG"]["RATE"]["value"][0])
    row = _analog(c, label)
    t = np.arange(len(row)) / rate
    inside = (t > 0.05) & (t < span_s - 0.05)  # clear of the stream's edges and the 0 padding
    return rate, row[inside]


def test_export_never_aliases_a_faster_emg_stream(tmp_path):
    """Force 1000 Hz (a multiple of the markers' 100 Hz) + EMG at 2148.1 Hz with a 700 Hz sine.
    By default the analog rate covers the EMG (no downsampling; a multiple of the plate rate, so
    the plate samples stay as they are): the 700 Hz tone survives.
    With a forced 1000 Hz rate the EMG is low-passed first: no 300 Hz alias of the tone."""
    amp = 1e-3
    path = _fast_emg_session(tmp_path / "s.h5", amp=amp)
    with pytest.warns(LabkitWarning) as rec:
        export_c3d(path, tmp_path / "d.c3d")
    assert not any("low-pass" in str(r.message) for r in rec)
    rate, x = _exported_emg(tmp_path / "d.c3d")
    assert rate == 3000.0  # the smallest multiple of the 1000 Hz plates above 2148.1 Hz
    # every plate sample is a sample of the C3D: the force is not altered, only filled in
    c = ezc3d.c3d(str(tmp_path / "d.c3d"))
    fz = -_analog(c, "Fz1")  # written as the force on the subject (reaction)
    with labkit.open_session(path) as s:
        st = s.stream("force")
        orig = st.data[:, st.labels.index("fp1.Fz")]
    np.testing.assert_allclose(fz[::3][: len(orig)], orig, rtol=1e-6)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    peak = np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)]
    a700, a300 = _tone_amplitudes(x, rate, [700.0, 300.0])
    print(f"default: analog rate {rate} Hz, spectral peak {peak:.1f} Hz, 700 Hz amplitude "
          f"{a700 / amp:.3f}, 300 Hz {a300 / amp:.4f} (of the original)")
    assert abs(peak - 700.0) < 2 * rate / len(x)
    assert a700 == pytest.approx(amp, rel=0.03) and a300 < 0.01 * amp
    with pytest.warns(LabkitWarning) as rec:
        export_c3d(path, tmp_path / "f.c3d", analog_rate_hz=1000.0)
    assert any("'emg' (emg) at 2148.15 Hz is resampled to the C3D analog rate 1000 Hz" in str(r.message)
               and "low-pass" in str(r.message) for r in rec)
    rate, x = _exported_emg(tmp_path / "f.c3d")
    (a300,) = _tone_amplitudes(x, rate, [300.0])
    print(f"forced 1000 Hz: 300 Hz alias amplitude {a300 / amp:.4f} of the 700 Hz tone")
    assert rate == 1000.0 and a300 < 0.05 * amp


def test_export_warns_about_a_model_output_without_an_axis(tmp_path):
    from labkit.session.writer import SessionWriter
    from labkit.spec import COUNTER, ChannelSpec, StreamSpec, marker_channels

    model = [ChannelSpec(f"{n}.{a}", "rad", "angle", extra={"output": n, "axis": a, "c3d_group": "ANGLES"})
             for n, axes in (("LKneeAngles", "xyz"), ("LHipAngles", "xy")) for a in axes]
    specs = [StreamSpec("mocap", "mocap", [*marker_channels("RASI"), COUNTER], 100.0, "float32"),
             StreamSpec("model", "other", model, 100.0, "float64")]
    t = np.arange(50) / 100.0
    with SessionWriter(tmp_path / "s.h5", specs) as w:
        w.append("mocap", np.column_stack([np.full((50, 3), 0.5), np.arange(50)]).astype(np.float32), t)
        w.append("model", np.column_stack([0.1 * np.sin(t + k) for k in range(5)]), t)
    with pytest.warns(LabkitWarning, match="output 'LHipAngles' of 'model' lacks an axis; not exported"):
        export_c3d(tmp_path / "s.h5", tmp_path / "s.c3d")
    c = ezc3d.c3d(str(tmp_path / "s.c3d"))
    assert c["parameters"]["POINT"]["LABELS"]["value"] == ["RASI", "LKneeAngles"]
    np.testing.assert_allclose(c["data"]["points"][0, 1], np.degrees(0.1 * np.sin(t)), rtol=1e-5)
