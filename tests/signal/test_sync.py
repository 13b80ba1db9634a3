"""Offline clock synchronisation against synthetic clocks with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import SignalError
from labkit.signal.sync import dejitter, fit_clock_offsets, split_segments, synchronize


def _scenario(seed: int = 0, *, rate_hz: float = 500.0, duration_s: float = 300.0):
    """A sender clock 2.5 s behind the session clock, running 100 ppm slow, with 1 ms
    time-stamp jitter, a 2 s gap (dropped samples) and a clock reset (the sender's clock
    restarts from 0.7 s) two thirds of the way through.

    Returns the raw stamps, the true session times, the sample counter and the offset
    measurements (every 5 s, 50 us noise, a few high-RTT outliers).
    """
    rng = np.random.default_rng(seed)
    ppm_device = 30e-6  # device crystal also differs from nominal
    n = int(duration_s * rate_hz)
    counter = np.arange(n)
    true_t = 100.0 + counter / (rate_hz * (1 + ppm_device))
    gap = (true_t > 100.0 + 0.3 * duration_s) & (true_t < 100.0 + 0.3 * duration_s + 2.0)
    true_t, counter = true_t[~gap], counter[~gap]
    t_reset = 100.0 + 0.66 * duration_s

    def sender_clock(t):
        before = (t - 2.5) * (1 - 100e-6)
        after = 0.7 + (t - t_reset) * (1 - 100e-6)
        return np.where(t < t_reset, before, after)

    raw = sender_clock(true_t) + rng.normal(0.0, 1e-3, true_t.size)
    collection = np.arange(101.0, 100.0 + duration_s, 5.0)
    offsets = collection - sender_clock(collection) + rng.normal(0.0, 50e-6, collection.size)
    rtt = np.full(collection.size, 2e-4)
    outliers = rng.choice(collection.size, size=4, replace=False)
    offsets[outliers] += 0.02  # delayed replies: big offset error and big RTT
    rtt[outliers] = 0.04
    return raw, true_t, counter, collection, offsets, rtt


def _rms(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.mark.parametrize("use_counter", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reconstructed_times_within_0_1_ms_rms(seed, use_counter):
    raw, truth, counter, coll, offs, rtt = _scenario(seed)
    times = synchronize(raw, 500.0, collection_times_s=coll, offsets_s=offs, rtt_s=rtt,
                        sample_index=counter if use_counter else None)
    err = _rms(times, truth)
    assert err < 1e-4, f"RMS error {err * 1e3:.3f} ms"
    # the raw stamps are off by seconds: the test can fail
    assert _rms(raw, truth) > 1.0


def test_without_rtt_the_outliers_are_downweighted_by_huber():
    raw, truth, counter, coll, offs, _ = _scenario(3)
    times = synchronize(raw, 500.0, collection_times_s=coll, offsets_s=offs, sample_index=counter)
    assert _rms(times, truth) < 1e-4


def test_clock_model_finds_the_reset_and_the_drift():
    _, _, _, coll, offs, rtt = _scenario(0)
    model = fit_clock_offsets(coll, offs, rtt)
    assert len(model.segments) == 2
    first = model.segments[0]
    # offset = T - S with S = (T - 2.5)(1 - e)  =>  offset = 2.5 + S e / (1 - e)
    assert first.slope == pytest.approx(1e-4 / (1 - 1e-4), rel=0.02)
    assert first.intercept_s == pytest.approx(2.5, abs=1e-4)
    assert model.params["n_measurements_used"] == len(coll) - 4  # high-RTT ones dropped


def test_a_lone_outlier_is_not_a_clock_reset():
    t = np.arange(0.0, 100.0, 5.0)
    off = 1.0 + 0.0 * t
    off[7] += 0.5
    model = fit_clock_offsets(t, off)
    assert len(model.segments) == 1
    assert model.segments[0].intercept_s == pytest.approx(1.0, abs=1e-9)


def test_dejitter_with_counter_places_a_short_gap_exactly():
    rng = np.random.default_rng(5)
    rate = 2000.0
    idx = np.arange(20000)
    idx = idx[(idx < 7000) | (idx >= 7003)]  # three samples lost: undetectable from jitter
    truth = 10.0 + idx / rate
    raw = truth + rng.normal(0, 1e-3, idx.size)
    with_counter = dejitter(raw, rate, sample_index=idx)
    assert _rms(with_counter, truth) < 2e-5
    assert len(split_segments(raw, rate, sample_index=idx)) == 1


def test_dejitter_without_counter_splits_at_a_long_gap():
    rng = np.random.default_rng(6)
    idx = np.r_[np.arange(5000), np.arange(6000, 11000)]
    truth = idx / 1000.0
    raw = truth + rng.normal(0, 2e-4, idx.size)
    runs = split_segments(raw, 1000.0)
    assert runs == [(0, 5000), (5000, 10000)]
    assert _rms(dejitter(raw, 1000.0), truth) < 1e-5


def test_irregular_streams_are_mapped_not_dejittered():
    stamps = np.array([1.0, 4.2, 4.25, 9.0])
    out = synchronize(stamps, 0.0, collection_times_s=[0.0, 10.0], offsets_s=[2.0, 2.0])
    np.testing.assert_allclose(out, stamps + 2.0, atol=1e-12)


def test_no_offsets_leaves_stamps_on_the_session_clock():
    stamps = np.arange(100) / 100.0
    np.testing.assert_allclose(synchronize(stamps, 100.0), stamps, atol=1e-12)


def test_inputs_are_not_mutated_and_bad_shapes_are_named():
    raw = np.arange(10) / 10.0 + 0.001
    keep = raw.copy()
    dejitter(raw, 10.0)
    np.testing.assert_array_equal(raw, keep)
    with pytest.raises(SignalError, match="offsets_s"):
        fit_clock_offsets([0.0, 1.0], [1.0])
