"""Where a jump record's weighing window and flight are, before any metric is computed.

A real record does not start with the athlete standing still: the plate may be empty
for a while (the athlete steps on after the recording starts), the athlete may step on
and off, and a squat jump often has no quiet standing before the push at all. These
helpers segment the record into loaded and unloaded stretches, find the first flight,
pick the most stable window of ``weighing_s`` on the loaded plate (before the movement,
or else after landing) and measure the flight baseline and its noise, from which the
take-off threshold is set. Private: :mod:`labkit.signal.force_jump` uses them; the
definitions are in ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labkit.errors import SignalError
from labkit.signal import _landmark_kernels as _lk
from labkit.signal._force_common import samples, weighing_window

__all__ = ["Layout", "layout", "layouts"]

#: part of a flight's samples left out at each end when measuring its baseline and noise
_FLIGHT_TRIM = 0.2


@dataclass(frozen=True)
class Layout:
    """Sample positions of one record: weighing window ``[w0, w1)``, onset search start
    ``s0``, first flight ``[fa, fb)`` (-1 when none), take-off threshold and flight level."""

    w0: int
    w1: int
    s0: int
    where: str
    fa: int
    fb: int
    threshold_n: float
    flight_baseline_n: float
    flight_sd_n: float
    band_n: float
    refine: bool


def _runs(mask: np.ndarray) -> np.ndarray:
    """``(start, end)`` rows of the runs of True in ``mask`` (end exclusive)."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.column_stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)])


def _segments(f: np.ndarray, fs: float, kw: dict) -> tuple[int, tuple[int, int] | None, int]:
    """The loaded stretch the athlete takes off from and the first flight.

    Returns ``(p0, flight, p1)``: the stretch before the flight starts at ``p0``; the flight
    is ``(a, b)`` or None; after landing the plate stays loaded until ``p1``.
    """
    hold = max(1, samples("takeoff_hold_s", kw["takeoff_hold_s"], fs))
    longest = samples("max_flight_s", kw["max_flight_s"], fs)
    out = np.empty(4, np.int64)
    _lk.record_segments(f, 0.5 * float(kw["min_body_weight_n"]), hold, longest, out)
    p0, fa, fb, p1 = (int(x) for x in out)
    return p0, ((fa, fb) if fa >= 0 else None), p1


def _best(f: np.ndarray, lo: int, hi: int, w: int, level: float) -> tuple[int, float]:
    """Start and range of the most stable fully loaded window of ``w`` samples in [lo, hi)."""
    out = np.empty(2)
    _lk.stable_window(f, lo, hi, w, level, out)
    i = int(out[0])
    if i < 0:
        return -1, math.inf
    return i, float(f[i : i + w].max() - f[i : i + w].min())


def _weighing(f: np.ndarray, fs: float, kw: dict, p0: int, flight, p1: int) -> tuple[int, int, int, str]:
    """``(w0, w1, s0, where)``: the weighing window, the onset search start, and where."""
    n = f.shape[0]
    if kw["weighing_start_s"] is not None:
        w0, w1 = weighing_window(kw["weighing_start_s"], kw["weighing_s"], fs, n)
        mean = float(f[w0:w1].mean())
        if mean < float(kw["min_body_weight_n"]):
            raise SignalError(
                f"weighing_start_s={kw['weighing_start_s']!r}: the window averages {mean:.0f} N, "
                f"below min_body_weight_n={kw['min_body_weight_n']!r} (an empty plate); pass "
                "weighing_start_s=None to find the quiet standing, or a start on it"
            )
        return w0, w1, w1, "given"
    w = samples("weighing_s", kw["weighing_s"], fs)
    if w < 2:
        raise SignalError(f"weighing_s={kw['weighing_s']!r} gives {w} samples at {fs} Hz; need at least 2")
    level = float(kw["min_body_weight_n"])
    limit = float(kw["max_weighing_range_n"])
    end = flight[0] if flight is not None else n
    i, rng = _best(f, p0, end, w, level)
    if i >= 0 and rng <= limit:
        return i, i + w, i + w, "before"
    j, rng_after = (-1, math.inf) if flight is None else _best(f, flight[1], p1, w, level)
    if j >= 0 and rng_after <= limit:
        return j, j + w, p0, "after"
    best = min(rng, rng_after)
    seen = f"the stillest moved by {best:.0f} N" if math.isfinite(best) else "none is loaded throughout"
    raise SignalError(
        f"no quiet standing: no {kw['weighing_s']} s window on the loaded plate (>= {level:.0f} N) "
        f"moves by <= {limit:.0f} N before take-off or after landing ({seen}); record quiet "
        "standing, shorten weighing_s, or pass weighing_start_s"
    )


def _flight_level(f: np.ndarray, flight) -> tuple[float, float]:
    """Baseline and noise of the flight: median and MAD-based SD (1.4826 MAD) of its
    samples without the edges, robust to what is left of the take-off decline in a short
    (cropped) flight; (0, NaN) without a flight."""
    if flight is None:
        return 0.0, math.nan
    a, b = flight
    n_run = b - a
    trim = round(_FLIGHT_TRIM * n_run)
    seg = f[a + max(1, trim) : b - (trim if b < f.shape[0] else 0)]
    if seg.shape[0] < 3:
        seg = f[a:b]
    out = np.empty(2)
    _lk.median_mad(seg, out)
    return float(out[0]), 1.4826 * float(out[1])


def layout(f: np.ndarray, fs: float, kw: dict) -> Layout:
    """Weighing window, onset search start, flight and take-off threshold of one record.

    Parameters
    ----------
    f : ndarray
        The checked force trace (N).
    fs : float
    kw : dict
        The keyword parameters of :func:`labkit.signal.force.cmj`.

    Returns
    -------
    Layout

    Raises
    ------
    SignalError
        No stable loaded window of ``weighing_s`` before take-off or after landing.
    """
    p0, flight, p1 = _segments(f, fs, kw)
    w0, w1, s0, where = _weighing(f, fs, kw, p0, flight, p1)
    base, sd = _flight_level(f, flight)
    return _finish(f, kw, w0, w1, s0, where, flight, base, sd)


def layouts(F: np.ndarray, lengths: np.ndarray, fs: float, kw: dict) -> list[Layout]:
    """:func:`layout` of every record of a batch (rows of ``F``, ``lengths`` samples each).

    The common case, weighed before the movement, is found for all records at once
    (kernel ``jump_layouts``, parallel over trials); a record without a still loaded
    window before its flight, or a given ``weighing_start_s``, goes through
    :func:`layout` (weighed after landing, or refused with its message).
    """
    n_t = F.shape[0]
    out = np.empty((n_t, 7))
    w = samples("weighing_s", kw["weighing_s"], fs)
    if kw["weighing_start_s"] is None and w >= 2:
        hold = max(1, samples("takeoff_hold_s", kw["takeoff_hold_s"], fs))
        longest = samples("max_flight_s", kw["max_flight_s"], fs)
        level = float(kw["min_body_weight_n"])
        _lk.jump_layouts(F, lengths, 0.5 * level, hold, longest, w, level,
                         float(kw["max_weighing_range_n"]), _FLIGHT_TRIM, out)
    else:
        out[:, 0] = 0.0
    result = []
    for t in range(n_t):
        f = F[t, : lengths[t]]
        try:
            if out[t, 0] != 1.0:
                result.append(layout(f, fs, kw))
                continue
        except SignalError as exc:
            raise SignalError(f"trials[{t}]: {exc}") from None
        fa, fb, w0 = int(out[t, 2]), int(out[t, 3]), int(out[t, 4])
        flight = (fa, fb) if fa >= 0 else None
        result.append(_finish(f, kw, w0, w0 + w, w0 + w, "before", flight, float(out[t, 5]),
                              1.4826 * float(out[t, 6])))  # fmt: skip
    return result


def _finish(f, kw, w0, w1, s0, where, flight, base, sd) -> Layout:
    """The take-off threshold and refinement band from the flight level; the Layout."""
    if kw["takeoff_n"] is None:
        noise = float(kw["takeoff_k"]) * sd if math.isfinite(sd) else 0.0
        thr = base + max(noise, float(kw["takeoff_min_n"]))
    elif kw["takeoff_ref"] == "min":
        thr = float(f.min()) + float(kw["takeoff_n"])
    else:
        thr = float(kw["takeoff_n"])
    fa, fb = flight if flight is not None else (-1, -1)
    band = float(kw["takeoff_refine_k"]) * sd if math.isfinite(sd) else 0.0
    return Layout(w0, w1, s0, where, fa, fb, thr, base, sd, band,
                  bool(kw["takeoff_refine"]) and base + band < thr)  # fmt: skip
