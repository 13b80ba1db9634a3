"""Numba kernels for the EMG core (``labkit.signal.emg``).

Every kernel takes arrays and scalars only, writes into preallocated outputs and is
mirrored by a slow, obvious implementation in ``tests/reference/emg_reference.py``.
2-D arrays are ``(n_samples, n_channels)``; channel loops use ``prange`` where the work
per channel is large.  NaN marks a dropped sample and is never filtered through.
"""

from __future__ import annotations

import math

import numpy as np

from labkit._numba import jit, prange

# --------------------------------------------------------------------------- filtering


def thread_count():
    """Number of threads numba's parallel kernels use (1 with the JIT disabled)."""
    import numba

    return max(1, int(numba.get_num_threads()))


@jit
def _sos_pass(buf, n, sos, zi, scale, reverse):
    """One in-place pass of the SOS cascade over ``buf[:n]`` (direct form II transposed).

    The state of section ``s`` starts at ``zi[s] * scale`` (scipy's ``sosfilt`` with
    ``zi=zi * x0``).  ``reverse`` runs from the end to the start.
    """
    n_sec = sos.shape[0]
    z0 = np.empty(n_sec)
    z1 = np.empty(n_sec)
    for s in range(n_sec):
        z0[s] = zi[s, 0] * scale
        z1[s] = zi[s, 1] * scale
    for k in range(n):
        i = n - 1 - k if reverse else k
        v = buf[i]
        for s in range(n_sec):
            y = sos[s, 0] * v + z0[s]
            z0[s] = sos[s, 1] * v - sos[s, 4] * y + z1[s]
            z1[s] = sos[s, 2] * v - sos[s, 5] * y
            v = y
        buf[i] = v


@jit
def _filtfilt_run(x, start, stop, c, off, sos, zi, padlen, rectify, buf, out):
    """Zero-phase filter ``x[start:stop, c] - off`` (``|.|`` when ``rectify``) into
    ``out[start:stop, c]`` (odd padding)."""
    n = stop - start
    p = min(padlen, n - 1)
    m = n + 2 * p
    for i in range(n):
        v = x[start + i, c] - off
        buf[p + i] = abs(v) if rectify else v
    first = buf[p]
    last = buf[p + n - 1]
    for k in range(1, p + 1):
        buf[p - k] = 2.0 * first - buf[p + k]
        buf[p + n - 1 + k] = 2.0 * last - buf[p + n - 1 - k]
    _sos_pass(buf, m, sos, zi, buf[0], False)
    _sos_pass(buf, m, sos, zi, buf[m - 1], True)
    for i in range(n):
        out[start + i, c] = buf[p + i]


@jit(parallel=True)
def filtfilt_runs(x, off, sos, zi, padlen, rectify, cols, out):
    """Zero-phase SOS filter of each finite run of the channels ``cols`` of ``x``.

    Parameters are scipy's: ``sos`` (n_sections, 6), ``zi = sosfilt_zi(sos)``, odd
    extension of ``min(padlen, run_length - 1)`` samples at both ends of a run.  The
    filtered signal is ``x[:, c] - off[c]``, or its absolute value when ``rectify``
    (fused offset removal and full-wave rectification).  NaN samples stay NaN; a finite
    run of one sample becomes NaN (cannot be filtered).  Channels not in ``cols`` are
    not written.
    """
    n = x.shape[0]
    for q in prange(cols.shape[0]):
        c = cols[q]
        buf = np.empty(n + 2 * padlen)
        i = 0
        while i < n:
            if not math.isfinite(x[i, c]):
                out[i, c] = np.nan
                i += 1
                continue
            j = i
            while j < n and math.isfinite(x[j, c]):
                j += 1
            if j - i < 2:
                out[i, c] = np.nan
            else:
                _filtfilt_run(x, i, j, c, off[c], sos, zi, padlen, rectify, buf, out)
            i = j


#: Channels filtered together by :func:`_filtfilt_block` (two AVX2 registers of float64).
LANES = 8


@jit
def _sos_step(v, sos, z0, z1):
    """Advance the SOS cascade one sample for ``LANES`` channels at once: ``v`` in and
    out, states ``z0[s, :]``, ``z1[s, :]`` (direct form II transposed, the same
    operation order as scipy's ``sosfilt``).  The fixed lane count lets the channel
    loop compile to straight SIMD code."""
    for s in range(sos.shape[0]):
        b0 = sos[s, 0]
        b1 = sos[s, 1]
        b2 = sos[s, 2]
        a1 = sos[s, 4]
        a2 = sos[s, 5]
        for c in range(LANES):
            xi = v[c]
            y = b0 * xi + z0[s, c]
            z0[s, c] = b1 * xi - a1 * y + z1[s, c]
            z1[s, c] = b2 * xi - a2 * y
            v[c] = y


@jit
def _sos_init(v, zi, z0, z1):
    for s in range(zi.shape[0]):
        for c in range(LANES):
            z0[s, c] = zi[s, 0] * v[c]
            z1[s, c] = zi[s, 1] * v[c]


@jit
def _load_row(x, i, c0, w, off, rectify, v, chk):
    """``v[:w] = x[i, c0:c0 + w] - off`` (``|.|`` when ``rectify``); ``chk`` turns NaN
    for a lane that sees a non-finite sample.  Full blocks take a fixed-width loop."""
    if w == LANES:
        for c in range(LANES):
            a = x[i, c0 + c] - off[c0 + c]
            a = abs(a) if rectify else a
            chk[c] += a * 0.0
            v[c] = a
    else:
        for c in range(w):
            a = x[i, c0 + c] - off[c0 + c]
            a = abs(a) if rectify else a
            chk[c] += a * 0.0
            v[c] = a


@jit
def _store_row(v, out, i, c0, w):
    if w == LANES:
        for c in range(LANES):
            out[i, c0 + c] = v[c]
    else:
        for c in range(w):
            out[i, c0 + c] = v[c]


@jit
def _load_out_row(out, i, c0, w, v):
    if w == LANES:
        for c in range(LANES):
            v[c] = out[i, c0 + c]
    else:
        for c in range(w):
            v[c] = out[i, c0 + c]


@jit
def _filtfilt_block(x, c0, c1, off, sos, zi, padlen, rectify, out, bad):
    """Zero-phase filter of the whole columns ``c0:c1`` (at most ``LANES`` of them;
    ``n >= 2`` rows): the channels of the block advance together in one sweep over the
    rows, so the channel loop is contiguous in memory and vectorises (unused lanes
    filter zeros).  Same result as :func:`filtfilt_runs` for a column without NaN;
    ``bad[c]`` is set True for a column holding a non-finite value (its output is then
    meaningless and must be recomputed run by run)."""
    n = x.shape[0]
    w = c1 - c0
    n_sec = sos.shape[0]
    p = min(padlen, n - 1)
    v = np.zeros(LANES)
    first = np.zeros(LANES)
    last = np.zeros(LANES)
    chk = np.zeros(LANES)
    z0 = np.empty((n_sec, LANES))
    z1 = np.empty((n_sec, LANES))
    tail = np.zeros((max(p, 1), LANES))
    _load_row(x, 0, c0, w, off, rectify, first, chk)
    _load_row(x, n - 1, c0, w, off, rectify, last, chk)
    # forward pass over the odd extension: left pad, signal, right pad (kept in tail)
    for k in range(p):
        _load_row(x, p - k, c0, w, off, rectify, v, chk)
        for c in range(LANES):
            v[c] = 2.0 * first[c] - v[c]
        if k == 0:
            _sos_init(v, zi, z0, z1)
        _sos_step(v, sos, z0, z1)
    if p == 0:
        _sos_init(first, zi, z0, z1)
    for i in range(n):
        _load_row(x, i, c0, w, off, rectify, v, chk)
        _sos_step(v, sos, z0, z1)
        _store_row(v, out, i, c0, w)
    for k in range(p):
        _load_row(x, n - 2 - k, c0, w, off, rectify, v, chk)
        for c in range(LANES):
            v[c] = 2.0 * last[c] - v[c]
        _sos_step(v, sos, z0, z1)
        for c in range(LANES):
            tail[k, c] = v[c]
    # backward pass: right pad (outputs dropped), then the signal in place
    if p > 0:
        for c in range(LANES):
            v[c] = tail[p - 1, c]
    else:
        _load_out_row(out, n - 1, c0, w, v)
    _sos_init(v, zi, z0, z1)
    for k in range(p):
        for c in range(LANES):
            v[c] = tail[p - 1 - k, c]
        _sos_step(v, sos, z0, z1)
    for k in range(n):
        _load_out_row(out, n - 1 - k, c0, w, v)
        _sos_step(v, sos, z0, z1)
        _store_row(v, out, n - 1 - k, c0, w)
    for c in range(w):
        bad[c0 + c] = chk[c] != 0.0  # True for NaN


@jit(parallel=True)
def filtfilt_blocks(x, off, sos, zi, padlen, rectify, bounds, out, bad):
    """:func:`_filtfilt_block` over column blocks ``bounds[b]:bounds[b + 1]`` (each at
    most ``LANES`` wide) in parallel; no shared writes.  ``x.shape[0] >= 2``."""
    for b in range(bounds.shape[0] - 1):
        if not 0 <= bounds[b + 1] - bounds[b] <= LANES:
            raise ValueError("filtfilt_blocks: a column block is wider than LANES")
    for b in prange(bounds.shape[0] - 1):
        _filtfilt_block(x, bounds[b], bounds[b + 1], off, sos, zi, padlen, rectify, out, bad)


# ------------------------------------------------------------------ moving windows, TKEO


@jit(parallel=True)
def moving_rms(x, half, out):
    """Centred moving RMS over ``2 * half + 1`` samples (shorter at the edges).

    A window that contains a NaN gives NaN.
    """
    n, n_ch = x.shape
    for c in prange(n_ch):
        acc = 0.0
        n_nan = 0
        count = 0
        # window [lo, hi] around i; maintain running sums
        for i in range(min(half, n - 1) + 1):
            v = x[i, c]
            if math.isfinite(v):
                acc += v * v
            else:
                n_nan += 1
            count += 1
        for i in range(n):
            if i > 0:
                hi = i + half
                if hi < n:
                    v = x[hi, c]
                    if math.isfinite(v):
                        acc += v * v
                    else:
                        n_nan += 1
                    count += 1
                lo = i - half - 1
                if lo >= 0:
                    v = x[lo, c]
                    if math.isfinite(v):
                        acc -= v * v
                    else:
                        n_nan -= 1
                    count -= 1
            if n_nan > 0:
                out[i, c] = np.nan
            else:
                out[i, c] = math.sqrt(max(acc, 0.0) / count)


@jit(parallel=True)
def tkeo(x, out):
    """Teager-Kaiser energy ``x[n]^2 - x[n-1] x[n+1]``; the end samples copy their
    neighbours (``n >= 3``); NaN propagates to the samples that touch it."""
    n, n_ch = x.shape
    for c in prange(n_ch):
        for i in range(1, n - 1):
            out[i, c] = x[i, c] * x[i, c] - x[i - 1, c] * x[i + 1, c]
        out[0, c] = out[1, c]
        out[n - 1, c] = out[n - 2, c]


@jit(parallel=True)
def moving_count_above(x, level, half, out):
    """Count of samples with ``x^2 > level[c]`` in the centred window of ``2*half+1``.

    NaN samples count as not above and make the output NaN where they are in the window.
    """
    n, n_ch = x.shape
    for c in prange(n_ch):
        cnt = 0
        n_nan = 0
        lev = level[c]
        for i in range(min(half, n - 1) + 1):
            v = x[i, c]
            if not math.isfinite(v):
                n_nan += 1
            elif v * v > lev:
                cnt += 1
        for i in range(n):
            if i > 0:
                hi = i + half
                if hi < n:
                    v = x[hi, c]
                    if not math.isfinite(v):
                        n_nan += 1
                    elif v * v > lev:
                        cnt += 1
                lo = i - half - 1
                if lo >= 0:
                    v = x[lo, c]
                    if not math.isfinite(v):
                        n_nan -= 1
                    elif v * v > lev:
                        cnt -= 1
            out[i, c] = np.nan if n_nan > 0 else float(cnt)


@jit(parallel=True)
def quietest_window(x, win, square, out_start):
    """Start index of the length-``win`` window with the lowest mean of ``x`` (of
    ``x^2`` when ``square``), per channel.

    Windows containing NaN are skipped; -1 when no finite window exists.  Ties go to the
    earliest window.  The running sum is recomputed every ``win`` samples to bound
    rounding drift.
    """
    n, n_ch = x.shape
    for c in prange(n_ch):
        best = np.inf
        best_i = -1
        acc = 0.0
        n_nan = 0
        for i in range(n):
            v = x[i, c]
            if math.isfinite(v):
                acc += v * v if square else v
            else:
                n_nan += 1
            if i >= win:
                u = x[i - win, c]
                if math.isfinite(u):
                    acc -= u * u if square else u
                else:
                    n_nan -= 1
            if i >= win - 1 and n_nan == 0:
                if (i + 1) % win == 0:
                    acc = 0.0
                    for q in range(i - win + 1, i + 1):
                        u = x[q, c]
                        acc += u * u if square else u
                if acc < best:
                    best = acc
                    best_i = i - win + 1
        out_start[c] = best_i


@jit(parallel=True)
def window_power(x, win, step, bounds, out):
    """Mean of ``x^2`` over windows ``[w * step, w * step + win)`` per channel;
    NaN when the window holds a NaN.  ``out`` has shape ``(n_windows, n_channels)``.

    One sweep over the rows per column block ``bounds[b]:bounds[b + 1]`` (row-major
    access; blocks in parallel); each window sums its samples in order.
    """
    n_w = out.shape[0]
    n = min(x.shape[0], (n_w - 1) * step + win) if n_w > 0 else 0
    for b in prange(bounds.shape[0] - 1):
        c0 = bounds[b]
        c1 = bounds[b + 1]
        for w in range(n_w):
            for c in range(c0, c1):
                out[w, c] = 0.0
        for i in range(n):
            w_hi = min(i // step, n_w - 1)
            w_lo = 0 if i < win else (i - win) // step + 1
            for w in range(w_lo, w_hi + 1):
                for c in range(c0, c1):
                    v = x[i, c]
                    out[w, c] += v * v
        for w in range(n_w):
            for c in range(c0, c1):
                out[w, c] /= win


@jit(parallel=True)
def range_stats(x, lo, hi, n_ranges, out):
    """Statistics of the finite values of ``x[lo[k, c]:hi[k, c], c]`` for
    ``k < n_ranges[c]``, pooled (overlapping ranges count twice), per channel ``c``:
    ``out[c] = (count, mean, SD with ddof 1, mean square)``; NaN where undefined.
    Two passes (mean, then squared deviations) as numpy's ``std``."""
    n_ch = x.shape[1]
    for c in prange(n_ch):
        cnt = 0
        s = 0.0
        s2 = 0.0
        for k in range(n_ranges[c]):
            for i in range(lo[k, c], hi[k, c]):
                v = x[i, c]
                if math.isfinite(v):
                    cnt += 1
                    s += v
                    s2 += v * v
        out[c, 0] = cnt
        if cnt == 0:
            out[c, 1] = np.nan
            out[c, 2] = np.nan
            out[c, 3] = np.nan
            continue
        mean = s / cnt
        ss = 0.0
        for k in range(n_ranges[c]):
            for i in range(lo[k, c], hi[k, c]):
                v = x[i, c]
                if math.isfinite(v):
                    ss += (v - mean) * (v - mean)
        out[c, 1] = mean
        out[c, 2] = math.sqrt(ss / (cnt - 1)) if cnt > 1 else np.nan
        out[c, 3] = s2 / cnt


@jit(parallel=True)
def mask_gap_edges(x, guard, cols, score):
    """Set ``score`` to NaN within ``guard`` samples of each NaN gap edge of ``x``, in
    the channels ``cols`` (the others have no gap).

    Only interior edges count (a finite sample next to a NaN sample); the first and the
    last sample of the record are not gap edges.  ``score`` is modified in place.
    """
    n = x.shape[0]
    for k in prange(cols.shape[0]):
        c = cols[k]
        for i in range(n - 1):
            a = math.isfinite(x[i, c])
            b = math.isfinite(x[i + 1, c])
            if a and not b:  # finite run ends at i
                for q in range(max(0, i + 1 - guard), i + 1):
                    score[q, c] = np.nan
            elif b and not a:  # finite run starts at i + 1
                for q in range(i + 1, min(n, i + 1 + guard)):
                    score[q, c] = np.nan


# ----------------------------------------------------------------- bursts (debounce)


@jit
def _emit_burst(c, start, stop, min_off, out_on, out_off, k, overflow):
    """Append burst ``[start, stop)`` of channel ``c``, merged into the previous one when
    the gap is shorter than ``min_off``; returns the new count."""
    if k > 0 and start - out_off[k - 1, c] < min_off:
        out_off[k - 1, c] = stop
    elif k < out_on.shape[0]:
        out_on[k, c] = start
        out_off[k, c] = stop
        k += 1
    else:
        overflow[c] = True
    return k


@jit(parallel=True)
def threshold_bursts(score, thr, thr_off, min_on, min_off, bounds, out_on, out_off,
                     out_count):
    """Debounced supra-threshold bursts of each channel of ``score`` with hysteresis.

    A burst starts at a sample where ``score > thr[c]`` holds for at least ``min_on``
    consecutive samples (shorter runs are skipped) and lasts until the first sample
    with ``score <= thr_off[c]`` (``thr_off <= thr``; equal: no hysteresis; NaN ends a
    burst and is never active).  Then a burst that starts less than ``min_off`` samples
    after the end of the previous kept burst is merged into it.  Bursts are half-open
    sample ranges ``[on, off)`` written to ``out_on[:k, c]``, ``out_off[:k, c]``;
    ``out_count[c] = k``.  Rows beyond capacity are not written and ``out_count[c]`` is
    set to -1 (the caller must enlarge the output).

    A per-channel state machine (idle, above ``thr``, held above ``thr_off``) advanced
    row by row, so that each column block ``bounds[b]:bounds[b + 1]`` is read once in
    memory order; blocks run in parallel.
    """
    n = score.shape[0]
    n_ch = score.shape[1]
    overflow = np.zeros(n_ch, dtype=np.bool_)
    for b in prange(bounds.shape[0] - 1):
        c0 = bounds[b]
        c1 = bounds[b + 1]
        w = c1 - c0
        mode = np.zeros(w, dtype=np.int64)  # 0 idle, 1 above thr, 2 held above thr_off
        start = np.zeros(w, dtype=np.int64)
        k = np.zeros(w, dtype=np.int64)
        t = np.empty(w)
        t_off = np.empty(w)
        for q in range(w):
            t[q] = thr[c0 + q]
            t_off[q] = min(thr_off[c0 + q], thr[c0 + q])
        for i in range(n):
            for q in range(w):
                s = score[i, c0 + q]
                m = mode[q]
                if m == 0:
                    if s > t[q]:
                        start[q] = i
                        mode[q] = 1
                elif m == 1:
                    if not s > t[q]:
                        if i - start[q] < min_on:
                            mode[q] = 0
                        elif s > t_off[q]:
                            mode[q] = 2
                        else:
                            k[q] = _emit_burst(c0 + q, start[q], i, min_off, out_on,
                                               out_off, k[q], overflow)
                            mode[q] = 0
                elif not s > t_off[q]:
                    k[q] = _emit_burst(c0 + q, start[q], i, min_off, out_on, out_off,
                                       k[q], overflow)
                    mode[q] = 0
        for q in range(w):
            if mode[q] == 2 or (mode[q] == 1 and n - start[q] >= min_on):
                k[q] = _emit_burst(c0 + q, start[q], n, min_off, out_on, out_off, k[q],
                                   overflow)
            out_count[c0 + q] = -1 if overflow[c0 + q] else k[q]


@jit(parallel=True)
def burst_peak_rms(x, ch, on, off, win, out):
    """Peak of the moving RMS (trailing window of ``win`` samples, shorter at the burst
    start) of ``x[on[k]:off[k], ch[k]]`` for each burst ``k``; NaN samples are skipped
    (they add nothing to the window sum); NaN when the burst holds no finite sample.
    Bursts in parallel (one output each)."""
    for k in prange(on.shape[0]):
        c = ch[k]
        acc = 0.0
        cnt = 0
        best = -1.0
        for i in range(on[k], off[k]):
            v = x[i, c]
            if math.isfinite(v):
                acc += v * v
                cnt += 1
            j = i - win
            if j >= on[k]:
                u = x[j, c]
                if math.isfinite(u):
                    acc -= u * u
                    cnt -= 1
            if cnt > 0:
                r = max(acc, 0.0) / cnt
                if r > best:
                    best = r
        out[k] = math.sqrt(best) if best >= 0.0 else np.nan


# ------------------------------------------------------------- changepoint refiners


@jit
def _bin_energy(x, c, lo, n_bins, m, e):
    """Sum of squares of ``m``-sample bins starting at ``lo``; returns False on NaN."""
    for b in range(n_bins):
        s = 0.0
        base = lo + b * m
        for i in range(m):
            v = x[base + i, c]
            if not math.isfinite(v):
                return False
            s += v * v
        e[b] = s
    return True


@jit
def _ramp_model_loglik(e, cum, j0, nr, n_bins, m, dt, pw=2.0):
    """Profile log-likelihood of bin energies ``e`` for an onset at bin ``j0`` and a
    linear amplitude ramp of ``nr`` bins followed by a plateau to the last bin.

    Baseline variance = mean power before ``j0``; plateau variance = mean power from
    the ramp end (both ML estimates); during the ramp the variance is
    ``vb + (vp - vb) (tau / R)^2`` with ``tau`` the bin-centre time after the onset.
    Constants dropped.  Returns -inf when fewer than 2 plateau bins remain.
    """
    je = j0 + nr
    if je > n_bins - 2:
        return -np.inf
    vb = max(cum[j0] / (j0 * m), 1e-300)
    vp = max((cum[n_bins] - cum[je]) / ((n_bins - je) * m), vb)
    ll = -0.5 * j0 * m * (math.log(vb) + 1.0)
    ll -= 0.5 * (n_bins - je) * m * (math.log(vp) + 1.0)
    a2 = vp - vb
    r = nr * dt
    for j in range(j0, je):
        tau = (j - j0 + 0.5) * dt
        v = vb + a2 * _ramp_shape(tau / r, pw)
        ll -= 0.5 * m * math.log(v) + 0.5 * e[j] / v
    return ll


@jit(parallel=True)
def refine_ramp(x, ch, lo, on, hi, bin_len, dt, ramp_bins, min_pre, max_after, step, out):
    """Maximum-likelihood onset of a ramp-then-plateau amplitude model, per burst ``k``.

    Model for the zero-mean band-passed signal ``x[lo[k]:hi[k], ch[k]]``: Gaussian with
    a constant baseline variance before the onset ``t0``, an amplitude rising linearly
    over ``R`` to a plateau, and a constant plateau variance until ``hi[k]`` (a step is
    the limit of small ``R``).  Both variances are profiled out (their ML estimates);
    ``R`` is profiled over ``ramp_bins`` (in bins).  The signal is cut into bins of
    ``bin_len`` samples (``dt`` seconds); ``t0`` is searched on bin starts from
    ``min_pre`` bins after ``lo[k]`` to ``max_after`` bins after the coarse onset
    ``on[k]``, first every ``step`` bins and then bin by bin around the best.  Writes
    the onset sample index to ``out[k]``, or -1 when the window holds NaN or is too
    short.
    """
    n_b = lo.shape[0]
    n_r = ramp_bins.shape[0]
    for k in prange(n_b):
        c = ch[k]
        m = bin_len
        n_bins = (hi[k] - lo[k]) // m
        if n_bins < min_pre + 4:
            out[k] = -1
            continue
        e = np.empty(n_bins)
        if not _bin_energy(x, c, lo[k], n_bins, m, e):
            out[k] = -1
            continue
        cum = np.empty(n_bins + 1)
        cum[0] = 0.0
        for j in range(n_bins):
            cum[j + 1] = cum[j] + e[j]
        jc = (on[k] - lo[k]) // m
        j_last = min(max(jc + max_after, min_pre + 1), n_bins - 3)
        best = -np.inf
        best_j = -1
        for sweep in range(2):
            if sweep == 0:
                a, b, st = min_pre, j_last + 1, step
            else:
                if best_j < 0:
                    break
                a = max(min_pre, best_j - step + 1)
                b = min(j_last + 1, best_j + step)
                st = 1
            for j0 in range(a, b, st):
                for g in range(n_r):
                    ll = _ramp_model_loglik(e, cum, j0, ramp_bins[g], n_bins, m, dt, 2.0)
                    if ll > best:
                        best = ll
                        best_j = j0
        out[k] = -1 if best_j < 0 else lo[k] + best_j * m


@jit
def _ramp_shape(u, pw):
    """``u ** pw`` for the variance ramp (pw 2: amplitude rising linearly; 4: as u**2)."""
    if pw == 2.0:
        return u * u
    if pw == 4.0:
        q = u * u
        return q * q
    return math.pow(u, pw)


@jit
def _ramp_loglik_vb(e, cum, j0, nr, n_bins, m, dt, vb_known, pw=2.0):
    """As :func:`_ramp_model_loglik` but with a known baseline variance ``vb_known``
    (> 0) instead of its estimate from the bins before ``j0``."""
    je = j0 + nr
    if je > n_bins - 2:
        return -np.inf
    vb = vb_known
    vp = max((cum[n_bins] - cum[je]) / ((n_bins - je) * m), vb)
    ll = -0.5 * (j0 * m * math.log(vb) + cum[j0] / vb)
    ll -= 0.5 * (n_bins - je) * m * (math.log(vp) + 1.0)
    # ramp bins: v_j = vb * w_j with w_j = 1 + (vp / vb - 1) (tau / R)^2 >= 1; the sum
    # of log v_j is nr log vb + log of the product of the w_j, taken in chunks (one log
    # per chunk instead of one per bin; the product is flushed before it can overflow)
    rr = (vp - vb) / vb
    r = nr * dt
    log_w = 0.0
    prod = 1.0
    for j in range(j0, je):
        tau = (j - j0 + 0.5) * dt
        w = 1.0 + rr * _ramp_shape(tau / r, pw)
        ll -= 0.5 * e[j] / (vb * w)
        if w > 1e100:
            log_w += math.log(w)
        else:
            prod *= w
            if prod > 1e100:
                log_w += math.log(prod)
                prod = 1.0
    ll -= 0.5 * m * (nr * math.log(vb) + log_w + math.log(prod))
    return ll


@jit(parallel=True)
def refine_ramp_posterior(x, ch, lo, on, hi, bin_len, dt, ramp_bins, min_pre, max_after,
                          base_var, temperature, powers, log_prior, out):
    """Posterior-median onset of the ramp-then-plateau model (Bayesian changepoint).

    Same model, binning and search range as :func:`refine_ramp`, with two changes: the
    baseline variance is ``base_var[ch[k]]`` when positive (known from the long
    baseline, not re-estimated from the short window), and instead of the maximum the
    onset is the **median** of the posterior over onset bins ``t0`` (flat prior on
    ``t0`` and on the rise time, which is marginalised over ``ramp_bins``).  The
    log-likelihood is multiplied by ``temperature`` (<= 1) because band-limited samples
    are correlated and carry fewer independent observations than their count.  The
    median minimises the expected absolute onset error.  ``powers``: the shapes of the
    rise summed out with the rise time (flat prior): the variance rises as
    ``(tau / R) ** p`` (p = 2: amplitude linear in time; 4: amplitude rising as a
    square, a gradual start); ``log_prior[i]`` is the log prior weight of ``powers[i]``
    (zeros: a flat prior).  Output as in :func:`refine_ramp`.
    """
    n_b = lo.shape[0]
    n_r = ramp_bins.shape[0] * powers.shape[0]
    n_g = ramp_bins.shape[0]
    for k in prange(n_b):
        c = ch[k]
        m = bin_len
        n_bins = (hi[k] - lo[k]) // m
        if n_bins < min_pre + 4:
            out[k] = -1
            continue
        e = np.empty(n_bins)
        if not _bin_energy(x, c, lo[k], n_bins, m, e):
            out[k] = -1
            continue
        cum = np.empty(n_bins + 1)
        cum[0] = 0.0
        for j in range(n_bins):
            cum[j + 1] = cum[j] + e[j]
        jc = (on[k] - lo[k]) // m
        j_last = min(max(jc + max_after, min_pre + 1), n_bins - 3)
        n_j = j_last + 1 - min_pre
        lp = np.empty(n_j)
        lls = np.empty(n_r)
        top = -np.inf
        for q in range(n_j):
            j0 = min_pre + q
            mx = -np.inf
            for g in range(n_r):
                nr = ramp_bins[g % n_g]
                pw = powers[g // n_g]
                if base_var[c] > 0.0:
                    ll = _ramp_loglik_vb(e, cum, j0, nr, n_bins, m, dt, base_var[c], pw)
                else:
                    ll = _ramp_model_loglik(e, cum, j0, nr, n_bins, m, dt, pw)
                lls[g] = temperature * ll + log_prior[g // n_g]
                if lls[g] > mx:
                    mx = lls[g]
            if mx == -np.inf:
                lp[q] = -np.inf
                continue
            s = 0.0
            for g in range(n_r):
                if lls[g] > -np.inf:
                    s += math.exp(lls[g] - mx)
            lp[q] = mx + math.log(s)
            if lp[q] > top:
                top = lp[q]
        if top == -np.inf:
            out[k] = -1
            continue
        total = 0.0
        for q in range(n_j):
            lp[q] = math.exp(lp[q] - top) if lp[q] > -np.inf else 0.0
            total += lp[q]
        acc = 0.0
        best = n_j - 1
        for q in range(n_j):
            acc += lp[q]
            if acc >= 0.5 * total:
                best = q
                break
        out[k] = lo[k] + (min_pre + best) * m


@jit(parallel=True)
def refine_step(x, ch, lo, hi, bin_len, out):
    """Maximum-likelihood variance step (AGLR-like), per burst.

    Two Gaussian segments with constant variances, each profiled out by its ML
    estimate (mean power before / after the candidate onset), over ``lo[k]:hi[k]``.  Same binning and
    output convention as :func:`refine_ramp`.
    """
    n_b = lo.shape[0]
    for k in prange(n_b):
        c = ch[k]
        m = bin_len
        n_bins = (hi[k] - lo[k]) // m
        if n_bins < 4:
            out[k] = -1
            continue
        e = np.empty(n_bins)
        if not _bin_energy(x, c, lo[k], n_bins, m, e):
            out[k] = -1
            continue
        total = 0.0
        for j in range(n_bins):
            total += e[j]
        pre_e = 0.0
        best = -np.inf
        best_j = 0
        for j0 in range(1, n_bins - 1):
            pre_e += e[j0 - 1]
            n_pre = j0 * m
            n_post = (n_bins - j0) * m
            vb = max(pre_e / n_pre, 1e-300)
            v1 = max((total - pre_e) / n_post, 1e-300)
            ll = -0.5 * n_pre * math.log(vb) - 0.5 * n_post * math.log(v1)
            if ll > best:
                best = ll
                best_j = j0
        out[k] = lo[k] + best_j * m


# ----------------------------------------------------------------------- amplitude


@jit
def window_stats(x, start, stop, dt, out_mean, out_peak, out_integral):
    """Mean, peak and trapezoid integral of ``x[start[k]:stop[k], c]`` for every window
    ``k`` and channel ``c`` (NaN samples ignored; all-NaN windows give NaN)."""
    n_w = start.shape[0]
    n_ch = x.shape[1]
    for k in range(n_w):
        for c in range(n_ch):
            s = 0.0
            cnt = 0
            pk = -np.inf
            integ = 0.0
            prev = np.nan
            for i in range(start[k], stop[k]):
                v = x[i, c]
                if math.isfinite(v):
                    s += v
                    cnt += 1
                    if v > pk:
                        pk = v
                    if math.isfinite(prev):
                        integ += 0.5 * (prev + v) * dt
                prev = v
            if cnt == 0:
                out_mean[k, c] = np.nan
                out_peak[k, c] = np.nan
                out_integral[k, c] = np.nan
            else:
                out_mean[k, c] = s / cnt
                out_peak[k, c] = pk
                out_integral[k, c] = integ
