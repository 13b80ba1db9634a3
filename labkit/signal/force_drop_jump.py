"""Drop jumps on a force plate: touchdown from a box, contact, rebound, flight, landing.

The athlete stands on a box beside the plate (the plate reads ~0 N), drops onto it and
rebounds as fast and high as possible. The public names are re-exported by
:mod:`labkit.signal.force`; definitions and defaults are in ``docs/metrics.md``.
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

__all__ = ["DropJumpResult", "drop_jump"]

_FLAGS = ("no_touchdown", "no_takeoff", "no_landing", "double_contact", "contact_too_long",
          "flight_time_out_of_range", "nonpositive_takeoff_velocity")  # fmt: skip


@dataclass(frozen=True, slots=True)
class DropJumpResult:
    """Metrics of one drop jump. Times in s from the first sample; ``onset_s`` is the
    touchdown (the effort's start, for EMG timing)."""

    drop_height_m: float
    body_weight_n: float
    baseline_sd_n: float
    weighing_range_n: float
    weighing_start_s: float
    weighing_end_s: float
    weighing_where: str
    onset_s: float
    touchdown_s: float
    takeoff_s: float
    landing_s: float
    contact_time_s: float
    flight_time_s: float
    touchdown_velocity_m_s: float
    takeoff_velocity_m_s: float
    jump_height_m: float
    jump_height_impulse_m: float
    rsi: float
    peak_force_n: float
    contact_impulse_ns: float
    takeoff_threshold_n: float
    flight_baseline_n: float
    flight_sd_n: float
    valid: bool
    flags: tuple[str, ...]
    params: Mapping[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Flat scalar metrics (one table row)."""
        d = {k: getattr(self, k) for k in DropJumpResult.__slots__ if k not in ("flags", "params", "valid")}
        d["valid"] = self.valid
        d["flags"] = ";".join(self.flags)
        d["method"] = self.params["method"]
        return d

    def limb_windows(self, end_s: float) -> dict[str, Any]:
        """Windows :func:`labkit.signal.force.limbs_of` compares the limbs over: the contact."""
        del end_s
        contact = (self.touchdown_s, self.takeoff_s)
        return {"weighing_s": (self.weighing_start_s, self.weighing_end_s), "peak_s": contact,
                "impulses_s": {"contact_impulse_ns": contact}}


def _runs(f: np.ndarray, level: float, hold: int) -> np.ndarray:
    """Unloaded runs ``(start, end)`` at least ``hold`` long (or reaching the end)."""
    r = _jp._runs(f < level)
    keep = (r[:, 1] - r[:, 0] >= hold) | (r[:, 1] == f.shape[0])
    return r[keep]


def _first(mask: np.ndarray, start: int, hold: int, to_end: bool = False) -> int:
    """First index >= start where ``mask`` holds for ``hold`` samples (or to the end); -1."""
    n = mask.shape[0]
    run = 0
    for i in range(start, n):
        run = run + 1 if mask[i] else 0
        if run >= hold or (to_end and run and i == n - 1):
            return i - run + 1
    return -1


def _events(f, fs, kw) -> dict[str, Any]:
    """Coarse layout: box (unloaded), contact, flight, landing; weighing; threshold."""
    n = f.shape[0]
    hold = max(1, samples("takeoff_hold_s", kw["takeoff_hold_s"], fs))
    shortest = samples("min_flight_s", kw["min_flight_s"], fs)
    runs = _runs(f, 0.5 * float(kw["min_body_weight_n"]), hold)
    box = next((i for i, (a, b) in enumerate(runs) if b < n), None)  # unloaded before a contact
    out: dict[str, Any] = {"box": None, "flight": None, "double": False, "pre": (0, 0), "post": (n, n)}
    if box is None:
        return out
    out["box"] = tuple(int(x) for x in runs[box])
    flight = None
    for a, b in runs[box + 1 :]:
        if b - a >= shortest or b == n:
            flight = (int(a), int(b))
            break
        out["double"] = True  # left the plate and came back down before the rebound
    out["flight"] = flight
    before = [r for r in runs[:box] if r[1] <= out["box"][0]]
    out["pre"] = (int(before[-1][1]) if before else 0, out["box"][0])
    if flight is not None:
        later = [int(a) for a, b in runs if a >= flight[1]]
        out["post"] = (flight[1], later[0] if later else n)
    return out


def _weigh(f, fs, kw, ev) -> tuple[int, int, str]:
    n = f.shape[0]
    if kw["weighing_start_s"] is not None:
        w0 = samples("weighing_start_s", kw["weighing_start_s"], fs)
        w1 = w0 + samples("weighing_s", kw["weighing_s"], fs)
        if w1 > n or w1 - w0 < 2 or f[w0:w1].mean() < kw["min_body_weight_n"]:
            raise SignalError(f"weighing_start_s={kw['weighing_start_s']!r}: the window is not "
                              "standing on the plate; pass None to find the standing after landing")
        return w0, w1, "given"
    w = samples("weighing_s", kw["weighing_s"], fs)
    level, limit = float(kw["min_body_weight_n"]), float(kw["max_weighing_range_n"])
    best = math.inf
    for where, (lo, hi) in (("before", ev["pre"]), ("after", ev["post"])):
        i, rng = _jp._best(f, lo, hi, w, level)
        if i >= 0 and rng <= limit:
            return i, i + w, where
        best = min(best, rng)
    seen = f"the stillest moved by {best:.0f} N" if math.isfinite(best) else "none is loaded throughout"
    raise SignalError(
        f"no quiet standing: no {kw['weighing_s']} s window on the plate (>= {level:.0f} N) moves "
        f"by <= {limit:.0f} N before stepping on the box or after landing ({seen}); stand still "
        "after landing, shorten weighing_s, or pass weighing_start_s"
    )


def drop_jump(
    f_n: ArrayLike,
    fs_hz: float,
    *,
    drop_height_m: float = 0.30,
    weighing_s: float = 1.0,
    weighing_start_s: float | None = None,
    min_body_weight_n: float = 200.0,
    takeoff_n: float | None = None,
    takeoff_k: float = 5.0,
    takeoff_min_n: float = 5.0,
    takeoff_refine_k: float = 2.0,
    takeoff_hold_s: float = 0.015,
    landing_hold_s: float = 0.015,
    g: float = G_STANDARD,
    max_contact_s: float = 0.25,
    max_weighing_range_n: float = 50.0,
    min_flight_s: float = 0.1,
    max_flight_s: float = 2.0,
) -> DropJumpResult:
    """Analyse one drop jump (box beside the plate, plate unloaded before touchdown).

    Touchdown: first sample at or above the threshold held ``landing_hold_s`` after the
    athlete left the box, refined back to where the force leaves the flight baseline;
    take-off and landing as :func:`labkit.signal.force.cmj` (refined to the flight
    baseline). Contact time = take-off - touchdown; flight time = landing - take-off.
    Jump height from the flight time, g t_f^2 / 8 (``jump_height_m``, the height of the
    reactive strength index RSI = jump height / contact time), and by impulse-momentum
    with the touchdown velocity of a fall from ``drop_height_m``, v_TD = -sqrt(2 g h),
    v_TO = v_TD + J / m over the contact (``jump_height_impulse_m``). Body weight: the
    most stable loaded window of ``weighing_s`` before stepping on the box, or else after
    landing (see :func:`labkit.signal.force.cmj`).

    Parameters
    ----------
    f_n : array_like, shape (n,)
        Vertical force in N (sum over tared plates). NaN/inf raise SignalError.
    fs_hz : float
    drop_height_m : float, default 0.30
        Box height: the fall that sets the touchdown velocity (m).
    weighing_s, weighing_start_s, min_body_weight_n : float, default 1.0, None, 200.0
        As :func:`labkit.signal.force.cmj`.
    takeoff_n : float or None, default None
        Fixed threshold (N); None: flight baseline + max(takeoff_k SD, takeoff_min_n).
    takeoff_k, takeoff_min_n, takeoff_refine_k : float, default 5.0, 5.0, 2.0
        As :func:`labkit.signal.force.cmj`.
    takeoff_hold_s, landing_hold_s : float, default 0.015
        Hold of take-off (below the threshold) and of touchdown and landing (above it).
    g : float, default 9.80665
    max_contact_s : float, default 0.25
        A longer contact is not reactive (flag ``contact_too_long``).
    max_weighing_range_n : float, default 50.0
    min_flight_s, max_flight_s : float, default 0.1 and 2.0
        Sanity limits of the flight; an airborne gap shorter than ``min_flight_s``
        between touchdown and take-off is a ``double_contact``.

    Returns
    -------
    DropJumpResult
    """
    options = dict(locals())
    del options["f_n"], options["fs_hz"]
    fs = check_fs(fs_hz)
    f = check_trace(f_n)
    for name in ("drop_height_m", "weighing_s", "min_body_weight_n", "takeoff_k", "g",
                 "max_contact_s", "max_weighing_range_n", "max_flight_s"):  # fmt: skip
        positive(name, options[name])
    for name in ("takeoff_min_n", "takeoff_refine_k", "min_flight_s"):
        positive(name, options[name], allow_zero=True)
    ev = _events(f, fs, options)
    w0, w1, where = _weigh(f, fs, options, ev)
    stats = np.empty(3)
    _k.weighing_stats(f, w0, w1, stats)
    base, sd = _jp._flight_level(f, ev["flight"])
    tk = options["takeoff_n"]
    thr = float(tk) if tk is not None else base + max(takeoff_k * sd if math.isfinite(sd) else 0.0,
                                                     takeoff_min_n)  # fmt: skip
    band = takeoff_refine_k * sd if math.isfinite(sd) else 0.0
    times = _landmarks(f, fs, options, ev, thr, base, band)
    return _result(f, fs, options, ev, (w0, w1, where), stats, (thr, base, sd), times)


def _landmarks(f, fs, kw, ev, thr, base, band) -> dict[str, float]:
    """Touchdown, take-off and landing (fractional samples; NaN when missing)."""
    n = f.shape[0]
    nan = math.nan
    out = {"td": nan, "to": nan, "ld": nan, "k_td": -1, "k_to": -1}
    if ev["box"] is None:
        return out
    hi = base + band
    refine = hi < thr
    ld_hold = max(1, samples("landing_hold_s", kw["landing_hold_s"], fs))
    to_hold = max(1, samples("takeoff_hold_s", kw["takeoff_hold_s"], fs))
    empty = _first(f < thr, ev["box"][0], 1)  # the plate unloaded (the athlete on the box)
    i = _first(f >= thr, empty, ld_hold) if empty >= 0 else -1
    if i < 0:
        return out
    j = i - 1
    while refine and j > empty and f[j] > hi:
        j -= 1
    out["td"] = _lk.up_crossing(f, n, j, i, base) if refine else j + (thr - f[j]) / (f[j + 1] - f[j])
    out["k_td"] = i
    start = ev["flight"][0] - 1 if ev["flight"] is not None else i
    to = _first(f < thr, max(start, i), to_hold, to_end=True)
    if to < 0:
        return out
    k = to
    lim = n
    ld = _first(f >= thr, to, ld_hold)
    if ld >= 0:
        lim = ld
    while refine and k < lim and f[k] > hi:
        k += 1
    if k >= lim:
        k = to
    ok = refine and f[k] <= hi
    out["to"] = _lk.down_crossing(f, k, base, i) if ok else (k - 1 + (f[k - 1] - thr) / (f[k - 1] - f[k]))
    out["k_to"] = k
    if ld >= 0:
        j = ld - 1
        while ok and j > k and f[j] > hi:
            j -= 1
        out["ld"] = _lk.up_crossing(f, n, j, ld, base) if ok else j + (thr - f[j]) / (f[j + 1] - f[j])
    return out


def _result(f, fs, kw, ev, weigh, stats, level, times) -> DropJumpResult:
    n = f.shape[0]
    g = float(kw["g"])
    w0, w1, where = weigh
    bw = float(stats[0])
    m = bw / g
    td, to, ld = times["td"], times["to"], times["ld"]
    contact = to - td
    flight = ld - to
    v_td = -math.sqrt(2.0 * g * float(kw["drop_height_m"]))
    imp = _k.net_impulse(f, n, td, to, bw) / fs if math.isfinite(contact) else math.nan
    v_to = v_td + imp / m
    h_f = g * (flight / fs) ** 2 / 8.0
    h_i = v_to**2 / (2 * g) if v_to > 0 else math.nan
    peak = float(f[times["k_td"] : times["k_to"] + 1].max()) if math.isfinite(contact) else math.nan
    flags = {
        "no_touchdown": math.isnan(td),
        "no_takeoff": math.isfinite(td) and math.isnan(to),
        "no_landing": math.isfinite(to) and math.isnan(ld),
        "double_contact": bool(ev["double"]) and math.isfinite(td),
        "contact_too_long": contact / fs > float(kw["max_contact_s"]),
        "flight_time_out_of_range": math.isfinite(flight) and not (
            kw["min_flight_s"] <= flight / fs <= kw["max_flight_s"]),
        "nonpositive_takeoff_velocity": math.isfinite(to) and not v_to > 0,
    }
    fl = tuple(k for k in _FLAGS if flags[k])
    thr, base, sd = level
    params = {"method": "drop_jump", "fs_hz": fs, **kw, "sd_ddof": 1, "labkit_version": __version__}
    return DropJumpResult(
        drop_height_m=float(kw["drop_height_m"]), body_weight_n=bw, baseline_sd_n=float(stats[1]),
        weighing_range_n=float(stats[2]), weighing_start_s=w0 / fs, weighing_end_s=w1 / fs,
        weighing_where=where, onset_s=td / fs, touchdown_s=td / fs, takeoff_s=to / fs,
        landing_s=ld / fs, contact_time_s=contact / fs, flight_time_s=flight / fs,
        touchdown_velocity_m_s=v_td, takeoff_velocity_m_s=v_to, jump_height_m=h_f,
        jump_height_impulse_m=h_i, rsi=h_f / (contact / fs), peak_force_n=peak,
        contact_impulse_ns=imp, takeoff_threshold_n=thr, flight_baseline_n=base, flight_sd_n=sd,
        valid=not fl, flags=fl, params=MappingProxyType(params))
