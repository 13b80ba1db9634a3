"""Write sessions and read them back, checking every sample, stamp, unit and label."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import labkit
from labkit.errors import ConfigError, SessionError, StreamError
from labkit.session import format as fmt
from labkit.session.results import write_result
from labkit.session.writer import ChannelSpec, SessionWriter, StreamSpec

from .streams import EMG_RATE_HZ, block, lab_streams


def _record(path, specs, seconds=3.0, chunk_s=0.1, **kw):
    written = {s.name: ([], []) for s in specs}
    counts = dict.fromkeys(written, 0)
    with SessionWriter(path, specs, subject="A07", operator="op", protocol="imtp",
                       notes="ünïcode notes", hardware_config="plates: 2\n",
                       protocol_text="name: imtp\n", **kw) as w:
        for k in range(round(seconds / chunk_s)):
            for spec in specs:
                if spec.nominal_rate_hz > 0:
                    n = round((k + 1) * chunk_s * spec.nominal_rate_hz) - counts[spec.name]
                else:
                    n = k % 2
                data, stamps = block(spec, counts[spec.name], n)
                counts[spec.name] += n
                w.append(spec.name, data, stamps)
                written[spec.name][0].append(data)
                written[spec.name][1].append(stamps)
            if "emg" in written:
                w.add_clock_offset("emg", 50.0 + k * chunk_s, 2.5 + 1e-4 * k, 2e-4)
    return {name: (np.concatenate(d), np.concatenate(t)) for name, (d, t) in written.items()}


def test_every_sample_stamp_unit_and_label_round_trips(tmp_path):
    path = tmp_path / "lab.h5"
    specs = lab_streams()
    written = _record(path, specs)
    with labkit.open_session(path) as s:
        assert s.streams == sorted(sp.name for sp in specs)
        info = s.info
        assert info["format"] == "labkit-session" and info["format_version"] == 1
        assert info["subject"] == "A07" and info["notes"] == "ünïcode notes"
        assert info["status"] == "complete" and info["labkit_version"] == labkit.__version__
        assert s.hardware_config == "plates: 2\n" and s.protocol_text == "name: imtp\n"
        for spec in specs:
            st = s.stream(spec.name)
            data, stamps = written[spec.name]
            assert st.rate_hz == spec.nominal_rate_hz  # exact float, never rounded
            assert st.type == spec.type and st.source_id == spec.source_id
            assert st.device == dict(spec.device)
            if spec.is_string:
                assert st.data.tolist() == data.tolist()
            else:
                assert st.data.dtype == np.dtype(spec.dtype)
                np.testing.assert_array_equal(st.data, data)
            np.testing.assert_array_equal(st.raw_times, stamps)
            assert st.labels == [c.label for c in spec.channels]
            assert list(st.channels["unit"]) == [c.unit for c in spec.channels]
            assert list(st.channels["muscle"]) == [c.muscle for c in spec.channels]
            assert list(st.channels["side"]) == [c.side for c in spec.channels]
            assert list(st.channels["device_channel"]) == [c.device_channel for c in spec.channels]
        assert s.stream("emg").rate_hz == EMG_RATE_HZ
        assert list(s.stream("force").channels["plate"])[:6] == ["fp1"] * 6
        offsets = s.stream("emg").clock_offsets
        np.testing.assert_allclose(offsets["offset"], 2.5 + 1e-4 * np.arange(30))
        df = s.stream("mocap").to_dataframe(synchronised=False)
        assert list(df.columns) == [c.label for c in specs[2].channels]
        np.testing.assert_array_equal(df.index.to_numpy(), written["mocap"][1])


def test_the_file_is_readable_with_plain_h5py(tmp_path):
    path = tmp_path / "plain.h5"
    written = _record(path, lab_streams(), seconds=1.0)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "labkit-session"
        np.testing.assert_array_equal(f["streams/force/data"][()], written["force"][0])
        np.testing.assert_array_equal(f["streams/force/time_stamps"][()], written["force"][1])
        labels = [x.decode() for x in f["streams/emg/channels"]["label"]]
        assert labels[0] == "gluteus_maximus_l"
        committed = dict(zip([p.decode() if isinstance(p, bytes) else p
                              for p in f["committed"].attrs["paths"]], f["committed"][()],
                             strict=True))
        assert committed["streams/force/data"] == f["streams/force/data"].shape[0]


def test_events_trials_and_updates(tmp_path):
    path = tmp_path / "ev.h5"
    spec = StreamSpec("f", "force", [ChannelSpec("fp1.Fz", "N", "force")], 1000.0)
    with SessionWriter(path, [spec], flush_interval_s=0.01) as w:
        w.add_event(1.5, "go", '{"trial": 1}', "protocol")
        w.add_trial(1, "imtp", 1.0)
        w.flush()
        w.add_trial(2, "isometric_hip_extension", 9.0, side="left", attempt=2)
        w.update_trial(1, end=6.0, status="invalid", reason="countermovement before pull")
        w.update_trial(2, status="valid")
        w.add_event(2.0, "stop", "", "protocol")
    with labkit.open_session(path) as s:
        ev = s.events
        assert ev["label"].tolist() == ["go", "stop"]
        assert ev["value"].tolist() == ['{"trial": 1}', ""]
        tr = s.trials
        assert tr.loc[1, "status"] == "invalid" and tr.loc[1, "end"] == 6.0
        assert tr.loc[1, "reason"] == "countermovement before pull"
        assert tr.loc[2, "side"] == "left" and tr.loc[2, "attempt"] == 2
        assert tr.loc[2, "status"] == "valid"


def test_results_are_never_overwritten_and_keep_provenance(tmp_path):
    import pandas as pd

    path = tmp_path / "res.h5"
    _record(path, lab_streams()[:1], seconds=0.5)
    table = pd.DataFrame({"trial": [1, 2], "peak_force_n": [2500.5, 2410.0],
                          "valid": [True, False], "reason": ["", "pretension"]})
    params = {"onset_k": 5.0, "epochs_ms": [50, 100]}
    a = write_result(path, "isometric", method="labkit.signal.force.isometric", params=params,
                     inputs={"stream": "force", "samples": [0, 1000]}, tables={"metrics": table})
    b = write_result(path, "isometric", method="labkit.signal.force.isometric",
                     params={**params, "onset_k": 3.0}, inputs={"stream": "force"},
                     arrays={"onsets_s": np.array([1.25, 3.5])})
    assert (a, b) == ("isometric", "isometric-2")
    with labkit.open_session(path) as s:
        assert s.results == ["isometric", "isometric-2"]
        r = s.result("isometric")
        assert r.provenance["params"] == params
        assert r.provenance["method"] == "labkit.signal.force.isometric"
        assert r.provenance["labkit_version"] == labkit.__version__
        assert r.provenance["inputs"] == {"stream": "force", "samples": [0, 1000]}
        pd.testing.assert_frame_equal(r.tables["metrics"], table, check_dtype=False)
        np.testing.assert_array_equal(s.result("isometric-2").arrays["onsets_s"], [1.25, 3.5])
        assert s.result("isometric-2").provenance["params"]["onset_k"] == 3.0


@pytest.mark.parametrize("compression", ["gzip", "lzf"])
def test_compressed_streams_round_trip(tmp_path, compression):
    path = tmp_path / f"{compression}.h5"
    specs = lab_streams()
    written = _record(path, specs, seconds=2.3, compression=compression)
    with labkit.open_session(path) as s:
        for spec in specs:
            if not spec.is_string:
                np.testing.assert_array_equal(s.stream(spec.name).data, written[spec.name][0])
    with h5py.File(path, "r") as f:
        assert f["streams/emg/data"].compression == compression


def test_bad_input_is_refused_with_the_field_named(tmp_path):
    spec = StreamSpec("emg", "emg", [ChannelSpec("a", "V"), ChannelSpec("b", "V")], 1000.0)
    with SessionWriter(tmp_path / "a.h5", [spec]) as w:
        with pytest.raises(StreamError, match=r"'emg'.*shape \(5, 3\).*\(n, 2\)"):
            w.append("emg", np.zeros((5, 3), np.float32), np.arange(5.0))
        with pytest.raises(StreamError, match="5 samples but 4 time stamps"):
            w.append("emg", np.zeros((5, 2), np.float32), np.arange(4.0))
        with pytest.raises(StreamError, match="no stream 'force'"):
            w.append("force", np.zeros((1, 2)), [0.0])
        with pytest.raises(StreamError, match="NaN"):
            w.append("emg", np.zeros((2, 2), np.float32), [0.0, np.nan])
        with pytest.raises(StreamError, match="cannot be stored as float32"):
            w.append("emg", np.zeros((2, 2), complex), [0.0, 1.0])
        with pytest.raises(ConfigError, match="event label is 200 bytes"):
            w.add_event(0.0, "x" * 200)
    with pytest.raises(SessionError, match="file exists"):
        SessionWriter(tmp_path / "a.h5", [spec])
    with pytest.raises(ConfigError, match="duplicate channel labels"):
        SessionWriter(tmp_path / "b.h5", [StreamSpec("s", "emg", [ChannelSpec("a"), ChannelSpec("a")],
                                                     10.0)])
    with pytest.raises(ConfigError, match="nominal_rate_hz=-1"):
        SessionWriter(tmp_path / "c.h5", [StreamSpec("s", "emg", [ChannelSpec("a")], -1)])
    with pytest.raises(ConfigError, match="stream name 'a/b'"):
        SessionWriter(tmp_path / "d.h5", [StreamSpec("a/b", "emg", [ChannelSpec("a")], 1.0)])
    with pytest.raises(ConfigError, match="dtype=complex128"):
        SessionWriter(tmp_path / "e.h5", [StreamSpec("s", "emg", [ChannelSpec("a")], 1.0,
                                                     "complex128")])
    long_marker = StreamSpec("m", "markers", [ChannelSpec("m")], 0.0, "string", max_string_bytes=8)
    with SessionWriter(tmp_path / "f.h5", [long_marker]) as w, pytest.raises(
            StreamError, match="raise max_string_bytes"):
        w.append("m", [["far too long"]], [0.0])


def test_interrupted_recording_is_marked(tmp_path):
    spec = StreamSpec("f", "force", [ChannelSpec("fz", "N")], 100.0)
    with pytest.raises(RuntimeError), SessionWriter(tmp_path / "i.h5", [spec]) as w:
        w.append("f", np.ones((10, 1), np.float32), np.arange(10) / 100)
        raise RuntimeError("operator pulled the cable")
    with labkit.open_session(tmp_path / "i.h5") as s:
        assert s.status == fmt.STATUS_INTERRUPTED
        np.testing.assert_array_equal(s.stream("f").data[:, 0], np.ones(10))


def test_counter_channel_is_used_for_exact_gaps_and_refused_when_float32_is_inexact(tmp_path):
    chans = [ChannelSpec("x", "V", "emg"), ChannelSpec("counter", "count", "counter")]
    spec = StreamSpec("emg", "emg", chans, 1000.0, "float32")
    path = tmp_path / "c.h5"
    rng = np.random.default_rng(1)
    idx = np.r_[np.arange(0, 3000), np.arange(3002, 6000)]  # two samples lost
    truth = 5.0 + idx / 1000.0
    with SessionWriter(path, [spec, StreamSpec("big", "emg", chans, 1000.0, "float32")]) as w:
        w.append("emg", np.c_[np.zeros(idx.size), idx].astype(np.float32),
                 truth + rng.normal(0, 5e-4, idx.size))
        w.append("big", np.c_[[0.0, 0.0], [2.0**24, 2.0**24 + 2]].astype(np.float32), [0.0, 0.001])
    with labkit.open_session(path) as s:
        st = s.stream("emg")
        np.testing.assert_array_equal(st.counter, idx)
        assert float(np.sqrt(np.mean((st.times - truth) ** 2))) < 2e-5
        assert s.stream("big").counter is None


def test_a_late_stream_joins_without_disturbing_the_others(tmp_path):
    path = tmp_path / "late.h5"
    first = StreamSpec("force", "force", [ChannelSpec("fz", "N")], 100.0, "float64")
    late = StreamSpec("cues", "markers", [ChannelSpec("cue")], 0.0, "string")
    with SessionWriter(path, [first], flush_interval_s=0.01) as w:
        w.append("force", np.arange(50.0), np.arange(50) / 100.0)
        w.add_event(0.1, "before")
        w.add_stream(late)
        with pytest.raises(ConfigError, match="exists"):
            w.add_stream(late)
        w.append("force", np.arange(50.0, 80.0), np.arange(50, 80) / 100.0)
        w.append("cues", [["go"], ["stop"]], [0.3, 0.6])
        w.add_event(0.3, "after")
        assert w.streams == ["force", "cues"]
    with labkit.open_session(path) as s:
        np.testing.assert_array_equal(s.stream("force").data[:, 0], np.arange(80.0))
        assert s.stream("cues").data[:, 0].tolist() == ["go", "stop"]
        assert s.events["label"].tolist() == ["before", "after"]
        assert s.status == "complete"


def test_reopen_continues_a_session_after_a_clean_close(tmp_path):
    """A resumed protocol run appends to the same file: streams, events and trials continue."""
    path = tmp_path / "resume.h5"
    force = StreamSpec("force", "force", [ChannelSpec("fz", "N"), ChannelSpec("counter", "count", "counter")],
                       100.0, "float64")
    cues = StreamSpec("cues", "markers", [ChannelSpec("cue")], 0.0, "string", max_string_bytes=64)
    with SessionWriter(path, [force, cues], subject="A01") as w:
        w.append("force", np.c_[np.arange(10.0), np.arange(10)], np.arange(10) / 100.0)
        w.append("cues", [["go"]], [0.05])
        w.add_trial(1, "imtp", 0.0, 0.09, "valid")
        w.add_event(0.05, "go")
    late = StreamSpec("emg", "emg", [ChannelSpec("x", "V")], 1000.0, "float32")
    w = SessionWriter.reopen(path, [force, cues, late])
    with labkit.open_session(path) as live:  # SWMR readers see the resumed recording
        assert live.status == "recording"
    w.append("force", np.c_[np.arange(10.0, 15.0), np.arange(10, 15)], np.arange(10, 15) / 100.0)
    w.append("cues", [["stop"]], [0.2])
    w.append("emg", np.ones((3, 1), np.float32), [0.1, 0.101, 0.102])
    w.update_trial(1, reason="kept")
    w.add_trial(2, "imtp", 0.1, 0.2, "invalid", reason="pretension")
    w.add_event(0.2, "stop")
    w.close()
    with labkit.open_session(path) as s:
        np.testing.assert_array_equal(s.stream("force").data[:, 0], np.arange(15.0))
        assert s.stream("cues").data[:, 0].tolist() == ["go", "stop"]
        assert s.stream("emg").n_samples == 3
        assert s.trials["id"].tolist() == [1, 2] and s.trials.loc[1, "reason"] == "kept"
        assert s.events["label"].tolist() == ["go", "stop"]
        assert s.status == "complete" and s.info["subject"] == "A01"
    wrong = StreamSpec("force", "force", [ChannelSpec("fz", "N")], 100.0, "float64")
    with pytest.raises(StreamError, match="2 channels in the file but 1 now"):
        SessionWriter.reopen(path, [wrong])
