"""Running (and walking) strides: events, per-stride kinematics, forces, EMG timing.

Numpy in, numbers out. The stages:

* :func:`contacts_from_force`: each foot's strikes and toe-offs from its own vertical
  force (one belt of an instrumented treadmill, or an over-ground plate), the threshold
  crossings carried along the force's slope to the zero line;
* :func:`stride_table`: one row per stride and side (strike to the next strike of the
  same foot): stride, step, contact, swing and flight times, duty factor, cadence;
* :func:`stride_kinematics`, :func:`stride_forces`, :func:`stride_emg_timing`: the
  stride's joint and pelvis angles, ground reaction force peaks and impulses, and EMG
  burst timing relative to the strike;
* :func:`stride_curves`: any signal over the normalised stride (0-100 %);
* :func:`running_analysis`: all of it, with per-side means and SDs and left/right
  asymmetry by a formula of :data:`labkit.signal.force_limbs.ASYMMETRY_FORMULAS`.

Definitions and sources: ``docs/science.md`` (Running and gait strides).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal._checks import check_fs
from labkit.signal.force_limbs import ASYMMETRY_FORMULAS, asymmetry
from labkit.signal.kinematics_gait import Contacts, foot_contacts_from_force

__all__ = [
    "SIDE_NAMES",
    "RunningResult",
    "contacts_from_force",
    "running_analysis",
    "stride_curves",
    "stride_emg_timing",
    "stride_forces",
    "stride_kinematics",
    "stride_table",
]

SIDE_NAMES = {"l": "left", "r": "right"}
#: the angles whose mean curves over the stride a result keeps (per side)
CURVE_ANGLES = ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "pelvic_obliquity")
#: knee flexion "at mid-stance" is its peak over this first fraction of the stance
MIDSTANCE_END = 0.6
#: the furthest a strike or toe-off is carried from its threshold crossing to 0 N (s)
MAX_EXTRAPOLATION_S = 0.02
#: the per-stride metrics summarised per side (means, SDs, asymmetry) when present
SIDED_METRICS = (
    "stride_time_s", "step_time_s", "contact_time_s", "swing_time_s", "flight_time_s",
    "duty_factor", "cadence_steps_min", "peak_hip_extension_deg", "hip_extension_at_toe_off_deg",
    "knee_flexion_at_contact_deg", "knee_flexion_midstance_deg", "ankle_dorsiflexion_at_contact_deg",
    "pelvic_drop_peak_deg", "pelvic_drop_range_deg", "pelvic_tilt_range_deg",
    "pelvis_rotation_range_deg", "thorax_rotation_range_deg", "pelvis_thorax_phase_deg",
    "vertical_peak_n", "vertical_impulse_ns", "braking_peak_n", "braking_impulse_ns",
    "propulsive_peak_n", "propulsive_impulse_ns")


def _provenance(function: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"function": f"labkit.signal.gait_running.{function}", "labkit_version": __version__, **params}


def contacts_from_force(fz_n: Any, fs_hz: float, *, threshold_n: float = 20.0, min_contact_s: float = 0.05,
                        min_gap_s: float = 0.05, fit_samples: int = 5, t0_s: float = 0.0) -> Contacts:
    """One foot's strikes and toe-offs from its vertical force, at the zero-force line.

    Contacts are found as in :func:`labkit.signal.kinematics.foot_contacts_from_force`
    (runs above ``threshold_n``); each strike is then carried back from the threshold
    to 0 N along the least-squares line through the first ``fit_samples`` samples above
    the threshold, each toe-off forward along the line through the last ones (at most
    :data:`MAX_EXTRAPOLATION_S` from the crossing, and never past the sample where the
    measured force reaches 0 N): the time the foot touches and leaves, not when the force
    passes the threshold, which would shorten every contact by the rise and fall times to
    20 N.

    Parameters
    ----------
    fz_n : array_like, shape (n,)
        Vertical force under one foot (N).
    fs_hz : float
        Sample rate.
    fit_samples : int
        Samples of the rise (and of the fall) the line is fitted to (default 5).
    threshold_n, min_contact_s, min_gap_s, t0_s
        As in :func:`~labkit.signal.kinematics.foot_contacts_from_force`.

    Returns
    -------
    Contacts
    """
    fs = check_fs(fs_hz)
    f = np.asarray(fz_n, dtype=float)
    c = foot_contacts_from_force(f, fs, threshold_n=threshold_n, min_contact_s=min_contact_s,
                                 min_gap_s=min_gap_s, t0_s=t0_s)
    k = int(fit_samples)
    if k < 2:
        raise SignalError(f"fit_samples={fit_samples!r} must be at least 2")
    shift = MAX_EXTRAPOLATION_S * fs
    strikes, offs = [], []
    for a, b in zip(c.strike_s, c.off_s, strict=True):
        xa, xb = (a - t0_s) * fs, (b - t0_s) * fs
        i = math.ceil(xa)  # first sample above the threshold
        j = math.floor(xb)  # last sample above the threshold
        if j - i + 1 >= 2 * k:
            strikes.append(_to_zero(f, np.arange(i, i + k), xa, -1, shift) / fs + t0_s)
            offs.append(_to_zero(f, np.arange(j - k + 1, j + 1), xb, +1, shift) / fs + t0_s)
        else:  # too short to fit: the threshold crossings
            strikes.append(a)
            offs.append(b)
    params = _provenance("contacts_from_force", {
        "fs_hz": fs, "threshold_n": threshold_n, "min_contact_s": min_contact_s, "min_gap_s": min_gap_s,
        "fit_samples": k, "t0_s": t0_s,
        "method": "force threshold, extrapolated to 0 N along the fitted slope"})
    return Contacts(np.asarray(strikes, dtype=float), np.asarray(offs, dtype=float), params)


def _to_zero(f: np.ndarray, idx: np.ndarray, x_cross: float, direction: int, max_shift: float) -> float:
    """Where the line fitted to ``f[idx]`` reaches 0 (fractional sample), within
    ``max_shift`` samples of the threshold crossing ``x_cross`` on the ``direction`` side
    (-1 before)."""
    idx = idx[(idx >= 0) & (idx < f.size)]
    if idx.size < 2:
        return x_cross
    slope, icpt = np.polyfit(idx.astype(float), f[idx], 1)
    if slope * -direction <= 0:  # not rising into the contact (or falling out of it)
        return x_cross
    x0 = -icpt / slope
    lo, hi = (x_cross - max_shift, x_cross) if direction < 0 else (x_cross, x_cross + max_shift)
    # never past where the measured force itself reaches 0 N: a walk's slow, convex
    # roll-off puts the fitted line's zero beyond it (PiG_Motion3_FF: 8.531 s against the
    # plate's own 8.520 s)
    zero = _measured_zero(f, x_cross, direction)
    if direction < 0:
        lo = max(lo, zero)
    else:
        hi = min(hi, zero)
    return float(min(max(x0, lo), hi))


def _measured_zero(f: np.ndarray, x_cross: float, direction: int) -> float:
    """The fractional sample where ``f`` first reaches 0 going from the threshold crossing
    ``x_cross`` outwards (``direction`` -1: backwards to the strike), interpolated between
    the last positive and the first non-positive sample; +-inf when it never does."""
    if direction > 0:
        i = math.floor(x_cross) + 1
        tail = np.flatnonzero(f[i:] <= 0)
        if not tail.size:
            return math.inf
        j = i + int(tail[0])
        return j - f[j] / (f[j] - f[j - 1]) if j > 0 and f[j - 1] > 0 else float(j)
    i = math.ceil(x_cross) - 1
    head = np.flatnonzero(f[: i + 1] <= 0)
    if not head.size:
        return -math.inf
    j = int(head[-1])
    return j + f[j] / (f[j] - f[j + 1]) if j + 1 < f.size and f[j + 1] > 0 else float(j)


def stride_table(contacts: Mapping[str, Contacts]):
    """One row per stride and side: strike to the next strike of the same foot.

    Parameters
    ----------
    contacts : mapping
        ``{"l": Contacts, "r": Contacts}`` (same time base).

    Returns
    -------
    pandas.DataFrame
        Columns ``side`` (``l``/``r``), ``stride`` (0, 1, ... per side), ``strike_s``,
        ``off_s``, ``next_strike_s``, ``stride_time_s``, ``contact_time_s``,
        ``swing_time_s``, ``duty_factor`` (contact / stride), ``step_time_s`` (this strike
        to the other foot's next strike; NaN without one inside the stride),
        ``flight_time_s`` (this toe-off to the other foot's next strike, 0 when that
        foot landed before this one left: walking), ``cadence_steps_min`` (60 / step).
    """
    import pandas as pd

    rows = []
    for side, c in contacts.items():
        other = contacts.get("r" if side == "l" else "l")
        o_strikes = other.strike_s if other is not None else np.array([])
        s, off = np.asarray(c.strike_s), np.asarray(c.off_s)
        for k in range(s.size - 1):
            a, b, nxt = float(s[k]), float(off[k]), float(s[k + 1])
            later = o_strikes[(o_strikes > a) & (o_strikes < nxt)]
            step = float(later[0] - a) if later.size else math.nan
            after_off = o_strikes[o_strikes > a]
            ok = after_off.size and after_off[0] < nxt and math.isfinite(b)
            flight = max(0.0, float(after_off[0]) - b) if ok else math.nan
            st = nxt - a
            rows.append({"side": side, "stride": k, "strike_s": a, "off_s": b, "next_strike_s": nxt,
                         "stride_time_s": st, "contact_time_s": b - a, "swing_time_s": nxt - b,
                         "duty_factor": (b - a) / st, "step_time_s": step, "flight_time_s": flight,
                         "cadence_steps_min": 60.0 / step if step > 0 else math.nan})
    cols = ["side", "stride", "strike_s", "off_s", "next_strike_s", "stride_time_s", "contact_time_s",
            "swing_time_s", "duty_factor", "step_time_s", "flight_time_s", "cadence_steps_min"]
    df = pd.DataFrame(rows, columns=cols)
    df.attrs["params"] = _provenance("stride_table", {"sides": list(contacts)})
    return df


def _times(n: int, fs: float, t0: float) -> np.ndarray:
    return t0 + np.arange(n) / fs


def _window(t: np.ndarray, x: np.ndarray, a: float, b: float) -> np.ndarray:
    m = (t >= a) & (t <= b) & np.isfinite(x)
    return x[m]


def _at(t: np.ndarray, x: np.ndarray, when: float) -> float:
    if not (t[0] <= when <= t[-1]):
        return math.nan
    return float(np.interp(when, t, x))


def _range(v: np.ndarray) -> float:
    return float(np.max(v) - np.min(v)) if v.size else math.nan


def _harmonic_phase_deg(t: np.ndarray, x: np.ndarray, a: float, b: float) -> complex:
    """The stride-frequency Fourier component of x over [a, b) (for phase relations)."""
    m = (t >= a) & (t < b) & np.isfinite(x)
    if m.sum() < 4:
        return complex(math.nan, math.nan)
    ph = 2 * np.pi * (t[m] - a) / (b - a)
    return complex(np.sum(x[m] * np.exp(-1j * ph)))


def stride_kinematics(table, angles: Mapping[str, Any], fs_hz: float, *, t0_s: float = 0.0):
    """Per-stride joint and pelvis angles added to a :func:`stride_table`.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`stride_table`.
    angles : mapping
        Angle series in degrees, all at ``fs_hz`` from ``t0_s``, any of:
        ``hip_flexion_<s>``, ``knee_flexion_<s>``, ``ankle_dorsiflexion_<s>`` (Plug-in
        Gait signs, ``<s>`` = ``l``/``r``), ``pelvic_obliquity_<s>`` (that side up +, as
        :func:`labkit.signal.kinematics.pelvis_angles` with ``side=<s>``),
        ``pelvic_tilt`` (anterior +), ``pelvis_rotation`` and ``thorax_rotation`` (one
        sign convention for both, e.g. the right side forward +).
    fs_hz : float
    t0_s : float
        Time of the first sample (the table's time base).

    Returns
    -------
    pandas.DataFrame
        A copy with, where the series exist: ``peak_hip_extension_deg`` (the largest
        extension, = -min flexion, during the stance), ``hip_extension_at_toe_off_deg``,
        ``knee_flexion_at_contact_deg``, ``knee_flexion_midstance_deg`` (the peak knee
        flexion over the first :data:`MIDSTANCE_END` of the stance: loading and
        mid-stance, before a walk's pre-swing flexion), ``ankle_dorsiflexion_at_contact_deg``,
        ``pelvic_drop_peak_deg`` (the peak of the stance side's obliquity during its
        stance: how far the swing side dropped), ``pelvic_drop_range_deg`` (its range in
        stance), ``pelvic_tilt_range_deg``, ``pelvis_rotation_range_deg``,
        ``thorax_rotation_range_deg`` (over the stride) and ``pelvis_thorax_phase_deg``
        (thorax minus pelvis phase of their stride-frequency components, -180..180;
        about 180 when they counter-rotate).
    """
    fs = check_fs(fs_hz)
    series = {k: np.asarray(v, dtype=float) for k, v in angles.items()}
    lengths = {v.size for v in series.values()}
    if len(lengths) > 1:
        raise SignalError(f"angles have different lengths {sorted(lengths)}; pass series of one length")
    out = table.copy()
    if not series:
        return out
    t = _times(lengths.pop(), fs, t0_s)
    cols: dict[str, list[float]] = {}

    def put(name: str, value: float) -> None:
        cols.setdefault(name, []).append(value)

    for row in table.itertuples(index=False):
        s, a, b, nxt = row.side, row.strike_s, row.off_s, row.next_strike_s
        hip = series.get(f"hip_flexion_{s}")
        if hip is not None:
            w = _window(t, hip, a, b)
            put("peak_hip_extension_deg", -float(np.min(w)) if w.size else math.nan)
            put("hip_extension_at_toe_off_deg", -_at(t, hip, b))
        knee = series.get(f"knee_flexion_{s}")
        if knee is not None:
            w = _window(t, knee, a, a + MIDSTANCE_END * (b - a))
            put("knee_flexion_at_contact_deg", _at(t, knee, a))
            put("knee_flexion_midstance_deg", float(np.max(w)) if w.size else math.nan)
        ankle = series.get(f"ankle_dorsiflexion_{s}")
        if ankle is not None:
            put("ankle_dorsiflexion_at_contact_deg", _at(t, ankle, a))
        obl = series.get(f"pelvic_obliquity_{s}")
        if obl is not None:
            w = _window(t, obl, a, b)
            put("pelvic_drop_peak_deg", float(np.max(w)) if w.size else math.nan)
            put("pelvic_drop_range_deg", _range(w))
        for key, name in (("pelvic_tilt", "pelvic_tilt_range_deg"),
                          ("pelvis_rotation", "pelvis_rotation_range_deg"),
                          ("thorax_rotation", "thorax_rotation_range_deg")):
            if key in series:
                put(name, _range(_window(t, series[key], a, nxt)))
        if "pelvis_rotation" in series and "thorax_rotation" in series:
            zp = _harmonic_phase_deg(t, series["pelvis_rotation"], a, nxt)
            zt = _harmonic_phase_deg(t, series["thorax_rotation"], a, nxt)
            d = np.angle(zt / zp, deg=True) if abs(zp) > 0 and abs(zt) > 0 else math.nan
            put("pelvis_thorax_phase_deg", float(d))
    for name, values in cols.items():
        out[name] = values
    out.attrs["params"] = {**table.attrs.get("params", {}), "kinematics": _provenance(
        "stride_kinematics", {"fs_hz": fs, "t0_s": t0_s, "series": sorted(series)})}
    return out


def stride_forces(table, forces: Mapping[str, Mapping[str, Any]], fs_hz: float, *, t0_s: float = 0.0):
    """Per-stride ground reaction force peaks and impulses of the stance foot.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`stride_table`.
    forces : mapping
        Side -> ``{"fz": vertical (N), "fap": antero-posterior (N, + forward: the
        direction of running)}``; ``fap`` may be missing.
    fs_hz, t0_s
        Rate and first-sample time of the forces.

    Returns
    -------
    pandas.DataFrame
        A copy with ``vertical_peak_n``, ``vertical_impulse_ns`` and, with ``fap``,
        ``braking_peak_n``, ``braking_impulse_ns`` (the backward part, reported
        positive), ``propulsive_peak_n``, ``propulsive_impulse_ns``.
    """
    from scipy.integrate import trapezoid

    fs = check_fs(fs_hz)
    out = table.copy()
    # a stride without force (its foot off the plates, or a side without a plate) keeps NaN
    cols: dict[str, np.ndarray] = {}

    def put(name: str, i: int, value: float) -> None:
        cols.setdefault(name, np.full(len(table), np.nan))[i] = value

    for i, row in enumerate(table.itertuples(index=False)):
        f = forces.get(row.side)
        if f is None:
            continue
        fz = np.asarray(f["fz"], dtype=float)
        t = _times(fz.size, fs, t0_s)
        m = (t >= row.strike_s) & (t <= row.off_s)
        if not m.any():
            continue
        put("vertical_peak_n", i, float(np.max(fz[m])))
        put("vertical_impulse_ns", i, float(trapezoid(np.clip(fz[m], 0, None), dx=1 / fs)))
        if f.get("fap") is not None:
            fap = np.asarray(f["fap"], dtype=float)[m]
            back, fwd = np.clip(-fap, 0, None), np.clip(fap, 0, None)
            put("braking_peak_n", i, float(np.max(back)))
            put("braking_impulse_ns", i, float(trapezoid(back, dx=1 / fs)))
            put("propulsive_peak_n", i, float(np.max(fwd)))
            put("propulsive_impulse_ns", i, float(trapezoid(fwd, dx=1 / fs)))
    for name, values in cols.items():
        out[name] = values
    out.attrs["params"] = {**table.attrs.get("params", {}), "forces": _provenance(
        "stride_forces", {"fs_hz": fs, "t0_s": t0_s, "sides": sorted(forces)})}
    return out


def stride_emg_timing(table, bursts: Mapping[str, tuple[Any, Any]], *, window_before: float = 0.25):
    """EMG burst onsets and offsets relative to each stride's strike.

    A burst belongs to the stride of its label's side (``<muscle>_<s>``) in whose window
    ``[strike - window_before x stride, next strike - window_before x stride)`` its
    onset falls (so a burst that starts just before the strike, as the glutes' do, is
    that stride's); the first such burst of the stride is kept.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`stride_table`.
    bursts : mapping
        Channel label -> ``(onsets_s, offsets_s)`` (same time base).
    window_before : float
        Fraction of the stride before the strike that still counts (default 0.25).

    Returns
    -------
    pandas.DataFrame
        A copy with ``emg_<label>_onset_ms`` and ``emg_<label>_offset_ms`` (relative to
        the strike, negative before it) and ``emg_<label>_onset_pct`` /
        ``emg_<label>_offset_pct`` (% of the stride); NaN where no burst.
    """
    out = table.copy()
    for label, (on, off) in bursts.items():
        side = label.rpartition("_")[2]
        on, off = np.asarray(on, dtype=float), np.asarray(off, dtype=float)
        vals = {k: [] for k in ("onset_ms", "offset_ms", "onset_pct", "offset_pct")}
        for row in table.itertuples(index=False):
            st = row.stride_time_s
            lo, hi = row.strike_s - window_before * st, row.next_strike_s - window_before * st
            idx = np.flatnonzero((on >= lo) & (on < hi)) if row.side == side else np.array([], int)
            if idx.size:
                i = idx[0]
                rel_on, rel_off = on[i] - row.strike_s, off[i] - row.strike_s
                vals["onset_ms"].append(1e3 * rel_on)
                vals["offset_ms"].append(1e3 * rel_off)
                vals["onset_pct"].append(100 * rel_on / st)
                vals["offset_pct"].append(100 * rel_off / st)
            else:
                for v in vals.values():
                    v.append(math.nan)
        for k, v in vals.items():
            out[f"emg_{label}_{k}"] = v
    return out


def stride_curves(x: Any, fs_hz: float, table, side: str, *, t0_s: float = 0.0,
                  n_points: int = 101) -> np.ndarray:
    """A signal over each stride of ``side``, normalised to 0-100 % of the stride.

    Returns
    -------
    numpy.ndarray, shape (n_strides, n_points)
        Linear interpolation at ``n_points`` equally spaced stride fractions (0 and 100 %
        = the strike and the next strike); rows of strides outside the record are NaN.
    """
    fs = check_fs(fs_hz)
    v = np.asarray(x, dtype=float)
    t = _times(v.size, fs, t0_s)
    rows = table[table["side"] == side]
    frac = np.linspace(0.0, 1.0, n_points)
    out = np.full((len(rows), n_points), np.nan)
    for i, row in enumerate(rows.itertuples(index=False)):
        tt = row.strike_s + frac * (row.next_strike_s - row.strike_s)
        if tt[0] >= t[0] and tt[-1] <= t[-1]:
            out[i] = np.interp(tt, t, v)
    return out


@dataclass(frozen=True)
class RunningResult:
    """What :func:`running_analysis` gave.

    Attributes
    ----------
    strides : pandas.DataFrame
        One row per stride and side (:func:`stride_table` plus the kinematics, forces and
        EMG timing that were given).
    metrics : dict
        ``n_strides_l``/``_r``, ``cadence_steps_min`` (60 / mean step time over both
        feet), ``stride_time_cv``, ``contact_time_s``, ``flight_time_s``,
        ``duty_factor`` (means over both sides), ``walking`` (1.0 when the mean flight
        time is 0: double support instead of flight), per metric and side
        ``left_<m>``/``right_<m>`` (means) and ``left_<m>_sd``, ``asym_<m>_pct``, and
        the sides with the lower peak hip extension and the larger pelvic drop
        (``hip_extension_deficit_side``, ``pelvic_drop_side``).
    flags : tuple of str
        ``too_few_strides``, ``unsteady`` (stride-time CV above the limit).
    params : dict
    curves : dict
        Angle name (``hip_flexion``, ``knee_flexion``, ``ankle_dorsiflexion``,
        ``pelvic_obliquity``) -> side -> array ``(n_strides, 101)`` over 0-100 % of that
        side's strides (:func:`stride_curves`); empty without angles.
    """

    strides: Any
    metrics: dict
    flags: tuple[str, ...]
    params: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.flags

    def to_dict(self) -> dict[str, Any]:
        return {**self.metrics, "flags": list(self.flags), "valid": self.valid}


def _nanmean(v) -> float:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.mean(v)) if v.size else math.nan


def _nansd(v) -> float:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.std(v, ddof=1)) if v.size > 1 else math.nan


def running_analysis(contacts: Mapping[str, Contacts], *, angles: Mapping[str, Any] | None = None,
                     angles_fs_hz: float | None = None, angles_t0_s: float = 0.0,
                     forces: Mapping[str, Mapping[str, Any]] | None = None,
                     force_fs_hz: float | None = None, force_t0_s: float = 0.0,
                     emg_bursts: Mapping[str, tuple[Any, Any]] | None = None,
                     formula: str = "percent_max", min_strides: int = 1,
                     max_stride_time_cv: float = 0.1) -> RunningResult:
    """Stride metrics per side, their means, SDs and left/right asymmetry.

    Parameters
    ----------
    contacts : mapping
        ``{"l": Contacts, "r": Contacts}`` (e.g. :func:`contacts_from_force` per belt).
    angles, angles_fs_hz, angles_t0_s
        Angle series for :func:`stride_kinematics` (optional).
    forces, force_fs_hz, force_t0_s
        Per-side forces for :func:`stride_forces` (optional).
    emg_bursts : mapping, optional
        Label -> (onsets, offsets) for :func:`stride_emg_timing`.
    formula : str
        Asymmetry formula (:data:`~labkit.signal.force_limbs.ASYMMETRY_FORMULAS`).
    min_strides : int
        Fewer complete strides on a side flags ``too_few_strides``.
    max_stride_time_cv : float
        A larger coefficient of variation of the stride times flags ``unsteady``.

    Returns
    -------
    RunningResult
    """
    if formula not in ASYMMETRY_FORMULAS:
        raise SignalError(f"formula={formula!r} is unknown; use one of {', '.join(ASYMMETRY_FORMULAS)}")
    if int(min_strides) < 1:
        raise SignalError(f"min_strides={min_strides!r} must be at least 1")
    table = stride_table(contacts)
    if angles:
        if angles_fs_hz is None:
            raise SignalError("angles need angles_fs_hz (their sample rate)")
        table = stride_kinematics(table, angles, angles_fs_hz, t0_s=angles_t0_s)
    if forces:
        if force_fs_hz is None:
            raise SignalError("forces need force_fs_hz (their sample rate)")
        table = stride_forces(table, forces, force_fs_hz, t0_s=force_t0_s)
    if emg_bursts:
        table = stride_emg_timing(table, emg_bursts)
    m: dict[str, Any] = {}
    n = {s: int((table["side"] == s).sum()) for s in ("l", "r")}
    m["n_strides_l"], m["n_strides_r"] = n["l"], n["r"]
    steps = table["step_time_s"].to_numpy(dtype=float)
    m["cadence_steps_min"] = 60.0 / _nanmean(steps) if np.isfinite(steps).any() else math.nan
    st = table["stride_time_s"].to_numpy(dtype=float)
    m["stride_time_s"] = _nanmean(st)
    m["stride_time_cv"] = _nansd(st) / _nanmean(st) if st.size > 1 else math.nan
    for k in ("contact_time_s", "flight_time_s", "duty_factor"):
        m[k] = _nanmean(table[k])
    m["walking"] = float(m["flight_time_s"] == 0.0) if math.isfinite(m["flight_time_s"]) else math.nan
    emg_cols = [c for c in table.columns if c.startswith("emg_")]
    for col in [c for c in SIDED_METRICS if c in table.columns] + emg_cols:
        if col.startswith("emg_"):  # one side per channel: no left/right pair
            m[col] = _nanmean(table[col])
            m[f"{col}_sd"] = _nansd(table[col])
            continue
        per = {s: table.loc[table["side"] == s, col] for s in ("l", "r")}
        left, right = _nanmean(per["l"]), _nanmean(per["r"])
        m[f"left_{col}"], m[f"right_{col}"] = left, right
        m[f"left_{col}_sd"], m[f"right_{col}_sd"] = _nansd(per["l"]), _nansd(per["r"])
        ok = math.isfinite(left) and math.isfinite(right) and (left != 0 or right != 0)
        m[f"asym_{col}_pct"] = asymmetry(left, right, formula) if ok else math.nan
    for col, key, pick in (("peak_hip_extension_deg", "hip_extension_deficit_side", min),
                           ("pelvic_drop_peak_deg", "pelvic_drop_side", max)):
        vals = {s: m.get(f"{SIDE_NAMES[s]}_{col}", math.nan) for s in ("l", "r")}
        if all(math.isfinite(v) for v in vals.values()):
            m[key] = SIDE_NAMES[pick(vals, key=vals.get)]
    flags = []
    if min(n.values()) < int(min_strides):
        flags.append("too_few_strides")
    if math.isfinite(m["stride_time_cv"]) and m["stride_time_cv"] > max_stride_time_cv:
        flags.append("unsteady")
    contacts_out = {s: {"strike_s": [float(x) for x in c.strike_s], "off_s": [float(x) for x in c.off_s]}
                    for s, c in contacts.items()}
    curves: dict[str, dict[str, np.ndarray]] = {}
    for name in CURVE_ANGLES if angles else ():
        for s in ("l", "r"):
            x = angles.get(f"{name}_{s}")
            if x is not None:
                curves.setdefault(name, {})[s] = stride_curves(x, angles_fs_hz, table, s, t0_s=angles_t0_s)
    params = _provenance("running_analysis", {"contacts": contacts_out,
        "formula": formula, "formula_expression": ASYMMETRY_FORMULAS[formula][1],
        "min_strides": int(min_strides), "max_stride_time_cv": max_stride_time_cv,
        "angles_fs_hz": angles_fs_hz, "force_fs_hz": force_fs_hz, **table.attrs.get("params", {})})
    return RunningResult(table, m, tuple(flags), params, curves)
