"""Numba kernels for force-plate analysis (labkit.signal.force).

Rules (docs/design.md, principle 2): kernels take arrays and scalars only, loop, and
write into preallocated output; thresholds are arguments, never globals. The public
wrappers in ``labkit.signal.force`` validate input (no NaN reaches a kernel) and
allocate. Every kernel has a slow, obvious twin in ``tests/reference/force_reference.py``.

Signal model: the force between two samples is the straight line joining them
(piecewise linear). Force at a fractional sample position is linearly interpolated and
impulses are the exact integral of that line (trapezoid with a partial last interval).

The module-level ``ISO_*`` and ``CMJ_*`` integers are column indices into the scalar
output rows; they are layout, not parameters.
"""

from __future__ import annotations

import math

import numpy as np

from labkit._numba import jit, prange
from labkit.signal._landmark_kernels import down_crossing, up_crossing
from labkit.signal._landmark_kernels import stable_window as stable_window  # re-exported for the tests

# ---- isometric scalar output layout ------------------------------------------------
ISO_BASELINE = 0  # mean force of the weighing window (N)
ISO_SD = 1  # sample SD (ddof=1) of the weighing window (N)
ISO_RANGE = 2  # max - min within the weighing window (N)
ISO_THRESHOLD = 3  # onset threshold above baseline (N)
ISO_ONSET = 4  # onset sample index (float; -1 when not found)
ISO_PEAK = 5  # peak force (N), from onset (or weighing end) to the end
ISO_PEAK_IDX = 6  # sample index of the peak
ISO_PEAK_RFD = 7  # peak RFD over a sliding window, onset..peak (N/s)
ISO_MIN_PRE = 8  # minimum force between weighing end and onset (N)
ISO_CLIP_RUN = 9  # longest run of samples exactly equal to the maximum
ISO_NCOLS = 10

# ---- jump scalar output layout ------------------------------------------------------
CMJ_BASELINE = 0
CMJ_SD = 1
CMJ_RANGE = 2
CMJ_ONSET = 3  # onset index after the back-step (-1 when not found)
CMJ_TAKEOFF_IDX = 4  # first airborne sample (-1 when not found)
CMJ_LANDING_IDX = 5  # first loaded sample after the flight (-1 when not found)
CMJ_TAKEOFF_S = 6
CMJ_LANDING_S = 7
CMJ_V_TAKEOFF = 8  # velocity at takeoff_s (m/s)
CMJ_B_IDX = 9  # peak negative velocity (end of unweighting), -1 if v never < 0
CMJ_Z_IDX = 10  # zero velocity after B (lowest point), -1 if none
CMJ_MIN_DISP = 11  # minimum displacement onset..takeoff (m, <= 0)
CMJ_PEAK_FORCE = 12  # onset..takeoff
CMJ_PEAK_POWER = 13  # max F*v onset..takeoff (W)
CMJ_MIN_FORCE = 14  # minimum force onset..peak force (the unweighting dip, N)
CMJ_LAND_END_IDX = 15  # first sample after landing with v >= 0 (-1 if none)
CMJ_TAKEOFF_THR = 16  # takeoff/landing threshold used (N)
CMJ_MEAN_BRAKING_F = 17  # mean force B..Z (N)
CMJ_MEAN_PROP_F = 18  # mean force over propulsion (N)
CMJ_MIN_PRE_PEAK = 19  # minimum force from weighing end to the peak force (N)
CMJ_PEAK_IDX = 20
CMJ_MEAN_PROP_POWER = 21  # mean F*v over propulsion (W)
CMJ_TAKEOFF_REF_IDX = 22  # refined takeoff sample: first at/below the flight baseline
CMJ_LANDING_REF_IDX = 23  # refined landing: last sample at/below the flight baseline
CMJ_NCOLS = 24


@jit
def weighing_stats(f, i0, i1, out):
    """Mean, sample SD (ddof=1) and range of f[i0:i1] into out[0:3]."""
    n = i1 - i0
    s = 0.0
    lo = f[i0]
    hi = f[i0]
    for i in range(i0, i1):
        x = f[i]
        s += x
        if x < lo:
            lo = x
        if x > hi:
            hi = x
    mean = s / n
    ss = 0.0
    for i in range(i0, i1):
        d = f[i] - mean
        ss += d * d
    out[0] = mean
    out[1] = math.sqrt(ss / (n - 1)) if n > 1 else 0.0
    out[2] = hi - lo


@jit
def find_onset(f, start, stop, baseline, threshold, two_sided, hold, backtrack_n, backstep):
    """First index in [start, stop) where the deviation from baseline exceeds threshold
    for ``hold`` consecutive samples; -1 if none.

    Deviation is f - baseline (one-sided) or |f - baseline| (two-sided). Then, when
    backtrack_n is finite, step back while the deviation exceeds backtrack_n (down to
    ``start``); finally step back ``backstep`` samples (not below 0).
    """
    run = 0
    onset = -1
    for i in range(start, stop):
        d = f[i] - baseline
        if two_sided:
            d = abs(d)
        if d > threshold:
            run += 1
            if run >= hold:
                onset = i - hold + 1
                break
        else:
            run = 0
    if onset < 0:
        return -1
    if not math.isnan(backtrack_n):
        while onset > start:
            d = f[onset] - baseline
            if two_sided:
                d = abs(d)
            if d <= backtrack_n:
                break
            onset -= 1
    onset -= backstep
    if onset < 0:
        onset = 0
    return onset


@jit
def interp_at(f, n, p):
    """Force at fractional sample position p (linear); NaN outside [0, n-1]."""
    if p < 0.0 or p > n - 1:
        return np.nan
    i = math.floor(p)
    frac = p - i
    if frac == 0.0:
        return f[i]
    return f[i] + frac * (f[i + 1] - f[i])


@jit
def net_impulse(f, n, p0, p1, baseline):
    """Integral of (f - baseline) between fractional sample positions p0 <= p1, in
    sample units (multiply by 1/fs for N*s); piecewise-linear model. NaN outside."""
    if p0 < 0.0 or p1 > n - 1 or p1 < p0:
        return np.nan
    i0 = math.floor(p0)
    i1 = math.floor(p1)
    g0 = interp_at(f, n, p0) - baseline
    if i0 == i1:
        g1 = interp_at(f, n, p1) - baseline
        return 0.5 * (g0 + g1) * (p1 - p0)
    # partial first interval p0 .. i0 + 1
    acc = 0.5 * (g0 + (f[i0 + 1] - baseline)) * (i0 + 1 - p0)
    for i in range(i0 + 1, i1):
        acc += 0.5 * ((f[i] - baseline) + (f[i + 1] - baseline))
    if p1 > i1:
        g1 = interp_at(f, n, p1) - baseline
        acc += 0.5 * ((f[i1] - baseline) + g1) * (p1 - i1)
    return acc


@jit
def isometric_trial(
    f,
    n,
    fs,
    w0,
    w1,
    body_weight,
    thr_abs,
    thr_k,
    thr_frac,
    two_sided,
    hold,
    backtrack_n,
    backstep,
    epochs_smp,
    seq_edges_smp,
    rfd_win,
    out,
    out_force_at,
    out_rfd,
    out_impulse,
    out_seq,
):
    """Isometric metrics of one trial f[:n] into the preallocated outputs.

    epochs_smp and seq_edges_smp are epoch offsets from onset in samples (may be
    fractional); rfd_win is the peak-RFD window in samples (>= 1). body_weight is NaN
    when the baseline is the body weight.
    """
    weighing_stats(f, w0, w1, out)
    baseline = out[ISO_BASELINE]
    bw = baseline if math.isnan(body_weight) else body_weight
    thr = thr_abs + thr_k * out[ISO_SD] + thr_frac * bw
    out[ISO_THRESHOLD] = thr
    onset = find_onset(f, w1, n, baseline, thr, two_sided, hold, backtrack_n, backstep)
    out[ISO_ONSET] = onset
    start = onset if onset >= 0 else w1
    # one pass: peak from onset (or weighing end) to the end, and the longest run of
    # samples exactly equal to the maximum of the whole trial (reset when it grows)
    pk = start
    mx = f[0]
    run = 0
    best = 0
    for i in range(n):
        x = f[i]
        if i >= start and x > f[pk]:
            pk = i
        if x > mx:
            mx = x
            run = 1
            best = 1
        elif x == mx:
            run += 1
            if run > best:
                best = run
        else:
            run = 0
    out[ISO_PEAK] = f[pk] if start < n else np.nan
    out[ISO_PEAK_IDX] = pk
    out[ISO_CLIP_RUN] = best
    # minimum between weighing end and onset (or the end when no onset)
    stop = onset if onset >= 0 else n
    if stop > w1:
        lo = f[w1]
        for i in range(w1, stop):
            if f[i] < lo:
                lo = f[i]
        out[ISO_MIN_PRE] = lo
    else:
        out[ISO_MIN_PRE] = np.nan
    if onset < 0:
        out[ISO_PEAK_RFD] = np.nan
        for j in range(epochs_smp.shape[0]):
            out_force_at[j] = np.nan
            out_rfd[j] = np.nan
            out_impulse[j] = np.nan
        for j in range(out_seq.shape[0]):
            out_seq[j] = np.nan
        return
    # peak RFD: steepest rfd_win-sample chord between onset and peak
    best_rfd = -np.inf
    for i in range(onset, pk - rfd_win + 1):
        d = f[i + rfd_win] - f[i]
        if d > best_rfd:
            best_rfd = d
    out[ISO_PEAK_RFD] = best_rfd * fs / rfd_win if pk - rfd_win >= onset else np.nan
    f_on = f[onset]
    for j in range(epochs_smp.shape[0]):
        e = epochs_smp[j]
        p = onset + e
        fa = interp_at(f, n, p)
        out_force_at[j] = fa
        out_rfd[j] = (fa - f_on) * fs / e
        out_impulse[j] = net_impulse(f, n, float(onset), p, baseline) / fs
    for j in range(out_seq.shape[0]):
        a = seq_edges_smp[j]
        b = seq_edges_smp[j + 1]
        out_seq[j] = (interp_at(f, n, onset + b) - interp_at(f, n, onset + a)) * fs / (b - a)


@jit(parallel=True)
def isometric_batch(
    F,
    lengths,
    fs,
    w0,
    w1,
    body_weights,
    thr_abs,
    thr_k,
    thr_frac,
    two_sided,
    hold,
    backtrack_n,
    backstep,
    epochs_smp,
    seq_edges_smp,
    rfd_win,
    out,
    out_force_at,
    out_rfd,
    out_impulse,
    out_seq,
):
    """isometric_trial over the rows of F (one trial per row, valid length lengths[t]),
    parallel over trials; each trial writes only its own output rows."""
    for t in prange(F.shape[0]):
        isometric_trial(
            F[t],
            lengths[t],
            fs,
            w0,
            w1,
            body_weights[t],
            thr_abs,
            thr_k,
            thr_frac,
            two_sided,
            hold,
            backtrack_n,
            backstep,
            epochs_smp,
            seq_edges_smp,
            rfd_win,
            out[t],
            out_force_at[t],
            out_rfd[t],
            out_impulse[t],
            out_seq[t],
        )


@jit
def jump_trial(
    f,
    n,
    fs,
    w0,
    w1,
    s0,
    g,
    onset_k,
    two_sided,
    hold,
    backstep,
    thr,
    base,
    band,
    refine,
    takeoff_hold,
    landing_hold,
    interpolate,
    out,
):
    """Jump (CMJ or squat jump) landmarks and metrics of f[:n] into out (CMJ_* layout).

    Body weight is the mean of f[w0:w1]; the onset is searched from s0 (the weighing end
    when the athlete was weighed before the movement). Velocity and displacement are
    cumulative trapezoids of a = (f - BW) / m from the onset (v = s = 0 there),
    m = BW / g. Takeoff is the first sample below ``thr`` held for takeoff_hold samples
    (or below it to the end of the record); landing the first sample at or above it
    held for landing_hold samples. With ``refine`` the takeoff moves on to the first
    sample within ``band`` of the flight baseline ``base`` and the landing back to the
    last such sample, and the crossings are where the force reaches ``base``
    (:func:`down_crossing`, :func:`up_crossing`), so that the whole push is integrated.
    With interpolate, takeoff_s and landing_s are those crossings (of ``thr`` when not
    refined) and the takeoff velocity is taken there; else the first and the last
    airborne samples.
    """
    for j in range(out.shape[0]):
        out[j] = np.nan
    weighing_stats(f, w0, w1, out)
    bw = out[CMJ_BASELINE]
    m = bw / g
    dt = 1.0 / fs
    onset = find_onset(f, s0, n, bw, onset_k * out[CMJ_SD], two_sided, hold, np.nan, backstep)
    out[CMJ_ONSET] = onset
    for c in (CMJ_TAKEOFF_IDX, CMJ_LANDING_IDX, CMJ_B_IDX, CMJ_Z_IDX, CMJ_LAND_END_IDX,
              CMJ_TAKEOFF_REF_IDX, CMJ_LANDING_REF_IDX):  # fmt: skip
        out[c] = -1
    out[CMJ_TAKEOFF_THR] = thr
    if onset < 0:
        return
    # takeoff: first sample below thr held for takeoff_hold samples (or to the end)
    run = 0
    to = -1
    for i in range(onset + 1, n):
        if f[i] < thr:
            run += 1
            if run >= takeoff_hold or i == n - 1:
                to = i - run + 1
                break
        else:
            run = 0
    if to < 0:
        return
    out[CMJ_TAKEOFF_IDX] = to
    ld = -1
    run = 0
    for i in range(to + 1, n):
        if f[i] >= thr:
            run += 1
            if run >= landing_hold:
                ld = i - landing_hold + 1
                break
        else:
            run = 0
    out[CMJ_LANDING_IDX] = ld
    # refined takeoff k: first sample within band of the flight baseline (before landing)
    k = to
    hi = base + band
    if refine:
        lim = ld if ld >= 0 else n
        while k < lim and f[k] > hi:
            k += 1
        if k >= lim:
            k = to
    refined = refine and f[k] <= hi
    out[CMJ_TAKEOFF_REF_IDX] = k
    # integrate from onset to the takeoff sample k
    v = 0.0
    s = 0.0
    a_prev = (f[onset] - bw) / m
    vmin = 0.0
    b_idx = -1
    smin = 0.0
    pk = onset
    fmin = f[onset]
    pmax = f[onset] * 0.0
    v_prev = 0.0
    for i in range(onset + 1, k + 1):
        a = (f[i] - bw) / m
        v_prev = v
        v_new = v + 0.5 * (a_prev + a) * dt
        s += 0.5 * (v + v_new) * dt
        v = v_new
        a_prev = a
        if v < vmin:
            vmin = v
            b_idx = i
        if s < smin:
            smin = s
        if f[i] > f[pk]:
            pk = i
        p = f[i] * v
        if p > pmax:
            pmax = p
    v_to_smp = v
    out[CMJ_MIN_DISP] = smin
    out[CMJ_PEAK_FORCE] = f[pk]
    out[CMJ_PEAK_IDX] = pk
    for i in range(onset, pk + 1):
        if f[i] < fmin:
            fmin = f[i]
    out[CMJ_MIN_FORCE] = fmin
    out[CMJ_PEAK_POWER] = pmax
    out[CMJ_B_IDX] = b_idx
    # second pass: zero velocity after B, mean braking and propulsive force and power
    v = 0.0
    a_prev = (f[onset] - bw) / m
    z_idx = -1
    sum_b = 0.0
    nb = 0
    sum_p = 0.0
    sum_pw = 0.0
    np_ = 0
    prop_start = onset if b_idx < 0 else -1
    for i in range(onset + 1, k):
        a = (f[i] - bw) / m
        v = v + 0.5 * (a_prev + a) * dt
        a_prev = a
        if b_idx >= 0 and i >= b_idx and z_idx < 0:
            if v >= 0.0:
                z_idx = i
                prop_start = i
            else:
                sum_b += f[i]
                nb += 1
        if prop_start >= 0 and i >= prop_start:
            sum_p += f[i]
            sum_pw += f[i] * v
            np_ += 1
    out[CMJ_Z_IDX] = z_idx
    out[CMJ_MEAN_BRAKING_F] = sum_b / nb if nb > 0 else np.nan
    out[CMJ_MEAN_PROP_F] = sum_p / np_ if np_ > 0 else np.nan
    out[CMJ_MEAN_PROP_POWER] = sum_pw / np_ if np_ > 0 else np.nan
    lo = f[s0] if s0 < n else np.nan
    for i in range(s0, pk + 1):
        if f[i] < lo:
            lo = f[i]
    out[CMJ_MIN_PRE_PEAK] = lo
    # velocity at takeoff: v(k) exactly, or at the crossing x in [k-1, k]
    if interpolate and refined and k > onset:
        x = down_crossing(f, k, base, onset)
        a0 = (f[k - 1] - bw) / m
        a_end = (base - bw) / m  # the force falls on a line from f[k-1] to base at x
        out[CMJ_V_TAKEOFF] = v_prev + 0.5 * (a0 + a_end) * (x - (k - 1)) * dt
        out[CMJ_TAKEOFF_S] = x * dt
    elif interpolate and not refined and k > onset and f[k - 1] != f[k]:
        frac = (f[k - 1] - thr) / (f[k - 1] - f[k])
        a0 = (f[k - 1] - bw) / m
        a1 = (f[k] - bw) / m
        out[CMJ_V_TAKEOFF] = v_prev + (frac * a0 + 0.5 * frac * frac * (a1 - a0)) * dt
        out[CMJ_TAKEOFF_S] = (k - 1 + frac) * dt
    else:
        out[CMJ_V_TAKEOFF] = v_to_smp
        out[CMJ_TAKEOFF_S] = k * dt
    if ld < 0:
        return
    # refined landing j: last sample within band of the flight baseline before landing
    j = ld - 1
    if refined:
        while j > k and f[j] > hi:
            j -= 1
    out[CMJ_LANDING_REF_IDX] = j
    if interpolate and refined:
        out[CMJ_LANDING_S] = up_crossing(f, n, j, ld, base) * dt
    elif interpolate and f[j + 1] != f[j]:
        out[CMJ_LANDING_S] = (j + (thr - f[j]) / (f[j + 1] - f[j])) * dt
    else:
        out[CMJ_LANDING_S] = j * dt
    # continue integrating through flight and landing until v returns to >= 0
    v = v_to_smp
    a_prev = (f[k] - bw) / m
    for i in range(k + 1, n):
        a = (f[i] - bw) / m
        v = v + 0.5 * (a_prev + a) * dt
        a_prev = a
        if i > ld and v >= 0.0:
            out[CMJ_LAND_END_IDX] = i
            break


@jit(parallel=True)
def jump_batch(
    F,
    lengths,
    fs,
    w0,
    w1,
    s0,
    g,
    onset_k,
    two_sided,
    hold,
    backstep,
    thr,
    base,
    band,
    refine,
    takeoff_hold,
    landing_hold,
    interpolate,
    out,
):
    """jump_trial over the rows of F, parallel over trials; w0, w1, s0, thr, base, band
    and refine are per-trial arrays (each trial has its own weighing window and flight)."""
    for t in prange(F.shape[0]):
        jump_trial(
            F[t],
            lengths[t],
            fs,
            w0[t],
            w1[t],
            s0[t],
            g,
            onset_k,
            two_sided,
            hold,
            backstep,
            thr[t],
            base[t],
            band[t],
            refine[t],
            takeoff_hold,
            landing_hold,
            interpolate,
            out[t],
        )
