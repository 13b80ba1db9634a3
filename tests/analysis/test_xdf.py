"""XDF import: a LabRecorder-like file with known clocks imports with its offsets applied.

The recording (written by ``tests/analysis/xdf_writer.py``) has known true sample times on
the recorder's clock. Each sender has its own clock: ``sender = t + ahead_s + drift * (t - T0)``;
the file holds the sender stamps (with jitter), and every 5 s a ClockOffset chunk
``(collection time on the sender's clock, recorder - sender + measurement noise)`` as
LabRecorder writes them.

* force: 2000 Hz, float64 (XDF double64), 6 channels, clock 2.5 s ahead, +100 ppm,
  0.3 ms SD stamp jitter;
* EMG: 2148.148148148148 Hz float32, 4 channels, clock 0.8 s behind, -30 ppm, 0.2 ms jitter;
* aux: 500 Hz int16 without a channel description, stamps written only on the first sample
  of each chunk (XDF deduces the others), clock 0.35 s ahead;
* markers: irregular strings, clock 1.2 s behind, +50 ppm, stamps without jitter;
* small int8/int32/int64 streams, a second stream named EMG, repeated channel labels, an
  80 kB description and a stream without samples.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

pyxdf = pytest.importorskip("pyxdf")

import labkit  # noqa: E402
from labkit.analysis.xdf import import_xdf  # noqa: E402
from labkit.errors import ConfigError, LabkitWarning, SessionError  # noqa: E402
from tests.analysis.xdf_writer import XdfWriter, stream_footer_xml, stream_header_xml  # noqa: E402

T0 = 5000.0  # recorder clock at the start (LSL clocks count from boot)
DURATION_S = 40.0
OFFSET_EVERY_S = 5.0
OFFSET_NOISE_S = 20e-6  # SD of a clock-offset measurement
EMG_RATE_TEXT = "2148.148148148148"

#: sender clocks: (seconds ahead of the recorder at T0, drift)
CLOCKS = {"force": (2.5, 100e-6), "emg": (-0.8, -30e-6), "aux": (0.35, 0.0), "markers": (-1.2, 50e-6)}

MARKERS = [(1.0, "trial_start"), (5.25, "GO"), (12.5, "Sprung ü"), (20.0, "x" * 200),
           (33.3, 'a,b "quoted"\nnext line'), (38.0, "stop")]

# 10 offset measurements with 20 us noise give ~10 us; a clock-convention slip (collection
# time taken on the wrong clock) costs 60-250 us here, ignoring the offsets 0.35-2.5 s
SYNC_RMS_TOL_S = 50e-6
SYNC_MAX_TOL_S = 100e-6


def _sender(clock: str, t: np.ndarray) -> np.ndarray:
    ahead, drift = CLOCKS[clock]
    return t + ahead + drift * (t - T0)


def _chan(label, unit, type_, **extra):
    return {"label": label, "unit": unit, "type": type_, **extra}


def write_recording(path, seed: int = 7) -> dict:
    """Write the XDF file; return what was written and the truth."""
    rng = np.random.default_rng(seed)
    truth: dict = {"streams": {}}

    def add(key, sid, clock, header, t_true, stamps, values, chunk_s, **kw):
        truth["streams"][key] = dict(sid=sid, clock=clock, header=header, t_true=t_true, stamps=stamps,
                                     values=values, chunk_s=chunk_s, **kw)

    # force: 2000 Hz double64, 6 channels
    t = T0 + 0.1 + np.arange(int(DURATION_S * 2000)) / 2000.0
    fchans = [_chan(f"fp1.{c}", "N" if c.startswith("F") else "N.m", "force", plate="fp1", component=c)
              for c in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")]
    add("force", 1, "force",
        stream_header_xml("FP 1 (AMTI)", "Force", "double64", "2000", fchans, source_id="amti-1",
                          extra_desc="<acquisition><manufacturer>AMTI</manufacturer>"
                                     "<model>BP400600</model><serial>123</serial></acquisition>"),
        t, _sender("force", t) + rng.normal(0, 0.3e-3, len(t)),
        rng.normal(0, 1, (len(t), 6)) * [10, 10, 800, 50, 50, 5], 0.05)
    # EMG: 2148.148... Hz float32, 4 channels
    rate = float(EMG_RATE_TEXT)
    t = T0 + 0.2 + np.arange(int(DURATION_S * rate)) / rate
    echans = [_chan(f"{m}_{s}", "V", "emg", muscle=m, side=s, device_channel=str(i + 1))
              for i, (m, s) in enumerate([("gluteus_maximus", "r"), ("gluteus_maximus", "l"),
                                          ("biceps_femoris", "r"), ("biceps_femoris", "l")])]
    add("emg", 2, "emg",
        stream_header_xml("EMG", "EMG", "float32", EMG_RATE_TEXT, echans, source_id="trigno-1"),
        t, _sender("emg", t) + rng.normal(0, 0.2e-3, len(t)),
        (rng.normal(0, 1e-4, (len(t), 4))).astype(np.float32), 0.0149)
    # aux: 500 Hz int16, no channel description, stamps only on each chunk's first sample
    t = T0 + 0.05 + np.arange(int(DURATION_S * 500)) / 500.0
    s_true = _sender("aux", t)
    add("aux", 3, "aux", stream_header_xml("aux", "Misc", "int16", "500", 2, source_id="aux-1"),
        t, s_true, rng.integers(-32768, 32768, (len(t), 2)).astype(np.int16), 0.1, omit_stamps=True)
    # markers: irregular strings
    t = T0 + np.array([m[0] for m in MARKERS])
    add("markers", 4, "markers",
        stream_header_xml("Markers", "Markers", "string", "0", [_chan("marker", "", "marker")],
                          source_id="cues-1"),
        t, _sender("markers", t), [[m[1]] for m in MARKERS], 1.0)
    # small streams: int32 named EMG again, int8 with repeated labels, int64 with a huge desc
    t = T0 + 1 + np.arange(300) / 100.0
    add("emg2", 5, None, stream_header_xml("EMG", "other", "int32", "100", [_chan("value", "count", "x")]),
        t, t.copy(), (np.arange(-150, 150, dtype=np.int32) * 14_000_000).reshape(-1, 1), 1.0)
    t = T0 + np.array([2.0, 2.5, 7.0, 9.125])
    add("int8", 6, None,
        stream_header_xml("tiny/int8", "Misc", "int8", "0", [_chan("x", "", ""), _chan("x", "", "")]),
        t, t.copy(), np.array([[-128, 127], [0, -1], [1, 2], [100, -100]], dtype=np.int8), 10.0)
    t = T0 + 3 + np.arange(20) / 10.0
    big = "<notes>" + "lorem ipsum " * 7000 + "</notes>"
    i64 = np.arange(20, dtype=np.int64).reshape(10, 2)
    i64[0] = [np.iinfo(np.int64).min, np.iinfo(np.int64).max]
    add("int64", 7, None, stream_header_xml(".hidden", "Misc", "int64", "10", 2, extra_desc=big),
        t[:10], t[:10].copy(), i64, 1.0)
    add("empty", 8, None, stream_header_xml("empty", "EMG", "float32", "1000", 1), np.zeros(0),
        np.zeros(0), np.zeros((0, 1), np.float32), 1.0)

    # clock offsets measured every 5 s on the recorder's clock
    collect = T0 - 0.5 + OFFSET_EVERY_S * np.arange(int(DURATION_S / OFFSET_EVERY_S) + 2)
    offsets = {}
    for st in truth["streams"].values():
        if st["clock"] is None:
            continue
        true_off = collect - _sender(st["clock"], collect)
        meas = true_off + rng.normal(0, OFFSET_NOISE_S, len(collect))
        offsets[st["sid"]] = [(float(c - o), float(o)) for c, o in zip(collect, meas, strict=True)]
        st["offsets"] = offsets[st["sid"]]

    # interleave chunks in arrival order (each chunk arrives at its last sample's true time)
    events = []
    for key, st in truth["streams"].items():
        n = len(st["t_true"])
        if n == 0:
            continue
        bins = np.floor((st["t_true"] - st["t_true"][0]) / st["chunk_s"]).astype(int)
        edges = np.flatnonzero(np.diff(bins)) + 1
        for a, b in zip([0, *edges], [*edges, n], strict=True):
            events.append((st["t_true"][b - 1], 1, key, a, b))
    for sid, rows in offsets.items():
        for c, o in rows:
            events.append((c + o, 0, sid, c, o))
    events.sort(key=lambda e: (e[0], e[1]))

    by_key = truth["streams"]
    with XdfWriter(path) as w:
        truth["file_header"] = w.file_header
        for st in by_key.values():
            w.stream_header(st["sid"], st["header"])
        last_boundary = T0
        for when, kind, key, a, b in events:
            if kind == 0:
                w.clock_offset(key, a, b)
                continue
            st = by_key[key]
            stamps = st["stamps"]
            flags = None
            if st.get("omit_stamps"):  # XDF deduces the omitted stamps as previous + 1/rate
                flags = np.zeros(b - a, bool)
                flags[0] = True
                for k in range(a + 1, b):
                    stamps[k] = stamps[k - 1] + 1.0 / 500.0
            values = st["values"][a:b]
            w.samples(st["sid"], stamps[a:b], values, write_stamp=flags)
            if when - last_boundary > 10.0:
                w.boundary()
                last_boundary = when
        for st in by_key.values():
            n = len(st["stamps"])
            footer = stream_footer_xml(float(st["stamps"][0]) if n else 0.0,
                                       float(st["stamps"][-1]) if n else 0.0, n,
                                       st.get("offsets", ()))
            st["footer"] = footer
            w.stream_footer(st["sid"], footer)
    return truth


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    root = tmp_path_factory.mktemp("xdf")
    xdf = root / "rec.xdf"
    truth = write_recording(xdf)
    out = import_xdf(xdf, root / "rec.h5")
    session = labkit.open_session(out)
    yield xdf, truth, session
    session.close()


SESSION_NAMES = {"force": "FP_1__AMTI_", "emg": "EMG", "aux": "aux", "markers": "Markers", "emg2": "EMG-2",
                 "int8": "tiny_int8", "int64": "hidden", "empty": "empty"}


def test_pyxdf_reads_the_test_writer(recording):
    """Sanity of the writer: pyxdf reads back exactly what was written."""
    xdf, truth, _ = recording
    streams, header = pyxdf.load_xdf(xdf, synchronize_clocks=False, dejitter_timestamps=False)
    by_id = {int(s["info"]["stream_id"]): s for s in streams}
    assert header["info"]["version"] == ["1.0"]
    for key, st in truth["streams"].items():
        got = by_id[st["sid"]]
        np.testing.assert_array_equal(got["time_stamps"], st["stamps"], err_msg=key)
        if key == "markers":
            assert [r[0] for r in got["time_series"]] == [m[1] for m in MARKERS]
        else:
            np.testing.assert_array_equal(got["time_series"], st["values"], err_msg=key)
        if "clock_times" in got:  # pyxdf >= 1.16.6 exposes the ClockOffset chunks
            assert list(zip(got["clock_times"], got["clock_values"], strict=True)) == st.get("offsets", [])


def test_streams_names_types_and_formats(recording):
    _, _, s = recording
    assert s.status == "complete"
    assert sorted(s.streams) == sorted(SESSION_NAMES.values())
    expect = {"force": ("force", "float64", 2000.0), "emg": ("emg", "float32", float(EMG_RATE_TEXT)),
              "aux": ("Misc", "int16", 500.0), "markers": ("markers", "string", 0.0),
              "emg2": ("other", "int32", 100.0), "int8": ("Misc", "int8", 0.0),
              "int64": ("Misc", "int64", 10.0), "empty": ("emg", "float32", 1000.0)}
    for key, (type_, dtype, rate) in expect.items():
        st = s.stream(SESSION_NAMES[key])
        assert (st.type, st.channel_format, st.rate_hz) == (type_, dtype, rate), key
        assert st.rate_hz == rate  # exact: 2148.148148148148, not rounded
        if dtype != "string":
            assert st.data.dtype == np.dtype(dtype), key


def test_samples_and_raw_stamps_are_exact(recording):
    _, truth, s = recording
    for key, st in truth["streams"].items():
        got = s.stream(SESSION_NAMES[key])
        np.testing.assert_array_equal(got.raw_times, st["stamps"], err_msg=key)  # bit for bit
        if key == "markers":
            assert list(got.data[:, 0]) == [m[1] for m in MARKERS]
        else:
            np.testing.assert_array_equal(got.data, st["values"], err_msg=key)
    i64 = s.stream("hidden").data
    assert i64[0, 0] == np.iinfo(np.int64).min and i64[0, 1] == np.iinfo(np.int64).max


def test_clock_offsets_are_stored_on_the_session_clock(recording):
    _, truth, s = recording
    for key, st in truth["streams"].items():
        co = s.stream(SESSION_NAMES[key]).clock_offsets
        if st["clock"] is None:
            assert len(co) == 0, key  # no ClockOffset chunks: stamps are on the recorder clock
            continue
        sender_ct = np.array([r[0] for r in st["offsets"]])
        off = np.array([r[1] for r in st["offsets"]])
        np.testing.assert_array_equal(co["offset"].to_numpy(), off, err_msg=key)
        np.testing.assert_array_equal(co["collection_time"].to_numpy(), sender_ct + off, err_msg=key)
        assert co["rtt"].isna().all()


def _errors(times, truth_s):
    err = np.asarray(times) - truth_s
    return float(np.sqrt(np.mean(err**2))), float(np.max(np.abs(err)))


@pytest.mark.parametrize("key", ["force", "emg", "aux", "markers"])
def test_synchronised_times_match_the_truth(recording, key):
    """``Stream.times`` applies the file's clock offsets: < 50 us RMS from the true times,
    while the raw stamps are off by the clock offset (so this fails if offsets are ignored)."""
    _, truth, s = recording
    st = truth["streams"][key]
    stream = s.stream(SESSION_NAMES[key])
    rms, worst = _errors(stream.times, st["t_true"])
    raw_rms, _ = _errors(stream.raw_times, st["t_true"])
    print(f"\n{key}: synchronised error RMS {rms * 1e6:.1f} us, max {worst * 1e6:.1f} us; "
          f"raw stamps RMS {raw_rms:.3f} s")
    assert raw_rms > 0.3
    assert rms < SYNC_RMS_TOL_S
    assert worst < SYNC_MAX_TOL_S


def test_markers_become_events_at_their_true_times(recording):
    _, truth, s = recording
    ev = s.events
    assert len(ev) == len(MARKERS)
    assert list(ev["source"]) == ["Markers"] * len(MARKERS)
    labels = [text if len(text.encode()) <= 128 else "marker" for _, text in MARKERS]
    assert list(ev["label"]) == labels
    assert ev["value"].iloc[3] == "x" * 200  # long text: label "marker", text as the value
    err = ev["time"].to_numpy() - truth["streams"]["markers"]["t_true"]
    assert np.max(np.abs(err)) < SYNC_MAX_TOL_S
    np.testing.assert_array_equal(ev["time"].to_numpy(), s.stream("Markers").times)


def test_channel_tables_survive(recording):
    _, _, s = recording
    ch = s.stream("FP_1__AMTI_").channels
    assert list(ch["label"]) == ["fp1.Fx", "fp1.Fy", "fp1.Fz", "fp1.Mx", "fp1.My", "fp1.Mz"]
    assert list(ch["unit"]) == ["N"] * 3 + ["N.m"] * 3
    assert set(ch["type"]) == {"force"} and list(ch["component"])[2] == "Fz"
    assert s.stream("FP_1__AMTI_").device == {"manufacturer": "AMTI", "model": "BP400600", "serial": "123",
                                               "hostname": "lab-pc"}
    ch = s.stream("EMG").channels
    assert list(ch["label"]) == ["gluteus_maximus_r", "gluteus_maximus_l", "biceps_femoris_r",
                                 "biceps_femoris_l"]
    assert list(ch["muscle"]) == ["gluteus_maximus"] * 2 + ["biceps_femoris"] * 2
    assert list(ch["side"]) == ["r", "l", "r", "l"] and set(ch["unit"]) == {"V"}
    assert list(ch["device_channel"]) == ["1", "2", "3", "4"]
    ch = s.stream("aux").channels  # no description: defaults
    assert list(ch["label"]) == ["ch0", "ch1"] and set(ch["unit"]) == {""}
    assert list(s.stream("tiny_int8").channels["label"]) == ["x_0", "x_1"]


def test_xdf_metadata_is_kept_verbatim(recording):
    _, truth, s = recording
    import h5py

    with h5py.File(s.path, "r") as f:
        assert f.attrs["source_format"] == "xdf" and f.attrs["source_file"] == "rec.xdf"
        assert f.attrs["xdf_file_header"] == truth["file_header"]
        assert f.attrs["import_method"] == "labkit.analysis.xdf.import_xdf"
        for key, st in truth["streams"].items():
            g = f["streams"][SESSION_NAMES[key]]
            assert g.attrs["xdf_stream_id"] == st["sid"]
            assert g.attrs["xdf_header"] == st["header"]  # the 80 kB one too
            assert g.attrs["xdf_footer"] == st["footer"]
    assert len(truth["streams"]["int64"]["header"]) > 80_000


def test_peer_pyxdf_synchronisation(recording):
    """pyxdf's own synchronisation (clock sync + dejitter) of the same file agrees with labkit's."""
    xdf, truth, s = recording
    streams, _ = pyxdf.load_xdf(xdf, synchronize_clocks=True, dejitter_timestamps=True)
    by_id = {int(x["info"]["stream_id"]): x for x in streams}
    for key in ("force", "emg", "aux", "markers"):
        st = truth["streams"][key]
        peer = by_id[st["sid"]]["time_stamps"]
        ours = s.stream(SESSION_NAMES[key]).times
        diff_rms, diff_max = _errors(ours, peer)
        peer_rms, peer_max = _errors(peer, st["t_true"])
        print(f"\n{key}: labkit - pyxdf RMS {diff_rms * 1e6:.1f} us, max {diff_max * 1e6:.1f} us; "
              f"pyxdf vs truth RMS {peer_rms * 1e6:.1f} us, max {peer_max * 1e6:.1f} us")
        assert diff_rms < SYNC_RMS_TOL_S


# -- errors ----------------------------------------------------------------------------


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_not_an_xdf_file(tmp_path):
    bad = tmp_path / "notes.xdf"
    bad.write_text("time,force\n0,1\n")
    with pytest.raises(ConfigError) as exc:
        import_xdf(bad, tmp_path / "out.h5")
    msg = _one_line(exc)
    assert str(bad) in msg and "not an XDF file" in msg
    (tmp_path / "empty.xdf").write_bytes(b"")
    with pytest.raises(ConfigError, match="not an XDF file"):
        import_xdf(tmp_path / "empty.xdf", tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()
    with pytest.raises(ConfigError, match="no such file"):
        import_xdf(tmp_path / "missing.xdf", tmp_path / "out.h5")


def test_truncated_file(recording, tmp_path):
    xdf, truth, _ = recording
    cut = tmp_path / "cut.xdf"
    raw = xdf.read_bytes()
    cut.write_bytes(raw[: int(len(raw) * 0.6)])
    with pytest.raises(ConfigError) as exc:
        import_xdf(cut, tmp_path / "cut.h5")
    msg = _one_line(exc)
    assert str(cut) in msg and "truncated" in msg and "allow_truncated=True" in msg
    assert list(tmp_path.iterdir()) == [cut]  # no session, no temporary file left
    # the complete chunks before the cut import on request: exact prefixes of every stream,
    # with a LabkitWarning (the CLI prints it) naming the file and what was dropped
    with pytest.warns(LabkitWarning) as warned:
        out = import_xdf(cut, tmp_path / "cut.h5", allow_truncated=True)
    notices = [str(w.message) for w in warned if issubclass(w.category, LabkitWarning)]
    assert len(notices) == 1 and "\n" not in notices[0]
    assert notices[0].startswith(f"{cut}: truncated: chunk") and "complete chunks" in notices[0]
    assert warned[0].filename == __file__  # stacklevel points at the caller
    with labkit.open_session(out) as s:
        force, written = s.stream("FP_1__AMTI_"), truth["streams"]["force"]
        n = force.n_samples
        assert 0.3 * len(written["stamps"]) < n < 0.8 * len(written["stamps"])
        np.testing.assert_array_equal(force.raw_times, written["stamps"][:n])
        np.testing.assert_array_equal(force.data, written["values"][:n])
        params = json.loads(s.info["import_params"])
        assert params["truncated"].startswith("truncated: chunk") and params["bytes_imported"] < len(raw)


def test_damaged_header(tmp_path):
    path = tmp_path / "bad.xdf"
    with XdfWriter(path) as w:
        w.stream_header(1, stream_header_xml("x", "EEG", "float128", "100", 1))
    with pytest.raises(ConfigError) as exc:
        import_xdf(path, tmp_path / "bad.h5")
    msg = _one_line(exc)
    assert str(path) in msg and "channel_format='float128'" in msg
    raw = bytearray(path.read_bytes())
    path.write_bytes(b"XDF:" + bytes([3]) + raw[5:])  # an invalid length field
    with pytest.raises(ConfigError, match="invalid length field"):
        import_xdf(path, tmp_path / "bad.h5")


def test_existing_output_is_refused(recording, tmp_path):
    xdf, _, _ = recording
    out = tmp_path / "s.h5"
    out.write_bytes(b"keep me")
    with pytest.raises(SessionError) as exc:
        import_xdf(xdf, out)
    assert "overwrite=True" in _one_line(exc) and out.read_bytes() == b"keep me"
    import_xdf(xdf, out, overwrite=True)
    with labkit.open_session(out) as s:
        assert "Markers" in s.streams


def test_compressed_xdfz(recording, tmp_path):
    import gzip

    xdf, truth, _ = recording
    z = tmp_path / "rec.xdfz"
    with gzip.open(z, "wb") as f:
        f.write(xdf.read_bytes())
    with labkit.open_session(import_xdf(z, tmp_path / "z.h5")) as s:
        np.testing.assert_array_equal(s.stream("EMG").raw_times, truth["streams"]["emg"]["stamps"])


@pytest.mark.parametrize("name", ["REC.XDFZ", "rec.Xdf.Gz", "rec_compressed.xdf"])
def test_compressed_file_is_recognised_by_its_gzip_magic(recording, tmp_path, name):
    """Upper-case suffixes, ``.xdf.gz`` in any case and even a gzip file named ``.xdf``."""
    import gzip

    xdf, truth, _ = recording
    z = tmp_path / name
    with gzip.open(z, "wb") as f:
        f.write(xdf.read_bytes())
    with labkit.open_session(import_xdf(z, tmp_path / "z.h5")) as s:
        np.testing.assert_array_equal(s.stream("EMG").raw_times, truth["streams"]["emg"]["stamps"])
        np.testing.assert_array_equal(s.stream("EMG").data, truth["streams"]["emg"]["values"])


def test_truncated_compressed_file(recording, tmp_path):
    """A gzip file cut short (a killed recorder) is refused, and imports its whole chunks on request."""
    import gzip

    xdf, truth, _ = recording
    raw = gzip.compress(xdf.read_bytes())
    z = tmp_path / "CUT.XDFZ"
    z.write_bytes(raw[: int(len(raw) * 0.6)])
    with pytest.raises(ConfigError) as exc:
        import_xdf(z, tmp_path / "z.h5")
    assert str(z) in _one_line(exc) and "allow_truncated=True" in _one_line(exc)
    with pytest.warns(LabkitWarning, match="complete chunks"):
        out = import_xdf(z, tmp_path / "z.h5", allow_truncated=True)
    with labkit.open_session(out) as s:
        force, written = s.stream("FP_1__AMTI_"), truth["streams"]["force"]
        assert 0 < force.n_samples < len(written["stamps"])
        np.testing.assert_array_equal(force.data, written["values"][: force.n_samples])


def test_missing_pyxdf_says_how_to_install(recording, tmp_path, monkeypatch):
    xdf, _, _ = recording
    monkeypatch.setitem(sys.modules, "pyxdf", None)  # as if the extra were not installed
    with pytest.raises(ConfigError) as exc:
        import_xdf(xdf, tmp_path / "x.h5")
    assert 'pip install "labkit[xdf]"' in _one_line(exc)


def test_importing_labkit_does_not_import_pyxdf():
    code = "import sys, labkit, labkit.analysis.xdf; print('pyxdf' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_output_must_not_replace_the_source(recording, tmp_path):
    xdf, _, _ = recording
    copy = tmp_path / "same.xdf"
    shutil.copy(xdf, copy)
    with pytest.raises(SessionError, match="replace the XDF file"):
        import_xdf(copy, copy, overwrite=True)
    assert copy.read_bytes() == xdf.read_bytes()


def test_imported_session_exports_to_csv(recording, tmp_path):
    """The path the CLI takes: XDF -> session -> CSV, times synchronised, units kept."""
    import pandas as pd

    from labkit.analysis.export_csv import export_csv

    _, truth, s = recording
    export_csv(s.path, tmp_path)
    emg = pd.read_csv(tmp_path / "streams" / "EMG.csv", dtype={"gluteus_maximus_r": np.float32})
    rms, _ = _errors(emg["time_s"].to_numpy(), truth["streams"]["emg"]["t_true"])
    assert rms < SYNC_RMS_TOL_S
    written = truth["streams"]["emg"]["values"][:, 0]
    np.testing.assert_array_equal(emg["gluteus_maximus_r"].to_numpy(), written)
    ch = pd.read_csv(tmp_path / "channels.csv", keep_default_na=False)
    assert list(ch[ch["stream"] == "FP_1__AMTI_"]["unit"]) == ["N"] * 3 + ["N.m"] * 3
    # nothing of the XDF metadata is lost in the CSV export either
    meta = json.loads((tmp_path / "session.json").read_text(encoding="utf-8"))
    assert meta["session"]["xdf_file_header"] == truth["file_header"]
    for key, name in SESSION_NAMES.items():
        st = truth["streams"][key]
        assert meta["streams"][name]["attributes"] == {
            "xdf_stream_id": st["sid"], "xdf_header": st["header"], "xdf_footer": st["footer"]}
