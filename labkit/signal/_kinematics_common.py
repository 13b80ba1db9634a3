"""Shared pieces of the kinematics modules: joint/side/segment names, input checks,
angle wrapping, the zero-lag low-pass and provenance."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal.filters import butterworth_sos, zero_phase_filter

JOINTS = ("hip", "knee", "ankle")
SIDES = ("l", "r")
SEGMENTS = ("pelvis", "thigh_l", "thigh_r", "shank_l", "shank_r", "foot_l", "foot_r")
ANGLE_COMPONENTS = {
    "hip": ("flexion", "adduction", "internal_rotation"),
    "knee": ("flexion", "adduction", "internal_rotation"),
    "ankle": ("dorsiflexion", "inversion", "internal_rotation"),
    "pelvis": ("anterior_tilt", "obliquity", "rotation"),
}


def _provenance(function: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"function": f"labkit.signal.kinematics.{function}", "labkit_version": __version__,
            **params}


def _check_rot(r: Any, name: str) -> np.ndarray:
    arr = np.asarray(r, dtype=float)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (3, 3):
        raise SignalError(f"{name} has shape {np.shape(r)}; pass rotation matrices of shape (n, 3, 3)")
    return arr


def _check_points(p: Any, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.ndim == 1 and arr.shape == (3,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise SignalError(f"{name} has shape {np.shape(p)}; pass positions of shape (n, 3)")
    if n is not None and arr.shape[0] != n:
        raise SignalError(f"{name} has {arr.shape[0]} frames; expected {n} like the other inputs")
    return arr


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.linalg.norm(v, axis=-1, keepdims=True)
        return np.where(norm > 0, v / norm, np.nan)


def _wrap(x: np.ndarray) -> np.ndarray:
    return (x + np.pi) % (2 * np.pi) - np.pi


def _check_1d(x: Any, name: str, *, allow_nan: bool = True) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1 or arr.size < 3:
        raise SignalError(f"{name} has shape {np.shape(x)}; pass a 1-D array of at least 3 samples")
    if not allow_nan and not np.all(np.isfinite(arr)):
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise SignalError(f"{name}[{i}] is not finite; fill gaps (e.g. interpolate) before this step")
    return arr


def _lowpass_design(fs: float, cutoff_hz: float, order: int = 2) -> tuple[np.ndarray, int]:
    """SOS and padding of kinematics' zero-lag low-pass (:func:`_lowpass`)."""
    if not (0 < cutoff_hz < fs / 2):
        raise SignalError(f"lowpass_hz={cutoff_hz!r} must be within (0, {fs / 2:g}) Hz (Nyquist)")
    # zero-lag: a Butterworth of this order run forwards and backwards (twice the order
    # overall).  The design cutoff is scaled by kinematics' own double-pass factor
    # (2^(1/(2 order)) - 1)^(-1/4), not filters.zero_phase_cutoff: for order 2 the double
    # pass is -1.5 dB at cutoff_hz and -3 dB near 1.22 x cutoff_hz.  Kept, with its
    # padding of 3 (2 n_sections + 1) samples, so that results do not change (the onset
    # tolerances of tests/signal/test_kinematics.py are set for it; the exact -3 dB
    # correction moves extension onsets a few ms earlier).
    c = (2 ** (1 / (2 * order)) - 1) ** -0.25
    wc = min(cutoff_hz * c, 0.499 * fs)
    sos = butterworth_sos(fs, wc, order=order, zero_phase=False)
    return sos, 3 * (2 * sos.shape[0] + 1)


def _lowpass(x: np.ndarray, fs: float, cutoff_hz: float | None, order: int = 2) -> np.ndarray:
    if cutoff_hz is None:
        return x.copy()
    sos, padlen = _lowpass_design(fs, cutoff_hz, order)
    return zero_phase_filter(sos, x, axis=0, padlen=padlen)
