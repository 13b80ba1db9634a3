"""Realistic synthetic surface EMG with known burst onsets, and onset scoring.

Used by the tests, the evaluation harness (``benchmarks/emg_eval.py``), the benchmarks
and the simulated athlete.  Model (one channel):

* muscle activity: Gaussian noise shaped to a typical sEMG spectrum
  ``P(f) ~ fh^4 f^2 / ((f^2 + fl^2) (f^2 + fh^2)^2)`` (fl = 50 Hz, fh = 150 Hz; peak
  near 80 Hz), multiplied by an amplitude profile: zero at rest, rising from the onset
  over a rise time (:data:`RISE_SHAPES`: ``"linear"`` ramp in amplitude, ``"cosine"``
  raised cosine, ``"sigmoid"`` logistic, ``"gradual"`` quadratic),
  a plateau with per-burst amplitude jitter and slow 1-3 Hz modulation, and a fall;
* instrumentation noise: white Gaussian noise band-limited to 10-500 Hz, its RMS set by
  ``snr_db = 20 log10(plateau RMS / noise RMS)`` with the nominal plateau RMS;
* optional baseline drift (0.1-0.5 Hz sines), ECG (QRS-like complexes at
  ``heart_rate_bpm``) and mains hum, each relative to the nominal plateau RMS.

The true onset is the first sample of the rise; the true offset the end of the fall.
Rates are exact (default 2148.148148... Hz) and every window is in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from labkit.errors import SignalError

__all__ = ["RISE_SHAPES", "OnsetScore", "SynthEMG", "score_onsets", "synth_emg"]

TRIGNO_FS_HZ = 2148.148148148148  # 1 / (13.5 ms / 29)


def _logistic(u: np.ndarray, k: float = 8.0) -> np.ndarray:
    """Logistic S-curve through (0, 0) and (1, 1): 1.8 % of the plateau at a tenth of the
    rise, 50 % halfway."""
    lo, hi = 1 / (1 + math.exp(k / 2)), 1 / (1 + math.exp(-k / 2))
    return (1 / (1 + np.exp(-k * (u - 0.5))) - lo) / (hi - lo)


#: Rise (and fall) profiles of the burst amplitude, ``u`` = time since onset / rise time
#: in [0, 1]: ``linear`` ramp; ``cosine`` raised cosine (S-shaped, 2.4 % at u = 0.1);
#: ``sigmoid`` logistic (steeper S, 1.8 % at u = 0.1); ``gradual`` quadratic (recruitment
#: building up slowly: 1 % at u = 0.1, 25 % halfway). The true onset is u = 0 in all.
RISE_SHAPES = {
    "linear": lambda u: u,
    "cosine": lambda u: 0.5 - 0.5 * np.cos(np.pi * u),
    "sigmoid": _logistic,
    "gradual": lambda u: u * u,
}


@dataclass(frozen=True)
class SynthEMG:
    """A synthetic EMG channel and its ground truth."""

    x: np.ndarray
    fs_hz: float
    onset_s: np.ndarray
    offset_s: np.ndarray
    rise_s: np.ndarray
    params: dict = field(default_factory=dict)
    #: The muscle-activity amplitude profile (V RMS per sample; 0 at rest) and the
    #: instrumentation-noise RMS (V): what an ideal observer would know
    #: (benchmarks/emg_onset_bound.py).
    envelope_v: np.ndarray | None = None
    noise_rms_v: float | None = None


def _shaped_noise(rng, n, fs, fl=50.0, fh=150.0):
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spec = rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)
    gain = np.sqrt(fh**4 * f**2 / ((f**2 + fl**2) * (f**2 + fh**2) ** 2))
    y = np.fft.irfft(spec * gain, n)
    return y / y.std()


def _bandlimited_white(rng, n, fs, lo=10.0, hi=500.0):
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spec = rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)
    spec[(f < lo) | (f > hi)] = 0.0
    y = np.fft.irfft(spec, n)
    return y / y.std()


def _ecg(rng, n, fs, bpm):
    t = np.arange(n) / fs
    out = np.zeros(n)
    beat = 60.0 / bpm
    tb = rng.uniform(0, beat)
    # Q, R, S waves as Gaussians: (offset s, width s, relative amplitude)
    waves = ((-0.025, 0.008, -0.15), (0.0, 0.010, 1.0), (0.025, 0.009, -0.3))
    while tb < t[-1]:
        lo = max(0, int((tb - 0.1) * fs))
        hi = min(n, int((tb + 0.1) * fs) + 1)
        tt = t[lo:hi] - tb
        for off, w, a in waves:
            out[lo:hi] += a * np.exp(-0.5 * ((tt - off) / w) ** 2)
        tb += beat * rng.uniform(0.93, 1.07)
    return out


def synth_emg(
    fs_hz: float = TRIGNO_FS_HZ,
    duration_s: float = 30.0,
    *,
    snr_db: float = 20.0,
    rise_s: tuple[float, float] = (0.005, 0.1),
    fall_s: tuple[float, float] = (0.02, 0.1),
    burst_s: tuple[float, float] = (0.4, 1.2),
    gap_s: tuple[float, float] = (0.8, 2.0),
    lead_s: float = 1.5,
    tail_s: float = 0.5,
    amplitude_v: float = 1e-4,
    amplitude_jitter: float = 0.3,
    shape: str = "linear",
    drift_ratio: float = 2.0,
    ecg_ratio: float = 0.0,
    heart_rate_bpm: float = 70.0,
    mains_ratio: float = 0.0,
    mains_hz: float = 50.0,
    seed: int | None = 0,
) -> SynthEMG:
    """One channel of synthetic surface EMG with known onsets.

    Parameters
    ----------
    fs_hz : float
        Sample rate (exact; default Delsys Trigno 2148.148... Hz).
    duration_s : float
        Length in seconds.
    snr_db : float
        20 log10(nominal plateau RMS / instrumentation-noise RMS).
    rise_s, fall_s, burst_s, gap_s : (float, float)
        Uniform ranges (seconds) of the rise time, fall time, total burst duration
        (onset to offset) and the rest between bursts.
    lead_s : float
        Rest before the first burst starts (at least this, plus up to 0.5 s).
    tail_s : float
        Minimum rest after the last burst ends (0.5 s).
    amplitude_v : float
        Nominal plateau RMS in volts (each burst scaled by 1 +/- ``amplitude_jitter``).
    shape : str
        Rise (and fall) profile of the amplitude, a key of :data:`RISE_SHAPES`
        (``linear``, ``cosine``, ``sigmoid``, ``gradual``).
    drift_ratio, ecg_ratio, mains_ratio : float
        Amplitudes of baseline drift, ECG R wave and mains hum relative to
        ``amplitude_v`` (0 disables).
    seed : int or None
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    SynthEMG
        ``x`` (volts), ``onset_s``, ``offset_s``, ``rise_s`` and ``params``.
    """
    fs = float(fs_hz)
    if not math.isfinite(fs) or fs <= 0:
        raise SignalError(f"fs_hz={fs_hz!r} must be a positive rate in Hz")
    if shape not in RISE_SHAPES:
        raise SignalError(f"shape={shape!r} must be one of {', '.join(RISE_SHAPES)}")
    n = round(duration_s * fs)
    if n < round((lead_s + 1.0) * fs):
        raise SignalError(f"duration_s={duration_s!r} is too short for lead_s={lead_s!r}")
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs

    onsets, offsets, rises = [], [], []
    amp = np.zeros(n)
    tb = lead_s + rng.uniform(0.0, 0.5)
    while True:
        dur = rng.uniform(*burst_s)
        r = rng.uniform(*rise_s)
        fl = rng.uniform(*fall_s)
        dur = max(dur, r + fl + 0.05)
        if tb + dur > t[-1] - tail_s:
            break
        a = amplitude_v * (1.0 + amplitude_jitter * rng.uniform(-1.0, 1.0))
        i0 = math.ceil(tb * fs)
        i1 = min(n, math.ceil((tb + dur) * fs))
        tt = t[i0:i1] - tb
        up = np.clip(tt / r, 0.0, 1.0)
        down = np.clip((dur - tt) / fl, 0.0, 1.0)
        prof = RISE_SHAPES[shape](np.minimum(up, down))
        mod = 1.0 + 0.15 * np.sin(2 * np.pi * rng.uniform(1.0, 3.0) * tt + rng.uniform(0, 6.3))
        amp[i0:i1] = a * prof * mod
        onsets.append(tb)
        offsets.append(tb + dur)
        rises.append(r)
        tb += dur + rng.uniform(*gap_s)

    x = _shaped_noise(rng, n, fs) * amp
    noise_rms = amplitude_v / 10.0 ** (snr_db / 20.0)
    x += noise_rms * _bandlimited_white(rng, n, fs, hi=min(500.0, 0.45 * fs))
    if drift_ratio:
        for _ in range(3):
            x += (drift_ratio * amplitude_v / 3) * np.sin(
                2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 6.3)
            )
        x += drift_ratio * amplitude_v * 0.5  # DC offset
    if ecg_ratio:
        x += ecg_ratio * amplitude_v * _ecg(rng, n, fs, heart_rate_bpm)
    if mains_ratio:
        x += mains_ratio * amplitude_v * np.sin(2 * np.pi * mains_hz * t + rng.uniform(0, 6.3))
    params = {
        "function": "labkit.signal.emg_synth.synth_emg",
        "fs_hz": fs, "duration_s": duration_s, "snr_db": snr_db, "rise_s": tuple(rise_s),
        "fall_s": tuple(fall_s), "burst_s": tuple(burst_s), "gap_s": tuple(gap_s),
        "lead_s": lead_s, "tail_s": tail_s, "amplitude_v": amplitude_v, "amplitude_jitter": amplitude_jitter,
        "shape": shape, "drift_ratio": drift_ratio, "ecg_ratio": ecg_ratio,
        "heart_rate_bpm": heart_rate_bpm, "mains_ratio": mains_ratio, "mains_hz": mains_hz,
        "seed": seed,
    }
    return SynthEMG(x, fs, np.array(onsets), np.array(offsets), np.array(rises), params,
                    envelope_v=amp, noise_rms_v=noise_rms)


@dataclass(frozen=True)
class OnsetScore:
    """Onset errors of detections matched one-to-one to true onsets."""

    errors_s: np.ndarray  # detected - true, for matched bursts
    n_true: int
    n_detected: int
    n_matched: int

    @property
    def n_false(self) -> int:
        return self.n_detected - self.n_matched


def score_onsets(
    true_onset_s, detected_onset_s, *, tolerance_s: float = 0.25
) -> OnsetScore:
    """Match detections to true onsets one-to-one (closest pairs first, within
    ``tolerance_s``); unmatched detections are false bursts, unmatched truths misses."""
    tr = np.asarray(true_onset_s, dtype=float)
    de = np.asarray(detected_onset_s, dtype=float)
    if tr.size == 0 or de.size == 0:
        return OnsetScore(np.empty(0), tr.size, de.size, 0)
    d = de[None, :] - tr[:, None]
    ti, di = np.nonzero(np.abs(d) <= tolerance_s)
    order = np.argsort(np.abs(d[ti, di]), kind="stable")
    used_t = np.zeros(tr.size, bool)
    used_d = np.zeros(de.size, bool)
    errs = []
    for k in order:
        a, b = ti[k], di[k]
        if not used_t[a] and not used_d[b]:
            used_t[a] = used_d[b] = True
            errs.append(d[a, b])
    return OnsetScore(np.array(errs), tr.size, de.size, len(errs))
