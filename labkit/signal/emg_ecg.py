"""ECG suppression on trunk EMG (obliques, multifidus): QRS template subtraction
(default) or a high-pass, registered in :data:`ECG_METHODS`.

Part of :mod:`labkit.signal.emg` (import the names from there).  Method, options and
results: ``docs/emg.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal as _sps

from labkit.errors import SignalError
from labkit.signal._checks import check_fs
from labkit.signal._emg_common import _as_2d, _back, _samples
from labkit.signal.emg_filters import _filtfilt, butter_sos
from labkit.signal.filters import zero_phase_filter

__all__ = ["ECG_METHODS", "suppress_ecg"]


def _ecg_highpass(x2: np.ndarray, fs: float, *, cutoff_hz: float = 30.0, order: int = 4):
    """Zero-phase high-pass at ``cutoff_hz`` (removes only the QRS energy below it)."""
    sos = butter_sos(fs, low_hz=cutoff_hz, order=order)
    return _filtfilt(x2, sos), {"cutoff_hz": cutoff_hz, "order": order}


def _quiet_level(env: np.ndarray, block: int) -> float:
    """Median of ``env`` over the quietest quarter of ``block``-sample blocks (by their
    median): the noise level of a feature, unaffected by bursts and sparse beats."""
    n = env.size
    k = max(1, n // block)
    med = (np.median(env[: k * block].reshape(k, block), axis=1) if n >= block
           else np.array([np.median(env)]))
    keep = med <= np.quantile(med, 0.25)
    return float(np.median(med[keep]))


def _match_shift(xw: np.ndarray, w: np.ndarray, ref: np.ndarray, start: int,
                 max_shift: int) -> int:
    """Shift ``s`` in ``[-max_shift, max_shift]`` that maximises the matched-filter
    statistic of ``ref`` at ``start + s`` under noise of inverse variance ``w``:
    ``sum(w x ref) / sqrt(sum(w ref^2))`` (``xw = w * x``)."""
    m = ref.size
    a, b = start - max_shift, start + max_shift + m
    num = np.correlate(xw[a:b], ref, "valid")
    den = np.correlate(w[a:b], ref * ref, "valid")
    return int(np.argmax(num / np.sqrt(np.maximum(den, 1e-300)))) - max_shift


def _medoid_template(xp, cand, pre, post, shift, sos, taper) -> np.ndarray:
    """Of the beats at ``cand``, the low-passed, tapered segment that matches the others
    best (sum over the others of the maximum normalised cross-correlation within
    ``shift`` samples)."""
    m = pre + post
    cores = [zero_phase_filter(sos, xp[p - pre : p + post]) * taper for p in cand]
    segs = [xp[p - pre - shift : p + post + shift] for p in cand]
    norms = [np.sqrt(np.maximum(np.convolve(sg * sg, np.ones(m), "valid"), 1e-300)) for sg in segs]
    total = np.zeros(len(cand))
    for i, core in enumerate(cores):
        cn = math.sqrt(float(core @ core)) or 1.0
        for sg, nm in zip(segs, norms, strict=True):
            total[i] += float(np.max(np.correlate(sg, core, "valid") / nm)) / cn
    return cores[int(np.argmax(total))]


def _fit_beat(xp, wp, start, tpl, amplitude_sd):
    """Weighted least-squares fit of ``a tpl + b tpl'`` to ``xp[start:start+m]`` with
    sample weights ``wp`` (inverse variances): ``(a, b, a_ls, z)``, where ``a, b`` have
    the priors ``a ~ N(1, amplitude_sd^2)``, ``b ~ N(0, amplitude_sd^-2)`` (None: no
    prior), ``a_ls`` is the unregularised amplitude and ``z`` its signal-to-noise."""
    m = tpl.size
    seg, w = xp[start : start + m], wp[start : start + m]
    d = np.gradient(tpl)
    g11, g12, g22 = float(w @ (tpl * tpl)), float(w @ (tpl * d)), float(w @ (d * d))
    r1, r2 = float(w @ (tpl * seg)), float(w @ (d * seg))
    a_ls = r1 / g11 if g11 > 0 else 0.0
    z = a_ls * math.sqrt(g11) if g11 > 0 else 0.0
    if amplitude_sd is not None:
        prior = 1.0 / amplitude_sd**2
        g11, g22, r1 = g11 + prior, g22 + prior, r1 + prior
    det = g11 * g22 - g12 * g12
    if det <= 0:
        return 0.0, 0.0, a_ls, z
    return (g22 * r1 - g12 * r2) / det, (g11 * r2 - g12 * r1) / det, a_ls, z


@dataclass(frozen=True)
class _TemplateSetup:
    """Sample counts, windows and limits of one ``_ecg_template`` call (all channels)."""

    pre: int  # template window before / after the beat's reference sample
    post: int
    shift: int  # alignment search, +/- samples
    dist: int  # minimum RR interval
    near: int  # EMG-band maximum filter width
    edge: int  # samples at each end where filter transients hide beats
    pad: int  # padding that gives every beat a full window
    block: int  # block length of the noise levels (_quiet_level)
    taper: np.ndarray
    tpl_sos: np.ndarray
    span: np.ndarray
    threshold: float
    min_z: float
    a_lo: float
    a_hi: float
    amplitude_sd: float


def _ecg_envelopes(x2, fs, qrs_band_hz, emg_band_hz, envelope_hz):
    """Linear envelopes of the QRS band, of the EMG band above it and of the signal."""
    hi_emg = min(emg_band_hz[1], 0.45 * fs)
    env_sos = butter_sos(fs, high_hz=envelope_hz, order=2)
    q = _filtfilt(x2, butter_sos(fs, low_hz=qrs_band_hz[0], high_hz=qrs_band_hz[1], order=2))
    eq = _filtfilt(q, env_sos, rectify=True)
    del q
    eh = _filtfilt(
        _filtfilt(x2, butter_sos(fs, low_hz=emg_band_hz[0], high_hz=hi_emg, order=2)),
        env_sos, rectify=True,
    )
    ex = _filtfilt(x2, env_sos, rectify=True)
    return eq, eh, ex


def _mean_template(xp, wp, pk, g: _TemplateSetup) -> np.ndarray:
    """Inverse-variance weighted mean of the beats at ``pk``, low-passed and tapered."""
    idx = pk[:, None] + g.span[None, :]
    w = wp[idx]
    tpl = (w * xp[idx]).sum(axis=0) / np.maximum(w.sum(axis=0), 1e-300)
    return zero_phase_filter(g.tpl_sos, tpl - tpl.mean()) * g.taper


def _ecg_candidates(fin, fq, fh, fx, g: _TemplateSetup):
    """Candidate beats of one channel (step 1 of ``_ecg_template``): the peaks of the
    QRS score, the score, and the noise levels of the EMG-band envelope and of the
    signal (its SD)."""
    from scipy.ndimage import maximum_filter1d

    n = fq.size
    nq = _quiet_level(fq[fin], g.block) + 1e-300
    nh = _quiet_level(fh[fin], g.block) + 1e-300
    sd0 = _quiet_level(fx[fin], g.block) * math.sqrt(math.pi / 2) + 1e-300
    # the EMG's own QRS-band / EMG-band envelope ratio (noise's if there is no EMG)
    act = (fh > 2.0 * nh) & fin
    ratio = float(np.median(fq[act] / fh[act])) if act.sum() > g.block else nq / nh
    emg_near = maximum_filter1d(fh, g.near)
    score = np.where(fin, fq / (nq + ratio * np.maximum(emg_near - nh, 0.0)), 0.0)
    score[: g.edge] = score[n - g.edge :] = 0.0  # filter transients at the ends
    peaks, _ = _sps.find_peaks(score, height=g.threshold, distance=g.dist)
    return peaks, score, nh, sd0


def _learn_template(xp, wp, xw, pk, top, g: _TemplateSetup) -> np.ndarray | None:
    """Step 2 of ``_ecg_template``: the template, from the medoid of the clearest
    candidates ``top`` refined on the candidates ``pk`` that hold it; None if none does."""
    tpl = _medoid_template(xp, top, g.pre, g.post, g.shift, g.tpl_sos, g.taper)
    keep = np.zeros(pk.size, dtype=bool)
    for it in range(4):
        s_max = g.shift if it < 2 else max(2, g.shift // 4)
        pk = np.array([p + _match_shift(xw, wp, tpl, p - g.pre, s_max) for p in pk])
        fits = np.array([_fit_beat(xp, wp, p - g.pre, tpl, None) for p in pk])
        keep = (fits[:, 3] >= g.min_z) & (fits[:, 2] >= g.a_lo) & (fits[:, 2] <= g.a_hi)
        if not keep.any():
            break
        tpl = _mean_template(xp, wp, pk[keep], g)
        if it == 0:  # centre the window on the template's energy
            e = np.convolve(tpl * tpl, np.ones(max(1, g.pre // 4)), "same")
            pk = pk + (int(np.argmax(e)) - g.pre)
            tpl = _mean_template(xp, wp, pk[keep], g)
    return tpl if keep.any() else None


def _find_beats(xw, wp, tpl, g: _TemplateSetup) -> np.ndarray:
    """Step 3 of ``_ecg_template``: every peak of the weighted matched filter of the
    template with z >= ``min_z`` and an amplitude in range (padded sample indices)."""
    num = _sps.oaconvolve(xw, tpl[::-1], mode="valid")
    den = np.maximum(_sps.oaconvolve(wp, (tpl * tpl)[::-1], mode="valid"), 1e-300)
    z = num / np.sqrt(den)
    amp = num / den
    z[(amp < g.a_lo) | (amp > g.a_hi)] = 0.0
    starts, _ = _sps.find_peaks(np.r_[0.0, z, 0.0], height=g.min_z, distance=g.dist)
    return starts - 1 + g.pre


def _ecg_channel(x, fq, fh, fx, col, g: _TemplateSetup) -> tuple[int, int]:
    """Template subtraction on one channel, in place on ``col`` (its output column);
    ``x`` is the input and ``fq, fh, fx`` its envelopes.  Returns the numbers of
    candidate beats and of subtracted beats."""
    fin = np.isfinite(x)
    if fin.sum() < 2 * (g.pre + g.post):
        return 0, 0
    fq = np.nan_to_num(fq)
    fh = np.nan_to_num(fh)
    peaks, score, nh, sd0 = _ecg_candidates(fin, fq, fh, np.nan_to_num(fx), g)
    if peaks.size == 0:
        return 0, 0
    # padded copies: every beat has a full window; padding and NaN get zero weight
    xp = np.pad(np.where(fin, x, 0.0), g.pad)
    wp = np.pad(np.where(fin, 1.0 / (sd0 * np.maximum(fh / nh, 1.0)) ** 2, 0.0), g.pad)
    xw = xp * wp
    # first template: the medoid of the clearest candidates (the one that matches the
    # others best), robust to an EMG transient among them
    clear = score[peaks] >= 0.5 * score[peaks].max()
    top = (peaks + g.pad)[clear][np.argsort(-score[peaks][clear], kind="stable")[:16]]
    tpl = _learn_template(xp, wp, xw, peaks + g.pad, top, g)
    if tpl is None:
        return int(peaks.size), 0
    pk = _find_beats(xw, wp, tpl, g)
    if pk.size == 0:
        return int(peaks.size), 0
    tpl = _mean_template(xp, wp, pk, g)
    d_tpl = np.gradient(tpl)
    n = x.size
    for p in pk:
        a, b = _fit_beat(xp, wp, p - g.pre, tpl, g.amplitude_sd)[:2]
        lo, hi = max(0, p - g.pre - g.pad), min(n, p + g.post - g.pad)
        k0 = lo - (p - g.pre - g.pad)
        col[lo:hi] -= (a * tpl + b * d_tpl)[k0 : k0 + hi - lo]
    return int(peaks.size), int(pk.size)


def _ecg_template(
    x2: np.ndarray,
    fs: float,
    *,
    qrs_band_hz: tuple[float, float] = (5.0, 30.0),
    emg_band_hz: tuple[float, float] = (100.0, 400.0),
    envelope_hz: float = 10.0,
    emg_near_s: float = 0.1,
    min_rr_s: float = 0.33,
    threshold: float = 6.0,
    window_s: tuple[float, float] = (0.15, 0.15),
    max_shift_s: float = 0.06,
    amplitude_sd: float = 0.25,
    template_hz: float = 60.0,
    min_z: float = 6.0,
    amplitude_range: tuple[float, float] = (0.5, 2.0),
):
    """QRS template subtraction, robust to EMG bursts and short windows.

    Per channel:

    1. Candidate beats.  The envelopes of the QRS band (``qrs_band_hz``) and of an EMG
       band above the QRS (``emg_band_hz``) give a score: the QRS-band envelope over the
       level expected there from the noise (its median in the quietest quarter of the
       signal) plus the EMG (the largest EMG-band envelope within ``emg_near_s``, above
       its noise level, times the EMG's own QRS/EMG band ratio measured where the EMG
       band is active).  Candidates are score peaks above ``threshold`` at least
       ``min_rr_s`` apart; one is enough.
    2. Template.  Every sample gets an inverse variance from the local EMG-band envelope.
       The candidates are aligned (weighted matched filter, within ``max_shift_s``) to
       the medoid of the clearest ones, then to their inverse-variance weighted mean over
       ``window_s`` (before, after), low-passed at ``template_hz`` and tapered; a
       candidate counts if the template is clearly in it (z >= ``min_z``) at an
       amplitude in ``amplitude_range``.
    3. Beats.  Weighted matched filter of the template over the whole signal: every peak
       with z >= ``min_z`` and an amplitude in ``amplitude_range``, ``min_rr_s`` apart,
       is a beat (this finds beats next to an onset, cut by the signal's ends, or in
       weak EMG).  The template is re-estimated from them and each beat is fitted by
       weighted least squares with the template and its derivative (amplitude, prior
       1 +/- ``amplitude_sd``, and sub-sample shift) and subtracted.

    Beats buried in a strong burst stay (they do not move an onset)."""
    n_ch = x2.shape[1]
    out = x2.copy()
    pre = _samples("window_s[0]", window_s[0], fs)
    post = _samples("window_s[1]", window_s[1], fs)
    m = pre + post
    shift = _samples("max_shift_s", max_shift_s, fs)
    dist = _samples("min_rr_s", min_rr_s, fs)
    near = 2 * _samples("emg_near_s", emg_near_s, fs) + 1
    edge = _samples("edge", 0.05, fs)
    a_lo, a_hi = (float(v) for v in amplitude_range)
    eq, eh, ex = _ecg_envelopes(x2, fs, qrs_band_hz, emg_band_hz, envelope_hz)
    g = _TemplateSetup(
        pre=pre, post=post, shift=shift, dist=dist, near=near, edge=edge, pad=m + shift,
        block=max(4, _samples("block", 0.25, fs)),
        taper=_sps.windows.tukey(m, 0.3),
        # the QRS is low-frequency: the template's noise above template_hz is dropped
        tpl_sos=butter_sos(fs, high_hz=template_hz, order=2),
        span=np.arange(-pre, post),
        threshold=threshold, min_z=min_z, a_lo=a_lo, a_hi=a_hi, amplitude_sd=amplitude_sd,
    )
    n_cand, n_beats = [], []
    for c in range(n_ch):
        n_c, n_b = _ecg_channel(x2[:, c], eq[:, c], eh[:, c], ex[:, c], out[:, c], g)
        n_cand.append(n_c)
        n_beats.append(n_b)
    return out, {
        "qrs_band_hz": tuple(qrs_band_hz),
        "emg_band_hz": tuple(emg_band_hz),
        "envelope_hz": envelope_hz,
        "emg_near_s": emg_near_s,
        "min_rr_s": min_rr_s,
        "threshold": threshold,
        "window_s": tuple(window_s),
        "max_shift_s": max_shift_s,
        "amplitude_sd": amplitude_sd,
        "template_hz": template_hz,
        "min_z": min_z,
        "amplitude_range": (a_lo, a_hi),
        "n_candidates": n_cand,
        "n_beats": n_beats,
    }


#: ECG suppression methods: name -> callable(x2, fs_hz, **options) -> (array, params).
ECG_METHODS: dict[str, Callable[..., tuple[np.ndarray, dict]]] = {
    "highpass": _ecg_highpass,
    "template": _ecg_template,
}


def suppress_ecg(x: Any, fs_hz: float, *, method: str = "template", **options) -> np.ndarray:
    """Suppress ECG on trunk channels (obliques, multifidus); pass band-passed EMG.

    ``method="template"`` (default): find the beats (QRS band against the EMG band,
    thresholds from the quietest part; one beat is enough), build a QRS template and
    subtract it, fitted per beat (see ``_ecg_template`` and docs/emg.md).
    ``method="highpass"``: zero-phase 4th-order high-pass at ``cutoff_hz=30`` (keeps
    most of the QRS energy left by a 20 Hz band-pass; for comparison).
    Options are passed to the method in :data:`ECG_METHODS`.
    """
    fs = check_fs(fs_hz)
    if method not in ECG_METHODS:
        raise SignalError(f"method={method!r} is not one of {sorted(ECG_METHODS)}")
    x2, was_1d = _as_2d(x)
    out, _ = ECG_METHODS[method](x2, fs, **options)
    return _back(out, was_1d)
