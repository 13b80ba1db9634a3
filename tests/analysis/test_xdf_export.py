"""XDF export (``labkit export SESSION -o FILE.xdf``): pyxdf reads what labkit writes, its
synchronised times agree with labkit's, and XDF -> labkit -> XDF -> labkit keeps everything.

The session is written with the library's own writer and known clocks: a force plate whose
clock runs 2.5 s ahead and 80 ppm fast, an EMG sensor 0.7 s behind and 40 ppm slow (both with
stamp jitter and sample counters), a marker stream, clock offsets every 2 s with their
round-trip times (one slow measurement), and protocol events.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

pyxdf = pytest.importorskip("pyxdf")

import labkit  # noqa: E402
from labkit.analysis.xdf import export_xdf, import_xdf  # noqa: E402
from labkit.cli import main  # noqa: E402
from labkit.session.writer import SessionWriter  # noqa: E402
from labkit.spec import COUNTER, StreamSpec, emg_channel, plate_channel  # noqa: E402
from tests.analysis.test_xdf import write_recording  # noqa: E402

T0 = 20_000.0
DURATION_S = 30.0
CLOCKS = {"force": (2.5, 80e-6), "emg": (-0.7, -40e-6), "cues": (0.1, 0.0)}
SYNC_RMS_TOL_S = 10e-6  # the acceptance: pyxdf within 10 us RMS of labkit


def _sender(key, t):
    ahead, drift = CLOCKS[key]
    return t + ahead + drift * (t - T0)


def write_session(path, seed=5):
    rng = np.random.default_rng(seed)
    specs = [
        StreamSpec("force", "force", [plate_channel("fp1", c) for c in ("Fx", "Fy", "Fz")] + [COUNTER],
                   1000.0, "float64", "amti-1", {"manufacturer": "AMTI", "model": "BP400600"}),
        StreamSpec("emg", "emg", [emg_channel("vastus_lateralis", "r", "1"), COUNTER],
                   2148.148148148148, "float32", "trigno-1", {"manufacturer": "Delsys"}),
        StreamSpec("cues", "markers", [labkit.spec.ChannelSpec("marker")], 0.0, "string", "cues-1"),
    ]
    truth = {}
    with SessionWriter(path, specs, subject="A01", flush_interval_s=3600.0, fsync=False) as w:
        for key, rate, nch in (("force", 1000.0, 3), ("emg", 2148.148148148148, 1)):
            n = int(DURATION_S * rate)
            t = T0 + np.arange(n) / rate
            stamps = _sender(key, t) + rng.normal(0, 0.2e-3, n)
            data = np.column_stack([rng.normal(0, 100, (n, nch)), np.arange(n)])
            w.append(key, data, stamps)
            truth[key] = t
        t = T0 + np.array([1.0, 4.5, 12.0, 25.0])
        w.append("cues", np.array([["go"], ["stop"], ["go ü"], ["end"]], dtype=object), _sender("cues", t))
        truth["cues"] = t
        for key in CLOCKS:
            for k, ct in enumerate(np.arange(T0, T0 + DURATION_S, 2.0)):
                slow = k == 5  # one measurement with a 10x round trip: labkit drops it
                off = (ct - _sender(key, ct)) + rng.normal(0, 5e-6) + (3e-3 if slow else 0.0)
                w.add_clock_offset(key, ct, off, 2e-3 if slow else 1e-4)
        w.add_event(T0 + 1.0, "weigh", "", "protocol")
        w.add_event(T0 + 3.0, "trial_start", '{"test": "imtp"}', "protocol")
    return truth


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("xdf-export")
    truth = write_session(root / "s.h5")
    return root, truth, export_xdf(root / "s.h5", root / "s.xdf")


def test_pyxdf_reads_the_export_and_agrees_with_labkit(exported):
    """pyxdf (clock synchronisation and dejittering on) gives labkit's synchronised times
    within 10 us RMS; without synchronisation it gives the raw stamps and samples exactly."""
    root, truth, xdf = exported
    raw, header = pyxdf.load_xdf(xdf, synchronize_clocks=False, dejitter_timestamps=False)
    synced, _ = pyxdf.load_xdf(xdf)
    raw = {s["info"]["name"][0]: s for s in raw}
    synced = {s["info"]["name"][0]: s for s in synced}
    assert sorted(raw) == ["cues", "emg", "force", "labkit_events"]
    assert header["info"]["version"] == ["1.0"]
    with labkit.open_session(root / "s.h5") as s:
        for name in ("force", "emg", "cues"):
            st = s.stream(name)
            np.testing.assert_array_equal(raw[name]["time_stamps"], st.raw_times)
            if name == "cues":
                assert [r[0] for r in raw[name]["time_series"]] == list(st.data[:, 0])
            else:
                np.testing.assert_array_equal(raw[name]["time_series"], st.data)
            info = raw[name]["info"]
            assert info["source_id"] == [st.source_id] and info["type"] == [st.type]
            labels = [c["label"][0] for c in info["desc"][0]["channels"][0]["channel"]]
            assert labels == st.labels
            diff = synced[name]["time_stamps"] - st.times
            rms = float(np.sqrt(np.mean(diff**2)))
            ours = float(np.sqrt(np.mean((st.times - truth[name]) ** 2)))
            print(f"\n{name}: pyxdf - labkit RMS {rms * 1e6:.2f} us, max {np.max(np.abs(diff)) * 1e6:.2f} us;"
                  f" labkit - truth RMS {ours * 1e6:.2f} us")
            assert rms < SYNC_RMS_TOL_S
    events = raw["labkit_events"]
    assert [list(r) for r in events["time_series"]] == [["weigh", "", "protocol"],
                                                         ["trial_start", '{"test": "imtp"}', "protocol"]]
    np.testing.assert_array_equal(events["time_stamps"], T0 + np.array([1.0, 3.0]))


def test_labkit_to_xdf_to_labkit_keeps_streams_exactly(exported, tmp_path):
    root, _, xdf = exported
    back = import_xdf(xdf, tmp_path / "back.h5")
    with labkit.open_session(root / "s.h5") as a, labkit.open_session(back) as b:
        assert b.streams == [*a.streams, "labkit_events"]
        for name in a.streams:
            x, y = a.stream(name), b.stream(name)
            np.testing.assert_array_equal(y.raw_times, x.raw_times)
            assert (y.data == x.data).all() and y.data.dtype == x.data.dtype
            for col in ("collection_time", "offset", "rtt"):  # rtt through the footer
                np.testing.assert_array_equal(y.clock_offsets[col], x.clock_offsets[col])
            np.testing.assert_array_equal(y.times, x.times)
            assert (y.rate_hz, y.type, y.source_id, y.device) == (x.rate_hz, x.type, x.source_id, x.device)
            assert y.channels.equals(x.channels)
        # protocol events come back through labkit_events, cues as mirrored markers (at their
        # synchronised times: "go" and "weigh" both fall at 1.0 s, in either order)
        assert sorted(b.events["label"]) == sorted(["weigh", "go", "trial_start", "stop", "go ü", "end"])
        mirrored = b.events[b.events["source"] == "cues"]["time"].to_numpy()
        np.testing.assert_array_equal(mirrored, a.stream("cues").times)


def test_xdf_to_labkit_to_xdf_to_labkit_keeps_everything(tmp_path):
    """A LabRecorder-like file (tests/analysis/test_xdf.py: 8 streams, every format, jitter,
    drifting clocks, markers, an 80 kB header, an empty stream) imported, exported and
    imported again gives the first import back exactly, metadata included."""
    write_recording(tmp_path / "a.xdf")
    first = import_xdf(tmp_path / "a.xdf", tmp_path / "a.h5")
    again = import_xdf(export_xdf(first, tmp_path / "b.xdf"), tmp_path / "b.h5")
    with labkit.open_session(first) as a, labkit.open_session(again) as b:
        assert a.streams == b.streams and len(a.streams) == 8
        for name in a.streams:
            x, y = a.stream(name), b.stream(name)
            np.testing.assert_array_equal(y.raw_times, x.raw_times)
            assert (y.data == x.data).all() and y.data.dtype == x.data.dtype
            assert y.clock_offsets.equals(x.clock_offsets)
            assert y.channels.equals(x.channels) and y.device == x.device and y.rate_hz == x.rate_hz
            np.testing.assert_array_equal(y.times, x.times)
        assert a.events.equals(b.events)
    with h5py.File(first, "r") as fa, h5py.File(again, "r") as fb:
        assert fa.attrs["xdf_file_header"] == fb.attrs["xdf_file_header"]
        for name in fa["streams"]:
            for key in ("xdf_header", "xdf_footer", "xdf_stream_id"):
                assert fa["streams"][name].attrs[key] == fb["streams"][name].attrs[key]


def test_cli_export_xdf(exported, tmp_path, capsys):
    root, _, _ = exported
    out = tmp_path / "cli.xdf"
    assert main(["export", str(root / "s.h5"), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    streams, _ = pyxdf.load_xdf(out)
    assert len(streams) == 4
    assert main(["export", str(root / "s.h5"), "-o", str(out)]) == 2  # exists
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["export", str(root / "s.h5"), "-o", str(out), "--raw", "--overwrite"]) == 2
    expected = ("labkit: error: --raw/--analog-rate/--plate-convention are not for XDF export; XDF "
                "keeps the raw stamps and the clock offsets")
    assert capsys.readouterr().err.strip() == expected
