"""EMG onset methods and changepoint refiners: the registries :data:`ONSET_METHODS` and
:data:`REFINERS` that :func:`labkit.signal.emg.detect_onsets` draws on.

Part of :mod:`labkit.signal.emg` (import the names from there).  Add a method or a
refiner by registering a callable with the signature described above each registry;
its keyword options (with defaults) are recorded in the result's params.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from labkit.errors import SignalError
from labkit.signal import _emg_kernels as _k
from labkit.signal._emg_common import _positive, _samples
from labkit.signal.emg_filters import _filtfilt, butter_sos

__all__ = ["DEFAULT_METHOD", "DEFAULT_REFINER", "ONSET_METHODS", "REFINERS"]


# ===================================================================== onset methods
#
# A method maps the band-passed signal to a score array and a per-channel threshold:
#   fn(filtered, fs_hz, base, *, threshold_sd, **options) -> (score, thr, info)
# where base[c] = (starts, stops) are the baseline sample ranges of channel c.  Its keyword options
# (with defaults) are recorded in the result's params.


def _range_stats(arr: np.ndarray, base) -> np.ndarray:
    """Per channel ``(count, mean, SD, mean square)`` of the finite values of ``arr``
    inside the baseline ranges ``base[c]`` (kernel ``range_stats``)."""
    n_ch = arr.shape[1]
    m = max(1, max(len(lo) for lo, _ in base))
    lo = np.zeros((m, n_ch), dtype=np.int64)
    hi = np.zeros((m, n_ch), dtype=np.int64)
    cnt = np.empty(n_ch, dtype=np.int64)
    for c, (a, b) in enumerate(base):
        lo[: len(a), c] = a
        hi[: len(b), c] = b
        cnt[c] = len(a)
    out = np.empty((n_ch, 4))
    _k.range_stats(arr, lo, hi, cnt, out)
    return out


def _baseline_stats(score: np.ndarray, base):
    st = _range_stats(score, base)
    for c in range(score.shape[1]):
        if st[c, 0] < 2:
            raise SignalError(
                f"baseline window of channel {c} holds {int(st[c, 0])} finite samples; "
                "pass baseline_s=(start_s, stop_s) over quiet signal"
            )
    return st[:, 1].copy(), st[:, 2].copy()


def _method_threshold(
    filtered, fs, base, *, threshold_sd, envelope_hz: float = 20.0, envelope_order: int = 4
):
    """Hodges & Bui (1996): linear envelope above baseline mean + h SD of itself."""
    sos = butter_sos(fs, high_hz=envelope_hz, order=envelope_order)
    score = _filtfilt(filtered, sos, rectify=True)
    mean, sd = _baseline_stats(score, base)
    return score, mean + threshold_sd * sd, {"baseline_mean": mean, "baseline_sd": sd}


def _method_tkeo(
    filtered, fs, base, *, threshold_sd, envelope_hz: float = 20.0, envelope_order: int = 4
):
    """Solnik et al. (2010): TKEO, full-wave rectification, low-pass, then threshold."""
    psi = np.empty_like(filtered)
    _k.tkeo(filtered, psi)
    sos = butter_sos(fs, high_hz=envelope_hz, order=envelope_order)
    score = _filtfilt(psi, sos, rectify=True)
    del psi
    mean, sd = _baseline_stats(score, base)
    return score, mean + threshold_sd * sd, {"baseline_mean": mean, "baseline_sd": sd}


def _method_double_threshold(
    filtered,
    fs,
    base,
    *,
    threshold_sd,
    window_s: float = 0.025,
    p_sample: float = 0.05,
    min_fraction: float = 0.3,
):
    """Bonato et al. (1998): at least ``min_fraction`` of the samples in a centred
    ``window_s`` window exceed the level that a baseline sample exceeds with
    probability ``p_sample`` (chi-square, 1 dof, baseline variance of the same signal).
    ``threshold_sd`` is not used."""
    from scipy.stats import chi2

    var = _range_stats(filtered, base)[:, 3]
    level = chi2.isf(p_sample, 1) * var
    half = _samples("window_s", window_s, fs) // 2
    score = np.empty_like(filtered)
    _k.moving_count_above(filtered, level, half, score)
    m = 2 * half + 1
    r0 = max(1, math.ceil(min_fraction * m))
    thr = np.full(filtered.shape[1], r0 - 0.5)
    return score, thr, {"baseline_var": var, "window_samples": m, "min_count": r0}


#: Onset methods: name -> callable (see the comment above the implementations).
ONSET_METHODS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray, dict]]] = {
    "threshold": _method_threshold,
    "tkeo": _method_tkeo,
    "double_threshold": _method_double_threshold,
}


# ------------------------------------------------------------------------ refiners
# fn(filtered, fs, ch, lo, on, hi, base_var, **options) -> refined onset indices
# (-1 = keep the coarse onset); base_var[c] is the baseline variance of channel c of the
# band-passed signal (from the same baseline ranges as the threshold).


def _refine_ramp(
    filtered,
    fs,
    ch,
    lo,
    on,
    hi,
    base_var,
    *,
    bin_s: float = 0.003,
    rise_grid_s: tuple[float, ...] = (0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.07, 0.1,
                                      0.13, 0.17),
    min_pre_s: float = 0.03,
    max_after_s: float = 0.03,
    coarse_step_s: float = 0.009,
):
    """Maximum-likelihood ramp-then-plateau changepoint (kernel ``refine_ramp``)."""
    m = _samples("bin_s", bin_s, fs)
    dt = m / fs
    ramp = np.unique(np.maximum(1, np.round(np.asarray(rise_grid_s) / dt))).astype(np.int64)
    out = np.empty(len(lo), dtype=np.int64)
    if len(lo):
        _k.refine_ramp(filtered, ch, lo, on, hi, m, dt, ramp,
                       max(2, round(min_pre_s / dt)), round(max_after_s / dt),
                       max(1, round(coarse_step_s / dt)), out)
    return out


def _refine_step(filtered, fs, ch, lo, on, hi, base_var, *, bin_s: float = 0.001):
    """Maximum-likelihood variance step (AGLR-like, Staude 2001)."""
    m = _samples("bin_s", bin_s, fs)
    out = np.empty(len(lo), dtype=np.int64)
    if len(lo):
        _k.refine_step(filtered, ch, lo, hi, m, out)
    return out


def _refine_posterior(
    filtered,
    fs,
    ch,
    lo,
    on,
    hi,
    base_var,
    *,
    bin_s: float = 0.003,
    rise_grid_s: tuple[float, ...] = (0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.07, 0.1,
                                      0.13, 0.17),
    min_pre_s: float = 0.03,
    max_after_s: float = 0.06,
    known_baseline: bool = True,
    independent_rate_hz: float = 300.0,
    temperature: float | None = None,
    shape_powers: tuple[float, ...] = (2.0,),
    shape_weights: tuple[float, ...] | None = None,
):
    """Bayesian ramp-then-plateau changepoint: posterior median of the onset (kernel
    ``refine_ramp_posterior``).  ``known_baseline`` uses the baseline variance of the
    long baseline instead of re-estimating it from the short window; the likelihood of
    correlated (band-limited) samples is tempered by ``temperature``, by default
    ``independent_rate_hz / fs`` (at most 1): the band-passed signal carries about as
    many independent values per second at any sample rate, so a faster rate gets a
    smaller weight per sample (0.3 at 1000 Hz, 0.14 at 2148 Hz); ``max_after_s`` how far
    after the coarse onset the onset may lie (0.06 s: a coarse onset started early by a
    noise excursion merged into the burst can move back to the true one, which 0.03 s
    could not); ``shape_powers`` are the
    rise shapes summed out with the rise time: the variance rises as ``(tau / R) ** p``
    (2: amplitude linear in time; 4: amplitude rising as a square, a gradual start);
    ``shape_weights`` their prior weights (None: equal; ``(0.9, 0.1)`` with powers
    ``(2, 4)`` keeps sharp onsets on the linear model while sigmoid and gradual rises
    are no longer read 20-40 ms late, docs/emg.md)."""
    m = _samples("bin_s", bin_s, fs)
    dt = m / fs
    rate = _positive("independent_rate_hz", independent_rate_hz)
    temperature = _positive("temperature", min(1.0, rate / fs) if temperature is None else temperature)
    powers = np.asarray([_positive("shape_powers", p) for p in np.atleast_1d(shape_powers)],
                        dtype=np.float64)
    if shape_weights is None:
        log_prior = np.zeros(powers.shape[0])
    else:
        w = np.asarray([_positive("shape_weights", v) for v in np.atleast_1d(shape_weights)])
        if w.shape != powers.shape:
            raise SignalError(f"shape_weights={shape_weights!r} needs one weight per shape power "
                              f"({len(powers)}: {tuple(powers)})")
        log_prior = np.log(w / w.sum())
    ramp = np.unique(np.maximum(1, np.round(np.asarray(rise_grid_s) / dt))).astype(np.int64)
    vb = np.ascontiguousarray(base_var if known_baseline else np.zeros_like(base_var),
                              dtype=np.float64)
    out = np.empty(len(lo), dtype=np.int64)
    if len(lo):
        _k.refine_ramp_posterior(filtered, ch, lo, on, hi, m, dt, ramp,
                                 max(2, round(min_pre_s / dt)), round(max_after_s / dt),
                                 vb, temperature, powers, log_prior, out)
    return out


#: Changepoint refiners applied around each coarse onset: name -> callable.
REFINERS: dict[str, Callable[..., np.ndarray]] = {
    "posterior": _refine_posterior,
    "ramp": _refine_ramp,
    "step": _refine_step,
}

#: The most accurate method in ``benchmarks/emg_eval.py`` (see docs/emg.md).
DEFAULT_METHOD = "threshold"
DEFAULT_REFINER = "posterior"
