"""Numba kernels of labkit.signal.force agree with the slow references (hypothesis).

The references in tests/reference/force_reference.py are written independently and
obviously (brute-force onset hold, explicit knots for the impulse, whole velocity
arrays for jumps). Random traces are built to exercise every branch: quiet weighing,
then a random walk that may or may not cross the thresholds.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.signal import _force_kernels as K
from tests.reference import force_reference as ref

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _close(a, b, rtol=1e-9, atol=1e-9):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


@st.composite
def traces(draw, min_n=40, max_n=400):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(min_n, max_n))
    rng = np.random.default_rng(seed)
    bw = draw(st.floats(100.0, 1500.0))
    w1 = draw(st.integers(2, n // 3))
    f = bw + rng.normal(0.0, draw(st.floats(0.0, 20.0)), n)
    # after the weighing window: a random walk with random drift (pulls, dips, flights)
    steps = rng.normal(draw(st.floats(-40.0, 40.0)), draw(st.floats(0.1, 80.0)), n - w1)
    f[w1:] += np.cumsum(steps)
    if draw(st.booleans()):  # a flat "flight" segment near zero
        a = draw(st.integers(w1, n - 1))
        b = draw(st.integers(a, n))
        f[a:b] = rng.normal(0.0, 3.0, b - a)
    if draw(st.booleans()):  # plateau at the maximum (clip-run branch)
        m = f.max()
        a = draw(st.integers(0, n - 1))
        f[a : a + draw(st.integers(1, 20))] = m
    return np.ascontiguousarray(f), w1


@SETTINGS
@given(traces(), st.floats(0.0, 10.0), st.booleans(), st.integers(1, 12))
def test_find_onset_matches_reference(tw, thr, two_sided, hold):
    f, w1 = tw
    baseline = float(f[:w1].mean())
    for backtrack in (np.nan, 2.0):
        got = K.find_onset(f, w1, f.shape[0], baseline, thr, two_sided, hold, backtrack, 3)
        want = ref.find_onset(f, w1, f.shape[0], baseline, thr, two_sided, hold, backtrack, 3)
        assert got == want


@SETTINGS
@given(traces(), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(-500.0, 500.0))
def test_net_impulse_matches_reference(tw, u0, u1, baseline):
    f, _ = tw
    n = f.shape[0]
    p0, p1 = sorted((u0 * (n - 1), u1 * (n - 1)))
    _close(K.net_impulse(f, n, p0, p1, baseline), ref.net_impulse(f, n, p0, p1, baseline),
           rtol=1e-9, atol=1e-6)  # fmt: skip


@SETTINGS
@given(
    traces(),
    st.sampled_from(["sd", "pct", "abs"]),
    st.booleans(),
    st.integers(1, 15),
    st.sampled_from([np.nan, 5.0]),
    st.integers(0, 5),
    st.floats(500.0, 3000.0),
    st.sampled_from([np.nan, 650.0]),
)
def test_isometric_kernel_matches_reference(tw, kind, two_sided, hold, backtrack, backstep,
                                            fs, bw):  # fmt: skip
    f, w1 = tw
    n = f.shape[0]
    thr = {"sd": (0.0, 5.0, 0.0), "pct": (0.0, 0.0, 0.05), "abs": (20.0, 0.0, 0.0)}[kind]
    epochs = np.array([5.0, 9.5, 20.0, 60.0])
    seq = np.array([0.0, 5.0, 10.0, 25.5])
    win = 4
    out = np.empty(K.ISO_NCOLS)
    fa, rfd, imp = np.empty(4), np.empty(4), np.empty(4)
    sq = np.empty(3)
    args = (f, n, fs, 0, w1, bw, *thr, two_sided, hold, backtrack, backstep, epochs, seq, win)
    K.isometric_trial(*args, out, fa, rfd, imp, sq)
    r_out, r_fa, r_rfd, r_imp, r_sq = ref.isometric_trial(*args)
    _close(out, r_out)
    _close(fa, r_fa)
    _close(rfd, r_rfd, rtol=1e-8, atol=1e-6)
    _close(imp, r_imp, rtol=1e-8, atol=1e-9)
    _close(sq, r_sq, rtol=1e-8, atol=1e-6)


@SETTINGS
@given(
    traces(min_n=60, max_n=500),
    st.booleans(),
    st.integers(1, 10),
    st.integers(0, 5),
    st.floats(-5.0, 60.0),
    st.floats(-10.0, 30.0),
    st.floats(0.0, 10.0),
    st.booleans(),
    st.integers(1, 6),
    st.integers(1, 6),
    st.booleans(),
    st.integers(0, 30),
)
def test_jump_kernel_matches_reference(tw, two_sided, hold, backstep, thr, base, band, refine,
                                       to_hold, ld_hold, interpolate, s0_extra):  # fmt: skip
    f, w1 = tw
    n = f.shape[0]
    s0 = min(n - 1, w1 + s0_extra)
    args = (f, n, 1000.0, 0, w1, s0, 9.81, 5.0, two_sided, hold, backstep, thr, base, band,
            refine, to_hold, ld_hold, interpolate)  # fmt: skip
    out = np.empty(K.CMJ_NCOLS)
    K.jump_trial(*args, out)
    _close(out, ref.jump_trial(*args), rtol=1e-7, atol=1e-7)


@SETTINGS
@given(traces(min_n=10, max_n=300), st.integers(2, 40), st.floats(0.0, 1500.0),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.booleans())
def test_stable_window_matches_reference(tw, w, level, u0, u1, flat):
    f, _ = tw
    n = f.shape[0]
    if flat:  # stretches of exactly equal samples: SD exactly 0
        f = np.round(f / 50.0) * 50.0
    lo, hi = sorted((round(u0 * n), round(u1 * n)))
    out = np.empty(2)
    K.stable_window(f, lo, hi, w, level, out)
    i_ref, sd_ref = ref.stable_window(f, lo, hi, w, level)
    assert (out[0] < 0) == (i_ref < 0)
    if i_ref >= 0:  # the same smallest SD (near-ties may pick another window of it); running
        # sums leave ~1e-6 N of rounding on an SD of 0, far below any plate's resolution
        i = int(out[0])
        assert lo <= i and i + w <= hi and f[i : i + w].min() >= level
        _close(out[1], sd_ref, rtol=1e-6, atol=1e-5)
        _close(np.std(f[i : i + w], ddof=1), sd_ref, rtol=1e-6, atol=1e-5)


def test_batch_kernels_equal_single_trial_kernels():
    rng = np.random.default_rng(7)
    F = 700.0 + np.cumsum(rng.normal(0.5, 5.0, (6, 800)), axis=1)
    F[:, :200] = 700.0 + rng.normal(0, 2.0, (6, 200))
    lengths = np.array([800, 700, 650, 800, 300, 799])
    ep = np.array([50.0, 100.0])
    sq = np.array([0.0, 50.0, 100.0])
    bws = np.full(6, np.nan)
    outs = [np.empty((6, K.ISO_NCOLS)), np.empty((6, 2)), np.empty((6, 2)), np.empty((6, 2)),
            np.empty((6, 2))]  # fmt: skip
    K.isometric_batch(F, lengths, 1000.0, 0, 200, bws, 0.0, 5.0, 0.0, False, 30, np.nan, 0,
                      ep, sq, 20, *outs)  # fmt: skip
    jout = np.empty((6, K.CMJ_NCOLS))
    z = np.zeros(6, dtype=np.int64)
    w1s = np.full(6, 200, dtype=np.int64)
    thr = np.full(6, 20.0)
    base = np.zeros(6)
    refine = np.array([True, False, True, True, False, True])
    jargs = (9.81, 5.0, True, 30, 30)
    band = np.full(6, 3.0)
    K.jump_batch(F, lengths, 1000.0, z, w1s, w1s, *jargs, thr, base, band, refine, 15, 15, True,
                 jout)  # fmt: skip
    for t in range(6):
        one = [np.empty(K.ISO_NCOLS), np.empty(2), np.empty(2), np.empty(2), np.empty(2)]
        K.isometric_trial(F[t], lengths[t], 1000.0, 0, 200, np.nan, 0.0, 5.0, 0.0, False, 30,
                          np.nan, 0, ep, sq, 20, *one)  # fmt: skip
        for a, b in zip(outs, one, strict=True):
            _close(a[t], b, rtol=0, atol=0)
        j1 = np.empty(K.CMJ_NCOLS)
        K.jump_trial(F[t], lengths[t], 1000.0, 0, 200, 200, *jargs, 20.0, 0.0, 3.0, refine[t], 15,
                     15, True, j1)  # fmt: skip
        _close(jout[t], j1, rtol=0, atol=0)


def test_import_labkit_does_not_import_numba():
    code = "import sys, labkit, labkit.signal; assert 'numba' not in sys.modules, 'numba'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_second_process_loads_kernels_from_cache():
    """cache=True: after one process compiled the kernels, the next one only loads them."""
    code = """
import numpy as np
from labkit.signal import _force_kernels as K, force
if not hasattr(K.isometric_trial, "stats"):
    print("nojit"); raise SystemExit
t = np.arange(3000) / 1000.0
force.isometric(700.0 + np.clip(5000.0 * (t - 1.2), 0, 2000), 1000.0)
force.cmj(np.r_[np.full(1500, 700.0), np.full(200, 1200.0), np.zeros(400), np.full(500, 700.0)], 1000.0)
ks = (K.isometric_trial, K.jump_trial)
print(sum(len(k.stats.cache_hits) for k in ks), sum(len(k.stats.cache_misses) for k in ks))
"""
    for _ in range(2):  # the first run may compile and write the cache
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True).stdout.split()  # fmt: skip
    if out == ["nojit"]:
        pytest.skip("NUMBA_DISABLE_JIT=1: kernels run as plain Python")
    hits, misses = map(int, out)
    assert hits >= 2 and misses == 0


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.integers(1, 8), st.integers(2, 60))
def test_record_segments_matches_reference(seed, n, hold, longest):
    from labkit.signal import _landmark_kernels as LK

    rng = np.random.default_rng(seed)
    # loaded and unloaded stretches of random lengths (an empty plate, flights, step-offs)
    f = np.repeat(rng.choice([0.0, 700.0], 40), rng.integers(1, 30, 40))[:n]
    out = np.empty(4, np.int64)
    LK.record_segments(f, 100.0, hold, longest, out)
    assert tuple(out) == ref.record_segments(f, 100.0, hold, longest)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(2, 400), st.integers(1, 4))
def test_limb_kernel_matches_reference(seed, n, n_spans):
    from labkit.signal import _limb_kernels as LMK

    rng = np.random.default_rng(seed)
    f = 400.0 + np.cumsum(rng.normal(0.0, 20.0, n))
    w0 = int(rng.integers(0, n - 1))
    w1 = int(rng.integers(w0 + 1, n + 1))
    pk0, pk1 = sorted(int(x) for x in rng.integers(-1, n, 2))
    spans = np.sort(rng.uniform(0, n - 1, (n_spans, 2)), axis=1)
    spans[rng.random(n_spans) < 0.2] = np.nan
    kinds = rng.integers(0, 2, n_spans)
    out = np.empty(3 + n_spans)
    LMK.limb_trial(f, n, 1000.0, w0, w1, pk0, pk1, spans, kinds, out)
    _close(out, ref.limb_trial(f, n, 1000.0, w0, w1, pk0, pk1, [tuple(s) for s in spans], kinds))


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 200))
def test_median_mad_matches_numpy(seed, n):
    from labkit.signal import _landmark_kernels as LK

    x = np.random.default_rng(seed).normal(0.0, 3.0, n).round(1)  # rounded: ties too
    out = np.empty(2)
    LK.median_mad(x, out)
    assert out[0] == np.median(x)
    assert (np.isnan(out[1]) and n == 1) or out[1] == np.median(np.abs(x - np.median(x)))
