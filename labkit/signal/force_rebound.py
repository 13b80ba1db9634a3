"""Rebound (repeated) jumps on a force plate: a first jump, then hops with short contacts.

The 10/5 repeated jump test: after a first countermovement jump the athlete rebounds ten
times as high and as fast as possible; each hop's reactive strength index is its flight
height over its contact time, and the test scores the mean of the best five. The public
names are re-exported by :mod:`labkit.signal.force`; definitions in ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal import _force_kernels as _k
from labkit.signal import _jump_phases as _jp
from labkit.signal import _landmark_kernels as _lk
from labkit.signal._checks import check_fs
from labkit.signal._force_common import G_STANDARD, check_trace, positive, samples

__all__ = ["ReboundResult", "rebound_jumps"]

_FLAGS = ("no_takeoff", "too_few_hops", "contact_too_long", "no_final_landing")


@dataclass(frozen=True, slots=True)
class ReboundResult:
    """Hops of a rebound-jump trial and their summary. Hop ``i`` is the contact between
    flight ``i`` and flight ``i + 1`` (the first flight follows the first jump's push);
    per-hop tuples are in hop order. Times in s from the first sample."""

    body_weight_n: float
    weighing_start_s: float
    weighing_end_s: float
    weighing_where: str
    onset_s: float
    n_hops: int
    takeoffs_s: tuple[float, ...]
    landings_s: tuple[float, ...]
    contact_times_s: tuple[float, ...]
    flight_times_s: tuple[float, ...]
    jump_heights_m: tuple[float, ...]
    rsis: tuple[float, ...]
    rsi_best_mean: float
    contact_time_best_mean_s: float
    jump_height_best_mean_m: float
    rsi_mean: float
    contact_time_mean_s: float
    first_jump_height_m: float
    takeoff_threshold_n: float
    flight_baseline_n: float
    valid: bool
    flags: tuple[str, ...]
    params: Mapping[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Flat scalar metrics (one table row): the summary, without the per-hop tuples."""
        skip = ("flags", "params", "valid", "takeoffs_s", "landings_s", "contact_times_s",
                "flight_times_s", "jump_heights_m", "rsis")  # fmt: skip
        d = {k: getattr(self, k) for k in ReboundResult.__slots__ if k not in skip}
        d["valid"] = self.valid
        d["flags"] = ";".join(self.flags)
        d["method"] = self.params["method"]
        return d

    def limb_windows(self, end_s: float) -> dict[str, Any]:
        """Windows :func:`labkit.signal.force.limbs_of` compares the limbs over: the hops'
        contacts, first to last."""
        del end_s
        span = ((self.landings_s[0], self.takeoffs_s[-1]) if self.n_hops
                else (math.nan, math.nan))  # fmt: skip
        return {"weighing_s": (self.weighing_start_s, self.weighing_end_s), "peak_s": span,
                "impulses_s": {"contacts_impulse_ns": span}}


def _flights(f, fs, kw, thr, base, band, refine, start) -> list[tuple[float, float]]:
    """Every flight after ``start``: (take-off, landing) as fractional samples, refined to
    the flight baseline as :func:`labkit.signal.force.cmj` does (landing NaN when the
    record ends in the air)."""
    n = f.shape[0]
    to_hold = max(1, samples("takeoff_hold_s", kw["takeoff_hold_s"], fs))
    ld_hold = max(1, samples("landing_hold_s", kw["landing_hold_s"], fs))
    hi = base + band
    out = []
    i = start
    below = f < thr
    while i < n:
        run, to = 0, -1
        for j in range(i, n):
            run = run + 1 if below[j] else 0
            if run >= to_hold or (run and j == n - 1):
                to = j - run + 1
                break
        if to < 0:
            break
        run, ld = 0, -1
        for j in range(to + 1, n):
            run = run + 1 if not below[j] else 0
            if run >= ld_hold:
                ld = j - run + 1
                break
        k = to
        lim = ld if ld >= 0 else n
        while refine and k < lim and f[k] > hi:
            k += 1
        k = k if k < lim else to
        ok = refine and f[k] <= hi and k > i
        x_to = _lk.down_crossing(f, k, base, i) if ok else to - 1 + (f[to - 1] - thr) / (f[to - 1] - f[to])
        if ld < 0:
            out.append((x_to, math.nan))
            break
        jj = ld - 1
        while ok and jj > k and f[jj] > hi:
            jj -= 1
        x_ld = _lk.up_crossing(f, n, jj, ld, base) if ok else jj + (thr - f[jj]) / (f[jj + 1] - f[jj])
        out.append((x_to, x_ld))
        i = ld
    return out


def rebound_jumps(
    f_n: ArrayLike,
    fs_hz: float,
    *,
    n_best: int = 5,
    weighing_s: float = 1.0,
    weighing_start_s: float | None = None,
    min_body_weight_n: float = 200.0,
    onset_k: float = 5.0,
    takeoff_n: float | None = None,
    takeoff_k: float = 5.0,
    takeoff_min_n: float = 5.0,
    takeoff_refine: bool = True,
    takeoff_refine_k: float = 2.0,
    takeoff_hold_s: float = 0.015,
    landing_hold_s: float = 0.015,
    g: float = G_STANDARD,
    max_contact_s: float = 0.25,
    max_weighing_range_n: float = 50.0,
    min_flight_s: float = 0.1,
    max_flight_s: float = 2.0,
) -> ReboundResult:
    """Analyse a rebound-jump trial (e.g. the 10/5 repeated jump test).

    Weighing, threshold and the refinement of every take-off and landing to the flight
    baseline are those of :func:`labkit.signal.force.cmj` (the first flight gives the
    baseline and noise). Every contact between two flights is a hop: contact time =
    take-off - landing, flight time of the flight after it, jump height g t_f^2 / 8 and
    RSI = height / contact time. The score ``rsi_best_mean`` is the mean RSI of the
    ``n_best`` hops with the highest RSI.

    Parameters
    ----------
    f_n : array_like, shape (n,)
        Vertical force in N (sum over tared plates). NaN/inf raise SignalError.
    fs_hz : float
    n_best : int, default 5
        Hops averaged for the score (flag ``too_few_hops`` with fewer hops).
    weighing_s, weighing_start_s, min_body_weight_n, onset_k : default 1.0, None, 200.0, 5.0
        As :func:`labkit.signal.force.cmj`.
    takeoff_n, takeoff_k, takeoff_min_n, takeoff_refine, takeoff_refine_k
        As :func:`labkit.signal.force.cmj`.
    takeoff_hold_s, landing_hold_s : float, default 0.015
    g : float, default 9.80665
    max_contact_s : float, default 0.25
        Flag ``contact_too_long`` when the best hops' mean contact is longer.
    max_weighing_range_n : float, default 50.0
    min_flight_s, max_flight_s : float, default 0.1 and 2.0
        Flights shorter than ``min_flight_s`` end no hop (a stumble, not a rebound).

    Returns
    -------
    ReboundResult
    """
    options = dict(locals())
    del options["f_n"], options["fs_hz"]
    fs = check_fs(fs_hz)
    f = check_trace(f_n)
    if not (isinstance(n_best, int) and n_best >= 1):
        raise SignalError(f"n_best={n_best!r} must be a whole number of hops >= 1")
    for name in ("weighing_s", "min_body_weight_n", "onset_k", "takeoff_k", "g", "max_contact_s",
                 "max_weighing_range_n", "max_flight_s"):  # fmt: skip
        positive(name, options[name])
    lay = _jp.layout(f, fs, {**options, "takeoff_ref": "zero"})
    stats = np.empty(3)
    _k.weighing_stats(f, lay.w0, lay.w1, stats)
    bw = float(stats[0])
    onset = _k.find_onset(f, lay.s0, f.shape[0], bw, onset_k * stats[1], True,
                          max(1, samples("hold", 0.03, fs)), np.nan, samples("back", 0.03, fs))
    start = max(onset, lay.s0) if onset >= 0 else lay.s0
    fl = _flights(f, fs, options, lay.threshold_n, lay.flight_baseline_n, lay.band_n,
                  takeoff_refine and lay.refine, max(start, 1))  # fmt: skip
    shortest = min_flight_s * fs
    fl = [x for x in fl if math.isnan(x[1]) or x[1] - x[0] >= shortest]
    hops = [(fl[i][1], fl[i + 1][0], fl[i + 1][1]) for i in range(len(fl) - 1)]
    contact = tuple((b - a) / fs for a, b, _ in hops)
    flight = tuple((c - b) / fs for _, b, c in hops)
    height = tuple(g * t**2 / 8.0 for t in flight)
    rsi = tuple(h / c for h, c in zip(height, contact, strict=True))
    best = sorted((i for i in range(len(rsi)) if math.isfinite(rsi[i])), key=lambda i: -rsi[i])[:n_best]

    def mean(xs):
        xs = [x for x in xs if math.isfinite(x)]
        return float(np.mean(xs)) if xs else math.nan

    ct_best = mean([contact[i] for i in best])
    first_h = g * ((fl[0][1] - fl[0][0]) / fs) ** 2 / 8.0 if fl else math.nan
    flags = {"no_takeoff": not fl, "too_few_hops": len(hops) < n_best,
             "contact_too_long": ct_best > max_contact_s,
             "no_final_landing": bool(fl) and math.isnan(fl[-1][1])}
    fl_names = tuple(k for k in _FLAGS if flags[k])
    params = {"method": "rebound_jumps", "fs_hz": fs, **options, "sd_ddof": 1,
              "labkit_version": __version__}
    return ReboundResult(
        body_weight_n=bw, weighing_start_s=lay.w0 / fs, weighing_end_s=lay.w1 / fs,
        weighing_where=lay.where, onset_s=onset / fs if onset >= 0 else math.nan, n_hops=len(hops),
        takeoffs_s=tuple(b / fs for _, b, _ in hops), landings_s=tuple(a / fs for a, _, _ in hops),
        contact_times_s=contact, flight_times_s=flight, jump_heights_m=height, rsis=rsi,
        rsi_best_mean=mean([rsi[i] for i in best]), contact_time_best_mean_s=ct_best,
        jump_height_best_mean_m=mean([height[i] for i in best]), rsi_mean=mean(rsi),
        contact_time_mean_s=mean(contact), first_jump_height_m=first_h,
        takeoff_threshold_n=lay.threshold_n, flight_baseline_n=lay.flight_baseline_n,
        valid=not fl_names, flags=fl_names, params=MappingProxyType(params))
