"""Gait events over ground: strikes and toe-offs from markers, refined by force plates.

On an over-ground walkway a plate holds one foot's contact now and then; the strides
between come from the markers. :func:`overground_contacts` takes both feet's marker
events and every plate's contacts, gives each plate contact to the foot whose marker
strike is nearest in time, and keeps the plate's strike and toe-off (the force is the
direct measurement) in place of that foot's marker events.

Marker events: a strike when the heel marker's speed falls below ``heel_speed_m_s``
(a velocity-threshold rule after Ghoussayni et al. 2004), a toe-off at the toe's
furthest position behind the pelvis (Zeni et al. 2008). Zeni's strike (heel furthest
forward) comes 50-60 ms before the heel lands in walking, so it is not used for strikes.

:func:`plate_ap_reaction` gives a plate contact's antero-posterior ground reaction
(braking and propulsion) without the plate's place in the lab: the horizontal load swings
along the line of progression, and the foot's centre of pressure, travelling heel to toe,
says which way is forward.

Numpy in, numbers out; definitions in ``docs/science.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal._checks import check_fs
from labkit.signal._kinematics_common import _check_points, _lowpass
from labkit.signal.kinematics_gait import Contacts, foot_contacts_from_markers

__all__ = ["heel_strikes_from_speed", "marker_contacts", "overground_contacts", "plate_ap_reaction"]


def _finite_span(*arrays: np.ndarray) -> slice:
    """The longest run of frames where every array is finite."""
    ok = np.all([np.all(np.isfinite(a), axis=1) for a in arrays], axis=0)
    if not ok.any():
        return slice(0, 0)
    d = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    on, off = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    k = int(np.argmax(off - on))
    return slice(int(on[k]), int(off[k]))


def heel_strikes_from_speed(heel_m: Any, fs_hz: float, *, heel_speed_m_s: float = 0.5,
                            lowpass_hz: float | None = 7.0, min_interval_s: float = 0.4,
                            t0_s: float = 0.0) -> np.ndarray:
    """Strike times of one foot: where its heel marker's speed falls below a threshold.

    Parameters
    ----------
    heel_m : array_like, shape (n, 3)
        Heel marker (m); NaN frames raise (pass a finite span).
    fs_hz : float
    heel_speed_m_s : float
        The speed below which the heel is planted (default 0.5 m/s).
    lowpass_hz : float or None
        Zero-lag low-pass of the positions before differentiating (default 7 Hz).
    min_interval_s : float
        Two strikes of one foot are at least this far apart.
    t0_s : float
        Time of the first frame.

    Returns
    -------
    numpy.ndarray
        Strike times (s), interpolated between frames.
    """
    fs = check_fs(fs_hz)
    heel = _check_points(heel_m, "heel_m")
    if not np.all(np.isfinite(heel)):
        raise SignalError("heel_m has NaN frames; pass a span without gaps (or fill them)")
    if not heel_speed_m_s > 0:
        raise SignalError(f"heel_speed_m_s={heel_speed_m_s!r} must be positive")
    p = np.column_stack([_lowpass(heel[:, i], fs, lowpass_hz) for i in range(3)])
    speed = np.linalg.norm(np.gradient(p, 1.0 / fs, axis=0), axis=1)
    out: list[float] = []
    for i in np.flatnonzero((speed[:-1] >= heel_speed_m_s) & (speed[1:] < heel_speed_m_s)):
        x = i + (speed[i] - heel_speed_m_s) / (speed[i] - speed[i + 1])
        if not out or (x / fs - out[-1]) >= min_interval_s:
            out.append(x / fs)
    return np.asarray(out, dtype=float) + t0_s


def marker_contacts(heel_m: Any, toe_m: Any, pelvis_m: Any, fs_hz: float, *, heel_speed_m_s: float = 0.5,
                    progression: str | float = "auto", t0_s: float = 0.0) -> Contacts:
    """One foot's contacts from markers: heel-speed strikes, Zeni toe-offs.

    Only the longest span of frames where the three markers are all seen is used. Each
    strike pairs with the first toe-off after it and before the next strike; a strike
    without one keeps a NaN toe-off (its stride still counts).

    Returns
    -------
    Contacts
        ``params["method"]`` names the rules.
    """
    fs = check_fs(fs_hz)
    heel = _check_points(heel_m, "heel_m")
    toe = _check_points(toe_m, "toe_m", heel.shape[0])
    pel = _check_points(pelvis_m, "pelvis_m", heel.shape[0])
    span = _finite_span(heel, toe, pel)
    t_span = t0_s + span.start / fs
    if span.stop - span.start < round(0.5 * fs):
        return Contacts(np.empty(0), np.empty(0), {"method": "markers", "frames": 0})
    strikes = heel_strikes_from_speed(heel[span], fs, heel_speed_m_s=heel_speed_m_s, t0_s=t_span)
    zeni = foot_contacts_from_markers(heel[span], toe[span], pel[span], fs, progression=progression,
                                      t0_s=t_span)
    toe_offs = np.unique(zeni.off_s)
    offs = []
    for k, a in enumerate(strikes):
        nxt = strikes[k + 1] if k + 1 < strikes.size else math.inf
        later = toe_offs[(toe_offs > a) & (toe_offs < nxt)]
        offs.append(float(later[0]) if later.size else math.nan)
    params = {"function": "labkit.signal.gait_events.marker_contacts", "labkit_version": __version__,
              "fs_hz": fs, "heel_speed_m_s": heel_speed_m_s, "frames": [span.start, span.stop],
              "method": "heel speed threshold (strikes), Zeni 2008 (toe-offs)"}
    return Contacts(strikes, np.asarray(offs, dtype=float), params)


def overground_contacts(markers: Mapping[str, Contacts], plates: Sequence[Contacts], *,
                        max_offset_s: float = 0.1) -> tuple[dict[str, Contacts], list[dict[str, Any]]]:
    """Both feet's contacts: marker events, with each plate's contacts put in their place.

    Parameters
    ----------
    markers : mapping
        ``{"l": Contacts, "r": Contacts}`` from :func:`marker_contacts`.
    plates : sequence of Contacts
        Each plate's contacts (e.g. :func:`labkit.signal.gait_running.contacts_from_force`).
    max_offset_s : float
        A plate strike belongs to the foot with the nearest marker strike within this
        time; a plate contact with none that near (a foot the markers did not see) is
        left out.

    Returns
    -------
    contacts : dict
        Side -> Contacts, sorted by strike.
    assigned : list of dict
        Per plate contact: ``plate`` (index), ``side``, ``strike_s``, ``off_s``,
        ``replaced_strike_s`` (the marker strike it replaced, NaN if none).
    """
    strike = {s: list(map(float, c.strike_s)) for s, c in markers.items()}
    off = {s: list(map(float, c.off_s)) for s, c in markers.items()}
    assigned = []
    for k, pc in enumerate(plates):
        for a, b in zip(pc.strike_s, pc.off_s, strict=True):
            best, side, idx = math.inf, None, None
            for s in strike:
                for i, x in enumerate(strike[s]):
                    if abs(x - a) < best:
                        best, side, idx = abs(x - a), s, i
            if side is None or best > max_offset_s:
                continue
            replaced = strike[side][idx]
            strike[side][idx], off[side][idx] = float(a), float(b)
            assigned.append({"plate": k, "side": side, "strike_s": float(a), "off_s": float(b),
                             "replaced_strike_s": replaced})
    out = {}
    for s in strike:
        o = np.argsort(strike[s])
        out[s] = Contacts(np.asarray(strike[s])[o], np.asarray(off[s])[o],
                          {"method": "markers with force plates", "plates": len(plates)})
    return out, assigned


def plate_ap_reaction(fx_n: Any, fy_n: Any, fz_n: Any, mx_nm: Any, my_nm: Any, *,
                      fz_min_n: float = 50.0, min_travel_m: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Antero-posterior ground reaction of one foot's contact on a plate, + forward.

    The line is the principal axis of the horizontal load over the contact (it swings
    from braking to propulsion along the line of progression); its forward sense is the
    way the centre of pressure travels (heel to toe), from its median over 15-35 % of the
    loaded samples to its median over 65-85 %. No lab geometry is needed, and a plate
    turned any way round in the walkway gives the same answer.

    Parameters
    ----------
    fx_n, fy_n, fz_n : array_like
        The load on the plate in the plate's frame over one contact (labkit's force
        channels ``fpN.Fx``, ``fpN.Fy``, ``fpN.Fz``; Fz > 0 under the foot), N.
    mx_nm, my_nm : array_like
        Its moments about the plate's measurement origin, N.m (``fpN.Mx``, ``fpN.My``).
    fz_min_n : float
        Samples with less vertical load are not used for the centre of pressure.
    min_travel_m : float
        Shortest centre-of-pressure travel along that line that gives the sense.

    Returns
    -------
    ap_n : numpy.ndarray
        The ground reaction on the foot along the forward direction (N; negative:
        braking), one value per sample.
    forward : numpy.ndarray
        (2,) the unit forward direction in the plate's x-y frame.

    Raises
    ------
    labkit.errors.SignalError
        Fewer than 10 loaded samples, or a centre of pressure that travels less than
        ``min_travel_m`` along the line (a foot standing still has no forward sense).
    """
    fx, fy, fz, mx, my = (np.asarray(v, dtype=np.float64).reshape(-1)
                          for v in (fx_n, fy_n, fz_n, mx_nm, my_nm))
    if not fx.size == fy.size == fz.size == mx.size == my.size:
        raise SignalError(f"plate_ap_reaction: channels of different lengths "
                          f"({fx.size}, {fy.size}, {fz.size}, {mx.size}, {my.size}); "
                          "pass one contact's samples")
    loaded = np.flatnonzero(np.isfinite(fz) & (fz >= fz_min_n))
    if loaded.size < 10:
        raise SignalError(f"plate_ap_reaction: {loaded.size} samples above fz_min_n={fz_min_n} N; "
                          "a contact needs at least 10")
    cop = np.column_stack([-my[loaded] / fz[loaded], mx[loaded] / fz[loaded]])
    n = loaded.size
    early = np.nanmedian(cop[int(0.15 * n):max(int(0.35 * n), int(0.15 * n) + 1)], axis=0)
    late = np.nanmedian(cop[int(0.65 * n):max(int(0.85 * n), int(0.65 * n) + 1)], axis=0)
    travel = late - early
    # the line: the principal axis of the horizontal load, which swings from braking to
    # propulsion along the line of progression (the centre of pressure's own path follows
    # the toed-out foot, and the shear moves it by Fx * depth / Fz when the moments are
    # about an origin below the surface); its sense: the way the centre of pressure goes
    h = np.column_stack([fx[loaded], fy[loaded]])
    h = h[np.all(np.isfinite(h), axis=1)]
    if h.shape[0] < 10:
        raise SignalError("plate_ap_reaction: fewer than 10 loaded samples with finite Fx and Fy")
    axis = np.linalg.svd(h - h.mean(axis=0), full_matrices=False)[2][0]
    along = float(travel @ axis)
    if not math.isfinite(along) or abs(along) < min_travel_m:
        raise SignalError(f"plate_ap_reaction: the centre of pressure travels {abs(along):.3f} m along "
                          f"the shear (< min_travel_m={min_travel_m} m), so the contact has no forward "
                          "direction")
    forward = axis if along > 0 else -axis
    # the reaction on the foot is minus the load on the plate
    return -(fx * forward[0] + fy * forward[1]), forward
