"""Slow, obvious reference implementations of labkit/signal/_emg_kernels.py.

Plain Python and numpy, one sample at a time where that is clearer; used only by the
tests (hypothesis checks that kernels and references agree on random input).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps


def filtfilt_runs(x, sos, padlen, rectify=False):
    """scipy.signal.sosfiltfilt on each finite run (padlen clipped to run length - 1)."""
    x = np.asarray(x, dtype=float)
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


def threshold_bursts(score, thr, min_on, min_off):
    """List (per channel) of [on, off) bursts: drop runs < min_on, then merge gaps."""
    res = []
    for c in range(score.shape[1]):
        active = [bool(v > thr[c]) for v in score[:, c]]  # NaN > t is False
        runs = []
        i = 0
        while i < len(active):
            if active[i]:
                j = i
                while j < len(active) and active[j]:
                    j += 1
                runs.append([i, j])
                i = j
            else:
                i += 1
        runs = [r for r in runs if r[1] - r[0] >= min_on]
        merged = []
        for r in runs:
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


def refine_ramp(x, ch, lo, on, hi, v0, m, dt, rise_s, cut_frac, step, min_pre):
    """Exhaustive-search version of the ramp refiner (same grid, same two sweeps)."""
    out = np.empty(len(lo), dtype=np.int64)
    for k in range(len(lo)):
        e = _bins(x, ch[k], lo[k], hi[k], m)
        if e is None or len(e) < 4:
            out[k] = -1
            continue
        n_bins = len(e)
        jc = min(max((on[k] - lo[k]) // m, 0), n_bins - 1)
        p = e[jc:].sum() / ((n_bins - jc) * m)
        level = v0[k] + cut_frac * (p - v0[k])
        n_fit = n_bins
        for j in range(jc, n_bins):
            a, b = max(j - 2, 0), min(j + 3, n_bins)
            if e[a:b].sum() / ((b - a) * m) >= level:
                n_fit = j + 1
                break
        n_fit = min(max(n_fit, 4), n_bins)

        def loglik(j0, e=e, n_fit=n_fit, p=p):
            vb = max(e[:j0].sum() / (j0 * m), 1e-300)
            a2 = max(p - vb, 1e-9 * vb)
            best = -np.inf
            for r in rise_s:
                ll = -0.5 * j0 * m * (math.log(vb) + 1.0)
                for j in range(j0, n_fit):
                    tau = (j - j0 + 0.5) * dt
                    v = vb + a2 / r**2 * tau**2
                    ll -= 0.5 * m * math.log(v) + 0.5 * e[j] / v
                best = max(best, ll)
            return best

        j_first = min(min_pre, n_fit - 2)
        cands = list(range(j_first, n_fit - 1, step))
        lls = [loglik(j) for j in cands]
        best_j = cands[int(np.argmax(lls))] if cands else j_first
        fine = range(max(j_first, best_j - step + 1), min(n_fit - 1, best_j + step))
        best_ll = max(lls) if lls else -np.inf
        for j in fine:
            ll = loglik(j)
            if ll > best_ll:
                best_ll, best_j = ll, j
        out[k] = lo[k] + best_j * m
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
