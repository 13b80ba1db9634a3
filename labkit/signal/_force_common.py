"""Checks and small helpers shared by the force analysis stages.

:mod:`labkit.signal.force_isometric` and :mod:`labkit.signal.force_jump` validate their
input and options with these, so a bad trace or option gets the same message whichever
analysis it is passed to. Private: the public API is :mod:`labkit.signal.force`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from labkit.errors import SignalError

__all__ = [
    "G_STANDARD",
    "check_trace",
    "epochs",
    "flags_tuple",
    "keyword_defaults",
    "ms_key",
    "pack_trials",
    "positive",
    "samples",
    "snap_samples",
    "weighing_window",
]

G_STANDARD = 9.80665


def check_trace(f_n, name: str = "f_n") -> np.ndarray:
    """``f_n`` as a contiguous 1-D float64 array, or a SignalError naming the problem."""
    a = np.asarray(f_n)
    if a.ndim != 1:
        raise SignalError(f"{name} has shape {a.shape}; expected a 1-D force trace (N)")
    if a.dtype.kind not in "fiu":
        raise SignalError(f"{name} has dtype {a.dtype}; expected real numbers (N)")
    a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argmax(bad))
        raise SignalError(
            f"{name} has {int(bad.sum())} NaN/inf samples (first at index {i}); dropped "
            "samples must be filled or the trial cut before analysis"
        )
    return a


def positive(name: str, value, *, allow_zero: bool = False) -> float:
    """``value`` as a positive (or, with ``allow_zero``, non-negative) finite float."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SignalError(f"{name}={value!r} is not a number") from None
    ok = x >= 0 if allow_zero else x > 0
    if not (math.isfinite(x) and ok):
        need = "non-negative" if allow_zero else "positive"
        raise SignalError(f"{name}={value!r} must be a {need} finite number")
    return x


def samples(name: str, seconds: float, fs: float, *, minimum: int = 0) -> int:
    """A non-negative duration in seconds as a whole number of samples (at least ``minimum``)."""
    n = round(positive(name, seconds, allow_zero=True) * fs)
    return max(n, minimum)


def weighing_window(weighing_start_s, weighing_s, fs, n) -> tuple[int, int]:
    """Sample bounds ``[w0, w1)`` of the weighing window, which must end inside the trace."""
    w0 = samples("weighing_start_s", weighing_start_s, fs)
    w1 = w0 + samples("weighing_s", weighing_s, fs)
    if w1 - w0 < 2:
        raise SignalError(
            f"weighing_s={weighing_s!r} gives {w1 - w0} samples at {fs} Hz; need at least 2"
        )
    if w1 >= n:
        raise SignalError(
            f"weighing window ends at sample {w1} but the trace has {n} samples; shorten "
            "weighing_s or weighing_start_s, or pass a longer trial"
        )
    return w0, w1


def snap_samples(ms: Sequence[float], fs: float) -> np.ndarray:
    """Fractional sample positions of times in ms, snapped to whole samples within 1e-9.

    ``ms * fs / 1000`` can land a rounding error away from a whole sample (a rate given
    as ``1 / dt``, say); snapping keeps an epoch that falls on a sample from being
    interpolated between two.
    """
    smp = np.array([e * fs / 1000.0 for e in ms])
    near = np.round(smp)
    return np.where(np.abs(smp - near) < 1e-9 * np.maximum(1.0, near), near, smp)


def epochs(name: str, epochs_ms, fs: float) -> tuple[tuple[float, ...], np.ndarray]:
    """Epochs as positive milliseconds and as (snapped) fractional sample positions."""
    try:
        ms = tuple(float(e) for e in epochs_ms)
    except TypeError:
        raise SignalError(f"{name}={epochs_ms!r} must be a sequence of milliseconds") from None
    if not ms or any(not (math.isfinite(e) and e > 0) for e in ms):
        raise SignalError(f"{name}={epochs_ms!r} must be non-empty positive milliseconds")
    return ms, snap_samples(ms, fs)


def flags_tuple(names: Sequence[str], mask_rows: np.ndarray) -> list[tuple[str, ...]]:
    """Per row of a boolean (n_trials, n_flags) mask, the names of the flags that are set."""
    return [tuple(n for n, on in zip(names, row, strict=True) if on) for row in mask_rows]


def ms_key(ms: float) -> str:
    """Milliseconds as a column-name fragment: ``100`` -> ``"100"``, ``12.5`` -> ``"12p5"``."""
    return f"{ms:g}".replace(".", "p")


def pack_trials(trials) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D array (one trial per row) or a list of 1-D traces -> padded 2-D + lengths."""
    if isinstance(trials, np.ndarray) and trials.ndim == 2:
        F = np.ascontiguousarray(trials, dtype=np.float64)
        if not np.isfinite(F.sum()):  # fast path: a finite sum means every sample is finite
            bad = ~np.isfinite(F)
            if bad.any():
                t, i = np.argwhere(bad)[0]
                raise SignalError(
                    f"trials has {int(bad.sum())} NaN/inf samples (first: trial {t}, index "
                    f"{i}); fill or cut dropped samples before analysis"
                )
        return F, np.full(F.shape[0], F.shape[1], dtype=np.int64)
    seqs = [check_trace(tr, f"trials[{i}]") for i, tr in enumerate(trials)]
    if not seqs:
        raise SignalError("trials is empty; pass a 2-D array or a list of 1-D traces")
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    F = np.zeros((len(seqs), int(lengths.max())))
    for i, s in enumerate(seqs):
        F[i, : s.shape[0]] = s
    return F, lengths


def keyword_defaults(fn: Callable[..., Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword-only parameters of ``fn`` with their defaults, ``overrides`` applied.

    Read from the signature so that the defaults are written once, in the public
    function; an unknown name raises the TypeError the call itself would raise.
    """
    names = {p.name: p.default for p in inspect.signature(fn).parameters.values()
             if p.kind is p.KEYWORD_ONLY}  # fmt: skip
    for name in overrides:
        if name not in names:
            raise TypeError(f"{fn.__name__}() got an unexpected keyword argument {name!r}")
    return {**names, **overrides}
