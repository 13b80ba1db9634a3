"""EMG amplitude: MVC reference and %MVC, window amplitude, co-activation indices.

Part of :mod:`labkit.signal.emg` (import the names from there).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import SignalError
from labkit.signal import _emg_kernels as _k
from labkit.signal._checks import check_fs
from labkit.signal._emg_common import _as_2d, _provenance
from labkit.signal.emg_filters import bandpass, moving_rms, remove_offset

__all__ = [
    "COACTIVATION_METHODS",
    "Coactivation",
    "MVCReference",
    "coactivation",
    "mvc_reference",
    "normalize_mvc",
    "window_amplitude",
]


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
