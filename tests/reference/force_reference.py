"""Slow, obvious pure-Python twins of labkit/signal/_force_kernels.py.

Written for reading, not speed: plain lists, whole-array passes, brute force where it is
clearer (the onset hold is checked sample by sample). They fill the same output layout
as the kernels so that tests can compare them element by element.
"""

from __future__ import annotations

import itertools
import math

from labkit.signal import _force_kernels as K

NAN = float("nan")


def weighing_stats(f, i0, i1):
    w = [float(x) for x in f[i0:i1]]
    mean = sum(w) / len(w)
    sd = math.sqrt(sum((x - mean) ** 2 for x in w) / (len(w) - 1)) if len(w) > 1 else 0.0
    return mean, sd, max(w) - min(w)


def deviation(x, baseline, two_sided):
    d = x - baseline
    return abs(d) if two_sided else d


def find_onset(f, start, stop, baseline, threshold, two_sided, hold, backtrack_n, backstep):
    onset = -1
    for i in range(start, stop - hold + 1):
        if all(deviation(f[j], baseline, two_sided) > threshold for j in range(i, i + hold)):
            onset = i
            break
    if onset < 0:
        return -1
    if not math.isnan(backtrack_n):
        while onset > start and deviation(f[onset], baseline, two_sided) > backtrack_n:
            onset -= 1
    return max(0, onset - backstep)


def force_at(f, n, p):
    """Linear interpolation at fractional sample position p."""
    if p < 0 or p > n - 1:
        return NAN
    i = math.floor(p)
    if i == p:
        return float(f[i])
    return float(f[i]) + (p - i) * (float(f[i + 1]) - float(f[i]))


def net_impulse(f, n, p0, p1, baseline):
    """Exact integral of the piecewise-linear force minus baseline, sample units."""
    if p0 < 0 or p1 > n - 1 or p1 < p0:
        return NAN
    knots = [p0] + [float(k) for k in range(math.floor(p0) + 1, math.ceil(p1))] + [p1]
    knots = sorted(set(knots))
    total = 0.0
    for a, b in itertools.pairwise(knots):
        total += (b - a) * ((force_at(f, n, a) - baseline) + (force_at(f, n, b) - baseline)) / 2
    return total


def isometric_trial(f, n, fs, w0, w1, body_weight, thr_abs, thr_k, thr_frac, two_sided,
                    hold, backtrack_n, backstep, epochs_smp, seq_edges_smp, rfd_win):  # fmt: skip
    """Returns (scalars, force_at, rfd, impulse, seq) as lists in the ISO_* layout."""
    f = [float(x) for x in f[:n]]
    out = [NAN] * K.ISO_NCOLS
    baseline, sd, rng = weighing_stats(f, w0, w1)
    out[K.ISO_BASELINE], out[K.ISO_SD], out[K.ISO_RANGE] = baseline, sd, rng
    bw = baseline if math.isnan(body_weight) else body_weight
    thr = thr_abs + thr_k * sd + thr_frac * bw
    out[K.ISO_THRESHOLD] = thr
    onset = find_onset(f, w1, n, baseline, thr, two_sided, hold, backtrack_n, backstep)
    out[K.ISO_ONSET] = onset
    start = onset if onset >= 0 else w1
    seg = f[start:]
    peak = max(seg)
    pk = start + seg.index(peak)
    out[K.ISO_PEAK], out[K.ISO_PEAK_IDX] = peak, pk
    top = max(f)
    best = run = 0
    for x in f:
        run = run + 1 if x == top else 0
        best = max(best, run)
    out[K.ISO_CLIP_RUN] = best
    stop = onset if onset >= 0 else n
    out[K.ISO_MIN_PRE] = min(f[w1:stop]) if stop > w1 else NAN
    n_ep = len(epochs_smp)
    n_seq = len(seq_edges_smp) - 1
    if onset < 0:
        return out, [NAN] * n_ep, [NAN] * n_ep, [NAN] * n_ep, [NAN] * n_seq
    chords = [(f[i + rfd_win] - f[i]) * fs / rfd_win for i in range(onset, pk - rfd_win + 1)]
    out[K.ISO_PEAK_RFD] = max(chords) if chords else NAN
    fa, rfd, imp = [], [], []
    for e in epochs_smp:
        x = force_at(f, n, onset + e)
        fa.append(x)
        rfd.append((x - f[onset]) / (e / fs))
        imp.append(net_impulse(f, n, float(onset), onset + e, baseline) / fs)
    seq = []
    for a, b in itertools.pairwise(seq_edges_smp):
        seq.append((force_at(f, n, onset + b) - force_at(f, n, onset + a)) / ((b - a) / fs))
    return out, fa, rfd, imp, seq


def stable_window(f, lo, hi, w, level):
    """(start, SD) of the most stable fully loaded window, by brute force; (-1, NaN) if none."""
    best = (-1, NAN)
    for i in range(lo, hi - w + 1):
        win = [float(x) for x in f[i : i + w]]
        if w < 2 or min(win) < level:
            continue
        sd = weighing_stats(win, 0, w)[1]
        if best[0] < 0 or sd < best[1]:
            best = (i, sd)
    return best


def crossing_down(f, k, level, lo):
    """The decline through samples k-2, k-1 extended to level (else the chord k-1..k),
    kept within [k-1, k]."""
    if k - 2 >= lo and f[k - 2] > f[k - 1]:
        slope = f[k - 2] - f[k - 1]
    elif f[k - 1] != f[k]:
        slope = f[k - 1] - f[k]
    else:
        return float(k)
    return min(float(k), max(k - 1.0, k - 1 + (f[k - 1] - level) / slope))


def crossing_up(f, n, j, ld, level):
    """The steepest rise m -> m+1 (j < m <= ld) extended back to level (else the chord
    j..j+1), kept within [j, ld]."""
    rises = [(f[m + 1] - f[m], m) for m in range(j + 1, ld + 1) if m + 1 < n and f[m + 1] > f[m]]
    if rises:
        slope, m = max(rises, key=lambda r: (r[0], -r[1]))
        x = m - (f[m] - level) / slope
    elif f[j + 1] != f[j]:
        x = j + (level - f[j]) / (f[j + 1] - f[j])
    else:
        return float(j)
    return min(float(ld), max(float(j), x))


def jump_trial(f, n, fs, w0, w1, s0, g, onset_k, two_sided, hold, backstep, thr, base,
               band, refine, takeoff_hold, landing_hold, interpolate):  # fmt: skip
    """Returns the CMJ_* scalar row as a list."""
    f = [float(x) for x in f[:n]]
    out = [NAN] * K.CMJ_NCOLS
    bw, sd, rng = weighing_stats(f, w0, w1)
    out[K.CMJ_BASELINE], out[K.CMJ_SD], out[K.CMJ_RANGE] = bw, sd, rng
    for c in (K.CMJ_ONSET, K.CMJ_TAKEOFF_IDX, K.CMJ_LANDING_IDX, K.CMJ_B_IDX, K.CMJ_Z_IDX,
              K.CMJ_LAND_END_IDX, K.CMJ_TAKEOFF_REF_IDX, K.CMJ_LANDING_REF_IDX):  # fmt: skip
        out[c] = -1
    out[K.CMJ_TAKEOFF_THR] = thr
    onset = find_onset(f, s0, n, bw, onset_k * sd, two_sided, hold, NAN, backstep)
    out[K.CMJ_ONSET] = onset
    if onset < 0:
        return out
    # airborne: below thr for takeoff_hold samples, or below it until the record ends
    to = next(
        (i for i in range(onset + 1, n)
         if all(f[j] < thr for j in range(i, min(n, i + takeoff_hold)))
         and (i + takeoff_hold <= n or all(f[j] < thr for j in range(i, n)))),
        -1,
    )  # fmt: skip
    if to < 0:
        return out
    out[K.CMJ_TAKEOFF_IDX] = to
    ld = next(
        (i for i in range(to + 1, n - landing_hold + 1)
         if all(f[j] >= thr for j in range(i, i + landing_hold))),
        -1,
    )  # fmt: skip
    out[K.CMJ_LANDING_IDX] = ld
    end = ld if ld >= 0 else n
    # refined takeoff: the first sample within band of the flight baseline before landing
    k = next((i for i in range(to, end) if f[i] <= base + band), -1) if refine else -1
    refined = k >= 0
    if not refined:
        k = to
    out[K.CMJ_TAKEOFF_REF_IDX] = k
    m = bw / g
    dt = 1.0 / fs
    acc = [(x - bw) / m for x in f]
    v = [0.0] * n
    s = [0.0] * n
    for i in range(onset + 1, n):
        v[i] = v[i - 1] + (acc[i - 1] + acc[i]) / 2 * dt
        s[i] = s[i - 1] + (v[i - 1] + v[i]) / 2 * dt
    push = range(onset, k + 1)
    vmin = min(v[i] for i in push)
    b = next(i for i in push if v[i] == vmin) if vmin < 0 else -1
    out[K.CMJ_B_IDX] = b
    out[K.CMJ_MIN_DISP] = min(s[i] for i in push)
    pk = max(push, key=lambda i: (f[i], -i))
    out[K.CMJ_PEAK_FORCE] = f[pk]
    out[K.CMJ_PEAK_IDX] = pk
    out[K.CMJ_MIN_FORCE] = min(f[onset : pk + 1])
    out[K.CMJ_PEAK_POWER] = max(f[i] * v[i] for i in push)
    z = next((i for i in range(max(b, onset + 1), k) if v[i] >= 0), -1) if b >= 0 else -1
    out[K.CMJ_Z_IDX] = z
    braking = [f[i] for i in range(max(b, onset + 1), z if z >= 0 else k)] if b >= 0 else []
    out[K.CMJ_MEAN_BRAKING_F] = sum(braking) / len(braking) if braking else NAN
    prop_start = (onset + 1) if b < 0 else z
    prop = list(range(prop_start, k)) if prop_start >= 0 else []
    out[K.CMJ_MEAN_PROP_F] = sum(f[i] for i in prop) / len(prop) if prop else NAN
    out[K.CMJ_MEAN_PROP_POWER] = sum(f[i] * v[i] for i in prop) / len(prop) if prop else NAN
    out[K.CMJ_MIN_PRE_PEAK] = min(f[s0 : pk + 1]) if pk >= s0 else f[s0]
    if interpolate and refined and k > onset:
        x = crossing_down(f, k, base, onset)
        # the force falls on a line from f[k-1] to the baseline at x
        out[K.CMJ_V_TAKEOFF] = v[k - 1] + (acc[k - 1] + (base - bw) / m) / 2 * (x - k + 1) * dt
        out[K.CMJ_TAKEOFF_S] = x * dt
    elif interpolate and not refined and k > onset and f[k - 1] != f[k]:
        frac = (f[k - 1] - thr) / (f[k - 1] - f[k])
        a0, a1 = acc[k - 1], acc[k]
        # velocity gained over the first `frac` of the interval with linear acceleration
        out[K.CMJ_V_TAKEOFF] = v[k - 1] + (a0 * frac + (a1 - a0) * frac**2 / 2) * dt
        out[K.CMJ_TAKEOFF_S] = (k - 1 + frac) * dt
    else:
        out[K.CMJ_V_TAKEOFF] = v[k]
        out[K.CMJ_TAKEOFF_S] = k * dt
    if ld < 0:
        return out
    # refined landing: the last sample within band of the flight baseline before landing
    j = max(i for i in range(k, ld) if f[i] <= base + band or i == k) if refined else ld - 1
    out[K.CMJ_LANDING_REF_IDX] = j
    if interpolate and refined:
        out[K.CMJ_LANDING_S] = crossing_up(f, n, j, ld, base) * dt
    elif interpolate and f[j + 1] != f[j]:
        out[K.CMJ_LANDING_S] = (j + (thr - f[j]) / (f[j + 1] - f[j])) * dt
    else:
        out[K.CMJ_LANDING_S] = j * dt
    out[K.CMJ_LAND_END_IDX] = next((i for i in range(ld + 1, n) if v[i] >= 0), -1)
    return out


def limb_trial(f, n, fs, w0, w1, pk0, pk1, spans, kinds):
    """Twin of _limb_kernels.limb_trial: [weight, peak, net peak, window metrics...]."""
    weight = sum(float(x) for x in f[w0:w1]) / (w1 - w0)
    peak = max(float(x) for x in f[pk0 : pk1 + 1]) if 0 <= pk0 <= pk1 else NAN
    out = [weight, peak, peak - weight]
    for (p0, p1), kind in zip(spans, kinds, strict=True):
        if math.isnan(p0) or math.isnan(p1) or (kind == 1 and not p1 > p0):
            out.append(NAN)
        elif kind == 0:
            out.append(net_impulse(f, n, p0, p1, weight) / fs)
        else:
            out.append(weight + net_impulse(f, n, p0, p1, weight) / (p1 - p0))
    return out


def record_segments(f, level, hold, longest):
    """Twin of _landmark_kernels.record_segments: (p0, fa, fb, p1) from the list of runs."""
    n = len(f)
    low = [float(x) < level for x in f]
    runs, i = [], 0
    while i < n:
        if low[i]:
            j = i
            while j < n and low[j]:
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    p0, flight = 0, None
    for a, b in runs:
        if a == 0 or b - a > longest:
            p0 = b
        elif b - a >= hold or b == n:
            flight = (a, b)
            break
    if flight is None:
        return p0, -1, -1, n
    later = [a for a, b in runs if a >= flight[1] and (b - a >= hold or b == n)]
    return p0, flight[0], flight[1], later[0] if later else n
