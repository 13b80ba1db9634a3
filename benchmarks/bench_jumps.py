"""Benchmark: countermovement jumps with per-limb metrics, many trials.

2,000 CMJs x 4 s at 2 kHz on two plates (one foot on each; each trial its own body
weight, countermovement, push and left/right share). Prints medians of repeats and the
ratios measured in the same run:

  * labkit: ``force.cmj_batch`` on the summed force, then ``force.limbs_batch`` on the
    plates (numba, parallel over trials), against
  * a straightforward vectorised numpy implementation of the same metrics (target
    >= 5x), checked to agree with labkit on these trials, and
  * the per-trial pure-Python reference (the kernels' slow twins in tests/reference:
    the jump kernel's and the per-limb kernel's, one trial at a time, on the record
    layout labkit finds; target >= 100x; extrapolated from a subset).

Then a profile of the labkit batch by stage, to show where its time goes.

Usage: .venv/bin/python benchmarks/bench_jumps.py [--trials 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._timing import machine_line, timed  # noqa: E402
from labkit.signal import _force_kernels as K  # noqa: E402
from labkit.signal import _jump_phases, force  # noqa: E402
from labkit.signal.force_jump import _jump_setup  # noqa: E402
from tests.reference import force_reference as ref  # noqa: E402

FS = 2000.0
G = 9.80665


def make_trials(n_trials: int, seconds: float = 4.0, seed: int = 0):
    """Left and right plate traces (n_trials, n): quiet standing, a sine countermovement
    (v = 0 at its end), a push that reaches 0 N, the flight, a landing impact."""
    rng = np.random.default_rng(seed)
    n = round(seconds * FS)
    t = np.arange(n) / FS
    col = (n_trials, 1)
    bw = rng.uniform(600, 1000, col)
    m = bw / G
    s = t - rng.uniform(1.2, 1.5, col)  # from the onset of the countermovement
    t1, t2 = rng.uniform(0.5, 0.7, col), rng.uniform(0.22, 0.3, col)
    dip = rng.uniform(0.3, 0.6, col) * bw
    F = np.where(s < 0, bw, bw - dip * np.sin(2 * np.pi * np.clip(s, 0, None) / t1))
    u = s - t1
    push = (u >= 0) & (u < t2)
    F = np.where(push, bw * (1 - u / t2) + rng.uniform(1.6, 2.4, col) * bw * np.sin(np.pi * u / t2), F)
    v = np.trapezoid(np.where(push, F - bw, 0.0), dx=1 / FS, axis=1)[:, None] / m
    ul = u - t2 - 2 * v / G  # time since touchdown
    F = np.where((u >= t2) & (ul < 0), 0.0, F)
    tl = 0.06
    F = np.where(ul >= 0, bw + m * v / (tl * np.e) * (ul / tl) * np.exp(1 - ul / tl), F)
    share = 0.5 + rng.uniform(-0.06, 0.06, col)  # left's share: up to 12 % asymmetry
    left = share * F + rng.normal(0, 1.5, F.shape)
    right = (1 - share) * F + rng.normal(0, 1.5, F.shape)
    return left, right


# ---- the same metrics in vectorised numpy ---------------------------------------------

def _first_run(mask: np.ndarray, start: np.ndarray, hold: int) -> np.ndarray:
    """First i >= start with mask[i:i + hold] all True (-1 if none), per row."""
    T = mask.shape[0]
    c = np.concatenate([np.zeros((T, 1), np.int32), np.cumsum(mask, axis=1, dtype=np.int32)], axis=1)
    full = (c[:, hold:] - c[:, :-hold]) == hold  # full[:, i]: mask[i:i + hold] all True
    full &= np.arange(full.shape[1])[None, :] >= start[:, None]
    return np.where(full.any(axis=1), full.argmax(axis=1), -1)


def _take(a: np.ndarray, i: np.ndarray) -> np.ndarray:
    return np.take_along_axis(a, i[:, None], axis=1)[:, 0]


def _interp(F: np.ndarray, p: np.ndarray) -> np.ndarray:
    i = np.clip(np.floor(p).astype(np.int64), 0, F.shape[1] - 2)
    return _take(F, i) + (p - i) * (_take(F, i + 1) - _take(F, i))


def _integral(F: np.ndarray, C: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Integral of the piecewise-linear F from sample 0 to the fractional position p
    (C: cumulative trapezoid), in sample units."""
    i = np.clip(np.floor(p).astype(np.int64), 0, F.shape[1] - 2)
    return _take(C, i) + 0.5 * (_take(F, i) + _interp(F, p)) * (p - i)


def numpy_cmj_limbs(L: np.ndarray, R: np.ndarray, fs: float, *, weighing_s=1.0, level=200.0,
                    onset_k=5.0, hold_s=0.030, backstep_s=0.030, takeoff_k=5.0, takeoff_min=5.0,
                    refine_k=2.0, air_hold_s=0.015) -> dict[str, np.ndarray]:  # fmt: skip
    """The labkit CMJ and per-limb metrics (defaults) for records that start loaded, one
    flight each, in whole-array numpy operations."""
    fz = L + R
    T, n = fz.shape
    idx = np.arange(n)[None, :]
    dt = 1.0 / fs
    zero = np.zeros(T, np.int64)
    air = round(air_hold_s * fs)
    # flight: the first unloaded run of the take-off hold; the stillest loaded window before
    unloaded = fz < 0.5 * level
    fa = _first_run(unloaded, zero, air)
    fb = np.where(idx > fa[:, None], ~unloaded, False).argmax(axis=1)
    w = round(weighing_s * fs)
    X = fz - fz[:, :1]
    S = np.concatenate([np.zeros((T, 1)), np.cumsum(X, axis=1)], axis=1)
    SS = np.concatenate([np.zeros((T, 1)), np.cumsum(X * X, axis=1)], axis=1)
    low = np.concatenate([np.zeros((T, 1), np.int32), np.cumsum(fz < level, axis=1, dtype=np.int32)], axis=1)
    s_w, ss_w = S[:, w:] - S[:, :-w], SS[:, w:] - SS[:, :-w]
    var = (ss_w - s_w * s_w / w) / (w - 1)
    ok = ((low[:, w:] - low[:, :-w]) == 0) & (np.arange(n - w + 1)[None, :] + w <= fa[:, None])
    w0 = np.where(ok, var, np.inf).argmin(axis=1)
    w1 = w0 + w
    inw = (idx >= w0[:, None]) & (idx < w1[:, None])
    bw = np.where(inw, fz, 0.0).sum(axis=1) / w
    sd = np.sqrt(np.where(inw, (fz - bw[:, None]) ** 2, 0.0).sum(axis=1) / (w - 1))
    # flight baseline and noise: median and 1.4826 MAD without 20 % at each edge
    trim = np.round(0.2 * (fb - fa)).astype(np.int64)
    a, b = fa + np.maximum(1, trim), fb - trim
    width = int((b - a).max())
    cols = a[:, None] + np.arange(width)[None, :]
    seg = np.where(cols < b[:, None], np.take_along_axis(fz, np.minimum(cols, n - 1), axis=1), np.nan)
    base = np.nanmedian(seg, axis=1)
    fsd = 1.4826 * np.nanmedian(np.abs(seg - base[:, None]), axis=1)
    thr = base + np.maximum(takeoff_k * fsd, takeoff_min)
    hi = base + refine_k * fsd
    # onset, take-off, landing, and the refined take-off k (first within the noise band)
    onset = np.maximum(_first_run(np.abs(fz - bw[:, None]) > (onset_k * sd)[:, None], w1, round(hold_s * fs))
                       - round(backstep_s * fs), 0)  # fmt: skip
    to = _first_run(fz < thr[:, None], onset + 1, air)
    ld = _first_run(fz >= thr[:, None], to + 1, air)
    k = np.where((idx >= to[:, None]) & (fz <= hi[:, None]), idx, n).min(axis=1)
    # velocity and displacement from the onset (trapezoids), over the push onset..k
    m = bw / G
    acc = (fz - bw[:, None]) / m[:, None]
    dv = np.concatenate([np.zeros((T, 1)), 0.5 * (acc[:, 1:] + acc[:, :-1]) * dt], axis=1)
    C = np.cumsum(np.where(idx > onset[:, None], dv, 0.0), axis=1)
    v = np.where(idx >= onset[:, None], C, 0.0)
    disp = np.cumsum(np.concatenate([np.zeros((T, 1)), 0.5 * (v[:, 1:] + v[:, :-1]) * dt], axis=1), axis=1)
    push = (idx >= onset[:, None]) & (idx <= k[:, None])
    vp = np.where(push, v, np.inf)
    b_idx = vp.argmin(axis=1)
    b_idx = np.where(_take(v, b_idx) < 0, b_idx, -1)
    after_b = (idx >= np.maximum(b_idx, onset + 1)[:, None]) & (idx < k[:, None])
    z_idx = np.where(after_b & (v >= 0), idx, n).min(axis=1)
    pk_idx = np.where(push, fz, -np.inf).argmax(axis=1)
    out = {"onset": onset, "takeoff_idx": to, "landing_idx": ld, "b_idx": b_idx, "z_idx": z_idx,
           "body_weight": bw, "peak_force": _take(fz, pk_idx),
           "min_force": np.where((idx >= onset[:, None]) & (idx <= pk_idx[:, None]), fz, np.inf).min(axis=1),
           "peak_power": np.where(push & (idx > onset[:, None]), fz * v, -np.inf).max(axis=1),
           "depth": -np.where(push, disp, np.inf).min(axis=1)}  # fmt: skip
    brake = (idx >= np.maximum(b_idx, onset + 1)[:, None]) & (idx < z_idx[:, None])
    out["mean_braking_force"] = np.where(brake, fz, 0.0).sum(axis=1) / brake.sum(axis=1)
    prop = (idx >= z_idx[:, None]) & (idx < k[:, None])
    out["mean_propulsive_force"] = np.where(prop, fz, 0.0).sum(axis=1) / prop.sum(axis=1)
    # take-off where the decline through k - 2, k - 1 meets the flight baseline
    f1, f2, fk = _take(fz, k - 1), _take(fz, k - 2), _take(fz, k)
    slope = np.where(f2 > f1, f2 - f1, f1 - fk)
    x = np.clip(k - 1 + (f1 - base) / slope, k - 1, k)
    v_to = _take(v, k - 1) + 0.5 * (_take(acc, k - 1) + (base - bw) / m) * (x - (k - 1)) * dt
    # landing: the steepest rise after the last in-band sample j, extended back to baseline
    j = np.where((idx > k[:, None]) & (idx < ld[:, None]) & (fz <= hi[:, None]), idx, -1).max(axis=1)
    rise = np.diff(fz, axis=1)
    win = (idx[:, : n - 1] > j[:, None]) & (idx[:, : n - 1] <= ld[:, None])
    mb = np.where(win, rise, -np.inf).argmax(axis=1)
    xl = np.clip(mb - (_take(fz, mb) - base) / _take(rise, mb), j, ld)
    out.update(takeoff_s=x * dt, landing_s=xl * dt, v_to=v_to, jump_height=v_to**2 / (2 * G),
               flight_time=(xl - x) * dt)  # fmt: skip
    out["jump_height_flight"] = G * out["flight_time"] ** 2 / 8
    out["rsi_mod"] = out["jump_height"] / (out["takeoff_s"] - onset * dt)
    # per limb: weight, peak onset..take-off, net impulses of the phases, mean propulsive force
    p_on, p_b, p_z, p_to = onset.astype(float), b_idx.astype(float), z_idx.astype(float), x
    for side, P in (("left", L), ("right", R)):
        Cp = np.cumsum(np.concatenate([np.zeros((T, 1)), 0.5 * (P[:, 1:] + P[:, :-1])], axis=1), axis=1)
        wt = np.where(inw, P, 0.0).sum(axis=1) / w
        out[f"{side}_weight"] = wt
        span = (idx >= onset[:, None]) & (idx <= np.floor(p_to + 1e-9)[:, None])
        out[f"{side}_peak_force"] = np.where(span, P, -np.inf).max(axis=1)
        for name, p0, p1 in (("unweighting", p_on, p_b), ("braking", p_b, p_z),
                             ("propulsive", p_z, p_to), ("push", p_on, p_to)):  # fmt: skip
            net = _integral(P, Cp, p1) - _integral(P, Cp, p0) - wt * (p1 - p0)
            out[f"{side}_{name}_impulse"] = net / fs
        out[f"{side}_mean_propulsive_force"] = wt + out[f"{side}_propulsive_impulse"] * fs / (p_to - p_z)
    for key in ("weight", "peak_force", "propulsive_impulse", "push_impulse", "mean_propulsive_force"):
        lv, rv = np.abs(out[f"left_{key}"]), np.abs(out[f"right_{key}"])
        out[f"asym_{key}"] = 100.0 * (lv - rv) / np.maximum(lv, rv)
    return out


# ---- the labkit batch and the per-trial reference --------------------------------------

def labkit_cmj_limbs(L, R, fs):
    table = force.cmj_batch(L + R, fs)
    return table, force.limbs_batch(table, L, R, fs)


def reference_trial(left, right, fs, params, args, tail):
    """One trial with the pure-Python twins: the CMJ kernel's and the per-limb metrics'."""
    f = left + right
    la = _jump_phases.layout(f, fs, params)
    row = ref.jump_trial(f, f.shape[0], fs, la.w0, la.w1, la.s0, *args, la.threshold_n,
                         la.flight_baseline_n, la.band_n, la.refine, *tail)  # fmt: skip
    on, b, z = row[K.CMJ_ONSET], row[K.CMJ_B_IDX], row[K.CMJ_Z_IDX]
    to = row[K.CMJ_TAKEOFF_S] * fs
    spans = [(on, b), (b, z), (z, to), (on, to), (z, to)]
    kinds = [0, 0, 0, 0, 1]
    pk1 = int(np.floor(to + 1e-9))
    return row, [ref.limb_trial(list(x), x.shape[0], fs, la.w0, la.w1, int(on), pk1, spans, kinds)
                 for x in (left, right)]  # fmt: skip


def check_agreement(table, limbs, npo) -> None:
    """The numpy implementation computes the same numbers as labkit on these trials."""
    assert table["valid"].all(), table["flags"].value_counts()
    np.testing.assert_array_equal(table["onset_index"], npo["onset"])
    for col, key, rtol in (("body_weight_n", "body_weight", 1e-9), ("takeoff_s", "takeoff_s", 1e-12),
                           ("landing_s", "landing_s", 1e-12), ("jump_height_m", "jump_height", 1e-9),
                           ("peak_power_w", "peak_power", 1e-9), ("rsi_mod", "rsi_mod", 1e-9),
                           ("countermovement_depth_m", "depth", 1e-9),
                           ("mean_braking_force_n", "mean_braking_force", 1e-9),
                           ("mean_propulsive_force_n", "mean_propulsive_force", 1e-9)):  # fmt: skip
        np.testing.assert_allclose(table[col], npo[key], rtol=rtol, err_msg=col)
    for side in ("left", "right"):
        for key in ("weight_n", "peak_force_n", "push_impulse_ns", "propulsive_impulse_ns",
                    "braking_impulse_ns", "mean_propulsive_force_n"):  # fmt: skip
            np.testing.assert_allclose(limbs[f"{side}_{key}"], npo[f"{side}_{key.rsplit('_', 1)[0]}"],
                                       rtol=1e-7, atol=1e-9, err_msg=f"{side}_{key}")  # fmt: skip
    np.testing.assert_allclose(limbs["asym_propulsive_impulse_pct"], npo["asym_propulsive_impulse"],
                               atol=1e-6)


def profile(L, R, fs, repeats: int) -> None:
    """Median time of each stage of the labkit batch."""
    F = L + R
    params = force.cmj_batch(F[:2], fs).attrs["params"]
    table = force.cmj_batch(F, fs)
    stages = {
        "sum of the plates": lambda: L + R,
        "record layouts (numba over trials, then a Layout per trial)":
            lambda: _jump_phases.layouts(F, np.full(F.shape[0], F.shape[1]), fs, params),
        "cmj_batch (layout + kernel + table)": lambda: force.cmj_batch(F, fs),
        "limbs_batch (kernel + table)": lambda: force.limbs_batch(table, L, R, fs),
    }
    for name, fn in stages.items():
        med, _ = timed(fn, repeats)
        print(f"  {name:64s} {med * 1000:8.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ref-trials", type=int, default=10)
    a = ap.parse_args()

    print(machine_line())
    L, R = make_trials(a.trials, a.seconds)
    print(f"{a.trials} CMJs x {a.seconds:g} s at {FS:g} Hz on two plates = {L.size:,} samples per plate")

    t0 = time.perf_counter()
    table, limbs = labkit_cmj_limbs(L, R, FS)
    first = time.perf_counter() - t0
    print(f"labkit batch, first call (includes compiling or loading the kernels): {first:.2f} s")
    check_agreement(table, limbs, numpy_cmj_limbs(L, R, FS))
    print("numpy and labkit agree on every trial (landmarks, heights, per-limb metrics)")
    t_lab, all_lab = timed(lambda: labkit_cmj_limbs(L, R, FS), a.repeats)
    t_np, all_np = timed(lambda: numpy_cmj_limbs(L, R, FS), a.repeats)

    s = _jump_setup(FS, force._jump_defaults(), "cmj")
    t0 = time.perf_counter()
    for i in range(a.ref_trials):
        row, sides = reference_trial(L[i], R[i], FS, s["params"], s["args"], s["tail"])
    per_trial = (time.perf_counter() - t0) / a.ref_trials
    i = a.ref_trials - 1
    assert row[K.CMJ_ONSET] == table["onset_index"].iloc[i]
    assert abs(sides[0][3 + 2] - limbs["left_propulsive_impulse_ns"].iloc[i]) < 1e-9
    t_ref = per_trial * a.trials

    def fmt(ts):
        return ", ".join(f"{x:.3f}" for x in ts)

    print(f"labkit batch    : median {t_lab:.3f} s  [{fmt(all_lab)}]")
    print(f"numpy vectorised: median {t_np:.3f} s  [{fmt(all_np)}]")
    print(f"pure Python ref : {per_trial:.3f} s/trial x {a.trials} = {t_ref:.0f} s (extrapolated from "
          f"{a.ref_trials} trials)")  # fmt: skip
    r_np, r_ref = t_np / t_lab, t_ref / t_lab
    print(f"RATIO labkit vs numpy      : {r_np:6.1f}x  (target >= 5x{'' if r_np >= 5 else ': MISSED'})")
    print(f"RATIO labkit vs pure Python: {r_ref:6.0f}x  (target >= 100x{'' if r_ref >= 100 else ': MISSED'})")
    print("labkit batch by stage (median):")
    profile(L, R, FS, a.repeats)


if __name__ == "__main__":
    main()
