"""Slow, obvious reference implementations of labkit/signal/_emg_kernels.py.

Plain Python and numpy, one sample at a time where that is clearer; used only by the
tests (hypothesis checks that kernels and references agree on random input).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps


def filtfilt_runs(x, sos, padlen, rectify=False, offset=None):
    """scipy.signal.sosfiltfilt of ``x - offset`` (``|x - offset|`` when ``rectify``) on
    each finite run (padlen clipped to run length - 1)."""
    x = np.asarray(x, dtype=float)
    if offset is not None:
        x = x - np.asarray(offset, dtype=float)
    out = np.full_like(x, np.nan)
    for c in range(x.shape[1]):
        col = np.abs(x[:, c]) if rectify else x[:, c]
        fin = np.isfinite(col)
        i = 0
        n = len(col)
        while i < n:
            if not fin[i]:
                i += 1
                continue
            j = i
            while j < n and fin[j]:
                j += 1
            if j - i >= 2:
                out[i:j, c] = sps.sosfiltfilt(sos, col[i:j], padlen=min(padlen, j - i - 1))
            i = j
    return out


def moving_rms(x, half):
    n, n_ch = x.shape
    out = np.empty_like(x)
    for c in range(n_ch):
        for i in range(n):
            w = x[max(0, i - half) : min(n, i + half + 1), c]
            out[i, c] = np.nan if np.isnan(w).any() else math.sqrt(np.mean(w * w))
    return out


def tkeo(x):
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        for i in range(1, len(x) - 1):
            out[i, c] = x[i, c] ** 2 - x[i - 1, c] * x[i + 1, c]
        out[0, c] = out[1, c]
        out[-1, c] = out[-2, c]
    return out


def moving_count_above(x, level, half):
    n, n_ch = x.shape
    out = np.empty_like(x)
    for c in range(n_ch):
        for i in range(n):
            w = x[max(0, i - half) : min(n, i + half + 1), c]
            out[i, c] = np.nan if np.isnan(w).any() else float(np.sum(w * w > level[c]))
    return out


def window_power(x, win, step, n_w):
    out = np.empty((n_w, x.shape[1]))
    for c in range(x.shape[1]):
        for w in range(n_w):
            seg = x[w * step : w * step + win, c]
            out[w, c] = np.mean(seg * seg)
    return out


def threshold_bursts(score, thr, min_on, min_off, thr_off=None):
    """List (per channel) of [on, off) bursts: a run above thr of >= min_on samples
    starts a burst, which lasts while score > thr_off; then gaps < min_off merge."""
    res = []
    for c in range(score.shape[1]):
        t = thr[c]
        t_off = t if thr_off is None else min(thr_off[c], t)
        s = score[:, c]
        n = len(s)
        bursts = []
        i = 0
        while i < n:
            if not s[i] > t:  # NaN is never active
                i += 1
                continue
            j = i
            while j < n and s[j] > t:
                j += 1
            if j - i < min_on:
                i = j
                continue
            while j < n and s[j] > t_off:
                j += 1
            bursts.append([i, j])
            i = j
        merged = []
        for r in bursts:
            if merged and r[0] - merged[-1][1] < min_off:
                merged[-1][1] = r[1]
            else:
                merged.append(r)
        res.append(merged)
    return res


def burst_peak_rms(x, ch, on, off, win):
    out = np.empty(len(on))
    for k in range(len(on)):
        best = -1.0
        for i in range(on[k], off[k]):
            w = x[max(on[k], i - win + 1) : i + 1, ch[k]]
            w = w[np.isfinite(w)]
            if w.size:
                best = max(best, float(np.mean(w * w)))
        out[k] = math.sqrt(best) if best >= 0 else np.nan
    return out


def _bins(x, c, lo, hi, m):
    n_bins = (hi - lo) // m
    seg = x[lo : lo + n_bins * m, c]
    if not np.all(np.isfinite(seg)):
        return None
    return (seg.reshape(n_bins, m) ** 2).sum(axis=1)


def _ramp_ll(e, j0, nr, m, dt, pw=2.0):
    n = len(e)
    je = j0 + nr
    if je > n - 2:
        return -np.inf
    vb = max(e[:j0].sum() / (j0 * m), 1e-300)
    vp = max(e[je:].sum() / ((n - je) * m), vb)
    ll = -0.5 * j0 * m * (math.log(vb) + 1.0) - 0.5 * (n - je) * m * (math.log(vp) + 1.0)
    for j in range(j0, je):
        v = vb + (vp - vb) * ((j - j0 + 0.5) / nr) ** pw
        ll -= 0.5 * m * math.log(v) + 0.5 * e[j] / v
    return ll


def refine_ramp_model(x, ch, lo, on, hi, m, dt, ramp_bins, min_pre, max_after, step):
    """Grid search of the ramp-then-plateau likelihood (same two sweeps as the kernel)."""
    out = np.empty(len(lo), dtype=np.int64)
    for k in range(len(lo)):
        e = _bins(x, ch[k], lo[k], hi[k], m)
        if e is None or len(e) < min_pre + 4:
            out[k] = -1
            continue
        n = len(e)
        jc = (on[k] - lo[k]) // m
        j_last = min(max(jc + max_after, min_pre + 1), n - 3)

        def best_of(js, e=e):
            return max(
                ((_ramp_ll(e, j, r, m, dt), -j) for j in js for r in ramp_bins),
                default=(-np.inf, 1),
            )

        ll, neg_j = best_of(range(min_pre, j_last + 1, step))
        if not np.isfinite(ll):
            out[k] = -1
            continue
        bj = -neg_j
        ll2, neg_j2 = best_of(range(max(min_pre, bj - step + 1), min(j_last + 1, bj + step)))
        if ll2 > ll:
            bj = -neg_j2
        out[k] = lo[k] + bj * m
    return out


def _ramp_ll_known_vb(e, j0, nr, m, dt, vb, pw=2.0):
    n = len(e)
    je = j0 + nr
    if je > n - 2:
        return -np.inf
    vp = max(e[je:].sum() / ((n - je) * m), vb)
    ll = -0.5 * (j0 * m * math.log(vb) + e[:j0].sum() / vb)
    ll -= 0.5 * (n - je) * m * (math.log(vp) + 1.0)
    for j in range(j0, je):
        v = vb + (vp - vb) * ((j - j0 + 0.5) / nr) ** pw
        ll -= 0.5 * m * math.log(v) + 0.5 * e[j] / v
    return ll


def refine_ramp_posterior(x, ch, lo, on, hi, m, dt, ramp_bins, min_pre, max_after,
                          base_var, temperature, powers=(2.0,), weights=None):
    """Posterior over onset bins (flat priors, rise time and shape power summed out), then
    its median."""
    out = np.empty(len(lo), dtype=np.int64)
    for k in range(len(lo)):
        e = _bins(x, ch[k], lo[k], hi[k], m)
        if e is None or len(e) < min_pre + 4:
            out[k] = -1
            continue
        n = len(e)
        jc = (on[k] - lo[k]) // m
        j_last = min(max(jc + max_after, min_pre + 1), n - 3)
        vb = base_var[ch[k]]
        w = [1.0] * len(powers) if weights is None else [float(v) for v in weights]  # shape prior
        logp = []
        for j0 in range(min_pre, j_last + 1):
            lls = np.array([
                temperature * (_ramp_ll_known_vb(e, j0, r, m, dt, vb, pw) if vb > 0
                               else _ramp_ll(e, j0, r, m, dt, pw)) + math.log(wi / sum(w))
                for pw, wi in zip(powers, w, strict=True) for r in ramp_bins
            ])
            logp.append(np.logaddexp.reduce(lls) if np.isfinite(lls).any() else -np.inf)
        logp = np.array(logp)
        if not np.isfinite(logp).any():
            out[k] = -1
            continue
        w = np.exp(logp - logp.max())
        cdf = np.cumsum(w) / w.sum()
        out[k] = lo[k] + (min_pre + int(np.searchsorted(cdf, 0.5))) * m
    return out


def mask_gap_edges(x, guard, score):
    out = score.copy()
    n = x.shape[0]
    for c in range(x.shape[1]):
        fin = np.isfinite(x[:, c])
        for i in range(n - 1):
            if fin[i] != fin[i + 1]:
                if fin[i]:
                    out[max(0, i + 1 - guard) : i + 1, c] = np.nan
                else:
                    out[i + 1 : i + 1 + guard, c] = np.nan
    return out


def refine_step(x, ch, lo, hi, m):
    out = np.empty(len(lo), dtype=np.int64)
    for k in range(len(lo)):
        e = _bins(x, ch[k], lo[k], hi[k], m)
        if e is None or len(e) < 4:
            out[k] = -1
            continue
        best, best_j = -np.inf, 0
        for j0 in range(1, len(e) - 1):
            n_pre, n_post = j0 * m, (len(e) - j0) * m
            vb = max(e[:j0].sum() / n_pre, 1e-300)
            v1 = max(e[j0:].sum() / n_post, 1e-300)
            ll = -0.5 * n_pre * math.log(vb) - 0.5 * n_post * math.log(v1)
            if ll > best:
                best, best_j = ll, j0
        out[k] = lo[k] + best_j * m
    return out


def window_stats(x, start, stop, dt):
    n_w, n_ch = len(start), x.shape[1]
    mean, peak, integ = (np.empty((n_w, n_ch)) for _ in range(3))
    for k in range(n_w):
        for c in range(n_ch):
            seg = x[start[k] : stop[k], c]
            fin = np.isfinite(seg)
            if not fin.any():
                mean[k, c] = peak[k, c] = integ[k, c] = np.nan
                continue
            mean[k, c] = seg[fin].mean()
            peak[k, c] = seg[fin].max()
            both = fin[:-1] & fin[1:]
            integ[k, c] = np.sum(0.5 * (seg[:-1] + seg[1:])[both] * dt)
    return mean, peak, integ


def range_stats(x, ranges):
    """(count, mean, SD ddof 1, mean square) of the finite values of the concatenated
    ranges ``ranges[c] = [(lo, hi), ...]`` of each channel."""
    out = np.full((x.shape[1], 4), np.nan)
    for c in range(x.shape[1]):
        seg = np.concatenate([x[a:b, c] for a, b in ranges[c]] or [np.empty(0)])
        seg = seg[np.isfinite(seg)]
        out[c, 0] = seg.size
        if seg.size:
            out[c, 1] = seg.mean()
            out[c, 3] = np.mean(seg * seg)
        if seg.size > 1:
            out[c, 2] = seg.std(ddof=1)
    return out
