"""C3D files as older systems and other labs write them (issue 16, items 2-4).

Each file is built here with ezc3d (or byte by byte for integer files, as
``tests/analysis/test_c3d.py`` does) so that it has exactly one property of a real-world case:

* unit spellings of older writers: ``nt`` and ``ntmm`` (Motion Analysis EVaRT/Cortex files,
  e.g. BTKData ``Input/C3DSamples/others/``), ``Newtons``, ``Nmm`` (Vicon Workstation) and
  ``mete`` (8-character unit fields of older AMTI/Vicon setups), which BTK and ezc3d pass through;
* force-plate parameters that cannot be used: a plate left in FORCE_PLATFORM:USED after it was
  unplugged from the ADC (CHANNEL names analog channels the file lacks), a plate copied without
  CORNERS, a Kistler plate whose ORIGIN holds a = b = 0 (a setup that stored only the
  sensor depth);
* a 12-bit unsigned ADC (OFFSET 2048, negative SCALE on Fz, as in older Vicon 370 and Motion
  Analysis files) whose plate amplifier was unplugged or saturated for part of the trial.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import labkit
from labkit.errors import ConfigError, LabkitWarning

ezc3d = pytest.importorskip("ezc3d", reason="ezc3d is the optional extra for C3D files (labkit[c3d])")

from labkit.analysis.c3d import import_c3d  # noqa: E402
from tests.analysis.test_c3d import _integer_c3d, _plate  # noqa: E402

POINT_RATE, RATIO = 100.0, 10  # analog frames per point frame
N_FRAMES = 40
#: a 600 x 400 mm plate centred at the lab origin, plate x = lab x, plate y = lab -y (z down)
CORNERS_MM = np.array([[300, -200, 0], [-300, -200, 0], [-300, 200, 0], [300, 200, 0]], float).T


def _channels_6(seed=1):
    """Fx Fy Fz Mx My Mz of a reaction (the force on the subject: Fz < 0 under ~700 N)."""
    rng = np.random.default_rng(seed)
    n = N_FRAMES * RATIO
    t = np.arange(n) / (POINT_RATE * RATIO)
    f = np.column_stack([30 * np.sin(5 * t), -20 * np.cos(4 * t), -(700 + 100 * np.sin(3 * t))])
    m = rng.normal(0, 5000, (n, 3))  # N.mm
    return np.column_stack([f, m])


def _write(path, analogs, labels, units, fp, *, point_units="mm", marker_mm=None, event=True):
    """A float C3D: one marker LASI (at ``marker_mm`` in POINT:UNITS), the analog channels
    (n, k), FORCE_PLATFORM entries from ``fp`` (parameter -> value) and one event."""
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = np.array([POINT_RATE])
    c["parameters"]["POINT"]["UNITS"]["value"] = [point_units]
    c["parameters"]["POINT"]["LABELS"]["value"] = ["LASI"]
    pts = np.ones((4, 1, N_FRAMES))
    pts[:3, 0] = (np.asarray([100.0, 200.0, 900.0]) if marker_mm is None else np.asarray(marker_mm))[:, None]
    c["data"]["points"] = pts
    c["parameters"]["ANALOG"]["RATE"]["value"] = np.array([POINT_RATE * RATIO])
    c["parameters"]["ANALOG"]["LABELS"]["value"] = labels
    c["parameters"]["ANALOG"]["UNITS"]["value"] = units
    c["data"]["analogs"] = np.asarray(analogs, dtype=float).T[None]
    for name, value in fp.items():
        c["parameters"]["FORCE_PLATFORM"][name]["value"] = value
    if event:
        c.add_event([0, 0.1], "Left", "Foot Strike", "", "S01", 1)
    c.write(str(path))
    return path


def _fp(n_plates, channel, corners=None, origin=None, types=None):
    return {"USED": np.array([n_plates]), "TYPE": np.array(types or [2] * n_plates),
            "CHANNEL": np.asarray(channel).reshape(-1, n_plates, order="F"),
            "CORNERS": np.repeat(CORNERS_MM[:, :, None], n_plates, axis=2) if corners is None else corners,
            "ORIGIN": np.tile([[0.0], [0.0], [-40.0]], (1, n_plates)) if origin is None else origin}


def _import(src, out, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import_c3d(src, out, **kw)
    return [str(w.message) for w in caught if issubclass(w.category, LabkitWarning)]


# ------------------------------------------------------------------ item 2: unit spellings


@pytest.mark.parametrize(("force_units", "moment_units", "point_units", "point_m"), [
    (["nt", "nt", "nt"], ["ntmm", "ntmm", "ntmm"], "mm", 1e-3),  # Motion Analysis
    (["Newtons", "Newton", "N"], ["Nmm", "N.mm", "N-mm"], "mm", 1e-3),  # Vicon Workstation
    (["N", "N", "N"], ["Nm", "N.m", "newton-meters"], "mete", 1.0),  # older AMTI/Vicon, 8-char fields
], ids=["nt-ntmm", "Newtons-Nmm", "mete-Nm"])
def test_older_unit_spellings_map_to_si(tmp_path, force_units, moment_units, point_units, point_m):
    """Spellings BTK and ezc3d accept (they pass units through): plates, markers and model
    outputs come out in N, N.m and m."""
    ch = _channels_6()
    moment_to_nm = 1e-3 if moment_units[0].lower().endswith("mm") else 1.0
    marker = np.array([100.0, 200.0, 900.0]) * (1e-3 if point_units == "mete" else 1.0)
    fp = _fp(1, range(1, 7), corners=CORNERS_MM[:, :, None] * (1e-3 if point_units == "mete" else 1.0),
             origin=np.array([[0.0], [0.0], [-40.0 * (1e-3 if point_units == "mete" else 1.0)]]))
    src = _write(tmp_path / "u.c3d", ch, ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"],
                 force_units + moment_units, fp, point_units=point_units, marker_mm=marker)
    assert _import(src, tmp_path / "u.h5") == []
    with labkit.open_session(tmp_path / "u.h5") as s:
        f, m = _plate(s.stream("force"), "fp1")
        mocap = s.stream("mocap")
    np.testing.assert_allclose(f, -ch[:, :3], rtol=1e-6)  # reaction -> load on the plate, N
    np.testing.assert_allclose(m, -ch[:, 3:] * moment_to_nm, rtol=1e-6)
    np.testing.assert_allclose(mocap.data[0], marker * point_m, rtol=1e-6)  # metres either way
    assert mocap.data[0, 2] == pytest.approx(0.9, rel=1e-6)


def test_model_output_units_of_older_spellings(tmp_path):
    """Vicon Plug-in Gait model outputs declared as ``Nmm`` and ``Newtons`` come out in N.m and N."""
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = np.array([100.0])
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    c["parameters"]["POINT"]["LABELS"]["value"] = ["LASI", "LKneeMoment", "LGRF"]
    pts = np.ones((4, 3, 10))
    pts[:3] = 1500.0
    c["data"]["points"] = pts
    c.add_parameter("POINT", "MOMENTS", ["LKneeMoment"])
    c.add_parameter("POINT", "MOMENT_UNITS", ["Nmm"])
    c.add_parameter("POINT", "FORCES", ["LGRF"])
    c.add_parameter("POINT", "FORCE_UNITS", ["Newtons"])
    c.write(str(tmp_path / "m.c3d"))
    with labkit.open_session(import_c3d(tmp_path / "m.c3d", tmp_path / "m.h5")) as s:
        model = s.stream("model")
    units = dict(zip(model.labels, model.channels["unit"], strict=True))
    assert units["LKneeMoment.x"] == "N.m" and units["LGRF.x"] == "N"
    np.testing.assert_allclose(model.data[0], [1.5] * 3 + [1500.0] * 3, rtol=1e-6)


@pytest.mark.parametrize(("where", "unit", "match"), [
    ("force", "lbf", r"ANALOG:UNITS of force channel 'Fz1' is 'lbf'; labkit reads N \(also nt, Newton, "
                     r"Newtons\) or kN"),
    ("moment", "in-lb", r"ANALOG:UNITS of moment channel 'Mx1' is 'in-lb'; labkit reads a force unit times "
                        r"a length unit: N.m, Nm, .*ntmm"),
    ("point", "furlong", r"POINT:UNITS has unit 'furlong'; labkit reads m \(also mete, meter, metre\), cm "
                         r"or mm"),
], ids=["force", "moment", "point"])
def test_unknown_unit_names_the_parameter_and_the_spellings(tmp_path, where, unit, match):
    units = ["N", "N", "N", "Nmm", "Nmm", "Nmm"]
    if where == "force":
        units[2] = unit
    elif where == "moment":
        units[3] = unit
    src = _write(tmp_path / "x.c3d", _channels_6(), ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"], units,
                 _fp(1, range(1, 7)), point_units=unit if where == "point" else "mm")
    with pytest.raises(ConfigError, match=match) as err:
        import_c3d(src, tmp_path / "x.h5")
    assert "\n" not in str(err.value) and str(src) in str(err.value)


# -------------------------------------------------------- item 3: unusable plate parameters


def _two_plates(path, defect):
    """Plate 1 fine (type 2 on channels 1-6), plate 2 with ``defect``; EMG on channel 13."""
    ch1, ch2 = _channels_6(1), _channels_6(2)
    emg = 1e-3 * np.sin(np.arange(len(ch1)) * 0.7)
    analogs = np.column_stack([ch1, ch2, emg])
    labels = [f"{c}{k}" for k in (1, 2) for c in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")] + ["L Rectus"]
    units = ["N", "N", "N", "Nmm", "Nmm", "Nmm"] * 2 + ["V"]
    channel = list(range(1, 13))
    corners = origin = None
    types = [2, 2]
    if defect == "channels":  # the plate's ADC board was removed; CHANNEL still names 14-19
        channel = list(range(1, 7)) + list(range(14, 20))
    elif defect == "corners":  # CORNERS hold plate 1 only
        corners = CORNERS_MM[:, :, None].copy()
    elif defect == "kistler-origin":  # plate 2 a Kistler (8 channels: 7-14) with a = b = 0
        types = [2, 3]
        analogs = np.column_stack([ch1, ch2, np.full((len(ch1), 2), -100.0), emg])
        labels = [*labels[:12], "fz3_2", "fz4_2", "L Rectus"]
        units = [*units[:12], "N", "N", "V"]
        channel = np.array([[*range(1, 7), 0, 0], list(range(7, 15))]).T
        origin = np.array([[0.0, 0.0], [0.0, 0.0], [-40.0, -48.0]])
    fp = _fp(2, channel, corners=corners, origin=origin, types=types)
    return _write(path, analogs, labels, units, fp), ch1


@pytest.mark.parametrize(("defect", "why"), [
    ("channels", r"FORCE_PLATFORM:CHANNEL names analog channels \[14, 15, 16, 17, 18, 19\] but the file "
                 r"has 13"),
    ("corners", r"FORCE_PLATFORM:CORNERS are missing, so the plate cannot be placed in the lab"),
    ("kistler-origin", r"it is type 3 \(Kistler\) but FORCE_PLATFORM:ORIGIN gives the sensor offsets a=0, "
                       r"b=0; both must be non-zero"),
], ids=["channels", "corners", "kistler-origin"])
def test_unusable_plate_is_dropped_and_the_rest_imported(tmp_path, defect, why):
    src, ch1 = _two_plates(tmp_path / "p.c3d", defect)
    caught = _import(src, tmp_path / "p.h5")
    assert len(caught) == 1, caught
    assert caught[0].startswith(f"{src}: force plate 2 (fp2) left out: ")
    assert __import__("re").search(why, caught[0]), caught[0]
    assert caught[0].endswith("importing everything else (those of its channels the file has stay in the "
                              "analog stream)")
    with labkit.open_session(tmp_path / "p.h5") as s:
        assert s.streams == ["analog", "emg", "force", "mocap"]
        force = s.stream("force")
        assert [p["name"] for p in force.device["c3d_plates"]] == ["fp1"]
        f, _ = _plate(force, "fp1")
        np.testing.assert_allclose(f, -ch1[:, :3], rtol=1e-6)
        assert s.stream("emg").labels == ["rectus_l"]
        np.testing.assert_allclose(s.stream("mocap").data[0], [0.1, 0.2, 0.9], rtol=1e-6)
        assert len(s.events) == 1 and s.events["label"].iloc[0] == "Left Foot Strike"
        analog = s.stream("analog")  # the dropped plate's channels, kept as they are
        assert analog.labels[:6] == ["Fx2", "Fy2", "Fz2", "Mx2", "My2", "Mz2"]
        np.testing.assert_allclose(analog.data[:, :6], _channels_6(2), rtol=1e-6)
        assert "left out" in s.info["c3d_dropped_plates"]


def test_file_with_only_an_unusable_plate(tmp_path):
    """With test= the plate is needed: the error says why it was left out. Without, the raw
    channels are imported."""
    ch = _channels_6()
    fp = _fp(1, range(1, 7), corners=np.zeros((3, 4, 1)))  # all-zero corners (an unconfigured plate)
    src = _write(tmp_path / "z.c3d", ch, ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"], ["N"] * 3 + ["Nmm"] * 3,
                 fp)
    with pytest.warns(LabkitWarning, match="left out"), \
            pytest.raises(ConfigError, match=r"test='cmj' needs a force plate, but the file has no usable "
                                             r"one \(force plate 1 \(fp1\) left out: FORCE_PLATFORM:CORNERS "
                                             r"do not span a plate"):
        import_c3d(src, tmp_path / "z.h5", test="cmj")
    assert not (tmp_path / "z.h5").exists()
    with pytest.warns(LabkitWarning, match="left out"):
        import_c3d(src, tmp_path / "z.h5")
    with labkit.open_session(tmp_path / "z.h5") as s:
        assert s.streams == ["analog", "mocap"]
        np.testing.assert_allclose(s.stream("analog").data[:, 2], ch[:, 2], rtol=1e-6)



def _c3d_without_data(path, n_frames=10):
    """A float C3D written byte by byte (ezc3d cannot write one without data): header and
    parameters for 0 points and 0 analog channels over ``n_frames`` frames, and one type-2 plate
    on analog channels 1-6, as a force-plate-only export whose analog data were never written."""
    import struct

    def param(gid, name, fmt, dims, values):
        body = struct.pack(f"<{len(values)}{fmt}", *values)
        rest = struct.pack("<bB", {"h": 2, "f": 4}[fmt], len(dims)) + bytes(dims) + body + b"\x00"
        return struct.pack("<bb", len(name), gid) + name.encode() + struct.pack("<h", 2 + len(rest)) + rest

    def group(gid, name):
        return struct.pack("<bb", len(name), -gid) + name.encode() + struct.pack("<h", 3) + b"\x00"

    recs = [group(1, "POINT"), param(1, "USED", "h", [], [0]), param(1, "SCALE", "f", [], [-1.0]),
            param(1, "RATE", "f", [], [100.0]), param(1, "FRAMES", "h", [], [n_frames]),
            group(2, "ANALOG"), param(2, "USED", "h", [], [0]), param(2, "RATE", "f", [], [1000.0]),
            group(3, "FORCE_PLATFORM"), param(3, "USED", "h", [], [1]), param(3, "TYPE", "h", [1], [2]),
            param(3, "CHANNEL", "h", [6, 1], list(range(1, 7))),
            param(3, "CORNERS", "f", [3, 4, 1], list(CORNERS_MM.T.reshape(-1))),
            param(3, "ORIGIN", "f", [3, 1], [0, 0, -40])]
    params = b"".join(recs)
    n_blocks = (4 + len(params) + 511) // 512
    params = (struct.pack("<BBBB", 1, 0x50, n_blocks, 84) + params).ljust(512 * n_blocks, b"\x00")
    header = struct.pack("<BBhhhhhfhhf", 2, 0x50, 0, 0, 1, n_frames, 0, -1.0, 2 + n_blocks, 10, 100.0)
    path.write_bytes(header.ljust(512, b"\x00") + params + b"\x00" * 512)
    return path


def test_file_with_nothing_usable_is_refused(tmp_path):
    src = _c3d_without_data(tmp_path / "empty.c3d")
    why = (r"nothing usable to import: no markers, no analog channels, no events \(force plate 1 \(fp1\) "
           r"left out: FORCE_PLATFORM:CHANNEL names analog channels \[1, 2, 3, 4, 5, 6\] "
           r"but the file has 0\)")
    with pytest.warns(LabkitWarning, match="left out"), pytest.raises(ConfigError, match=why):
        import_c3d(src, tmp_path / "empty.h5")
    assert not (tmp_path / "empty.h5").exists()


# -------------------------------------------------------- item 4: frames at the ADC limits


@pytest.mark.parametrize("case", ["unplugged", "saturated"])
def test_frames_at_the_adc_limits_are_reported_not_blamed_on_the_sign(tmp_path, case):
    """A 12-bit unsigned ADC (OFFSET 2048, SCALE -0.5 N/count on Fz as Vicon writes it): the
    subject stands on the plate (800 N) for 0.4 s, then the amplifier is unplugged (every channel
    reads the raw zero: Fz reads -1024 N, a 'negative load' over 60 % of the frames) or
    overloaded (Fz at the top rail, 4095). labkit reports the frames and does not advise the
    other plate convention."""
    n, stand = 1000, 400
    raw = np.full((n, 6), 2048, dtype=np.int16)
    raw[:, 2] = 2048 + 1600  # (raw - 2048) * -0.5 = -800 N: the reaction of 800 N of body weight
    if case == "unplugged":
        raw[stand:] = 0
    else:
        raw[stand:, 2] = 4095
    raw[:stand, 0] += np.arange(stand, dtype=np.int16) % 7  # some Fx
    scale = np.array([0.5, 0.5, -0.5, 5.0, 5.0, 5.0])
    src = _integer_c3d(tmp_path / "adc.c3d", raw, ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"],
                       ["N", "N", "N", "Nmm", "Nmm", "Nmm"], scale=scale, offset=[2048] * 6, gen_scale=1.0)
    caught = _import(src, tmp_path / "adc.h5")
    assert len(caught) == 1, caught
    msg = caught[0]
    assert f"plate fp1: {n - stand} of {n} frames (60.0%; 0.400-0.999 s) read the raw ADC zero or an ADC " \
           "rail on " in msg
    assert ("Fx1,Fy1,Fz1,Mx1,My1,Mz1:" if case == "unplugged" else "on Fz1:") in msg
    assert "unplugged, off or saturated" in msg and "plate_convention" not in msg
    with labkit.open_session(tmp_path / "adc.h5") as s:
        force = s.stream("force")
    info = force.device["c3d_plates"][0]
    assert info["adc_limit_frames"] == n - stand
    assert info["adc_limit_spans_s"] == [[pytest.approx(0.4), pytest.approx(0.999)]]
    f, _ = _plate(force, "fp1")
    np.testing.assert_allclose(f[:stand, 2], 800.0)  # load on the plate while standing
    np.testing.assert_allclose(f[stand:, 2], -1024.0 if case == "unplugged" else 1023.5)  # kept as recorded


def test_negative_load_away_from_the_adc_limits_still_advises_the_other_convention(tmp_path):
    """The same 12-bit file whose Fz channel holds the load on the plate (SCALE +0.5): no frame
    is at a limit and the sign advice stays."""
    raw = np.full((500, 6), 2048, dtype=np.int16)
    raw[:, 2] = 2048 + 1600
    src = _integer_c3d(tmp_path / "a.c3d", raw, ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"],
                       ["N", "N", "N", "Nmm", "Nmm", "Nmm"], scale=[0.5] * 6, offset=[2048] * 6,
                       gen_scale=1.0)
    caught = _import(src, tmp_path / "a.h5")
    assert len(caught) == 1 and "negative Fz under load (median -800 N)" in caught[0]
    assert "plate_convention='action'" in caught[0]
