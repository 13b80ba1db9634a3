"""ECG suppression on trunk EMG (``ECG_METHODS``): onset accuracy of ``detect_onsets`` on
synthetic EMG with ECG contamination and known onsets, in short trial windows and long
recordings, at 1000 and 2148.148 Hz; the simulated athlete's ECG; edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.devices.sim.athlete import Athlete, AthleteParams
from labkit.signal import emg
from labkit.signal.emg_synth import TRIGNO_FS_HZ, score_onsets, synth_emg

RATES = (1000.0, TRIGNO_FS_HZ)


def _short(fs, seed, ecg_ratio=None):
    """A trial window like the protocol runner's: 1-1.5 s quiet (+ up to 0.5 s), one
    2.5-3 s contraction, 0.3-1 s relaxed; R wave 0.6-3 x the burst RMS, 50-150 bpm."""
    rng = np.random.default_rng(10_000 + seed)
    lead = rng.uniform(1.0, 1.5)
    burst = rng.uniform(2.5, 3.0)
    duration = lead + 0.5 + burst + rng.uniform(0.3, 1.0)
    ratio = rng.uniform(0.6, 3.0) if ecg_ratio is None else ecg_ratio
    return synth_emg(fs, duration, snr_db=rng.uniform(20, 30), rise_s=(0.005, 0.1),
                     burst_s=(burst, burst), lead_s=lead, tail_s=0.3, gap_s=(10.0, 10.0),
                     ecg_ratio=ratio, heart_rate_bpm=rng.uniform(50, 150), seed=seed)


def _long(fs, seed):
    rng = np.random.default_rng(20_000 + seed)
    return synth_emg(fs, 60.0, snr_db=rng.uniform(20, 30), rise_s=(0.005, 0.1),
                     ecg_ratio=rng.uniform(0.6, 3.0), heart_rate_bpm=rng.uniform(50, 150),
                     seed=seed)


def _pooled(sims, **kw):
    errs, n_true, n_det, n_match = [], 0, 0, 0
    for sim in sims:
        b = emg.detect_onsets(sim.x, sim.fs_hz, **kw)
        sc = score_onsets(sim.onset_s, b.onset_s)
        errs.extend(np.abs(sc.errors_s) * 1e3)
        n_true, n_det, n_match = n_true + sc.n_true, n_det + sc.n_detected, n_match + sc.n_matched
    e = np.asarray(errs)
    return {"median": float(np.median(e)), "p90": float(np.percentile(e, 90)),
            "detection": 100.0 * n_match / n_true, "false": 100.0 * (n_det - n_match) / n_true}


def _meets_targets(st):
    return (st["median"] <= 10.0 and st["p90"] <= 25.0 and st["detection"] >= 98.0
            and st["false"] <= 2.0)


@pytest.fixture(scope="module")
def short_windows():
    return [_short(fs, seed) for fs in RATES for seed in range(25)]


@pytest.fixture(scope="module")
def long_recordings():
    return [_long(fs, seed) for fs in RATES for seed in range(2)]


def test_short_windows_with_template_meet_the_emg_targets(short_windows):
    """50 windows (4.5-6 s, one 2.5-3 s burst): ECG beats in the quiet part are not
    onsets any more (without suppression most windows start with a false burst)."""
    st = _pooled(short_windows, ecg="template")
    assert _meets_targets(st), st
    none = _pooled(short_windows)
    assert not _meets_targets(none) and none["false"] > 50.0, none


def test_long_recordings_with_template_meet_the_emg_targets(long_recordings):
    st = _pooled(long_recordings, ecg="template")
    assert _meets_targets(st), st
    none = _pooled(long_recordings)
    assert not _meets_targets(none) and none["false"] > 10.0, none


def test_highpass_alone_leaves_the_qrs(short_windows):
    """The 30 Hz high-pass keeps most of the QRS energy above the 20 Hz band-pass edge:
    false bursts stay (kept for comparison; not the trunk default)."""
    st = _pooled(short_windows[::2], ecg="highpass")
    assert st["false"] > 20.0, st


def _athlete_window(fs, seed, level_v):
    """Quiet 1.5 s + 3 s contraction + 0.8 s: shaped EMG (noise 5 uV) plus the simulated
    athlete's ECG() on a left (1.0) and a right (0.6) trunk channel."""
    dur = 1.5 + 0.3 + 3.0 + 0.8
    ch = []
    onsets = []
    ecg = Athlete(AthleteParams(seed=seed)).ecg(np.arange(round(dur * fs)) / fs)
    for k, side in enumerate((1.0, 0.6)):
        sim = synth_emg(fs, dur, snr_db=20 * np.log10(level_v / 5e-6), amplitude_v=level_v,
                        burst_s=(3.0, 3.0), rise_s=(0.03, 0.03), lead_s=1.5, tail_s=0.5,
                        gap_s=(10.0, 10.0), amplitude_jitter=0.0, seed=100 * seed + k)
        ch.append(sim.x + side * ecg)
        onsets.append(sim.onset_s)
    return np.column_stack(ch), onsets


@pytest.mark.parametrize("fs", RATES)
def test_simulated_athlete_ecg_is_removed_in_trial_windows(fs):
    """The simulated athlete's ECG (150 uV R, 62 bpm; 60 % on the right) on 120-210 uV
    trunk bursts: every onset within 25 ms and no false burst with the template; without
    suppression the first burst of most channels is an ECG beat."""
    errs, early = [], 0
    for seed in range(6):
        x, onsets = _athlete_window(fs, seed, (1.2e-4, 2.1e-4)[seed % 2])
        with_t = emg.detect_onsets(x, fs, ecg="template", channels=["l", "r"])
        none = emg.detect_onsets(x, fs, channels=["l", "r"])
        for lab, on in zip(("l", "r"), onsets, strict=True):
            got = with_t[with_t["channel"] == lab]["onset_s"].to_numpy()
            assert got.size == 1, (seed, lab, got, on)
            errs.append(abs(got[0] - on[0]) * 1e3)
            first = none[none["channel"] == lab]["onset_s"].to_numpy()[0]
            early += first < on[0] - 0.025
    assert max(errs) <= 25.0 and np.median(errs) <= 10.0, errs
    assert early >= 6, early


def _qrs(t, at, amp):
    out = np.zeros_like(t)
    for off, w, a in ((-0.025, 0.008, -0.15), (0.0, 0.010, 1.0), (0.025, 0.009, -0.3)):
        out += a * np.exp(-0.5 * ((t - at - off) / w) ** 2)
    return amp * out


@pytest.mark.parametrize("fs", RATES)
def test_a_single_beat_is_enough(fs):
    rng = np.random.default_rng(5)
    t = np.arange(round(2.0 * fs)) / fs
    qrs = _qrs(t, 0.9, 1.5e-4)
    noise = 5e-6 * rng.standard_normal(t.size)
    x = emg.bandpass(noise + qrs, fs)
    ref = emg.bandpass(noise, fs)
    out, info = emg.ECG_METHODS["template"](x.reshape(-1, 1), fs)
    assert info["n_beats"] == [1]
    win = slice(round(0.7 * fs), round(1.1 * fs))
    assert np.std(out[win, 0] - ref[win]) < 0.1 * np.std(x[win] - ref[win])


def test_beats_cut_by_the_ends_and_nan_gaps():
    fs = TRIGNO_FS_HZ
    rng = np.random.default_rng(7)
    t = np.arange(round(4.0 * fs)) / fs
    beats = np.array([0.005, 0.8, 1.6, 2.4, 3.2, 3.995])  # first and last cut in half
    noise = 5e-6 * rng.standard_normal(t.size)
    x = emg.bandpass(noise + sum(_qrs(t, b, 1.5e-4) for b in beats), fs)
    ref = emg.bandpass(noise, fs)
    x[round(1.9 * fs) : round(2.0 * fs)] = np.nan
    out = emg.suppress_ecg(x, fs, method="template")
    assert np.array_equal(np.isnan(out), np.isnan(x))
    for b in beats:
        win = slice(max(0, round((b - 0.15) * fs)), round((b + 0.15) * fs))
        # a cut beat is also bent by the band-pass's odd extension at the end
        limit = 0.3 if b in (beats[0], beats[-1]) else 0.1
        assert np.std(out[win] - ref[win]) < limit * np.std(x[win] - ref[win]), b


def test_no_ecg_no_change():
    """On ECG-free EMG (limb-like, 10-30 dB) the template method finds no beat and
    returns the input: ``ecg="template"`` never moves a limb onset."""
    for fs in RATES:
        for seed in range(10):
            sim = synth_emg(fs, 6.0, snr_db=(10, 20, 30)[seed % 3], burst_s=(2.5, 3.0),
                            lead_s=1.0, tail_s=0.3, seed=seed)
            x = emg.bandpass(sim.x - sim.x.mean(), fs)
            out, info = emg.ECG_METHODS["template"](x.reshape(-1, 1), fs)
            assert info["n_beats"] == [0], (fs, seed, info)
            assert np.array_equal(out[:, 0], x)


def test_ecg_parameters_are_recorded():
    sim = _short(1000.0, 3)
    b = emg.detect_onsets(sim.x, sim.fs_hz, ecg="template")
    info = b.params["ecg_info"]
    assert b.params["ecg"] == "template" and info["n_beats"][0] >= 1
    assert info["window_s"] == (0.15, 0.15) and info["min_rr_s"] == 0.33
    with pytest.raises(Exception, match="ecg="):
        emg.detect_onsets(sim.x, sim.fs_hz, ecg="nope")
