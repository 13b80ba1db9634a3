"""Triple extension: extension onsets, peak extension velocities, hip->knee and
knee->ankle lags, order and continuous relative phase of one jump or push-off.

Part of :mod:`labkit.signal.kinematics` (import the names from there; definitions in
``docs/kinematics.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import SignalError
from labkit.signal._checks import check_fs
from labkit.signal._kinematics_common import JOINTS, _check_1d, _lowpass, _provenance, _wrap

__all__ = ["ONSET_METHODS", "TripleExtension", "triple_extension"]


# ===================================================================== triple extension


def _onset_zero(vel: np.ndarray, peak: int, lo: int, fraction: float) -> float:
    """Maximum flexion: the last zero crossing of the extension velocity before the peak."""
    neg = np.flatnonzero(vel[lo:peak] <= 0)
    if neg.size == 0:
        return float("nan")
    i = lo + int(neg[-1])
    v0, v1 = vel[i], vel[i + 1]
    return i + (0.0 - v0) / (v1 - v0) if v1 != v0 else float(i)


def _onset_fraction(vel: np.ndarray, peak: int, lo: int, fraction: float) -> float:
    """The last crossing of ``fraction`` x peak extension velocity before the peak."""
    thr = fraction * vel[peak]
    below = np.flatnonzero(vel[lo:peak] <= thr)
    if below.size == 0:
        return float("nan")
    i = lo + int(below[-1])
    v0, v1 = vel[i], vel[i + 1]
    return i + (thr - v0) / (v1 - v0) if v1 != v0 else float(i)


#: Extension onset definitions: ``"zero"`` (default; maximum flexion, where the extension
#: velocity crosses 0 before its peak) and ``"fraction"`` (where it crosses
#: ``onset_fraction`` x its peak). Both interpolate between frames.
ONSET_METHODS: dict[str, Callable] = {"zero": _onset_zero, "fraction": _onset_fraction}


@dataclass(frozen=True)
class TripleExtension:
    """Triple-extension timing of one jump or push-off.

    Times are seconds relative to take-off when ``takeoff_s`` was given (negative =
    before), else on the input's time base (``t0_s + i / fs_hz``).

    Attributes
    ----------
    onset_s, peak_velocity_s, peak_velocity_deg_s : dict
        Per joint (``hip``, ``knee``, ``ankle``): extension onset, time of the peak
        extension velocity, and that velocity (deg/s, extension +).
    lags_ms : dict
        ``hip_knee`` = knee - hip and ``knee_ankle`` = ankle - knee times of the
        ``lag_event`` in ms (positive = proximal first).
    onset_lags_ms, peak_lags_ms : dict
        The same lags for both events.
    order : tuple of str
        Joints sorted by the ``lag_event`` time (ties keep proximal-to-distal order).
    sequence : dict
        Per lag: ``"proximal_first"`` (lag > tolerance), ``"distal_first"``
        (lag < -tolerance) or ``"simultaneous"``.
    proximal_to_distal : bool or None
        True when both lags exceed the tolerance, False when either is below minus the
        tolerance (a distal joint leads), None when undecided (a lag within tolerance).
    crp : dict
        Continuous relative phase (Hamill et al. 1999) for ``hip_knee`` and
        ``knee_ankle``: ``mean_deg`` (distal - proximal phase), ``marp_deg`` (mean
        absolute relative phase), ``sd_deg`` and ``at_takeoff_deg``, over ``crp_window_s``.
    crp_window_s : tuple of float
    takeoff_s : float or None
        Take-off on the input's time base (None when not given).
    params : dict
        Every parameter and the provenance.
    """

    onset_s: dict
    peak_velocity_s: dict
    peak_velocity_deg_s: dict
    lags_ms: dict
    onset_lags_ms: dict
    peak_lags_ms: dict
    order: tuple
    sequence: dict
    proximal_to_distal: bool | None
    crp: dict
    crp_window_s: tuple
    takeoff_s: float | None
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Flat scalar metrics (one table row)."""
        d: dict[str, Any] = {}
        for j in JOINTS:
            d[f"{j}_onset_s"] = self.onset_s[j]
            d[f"{j}_peak_velocity_s"] = self.peak_velocity_s[j]
            d[f"{j}_peak_velocity_deg_s"] = self.peak_velocity_deg_s[j]
        for k in ("hip_knee", "knee_ankle"):
            d[f"lag_{k}_ms"] = self.lags_ms[k]
            d[f"onset_lag_{k}_ms"] = self.onset_lags_ms[k]
            d[f"sequence_{k}"] = self.sequence[k]
            for m, v in self.crp[k].items():
                d[f"crp_{k}_{m}"] = v
        d["order"] = ">".join(self.order)
        d["proximal_to_distal"] = self.proximal_to_distal
        d["takeoff_s"] = self.takeoff_s
        return d


def _crp(th_p, th_d, w_p, w_d) -> np.ndarray:
    """Distal - proximal phase angle (rad) from amplitude-normalised phase planes."""

    def phase(th, w):
        lo, hi = np.min(th), np.max(th)
        tn = 2 * (th - lo) / (hi - lo) - 1 if hi > lo else np.zeros_like(th)
        wm = np.max(np.abs(w))
        wn = w / wm if wm > 0 else np.zeros_like(w)
        return np.arctan2(wn, tn)

    return _wrap(phase(th_d, w_d) - phase(th_p, w_p))


def _check_options(onset, lag_event, tolerance_frames, onset_fraction, peak_fit_fraction,
                   search_before_s) -> None:
    """SignalError naming the first bad option (shared by the one-trial and batch paths)."""
    if onset not in ONSET_METHODS:
        raise SignalError(f"onset={onset!r} is not one of {sorted(ONSET_METHODS)}")
    if lag_event not in ("peak_velocity", "onset"):
        raise SignalError(f"lag_event={lag_event!r} must be 'peak_velocity' or 'onset'")
    if not (np.isfinite(tolerance_frames) and tolerance_frames >= 1):
        raise SignalError(f"tolerance_frames={tolerance_frames!r} must be >= 1 (one frame is the "
                          "data's time resolution)")
    if not 0 < onset_fraction < 1:
        raise SignalError(f"onset_fraction={onset_fraction!r} must be within (0, 1)")
    if not (np.isfinite(search_before_s) and search_before_s >= 0):
        raise SignalError(f"search_before_s={search_before_s!r} must be a finite number of seconds >= 0")
    if peak_fit_fraction is not None and not 0 < peak_fit_fraction < 1:
        raise SignalError(f"peak_fit_fraction={peak_fit_fraction!r} must be within (0, 1) or None")


def _filter_reach(fs: float, lowpass_hz: float | None) -> int:
    """Frames filtered beyond the search window, so that the filter's edges stay outside it."""
    return int(np.ceil(3 * fs / lowpass_hz)) if lowpass_hz else 2


def _search_window(n: int, fs: float, takeoff_s, t0_s, search_before_s, search_after_s):
    """Frames ``[lo, hi)`` searched for the peaks (the whole record without take-off)."""
    if takeoff_s is not None:
        i_to = (float(takeoff_s) - t0_s) * fs
        lo = max(0, int(np.floor(i_to - search_before_s * fs)))
        hi = min(n, int(np.ceil(i_to + search_after_s * fs)) + 1)
        if not (0 <= i_to <= n - 1):
            raise SignalError(f"takeoff_s={takeoff_s} is outside the record "
                              f"[{t0_s}, {t0_s + (n - 1) / fs}] s; pass it on the same time base as t0_s")
    else:
        lo, hi = 0, n
    if hi - lo < 5:
        raise SignalError(f"search window holds {hi - lo} frames; widen search_before_s/search_after_s")
    return lo, hi


def _extension_kinematics(angles, fs, g0, g1, lowpass_hz, filter_order):
    """Per joint: the low-passed angle and the extension velocity (deg/s, central
    differences of minus the angle) on frames ``[g0, g1)``, NaN elsewhere."""
    vel, filt = {}, {}
    for j, x in angles.items():
        n = x.size
        seg = x[g0:g1]
        if not np.all(np.isfinite(seg)):
            i = g0 + int(np.flatnonzero(~np.isfinite(seg))[0])
            raise SignalError(f"{j} angle[{i}] is NaN inside the search window; interpolate short gaps "
                              "or shorten search_before_s")
        y = _lowpass(seg, fs, lowpass_hz, filter_order) if lowpass_hz else seg.copy()
        full = np.full(n, np.nan)
        full[g0:g1] = y
        filt[j] = full
        v = np.full(n, np.nan)
        v[g0:g1] = -np.gradient(y) * fs
        vel[j] = v
    return filt, vel


def _peak_fit(v: np.ndarray, k: int, lo: int, hi: int, fraction: float) -> tuple[float, float] | None:
    """Least-squares parabola through the frames around ``k`` (within ``[lo, hi)``) whose
    value is at least ``fraction`` of ``v[k]``: its vertex (position, value), or None."""
    thr = fraction * v[k]
    a = k
    while a > lo and v[a - 1] >= thr:
        a -= 1
    b = k
    while b < hi - 1 and v[b + 1] >= thr:
        b += 1
    if b - a < 2:
        return None
    x = np.arange(a, b + 1) - k
    c2, c1, c0 = np.polyfit(x, v[a:b + 1], 2)
    if not c2 < 0:
        return None
    off = min(max(-c1 / (2 * c2), a - k), b - k)
    return k + off, float(c0 + c1 * off + c2 * off * off)


def _peak(v: np.ndarray, lo: int, hi: int, subframe: bool,
          fit_fraction: float | None = None) -> tuple[int, float, float]:
    """Frame of the maximum of ``v`` in ``[lo, hi)``, its (sub-frame) position and value."""
    k = lo + int(np.argmax(v[lo:hi]))
    pk = float(k)
    vk = float(v[k])
    if subframe and fit_fraction is not None and v[k] > 0:
        fit = _peak_fit(v, k, lo, hi, fit_fraction)
        if fit is not None:
            return k, fit[0], fit[1]
    if subframe and lo < k < hi - 1:  # parabola through the three frames around it
        den = v[k - 1] - 2 * v[k] + v[k + 1]
        if den < 0:
            off = 0.5 * (v[k - 1] - v[k + 1]) / den
            pk = k + off
            vk = float(v[k] - 0.25 * (v[k - 1] - v[k + 1]) * off)
    return k, pk, vk


def _sequence(lags: dict, tol_ms: float) -> tuple[dict, bool | None]:
    """Each lag as proximal first / distal first / simultaneous, and the overall verdict."""
    sequence = {k: ("proximal_first" if v > tol_ms else "distal_first" if v < -tol_ms else "simultaneous")
                for k, v in lags.items()}
    if any(s == "distal_first" for s in sequence.values()):
        p2d: bool | None = False
    elif all(s == "proximal_first" for s in sequence.values()):
        p2d = True
    else:
        p2d = None
    return sequence, p2d


def _crp_summaries(filt, vel, pairs, i0: int, i1: int) -> dict:
    """Continuous relative phase summaries of each joint pair over frames ``[i0, i1]``."""
    crp = {}
    for k, a, b in pairs:
        if i1 - i0 >= 2:
            # joint angle and angular velocity with the sign of extension
            ph = _crp(-filt[a][i0:i1 + 1], -filt[b][i0:i1 + 1], vel[a][i0:i1 + 1], vel[b][i0:i1 + 1])
            deg = np.rad2deg(ph)
            crp[k] = {"mean_deg": float(np.mean(deg)), "marp_deg": float(np.mean(np.abs(deg))),
                      "sd_deg": float(np.std(deg, ddof=1)), "at_takeoff_deg": float(deg[-1])}
        else:
            crp[k] = {"mean_deg": np.nan, "marp_deg": np.nan, "sd_deg": np.nan, "at_takeoff_deg": np.nan}
    return crp


def triple_extension(hip_flex_deg: Any, knee_flex_deg: Any, ankle_dorsi_deg: Any, fs_hz: float, *,
                     takeoff_s: float | None = None, t0_s: float = 0.0, lowpass_hz: float | None = 10.0,
                     filter_order: int = 2, search_before_s: float = 1.0, search_after_s: float = 0.0,
                     onset: str = "zero", onset_fraction: float = 0.1, lag_event: str = "peak_velocity",
                     tolerance_frames: float = 1.0, subframe: bool = True,
                     peak_fit_fraction: float | None = 0.8) -> TripleExtension:
    """Extension onset, peak extension velocity, lags and order of hip, knee and ankle.

    Extension velocity is ``-d(flexion)/dt`` for hip and knee and
    ``-d(dorsiflexion)/dt`` for the ankle (plantarflexion +), from central differences
    of the zero-lag low-passed angles. Within the search window (``search_before_s``
    before take-off to ``search_after_s`` after it, or the whole record without
    take-off) the peak extension velocity is the maximum of each joint (refined to a
    sub-frame time by a parabola through the three frames around it when ``subframe``);
    the extension onset is found backwards from the peak by ``onset``.

    Parameters
    ----------
    hip_flex_deg, knee_flex_deg, ankle_dorsi_deg : array_like, shape (n,)
        Sagittal angles in degrees with PiG signs (flexion +, dorsiflexion +), same rate
        and length. NaN inside the search window (plus the filter's reach) raises.
    fs_hz : float
        Frame rate (Hz).
    takeoff_s : float, optional
        Take-off on the same time base as ``t0_s + i / fs_hz`` (e.g. from the force
        plate); result times are then relative to it.
    t0_s : float
        Time of the first frame (default 0; the session time of a stream's first frame).
    lowpass_hz : float or None
        Zero-lag Butterworth low-pass before differentiating (default 10 Hz; the
        cutoff is corrected for the double pass); None: no filter.
    filter_order : int
        Order of the single pass (default 2, i.e. 4th order zero-lag).
    search_before_s, search_after_s : float
        Search window around take-off (ignored without take-off).
    onset : str
        Key of :data:`ONSET_METHODS` (default ``"zero"``: maximum flexion).
    onset_fraction : float
        Fraction of the peak velocity for ``onset="fraction"``.
    lag_event : {"peak_velocity", "onset"}
        Event whose times define ``lags_ms``, ``order`` and ``proximal_to_distal``.
    tolerance_frames : float
        Lags within this many frames count as simultaneous; at least 1 (one frame is the
        resolution of the data).
    subframe : bool
        Parabolic sub-frame refinement of the peak times.
    peak_fit_fraction : float or None
        Sub-frame refinement by a least-squares parabola through every frame around the
        maximum whose velocity is at least this fraction of it (default 0.8: the top
        20 %); None: the parabola through the three frames around it. A broad peak moves
        with noise: at 200 Hz and 0.3 mm marker noise the three-frame vertex of simulated
        CMJs was up to 6.6 ms off (lags up to 8.6 ms), the 0.8 fit within 1.0 ms.

    Returns
    -------
    TripleExtension

    Examples
    --------
    >>> import numpy as np
    >>> fs = 200.0
    >>> t = np.arange(400) / fs - 1.5            # take-off at t = 0
    >>> def joint(t_peak):                        # extension velocity peaking at t_peak
    ...     return 60 * (1 - np.tanh((t - t_peak) / 0.05))
    >>> r = triple_extension(joint(-0.12), joint(-0.08), joint(-0.04), fs, t0_s=-1.5, takeoff_s=0.0)
    >>> r.order, r.proximal_to_distal, round(r.lags_ms["hip_knee"])
    (('hip', 'knee', 'ankle'), True, 40)
    """
    fs = check_fs(fs_hz)
    _check_options(onset, lag_event, tolerance_frames, onset_fraction, peak_fit_fraction, search_before_s)
    angles = {}
    for j, x in zip(JOINTS, (hip_flex_deg, knee_flex_deg, ankle_dorsi_deg), strict=True):
        angles[j] = _check_1d(x, f"{j} angle")
    n = angles["hip"].size
    for j, x in angles.items():
        if x.size != n:
            raise SignalError(f"{j} angle has {x.size} frames and hip {n}; pass equal lengths")
    lo, hi = _search_window(n, fs, takeoff_s, t0_s, search_before_s, search_after_s)
    reach = _filter_reach(fs, lowpass_hz)
    g0, g1 = max(0, lo - reach), min(n, hi + reach)
    filt, vel = _extension_kinematics(angles, fs, g0, g1, lowpass_hz, filter_order)
    ref = float(takeoff_s) if takeoff_s is not None else 0.0
    onset_fn = ONSET_METHODS[onset]
    onset_t, peak_t, peak_v = {}, {}, {}
    for j in JOINTS:
        k, pk, peak_v[j] = _peak(vel[j], lo, hi, subframe, peak_fit_fraction)
        peak_t[j] = t0_s + pk / fs - ref
        oi = onset_fn(vel[j], k, g0, onset_fraction)
        onset_t[j] = t0_s + oi / fs - ref if np.isfinite(oi) else float("nan")
    tol_ms = 1000.0 * tolerance_frames / fs
    pairs = (("hip_knee", "hip", "knee"), ("knee_ankle", "knee", "ankle"))
    peak_lags = {k: 1000.0 * (peak_t[b] - peak_t[a]) for k, a, b in pairs}
    onset_lags = {k: 1000.0 * (onset_t[b] - onset_t[a]) for k, a, b in pairs}
    lags = peak_lags if lag_event == "peak_velocity" else onset_lags
    ev = peak_t if lag_event == "peak_velocity" else onset_t
    # a joint without the event (NaN, e.g. no onset found) goes last: NaN does not sort
    order = tuple(sorted(JOINTS, key=lambda j: (bool(np.isnan(ev[j])), ev[j] if np.isfinite(ev[j]) else 0.0,
                                                JOINTS.index(j))))
    sequence, p2d = _sequence(lags, tol_ms)
    # continuous relative phase from the earliest extension onset to take-off (or the
    # last peak extension velocity without take-off)
    starts = [onset_t[j] for j in JOINTS if np.isfinite(onset_t[j])]
    c0 = (min(starts) if starts else min(peak_t.values()) - 0.1) + ref
    c1 = ref if takeoff_s is not None else max(peak_t.values()) + ref
    i0 = max(g0, int(np.ceil((c0 - t0_s) * fs - 1e-9)))
    i1 = min(g1 - 1, int(np.floor((c1 - t0_s) * fs + 1e-9)))
    crp = _crp_summaries(filt, vel, pairs, i0, i1)
    params = _provenance("triple_extension", {
        "fs_hz": fs, "takeoff_s": None if takeoff_s is None else float(takeoff_s), "t0_s": t0_s,
        "lowpass_hz": lowpass_hz, "filter_order": filter_order, "search_before_s": search_before_s,
        "search_after_s": search_after_s, "onset": onset, "onset_fraction": onset_fraction,
        "lag_event": lag_event, "tolerance_frames": tolerance_frames, "tolerance_ms": tol_ms,
        "subframe": subframe, "peak_fit_fraction": peak_fit_fraction,
        "velocity": "central differences of the filtered angle, extension +",
        "crp": "Hamill 1999 phase plane, angle scaled to [-1, 1] and velocity by its max over the window"})
    return TripleExtension(onset_t, peak_t, peak_v, lags, onset_lags, peak_lags, order, sequence, p2d,
                           crp, (c0 - ref, c1 - ref), None if takeoff_s is None else float(takeoff_s),
                           params)
