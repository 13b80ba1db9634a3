"""Numba kernel of :func:`labkit.signal.kinematics.triple_extension_batch`.

One pass per trial, fused: the simple marker set's segment frames (pelvis, Harrington or
Bell hip centres, thigh, shank, foot), the sagittal Y-X-Z angle of hip, knee and ankle on
both sides, the zero-lag low-pass, the extension velocity, its peak (least-squares
parabola) and the extension onset, for the frames the triple-extension analysis reads
(the search window plus the filter's reach). Arrays and scalars only; trials run in
parallel. Each step is the operation of the composed path (``frames_from_markers``,
``lower_limb_angles``, ``triple_extension``), its slow reference:
``tests/signal/test_triple_extension_batch.py`` compares the two trial by trial.
"""

from __future__ import annotations

import math

import numpy as np

from labkit._numba import jit, prange
from labkit.signal._emg_kernels import _filtfilt_block

#: marker roles, in the row order of the ``cols`` argument (``cols[r]`` = the x, y, z
#: columns of role ``r``): the pelvis, then per side (left, right) knee lateral/medial,
#: ankle lateral/medial, heel and toe
ROLES = ("asis_l", "asis_r", "psis_l", "psis_r",
         *(f"{r}_{s}" for s in "lr" for r in ("knee_lateral", "knee_medial", "ankle_lateral",
                                              "ankle_medial", "heel", "toe")))  # fmt: skip
HIP_HARRINGTON, HIP_BELL = 0, 1
ONSET_ZERO, ONSET_FRACTION = 0, 1
#: error codes of a trial (0 = computed)
ERR_TAKEOFF_OUTSIDE, ERR_WINDOW_SHORT, ERR_NAN = 1, 2, 3
#: angle columns: side * 3 + joint (joints hip, knee, ankle; sides left, right)
N_ANGLES = 6


@jit
def _point(data, t, i, cols, r):
    # float64 arithmetic whatever the stored type (float32 streams), as the reference
    return (np.float64(data[t, i, cols[r, 0]]), np.float64(data[t, i, cols[r, 1]]),
            np.float64(data[t, i, cols[r, 2]]))


@jit
def _unit3(x, y, z):
    n = math.sqrt(x * x + y * y + z * z)
    if n > 0:
        r = 1.0 / n  # one division: equal to x / n within an ulp
        return x * r, y * r, z * r
    return np.nan, np.nan, np.nan


@jit
def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


@jit
def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@jit
def _long_axis_frame(z_vec, y_ref):
    """``frames_from_markers``' thigh/shank/foot frame: Z along ``z_vec``, X = y_ref x Z,
    Y = Z x X; the columns (X, Y, Z)."""
    fz = _unit3(z_vec[0], z_vec[1], z_vec[2])
    c = _cross(y_ref, fz)
    fx = _unit3(c[0], c[1], c[2])
    return fx, _cross(fz, fx), fz


#: cos(second Cardan angle) squared at gimbal lock: within 1e-3 deg of +-90 deg
#: (cardan_yxz's default tolerance)
_LOCK2 = math.sin(math.radians(1e-3)) ** 2


@jit
def _flexion_a(p, d):
    """First Y-X-Z Cardan angle of ``P^T D`` (rad) for frames given as column tuples
    (X, Y, Z), NaN at gimbal lock like ``cardan_yxz(on_gimbal_lock="nan")``."""
    r10, r11 = _dot(p[1], d[0]), _dot(p[1], d[1])
    if r10 * r10 + r11 * r11 <= _LOCK2:
        return np.nan
    return math.atan2(_dot(p[0], d[2]), _dot(p[2], d[2]))


@jit
def _side_angles(data, t, i, cols, base, sgn, pelvis, hjc, out, o):
    """Hip, knee and ankle sagittal angles (deg) of one side into ``out[o:o + 3]``."""
    kl = _point(data, t, i, cols, base)
    km = _point(data, t, i, cols, base + 1)
    anl = _point(data, t, i, cols, base + 2)
    anm = _point(data, t, i, cols, base + 3)
    heel = _point(data, t, i, cols, base + 4)
    toe = _point(data, t, i, cols, base + 5)
    kjc = (0.5 * (kl[0] + km[0]), 0.5 * (kl[1] + km[1]), 0.5 * (kl[2] + km[2]))
    ajc = (0.5 * (anl[0] + anm[0]), 0.5 * (anl[1] + anm[1]), 0.5 * (anl[2] + anm[2]))
    thigh = _long_axis_frame((hjc[0] - kjc[0], hjc[1] - kjc[1], hjc[2] - kjc[2]),
                             (sgn * (kl[0] - km[0]), sgn * (kl[1] - km[1]), sgn * (kl[2] - km[2])))
    shank = _long_axis_frame((kjc[0] - ajc[0], kjc[1] - ajc[1], kjc[2] - ajc[2]),
                             (sgn * (anl[0] - anm[0]), sgn * (anl[1] - anm[1]), sgn * (anl[2] - anm[2])))
    foot = _long_axis_frame((heel[0] - toe[0], heel[1] - toe[1], heel[2] - toe[2]), shank[1])
    out[o] = math.degrees(-_flexion_a(pelvis, thigh))
    out[o + 1] = math.degrees(_flexion_a(thigh, shank))
    ank = -_flexion_a(shank, foot) - math.pi / 2
    out[o + 2] = math.degrees((ank + math.pi) % (2 * math.pi) - math.pi)


@jit
def sagittal_angles(data, t, i, cols, hip_method, out):
    """The six sagittal angles (deg; PiG signs: hip/knee flexion +, ankle dorsiflexion
    +) of frame ``i`` of trial ``t`` into ``out[0:6]`` (side * 3 + joint)."""
    al = _point(data, t, i, cols, 0)
    ar = _point(data, t, i, cols, 1)
    pl = _point(data, t, i, cols, 2)
    pr = _point(data, t, i, cols, 3)
    ya = (al[0] - ar[0], al[1] - ar[1], al[2] - ar[2])
    mid = (0.5 * (al[0] + ar[0]), 0.5 * (al[1] + ar[1]), 0.5 * (al[2] + ar[2]))
    xr = (mid[0] - 0.5 * (pl[0] + pr[0]), mid[1] - 0.5 * (pl[1] + pr[1]), mid[2] - 0.5 * (pl[2] + pr[2]))
    pw = math.sqrt(_dot(ya, ya))
    pd = math.sqrt(_dot(xr, xr))
    py = _unit3(ya[0], ya[1], ya[2])
    d = _dot(xr, py)
    px = _unit3(xr[0] - d * py[0], xr[1] - d * py[1], xr[2] - d * py[2])
    pz = _cross(px, py)
    pelvis = (px, py, pz)
    if hip_method == HIP_HARRINGTON:
        hx, hy, hz = -0.24 * pd - 0.0099, 0.33 * pw + 0.0073, -0.30 * pw - 0.0109
    else:
        hx, hy, hz = -0.19 * pw, 0.36 * pw, -0.30 * pw
    for side in range(2):
        sgn = 1.0 if side == 0 else -1.0
        hjc = (mid[0] + px[0] * hx + py[0] * (sgn * hy) + pz[0] * hz,
               mid[1] + px[1] * hx + py[1] * (sgn * hy) + pz[1] * hz,
               mid[2] + px[2] * hx + py[2] * (sgn * hy) + pz[2] * hz)
        _side_angles(data, t, i, cols, 4 + 6 * side, sgn, pelvis, hjc, out, 3 * side)


@jit
def _peak_fit(v, k, lo, hi, fraction, res):
    """Least-squares parabola through the frames around ``k`` within ``[lo, hi)`` whose
    value is at least ``fraction * v[k]``: vertex into ``res`` and True, or False."""
    thr = fraction * v[k]
    a = k
    while a > lo and v[a - 1] >= thr:
        a -= 1
    b = k
    while b < hi - 1 and v[b + 1] >= thr:
        b += 1
    if b - a < 2:
        return False
    # normal equations of y = c0 + c1 x + c2 x^2, x = frame - k
    s0 = s1 = s2 = s3 = s4 = y0 = y1 = y2 = 0.0
    for q in range(a, b + 1):
        x = float(q - k)
        x2 = x * x
        y = v[q]
        s0 += 1.0
        s1 += x
        s2 += x2
        s3 += x2 * x
        s4 += x2 * x2
        y0 += y
        y1 += x * y
        y2 += x2 * y
    det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2)
    c0 = (y0 * (s2 * s4 - s3 * s3) - s1 * (y1 * s4 - s3 * y2) + s2 * (y1 * s3 - s2 * y2)) / det
    c1 = (s0 * (y1 * s4 - y2 * s3) - y0 * (s1 * s4 - s3 * s2) + s2 * (s1 * y2 - y1 * s2)) / det
    c2 = (s0 * (s2 * y2 - s3 * y1) - s1 * (s1 * y2 - y1 * s2) + y0 * (s1 * s3 - s2 * s2)) / det
    if not c2 < 0:
        return False
    off = min(max(-c1 / (2 * c2), float(a - k)), float(b - k))
    res[0] = k + off
    res[1] = c0 + c1 * off + c2 * off * off
    return True


@jit
def _onset(v, peak, lo, method, fraction):
    """Extension onset (frame, interpolated) before ``peak``: the last crossing of 0
    (``ONSET_ZERO``) or of ``fraction * v[peak]`` at or after ``lo``; NaN without one."""
    thr = 0.0 if method == ONSET_ZERO else fraction * v[peak]
    for i in range(peak - 1, lo - 1, -1):
        if v[i] <= thr:
            v0, v1 = v[i], v[i + 1]
            return i + (thr - v0) / (v1 - v0) if v1 != v0 else float(i)
    return np.nan


@jit
def _bracket(xp, x):
    """``j`` with ``xp[j] <= x < xp[j + 1]`` (increasing ``xp``, ``xp[0] < x < xp[-1]``)."""
    lo, hi = 0, xp.shape[0] - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo


@jit(parallel=True)
def sequencing_batch(data, cols, times, takeoff_s, fs, search_before_s, reach, hip_method, sides,
                     lowpass, sos, zi, padlen, subframe, fit_fraction, onset_method,
                     onset_fraction, peak_pos, peak_vel, onset_pos, takeoff_deg, err, err_at):
    """Triple-extension events of every trial.

    Parameters
    ----------
    data : (T, n, C) float array
        Marker channels of ``T`` trials of ``n`` frames (metres; NaN = missing).
    cols : (16, 3) int64
        Columns of the x, y, z of each role of :data:`ROLES`.
    times : (T, n) float64
        Frame times per trial (a broadcast row is fine).
    takeoff_s : (T,) float64
        Take-off on each trial's time base.
    fs, search_before_s : float
        Frame rate (Hz) and peak search window before take-off (s).
    reach : int
        Frames filtered beyond the search window (the filter's reach).
    hip_method, onset_method : int
        ``HIP_*`` and ``ONSET_*`` codes.
    sides : (2,) bool
        Sides analysed (left, right); the other side's NaN does not stop a trial and its
        outputs stay NaN.
    lowpass : bool
        Zero-lag filter with ``sos``/``zi``/``padlen`` (scipy's sosfiltfilt) or none.
    subframe : bool
        Sub-frame peak refinement; ``fit_fraction`` <= 0: three-frame parabola.
    onset_fraction : float
        Fraction of the peak velocity for ``ONSET_FRACTION``.
    peak_pos, peak_vel, onset_pos, takeoff_deg : (T, 6) float64 outputs
        Peak extension velocity frame (sub-frame) and value (deg/s), extension onset
        frame (NaN when none) and the unfiltered angle at take-off, per angle column.
    err, err_at : (T,) int64 outputs
        ``ERR_*`` code per trial (0 = computed) and, for ``ERR_NAN``, ``frame * 6 +
        column`` of the first NaN angle (sides, then joints, in the reference's order).
    """
    n_trials, n = data.shape[0], data.shape[1]
    for t in prange(n_trials):
        tt = times[t]
        err[t] = 0
        err_at[t] = -1
        for c in range(N_ANGLES):
            peak_pos[t, c] = peak_vel[t, c] = onset_pos[t, c] = takeoff_deg[t, c] = np.nan
        i_to = (takeoff_s[t] - tt[0]) * fs
        if not (0 <= i_to <= n - 1):
            err[t] = ERR_TAKEOFF_OUTSIDE
            continue
        lo = max(0, math.floor(i_to - search_before_s * fs))
        hi = min(n, math.ceil(i_to) + 1)
        if hi - lo < 5:
            err[t] = ERR_WINDOW_SHORT
            continue
        g0, g1 = max(0, lo - reach), min(n, hi + reach)
        m = g1 - g0
        ang = np.empty((m, N_ANGLES))
        one = np.empty(N_ANGLES)
        for i in range(m):
            sagittal_angles(data, t, g0 + i, cols, hip_method, one)
            for c in range(N_ANGLES):
                ang[i, c] = one[c]
        first_bad = -1
        for c in range(N_ANGLES):  # the reference checks side by side, joint by joint
            if not sides[c // 3]:
                continue
            for i in range(m):
                if not math.isfinite(ang[i, c]):
                    first_bad = (g0 + i) * N_ANGLES + c
                    break
            if first_bad >= 0:
                break
        if first_bad >= 0:
            err[t] = ERR_NAN
            err_at[t] = first_bad
            continue
        # unfiltered angles at take-off, as numpy.interp gives them (the reference)
        x = takeoff_s[t]
        if x <= tt[0] or x >= tt[n - 1]:
            sagittal_angles(data, t, 0 if x <= tt[0] else n - 1, cols, hip_method, one)
            for c in range(N_ANGLES):
                takeoff_deg[t, c] = one[c]
        else:
            j = _bracket(tt, x)
            sagittal_angles(data, t, j, cols, hip_method, one)
            nxt = np.empty(N_ANGLES)
            sagittal_angles(data, t, j + 1, cols, hip_method, nxt)
            for c in range(N_ANGLES):
                slope = (nxt[c] - one[c]) / (tt[j + 1] - tt[j])
                takeoff_deg[t, c] = slope * (x - tt[j]) + one[c]
        filt = np.empty((m, N_ANGLES))
        if lowpass:
            bad = np.zeros(N_ANGLES, dtype=np.bool_)
            _filtfilt_block(ang, 0, N_ANGLES, np.zeros(N_ANGLES), sos, zi, padlen, False, filt, bad)
        else:
            for i in range(m):
                for c in range(N_ANGLES):
                    filt[i, c] = ang[i, c]
        vel = np.empty(n)
        res = np.empty(2)
        for c in range(N_ANGLES):
            if not sides[c // 3]:
                takeoff_deg[t, c] = np.nan
                continue
            # extension velocity: minus numpy.gradient of the filtered angle, times fs
            vel[g0] = -(filt[1, c] - filt[0, c]) * fs
            vel[g1 - 1] = -(filt[m - 1, c] - filt[m - 2, c]) * fs
            for i in range(1, m - 1):
                vel[g0 + i] = -((filt[i + 1, c] - filt[i - 1, c]) / 2.0) * fs
            k = lo
            for i in range(lo + 1, hi):
                if vel[i] > vel[k]:
                    k = i
            pk = float(k)
            vk = vel[k]
            done = False
            if subframe and fit_fraction > 0 and vel[k] > 0 and _peak_fit(vel, k, lo, hi, fit_fraction, res):
                pk, vk = res[0], res[1]
                done = True
            if subframe and not done and lo < k < hi - 1:
                den = vel[k - 1] - 2 * vel[k] + vel[k + 1]
                if den < 0:
                    off = 0.5 * (vel[k - 1] - vel[k + 1]) / den
                    pk = k + off
                    vk = vel[k] - 0.25 * (vel[k - 1] - vel[k + 1]) * off
            peak_pos[t, c] = pk
            peak_vel[t, c] = vk
            onset_pos[t, c] = _onset(vel, k, g0, onset_method, onset_fraction)
