"""EMG filters: Butterworth design and zero-phase band-, high- and low-pass, notch,
offset removal, rectification, linear envelope, moving RMS and TKEO.

Part of :mod:`labkit.signal.emg` (import the names from there).  Arrays are
``(n_samples,)`` or ``(n_samples, n_channels)``; NaN marks a dropped sample and every
filter runs on each finite run separately (numba kernels in ``_emg_kernels``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import signal as _sps

from labkit.errors import EMGWarning, SignalError
from labkit.signal import _emg_kernels as _k
from labkit.signal._checks import check_fs
from labkit.signal._emg_common import _as_2d, _back, _blocks, _positive, _samples
from labkit.signal.filters import butterworth_sos, default_padlen

__all__ = [
    "bandpass",
    "butter_sos",
    "envelope",
    "group_delay_s",
    "highpass",
    "lowpass",
    "moving_rms",
    "notch",
    "rectify",
    "remove_offset",
    "tkeo",
]


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


def group_delay_s(sos: Any, fs_hz: float, freq_hz: float) -> float:
    """Group delay (s) of the forward (causal) filter ``sos`` at ``freq_hz``.

    The envelope of a narrow-band signal at ``freq_hz`` comes out of the filter that
    much later; e.g. the 4th-order 20-450 Hz band-pass at 80 Hz (the dominant frequency
    of surface EMG): 1.6 ms at 1000 Hz, 2.1 ms at 2148.148 Hz.
    """
    fs = check_fs(fs_hz)
    f = _positive("freq_hz", freq_hz)
    if f >= fs / 2:
        raise SignalError(f"freq_hz={freq_hz!r} must be below Nyquist ({fs / 2:g} Hz)")
    b, a = _sps.sos2tf(np.asarray(sos, dtype=np.float64))
    _, gd = _sps.group_delay((b, a), w=[f], fs=fs)
    return float(gd[0]) / fs


def _causal_gaps(x2: np.ndarray, sos: np.ndarray, offset: np.ndarray | None = None,
                 gap_cols: np.ndarray | None = None) -> np.ndarray:
    """Forward-only (causal) filter of ``x2 - offset`` per finite run, each run started
    in the steady state of its first sample (``sosfilt_zi``); NaN stays NaN.

    Nothing of a sample reaches the output before it: unlike the zero-phase filter, no
    energy of a burst appears before its onset.  ``gap_cols``: the channels holding a
    non-finite sample (the others are filtered whole).
    """
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    zi = _sps.sosfilt_zi(sos)
    n, n_ch = x2.shape
    y = x2 if offset is None else x2 - np.asarray(offset, dtype=np.float64).reshape(n_ch)
    gaps = set(() if gap_cols is None else np.asarray(gap_cols).tolist())
    if not n:
        return np.full((n, n_ch), np.nan)
    if not gaps:  # the common case: every channel whole, one call, no copies
        return _sps.sosfilt(sos, y, axis=0, zi=zi[:, :, None] * y[0][None, None, :])[0]
    out = np.full((n, n_ch), np.nan)
    whole = [c for c in range(n_ch) if c not in gaps]
    if whole:
        cols = y[:, whole]
        z0 = zi[:, :, None] * cols[0][None, None, :]
        out[:, whole] = _sps.sosfilt(sos, cols, axis=0, zi=z0)[0]
    for c in sorted(gaps):
        fin = np.isfinite(y[:, c])
        edges = np.flatnonzero(np.diff(np.r_[0, fin.astype(np.int8), 0]))
        for a, b in zip(edges[0::2], edges[1::2], strict=True):
            if b - a >= 2:
                out[a:b, c] = _sps.sosfilt(sos, y[a:b, c], zi=zi * y[a, c])[0]
    return out


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
