"""Surface EMG: preprocessing, onset/offset timing and amplitude.

Arrays are ``(n_samples,)`` or ``(n_samples, n_channels)`` in volts at any sample rate
``fs_hz`` (1000 to 2148.148... Hz; nothing assumes 1000 Hz).  Windows are given in
seconds (``*_s``) and converted to samples with the actual rate.  NaN marks a dropped
sample: filters run on each finite run separately and keep NaN in the output.

Onset detection (:func:`detect_onsets`) finds bursts with a method from
:data:`ONSET_METHODS` (a registry of callables), debounces them (``min_on_s``,
``min_off_s``) and refines each onset with a changepoint model from
:data:`REFINERS`.  Every result records the parameters that produced it in ``.params``.

Definitions, defaults and references: ``docs/emg.md`` and ``shared/science.md``.

Examples
--------
>>> import numpy as np
>>> from labkit.signal import emg
>>> from labkit.signal.emg_synth import synth_emg
>>> sim = synth_emg(2148.148148148148, 20.0, snr_db=20.0, seed=1)
>>> b = emg.detect_onsets(sim.x, sim.fs_hz)
>>> len(b) == len(sim.onset_s)
True
>>> bool(np.all(np.abs(b.onset_s - sim.onset_s) < 0.025))
True
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal as _sps

from labkit._version import __version__
from labkit.errors import EMGWarning, SignalError
from labkit.signal import _emg_kernels as _k
from labkit.signal._checks import check_fs
from labkit.signal.filters import butterworth_sos, default_padlen, zero_phase_filter

__all__ = [
    "COACTIVATION_METHODS",
    "DEFAULT_METHOD",
    "ECG_METHODS",
    "ONSET_METHODS",
    "REFINERS",
    "Bursts",
    "Coactivation",
    "EMGWarning",
    "MVCReference",
    "Preprocessed",
    "bandpass",
    "butter_sos",
    "coactivation",
    "detect_onsets",
    "envelope",
    "highpass",
    "lowpass",
    "moving_rms",
    "mvc_reference",
    "normalize_mvc",
    "notch",
    "preprocess",
    "rectify",
    "remove_offset",
    "suppress_ecg",
    "tkeo",
    "window_amplitude",
]


# ============================================================================ helpers


def _as_2d(x: Any, name: str = "x") -> tuple[np.ndarray, bool]:
    """Float64 C-contiguous 2-D view or copy of ``x``, and whether it was 1-D."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise SignalError(f"{name} has dtype {arr.dtype}; pass a numeric array of samples")
    if arr.ndim == 1:
        return np.ascontiguousarray(arr, dtype=np.float64).reshape(-1, 1), True
    if arr.ndim == 2:
        return np.ascontiguousarray(arr, dtype=np.float64), False
    raise SignalError(
        f"{name} has shape {arr.shape}; pass (n_samples,) or (n_samples, n_channels)"
    )


def _back(arr: np.ndarray, was_1d: bool) -> np.ndarray:
    return arr[:, 0] if was_1d else arr


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise SignalError(f"{name}={value!r} must be a positive finite number")
    return v


def _samples(name: str, seconds: float, fs: float, minimum: int = 1) -> int:
    """Round a duration in seconds to a sample count at the true rate ``fs``."""
    s = float(seconds)
    if not math.isfinite(s) or s < 0:
        raise SignalError(f"{name}={seconds!r} must be a non-negative duration in seconds")
    return max(minimum, round(s * fs))


# ============================================================================ filters


def butter_sos(
    fs_hz: float,
    *,
    low_hz: float | None = None,
    high_hz: float | None = None,
    order: int = 4,
    zero_phase_cutoff: bool = True,
    max_fraction_nyquist: float = 0.95,
) -> np.ndarray:
    """Second-order sections of a Butterworth high-pass, low-pass or band-pass filter.

    A band-pass is a high-pass edge at ``low_hz`` cascaded with a low-pass edge at
    ``high_hz``, each of order ``order`` (the same edge steepness as
    ``scipy.signal.butter(order, [low, high], 'bandpass')``).

    Parameters
    ----------
    fs_hz : float
        Sample rate in Hz (any value; never assumed to be 1000).
    low_hz, high_hz : float or None
        High-pass edge and low-pass edge in Hz; ``None`` leaves that edge out.
    order : int
        Order of each edge.
    zero_phase_cutoff : bool
        If True (default), the design cutoffs are corrected so that the **zero-phase**
        (forward-backward, squared) response is -3 dB exactly at ``low_hz`` and
        ``high_hz``.  If False, the single-pass design is -3 dB there and the
        zero-phase response is -6 dB there.
    max_fraction_nyquist : float
        ``high_hz`` above this fraction of Nyquist is clamped to it with an
        :class:`EMGWarning`.

    Returns
    -------
    numpy.ndarray
        ``(n_sections, 6)`` SOS array.
    """
    fs = check_fs(fs_hz)
    order = int(order)
    if order < 1:
        raise SignalError(f"order={order!r} must be an integer >= 1")
    nyq = fs / 2.0
    if low_hz is None and high_hz is None:
        raise SignalError("butter_sos needs low_hz, high_hz or both; got neither")
    if high_hz is not None:
        high_hz = _positive("high_hz", high_hz)
        limit = max_fraction_nyquist * nyq
        if high_hz > limit:
            warnings.warn(
                f"high_hz={high_hz:g} is at or above {max_fraction_nyquist:g} x Nyquist "
                f"({nyq:g} Hz at fs_hz={fs:g}); clamped to {limit:g} Hz",
                EMGWarning,
                stacklevel=3,
            )
            high_hz = limit
    if low_hz is not None:
        low_hz = _positive("low_hz", low_hz)
        if low_hz >= max_fraction_nyquist * nyq:
            raise SignalError(
                f"low_hz={low_hz:g} must be below {max_fraction_nyquist:g} x Nyquist "
                f"({nyq:g} Hz at fs_hz={fs:g}); lower it"
            )
    if low_hz is not None and high_hz is not None and low_hz >= high_hz:
        raise SignalError(f"low_hz={low_hz:g} must be below high_hz={high_hz:g}")
    parts = []
    for f, btype in ((low_hz, "highpass"), (high_hz, "lowpass")):
        if f is None:
            continue
        parts.append(butterworth_sos(fs, f, order=order, btype=btype, zero_phase=zero_phase_cutoff))
    return np.ascontiguousarray(np.vstack(parts))


# scipy.signal.sosfiltfilt's default padding, as the numba kernels use it
_padlen = default_padlen


def _blocks(n_ch: int) -> np.ndarray:
    """Column-block bounds for the row-sweeping kernels: about one block per thread, at
    most ``_k.LANES`` adjacent channels per block."""
    threads = _k.thread_count()
    if n_ch >= threads * _k.LANES:  # enough channels: full-width blocks (fixed-width loops)
        return np.r_[np.arange(0, n_ch, _k.LANES), n_ch].astype(np.int64)
    n_blocks = min(max(threads, -(-n_ch // _k.LANES)), max(n_ch, 1))
    return np.linspace(0, n_ch, n_blocks + 1).round().astype(np.int64)


def _filtfilt_gaps(
    x2: np.ndarray, sos: np.ndarray, rectify: bool = False, offset: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Zero-phase filter of ``x2 - offset`` (``|.|`` when ``rectify``) per finite run,
    and the indices of the channels that hold a non-finite sample (NaN gaps)."""
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    zi = np.ascontiguousarray(_sps.sosfilt_zi(sos), dtype=np.float64)
    n, n_ch = x2.shape
    off = (np.zeros(n_ch) if offset is None
           else np.ascontiguousarray(offset, dtype=np.float64).reshape(n_ch))
    out = np.empty_like(x2)
    padlen = _padlen(sos)
    if n >= 2 and n_ch >= 3:  # 1-2 channels: the scalar run kernel is faster than 8 lanes
        bad = np.zeros(n_ch, dtype=np.bool_)
        _k.filtfilt_blocks(x2, off, sos, zi, padlen, rectify, _blocks(n_ch), out, bad)
        cols = np.flatnonzero(bad)
    else:
        cols = np.arange(n_ch)
    if n and cols.size:  # channels with NaN gaps: each finite run on its own
        _k.filtfilt_runs(x2, off, sos, zi, padlen, rectify, cols.astype(np.int64), out)
    return out, cols


def _filtfilt(x2: np.ndarray, sos: np.ndarray, rectify: bool = False) -> np.ndarray:
    return _filtfilt_gaps(x2, sos, rectify)[0]


def bandpass(
    x: Any,
    fs_hz: float,
    *,
    low_hz: float = 20.0,
    high_hz: float = 450.0,
    order: int = 4,
    zero_phase_cutoff: bool = True,
) -> np.ndarray:
    """Zero-phase Butterworth band-pass (second-order sections).

    Parameters
    ----------
    x : array_like
        ``(n_samples,)`` or ``(n_samples, n_channels)``.
    fs_hz : float
        Sample rate in Hz.
    low_hz, high_hz : float
        -3 dB points of the zero-phase response (see ``zero_phase_cutoff``).
        ``high_hz`` above 0.95 x Nyquist is clamped with an :class:`EMGWarning`.
    order : int
        Order of each edge (4: 4th-order high-pass and 4th-order low-pass edge).
    zero_phase_cutoff : bool
        Correct the design for the doubled pass so that -3 dB is exactly at the
        parameters (default True); False gives -6 dB there, like most toolboxes.

    Returns
    -------
    numpy.ndarray
        Filtered copy, same shape.  Each finite run between NaN gaps is filtered
        separately (odd-extension padding as ``scipy.signal.sosfiltfilt``); NaN stays NaN
        and an isolated finite sample becomes NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from labkit.signal import emg
    >>> fs = 2148.148148148148
    >>> t = np.arange(4096) / fs
    >>> y = emg.bandpass(np.sin(2 * np.pi * 100 * t), fs)
    >>> round(float(np.std(y[500:-500]) * np.sqrt(2)), 3)
    1.0
    """
    fs = check_fs(fs_hz)
    x2, was_1d = _as_2d(x)
    sos = butter_sos(
        fs, low_hz=low_hz, high_hz=high_hz, order=order, zero_phase_cutoff=zero_phase_cutoff
    )
    return _back(_filtfilt(x2, sos), was_1d)


def highpass(
    x: Any, fs_hz: float, *, cutoff_hz: float = 30.0, order: int = 4,
    zero_phase_cutoff: bool = True,
) -> np.ndarray:
    """Zero-phase Butterworth high-pass (NaN runs as in :func:`bandpass`)."""
    fs = check_fs(fs_hz)
    x2, was_1d = _as_2d(x)
    sos = butter_sos(fs, low_hz=cutoff_hz, order=order, zero_phase_cutoff=zero_phase_cutoff)
    return _back(_filtfilt(x2, sos), was_1d)


def lowpass(
    x: Any, fs_hz: float, *, cutoff_hz: float = 6.0, order: int = 4,
    zero_phase_cutoff: bool = True,
) -> np.ndarray:
    """Zero-phase Butterworth low-pass (NaN runs as in :func:`bandpass`)."""
    fs = check_fs(fs_hz)
    x2, was_1d = _as_2d(x)
    sos = butter_sos(fs, high_hz=cutoff_hz, order=order, zero_phase_cutoff=zero_phase_cutoff)
    return _back(_filtfilt(x2, sos), was_1d)


def notch(
    x: Any, fs_hz: float, *, freq_hz: float = 50.0, quality: float = 30.0, harmonics: int = 1
) -> np.ndarray:
    """Zero-phase IIR notch at ``freq_hz`` and its first ``harmonics - 1`` multiples
    below Nyquist (``scipy.signal.iirnotch`` with quality factor ``quality``)."""
    fs = check_fs(fs_hz)
    freq_hz = _positive("freq_hz", freq_hz)
    quality = _positive("quality", quality)
    x2, was_1d = _as_2d(x)
    secs = []
    for h in range(1, int(harmonics) + 1):
        f = h * freq_hz
        if f >= 0.95 * fs / 2:
            break
        b, a = _sps.iirnotch(f, quality, fs=fs)
        secs.append(_sps.tf2sos(b, a))
    if not secs:
        raise SignalError(f"freq_hz={freq_hz:g} is above 0.95 x Nyquist at fs_hz={fs:g}")
    return _back(_filtfilt(x2, np.vstack(secs)), was_1d)


def _offsets(x2: np.ndarray, method: str) -> np.ndarray:
    """Per-channel offset (mean or median ignoring NaN; 0 for an all-NaN channel)."""
    funcs = {"mean": np.nanmean, "median": np.nanmedian}
    if method not in funcs:
        raise SignalError(f"method={method!r} is not one of {sorted(funcs)}")
    if method == "mean":
        off = x2.mean(axis=0)  # one pass; nanmean (a masked copy) only when NaN is present
        if np.isfinite(off).all():
            return off
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channel -> NaN offset
        off = funcs[method](x2, axis=0)
    return np.where(np.isfinite(off), off, 0.0)


def remove_offset(x: Any, *, method: str = "mean") -> np.ndarray:
    """Subtract each channel's mean (``method="mean"``) or median, ignoring NaN."""
    x2, was_1d = _as_2d(x)
    return _back(x2 - _offsets(x2, method), was_1d)


def rectify(x: Any) -> np.ndarray:
    """Full-wave rectification ``|x|`` (a new array)."""
    return np.abs(np.asarray(x, dtype=np.float64))


def envelope(
    x: Any,
    fs_hz: float,
    *,
    lowpass_hz: float = 6.0,
    order: int = 4,
    zero_phase_cutoff: bool = True,
) -> np.ndarray:
    """Linear envelope: full-wave rectification then zero-phase Butterworth low-pass.

    ``lowpass_hz`` 6 Hz suits amplitude; 25-50 Hz suits timing.  Pass band-passed EMG.
    """
    fs = check_fs(fs_hz)
    x2, was_1d = _as_2d(x)
    sos = butter_sos(fs, high_hz=lowpass_hz, order=order, zero_phase_cutoff=zero_phase_cutoff)
    return _back(_filtfilt(x2, sos, rectify=True), was_1d)


def moving_rms(x: Any, fs_hz: float, *, window_s: float = 0.1) -> np.ndarray:
    """Centred moving RMS over ``window_s`` seconds (rounded to an odd sample count;
    shorter at the ends; NaN where the window touches a NaN)."""
    fs = check_fs(fs_hz)
    x2, was_1d = _as_2d(x)
    half = _samples("window_s", window_s, fs) // 2
    out = np.empty_like(x2)
    if x2.shape[0]:
        _k.moving_rms(x2, half, out)
    return _back(out, was_1d)


def tkeo(x: Any) -> np.ndarray:
    """Teager-Kaiser energy operator ``x[n]^2 - x[n-1] x[n+1]`` (ends copy neighbours)."""
    x2, was_1d = _as_2d(x)
    if x2.shape[0] < 3:
        raise SignalError(f"x has {x2.shape[0]} samples; TKEO needs at least 3")
    out = np.empty_like(x2)
    _k.tkeo(x2, out)
    return _back(out, was_1d)


# ------------------------------------------------------------------ ECG suppression


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


# ============================================================================ results


def _provenance(function: str, params: dict) -> dict:
    return {"function": function, "labkit_version": __version__, **params}


@dataclass(frozen=True)
class Preprocessed:
    """Output of :func:`preprocess`: band-passed EMG, its linear envelope and params."""

    filtered: np.ndarray
    envelope: np.ndarray
    fs_hz: float
    params: dict = field(default_factory=dict)


def preprocess(
    x: Any,
    fs_hz: float,
    *,
    offset: str | None = "mean",
    low_hz: float = 20.0,
    high_hz: float = 450.0,
    order: int = 4,
    notch_hz: float | None = None,
    ecg: str | None = None,
    envelope_hz: float = 6.0,
    envelope_order: int = 4,
) -> Preprocessed:
    """Standard chain: offset removal, optional notch, band-pass, optional ECG
    suppression, rectification and linear envelope.

    Parameters
    ----------
    x : array_like
        ``(n_samples,)`` or ``(n_samples, n_channels)`` raw EMG.
    fs_hz : float
        Sample rate in Hz.
    offset : {"mean", "median", None}
        Offset removal (None: none).
    low_hz, high_hz, order : float, float, int
        Band-pass (see :func:`bandpass`; -3 dB of the zero-phase response).
    notch_hz : float or None
        Mains notch frequency (50 or 60) or None.
    ecg : {"template", "highpass", None}
        ECG suppression for trunk channels (see :func:`suppress_ecg`; ``"template"``
        is the one that works, docs/emg.md).
    envelope_hz, envelope_order : float, int
        Linear-envelope low-pass (6 Hz for amplitude, 25-50 Hz for timing).

    Returns
    -------
    Preprocessed
        ``.filtered``, ``.envelope`` (same shape as ``x``), ``.fs_hz`` and ``.params``.
    """
    fs = check_fs(fs_hz)
    x2, was_1d = _as_2d(x)
    off = None if offset is None else _offsets(x2, offset)
    y = x2
    if notch_hz is not None:
        y = notch(x2 if off is None else x2 - off, fs, freq_hz=notch_hz)
        off = None
    y, _ = _filtfilt_gaps(
        y, butter_sos(fs, low_hz=low_hz, high_hz=high_hz, order=order), offset=off
    )
    if ecg is not None:
        y = suppress_ecg(y, fs, method=ecg)
    env = envelope(y, fs, lowpass_hz=envelope_hz, order=envelope_order)
    params = _provenance(
        "labkit.signal.emg.preprocess",
        {
            "fs_hz": fs,
            "offset": offset,
            "low_hz": low_hz,
            "high_hz": high_hz,
            "order": order,
            "zero_phase_cutoff": True,
            "notch_hz": notch_hz,
            "ecg": ecg,
            "envelope_hz": envelope_hz,
            "envelope_order": envelope_order,
        },
    )
    return Preprocessed(_back(y, was_1d), _back(env, was_1d), fs, params)


@dataclass(frozen=True)
class Bursts:
    """Bursts of one channel from :func:`detect_onsets`.

    Attributes
    ----------
    onset_s, offset_s : numpy.ndarray
        Seconds from the first sample, sorted, one entry per burst (offset exclusive:
        the first sample back below threshold).
    peak : numpy.ndarray
        Peak moving RMS of the band-passed signal within each burst (input units).
    coarse_onset_s : numpy.ndarray
        Onsets before the changepoint refinement (equal to ``onset_s`` without it).
    params : dict
        Every parameter used, the method name, the resolved baseline and threshold.
    """

    onset_s: np.ndarray
    offset_s: np.ndarray
    peak: np.ndarray
    coarse_onset_s: np.ndarray
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.onset_s.shape[0])

    def to_frame(self):
        """The bursts as a pandas DataFrame (``params`` in ``.attrs``)."""
        import pandas as pd

        df = pd.DataFrame(
            {
                "onset_s": self.onset_s,
                "offset_s": self.offset_s,
                "duration_s": self.offset_s - self.onset_s,
                "peak": self.peak,
                "coarse_onset_s": self.coarse_onset_s,
            }
        )
        df.attrs["params"] = dict(self.params)
        return df


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
    max_after_s: float = 0.03,
    known_baseline: bool = True,
    temperature: float = 0.3,
):
    """Bayesian ramp-then-plateau changepoint: posterior median of the onset (kernel
    ``refine_ramp_posterior``).  ``known_baseline`` uses the baseline variance of the
    long baseline instead of re-estimating it from the short window; ``temperature``
    tempers the likelihood of correlated (band-limited) samples."""
    m = _samples("bin_s", bin_s, fs)
    dt = m / fs
    temperature = _positive("temperature", temperature)
    ramp = np.unique(np.maximum(1, np.round(np.asarray(rise_grid_s) / dt))).astype(np.int64)
    vb = np.ascontiguousarray(base_var if known_baseline else np.zeros_like(base_var),
                              dtype=np.float64)
    out = np.empty(len(lo), dtype=np.int64)
    if len(lo):
        _k.refine_ramp_posterior(filtered, ch, lo, on, hi, m, dt, ramp,
                                 max(2, round(min_pre_s / dt)), round(max_after_s / dt),
                                 vb, temperature, out)
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


def _options_with_defaults(fn: Callable, options: dict, skip: set[str], what: str) -> dict:
    sig = inspect.signature(fn)
    allowed = {
        n: p.default
        for n, p in sig.parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and n not in skip
    }
    unknown = set(options) - set(allowed)
    if unknown:
        raise SignalError(
            f"unknown option(s) {sorted(unknown)} for {what}; allowed: {sorted(allowed)}"
        )
    return {**allowed, **options}


def _baseline_ranges(filtered, fs, baseline_s, baseline_window_s, baseline_tolerance):
    """Per-channel baseline sample ranges ``[(starts, stops), ...]``.

    Automatic: windows of ``baseline_window_s`` on a half-window grid whose band-passed
    power is within ``1 + baseline_tolerance`` of the quietest one.  Using every such
    window (not only the quietest, whose statistics are biased low by the selection)
    keeps the threshold unbiased.
    """
    n, n_ch = filtered.shape
    if baseline_s is None:
        win = _samples("baseline_window_s", baseline_window_s, fs, minimum=4)
        if win > n:
            raise SignalError(
                f"baseline_window_s={baseline_window_s!r} is longer than the signal "
                f"({n / fs:.3f} s); shorten it or pass baseline_s=(start_s, stop_s)"
            )
        step = max(1, win // 2)
        n_w = (n - win) // step + 1
        power = np.empty((n_w, n_ch))
        _k.window_power(filtered, win, step, _blocks(n_ch), power)
        out = []
        for c in range(n_ch):
            p = power[:, c]
            if not np.isfinite(p).any():
                raise SignalError(
                    f"channel {c} has no {baseline_window_s} s window without NaN for the "
                    "baseline; pass baseline_s=(start_s, stop_s) or a shorter "
                    "baseline_window_s"
                )
            keep = np.flatnonzero(p <= np.nanmin(p) * (1.0 + baseline_tolerance))
            out.append((keep * step, keep * step + win))
        return out
    try:
        b0, b1 = (float(v) for v in baseline_s)
    except (TypeError, ValueError):
        raise SignalError(
            f"baseline_s={baseline_s!r} must be (start_s, stop_s) in seconds or None"
        ) from None
    i0, i1 = round(b0 * fs), round(b1 * fs)
    if not (0 <= i0 < i1 <= n) or i1 - i0 < 2:
        raise SignalError(
            f"baseline_s={baseline_s!r} must lie within the signal (0 to {n / fs:.3f} s) "
            "and span at least 2 samples"
        )
    return [(np.array([i0]), np.array([i1])) for _ in range(n_ch)]


def _resolve_refiner(method: str, refine: bool | str) -> str | None:
    """Check ``method`` and turn ``refine`` into a key of :data:`REFINERS` or None."""
    if method not in ONSET_METHODS:
        raise SignalError(f"method={method!r} is not one of {sorted(ONSET_METHODS)}")
    refiner = DEFAULT_REFINER if refine is True else (refine or None)
    if refiner is not None and refiner not in REFINERS:
        raise SignalError(f"refine={refine!r} must be True, False or one of {sorted(REFINERS)}")
    return refiner


def _onset_options(method, refiner, method_options, refine_options) -> tuple[dict, dict]:
    """Options of the method and of the refiner, completed with their defaults."""
    m_opts = _options_with_defaults(
        ONSET_METHODS[method], dict(method_options or {}), {"threshold_sd"}, f"method {method!r}"
    )
    r_opts = (
        _options_with_defaults(REFINERS[refiner], dict(refine_options or {}), set(),
                               f"refiner {refiner!r}")
        if refiner
        else {}
    )
    return m_opts, r_opts


def _offset_threshold(thr: np.ndarray, info: dict, offset_sd: float | None) -> np.ndarray:
    """Per-channel level a burst must fall to to end (hysteresis; ``thr`` without it)."""
    if offset_sd is not None and "baseline_sd" in info:
        return np.minimum(info["baseline_mean"] + float(offset_sd) * info["baseline_sd"], thr)
    return thr  # no hysteresis (or a method whose score has no baseline mean and SD)


def _threshold_runs(score, thr, thr_off, min_on: int, min_off: int):
    """Debounced supra-threshold runs of every channel: ``(channel, start, stop)`` sample
    arrays sorted by channel then start (kernel ``threshold_bursts``)."""
    n, n_ch = score.shape
    cap = n // max(min_on, 1) + 2
    on_idx = np.empty((cap, n_ch), dtype=np.int64)
    off_idx = np.empty((cap, n_ch), dtype=np.int64)
    counts = np.empty(n_ch, dtype=np.int64)
    _k.threshold_bursts(score, thr, thr_off, min_on, min_off, _blocks(n_ch), on_idx, off_idx,
                        counts)
    ch = np.concatenate([np.full(counts[c], c, dtype=np.int64) for c in range(n_ch)])
    on = np.concatenate([on_idx[: counts[c], c] for c in range(n_ch)])
    off = np.concatenate([off_idx[: counts[c], c] for c in range(n_ch)])
    return ch, on, off


def _refine_onsets(filtered, fs, base, ch, on, off, refiner, r_opts, refine_pre_s, refine_post_s):
    """Onsets refined by the changepoint model ``refiner`` in a window around each coarse
    onset (never before the previous burst of the channel, never past its offset); a
    refined onset outside ``[0, offset)`` keeps the coarse one."""
    n = filtered.shape[0]
    pre = _samples("refine_pre_s", refine_pre_s, fs)
    post = _samples("refine_post_s", refine_post_s, fs)
    prev_off = np.zeros_like(off)
    same = np.r_[False, ch[1:] == ch[:-1]]
    prev_off[same] = off[:-1][same[1:]]
    lo = np.maximum(on - pre, prev_off)
    hi = np.minimum(np.minimum(on + post, off), n)
    base_var = _range_stats(filtered, base)[:, 3]
    new = REFINERS[refiner](filtered, fs, ch, lo, on, hi, base_var, **r_opts)
    ok = (new >= 0) & (new < off)
    return np.where(ok, new, on)


def _onset_params(fs, base, thr, thr_off, info, *, method, method_options, refine,
                  refine_options, baseline_s, baseline_window_s, baseline_tolerance,
                  threshold_sd, offset_sd, min_on_s, min_off_s, min_on_samples,
                  min_off_samples, gap_guard_s, refine_pre_s, refine_post_s, low_hz, high_hz,
                  order, offset, notch_hz, ecg, ecg_info, peak_window_s) -> dict:
    """``params`` of a :func:`detect_onsets` result: the arguments and what they resolved to."""
    return _provenance(
        "labkit.signal.emg.detect_onsets",
        {
            "method": method,
            "method_options": method_options,
            "refine": refine,
            "refine_options": refine_options,
            "fs_hz": fs,
            "baseline_s": None if baseline_s is None else tuple(float(v) for v in baseline_s),
            "baseline_window_s": baseline_window_s,
            "baseline_tolerance": baseline_tolerance,
            "baseline_used_s": [
                [(float(a / fs), float(b / fs)) for a, b in zip(lo, hi, strict=True)]
                for lo, hi in base
            ],
            "threshold_sd": threshold_sd,
            "threshold": [float(t) for t in thr],
            "offset_sd": offset_sd,
            "offset_threshold": [float(t) for t in thr_off],
            "min_on_s": min_on_s,
            "min_off_s": min_off_s,
            "min_on_samples": min_on_samples,
            "min_off_samples": min_off_samples,
            "gap_guard_s": gap_guard_s,
            "refine_pre_s": refine_pre_s,
            "refine_post_s": refine_post_s,
            "low_hz": low_hz,
            "high_hz": high_hz,
            "order": order,
            "zero_phase_cutoff": True,
            "offset": offset,
            "notch_hz": notch_hz,
            "ecg": ecg,
            "ecg_info": ecg_info,
            "peak_window_s": peak_window_s,
            "method_info": {k: np.asarray(v).tolist() for k, v in info.items()},
        },
    )


def _bursts_frame(fs, ch, on, off, peak, coarse, channels, n_ch, params):
    """The bursts of 2-D input as a DataFrame, one row per burst."""
    import pandas as pd

    labels = np.asarray(list(channels) if channels is not None else range(n_ch), dtype=object)
    df = pd.DataFrame(
        {
            "channel": labels[ch] if ch.size else np.array([], dtype=object),
            "onset_s": on / fs,
            "offset_s": off / fs,
            "duration_s": (off - on) / fs,
            "peak": peak,
            "coarse_onset_s": coarse / fs,
        }
    )
    df.attrs["params"] = params
    return df


def detect_onsets(
    x: Any,
    fs_hz: float,
    *,
    method: str = DEFAULT_METHOD,
    baseline_s: tuple[float, float] | None = None,
    baseline_window_s: float = 0.5,
    baseline_tolerance: float = 0.25,
    threshold_sd: float = 3.0,
    offset_sd: float | None = 0.0,
    min_on_s: float = 0.040,
    min_off_s: float = 0.050,
    gap_guard_s: float = 0.1,
    refine: bool | str = True,
    refine_pre_s: float = 0.15,
    refine_post_s: float = 0.12,
    low_hz: float = 20.0,
    high_hz: float = 450.0,
    order: int = 4,
    offset: str | None = "mean",
    notch_hz: float | None = None,
    ecg: str | None = None,
    peak_window_s: float = 0.05,
    channels: Sequence[str] | None = None,
    method_options: dict | None = None,
    refine_options: dict | None = None,
) -> Bursts | Any:
    """Detect EMG bursts and their onset and offset times.

    Pipeline: offset removal, optional notch, zero-phase band-pass, optional ECG
    suppression; the ``method`` turns the band-passed signal into a score and a
    threshold from baseline statistics of that same score; supra-threshold runs shorter
    than ``min_on_s`` are dropped and gaps shorter than ``min_off_s`` merged; each onset
    is then refined by a changepoint model fitted around it.

    Parameters
    ----------
    x : array_like
        Raw EMG, ``(n_samples,)`` or ``(n_samples, n_channels)``; NaN = dropped sample
        (a burst never spans a NaN gap).
    fs_hz : float
        Sample rate in Hz (exact; e.g. 2148.148148...).
    method : str
        Key of :data:`ONSET_METHODS`: ``"threshold"`` (Hodges & Bui, envelope),
        ``"tkeo"`` (Solnik), ``"double_threshold"`` (Bonato).
    baseline_s : (float, float) or None
        Baseline window (start, stop) in seconds from the first sample; None finds the
        baseline automatically per channel: every ``baseline_window_s`` window (on a
        half-window grid) whose band-passed power is within ``1 + baseline_tolerance``
        of the quietest window.
    baseline_window_s, baseline_tolerance : float
        Automatic baseline: window length (s) and relative power tolerance.
    threshold_sd : float
        Threshold = baseline mean + ``threshold_sd`` x baseline SD of the score.
    offset_sd : float or None
        Hysteresis: a burst, once started, lasts until the score falls to baseline
        mean + ``offset_sd`` x SD (None: until it falls below the onset threshold).
        Keeps one burst from flickering into many at low SNR.  Methods whose score has
        no baseline mean and SD (``double_threshold``) ignore it.
    min_on_s, min_off_s : float
        Debounce: bursts shorter than ``min_on_s`` are dropped, then gaps shorter than
        ``min_off_s`` are merged.  40 ms (not Hodges & Bui's 25 ms): the 20 Hz envelope
        of pure noise stays above mean + 3 SD for 25-30 ms now and then (its correlation
        time is about 25 ms); see docs/emg.md.
    gap_guard_s : float
        No burst may start or continue within this many seconds of a NaN gap edge (the
        filters restart there and their transients are not muscle activity).
    refine : bool or str
        Changepoint refiner from :data:`REFINERS` (True = ``"posterior"``; False =
        none).
    refine_pre_s, refine_post_s : float
        Refinement window around each coarse onset (never before the previous burst).
    low_hz, high_hz, order, offset, notch_hz, ecg
        Preprocessing, as in :func:`preprocess`.  ``ecg="template"`` on trunk channels
        (obliques, multifidus); the method's options and the beats it found per channel
        are in ``params["ecg_info"]``.
    peak_window_s : float
        Moving-RMS window for ``peak``.
    channels : sequence of str, optional
        Channel labels for 2-D input (default 0, 1, ...).
    method_options, refine_options : dict, optional
        Extra keyword options of the method and the refiner (their defaults are recorded
        in ``params``).

    Returns
    -------
    Bursts or pandas.DataFrame
        1-D input: :class:`Bursts`.  2-D input: a DataFrame with one row per burst
        (``channel, onset_s, offset_s, duration_s, peak, coarse_onset_s``) sorted by
        channel then onset; ``df.attrs["params"]`` holds the parameters.

    Examples
    --------
    >>> from labkit.signal import emg
    >>> from labkit.signal.emg_synth import synth_emg
    >>> sim = synth_emg(1000.0, 15.0, snr_db=30.0, seed=3)
    >>> b = emg.detect_onsets(sim.x, sim.fs_hz)
    >>> b.params["method"], b.params["refine"]
    ('threshold', 'posterior')
    """
    fs = check_fs(fs_hz)
    refiner = _resolve_refiner(method, refine)
    threshold_sd = float(threshold_sd)
    x2, was_1d = _as_2d(x)
    n_ch = x2.shape[1]
    if channels is not None and len(channels) != n_ch:
        raise SignalError(f"channels has {len(channels)} labels for {n_ch} channels")
    m_opts, r_opts = _onset_options(method, refiner, method_options, refine_options)
    min_on = _samples("min_on_s", min_on_s, fs)
    min_off = _samples("min_off_s", min_off_s, fs, minimum=0)

    off = None if offset is None else _offsets(x2, offset)
    y = x2
    if notch_hz is not None:
        y = notch(x2 if off is None else x2 - off, fs, freq_hz=notch_hz)
        off = None
    # offset removal fused into the band-pass kernel (no de-meaned copy of the input)
    filtered, gap_cols = _filtfilt_gaps(
        y, butter_sos(fs, low_hz=low_hz, high_hz=high_hz, order=order), offset=off
    )
    del y
    ecg_info: dict = {}
    if ecg is not None:
        if ecg not in ECG_METHODS:
            raise SignalError(f"ecg={ecg!r} is not one of {sorted(ECG_METHODS)} or None")
        filtered, ecg_info = ECG_METHODS[ecg](filtered, fs)

    base = _baseline_ranges(filtered, fs, baseline_s, baseline_window_s, baseline_tolerance)
    score, thr, info = ONSET_METHODS[method](
        filtered, fs, base, threshold_sd=threshold_sd, **m_opts
    )
    guard = _samples("gap_guard_s", gap_guard_s, fs, minimum=0)
    if guard and gap_cols.size:  # only channels with NaN gaps have gap edges
        _k.mask_gap_edges(filtered, guard, gap_cols.astype(np.int64), score)
    thr = np.ascontiguousarray(thr, dtype=np.float64)
    thr_off = _offset_threshold(thr, info, offset_sd)
    ch, on, off = _threshold_runs(score, thr, thr_off, min_on, min_off)
    del score
    coarse = on.copy()
    if refiner is not None and on.size:
        on = _refine_onsets(filtered, fs, base, ch, on, off, refiner, r_opts, refine_pre_s,
                            refine_post_s)
    peak = np.empty(on.size)
    if on.size:
        _k.burst_peak_rms(filtered, ch, on, off, _samples("peak_window_s", peak_window_s, fs),
                          peak)

    params = _onset_params(
        fs, base, thr, thr_off, info, method=method, method_options=m_opts, refine=refiner,
        refine_options=r_opts, baseline_s=baseline_s, baseline_window_s=baseline_window_s,
        baseline_tolerance=baseline_tolerance, threshold_sd=threshold_sd, offset_sd=offset_sd,
        min_on_s=min_on_s, min_off_s=min_off_s, min_on_samples=min_on, min_off_samples=min_off,
        gap_guard_s=gap_guard_s, refine_pre_s=refine_pre_s, refine_post_s=refine_post_s,
        low_hz=low_hz, high_hz=high_hz, order=order, offset=offset, notch_hz=notch_hz, ecg=ecg,
        ecg_info=ecg_info, peak_window_s=peak_window_s,
    )
    if was_1d:
        return Bursts(on / fs, off / fs, peak, coarse / fs, params)
    return _bursts_frame(fs, ch, on, off, peak, coarse, channels, n_ch, params)


# ========================================================================== amplitude


@dataclass(frozen=True)
class MVCReference:
    """Per-channel MVC reference amplitude (peak moving RMS) with its parameters."""

    value: np.ndarray
    params: dict = field(default_factory=dict)


def mvc_reference(
    trials: Any | Sequence[Any],
    fs_hz: float,
    *,
    window_s: float = 0.5,
    filtered: bool = False,
    low_hz: float = 20.0,
    high_hz: float = 450.0,
    order: int = 4,
) -> MVCReference:
    """MVC reference: the peak of a centred ``window_s`` moving RMS over all trials.

    Parameters
    ----------
    trials : array_like or sequence of array_like
        One MVC trial or several, each ``(n_samples,)`` or ``(n_samples, n_channels)``.
    fs_hz : float
        Sample rate in Hz.
    window_s : float
        Moving-RMS window (250-500 ms is usual).
    filtered : bool
        True if the trials are already band-passed; otherwise offset removal and the
        band-pass (``low_hz``, ``high_hz``, ``order``) are applied first.
    """
    fs = check_fs(fs_hz)
    if isinstance(trials, np.ndarray) or (
        isinstance(trials, Sequence) and trials and np.isscalar(trials[0])
    ):
        trials = [trials]
    peaks = []
    for tr in trials:
        t2, was_1d = _as_2d(tr, "trials")
        if not filtered:
            t2 = bandpass(remove_offset(t2), fs, low_hz=low_hz, high_hz=high_hz, order=order)
        r = moving_rms(t2, fs, window_s=window_s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            peaks.append(np.nanmax(r, axis=0))
    shapes = {p.shape for p in peaks}
    if len(shapes) != 1:
        raise SignalError(f"MVC trials have different channel counts {sorted(shapes)}")
    value = np.nanmax(np.vstack(peaks), axis=0)
    params = _provenance(
        "labkit.signal.emg.mvc_reference",
        {"fs_hz": fs, "window_s": window_s, "filtered": filtered, "low_hz": low_hz,
         "high_hz": high_hz, "order": order, "n_trials": len(peaks)},
    )
    return MVCReference(value[0] if was_1d else value, params)


def normalize_mvc(x: Any, mvc: MVCReference | Any) -> np.ndarray:
    """Amplitude (envelope or RMS) as % of the MVC reference, per channel."""
    ref = np.asarray(mvc.value if isinstance(mvc, MVCReference) else mvc, dtype=np.float64)
    if np.any(~np.isfinite(ref)) or np.any(ref <= 0):
        raise SignalError(f"mvc={ref!r} must be positive and finite for every channel")
    return 100.0 * np.asarray(x, dtype=np.float64) / ref


def window_amplitude(
    amplitude: Any,
    fs_hz: float,
    windows_s: Sequence[tuple[float, float]],
    *,
    channels: Sequence[str] | None = None,
):
    """Mean, peak and integrated amplitude (trapezoid, units x s) over windows.

    Pass a rectified/enveloped/RMS signal (or %MVC).  Returns a DataFrame with one row
    per window and channel: ``window, channel, start_s, stop_s, mean, peak, integral``;
    parameters in ``.attrs["params"]``.
    """
    import pandas as pd

    fs = check_fs(fs_hz)
    a2, _ = _as_2d(amplitude, "amplitude")
    n, n_ch = a2.shape
    w = np.asarray(windows_s, dtype=np.float64).reshape(-1, 2)
    start = np.round(w[:, 0] * fs).astype(np.int64)
    stop = np.round(w[:, 1] * fs).astype(np.int64) + 1  # inclusive end sample
    bad = (start < 0) | (stop > n) | (stop - start < 2)
    if np.any(bad):
        raise SignalError(
            f"windows_s {w[bad].tolist()} fall outside the signal (0 to {(n - 1) / fs:.3f} s) "
            "or span fewer than 2 samples"
        )
    mean = np.empty((len(w), n_ch))
    peak = np.empty((len(w), n_ch))
    integ = np.empty((len(w), n_ch))
    _k.window_stats(a2, start, stop, 1.0 / fs, mean, peak, integ)
    labels = list(channels) if channels is not None else list(range(n_ch))
    df = pd.DataFrame(
        {
            "window": np.repeat(np.arange(len(w)), n_ch),
            "channel": labels * len(w),
            "start_s": np.repeat(w[:, 0], n_ch),
            "stop_s": np.repeat(w[:, 1], n_ch),
            "mean": mean.ravel(),
            "peak": peak.ravel(),
            "integral": integ.ravel(),
        }
    )
    df.attrs["params"] = _provenance(
        "labkit.signal.emg.window_amplitude", {"fs_hz": fs, "windows_s": w.tolist()}
    )
    return df


@dataclass(frozen=True)
class Coactivation:
    """Co-activation index of two channels (percent) with its parameters."""

    value: float
    params: dict = field(default_factory=dict)


def _cci_winter(a, b):
    """Winter (2009): 2 * sum(min(a, b)) / sum(a + b) * 100."""
    return 200.0 * np.sum(np.minimum(a, b)) / np.sum(a + b)


def _cci_falconer(a, b):
    """Falconer & Winter (1985): common area over total area, percent."""
    return 100.0 * np.sum(np.minimum(a, b)) / np.sum(np.maximum(a, b))


#: Co-activation indices: name -> callable(a, b) on finite, non-negative amplitudes.
COACTIVATION_METHODS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "winter": _cci_winter,
    "falconer": _cci_falconer,
}


def coactivation(a: Any, b: Any, *, method: str = "winter") -> Coactivation:
    """Co-activation index between two amplitude signals of equal length.

    Pass envelopes normalised to %MVC so that the channels are comparable.  Samples
    where either is NaN are ignored.  ``method="winter"``: 2 x overlap / sum x 100;
    ``"falconer"``: overlap / union x 100.  Both are 100 for identical signals and 0
    when one channel is silent.
    """
    if method not in COACTIVATION_METHODS:
        raise SignalError(f"method={method!r} is not one of {sorted(COACTIVATION_METHODS)}")
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise SignalError(f"a has {a.size} samples and b {b.size}; pass equal lengths")
    ok = np.isfinite(a) & np.isfinite(b)
    if np.any((a[ok] < 0) | (b[ok] < 0)):
        raise SignalError("a and b must be non-negative amplitudes (envelopes, RMS, %MVC)")
    value = float(COACTIVATION_METHODS[method](a[ok], b[ok])) if ok.any() else float("nan")
    return Coactivation(
        value,
        _provenance("labkit.signal.emg.coactivation", {"method": method, "n_samples": int(ok.sum())}),
    )
