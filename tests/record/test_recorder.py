"""The recorder on the simulated lab: real LSL streams on loopback into session files."""

from __future__ import annotations

import time

import numpy as np
import pylsl
import pytest

import labkit
from labkit.devices.sim.lab import SimulatedLab
from labkit.errors import DeviceError
from labkit.lsl.streams import create_outlet
from labkit.record.recorder import Recorder
from labkit.session.inspect import inspect_session
from labkit.spec import ChannelSpec, StreamSpec

from .labs import lab_config


def _record(lab: SimulatedLab, config, text, path, seconds: float, during=None) -> Recorder:
    rec = Recorder(config, path, config_text=text, subject="SIM01")
    rec.start()
    if during is not None:
        during(rec)
    time.sleep(seconds)
    rec.stop()
    return rec


def test_records_the_whole_lab_without_loss(tmp_path):
    config, text = lab_config()
    path = tmp_path / "lab.h5"
    with SimulatedLab(config) as lab:
        _record(lab, config, text, path, 6.0)
        lab.check()
    report = inspect_session(path)
    by_name = {s["name"]: s for s in report["streams"]}
    assert set(by_name) == {"force", "emg", "mocap", "truth"}
    for name in ("force", "emg", "mocap"):
        st = by_name[name]
        assert st["lost_samples"] == 0, (name, st["gaps"])
        assert st["effective_rate_hz"] == pytest.approx(st["nominal_rate_hz"], rel=1e-3)
        assert st["n_samples"] > 4.0 * st["nominal_rate_hz"]
        assert st["n_clock_offsets"] >= 3
    with labkit.open_session(path) as s:
        assert s.info["subject"] == "SIM01"
        assert s.hardware_config == text
        emg = s.stream("emg")
        assert emg.rate_hz == config.device("emg").rate_hz  # exact, through LSL and HDF5
        assert emg.labels[0] == "gluteus_maximus_l" and emg.labels[-1] == "counter"
        assert emg.channels.loc[0, "muscle"] == "gluteus_maximus"
        assert emg.channels.loc[0, "unit"] == "V"
        assert emg.source_id == config.source_id("emg")
        force = s.stream("force")
        assert force.labels[:3] == ["fp1.Fx", "fp1.Fy", "fp1.Fz"]
        # the athlete stands on the plates: Fz sums to body weight (80 kg) within noise
        fz = force.data[:, force.labels.index("fp1.Fz")] + force.data[:, force.labels.index("fp2.Fz")]
        assert np.median(fz) == pytest.approx(80.0 * 9.80665, rel=0.01)
        assert s.events["label"].iloc[0] == "recording_started"


def test_missing_streams_are_named_after_the_timeout(tmp_path):
    config, text = lab_config(("force", "emg"))
    rec = Recorder(config, tmp_path / "none.h5", config_text=text)
    with pytest.raises(DeviceError, match=r"streams not found after 1 s: \['force', 'emg'\]"):
        rec.start(resolve_timeout_s=1.0)
    assert not (tmp_path / "none.h5").exists()


@pytest.mark.parametrize("seconds", [pytest.param(60.0, id="60s"),
                                     pytest.param(300.0, id="300s", marks=pytest.mark.slow)])
def test_end_to_end_sync_with_rate_error_and_jitter(tmp_path, seconds):
    """100 ppm rate error and 2 ms stamp jitter: synchronised times match the true sample
    times within 0.5 ms RMS and 2 ms max."""
    config, text = lab_config(("force",), faults={"force": {"rate_error_ppm": 100.0,
                                                           "jitter_s": 0.002}})
    path = tmp_path / "sync.h5"
    with SimulatedLab(config) as lab:
        _record(lab, config, text, path, seconds)
        source = lab.sources["force"]
        with labkit.open_session(path) as s:
            st = s.stream("force")
            truth = source.true_times_for_counter(st.counter)
            raw_err = st.raw_times - truth
            err = st.times - truth
    assert np.sqrt(np.mean(raw_err**2)) > 1.5e-3  # the jitter really is there
    rms, worst = float(np.sqrt(np.mean(err**2))), float(np.max(np.abs(err)))
    assert rms < 0.5e-3, f"RMS {rms * 1e3:.3f} ms"
    assert worst < 2e-3, f"max {worst * 1e3:.3f} ms"
    assert st.effective_rate_hz() == pytest.approx(2000.0 * (1 + 100e-6), rel=2e-5)


def test_a_source_that_disappears_for_3_s_leaves_a_gap_and_the_rest_intact(tmp_path):
    config, text = lab_config(("force", "emg"), faults={"force": {"outages": [[3.0, 3.0]]}})
    path = tmp_path / "dropout.h5"
    with SimulatedLab(config) as lab:
        _record(lab, config, text, path, 10.0)
        src = lab.sources["force"]
        report = inspect_session(path)
        with labkit.open_session(path) as s:
            st = s.stream("force")
            counter = st.counter
            truth = src.true_times_for_counter(counter)
            events = s.events
    force = next(x for x in report["streams"] if x["name"] == "force")
    emg = next(x for x in report["streams"] if x["name"] == "emg")
    assert emg["lost_samples"] == 0  # the other stream is unaffected
    (gap,) = force["gaps"]
    outage_start = src.t_start + 3.0
    # the gap begins at the outage (within one sample + one chunk) and lasts >= 3 s
    assert gap["after_s"] == pytest.approx(outage_start, abs=0.02)
    assert gap["missing_samples"] >= 3.0 * 2000 * 0.99
    # data before and after are intact: values as produced, at their true times
    np.testing.assert_allclose(st.times, truth, atol=2e-3)
    (cut,) = np.flatnonzero(np.diff(counter) != 1) + 1
    for run in (slice(0, cut), slice(cut, len(counter))):
        produced = src.producer.produce(src.global_index(counter[run]), truth[run])
        np.testing.assert_allclose(st.data[run, :-1], produced, rtol=1e-6, atol=1e-4)
    labels = events["label"].tolist()
    assert "stream_stalled" in labels and "stream_resumed" in labels
    stalled = events.loc[events["label"] == "stream_stalled", "time"].iloc[0]
    assert outage_start < stalled < outage_start + 2.0


def test_cued_isometric_pulls_have_ground_truth_aligned_with_force(tmp_path):
    """Three cued IMTPs: the ground-truth onsets line up with the recorded force within one
    sample (best least-squares alignment of the model curve to the recorded data)."""
    config, text = lab_config(("force", "truth"))
    path = tmp_path / "pulls.h5"
    cue_spec = StreamSpec(f"cues-{config.source_prefix}", "markers", [ChannelSpec("cue", "", "marker")],
                          0.0, "string", source_id=f"{config.source_prefix}-cues")
    with SimulatedLab(config) as lab:
        cues = create_outlet(cue_spec)
        assert lab.wait_for_cue_streams(1, timeout_s=10)

        def protocol(rec):
            time.sleep(1.5)
            for _ in range(3):
                cues.push_sample(["task:imtp"])
                time.sleep(0.3)
                cues.push_sample(["go"])
                time.sleep(1.5)
                cues.push_sample(["stop"])
                time.sleep(1.0)

        _record(lab, config, text, path, 0.5, during=protocol)
    params = config.athlete.model_dump()
    tau = params["rise_time_constant_s"]
    with labkit.open_session(path) as s:
        assert "truth" in s.streams and any(n.startswith("cues") for n in s.streams)
        import json

        truth = [json.loads(x) for x in s.stream("truth").data[:, 0]]
        efforts = [m for m in truth if m["event"] == "effort"]
        assert len(efforts) == 3
        force = s.stream("force")
        t = force.times
        fz = force.data[:, force.labels.index("fp1.Fz")] + force.data[:, force.labels.index("fp2.Fz")]
    period = 1 / 2000.0
    for e in efforts:
        onset, base, peak = e["force_onset_s"], e["baseline"], e["peak"]
        amp = (peak - base) / (1 - np.exp(-e["time_to_peak_s"] / tau))
        win = (t > onset - 0.05) & (t < onset + 0.15)
        shifts = np.arange(-10, 11) * period

        def sse(shift, onset=onset, base=base, amp=amp, win=win):
            model = base + amp * np.clip(1 - np.exp(-(t[win] - onset - shift) / tau), 0, None)
            return float(np.sum((fz[win] - model) ** 2))

        best = shifts[int(np.argmin([sse(x) for x in shifts]))]
        assert abs(best) <= period + 1e-12, f"onset off by {best * 1e3:.2f} ms"
        assert float(pylsl.local_clock()) > onset


def test_marker_streams_are_recorded_mirrored_and_long_markers_flagged(tmp_path):
    config, text = lab_config(("force",))
    path = tmp_path / "markers.h5"
    spec = StreamSpec(f"m-{config.source_prefix}", "markers", [ChannelSpec("m", "", "marker")], 0.0,
                      "string", source_id=f"{config.source_prefix}-m")
    long_text = "é" * 3000  # 6000 bytes of UTF-8
    with SimulatedLab(config, listen_for_cues=False):
        outlet = create_outlet(spec)

        def send(rec):
            time.sleep(1.0)
            for text_ in ("task:imtp", '{"cue": "go", "trial": 2}', long_text):
                outlet.push_sample([text_])
                time.sleep(0.2)

        _record(None, config, text, path, 1.5, during=send)
    with labkit.open_session(path) as s:
        st = s.stream(spec.name)
        assert st.data[:2, 0].tolist() == ["task:imtp", '{"cue": "go", "trial": 2}']
        assert st.data[2, 0] == long_text[:2048]  # 4096 bytes = 2048 two-byte characters
        ev = s.events
        mirrored = ev[ev["source"] == spec.name]
        assert mirrored["label"].tolist()[:2] == ["task:imtp", '{"cue": "go", "trial": 2}']
        assert "marker_truncated" in ev["label"].tolist()
