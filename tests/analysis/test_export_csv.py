"""CSV export: every stream, channel table, event, trial and result reads back exactly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.analysis.export_csv import export_csv
from labkit.errors import SessionError
from labkit.session.results import write_result
from labkit.session.writer import SessionWriter
from labkit.spec import ChannelSpec, StreamSpec, emg_channel, plate_channel

EMG_RATE = 2148.148148148148
CUES = ["start", "Sprung ü", 'a,b "quoted"\nsecond line', "", "stop"]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A small session: float64 force with a clock 2 s ahead, float32 EMG, int16 aux with
    extra channel columns, string cues, a stream named ``events``, events, trials, results."""
    rng = np.random.default_rng(3)
    path = tmp_path_factory.mktemp("export") / "s.h5"
    streams = [
        StreamSpec("force", "force", [plate_channel("fp1", c) for c in ("Fx", "Fy", "Fz")], 1000.0,
                   "float64", source_id="fp"),
        StreamSpec("emg", "emg", [emg_channel("gluteus_maximus", "r"), emg_channel("biceps_femoris", "l")],
                   EMG_RATE, "float32", device={"model": "Trigno"}),
        StreamSpec("aux", "other", [ChannelSpec("LASI.x", "m", "position", extra={"axis": "x"}),
                                    ChannelSpec("n", "count", "counter")], 100.0, "int16"),
        StreamSpec("cues", "markers", [ChannelSpec("cue", "", "marker")], 0.0, "string"),
        StreamSpec("events", "other", [ChannelSpec("v", "V", "")], 10.0, "float64"),
        StreamSpec("fp 2:raw", "force_raw", [ChannelSpec("v", "V", "")], 10.0, "float32"),
    ]
    with SessionWriter(path, streams, subject="A01", operator="op", hardware_config="lab: sim\n",
                       protocol_text="name: imtp\n", fsync=False) as w:
        n = 3000
        t = 100.0 + np.arange(n) / 1000.0
        force = rng.normal(0, 1, (n, 3)) * 10.0 ** rng.integers(-300, 300, (n, 3))
        force[17, 1] = np.nan  # a dropped sample
        w.append("force", force, t + 2.0 + rng.normal(0, 2e-4, n))  # sender clock 2 s ahead
        for k in range(4):
            w.add_clock_offset("force", 100.0 + 1.0 * k, -2.0 - 1e-5 * k, 1e-4)
        m = 3000
        w.append("emg", rng.normal(0, 1e-4, (m, 2)).astype(np.float32), 100.0 + np.arange(m) / EMG_RATE)
        w.append("aux", np.c_[rng.integers(-32768, 32767, 300), np.arange(300)].astype(np.int16),
                 100.0 + np.arange(300) / 100.0)
        w.append("cues", np.array(CUES, dtype=object), 100.0 + np.array([0.5, 1.0, 1.5, 2.0, 2.9]))
        w.append("events", rng.normal(size=30), 100.0 + np.arange(30) / 10.0)
        w.append("fp 2:raw", rng.normal(size=(30, 1)).astype(np.float32), 100.0 + np.arange(30) / 10.0)
        w.add_event(100.5, "protocol_started", json.dumps({"name": "imtp"}), "protocol")
        w.add_event(101.0 + 1 / 3, "go", "", "protocol")
        w.add_event(102.0, "note, with comma", 'he said "hi"\nthen left', "operator")
        w.add_trial(1, "imtp", 100.2, 101.7, "valid", side="left")
        w.add_trial(2, "imtp", 102.0, float("nan"), "aborted", reason="operator stop", attempt=2)
    table = pd.DataFrame({"trial": [1, 2], "peak_force_n": [2345.678901234567, np.nan],
                          "valid": [True, False], "note": ["ok", "é, \"x\""]})
    write_result(path, "analysis", method="labkit.test", params={"a": 1}, inputs={"streams": ["force"]},
                 tables={"metrics": table},
                 arrays={"lead_s": np.array([0.1, 1 / 3]), "grid": np.arange(6.0).reshape(2, 3),
                         "cube": np.arange(8, dtype=np.int64).reshape(2, 2, 2)})
    return path


@pytest.fixture(scope="module")
def exported(session, tmp_path_factory):
    out = tmp_path_factory.mktemp("csv")
    return out, export_csv(session, out)


def read(path, **kw):
    return pd.read_csv(path, keep_default_na=False, na_values=[""], **kw)


def test_layout(exported):
    out, files = exported
    rel = sorted(p.relative_to(out).as_posix() for p in files)
    assert rel == sorted([
        "session.json", "channels.csv", "clock_offsets.csv", "events.csv", "trials.csv",
        "config/hardware.yaml", "config/protocol.yaml",
        "streams/aux.csv", "streams/cues.csv", "streams/emg.csv", "streams/events.csv", "streams/force.csv",
        "streams/fp_2_raw.csv",
        "results/analysis/metrics.csv", "results/analysis/lead_s.csv", "results/analysis/grid.csv",
        "results/analysis/cube.csv", "results/analysis/provenance.json"])
    assert all(p.is_file() for p in files)
    assert (out / "config/hardware.yaml").read_text() == "lab: sim\n"


def test_stream_values_and_synchronised_times_are_exact(session, exported):
    out, _ = exported
    with labkit.open_session(session) as s:
        for name, file in [("force", "force"), ("emg", "emg"), ("aux", "aux"), ("events", "events"),
                           ("fp 2:raw", "fp_2_raw")]:
            st = s.stream(name)
            dtypes = {lab: st.data.dtype for lab in st.labels}
            got = read(out / "streams" / f"{file}.csv", dtype=dtypes)
            assert list(got.columns) == ["time_s", *st.labels]
            np.testing.assert_array_equal(got["time_s"].to_numpy(), st.times)  # float64, bit for bit
            np.testing.assert_array_equal(got[st.labels].to_numpy(), st.data)  # NaN where dropped
            assert got[st.labels].to_numpy().dtype == st.data.dtype
        force = s.stream("force")
        assert np.abs(force.times - force.raw_times).min() > 1.9  # the offsets were applied
        emg = read(out / "streams" / "emg.csv")  # float32 read as float64 still casts back exactly
        np.testing.assert_array_equal(emg[s.stream("emg").labels].to_numpy().astype(np.float32),
                                      s.stream("emg").data)
        cues = pd.read_csv(out / "streams" / "cues.csv", keep_default_na=False)
        assert list(cues["cue"]) == CUES
        np.testing.assert_array_equal(cues["time_s"].to_numpy(), s.stream("cues").times)


def test_raw_stamps_when_not_synchronised(session, tmp_path):
    export_csv(session, tmp_path, synchronised=False)
    with labkit.open_session(session) as s:
        got = read(tmp_path / "streams" / "force.csv")
        np.testing.assert_array_equal(got["time_s"].to_numpy(), s.stream("force").raw_times)
        meta = json.loads((tmp_path / "session.json").read_text())
        assert meta["synchronised"] is False and "raw" in meta["time_s"]


def test_channels_events_trials_offsets(session, exported):
    out, _ = exported
    with labkit.open_session(session) as s:
        ch = pd.read_csv(out / "channels.csv", keep_default_na=False, dtype=str)
        assert list(ch.columns[:7]) == ["stream", "label", "unit", "type", "muscle", "side", "device_channel"]
        assert {"plate", "component", "axis"} <= set(ch.columns)
        for name in s.streams:
            mine = ch[ch["stream"] == name]
            table = s.stream(name).channels
            for col in table.columns:
                assert list(mine[col]) == list(table[col]), (name, col)
        units = dict(zip(ch["stream"] + "/" + ch["label"], ch["unit"], strict=True))
        assert units["force/fp1.Fz"] == "N" and units["emg/gluteus_maximus_r"] == "V"
        assert units["aux/LASI.x"] == "m" and units["aux/n"] == "count"
        ev = pd.read_csv(out / "events.csv", keep_default_na=False)
        pd.testing.assert_frame_equal(ev, s.events, check_dtype=False)
        assert ev["time"].to_numpy()[1] == 101.0 + 1 / 3
        tr = read(out / "trials.csv")
        expect = s.trials.reset_index(drop=True)
        pd.testing.assert_frame_equal(tr.fillna({"reason": "", "side": ""}), expect, check_dtype=False)
        assert np.isnan(tr["end"].iloc[1])
        co = read(out / "clock_offsets.csv")
        force_co = co[co["stream"] == "force"]
        pd.testing.assert_frame_equal(force_co.drop(columns="stream").reset_index(drop=True),
                                      s.stream("force").clock_offsets)
        assert set(co["stream"]) == {"force"}


def test_results_and_metadata(session, exported):
    out, _ = exported
    with labkit.open_session(session) as s:
        res = s.result("analysis")
        got = pd.read_csv(out / "results/analysis/metrics.csv", keep_default_na=False, na_values=[""])
        pd.testing.assert_frame_equal(got, res.tables["metrics"], check_dtype=False)
        assert got["peak_force_n"].iloc[0] == 2345.678901234567
        lead = pd.read_csv(out / "results/analysis/lead_s.csv")
        np.testing.assert_array_equal(lead["value"].to_numpy(), res.arrays["lead_s"])
        grid = pd.read_csv(out / "results/analysis/grid.csv")
        np.testing.assert_array_equal(grid.to_numpy(), res.arrays["grid"])
        prov = json.loads((out / "results/analysis/provenance.json").read_text())
        assert prov["method"] == "labkit.test" and prov["params"] == {"a": 1}
        assert prov["arrays"]["cube"] == {"shape": [2, 2, 2], "dtype": "int64"}
        cube = pd.read_csv(out / "results/analysis/cube.csv").to_numpy()
        cube = cube.reshape(prov["arrays"]["cube"]["shape"])
        np.testing.assert_array_equal(cube, res.arrays["cube"])
        meta = json.loads((out / "session.json").read_text())
        assert meta["session"]["subject"] == "A01" and meta["synchronised"] is True
        assert meta["streams"]["emg"]["rate_hz"] == EMG_RATE
        assert meta["streams"]["fp 2:raw"]["file"] == "streams/fp_2_raw.csv"
        assert meta["streams"]["emg"]["device"] == {"model": "Trigno"}


def test_existing_files_are_refused_unless_overwrite(session, tmp_path):
    export_csv(session, tmp_path)
    before = (tmp_path / "streams" / "force.csv").read_bytes()
    (tmp_path / "events.csv").write_text("mine\n")
    with pytest.raises(SessionError) as exc:
        export_csv(session, tmp_path, synchronised=False)
    msg = str(exc.value)
    assert "\n" not in msg and "overwrite=True" in msg and str(tmp_path) in msg
    assert (tmp_path / "events.csv").read_text() == "mine\n"  # nothing was written
    assert (tmp_path / "streams" / "force.csv").read_bytes() == before
    export_csv(session, tmp_path, synchronised=False, overwrite=True)
    assert (tmp_path / "streams" / "force.csv").read_bytes() != before
    assert (tmp_path / "events.csv").read_text() != "mine\n"


def test_not_a_session(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_text("no")
    with pytest.raises(SessionError, match="not an HDF5 file"):
        export_csv(bad, tmp_path / "out")


def _small_session(path, labels, **writer_kw):
    spec = StreamSpec("s", "other", [ChannelSpec(lab, "V", "") for lab in labels], 10.0, "float64")
    data = np.arange(5.0 * len(labels)).reshape(5, len(labels))
    with SessionWriter(path, [spec], fsync=False, **writer_kw) as w:
        w.append("s", data, 10.0 + np.arange(5) / 10.0)
    return data


def test_a_channel_labelled_time_s_is_exported(tmp_path):
    """The time column takes a name no channel has; session.json says which."""
    data = _small_session(tmp_path / "t.h5", ["time_s", "time_s_2", "v"])
    export_csv(tmp_path / "t.h5", tmp_path / "csv")
    got = read(tmp_path / "csv" / "streams" / "s.csv")
    assert list(got.columns) == ["time_s_3", "time_s", "time_s_2", "v"]
    np.testing.assert_array_equal(got[["time_s", "time_s_2", "v"]].to_numpy(), data)
    with labkit.open_session(tmp_path / "t.h5") as s:
        np.testing.assert_array_equal(got["time_s_3"].to_numpy(), s.stream("s").times)
    meta = json.loads((tmp_path / "csv" / "session.json").read_text())["streams"]["s"]
    assert meta["time_column"] == "time_s_3" and meta["columns"] == ["time_s", "time_s_2", "v"]


def test_duplicate_labels_get_unique_columns(tmp_path):
    """labkit's writer refuses duplicate labels, but a file of another HDF5 writer may have them."""
    import h5py

    path = tmp_path / "d.h5"
    data = _small_session(path, ["a", "b", "a_2", "c"])
    with h5py.File(path, "r+") as f:
        table = f["streams/s/channels"][()]
        table["label"] = [b"a", b"a", b"a_2", b"time_s"]
        del f["streams/s/channels"]
        f["streams/s"].create_dataset("channels", data=table)
    export_csv(path, tmp_path / "csv")
    got = read(tmp_path / "csv" / "streams" / "s.csv")
    assert list(got.columns) == ["time_s_2", "a", "a_3", "a_2", "time_s"]
    np.testing.assert_array_equal(got.iloc[:, 1:].to_numpy(), data)
    meta = json.loads((tmp_path / "csv" / "session.json").read_text())["streams"]["s"]
    assert meta["time_column"] == "time_s_2" and meta["columns"] == ["a", "a_3", "a_2", "time_s"]
    ch = pd.read_csv(tmp_path / "csv" / "channels.csv", keep_default_na=False, dtype=str)
    assert list(ch["label"]) == ["a", "a", "a_2", "time_s"]  # the labels as the session has them


def test_every_config_dataset_and_stream_attribute_is_exported(tmp_path):
    """/config datasets beyond hardware/protocol (an imported C3D's parameters) and stream
    attributes the Stream object does not carry (an imported XDF's headers) are not lost."""
    import h5py

    path = tmp_path / "m.h5"
    _small_session(path, ["v"], hardware_config="lab: sim\n")
    params = {"POINT": {"RATE": 100.0, "LABELS": ["LASI", "RASI"]}, "ü": "é"}
    header = '<?xml version="1.0"?><info><name>s</name><channel_count>1</channel_count></info>'
    with h5py.File(path, "r+") as f:
        f["config"].create_dataset("c3d_parameters", dtype=h5py.string_dtype(),
                                   data=json.dumps(params, ensure_ascii=False))
        f["config"].create_dataset("note", dtype=h5py.string_dtype(), data="plain text, not JSON\n")
        f["config"].create_dataset("gains", data=np.array([1.5, 2.0]))
        g = f["streams/s"]
        g.attrs["xdf_stream_id"] = np.int64(3)
        g.attrs["xdf_header"] = header
        g.attrs["xdf_footer"] = ""
    out = tmp_path / "csv"
    files = export_csv(path, out)
    rel = {p.relative_to(out).as_posix() for p in files}
    assert {"config/hardware.yaml", "config/c3d_parameters.json", "config/note.txt",
            "config/gains.json"} <= rel
    assert "config/protocol.yaml" not in rel  # empty: the session has no protocol
    assert json.loads((out / "config/c3d_parameters.json").read_text(encoding="utf-8")) == params
    assert (out / "config/note.txt").read_text(encoding="utf-8") == "plain text, not JSON\n"
    assert json.loads((out / "config/gains.json").read_text()) == [1.5, 2.0]
    meta = json.loads((out / "session.json").read_text(encoding="utf-8"))
    assert meta["config"] == {"hardware": "config/hardware.yaml", "protocol": None,
                              "c3d_parameters": "config/c3d_parameters.json", "note": "config/note.txt",
                              "gains": "config/gains.json"}
    attrs = meta["streams"]["s"]["attributes"]
    assert attrs == {"xdf_stream_id": 3, "xdf_header": header, "xdf_footer": ""}
    # a second export finds the config files and refuses before writing anything
    (out / "config/c3d_parameters.json").write_text("mine")
    with pytest.raises(SessionError, match="overwrite=True"):
        export_csv(path, out)
    assert (out / "config/c3d_parameters.json").read_text() == "mine"
