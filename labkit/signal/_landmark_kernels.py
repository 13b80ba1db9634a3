"""Numba kernels that place a jump's landmarks: the stillest loaded window, and where a
falling or rising force crosses the flight baseline.

Used by the jump kernels of :mod:`labkit.signal._force_kernels` and by the drop-jump and
rebound-jump analyses; slow twins in ``tests/reference/force_reference.py``. Kernels take
arrays and scalars only (docs/design.md, principle 2).
"""

from __future__ import annotations

import math

import numpy as np

from labkit._numba import jit, prange

__all__ = ["down_crossing", "jump_layouts", "median_mad", "record_segments", "stable_window",
           "up_crossing"]


@jit
def stable_window(f, lo, hi, w, level, out):
    """The window f[i:i + w], lo <= i, i + w <= hi, with every sample >= level and the
    smallest sample SD (ddof=1): out[0] = i (-1 if none), out[1] = its SD.

    One pass of running sums of f - ref over the window and a running count of the
    samples below ``level``; the sums are recomputed every ``w`` steps with ref = the
    window's first sample, so rounding does not accumulate; the chosen window's SD is then
    computed in two passes (a constant stretch has an SD of exactly 0).
    """
    out[0] = -1.0
    out[1] = np.nan
    if hi - lo < w or w < 2:
        return
    best = np.inf
    s = 0.0
    ss = 0.0
    ref = 0.0
    low = 0
    for i in range(lo, hi - w + 1):
        if (i - lo) % w == 0:
            ref = f[i]
            s = 0.0
            ss = 0.0
            low = 0
            for j in range(i, i + w):
                x = f[j] - ref
                s += x
                ss += x * x
                if f[j] < level:
                    low += 1
        else:
            x_out = f[i - 1] - ref
            x_in = f[i + w - 1] - ref
            s += x_in - x_out
            ss += x_in * x_in - x_out * x_out
            if f[i - 1] < level:
                low -= 1
            if f[i + w - 1] < level:
                low += 1
        if low == 0:
            var = (ss - s * s / w) / (w - 1)
            if var < 0.0:
                var = 0.0
            if var < best:
                best = var
                out[0] = i
    if out[0] >= 0:
        # the chosen window's SD in two passes: the running sums cancel to ~1e-10 N^2, an
        # SD of ~1e-5 N on a constant stretch reached by sliding from a far-off reference
        i0 = int(out[0])
        mean = 0.0
        for j in range(i0, i0 + w):
            mean += f[j]
        mean /= w
        ss = 0.0
        for j in range(i0, i0 + w):
            ss += (f[j] - mean) * (f[j] - mean)
        out[1] = math.sqrt(ss / (w - 1))


@jit
def down_crossing(f, k, level, lo):
    """Where a falling force reaches ``level``, between samples k - 1 (above) and k.

    The line through samples k - 2 and k - 1 (the decline just before) is extended to
    ``level``; when the force did not fall from k - 2 to k - 1 (a step) or k - 2 < lo,
    the line from k - 1 to k is used. Clipped to [k - 1, k]; fractional sample position.
    """
    if k - 2 >= lo and f[k - 2] > f[k - 1]:
        x = (k - 1) + (f[k - 1] - level) / (f[k - 2] - f[k - 1])
    elif f[k - 1] != f[k]:
        x = (k - 1) + (f[k - 1] - level) / (f[k - 1] - f[k])
    else:
        x = float(k)
    return min(max(x, k - 1.0), float(k))


@jit
def up_crossing(f, n, j, ld, level):
    """Where a rising force leaves ``level``, between sample j (the last within the flight's
    noise band) and ld (the first at the threshold, held).

    The steepest rise between consecutive samples m, m + 1 for j < m <= ld (the contact's
    rise; two noise samples just above the band rise little) is extended back to
    ``level``; without a rise, the line from j to j + 1. Clipped to [j, ld].
    """
    best = 0.0
    m_best = -1
    for m in range(j + 1, ld + 1):
        if m + 1 < n and f[m + 1] - f[m] > best:
            best = f[m + 1] - f[m]
            m_best = m
    if m_best >= 0:
        x = m_best - (f[m_best] - level) / best
    elif f[j + 1] != f[j]:
        x = j + (level - f[j]) / (f[j + 1] - f[j])
    else:
        x = float(j)
    return min(max(x, float(j)), float(ld))


@jit
def record_segments(f, level, hold, longest, out):
    """Where the athlete stands and flies in a record (runs of samples below ``level``).

    An unloaded run that starts the record or lasts more than ``longest`` samples is
    the athlete off the plate: the loaded stretch starts after it (out[0] = p0). The
    first other run of at least ``hold`` samples (or reaching the end) is the flight
    [out[1], out[2]) (-1, -1 when none); the next such run after it ends the loaded
    stretch after landing (out[3] = its start, else the record's length).
    """
    n = f.shape[0]
    p0 = 0
    fa = -1
    fb = -1
    p1 = n
    i = 0
    while i < n:
        if f[i] < level:
            a = i
            while i < n and f[i] < level:
                i += 1
            b = i
            if fa < 0:
                if a == 0 or b - a > longest:
                    p0 = b
                elif b - a >= hold or b == n:
                    fa = a
                    fb = b
            elif b - a >= hold or b == n:
                p1 = a
                break
        else:
            i += 1
    out[0] = p0
    out[1] = fa
    out[2] = fb
    out[3] = p1


@jit
def median_mad(x, out):
    """out[0] = median of x, out[1] = median of |x - out[0]| (NaN for fewer than 2)."""
    out[0] = np.median(x)
    out[1] = np.median(np.abs(x - out[0])) if x.shape[0] > 1 else np.nan


@jit(parallel=True)
def jump_layouts(F, lengths, unloaded_below, hold, longest, w, level, max_range, trim_frac, out):
    """The common layout of many jump records, parallel over trials: out[t] = (ok, p0, fa,
    fb, w0, flight baseline, flight MAD).

    Per record F[t, :lengths[t]]: :func:`record_segments`, then the stillest loaded window
    of ``w`` samples before the flight (:func:`stable_window`, samples >= ``level``); ok = 1
    when there is one and it moves by <= ``max_range``, else 0 (the caller lays that record
    out one by one: weighed after landing, or refused). The flight's baseline and MAD are
    those of :func:`median_mad` over the flight without ``trim_frac`` of it at each edge
    (the end edge kept when the flight reaches the end; the whole flight when fewer than 3
    samples remain); NaN MAD without a flight.
    """
    for t in prange(F.shape[0]):
        n = lengths[t]
        f = F[t, :n]
        seg = np.empty(4, np.int64)
        record_segments(f, unloaded_below, hold, longest, seg)
        p0, fa, fb = seg[0], seg[1], seg[2]
        out[t, 0] = 0.0
        out[t, 1] = p0
        out[t, 2] = fa
        out[t, 3] = fb
        sw = np.empty(2)
        stable_window(f, p0, fa if fa >= 0 else n, w, level, sw)
        i = int(sw[0])
        out[t, 4] = i
        if i >= 0:
            lo = f[i]
            hi = f[i]
            for j in range(i, i + w):
                if f[j] < lo:
                    lo = f[j]
                if f[j] > hi:
                    hi = f[j]
            if hi - lo <= max_range:
                out[t, 0] = 1.0
        if fa < 0:
            out[t, 5] = 0.0
            out[t, 6] = np.nan
            continue
        trim = math.floor(trim_frac * (fb - fa) + 0.5)
        a = fa + max(1, trim)
        b = fb - (trim if fb < n else 0)
        if b - a < 3:
            a = fa
            b = fb
        mm = np.empty(2)
        median_mad(f[a:b], mm)
        out[t, 5] = mm[0]
        out[t, 6] = mm[1]
