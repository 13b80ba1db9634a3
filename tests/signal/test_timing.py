"""Cross-modal timing with known answers: the simulated athlete's EMG leads, CMJ kinematics."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from labkit.devices.sim.athlete import SEGMENTS, Athlete, AthleteParams
from labkit.errors import SignalError, StreamError
from labkit.signal import timing

LABELS = [f"{m}_{s}" for s in "lr" for m in (
    "gluteus_maximus", "gluteus_medius", "rectus_femoris", "tensor_fasciae_latae", "biceps_femoris",
    "external_oblique", "internal_oblique", "multifidus")]
FORCE_HZ, EMG_HZ, MOCAP_HZ = 2000.0, 2148.148148148148, 200.0


def _streams(athlete: Athlete, seconds: float, *, emg_offset_s=0.0003, mocap_offset_s=0.0021, seed=0):
    """The athlete's signals as session-like streams on one clock (the streams start at
    different instants, like separately clocked devices after synchronisation)."""
    rng = np.random.default_rng(seed)
    tf = np.arange(int(seconds * FORCE_HZ)) / FORCE_HZ
    pl = athlete.plate_loads(tf)
    force = SimpleNamespace(data=np.column_stack([pl[:, 0, 2], pl[:, 1, 2]])
                            + 1.5 * rng.standard_normal((tf.size, 2)),
                            times=tf, labels=["fp1.Fz", "fp2.Fz"], rate_hz=FORCE_HZ)
    idx = np.arange(int(seconds * EMG_HZ))
    te = idx / EMG_HZ + emg_offset_s
    emg = SimpleNamespace(data=athlete.emg(idx, te, LABELS, EMG_HZ), times=te, labels=LABELS,
                          rate_hz=EMG_HZ)
    tm = np.arange(int(seconds * MOCAP_HZ)) / MOCAP_HZ + mocap_offset_s
    seg = athlete.segments(tm)
    mlabels = [f"{s}.{a}" for s in SEGMENTS for a in ("x", "y", "z", "qw", "qx", "qy", "qz")]
    mocap = SimpleNamespace(data=seg.reshape(tm.size, -1).astype(np.float32), times=tm, labels=mlabels,
                            rate_hz=MOCAP_HZ)
    return {"force": force, "emg": emg, "mocap": mocap}


@pytest.fixture(scope="module")
def pulls():
    a = Athlete(AthleteParams(seed=3))
    cues = [3.0, 7.0, 11.0, 15.0]
    efforts = [a.go("imtp", cue_s=c, hold_s=1.5, trial=i) for i, c in enumerate(cues)]
    return a, efforts, _streams(a, 19.0), [(c - 1.5, c + 1.5) for c in cues]


def _truth_emd_ms(athlete, columns):
    return np.array([1000.0 * athlete.params.emg_lead_s[c.rsplit("_", 1)[0]] for c in columns])


def test_electromechanical_delay_per_muscle_within_5_ms(pulls):
    """Four cued isometric pulls, 16 EMG channels at 2148.15 Hz, plates at 2000 Hz: the
    electromechanical delay of every muscle (mean over trials) is within 5 ms of the
    simulated lead (measured: <= 3.9 ms; per trial <= 7.3 ms).

    The EMG band-pass here is 2nd order from 50 Hz (a short filter); the default 4th-order
    20 Hz band-pass is checked in the next test and in tests/trials/test_emd_recorded.py
    (its zero-phase leak no longer reaches the onsets: they are refined on the causal
    band-pass; docs/emg.md). Force onset (5 SD) is 1.0-1.5 ms late at this RFD and rate.
    """
    a, efforts, streams, wins = pulls
    r = timing.session_timing(streams, wins, emg_options={"order": 2, "low_hz": 50.0})
    onset_err_ms = 1000 * (r.trials["force_onset_s"].to_numpy() - np.array([e.onset_s for e in efforts]))
    assert np.all((onset_err_ms >= 0) & (onset_err_ms <= 2.0)), onset_err_ms
    err = r.emd_ms - _truth_emd_ms(a, r.emd_ms.columns)
    print("EMD error per muscle (mean over 4 trials, ms):", err.mean().round(2).to_dict())
    assert not err.isna().any().any()
    assert err.mean().abs().max() <= 5.0
    assert err.abs().max().max() <= 10.0
    # EMD is positive and of the simulated size (20-120 ms)
    assert (r.emd_ms.mean() > 15).all() and (r.emd_ms.mean() < 125).all()
    # EMG onsets on the session clock equal the truth within the same bounds
    for tid, e in zip(r.emg_onset_s.index, efforts, strict=True):
        truth = a.emg_truth(e, LABELS)[0]
        got = r.emg_onset_s.loc[tid]
        assert max(abs(got[k] - v) for k, v in truth.items()) <= 0.010
    assert r.params["emg_options"] == {"order": 2, "low_hz": 50.0}
    assert r.params["force_channels"] == ["fp1.Fz", "fp2.Fz"]


def test_default_emg_options_are_close_and_the_order_is_right(pulls):
    a, _, streams, wins = pulls
    r = timing.session_timing(streams, wins)
    err = (r.emd_ms - _truth_emd_ms(a, r.emd_ms.columns)).to_numpy()
    assert np.median(np.abs(err)) <= 5.0 and np.max(np.abs(err)) <= 25.0
    o = r.order
    # hamstrings (120 ms lead) first, the glutes (20-30 ms) last
    assert set(o.order[:2]) == {"biceps_femoris_l", "biceps_femoris_r"}
    assert set(o.order[-4:]) == {"gluteus_maximus_l", "gluteus_maximus_r", "gluteus_medius_l",
                                 "gluteus_medius_r"}
    assert o.p_before.loc["biceps_femoris_r", "gluteus_maximus_r"] == 1.0
    pw = o.pairwise.set_index(["first", "second"])
    assert bool(pw.loc[("biceps_femoris_l", "gluteus_maximus_l"), "resolved"]) is True
    assert pw.loc[("biceps_femoris_l", "gluteus_maximus_l"), "mean_diff_ms"] == pytest.approx(100, abs=15)
    s = o.summary
    assert (s["n"] == 4).all() and (s["ci_low_ms"] <= s["mean_ms"]).all()


def test_cmj_kinematics_relative_to_force_events():
    a = Athlete(AthleteParams(seed=1, cmj_extension_lags_s={"hip": 0.01, "knee": 0.09, "ankle": 0.17}))
    efforts = [a.go("cmj", cue_s=c, trial=i) for i, c in enumerate((3.0, 9.0))]
    streams = _streams(a, 14.0)
    r = timing.session_timing(streams, [(c - 1.5, c + 3.5) for c in (3.0, 9.0)], task="cmj",
                              emg_stream=None, mocap_stream="mocap")
    assert r.emd_ms is None and r.order is None
    k = r.kinematics
    for (tid, row), e in zip(k.iterrows(), efforts, strict=True):
        lm = a.cmj_landmarks(e)
        takeoff = r.trials.set_index("trial").loc[tid, "takeoff_s"]
        assert takeoff == pytest.approx(lm["takeoff_s"], abs=0.002)
        for j, want in (("hip", -0.120), ("knee", -0.080), ("ankle", -0.040)):
            assert row[f"{j}_peak_velocity_s"] == pytest.approx(want, abs=0.005)
            onset = r.trials.set_index("trial").loc[tid, "force_onset_s"]
            assert row[f"{j}_peak_velocity_from_force_onset_ms"] == pytest.approx(
                1000 * (lm[f"{j}_peak_extension_velocity_s"] - onset), abs=5.0)
        assert row["order"] == "hip>knee>ankle" and row["proximal_to_distal"] is True
        assert row["lag_hip_knee_ms"] == pytest.approx(40, abs=5)


def test_activation_order_uncertainty_by_hand():
    df = pd.DataFrame({"a": [-100.0, -120.0, -80.0, np.nan], "b": [-90.0, -130.0, -60.0, -50.0],
                       "c": [-10.0, -20.0, -15.0, -12.0]})
    o = timing.activation_order(df, confidence=0.95)
    assert o.order == ("a", "b", "c")
    s = o.summary
    assert s.loc["a", "n"] == 3 and s.loc["a", "mean_ms"] == pytest.approx(-100.0)
    assert s.loc["a", "sd_ms"] == pytest.approx(20.0)
    # t(0.975, 2) = 4.302653: CI half-width 4.302653 * 20 / sqrt(3)
    assert s.loc["a", "ci_high_ms"] - s.loc["a", "mean_ms"] == pytest.approx(4.302653 * 20 / np.sqrt(3),
                                                                               rel=1e-6)
    # a before b in 2 of the 3 trials with both
    assert o.p_before.loc["a", "b"] == pytest.approx(2 / 3)
    assert o.p_before.loc["b", "a"] == pytest.approx(1 / 3)
    pw = o.pairwise.set_index(["first", "second"])
    assert pw.loc[("a", "b"), "n"] == 3 and not pw.loc[("a", "b"), "resolved"]
    assert pw.loc[("a", "c"), "resolved"]
    ties = timing.activation_order(df, tie_ms=15.0)
    assert ties.p_before.loc["a", "b"] == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert ties.params["tie_ms"] == 15.0
    with pytest.raises(SignalError, match=r"confidence=1\.5"):
        timing.activation_order(df, confidence=1.5)


def test_electromechanical_delay_and_errors():
    d = timing.electromechanical_delay({"vl": [0.95, 1.96, np.nan]}, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(d["vl"].to_numpy()[:2], [50.0, 40.0])
    assert np.isnan(d["vl"].iloc[2])
    with pytest.raises(SignalError, match="force_onset_s has 2 values for 3 trials"):
        timing.electromechanical_delay({"vl": [1, 2, 3]}, [1.0, 2.0])
    s = {"force": SimpleNamespace(data=np.zeros((100, 1)), times=np.arange(100) / 100, labels=["Fz"],
                                  rate_hz=100.0)}
    with pytest.raises(StreamError, match=r"no channels \['fp1.Fz', 'fp2.Fz'\]"):
        timing.session_timing(s, [(0, 1)], emg_stream=None)
    with pytest.raises(StreamError, match="stream 'emg' not found"):
        timing.session_timing(s, [(0, 1)], force_channels=["Fz"])
    with pytest.raises(SignalError, match="task='run'"):
        timing.session_timing(s, [(0, 1)], task="run")
