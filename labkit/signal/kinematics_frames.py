"""Rotations and segment frames: Y-X-Z Cardan angles, frames from Plug-in Gait points,
rigid-body quaternions or the simple marker set, and hip joint centre regressions.

Part of :mod:`labkit.signal.kinematics` (import the names from there; conventions in
its docstring and ``docs/kinematics.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from labkit.errors import SignalError
from labkit.signal._kinematics_common import SEGMENTS, SIDES, _check_points, _check_rot, _unit

__all__ = [
    "FOOT_FORWARD_TO_PIG",
    "GIMBAL_LOCK_POLICIES",
    "HIP_CENTRE_METHODS",
    "MARKER_SETS",
    "SIMPLE_MARKERS",
    "THORAX_MARKERS",
    "cardan_yxz",
    "frames_from_channels",
    "frames_from_markers",
    "frames_from_points",
    "frames_from_quaternions",
    "hip_centres",
    "marker_roles",
    "marker_set",
    "rotation_yxz",
    "thorax_frame",
    "thorax_if_present",
]

# Simple marker set (docs/kinematics.md): role -> default marker name ({S} = L or R)
SIMPLE_MARKERS = {
    "asis": "{S}ASI", "psis": "{S}PSI",
    "knee_lateral": "{S}KNE", "knee_medial": "{S}KNM",
    "ankle_lateral": "{S}ANK", "ankle_medial": "{S}ANM",
    "heel": "{S}HEE", "toe": "{S}TOE",
}

#: Marker sets whose labels labkit maps to the roles of the simple set (docs/devices.md):
#: ``labkit`` (the default and the simulated lab's), ``pig_med`` (Vicon Plug-in Gait lower
#: body with medial knee ``KNM`` and medial malleolus ``MED`` markers, as in CGM2),
#: ``ior`` (Van Sint Jan / Leardini anatomical names used by Qualisys' and OptiTrack's
#: lower-body sets and Visual3D: IAS, IPS, FLE, FME, FAL, TAM, FCC, FM2) and
#: ``ior_underscore`` (the same as ``L_IAS``, ``R_FLE``, ...).
MARKER_SETS: dict[str, dict[str, str]] = {
    "labkit": dict(SIMPLE_MARKERS),
    "pig_med": {**SIMPLE_MARKERS, "ankle_medial": "{S}MED"},
    "ior": {"asis": "{S}IAS", "psis": "{S}IPS", "knee_lateral": "{S}FLE", "knee_medial": "{S}FME",
            "ankle_lateral": "{S}FAL", "ankle_medial": "{S}TAM", "heel": "{S}FCC", "toe": "{S}FM2"},
}
MARKER_SETS["ior_underscore"] = {k: v.replace("{S}", "{S}_") for k, v in MARKER_SETS["ior"].items()}


def marker_set(labels: Any) -> str:
    """The first of :data:`MARKER_SETS` whose every marker is among ``labels``.

    Parameters
    ----------
    labels : iterable of str
        Marker names (e.g. the keys of a markers mapping).

    Returns
    -------
    str
        A key of :data:`MARKER_SETS`.

    Raises
    ------
    SignalError
        When no set is complete; names the markers the closest set misses.

    Examples
    --------
    >>> marker_set(["LIAS", "RIAS", "LIPS", "RIPS"] + [s + m for s in "LR" for m in
    ...            ("FLE", "FME", "FAL", "TAM", "FCC", "FM2")])
    'ior'
    """
    have = set(labels)
    missing = {}
    for key, roles in MARKER_SETS.items():
        need = [v.replace("{S}", side) for v in roles.values() for side in "LR"]
        missing[key] = [n for n in need if n not in have]
        if not missing[key]:
            return key
    best = min(missing, key=lambda k: len(missing[k]))
    raise SignalError(f"the markers fit no supported marker set ({', '.join(MARKER_SETS)}); closest "
                      f"{best!r} misses {missing[best]}; map your labels with names={{role: label}}")


def marker_roles(markers: Any, names: Mapping[str, str] | str | None = "auto") -> dict[str, str]:
    """Role -> marker name template (``{S}`` = ``L``/``R``) of the simple marker set.

    Parameters
    ----------
    markers : iterable of str or mapping
        The marker names present (a mapping's keys).
    names : mapping, str or None
        Role -> name overrides of :data:`SIMPLE_MARKERS`; a key of :data:`MARKER_SETS`;
        ``"auto"`` (default): the first complete set (:func:`marker_set`); None: the
        simple set as it is.

    Returns
    -------
    dict
        Every role of :data:`SIMPLE_MARKERS`.
    """
    if names is None:
        return dict(SIMPLE_MARKERS)
    if isinstance(names, str):
        key = marker_set(markers) if names == "auto" else names
        if key not in MARKER_SETS:
            raise SignalError(f"names={names!r} is not 'auto' or one of {sorted(MARKER_SETS)}")
        return dict(MARKER_SETS[key])
    return {**SIMPLE_MARKERS, **names}


#: Offset rotation from a foot rigid body with x toward the toes, y left and z up (lab
#: aligned when standing flat) to the PiG foot frame (x up, z toward the heel): Ry(-90 deg).
FOOT_FORWARD_TO_PIG = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


# ===================================================================== rotations


def rotation_yxz(a_rad: Any, b_rad: Any, c_rad: Any) -> np.ndarray:
    """Rotation matrices ``Ry(a) @ Rx(b) @ Rz(c)`` (intrinsic Y, then X', then Z'').

    Parameters
    ----------
    a_rad, b_rad, c_rad : array_like, shape (n,)
        Angles about Y, X' and Z'' in radians.

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
    """
    a, b, c = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (a_rad, b_rad, c_rad))
    a, b, c = np.broadcast_arrays(a, b, c)
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    r = np.empty((*a.shape, 3, 3))
    r[..., 0, 0] = ca * cc + sa * sb * sc
    r[..., 0, 1] = -ca * sc + sa * sb * cc
    r[..., 0, 2] = sa * cb
    r[..., 1, 0] = cb * sc
    r[..., 1, 1] = cb * cc
    r[..., 1, 2] = -sb
    r[..., 2, 0] = -sa * cc + ca * sb * sc
    r[..., 2, 1] = sa * sc + ca * sb * cc
    r[..., 2, 2] = ca * cb
    return r


def _lock_nan(a, b, c, r, lock, sgn):
    a, b, c = a.copy(), b.copy(), c.copy()
    a[lock] = b[lock] = c[lock] = np.nan
    return a, b, c


def _lock_raise(a, b, c, r, lock, sgn):
    i = int(np.flatnonzero(lock)[0])
    raise SignalError(f"frame {i}: second Cardan angle is {np.rad2deg(b[i]):.4f} deg (gimbal lock); "
                      "check the segment frames or pass on_gimbal_lock='nan' or 'split'")


def _lock_split(a, b, c, r, lock, sgn):
    a, b, c = a.copy(), b.copy(), c.copy()
    s = np.sign(b[lock])
    a[lock] = np.arctan2(s * r[lock, 0, 1], r[lock, 0, 0])
    b[lock] = s * np.pi / 2
    c[lock] = 0.0
    return a, b, c


#: What to do where the second angle is within ``gimbal_tol_deg`` of +-90 deg (the first
#: and third axes align and only their sum/difference is defined): ``"nan"`` gives NaN in
#: all three angles of those frames, ``"raise"`` raises SignalError naming the first such
#: frame, ``"split"`` sets the third angle to 0 and puts the whole rotation in the first.
GIMBAL_LOCK_POLICIES: dict[str, Callable] = {"nan": _lock_nan, "raise": _lock_raise,
                                             "split": _lock_split}


def cardan_yxz(r: Any, *, on_gimbal_lock: str = "nan", gimbal_tol_deg: float = 1e-3) -> np.ndarray:
    """Intrinsic Y-X-Z Cardan angles (radians) of rotation matrices: ``r = Ry(a) Rx(b) Rz(c)``.

    Parameters
    ----------
    r : array_like, shape (n, 3, 3)
        Rotation matrices (NaN propagates).
    on_gimbal_lock : str
        Key of :data:`GIMBAL_LOCK_POLICIES` (default ``"nan"``).
    gimbal_tol_deg : float
        Frames with ``|b|`` within this many degrees of 90 are treated as locked. Outside
        it the angles are exact to rounding (about ``1e-16 / cos(b)`` rad).

    Returns
    -------
    numpy.ndarray, shape (n, 3)
        ``a`` in (-pi, pi], ``b`` in [-pi/2, pi/2], ``c`` in (-pi, pi].
    """
    if on_gimbal_lock not in GIMBAL_LOCK_POLICIES:
        raise SignalError(f"on_gimbal_lock={on_gimbal_lock!r} is not one of {sorted(GIMBAL_LOCK_POLICIES)}")
    tol = float(gimbal_tol_deg)
    if not (np.isfinite(tol) and 0 <= tol < 45):
        raise SignalError(f"gimbal_tol_deg={gimbal_tol_deg!r} must be within [0, 45) degrees")
    rr = _check_rot(r, "r")
    cb = np.hypot(rr[:, 1, 0], rr[:, 1, 1])
    b = np.arctan2(-rr[:, 1, 2], cb)
    a = np.arctan2(rr[:, 0, 2], rr[:, 2, 2])
    c = np.arctan2(rr[:, 1, 0], rr[:, 1, 1])
    lock = cb <= np.sin(np.deg2rad(tol)) if tol > 0 else cb == 0
    if np.any(lock):
        a, b, c = GIMBAL_LOCK_POLICIES[on_gimbal_lock](a, b, c, rr, lock, None)
    return np.stack([a, b, c], axis=1)


# ===================================================================== segment frames


def frames_from_points(origin: Any, anterior: Any, lateral: Any, proximal: Any) -> np.ndarray:
    """Segment frames from Plug-in Gait segment points (e.g. ``PELO, PELA, PELL, PELP``).

    PiG writes, per segment, its origin ``O`` and three points one unit along its axes:
    anterior ``A`` (X), lateral ``L`` (Y, to the left on both sides) and proximal ``P``
    (Z). Z is taken exactly (``P - O``), X is ``A - O`` made orthogonal to Z, and
    ``Y = Z x X`` (right-handed); ``L`` only checks the handedness.

    Parameters
    ----------
    origin, anterior, lateral, proximal : array_like, shape (n, 3)
        Positions in any length unit (NaN = missing frame).

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
        Columns X, Y, Z of each frame in lab coordinates; NaN where a point is missing.

    Raises
    ------
    SignalError
        On shapes that differ, or when ``L`` lies on the wrong side (a left-handed set).
    """
    o = _check_points(origin, "origin")
    n = o.shape[0]
    a = _check_points(anterior, "anterior", n)
    lat = _check_points(lateral, "lateral", n)
    p = _check_points(proximal, "proximal", n)
    z = _unit(p - o)
    xr = a - o
    x = _unit(xr - np.sum(xr * z, axis=1, keepdims=True) * z)
    y = np.cross(z, x)
    dots = np.sum(y * (lat - o), axis=1)
    if np.nanmedian(dots) < 0 if np.any(np.isfinite(dots)) else False:
        raise SignalError("lateral points lie on the -Y side of (anterior, proximal): the points "
                          "form a left-handed set; pass the segment's O, A, L, P points in that order")
    return np.stack([x, y, z], axis=2)


def frames_from_quaternions(q_wxyz: Any, *, offset: Any = None, normalise: bool = True) -> np.ndarray:
    """Segment frames from rigid-body quaternions (Qualisys/OptiTrack-style streams).

    Parameters
    ----------
    q_wxyz : array_like, shape (n, 4)
        Orientation quaternions ``(w, x, y, z)`` (scalar first) rotating body
        coordinates into the lab (NaN = missing frame).
    offset : array_like, shape (3, 3), optional
        Constant rotation from the PiG segment axes to the body axes' frame, applied on
        the right (``R_segment = R_body @ offset``). Use it when the body's axes are not
        X anterior, Y left, Z proximal; e.g. :data:`FOOT_FORWARD_TO_PIG` for a foot body
        with x toward the toes and z up.
    normalise : bool
        Divide each quaternion by its norm (default True); when False, a norm off by
        more than 1e-6 raises.

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
    """
    q = np.asarray(q_wxyz, dtype=float)
    if q.ndim == 1 and q.shape == (4,):
        q = q[None]
    if q.ndim != 2 or q.shape[1] != 4:
        raise SignalError(f"q_wxyz has shape {np.shape(q_wxyz)}; pass quaternions of shape (n, 4) "
                          "as (w, x, y, z)")
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    if normalise:
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.where(norm > 0, q / norm, np.nan)
    else:
        bad = np.isfinite(norm[:, 0]) & (np.abs(norm[:, 0] - 1) > 1e-6)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise SignalError(f"q_wxyz[{i}] has norm {norm[i, 0]:.6g}; pass unit quaternions or "
                              "normalise=True")
    w, x, y, z = q.T
    r = np.empty((q.shape[0], 3, 3))
    r[:, 0, 0] = 1 - 2 * (y * y + z * z)
    r[:, 0, 1] = 2 * (x * y - w * z)
    r[:, 0, 2] = 2 * (x * z + w * y)
    r[:, 1, 0] = 2 * (x * y + w * z)
    r[:, 1, 1] = 1 - 2 * (x * x + z * z)
    r[:, 1, 2] = 2 * (y * z - w * x)
    r[:, 2, 0] = 2 * (x * z - w * y)
    r[:, 2, 1] = 2 * (y * z + w * x)
    r[:, 2, 2] = 1 - 2 * (x * x + y * y)
    if offset is not None:
        off = np.asarray(offset, dtype=float)
        if off.shape != (3, 3) or not np.allclose(off @ off.T, np.eye(3), atol=1e-9):
            raise SignalError(f"offset must be a 3x3 rotation matrix; got shape {off.shape}")
        r = r @ off
    return r


def _hip_harrington(asis_l, asis_r, psis_l, psis_r, pelvis):
    """Harrington et al. 2007 (J Biomech 40:595), without leg length, in metres."""
    mid_a = 0.5 * (asis_l + asis_r)
    pw = np.linalg.norm(asis_l - asis_r, axis=1)
    pd = np.linalg.norm(mid_a - 0.5 * (psis_l + psis_r), axis=1)
    x = -0.24 * pd - 0.0099
    z = -0.30 * pw - 0.0109
    y = 0.33 * pw + 0.0073
    out = {}
    for side, sgn in (("l", 1.0), ("r", -1.0)):
        local = np.stack([x, sgn * y, z], axis=1)
        out[side] = mid_a + np.einsum("nij,nj->ni", pelvis, local)
    return out


def _hip_bell(asis_l, asis_r, psis_l, psis_r, pelvis):
    """Bell et al. 1990 (Hum Mov Sci 9:3): -19 % PW posterior, 30 % inferior, 36 % lateral."""
    mid_a = 0.5 * (asis_l + asis_r)
    pw = np.linalg.norm(asis_l - asis_r, axis=1)
    out = {}
    for side, sgn in (("l", 1.0), ("r", -1.0)):
        local = np.stack([-0.19 * pw, sgn * 0.36 * pw, -0.30 * pw], axis=1)
        out[side] = mid_a + np.einsum("nij,nj->ni", pelvis, local)
    return out


#: Hip joint centre regressions from the pelvis markers (positions in metres).
HIP_CENTRE_METHODS: dict[str, Callable] = {"harrington": _hip_harrington, "bell": _hip_bell}


def _pelvis_frame(asis_l, asis_r, psis_l, psis_r) -> np.ndarray:
    y = _unit(asis_l - asis_r)
    xr = 0.5 * (asis_l + asis_r) - 0.5 * (psis_l + psis_r)
    x = _unit(xr - np.sum(xr * y, axis=1, keepdims=True) * y)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=2)


def _long_axis_frame(z_vec: np.ndarray, y_ref: np.ndarray) -> np.ndarray:
    z = _unit(z_vec)
    x = _unit(np.cross(y_ref, z))
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=2)


#: Plug-in Gait trunk markers (spinous processes of C7 and T10, the incisura jugularis and
#: the xiphoid process of the sternum): with all four, :func:`frames_from_markers` adds a
#: ``thorax`` frame.
THORAX_MARKERS = ("C7", "T10", "CLAV", "STRN")


def thorax_frame(markers: Mapping[str, Any]) -> np.ndarray:
    """Thorax frames from the Plug-in Gait trunk markers (:data:`THORAX_MARKERS`).

    Plug-in Gait's thorax axes turned to the pelvis' convention: Z from the middle of
    STRN and T10 up to the middle of CLAV and C7, X from the back (mid C7, T10) to the
    front (mid CLAV, STRN) made orthogonal to Z, Y = Z x X (left). PiG itself points Z
    down and Y right (the same frame turned 180 deg about X); labkit reads the thorax's
    rotation as the pelvis', so it needs the same axes.

    Parameters
    ----------
    markers : mapping of str to array_like (n, 3)
        Holding ``C7``, ``T10``, ``CLAV`` and ``STRN`` (m; NaN = missing).

    Returns
    -------
    numpy.ndarray
        (n, 3, 3) frames, columns X, Y, Z.
    """
    missing = [m for m in THORAX_MARKERS if m not in markers]
    if missing:
        raise SignalError(f"thorax_frame needs the trunk markers {list(THORAX_MARKERS)}; missing {missing}")
    c7 = _check_points(markers["C7"], "C7", None)
    t10, clav, strn = (_check_points(markers[m], m, c7.shape[0]) for m in THORAX_MARKERS[1:])
    z = 0.5 * (clav + c7) - 0.5 * (strn + t10)
    forward = 0.5 * (clav + strn) - 0.5 * (c7 + t10)
    return _long_axis_frame(z, np.cross(z, forward))


def thorax_if_present(markers: Mapping[str, Any]) -> np.ndarray | None:
    """:func:`thorax_frame` when the markers hold all of :data:`THORAX_MARKERS` and they
    are usable; else None: a trunk that cannot be built leaves the thorax out, not the
    lower limbs it comes with."""
    if not all(m in markers for m in THORAX_MARKERS):
        return None
    try:
        return thorax_frame(markers)
    except SignalError:
        return None


def _marker(markers: Mapping[str, Any], names: Mapping[str, str], role: str, side: str, n: int | None):
    name = names[role].replace("{S}", side.upper())
    if name not in markers:
        raise SignalError(f"marker {name!r} ({role}, side {side}) is missing; pass it or map the role "
                          f"to your marker name with names={{'{role}': ...}}")
    return _check_points(markers[name], name, n)


def hip_centres(markers: Mapping[str, Any], *, method: str = "harrington",
                names: Mapping[str, str] | str | None = None) -> dict[str, np.ndarray]:
    """Hip joint centres from the pelvis markers by a regression.

    Parameters
    ----------
    markers : mapping of str to array_like (n, 3)
        Marker positions in metres; needs left/right ASIS and PSIS.
    method : str
        Key of :data:`HIP_CENTRE_METHODS`: ``"harrington"`` (Harrington et al. 2007,
        from pelvis width and depth; default) or ``"bell"`` (Bell et al. 1990).
    names : mapping or str, optional
        Role -> marker name overrides of :data:`SIMPLE_MARKERS`, or a key of
        :data:`MARKER_SETS`, or ``"auto"`` (:func:`marker_set`).

    Returns
    -------
    dict
        ``{"l": (n, 3), "r": (n, 3)}`` in metres.
    """
    if method not in HIP_CENTRE_METHODS:
        raise SignalError(f"method={method!r} is not one of {sorted(HIP_CENTRE_METHODS)}")
    nm = marker_roles(markers, names)
    al = _marker(markers, nm, "asis", "l", None)
    n = al.shape[0]
    ar, pl, pr = (_marker(markers, nm, r, s, n) for r, s in (("asis", "r"), ("psis", "l"), ("psis", "r")))
    return HIP_CENTRE_METHODS[method](al, ar, pl, pr, _pelvis_frame(al, ar, pl, pr))


def frames_from_markers(markers: Mapping[str, Any], *, hip_centre: Mapping[str, Any] | None = None,
                        hip_centre_method: str = "harrington",
                        names: Mapping[str, str] | str | None = None) -> dict[str, np.ndarray]:
    """Segment frames (PiG axes) from the simple marker set of ``docs/kinematics.md``.

    * pelvis: origin mid-ASIS; Y from RASI to LASI; X from mid-PSIS to mid-ASIS made
      orthogonal to Y; Z = X x Y;
    * thigh: Z from the knee centre (mid lateral/medial knee) to the hip centre; Y from
      the right epicondyle to the left one (lateral->medial on the right leg,
      medial->lateral on the left), made orthogonal to Z; X = Y x Z;
    * shank: Z from the ankle centre (mid malleoli) to the knee centre; Y from the
      malleoli as for the thigh;
    * foot: Z from the toe to the heel marker (PiG foot: Z toward the heel, X up); Y
      from the shank's Y made orthogonal to Z;
    * thorax, when the markers hold all of :data:`THORAX_MARKERS`: Z up from mid
      STRN-T10 to mid CLAV-C7, X from mid C7-T10 to mid CLAV-STRN made orthogonal, Y left
      (Plug-in Gait's thorax with the pelvis' axis directions).

    Parameters
    ----------
    markers : mapping of str to array_like (n, 3)
        Positions in metres (NaN = missing); names as in :data:`SIMPLE_MARKERS` with
        ``{S}`` = ``L``/``R``, e.g. ``LASI, RPSI, LKNE, LKNM, LANK, LANM, LHEE, LTOE``.
    hip_centre : mapping, optional
        ``{"l": (n, 3), "r": (n, 3)}`` hip centres (e.g. from a functional calibration);
        default: :func:`hip_centres` with ``hip_centre_method``.
    hip_centre_method : str
        Regression used when ``hip_centre`` is not given (default ``"harrington"``).
    names : mapping or str, optional
        Role -> marker name overrides of :data:`SIMPLE_MARKERS`; or a key of
        :data:`MARKER_SETS` (``"pig_med"``, ``"ior"``, ...); or ``"auto"``: the first
        complete set among the markers (:func:`marker_set`).

    Returns
    -------
    dict
        Segment name (:data:`SEGMENTS`, and ``thorax``) -> frames ``(n, 3, 3)``.
    """
    nm = marker_roles(markers, names)
    al = _marker(markers, nm, "asis", "l", None)
    n = al.shape[0]
    ar, pl, pr = (_marker(markers, nm, r, s, n) for r, s in (("asis", "r"), ("psis", "l"), ("psis", "r")))
    pelvis = _pelvis_frame(al, ar, pl, pr)
    if hip_centre is None:
        if hip_centre_method not in HIP_CENTRE_METHODS:
            raise SignalError(f"hip_centre_method={hip_centre_method!r} is not one of "
                              f"{sorted(HIP_CENTRE_METHODS)}")
        hjc = HIP_CENTRE_METHODS[hip_centre_method](al, ar, pl, pr, pelvis)
    else:
        hjc = {s: _check_points(hip_centre[s], f"hip_centre[{s!r}]", n) for s in SIDES}
    out = {"pelvis": pelvis}
    for side in SIDES:
        sgn = 1.0 if side == "l" else -1.0
        kl, km, al_, am, heel, toe = (_marker(markers, nm, r, side, n) for r in (
            "knee_lateral", "knee_medial", "ankle_lateral", "ankle_medial", "heel", "toe"))
        kjc, ajc = 0.5 * (kl + km), 0.5 * (al_ + am)
        out[f"thigh_{side}"] = _long_axis_frame(hjc[side] - kjc, sgn * (kl - km))
        shank = _long_axis_frame(kjc - ajc, sgn * (al_ - am))
        out[f"shank_{side}"] = shank
        out[f"foot_{side}"] = _long_axis_frame(heel - toe, shank[:, :, 1])
    thorax = thorax_if_present(markers)
    if thorax is not None:
        out["thorax"] = thorax
    return out


def frames_from_channels(labels: Any, data: Any, *, foot_offset: Any = FOOT_FORWARD_TO_PIG,
                         marker_options: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Segment frames from a mocap stream's channels: rigid bodies or labelled markers.

    Rigid bodies when the channels hold ``pelvis.qw`` (then every segment of
    :data:`SEGMENTS` needs ``<segment>.qw/qx/qy/qz``; :func:`frames_from_quaternions`
    with ``foot_offset`` on the feet), else markers ``<MARKER>.x/.y/.z`` in metres
    (:func:`frames_from_markers` with ``marker_options``).

    Parameters
    ----------
    labels : sequence of str
        Channel labels, one per column of ``data``.
    data : array_like, shape (n, n_channels)
        Samples (NaN = missing).
    foot_offset : array_like (3, 3) or None
        Offset of the foot rigid bodies (default :data:`FOOT_FORWARD_TO_PIG`: x toward
        the toes, z up).
    marker_options : mapping, optional
        Keyword options of :func:`frames_from_markers` (``names``, ``hip_centre_method``).

    Returns
    -------
    dict
        Segment name -> frames ``(n, 3, 3)``.
    """
    labels = list(labels)
    arr = np.asarray(data, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != len(labels):
        raise SignalError(f"data has shape {arr.shape} for {len(labels)} labels; pass (n, n_labels)")
    col = {lb: j for j, lb in enumerate(labels)}
    if "pelvis.qw" in col:
        frames = {}
        for seg in SEGMENTS:
            cols = [col.get(f"{seg}.{a}") for a in ("qw", "qx", "qy", "qz")]
            if None in cols:
                raise SignalError(f"mocap stream has no {seg}.qw/qx/qy/qz channels; stream every segment "
                                  "of the lower limbs")
            off = foot_offset if seg.startswith("foot") else None
            frames[seg] = frames_from_quaternions(arr[:, cols], offset=off)
        cols = [col.get(f"thorax.{a}") for a in ("qw", "qx", "qy", "qz")]
        if None not in cols:  # a trunk rigid body (x forward, y left, z up)
            frames["thorax"] = frames_from_quaternions(arr[:, cols])
        return frames
    markers = {name: arr[:, [col[f"{name}.{a}"] for a in "xyz"]] for name in marker_channels(labels)}
    return frames_from_markers(markers, **dict(marker_options or {}))


def marker_channels(labels: Any) -> list[str]:
    """The markers of a mocap stream's channel labels: every ``NAME`` with all of
    ``NAME.x``, ``NAME.y`` and ``NAME.z``, in the order of their ``.x`` channels."""
    have = set(labels)
    return [lb[:-2] for lb in labels
            if lb.endswith(".x") and f"{lb[:-2]}.y" in have and f"{lb[:-2]}.z" in have]
