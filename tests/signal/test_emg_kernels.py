"""Kernels of labkit/signal/_emg_kernels.py agree with tests/reference/emg_reference.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal as sps

from labkit.signal import _emg_kernels as K
from labkit.signal import emg
from tests.reference import emg_reference as R

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def signals(draw, min_n=3, max_n=300, nan=True):
    n = draw(st.integers(min_n, max_n))
    n_ch = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_ch)) * draw(st.sampled_from([1e-4, 1.0, 1e3]))
    if nan and draw(st.booleans()):
        k = draw(st.integers(1, max(1, n // 10)))
        x[rng.integers(0, n, k), rng.integers(0, n_ch, k)] = np.nan
    return x


def _offset(x, draw_offset):
    return (np.nan_to_num(np.nanmean(x, axis=0)) * 0.7 if draw_offset
            else np.zeros(x.shape[1]))


@SETTINGS
@given(signals(), st.sampled_from([1000.0, 1925.925925925926, 2148.148148148148]),
       st.booleans(), st.booleans())
def test_filtfilt_runs_matches_scipy_per_run(x, fs, rectify, with_offset):
    sos = emg.butter_sos(fs, low_hz=20.0, high_hz=450.0, order=4)
    zi = sps.sosfilt_zi(sos)
    padlen = emg._padlen(sos)
    off = _offset(x, with_offset)
    out = np.full_like(x, -7.0)
    cols = np.arange(x.shape[1])[::2].astype(np.int64)  # only these columns are written
    K.filtfilt_runs(x, off, sos, zi, padlen, rectify, cols, out)
    ref = R.filtfilt_runs(x, sos, padlen, rectify, off)
    assert np.all(np.delete(out, cols, axis=1) == -7.0)
    out, ref = out[:, cols], ref[:, cols]
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    scale = np.nanmax(np.abs(x)) if np.isfinite(x).any() else 1.0
    np.testing.assert_allclose(out, ref, rtol=1e-7, atol=1e-9 * scale, equal_nan=True)


@st.composite
def wide_signals(draw):
    """Up to 20 channels (several column blocks), rows >= 2, NaN in some channels."""
    n = draw(st.integers(2, 250))
    n_ch = draw(st.integers(1, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x = rng.standard_normal((n, n_ch)) * draw(st.sampled_from([1e-4, 1.0, 1e3]))
    x += draw(st.floats(-5.0, 5.0))
    if draw(st.booleans()):
        k = draw(st.integers(1, max(1, n // 10)))
        x[rng.integers(0, n, k), rng.integers(0, n_ch, k)] = np.nan
    if draw(st.booleans()):
        x[rng.integers(0, n), rng.integers(0, n_ch)] = np.inf
    return x


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf samples, JIT disabled
@SETTINGS
@given(wide_signals(), st.sampled_from([1000.0, 2148.148148148148]), st.booleans(),
       st.booleans(), st.integers(1, 6), st.sampled_from(["bandpass", "lowpass", "notch"]))
def test_filtfilt_blocks_matches_scipy(x, fs, rectify, with_offset, n_blocks, kind):
    """The column-block kernel equals scipy's sosfiltfilt on every channel without a
    non-finite sample, and flags exactly the channels that hold one."""
    if kind == "bandpass":
        sos = emg.butter_sos(fs, low_hz=20.0, high_hz=450.0, order=4)
    elif kind == "lowpass":
        sos = emg.butter_sos(fs, high_hz=20.0, order=4)
    else:
        sos = sps.tf2sos(*sps.iirnotch(50.0, 30.0, fs=fs))
    zi = np.ascontiguousarray(sps.sosfilt_zi(sos))
    padlen = emg._padlen(sos)
    n_ch = x.shape[1]
    n_blocks = min(max(n_blocks, -(-n_ch // K.LANES)), n_ch)
    bounds = np.linspace(0, n_ch, n_blocks + 1).round().astype(np.int64)
    off = _offset(x, with_offset)
    out = np.empty_like(x)
    bad = np.zeros(n_ch, dtype=np.bool_)
    K.filtfilt_blocks(x, off, np.ascontiguousarray(sos), zi, padlen, rectify, bounds, out,
                      bad)
    np.testing.assert_array_equal(bad, ~np.isfinite(x).all(axis=0))
    ok = ~bad
    ref = R.filtfilt_runs(x[:, ok], sos, padlen, rectify, off[ok])
    scale = np.max(np.abs(x[:, ok]), initial=1.0)
    np.testing.assert_allclose(out[:, ok], ref, rtol=1e-7, atol=1e-9 * scale)


def test_filtfilt_gaps_equals_scipy_per_run_with_gaps_in_some_channels():
    """emg._filtfilt_gaps: block kernel for clean channels, run kernel for the others."""
    fs = 2148.148148148148
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3000, 11))
    x[1000:1010, 3] = np.nan
    x[5, 7] = np.nan
    sos = emg.butter_sos(fs, low_hz=20.0, high_hz=450.0)
    off = np.nanmean(x, axis=0)
    out, gaps = emg._filtfilt_gaps(x, sos, offset=off)
    assert gaps.tolist() == [3, 7]
    ref = R.filtfilt_runs(x, sos, emg._padlen(sos), False, off)
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-12, equal_nan=True)


@SETTINGS
@given(signals(), st.integers(0, 20))
def test_moving_rms(x, half):
    out = np.empty_like(x)
    K.moving_rms(x, half, out)
    np.testing.assert_allclose(out, R.moving_rms(x, half), rtol=1e-6, atol=1e-9 * 1e3,
                               equal_nan=True)


@SETTINGS
@given(signals())
def test_tkeo(x):
    out = np.empty_like(x)
    K.tkeo(x, out)
    # x^2 - x[n-1] x[n+1] can cancel: the kernel may fuse it (FMA), so the tolerance is
    # relative to the size of the terms, not of their difference
    scale = float(np.nanmax(x * x)) if np.isfinite(x).any() else 0.0
    np.testing.assert_allclose(out, R.tkeo(x), rtol=1e-12, atol=1e-13 * scale, equal_nan=True)


@SETTINGS
@given(signals(), st.integers(0, 10), st.floats(0.1, 3.0))
def test_moving_count_above(x, half, lev):
    level = np.full(x.shape[1], lev) * np.nanmean(x**2)
    out = np.empty_like(x)
    K.moving_count_above(x, level, half, out)
    np.testing.assert_array_equal(out, R.moving_count_above(x, level, half))


@SETTINGS
@given(signals(min_n=10, nan=False), st.integers(2, 10))
def test_window_power(x, win):
    step = max(1, win // 2)
    n_w = (x.shape[0] - win) // step + 1
    out = np.empty((n_w, x.shape[1]))
    K.window_power(x, win, step, emg._blocks(x.shape[1]), out)
    np.testing.assert_allclose(out, R.window_power(x, win, step, n_w), rtol=1e-10)


@SETTINGS
@given(signals(min_n=4), st.data())
def test_range_stats(x, data):
    n, n_ch = x.shape
    ranges = []
    for _ in range(n_ch):
        k = data.draw(st.integers(0, 4))
        starts = data.draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
        ranges.append([(a, data.draw(st.integers(a, n))) for a in starts])
    m = max(1, max(len(r) for r in ranges))
    lo = np.zeros((m, n_ch), dtype=np.int64)
    hi = np.zeros((m, n_ch), dtype=np.int64)
    for c, r in enumerate(ranges):
        for k, (a, b) in enumerate(r):
            lo[k, c], hi[k, c] = a, b
    cnt = np.array([len(r) for r in ranges], dtype=np.int64)
    out = np.empty((n_ch, 4))
    K.range_stats(x, lo, hi, cnt, out)
    np.testing.assert_allclose(out, R.range_stats(x, ranges), rtol=1e-9, atol=1e-12,
                               equal_nan=True)


@SETTINGS
@given(signals(min_n=1), st.floats(-0.5, 1.5), st.floats(0.0, 1.0), st.integers(1, 8),
       st.integers(0, 8), st.integers(1, 3))
def test_threshold_bursts(x, t, drop, min_on, min_off, n_blocks):
    thr = np.full(x.shape[1], t)
    thr_off = thr - drop
    cap = x.shape[0] // min_on + 2
    on = np.empty((cap, x.shape[1]), dtype=np.int64)
    off = np.empty_like(on)
    cnt = np.empty(x.shape[1], dtype=np.int64)
    bounds = np.arange(x.shape[1] + 1, dtype=np.int64)[:: max(1, n_blocks)]
    bounds = np.unique(np.r_[bounds, x.shape[1]])
    K.threshold_bursts(x, thr, thr_off, min_on, min_off, bounds, on, off, cnt)
    ref = R.threshold_bursts(x, thr, min_on, min_off, thr_off)
    for c in range(x.shape[1]):
        got = [[int(a), int(b)] for a, b in zip(on[: cnt[c], c], off[: cnt[c], c], strict=True)]
        assert got == ref[c]


@SETTINGS
@given(signals(min_n=20), st.integers(1, 15))
def test_burst_peak_rms(x, win):
    n = x.shape[0]
    rng = np.random.default_rng(n)
    k = 4
    ch = rng.integers(0, x.shape[1], k)
    on = rng.integers(0, n // 2, k)
    off = on + rng.integers(1, n // 2, k)
    out = np.empty(k)
    K.burst_peak_rms(x, ch, on, off, win, out)
    np.testing.assert_allclose(out, R.burst_peak_rms(x, ch, on, off, win), rtol=1e-6,
                               equal_nan=True)


@st.composite
def burst_windows(draw):
    """A noise-then-ramp signal and refinement windows around the ramp."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(120, 400))
    t0 = draw(st.integers(40, n - 60))
    ramp = draw(st.integers(1, 40))
    amp = np.clip((np.arange(n) - t0) / ramp, 0, 1) * draw(st.floats(1.0, 10.0))
    x = (rng.standard_normal(n) * (1 + amp)).reshape(-1, 1)
    return x, t0


@SETTINGS
@given(burst_windows(), st.integers(1, 3), st.integers(1, 4))
def test_refine_ramp(sig, m, step):
    x, t0 = sig
    n = x.shape[0]
    ch = np.array([0, 0])
    lo = np.array([0, 5])
    on = np.array([t0, t0 + 3])
    hi = np.array([n, n - 7])
    ramps = np.array([1, 3, 8, 20], dtype=np.int64)
    out = np.empty(2, dtype=np.int64)
    K.refine_ramp(x, ch, lo, on, hi, m, m / 1000.0, ramps, 3, 10, step, out)
    ref = R.refine_ramp_model(x, ch, lo, on, hi, m, m / 1000.0, ramps, 3, 10, step)
    np.testing.assert_array_equal(out, ref)


@SETTINGS
@given(burst_windows(), st.integers(1, 3), st.booleans(), st.sampled_from([0.3, 1.0]),
       st.sampled_from([1e-5, 1.0, 1e3]),
       st.sampled_from([((2.0,), None), ((2.0, 4.0), None), ((2.0, 4.0), (0.9, 0.1)), ((3.0,), None)]))
def test_refine_ramp_posterior(sig, m, known, temperature, scale, shapes):
    """Kernel (chunked product of the ramp variances, one log per chunk) and reference
    (one log per bin) agree, at EMG scale (1e-5 V) and far from it."""
    x, t0 = sig
    x = x * scale
    n = x.shape[0]
    ch = np.array([0, 0])
    lo = np.array([0, 5])
    on = np.array([t0, t0 + 3])
    hi = np.array([n, n - 7])
    ramps = np.array([1, 3, 8, 20], dtype=np.int64)
    vb = np.array([scale**2 if known else 0.0])
    powers, weights = shapes
    log_prior = np.zeros(len(powers)) if weights is None else np.log(np.array(weights) / sum(weights))
    out = np.empty(2, dtype=np.int64)
    K.refine_ramp_posterior(x, ch, lo, on, hi, m, m / 1000.0, ramps, 3, 10, vb, temperature,
                            np.array(powers), log_prior, out)
    ref = R.refine_ramp_posterior(x, ch, lo, on, hi, m, m / 1000.0, ramps, 3, 10, vb,
                                  temperature, powers, weights)
    # the median bin may differ by one when the posterior CDF sits at 0.5 to rounding
    assert np.all(np.abs(out - ref) <= m)


@SETTINGS
@given(signals(min_n=2), st.integers(0, 12))
def test_mask_gap_edges(x, guard):
    score = np.abs(np.nan_to_num(x)) + 1.0
    expect = R.mask_gap_edges(x, guard, score)
    cols = np.flatnonzero(~np.isfinite(x).all(axis=0)).astype(np.int64)
    K.mask_gap_edges(x, guard, cols, score)
    np.testing.assert_array_equal(score, expect)


@SETTINGS
@given(burst_windows(), st.integers(1, 3))
def test_refine_step(sig, m):
    x, _ = sig
    n = x.shape[0]
    ch, lo, hi = np.array([0]), np.array([2]), np.array([n])
    out = np.empty(1, dtype=np.int64)
    K.refine_step(x, ch, lo, hi, m, out)
    np.testing.assert_array_equal(out, R.refine_step(x, ch, lo, hi, m))


@SETTINGS
@given(signals(min_n=10))
def test_window_stats(x):
    n = x.shape[0]
    start = np.array([0, n // 3, n // 2])
    stop = np.array([n, n // 3 + 3, n])
    got = [np.empty((3, x.shape[1])) for _ in range(3)]
    K.window_stats(x, start, stop, 0.001, *got)
    for g, r in zip(got, R.window_stats(x, start, stop, 0.001), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_refine_ramp_posterior_finds_a_step():
    """A clean variance step: the posterior median lands within a bin of it."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2000)
    x[1000:] *= 20
    out = np.empty(1, dtype=np.int64)
    K.refine_ramp_posterior(x.reshape(-1, 1), np.array([0]), np.array([700]),
                            np.array([1010]), np.array([1300]), 3, 0.003,
                            np.array([1, 5, 20], dtype=np.int64), 7, 10, np.array([1.0]),
                            0.3, np.array([2.0, 4.0]), np.zeros(2), out)
    assert abs(int(out[0]) - 1000) <= 3


def test_refine_ramp_finds_a_step_exactly():
    """A clean variance step is located to the bin."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2000)
    x[1000:] *= 20
    out = np.empty(1, dtype=np.int64)
    K.refine_ramp(x.reshape(-1, 1), np.array([0]), np.array([700]), np.array([1010]),
                  np.array([1300]), 1, 0.001, np.array([1, 5, 20], dtype=np.int64), 20, 30,
                  4, out)
    assert abs(int(out[0]) - 1000) <= 2


@pytest.mark.parametrize("square", [False, True])
def test_quietest_window(square):
    x = np.ones((100, 1)) * 5.0
    x[40:60] = 1.0
    x[10] = np.nan
    out = np.empty(1, dtype=np.int64)
    K.quietest_window(x, 20, square, out)
    assert out[0] == 40
