"""How well can ANY method place an EMG onset? Two ideal observers on the evaluation's
signals, beside labkit's default on the same signals.

    .venv/bin/python benchmarks/emg_onset_bound.py --snr 10 --seeds 3 --duration 60
    .venv/bin/python benchmarks/emg_onset_bound.py --rates 1000 --shape-observer   # slow

Both observers know the spectrum of the muscle activity and of the instrumentation
noise and the noise level (the generator's, labkit.signal.emg_synth). Over a window
around a burst the samples are then exactly Gaussian, ``x ~ N(0, D S D + C)`` (``D``:
the amplitude profile on the diagonal; ``S``: the Toeplitz autocorrelation of the
muscle spectrum; ``C``: that of the noise), so the posterior over the onset with a flat
prior is computed exactly (one Cholesky factorisation per candidate: onset on a 1 ms
grid, times rise time and level for the second observer), and its median, the estimate
with the least expected absolute error, is taken. The window (100 ms before the true
onset to 60 ms after the latest rise) and the flat prior (+/- 40 ms) are placed around the
true onset, so an observer's errors cannot exceed 40 ms: a little optimistic, as a floor
should be. Errors are against ``onset_s`` as in emg_eval (the first sample of activity
is at most one sample later).

* "knows the profile": the burst's own amplitude profile (rise time, shape, plateau
  level and its modulation; ``SynthEMG.envelope_v``) is known up to its start. No
  detector can on average do better: this is the floor.
* "knows the rise shape" (``--shape-observer``): only the shape family (``--shape``) is
  known; the rise time (8 values, 5 ms to ``--rise-max``) and the plateau level (0.8,
  1.0, 1.2 x nominal; the generator's are 0.7-1.3) are summed out with flat priors.
  This is what a detector could reach if it knew the spectra exactly.

Every detector sees only the 20-450 Hz band (labkit's band-pass): the generator's muscle
spectrum continues above its noise's 500 Hz edge, where an observer of the raw record
would see the burst without noise. So the observers' record gets, outside that band,
extra stationary noise 40 dB above the noise's density (in their covariance too), which
removes that information as a band-pass would while keeping the model exact.

The signals are ``benchmarks/emg_eval.py``'s (linear rises 5-100 ms by default, both
rates, seeds 0, 1, ...), generated without baseline drift so that the observers' model
is exact; labkit's default runs on the same drift-free signals (its 20 Hz high-pass
removes the drift anyway). Scores as in emg_eval: median and 90th percentile absolute
error, signed median (negative = early), truth = first sample of activity.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import linalg

from labkit.signal import emg
from labkit.signal.emg_synth import RISE_SHAPES, score_onsets, synth_emg

PRE_S = 0.1  # window start before the true onset
SHIFT_S = 0.04  # candidate shifts: +/- this around the true onset
POST_S = 0.06  # window end after the end of the (latest shifted) rise
# Every detector sees the 20-450 Hz band (labkit's band-pass): outside it the generator's
# muscle spectrum runs on above the noise's 500 Hz edge, where an observer of the raw
# record would see the burst without noise. So the observer's record gets, outside
# BAND_HZ, extra stationary noise MASK_DB above the noise's own density: as good as a
# band-pass, and its covariance (a fixed Toeplitz term) keeps the model exact.
BAND_HZ = (20.0, 450.0)
MASK_DB = 40.0
# The shape observer's grids (flat priors): the generator's rises are uniform in 5 ms to
# --rise-max (8 points) and its plateaus 0.7-1.3 x nominal.
N_RISES = 8
RAMP_LEVELS = (0.8, 1.0, 1.2)


def _autocov(power: np.ndarray, n: int, lags: int) -> np.ndarray:
    """Autocovariance of a unit-variance stationary signal of power spectrum ``power``
    on ``rfftfreq(n)`` (the generator's circular FFT noise has exactly this)."""
    r = np.fft.irfft(power, n)
    return r[:lags] / r[0]


def spectra(n: int, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectra of the generator's muscle activity and instrumentation noise
    (labkit.signal.emg_synth._shaped_noise / _bandlimited_white) and of the mask."""
    f = np.fft.rfftfreq(n, 1.0 / fs)
    fl, fh = 50.0, 150.0
    muscle = fh**4 * f**2 / ((f**2 + fl**2) * (f**2 + fh**2) ** 2)
    noise = ((f >= 10.0) & (f <= min(500.0, 0.45 * fs))).astype(float)
    mask = ((f < BAND_HZ[0]) | (f > BAND_HZ[1])).astype(float)
    return muscle, noise, mask


def observed(sim, noise: np.ndarray, mask: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """The record plus the out-of-band mask noise, and the mask's variance (V^2)."""
    var = 10 ** (MASK_DB / 10) * sim.noise_rms_v**2 * mask.sum() / noise.sum()
    rng = np.random.default_rng(10_000 + seed)
    spec = rng.standard_normal(mask.size) + 1j * rng.standard_normal(mask.size)
    y = np.fft.irfft(spec * mask, sim.x.size)
    return sim.x + math.sqrt(var) * y / y.std(), var


def _loglik(x: np.ndarray, a: np.ndarray, s_m: np.ndarray, s_n: np.ndarray) -> float:
    """Gaussian log-likelihood of ``x`` for the muscle amplitude profile ``a``."""
    cf = linalg.cho_factor(a[:, None] * s_m * a[None, :] + s_n, lower=True,
                           check_finite=False)
    z = linalg.cho_solve(cf, x, check_finite=False)
    return -0.5 * (x @ z) - np.log(np.diag(cf[0])).sum()


def _median_shift(loglik: np.ndarray, shifts: np.ndarray) -> int:
    p = np.exp(loglik - loglik.max())
    return int(shifts[np.searchsorted(np.cumsum(p) / p.sum(), 0.5)])


def posterior_onset(sim, xo, onset_s: float, acf_m, cov_rest, *, rise_max_s: float,
                    profile: str, rise_grid_s=(), level_grid=()) -> float:
    """Posterior-median onset (s) for one burst of ``xo``, flat prior on the shift.

    ``profile="known"``: the burst's own amplitude profile (``sim.envelope_v``) shifted;
    any key of ``RISE_SHAPES`` (``"linear"``, ...): that rise shape to a flat plateau, its
    rise time and plateau level (a multiple of the nominal amplitude) summed out over
    ``rise_grid_s`` x ``level_grid`` with flat priors.
    """
    fs = sim.fs_hz
    i_true = math.ceil(onset_s * fs)
    i0 = i_true - round(PRE_S * fs)
    i1 = i_true + round((SHIFT_S + rise_max_s + POST_S) * fs)
    x = xo[i0:i1]
    n = x.size
    s_m = linalg.toeplitz(acf_m[:n])
    s_n = linalg.toeplitz(cov_rest[:n])
    k = round(SHIFT_S * fs)
    shifts = np.arange(-k, k + 1, max(1, round(fs / 1000.0)))  # a 1 ms grid
    loglik = np.empty(shifts.size)
    tau = (np.arange(n) - (i_true - i0)) / fs  # s since the true onset
    for j, d in enumerate(shifts):
        if profile == "known":
            loglik[j] = _loglik(x, sim.envelope_v[i0 - d:i1 - d], s_m, s_n)
            continue
        rise = RISE_SHAPES[profile]
        ll = [_loglik(x, lv * sim.params["amplitude_v"] * rise(np.clip((tau - d / fs) / r, 0, 1)),
                      s_m, s_n)
              for r in rise_grid_s for lv in level_grid]
        top = max(ll)
        loglik[j] = top + math.log(sum(math.exp(v - top) for v in ll))
    return (i_true + _median_shift(loglik, shifts)) / fs


def _scores(err_s: list[float]) -> str:
    e = np.abs(np.asarray(err_s)) * 1e3
    return (f"{np.median(e):6.1f} {np.percentile(e, 90):6.1f} "
            f"{np.median(np.asarray(err_s)) * 1e3:+7.1f} {e.size:5d}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snr", default="10", help="comma-separated SNRs in dB")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--rise-max", type=float, default=0.1)
    ap.add_argument("--shape", default="linear")
    ap.add_argument("--rates", default="1000,2148.148148148148")
    ap.add_argument("--shape-observer", action="store_true",
                    help="also the observer that knows only the rise shape (slow)")
    args = ap.parse_args()
    print("estimator                          SNR  med ms  p90 ms  signed     n")
    for snr in (float(v) for v in args.snr.split(",")):
        t0 = time.perf_counter()
        ideal, ramp, lab = [], [], []
        rises = tuple(np.linspace(0.005, args.rise_max, N_RISES))
        for fs in (float(v) for v in args.rates.split(",")):
            for seed in range(args.seeds):
                sim = synth_emg(fs, args.duration, snr_db=snr, rise_s=(0.005, args.rise_max),
                                shape=args.shape, drift_ratio=0.0, seed=seed)
                muscle, noise, mask = spectra(sim.x.size, fs)
                lags = round((PRE_S + 2 * SHIFT_S + args.rise_max + POST_S) * fs) + 2
                xo, mask_var = observed(sim, noise, mask, seed)
                acf_m = _autocov(muscle, sim.x.size, lags)
                cov_rest = (sim.noise_rms_v**2 * _autocov(noise, sim.x.size, lags)
                            + mask_var * _autocov(mask, sim.x.size, lags))
                det = emg.detect_onsets(sim.x, fs).onset_s
                sc = score_onsets(sim.onset_s, det)
                lab.extend(sc.errors_s)
                for on in sim.onset_s:
                    ideal.append(posterior_onset(sim, xo, on, acf_m, cov_rest,
                                                 rise_max_s=args.rise_max,
                                                 profile="known") - on)
                    if args.shape_observer:
                        ramp.append(posterior_onset(
                            sim, xo, on, acf_m, cov_rest, rise_max_s=args.rise_max,
                            profile=args.shape, rise_grid_s=rises,
                            level_grid=RAMP_LEVELS) - on)
        print(f"ideal observer (knows the profile) {snr:4.0f} {_scores(ideal)}")
        if ramp:
            print(f"observer knowing the rise shape  {snr:4.0f} {_scores(ramp)}")
        print(f"labkit default                     {snr:4.0f} {_scores(lab)}")
        print(f"  ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
