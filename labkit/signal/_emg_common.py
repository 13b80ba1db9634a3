"""Shared helpers of the EMG modules: array shape, units, kernel blocks, provenance."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal import _emg_kernels as _k


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
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SignalError(f"{name}={value!r} must be a positive finite number") from None
    if not math.isfinite(v) or v <= 0:
        raise SignalError(f"{name}={value!r} must be a positive finite number")
    return v


def _samples(name: str, seconds: float, fs: float, minimum: int = 1) -> int:
    """Round a duration in seconds to a sample count at the true rate ``fs``."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        raise SignalError(f"{name}={seconds!r} must be a non-negative duration in seconds") from None
    if not math.isfinite(s) or s < 0:
        raise SignalError(f"{name}={seconds!r} must be a non-negative duration in seconds")
    return max(minimum, round(s * fs))


def _blocks(n_ch: int) -> np.ndarray:
    """Column-block bounds for the row-sweeping kernels: about one block per thread, at
    most ``_k.LANES`` adjacent channels per block."""
    threads = _k.thread_count()
    if n_ch >= threads * _k.LANES:  # enough channels: full-width blocks (fixed-width loops)
        return np.r_[np.arange(0, n_ch, _k.LANES), n_ch].astype(np.int64)
    n_blocks = min(max(threads, -(-n_ch // _k.LANES)), max(n_ch, 1))
    return np.linspace(0, n_ch, n_blocks + 1).round().astype(np.int64)


def _provenance(function: str, params: dict) -> dict:
    return {"function": function, "labkit_version": __version__, **params}
