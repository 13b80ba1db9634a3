"""Gait: foot contacts from force or markers, cadence and contact times, peak hip
extension in late stance.

Part of :mod:`labkit.signal.kinematics` (import the names from there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import SignalError
from labkit.signal._checks import check_fs
from labkit.signal._kinematics_common import _check_1d, _check_points, _lowpass, _provenance
from labkit.signal.kinematics_angles import _progression_deg

__all__ = [
    "Contacts",
    "GaitSummary",
    "foot_contacts_from_force",
    "foot_contacts_from_markers",
    "gait_summary",
    "peak_hip_extension",
]


@dataclass(frozen=True)
class Contacts:
    """Foot contacts: strike and off times (s, same time base as the input), paired.

    ``strike_s[i] < off_s[i]``; only contacts with both ends inside the record.
    """

    strike_s: np.ndarray
    off_s: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def contact_time_s(self) -> np.ndarray:
        return self.off_s - self.strike_s

    def __len__(self) -> int:
        return int(self.strike_s.size)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def foot_contacts_from_force(fz_n: Any, fs_hz: float, *, threshold_n: float = 20.0,
                             min_contact_s: float = 0.05, min_gap_s: float = 0.05,
                             t0_s: float = 0.0) -> Contacts:
    """Foot contacts on one force plate (or one foot's force) from vertical force.

    A contact is a run of samples with ``Fz > threshold_n`` lasting at least
    ``min_contact_s``; runs separated by less than ``min_gap_s`` merge first. Strike and
    off times are linearly interpolated threshold crossings. Runs touching either end of
    the record are dropped (incomplete).

    Parameters
    ----------
    fz_n : array_like, shape (n,)
        Vertical force in N (NaN raises).
    fs_hz : float
        Sample rate.
    threshold_n : float
        Contact threshold (default 20 N, as for jump take-off).
    min_contact_s, min_gap_s : float
        Debounce (seconds).
    t0_s : float
        Time of the first sample (e.g. the stream's session time).

    Returns
    -------
    Contacts
    """
    fs = check_fs(fs_hz)
    f = _check_1d(fz_n, "fz_n", allow_nan=False)
    above = f > threshold_n
    on, off = _runs(above)
    gap = round(min_gap_s * fs)
    if on.size > 1:
        keep = np.concatenate([[True], (on[1:] - off[:-1]) >= gap])
        on, off = on[keep], np.concatenate([off[:-1][keep[1:]], off[-1:]])
    long = (off - on) >= round(min_contact_s * fs)
    inside = (on > 0) & (off < f.size)
    on, off = on[long & inside], off[long & inside]

    def cross(i0, i1):  # threshold crossing between samples i0 and i1
        y0, y1 = f[i0], f[i1]
        return i0 + (threshold_n - y0) / (y1 - y0)

    strike = np.array([cross(i - 1, i) for i in on], dtype=float) / fs + t0_s
    leave = np.array([cross(i - 1, i) for i in off], dtype=float) / fs + t0_s
    params = _provenance("foot_contacts_from_force", {
        "fs_hz": fs, "threshold_n": threshold_n, "min_contact_s": min_contact_s,
        "min_gap_s": min_gap_s, "t0_s": t0_s, "method": "force threshold"})
    return Contacts(strike, leave, params)


def foot_contacts_from_markers(heel_m: Any, toe_m: Any, pelvis_m: Any, fs_hz: float, *,
                               progression: str | float = "auto", lowpass_hz: float | None = 6.0,
                               min_interval_s: float = 0.4, t0_s: float = 0.0) -> Contacts:
    """Foot strikes and toe-offs of one foot from markers (Zeni et al. 2008).

    Strike: a local maximum of the heel's position relative to the pelvis along the
    progression direction (the foot furthest forward); toe-off: a local minimum of the
    toe's relative position (furthest back). Each strike pairs with the next toe-off.

    Parameters
    ----------
    heel_m, toe_m, pelvis_m : array_like, shape (n, 3)
        Heel, toe and a pelvis point (e.g. mid-PSIS or the pelvis origin), metres. NaN
        raises (fill gaps first).
    fs_hz : float
        Marker rate.
    progression : str or float
        As in :func:`pelvis_angles` (``"auto"``: the pelvis' net horizontal displacement).
    lowpass_hz : float or None
        Zero-lag low-pass of the relative positions (default 6 Hz; None: none).
    min_interval_s : float
        Minimum time between two strikes (or two toe-offs) of the same foot.
    t0_s : float
        Time of the first frame.

    Returns
    -------
    Contacts
    """
    from scipy.signal import find_peaks

    fs = check_fs(fs_hz)
    heel = _check_points(heel_m, "heel_m")
    n = heel.shape[0]
    toe = _check_points(toe_m, "toe_m", n)
    pel = _check_points(pelvis_m, "pelvis_m", n)
    for nm, arr in (("heel_m", heel), ("toe_m", toe), ("pelvis_m", pel)):
        if not np.all(np.isfinite(arr)):
            raise SignalError(f"{nm} has NaN frames; fill gaps (e.g. interpolate) before detecting contacts")
    if isinstance(progression, str) and progression.lower() == "auto":
        d = pel[-1, :2] - pel[0, :2]
        psi = float(np.arctan2(d[1], d[0]))
    else:
        psi = np.deg2rad(_progression_deg(np.zeros((1, 3, 3)), None, progression, 0.0))
    u = np.array([np.cos(psi), np.sin(psi)])
    h = _lowpass((heel[:, :2] - pel[:, :2]) @ u, fs, lowpass_hz)
    t = _lowpass((toe[:, :2] - pel[:, :2]) @ u, fs, lowpass_hz)
    dist = max(1, round(min_interval_s * fs))
    hs, _ = find_peaks(h, distance=dist)
    to, _ = find_peaks(-t, distance=dist)

    def refine(y, i):  # parabolic sub-frame peak
        if 0 < i < y.size - 1:
            den = y[i - 1] - 2 * y[i] + y[i + 1]
            if den != 0:
                return i + 0.5 * (y[i - 1] - y[i + 1]) / den
        return float(i)

    strikes, offs = [], []
    for i in hs:
        later = to[to > i]
        nxt = hs[hs > i]
        if later.size and (nxt.size == 0 or later[0] < nxt[0]):
            strikes.append(refine(h, i))
            offs.append(refine(-t, later[0]))
    params = _provenance("foot_contacts_from_markers", {
        "fs_hz": fs, "progression_deg": float(np.rad2deg(psi)), "lowpass_hz": lowpass_hz,
        "min_interval_s": min_interval_s, "t0_s": t0_s, "method": "Zeni 2008"})
    return Contacts(np.asarray(strikes) / fs + t0_s, np.asarray(offs) / fs + t0_s, params)


@dataclass(frozen=True)
class GaitSummary:
    """Cadence and contact times from foot contacts.

    Attributes
    ----------
    cadence_steps_min : float
        Steps per minute: 60 / mean step time over consecutive strikes of alternate feet
        (one foot only: 120 / mean stride time).
    step_time_s : numpy.ndarray
        Times between consecutive strikes (any foot).
    stride_time_s : dict
        Side -> times between consecutive strikes of that foot.
    contact_time_s : dict
        Side -> contact (stance) times.
    mean_contact_time_s : float
        Mean over both sides' contacts.
    params : dict
    """

    cadence_steps_min: float
    step_time_s: np.ndarray
    stride_time_s: dict
    contact_time_s: dict
    mean_contact_time_s: float
    params: dict = field(default_factory=dict)


def gait_summary(contacts: Mapping[str, Contacts], *, max_step_s: float = 2.0) -> GaitSummary:
    """Cadence (steps/min) and contact times from each foot's contacts.

    Parameters
    ----------
    contacts : mapping
        ``{"l": Contacts, "r": Contacts}`` (one side is enough for a cadence from
        strides).
    max_step_s : float
        Steps (or half strides) longer than this are pauses and left out.

    Returns
    -------
    GaitSummary
    """
    sides = [s for s in contacts if len(contacts[s])]
    if not sides:
        raise SignalError("contacts has no foot strikes; pass at least one side with contacts")
    stride = {s: np.diff(contacts[s].strike_s) for s in contacts}
    ct = {s: contacts[s].contact_time_s for s in contacts}
    if len(sides) >= 2:
        lab = np.concatenate([np.full(len(contacts[s]), i) for i, s in enumerate(sides)])
        tt = np.concatenate([contacts[s].strike_s for s in sides])
        o = np.argsort(tt)
        tt, lab = tt[o], lab[o]
        steps = np.diff(tt)[np.diff(lab) != 0]
        steps = steps[steps <= max_step_s]
        cadence = 60.0 / float(np.mean(steps)) if steps.size else float("nan")
    else:
        st = stride[sides[0]]
        steps = st[st <= 2 * max_step_s] / 2
        cadence = 60.0 / float(np.mean(steps)) if steps.size else float("nan")
    all_ct = np.concatenate([ct[s] for s in contacts])
    params = _provenance("gait_summary", {"max_step_s": max_step_s, "sides": sides})
    return GaitSummary(cadence, steps, stride, ct, float(np.mean(all_ct)) if all_ct.size else float("nan"),
                       params)


def peak_hip_extension(hip_flex_deg: Any, fs_hz: float, contacts: Contacts, *,
                       late_stance_from: float = 0.5, t0_s: float = 0.0):
    """Peak hip extension in late stance of each contact.

    Parameters
    ----------
    hip_flex_deg : array_like, shape (n,)
        Hip flexion of the stance leg (degrees, flexion +).
    fs_hz : float
        Its rate.
    contacts : Contacts
        That foot's contacts (same time base as ``t0_s + i / fs_hz``).
    late_stance_from : float
        Late stance starts at this fraction of each contact (default 0.5).
    t0_s : float
        Time of the first sample.

    Returns
    -------
    pandas.DataFrame
        One row per contact: ``strike_s, off_s, peak_extension_deg`` (= -min flexion,
        extension +), ``time_s``, ``stance_fraction``; NaN where the window holds NaN
        only or lies outside the record. ``attrs["params"]`` holds the parameters.
    """
    import pandas as pd

    fs = check_fs(fs_hz)
    x = _check_1d(hip_flex_deg, "hip_flex_deg")
    if not 0 <= late_stance_from < 1:
        raise SignalError(f"late_stance_from={late_stance_from!r} must be within [0, 1)")
    rows = []
    t = t0_s + np.arange(x.size) / fs
    for a, b in zip(contacts.strike_s, contacts.off_s, strict=True):
        lo = a + late_stance_from * (b - a)
        m = (t >= lo) & (t <= b) & np.isfinite(x)
        if not np.any(m):
            rows.append((a, b, np.nan, np.nan, np.nan))
            continue
        i = np.flatnonzero(m)[np.argmin(x[m])]
        rows.append((a, b, -float(x[i]), float(t[i]), float((t[i] - a) / (b - a))))
    df = pd.DataFrame(rows, columns=["strike_s", "off_s", "peak_extension_deg", "time_s",
                                     "stance_fraction"])
    df.attrs["params"] = _provenance("peak_hip_extension", {
        "fs_hz": fs, "late_stance_from": late_stance_from, "t0_s": t0_s})
    return df
