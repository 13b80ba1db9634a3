"""Benchmark: isometric (IMTP) analysis of many trials, and start-up time.

Prints ratios measured in one run (medians of repeats):
  * labkit ``force.isometric_batch`` (numba, parallel over trials) vs a straightforward
    vectorised numpy implementation of the same metrics (target >= 3x) and vs the
    pure-Python reference in tests/reference (target >= 100x; extrapolated from a
    subset of trials);
  * start-up of a fresh process that imports labkit and analyses one trial, with the
    numba cache warm (target < 1.5 s) and cold (fresh NUMBA_CACHE_DIR).

Usage: .venv/bin/python benchmarks/bench_force.py [--trials 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._timing import machine_line, timed  # noqa: E402
from labkit.signal import force  # noqa: E402
from tests.reference import force_reference as ref  # noqa: E402

FS = 2000.0
EPOCHS_MS = (50, 90, 100, 150, 200, 250)
SEQ_MS = (0, 50, 100, 150, 200, 250)


def make_trials(n_trials: int, seconds: float = 5.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(seconds * FS)
    t = np.arange(n) / FS
    bw = rng.uniform(600, 1000, (n_trials, 1))
    t_on = rng.uniform(1.3, 1.8, (n_trials, 1))
    peak = rng.uniform(2000, 4000, (n_trials, 1))
    tau = rng.uniform(0.08, 0.25, (n_trials, 1))
    F = bw + (peak - bw) * (1 - np.exp(-np.clip(t - t_on, 0, None) / tau))
    F += rng.normal(0, 3.0, F.shape)
    return F


def numpy_isometric(F: np.ndarray, fs: float, *, weighing_s=1.0, k=5.0, hold_s=0.030,
                    epochs_ms=EPOCHS_MS, seq_ms=SEQ_MS, rfd_ms=20.0) -> dict[str, np.ndarray]:  # fmt: skip
    """Straightforward vectorised numpy version of the same metrics (integer epochs)."""
    T, n = F.shape
    w1 = round(weighing_s * fs)
    base = F[:, :w1].mean(axis=1)
    sd = F[:, :w1].std(axis=1, ddof=1)
    rng_w = np.ptp(F[:, :w1], axis=1)
    hold = round(hold_s * fs)
    above = (F - base[:, None]) > (k * sd)[:, None]
    above[:, :w1] = False
    c = np.concatenate([np.zeros((T, 1), np.int64), np.cumsum(above, axis=1)], axis=1)
    full = (c[:, hold:] - c[:, :-hold]) == hold  # window starting at i is all above
    has = full.any(axis=1)
    onset = np.where(has, full.argmax(axis=1), -1)
    idx = np.arange(n)
    after = idx[None, :] >= onset[:, None]
    masked = np.where(after, F, -np.inf)
    peak_idx = masked.argmax(axis=1)
    peak = masked.max(axis=1)
    pre = np.where((idx[None, :] >= w1) & (idx[None, :] < onset[:, None]), F, np.inf).min(axis=1)
    f_on = np.take_along_axis(F, onset[:, None], axis=1)[:, 0]
    net = F - base[:, None]
    cum = np.concatenate([np.zeros((T, 1)), np.cumsum((net[:, 1:] + net[:, :-1]) / 2, axis=1)],
                         axis=1) / fs  # fmt: skip
    out = {"baseline": base, "sd": sd, "range": rng_w, "onset": onset, "peak": peak,
           "peak_idx": peak_idx, "min_pre": pre}  # fmt: skip
    for ms in epochs_ms:
        e = round(ms * fs / 1000)
        pos = onset + e
        fa = np.take_along_axis(F, pos[:, None], axis=1)[:, 0]
        out[f"force_at_{ms}"] = fa
        out[f"rfd_{ms}"] = (fa - f_on) / (ms / 1000)
        out[f"impulse_{ms}"] = (np.take_along_axis(cum, pos[:, None], axis=1)[:, 0]
                                - np.take_along_axis(cum, onset[:, None], axis=1)[:, 0])  # fmt: skip
    for a, b in itertools.pairwise(seq_ms):
        fa = np.take_along_axis(F, (onset + round(a * fs / 1000))[:, None], axis=1)[:, 0]
        fb = np.take_along_axis(F, (onset + round(b * fs / 1000))[:, None], axis=1)[:, 0]
        out[f"seq_{a}_{b}"] = (fb - fa) / ((b - a) / 1000)
    w = round(rfd_ms * fs / 1000)
    chord = (F[:, w:] - F[:, :-w]) * fs / w
    ok = (idx[None, : n - w] >= onset[:, None]) & (idx[None, : n - w] + w <= peak_idx[:, None])
    out["peak_rfd"] = np.where(ok, chord, -np.inf).max(axis=1)
    return out


STARTUP = """
import time; t0 = time.perf_counter()
import numpy as np
import labkit
from labkit.signal import force
t = np.arange(10000) / 2000.0
f = 800.0 + 2000.0 * (1 - np.exp(-np.clip(t - 1.5, 0, None) / 0.1))
r = force.isometric(f, 2000.0)
assert abs(r.onset_s - 1.5) < 0.01
"""


def startup(env_extra: dict[str, str]) -> float:
    env = dict(os.environ, **env_extra)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", STARTUP], check=True, env=env, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ref-trials", type=int, default=4)
    a = ap.parse_args()

    print(machine_line())
    F = make_trials(a.trials, a.seconds)
    n_samples = F.size
    print(f"{a.trials} IMTP trials x {a.seconds:g} s at {FS:g} Hz = {n_samples:,} samples")

    t0 = time.perf_counter()
    df = force.isometric_batch(F, FS)
    first = time.perf_counter() - t0
    print(f"labkit batch, first call (includes compiling the parallel kernel): {first:.2f} s")
    t_lab, all_lab = timed(lambda: force.isometric_batch(F, FS), a.repeats)
    t_np, all_np = timed(lambda: numpy_isometric(F, FS), a.repeats)

    # agreement of the two implementations on this data
    npo = numpy_isometric(F, FS)
    assert np.array_equal(df["onset_index"].to_numpy(), npo["onset"])
    np.testing.assert_allclose(df["peak_force_n"], npo["peak"], rtol=1e-12)
    np.testing.assert_allclose(df["impulse_0_250ms_ns"], npo["impulse_250"], rtol=1e-9)
    np.testing.assert_allclose(df["peak_rfd_n_s"], npo["peak_rfd"], rtol=1e-9)

    # pure-Python reference on a subset, extrapolated
    s = force._isometric_setup(FS, F.shape[1], force._iso_defaults())
    args = (FS, s["w0"], s["w1"], np.nan, *s["thr"], s["two_sided"], s["hold"], s["backtrack"],
            s["backstep"], s["epochs_smp"], s["seq_smp"], s["rfd_win"])  # fmt: skip
    t0 = time.perf_counter()
    for i in range(a.ref_trials):
        r_out = ref.isometric_trial(F[i], F.shape[1], *args)
    per_trial = (time.perf_counter() - t0) / a.ref_trials
    assert r_out[0][4] == df["onset_index"].iloc[a.ref_trials - 1]
    t_ref = per_trial * a.trials

    def fmt(ts):
        return ", ".join(f"{x:.3f}" for x in ts)

    print(f"labkit batch   : median {t_lab:.3f} s  [{fmt(all_lab)}]  "
          f"{n_samples / t_lab / 1e6:,.0f} M samples/s")  # fmt: skip
    print(f"numpy vectorised: median {t_np:.3f} s  [{fmt(all_np)}]  "
          f"{n_samples / t_np / 1e6:,.0f} M samples/s")  # fmt: skip
    print(f"pure Python ref : {per_trial:.3f} s/trial x {a.trials} = {t_ref:.1f} s (extrapolated "
          f"from {a.ref_trials} trials)  {n_samples / t_ref / 1e6:.3f} M samples/s")  # fmt: skip
    print(f"RATIO labkit vs numpy     : {t_np / t_lab:6.1f}x  (target >= 3x)")
    print(f"RATIO labkit vs pure Python: {t_ref / t_lab:6.0f}x  (target >= 100x)")

    # start-up: warm cache (the default cache dir, warmed by one run) and cold (fresh dir)
    startup({})
    warm = [startup({}) for _ in range(a.repeats)]
    cold = []
    for _ in range(max(1, a.repeats // 2)):
        with tempfile.TemporaryDirectory() as d:
            cold.append(startup({"NUMBA_CACHE_DIR": d}))
    print(f"start-up, import labkit + one trial, warm cache: median {statistics.median(warm):.2f} s "
          f"[{fmt(warm)}]  (target < 1.5 s)")  # fmt: skip
    print(f"start-up, import labkit + one trial, cold cache: median {statistics.median(cold):.2f} s "
          f"[{fmt(cold)}]")  # fmt: skip


if __name__ == "__main__":
    main()
