"""Zero-phase Butterworth filtering shared by the signal cores (and the C3D exporter).

One design rule and one apply rule, so that EMG, kinematics and the C3D exporter's
anti-alias filter cannot drift apart:

* :func:`butterworth_sos`: second-order sections of one Butterworth edge (low-pass or
  high-pass).  By default the design cutoff is corrected for the forward-backward pass
  (:func:`zero_phase_cutoff`) so that the **zero-phase** response is -3 dB exactly at the
  requested frequency; ``zero_phase=False`` designs the single pass as given (its
  zero-phase response is then -6 dB there).
* :func:`zero_phase_filter`: ``scipy.signal.sosfiltfilt`` with scipy's default odd
  padding (:func:`default_padlen`, or a given length), shortened for signals shorter
  than it.

scipy is imported on first use, so importing this module stays light.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from labkit.errors import SignalError

__all__ = ["butterworth_sos", "default_padlen", "zero_phase_cutoff", "zero_phase_filter"]

_BTYPES = ("lowpass", "highpass")


def zero_phase_cutoff(f_hz: float, fs_hz: float, order: int, btype: str = "lowpass") -> float:
    """Design cutoff whose zero-phase (forward-backward) response is -3 dB at ``f_hz``.

    A digital Butterworth filter of order n has
    ``|H|^2 = 1 / (1 + (tan(pi f / fs) / tan(pi fc / fs))^(2n))`` (low-pass; the ratio
    inverted for high-pass).  Filtering twice squares it, so -3 dB of the zero-phase
    response needs ``(tan ratio)^(2n) = sqrt(2) - 1``.  This is Winter's (2009)
    correction ``C = (2^(1/passes) - 1)^(1/(2n))`` for two passes, applied to the
    pre-warped frequency ``tan(pi f / fs)``, so it is exact for the digital filter.

    Parameters
    ----------
    f_hz : float
        Wanted -3 dB point of the zero-phase response, in Hz (below Nyquist).
    fs_hz : float
        Sample rate in Hz.
    order : int
        Order of the single pass.
    btype : {"lowpass", "highpass"}
        Edge type (a low-pass cutoff moves up, a high-pass cutoff down).

    Returns
    -------
    float
        The cutoff to pass to ``scipy.signal.butter`` (Hz).
    """
    k = (math.sqrt(2.0) - 1.0) ** (1.0 / (2 * order))
    w = math.tan(math.pi * f_hz / fs_hz)
    w_c = w / k if btype == "lowpass" else w * k
    return math.atan(w_c) * fs_hz / math.pi


def butterworth_sos(
    fs_hz: float,
    cutoff_hz: float,
    *,
    order: int,
    btype: str = "lowpass",
    zero_phase: bool = True,
) -> np.ndarray:
    """Second-order sections of one Butterworth edge, for :func:`zero_phase_filter`.

    Parameters
    ----------
    fs_hz : float
        Sample rate in Hz (the caller has checked it).
    cutoff_hz : float
        -3 dB point of the zero-phase response when ``zero_phase`` (default), else of
        the single pass; in Hz, below Nyquist.
    order : int
        Order of the single pass (the forward-backward filter has twice the order).
    btype : {"lowpass", "highpass"}
        Edge type.
    zero_phase : bool
        Correct the design cutoff for the double pass (:func:`zero_phase_cutoff`).

    Returns
    -------
    numpy.ndarray
        ``(n_sections, 6)`` SOS array.
    """
    if btype not in _BTYPES:
        raise SignalError(f"btype={btype!r} must be one of {_BTYPES}")
    fc = zero_phase_cutoff(cutoff_hz, fs_hz, order, btype) if zero_phase else cutoff_hz
    return _butter_sos(int(order), float(fc), btype, float(fs_hz)).copy()


@functools.lru_cache(maxsize=64)
def _butter_sos(order: int, fc: float, btype: str, fs: float) -> np.ndarray:
    # A design costs about 0.4 ms (scipy's zpk2sos), as much as filtering a jump's joint
    # angles; every trial of a session asks for the same few, so they are kept.
    from scipy import signal as sps

    return sps.butter(order, fc, btype=btype, fs=fs, output="sos")


def default_padlen(sos: np.ndarray) -> int:
    """``scipy.signal.sosfiltfilt``'s default padding length for ``sos`` (samples)."""
    n_sec = sos.shape[0]
    z = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * n_sec + 1 - z)


def zero_phase_filter(
    sos: np.ndarray, x: Any, *, axis: int = 0, padlen: int | None = None
) -> np.ndarray:
    """Forward-backward filter of ``x`` along ``axis`` (``scipy.signal.sosfiltfilt``).

    Odd-extension padding of ``padlen`` samples (None: scipy's default,
    :func:`default_padlen`), shortened to ``n - 1`` for a signal of ``n`` samples, so
    short records are filtered instead of rejected.  No NaN handling: pass finite runs.
    """
    from scipy import signal as sps

    x = np.asarray(x)
    pad = default_padlen(sos) if padlen is None else int(padlen)
    return sps.sosfiltfilt(sos, x, axis=axis, padlen=min(pad, x.shape[axis] - 1))
