"""Offline clock synchronisation of LSL time stamps (pure functions on numpy arrays).

Every stream stores its raw source time stamps (sender clock) and, every few seconds,
clock-offset measurements ``(collection_time, offset, rtt)`` where ``offset`` is
receiver minus sender clock. Offline we

1. fit ``offset = a + b * t_sender`` robustly (Huber IRLS) per clock segment, splitting
   the offset series where it jumps by more than ``reset_threshold_s`` and stays there
   (a clock reset, e.g. a rebooted device);
2. dejitter regular streams by a least-squares line of time against sample index per
   segment, splitting at gaps and resets (with a sample counter, gaps are placed exactly);
3. map each sample to the session clock: ``t + a + b * t`` with the segment it belongs to.

Stamps on another clock than the offsets (a device that stamps in Unix time, ~1.7e9 s,
while the offsets were measured on the LSL clock, ~1e5 s) are kept on their own clock
(:func:`foreign_clock_gap_s`): a drift line extrapolated across such a distance would move
each stream by minutes.

The raw stamps are never changed; these functions return new arrays.
See ``docs/science.md`` (Time synchronisation) and ``docs/session-format.md``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import SignalError

__all__ = [
    "ClockModel",
    "ClockSegment",
    "dejitter",
    "fit_clock_offsets",
    "foreign_clock_gap_s",
    "split_segments",
    "synchronize",
]

_MAD_TO_SD = 1.4826
#: Stamps farther from the offsets' span than this many times the longer of the two spans
#: (and of ``_FOREIGN_CLOCK_MIN_SPAN_S``) are on another clock.
FOREIGN_CLOCK_FACTOR = 10.0
_FOREIGN_CLOCK_MIN_SPAN_S = 60.0


@dataclass(frozen=True)
class ClockSegment:
    """A linear clock model valid between two clock resets.

    ``offset(t) = intercept_s + slope * t`` for a sender time ``t`` in seconds.
    ``start_s``/``end_s`` are the sender times its measurements span.
    """

    start_s: float
    end_s: float
    intercept_s: float
    slope: float
    n_measurements: int
    residual_sd_s: float

    def offset_at(self, sender_times_s: np.ndarray) -> np.ndarray:
        return self.intercept_s + self.slope * np.asarray(sender_times_s, dtype=np.float64)


@dataclass(frozen=True)
class ClockModel:
    """Piecewise-linear model of receiver minus sender clock."""

    segments: tuple[ClockSegment, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def assign(self, sender_times_s: np.ndarray, boundaries: list[tuple[int, int]]) -> np.ndarray:
        """Index of the clock segment for each run of samples ``[start, stop)``.

        Runs are taken in order and never assigned to an earlier segment than the run
        before them; each goes to the segment whose measured sender-time span is nearest
        to the run's midpoint.
        """
        k_min = 0
        out = np.zeros(len(boundaries), dtype=np.int64)
        lo = np.array([s.start_s for s in self.segments])
        hi = np.array([s.end_s for s in self.segments])
        for i, (start, stop) in enumerate(boundaries):
            mid = 0.5 * (sender_times_s[start] + sender_times_s[stop - 1])
            distance = np.maximum(lo - mid, 0.0) + np.maximum(mid - hi, 0.0)
            k = k_min + int(np.argmin(distance[k_min:]))
            out[i] = k
            k_min = k
        return out


def _huber_line(x: np.ndarray, y: np.ndarray, k: float, max_iter: int) -> tuple[float, float, float]:
    """Robust straight line ``y = a + b x`` by iteratively reweighted least squares."""
    if len(x) == 1:
        return float(y[0]), 0.0, 0.0
    x0 = float(np.mean(x))
    xc = x - x0
    w = np.ones_like(y)
    a = b = 0.0
    scale = 0.0
    for _ in range(max_iter):
        sw = w.sum()
        xm = (w * xc).sum() / sw
        ym = (w * y).sum() / sw
        sxx = (w * (xc - xm) ** 2).sum()
        b_new = (w * (xc - xm) * (y - ym)).sum() / sxx if sxx > 0 else 0.0
        a_new = ym - b_new * xm
        r = y - (a_new + b_new * xc)
        scale = _MAD_TO_SD * float(np.median(np.abs(r - np.median(r))))
        converged = abs(a_new - a) < 1e-12 and abs(b_new - b) < 1e-15
        a, b = a_new, b_new
        if scale <= 0 or converged:
            break
        u = np.abs(r) / (k * scale)
        w = np.where(u <= 1.0, 1.0, 1.0 / np.maximum(u, 1e-300))
    return a - b * x0, b, scale


def _level_breaks(values: np.ndarray, threshold: float, *, persist: int = 3) -> np.ndarray:
    """Indices i where a lasting step of more than ``threshold`` starts at ``values[i]``.

    A lone outlier is not a step: the medians of up to ``persist`` values on each side
    must differ by more than the threshold too.
    """
    if len(values) < 2:
        return np.zeros(0, dtype=np.int64)
    candidates = np.flatnonzero(np.abs(np.diff(values)) > threshold) + 1
    breaks = []
    for i in candidates:
        before = np.median(values[max(0, i - persist) : i])
        after = np.median(values[i : i + persist])
        if abs(after - before) > threshold:
            breaks.append(i)
    return np.asarray(breaks, dtype=np.int64)


def fit_clock_offsets(
    collection_times_s: Any,
    offsets_s: Any,
    rtt_s: Any = None,
    *,
    reset_threshold_s: float = 0.1,
    huber_k: float = 1.345,
    max_rtt_factor: float = 10.0,
    max_iter: int = 50,
) -> ClockModel:
    """Fit a piecewise-linear clock model to clock-offset measurements.

    Parameters
    ----------
    collection_times_s : array_like
        When each offset was measured, on the receiver (session) clock.
    offsets_s : array_like
        Receiver minus sender clock at that moment.
    rtt_s : array_like, optional
        Round-trip time of each measurement. Measurements whose RTT exceeds
        ``max_rtt_factor`` times the median RTT are discarded (their offsets are
        unreliable by up to half the RTT).
    reset_threshold_s : float
        A lasting jump in the offset larger than this starts a new segment.
    huber_k : float
        Huber tuning constant in robust standard deviations.
    max_rtt_factor : float
        See ``rtt_s``.
    max_iter : int
        IRLS iterations.

    Returns
    -------
    ClockModel
        Segments with ``offset = intercept_s + slope * t_sender``; no segments when there
        are no measurements (the stream's stamps are then already on the session clock).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0.0, 60.0, 5.0)
    >>> m = fit_clock_offsets(t, 2.5 + 1e-4 * t)

    The model is in sender time ``t - offset``, so the intercept is 2.5 s + 1e-4 * 2.5 s:

    >>> float(round(m.segments[0].intercept_s, 6)), float(round(m.segments[0].slope, 8))
    (2.50025, 0.00010001)
    """
    c = np.asarray(collection_times_s, dtype=np.float64).reshape(-1)
    o = np.asarray(offsets_s, dtype=np.float64).reshape(-1)
    if c.shape != o.shape:
        raise SignalError(
            f"collection_times_s has {c.size} values but offsets_s has {o.size}: pass one "
            "offset per collection time"
        )
    keep = np.isfinite(c) & np.isfinite(o)
    if rtt_s is not None:
        r = np.asarray(rtt_s, dtype=np.float64).reshape(-1)
        if r.shape != c.shape:
            raise SignalError(f"rtt_s has {r.size} values, expected {c.size}")
        finite = np.isfinite(r)
        if finite.any():
            limit = max_rtt_factor * float(np.median(r[finite]))
            keep &= ~finite | (r <= limit) | (limit <= 0)
    c, o = c[keep], o[keep]
    order = np.argsort(c, kind="stable")
    c, o = c[order], o[order]
    params = {
        "method": "huber_irls_piecewise_linear",
        "reset_threshold_s": reset_threshold_s,
        "huber_k": huber_k,
        "max_rtt_factor": max_rtt_factor,
        "max_iter": max_iter,
        "n_measurements_used": len(c),
    }
    if len(c) == 0:
        return ClockModel((), params)
    sender = c - o
    edges = [0, *_level_breaks(o, reset_threshold_s).tolist(), len(c)]
    segments = []
    for start, stop in itertools.pairwise(edges):
        x, y = sender[start:stop], o[start:stop]
        a, b, sd = _huber_line(x, y, huber_k, max_iter)
        segments.append(ClockSegment(float(x.min()), float(x.max()), a, b, int(stop - start), sd))
    return ClockModel(tuple(segments), params)


def foreign_clock_gap_s(raw_times_s: Any, sender_collection_times_s: Any) -> float:
    """How far a stream's stamps lie from the span of its clock-offset measurements, when
    so far that they are on another clock; 0.0 otherwise.

    The offsets were measured at ``sender_collection_times_s`` (collection time minus
    offset, the sender clock the offsets speak of). A recording's stamps lie within that
    span or near it (a buffered backlog is minutes at most). Stamps farther away than
    ``FOREIGN_CLOCK_FACTOR`` times the longer of the stamps' span, the offsets' span and
    60 s are not on that clock: e.g. a device stamping in Unix time (~1.7e9 s) whose
    offsets were measured on the LSL clock (~1e5 s).

    Parameters
    ----------
    raw_times_s : array_like
        The stream's raw stamps.
    sender_collection_times_s : array_like
        When the offsets were measured, on the sender clock.

    Returns
    -------
    float
        The distance in seconds between the two spans, or 0.0 when the stamps are on the
        offsets' clock (or there is nothing to compare).

    Examples
    --------
    >>> import numpy as np
    >>> unix = 1.7e9 + np.arange(0.0, 30.0, 0.01)
    >>> lsl_offsets_at = 1e5 + np.arange(0.0, 30.0, 5.0)
    >>> foreign_clock_gap_s(unix, lsl_offsets_at) > 1e9
    True
    >>> foreign_clock_gap_s(1e5 + np.arange(0.0, 30.0, 0.01), lsl_offsets_at)
    0.0
    """
    t = np.asarray(raw_times_s, dtype=np.float64).reshape(-1)
    s = np.asarray(sender_collection_times_s, dtype=np.float64).reshape(-1)
    t, s = t[np.isfinite(t)], s[np.isfinite(s)]
    if len(t) == 0 or len(s) == 0:
        return 0.0
    t_lo, t_hi, s_lo, s_hi = float(t.min()), float(t.max()), float(s.min()), float(s.max())
    gap = max(s_lo - t_hi, t_lo - s_hi, 0.0)
    limit = FOREIGN_CLOCK_FACTOR * max(t_hi - t_lo, s_hi - s_lo, _FOREIGN_CLOCK_MIN_SPAN_S)
    return gap if gap > limit else 0.0


def _robust_sd(values: np.ndarray, max_values: int = 10_000) -> float:
    """MAD-based SD; from an evenly strided subsample of long inputs (enough for a scale)."""
    if len(values) == 0:
        return 0.0
    if len(values) > max_values:
        values = values[:: len(values) // max_values + 1]
    return _MAD_TO_SD * float(np.median(np.abs(values - np.median(values))))


def split_segments(
    raw_times_s: Any,
    nominal_rate_hz: float,
    *,
    sample_index: Any = None,
    gap_threshold_s: float | None = None,
    reset_threshold_s: float = 0.1,
) -> list[tuple[int, int]]:
    """Split a stream's samples into runs ``[start, stop)`` without gaps or clock resets.

    Parameters
    ----------
    raw_times_s : array_like
        Raw source time stamps.
    nominal_rate_hz : float
        Nominal rate; 0 marks an irregular stream (every sample is its own run).
    sample_index : array_like of int, optional
        Sample counter sent with the data. When given, gaps are found exactly from
        counter jumps and runs break only where the counter restarts or the stamps jump
        by more than ``reset_threshold_s`` against the counter.
    gap_threshold_s : float, optional
        Without a counter, a step between stamps larger than this is a gap. Default:
        the larger of 5 nominal periods and 10 robust SDs of the stamp differences
        (smaller gaps cannot be told from jitter without a counter).
    reset_threshold_s : float
        Backward jumps larger than this are clock resets.
    """
    t = np.asarray(raw_times_s, dtype=np.float64).reshape(-1)
    n = len(t)
    if n == 0:
        return []
    if nominal_rate_hz <= 0:
        return [(i, i + 1) for i in range(n)]
    dt = np.diff(t)
    period = 1.0 / nominal_rate_hz
    if sample_index is not None:
        idx = np.asarray(sample_index, dtype=np.int64).reshape(-1)
        if idx.shape != t.shape:
            raise SignalError(f"sample_index has {idx.size} values, expected {n}")
        didx = np.diff(idx)
        expected = didx * period
        breaks = (didx <= 0) | (np.abs(dt - expected) > reset_threshold_s)
    else:
        if gap_threshold_s is None:
            gap_threshold_s = max(5.0 * period, 10.0 * _robust_sd(dt))
        breaks = (dt > gap_threshold_s) | (dt < -reset_threshold_s)
    edges = [0, *(np.flatnonzero(breaks) + 1).tolist(), n]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def dejitter(
    raw_times_s: Any,
    nominal_rate_hz: float,
    *,
    sample_index: Any = None,
    gap_threshold_s: float | None = None,
    reset_threshold_s: float = 0.1,
) -> np.ndarray:
    """Replace jittery stamps of a regular stream by a least-squares line per run.

    Within each run (see :func:`split_segments`) the stamps are fitted by
    ``t = t0 + period_eff * i`` with ``i`` the sample index (from the counter when
    given, so dropped samples keep their place). Irregular streams are returned as they are.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> true = np.arange(1000) / 500.0
    >>> out = dejitter(true + rng.normal(0, 1e-3, 1000), 500.0)
    >>> bool(np.sqrt(np.mean((out - true) ** 2)) < 1e-4)
    True
    """
    t = np.asarray(raw_times_s, dtype=np.float64).reshape(-1)
    if nominal_rate_hz <= 0 or len(t) < 2:
        return t.copy()
    idx_all = None if sample_index is None else np.asarray(sample_index, dtype=np.float64)
    runs = split_segments(t, nominal_rate_hz, sample_index=sample_index,
                          gap_threshold_s=gap_threshold_s, reset_threshold_s=reset_threshold_s)
    out = np.empty_like(t)
    # In-place arithmetic and einsum (no BLAS, no temporaries): on long streams the time
    # goes to page-faulting fresh arrays and to OpenBLAS threads, not to the maths.
    for start, stop in runs:
        y = t[start:stop]
        ic = out[start:stop]
        if stop - start < 2:
            ic[:] = y
            continue
        ym = float(y.mean())
        if idx_all is None:  # consecutive indices: centred index, closed-form sum of squares
            m = stop - start
            ic[:] = np.arange(m, dtype=np.float64)
            ic -= (m - 1) / 2.0
            sxx = m * (m * m - 1) / 12.0
        else:
            np.subtract(idx_all[start:stop], idx_all[start:stop].mean(), out=ic)
            sxx = float(np.einsum("i,i->", ic, ic))
        slope = float(np.einsum("i,i->", ic, y)) / sxx  # sum(ic) = 0, so y - ym is not needed
        ic *= slope
        ic += ym
    return out


def synchronize(
    raw_times_s: Any,
    nominal_rate_hz: float = 0.0,
    *,
    collection_times_s: Any = None,
    offsets_s: Any = None,
    rtt_s: Any = None,
    sample_index: Any = None,
    apply_dejitter: bool = True,
    gap_threshold_s: float | None = None,
    reset_threshold_s: float = 0.1,
    huber_k: float = 1.345,
) -> np.ndarray:
    """Map raw source stamps to the session clock (clock model, then dejitter).

    Parameters
    ----------
    raw_times_s : array_like
        Raw source time stamps of a stream, in arrival order.
    nominal_rate_hz : float
        Nominal rate, 0 for irregular streams (no dejitter).
    collection_times_s, offsets_s, rtt_s : array_like, optional
        The stream's clock-offset measurements. Without them the stamps are taken to be
        on the session clock already.
    sample_index : array_like of int, optional
        The stream's sample counter, for exact gap handling.
    apply_dejitter : bool
        Dejitter regular streams.
    gap_threshold_s, reset_threshold_s, huber_k : float
        See :func:`split_segments` and :func:`fit_clock_offsets`.

    Returns
    -------
    numpy.ndarray
        Session-clock times in seconds, float64, one per sample. Stamps on another clock
        than the offsets (:func:`foreign_clock_gap_s`) keep their own clock: the offsets
        are not applied (no drift line is extrapolated across the distance), so streams
        of one such device stay aligned with each other.
    """
    t = np.asarray(raw_times_s, dtype=np.float64).reshape(-1)
    if apply_dejitter:
        t = dejitter(t, nominal_rate_hz, sample_index=sample_index,
                     gap_threshold_s=gap_threshold_s, reset_threshold_s=reset_threshold_s)
    if collection_times_s is None or offsets_s is None or len(t) == 0:
        return t
    model = fit_clock_offsets(collection_times_s, offsets_s, rtt_s,
                              reset_threshold_s=reset_threshold_s, huber_k=huber_k)
    if not model.segments:
        return t
    measured_at = [x for seg in model.segments for x in (seg.start_s, seg.end_s)]
    if foreign_clock_gap_s(t, measured_at):
        return t
    if len(model.segments) == 1:
        return t + model.segments[0].offset_at(t)
    runs = split_segments(t, nominal_rate_hz, sample_index=sample_index,
                          gap_threshold_s=gap_threshold_s, reset_threshold_s=reset_threshold_s)
    which = model.assign(t, runs)
    out = np.empty_like(t)
    for (start, stop), k in zip(runs, which, strict=True):
        seg = t[start:stop]
        out[start:stop] = seg + model.segments[k].offset_at(seg)
    return out
