"""Kinematics: segment frames, joint angles, pelvis, gait events and triple extension.

A segment frame is a rotation matrix per frame, shape ``(n, 3, 3)``, whose columns are
the segment's axes expressed in the lab: Plug-in Gait (PiG) semantics, X anterior,
Y to the left (for both sides), Z proximal (up the segment). The foot follows PiG: Z
points from the toe to the heel and X up, so a flat foot stands at -90 deg to the shank.
Frames come from

* :func:`frames_from_points`: PiG segment points (origin, anterior, lateral, proximal);
* :func:`frames_from_quaternions`: rigid bodies (position + quaternion) as streamed by
  Qualisys/OptiTrack-style LSL apps, with a constant offset rotation per segment;
* :func:`frames_from_markers`: the simple marker set of ``docs/kinematics.md``
  (ASIS/PSIS; hip centre, lateral and medial knee; lateral and medial malleolus;
  heel and toe).

Joint angles (:func:`joint_angles`, :func:`lower_limb_angles`) are Cardan angles of the
distal frame relative to the proximal frame in the clinical order, intrinsic Y-X-Z
(flexion, adduction, rotation), with PiG signs: hip flexion +, knee flexion +,
ankle dorsiflexion + (``-thetaY - 90 deg``); adduction and internal rotation + on both
sides. Radians inside; degrees at the edge (``degrees=True``). Reproduces Vicon's
``R/LHipAnglesV``, ``R/LKneeAnglesV`` and ``R/LAnkleAnglesV`` from the segment points of
PiG_Motion3_FF.c3d (tests/signal/test_kinematics_c3d.py).

Triple extension (:func:`triple_extension`) gives, per joint, the extension onset and
the time and value of the peak extension velocity (relative to take-off when given),
the hip->knee and knee->ankle lags, the order with a tolerance of at least one frame,
and continuous relative phase summaries.

NaN marks a missing frame: frames and angles propagate it (a NaN input frame gives NaN
angles); functions that search events raise :class:`~labkit.errors.SignalError` on NaN
inside their search window. Definitions and sources: ``docs/kinematics.md``.

Examples
--------
>>> import numpy as np
>>> from labkit.signal import kinematics as kin
>>> pelvis = kin.rotation_yxz(np.zeros(1), np.zeros(1), np.zeros(1))
>>> thigh = kin.rotation_yxz(np.deg2rad([-30.0]), np.zeros(1), np.zeros(1))
>>> float(kin.joint_angles(pelvis, thigh, joint="hip", side="r")[0, 0].round(9))  # flexion +
30.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal._checks import check_fs
from labkit.signal.filters import butterworth_sos, zero_phase_filter

__all__ = [
    "ANGLE_COMPONENTS",
    "FOOT_FORWARD_TO_PIG",
    "GIMBAL_LOCK_POLICIES",
    "HIP_CENTRE_METHODS",
    "JOINTS",
    "ONSET_METHODS",
    "SEGMENTS",
    "SIMPLE_MARKERS",
    "Contacts",
    "GaitSummary",
    "JointAngles",
    "TripleExtension",
    "cardan_yxz",
    "foot_contacts_from_force",
    "foot_contacts_from_markers",
    "frames_from_markers",
    "frames_from_points",
    "frames_from_quaternions",
    "gait_summary",
    "hip_centres",
    "joint_angles",
    "lower_limb_angles",
    "peak_hip_extension",
    "pelvis_angles",
    "rotation_yxz",
    "triple_extension",
]

JOINTS = ("hip", "knee", "ankle")
SIDES = ("l", "r")
SEGMENTS = ("pelvis", "thigh_l", "thigh_r", "shank_l", "shank_r", "foot_l", "foot_r")
ANGLE_COMPONENTS = {
    "hip": ("flexion", "adduction", "internal_rotation"),
    "knee": ("flexion", "adduction", "internal_rotation"),
    "ankle": ("dorsiflexion", "inversion", "internal_rotation"),
    "pelvis": ("anterior_tilt", "obliquity", "rotation"),
}
# (proximal, distal) segment of each joint
_JOINT_SEGMENTS = {"hip": ("pelvis", "thigh"), "knee": ("thigh", "shank"), "ankle": ("shank", "foot")}

# Simple marker set (docs/kinematics.md): role -> default marker name ({S} = L or R)
SIMPLE_MARKERS = {
    "asis": "{S}ASI", "psis": "{S}PSI",
    "knee_lateral": "{S}KNE", "knee_medial": "{S}KNM",
    "ankle_lateral": "{S}ANK", "ankle_medial": "{S}ANM",
    "heel": "{S}HEE", "toe": "{S}TOE",
}

#: Offset rotation from a foot rigid body with x toward the toes, y left and z up (lab
#: aligned when standing flat) to the PiG foot frame (x up, z toward the heel): Ry(-90 deg).
FOOT_FORWARD_TO_PIG = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def _provenance(function: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"function": f"labkit.signal.kinematics.{function}", "labkit_version": __version__,
            **params}


# ===================================================================== rotations


def _check_rot(r: Any, name: str) -> np.ndarray:
    arr = np.asarray(r, dtype=float)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (3, 3):
        raise SignalError(f"{name} has shape {np.shape(r)}; pass rotation matrices of shape (n, 3, 3)")
    return arr


def _check_points(p: Any, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.ndim == 1 and arr.shape == (3,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise SignalError(f"{name} has shape {np.shape(p)}; pass positions of shape (n, 3)")
    if n is not None and arr.shape[0] != n:
        raise SignalError(f"{name} has {arr.shape[0]} frames; expected {n} like the other inputs")
    return arr


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.linalg.norm(v, axis=-1, keepdims=True)
        return np.where(norm > 0, v / norm, np.nan)


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


def _wrap(x: np.ndarray) -> np.ndarray:
    return (x + np.pi) % (2 * np.pi) - np.pi


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


def _marker(markers: Mapping[str, Any], names: Mapping[str, str], role: str, side: str, n: int | None):
    name = names[role].replace("{S}", side.upper())
    if name not in markers:
        raise SignalError(f"marker {name!r} ({role}, side {side}) is missing; pass it or map the role "
                          f"to your marker name with names={{'{role}': ...}}")
    return _check_points(markers[name], name, n)


def hip_centres(markers: Mapping[str, Any], *, method: str = "harrington",
                names: Mapping[str, str] | None = None) -> dict[str, np.ndarray]:
    """Hip joint centres from the pelvis markers by a regression.

    Parameters
    ----------
    markers : mapping of str to array_like (n, 3)
        Marker positions in metres; needs left/right ASIS and PSIS.
    method : str
        Key of :data:`HIP_CENTRE_METHODS`: ``"harrington"`` (Harrington et al. 2007,
        from pelvis width and depth; default) or ``"bell"`` (Bell et al. 1990).
    names : mapping, optional
        Role -> marker name overrides of :data:`SIMPLE_MARKERS`.

    Returns
    -------
    dict
        ``{"l": (n, 3), "r": (n, 3)}`` in metres.
    """
    if method not in HIP_CENTRE_METHODS:
        raise SignalError(f"method={method!r} is not one of {sorted(HIP_CENTRE_METHODS)}")
    nm = {**SIMPLE_MARKERS, **(names or {})}
    al = _marker(markers, nm, "asis", "l", None)
    n = al.shape[0]
    ar, pl, pr = (_marker(markers, nm, r, s, n) for r, s in (("asis", "r"), ("psis", "l"), ("psis", "r")))
    return HIP_CENTRE_METHODS[method](al, ar, pl, pr, _pelvis_frame(al, ar, pl, pr))


def frames_from_markers(markers: Mapping[str, Any], *, hip_centre: Mapping[str, Any] | None = None,
                        hip_centre_method: str = "harrington",
                        names: Mapping[str, str] | None = None) -> dict[str, np.ndarray]:
    """Segment frames (PiG axes) from the simple marker set of ``docs/kinematics.md``.

    * pelvis: origin mid-ASIS; Y from RASI to LASI; X from mid-PSIS to mid-ASIS made
      orthogonal to Y; Z = X x Y;
    * thigh: Z from the knee centre (mid lateral/medial knee) to the hip centre; Y from
      the right epicondyle to the left one (lateral->medial on the right leg,
      medial->lateral on the left), made orthogonal to Z; X = Y x Z;
    * shank: Z from the ankle centre (mid malleoli) to the knee centre; Y from the
      malleoli as for the thigh;
    * foot: Z from the toe to the heel marker (PiG foot: Z toward the heel, X up); Y
      from the shank's Y made orthogonal to Z.

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
    names : mapping, optional
        Role -> marker name overrides of :data:`SIMPLE_MARKERS`.

    Returns
    -------
    dict
        Segment name (:data:`SEGMENTS`) -> frames ``(n, 3, 3)``.
    """
    nm = {**SIMPLE_MARKERS, **(names or {})}
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
    return out


# ===================================================================== joint angles


def _side_sign(side: str) -> float:
    if side not in SIDES:
        raise SignalError(f"side={side!r} must be 'l' or 'r'")
    return 1.0 if side == "r" else -1.0


def joint_angles(proximal: Any, distal: Any, *, joint: str, side: str, degrees: bool = True,
                 on_gimbal_lock: str = "nan", gimbal_tol_deg: float = 1e-3) -> np.ndarray:
    """Joint angles of ``distal`` relative to ``proximal`` with Plug-in Gait signs.

    The relative rotation ``R = proximal^T distal`` is decomposed as intrinsic Y-X-Z
    Cardan angles ``(a, b, c)`` (flexion axis first, then the floating axis, then the
    distal long axis). With ``s = +1`` on the right and ``-1`` on the left:

    * hip: flexion ``-a`` (+ flexion), adduction ``s b``, internal rotation ``s c``;
    * knee: flexion ``a`` (+ flexion), adduction (varus) ``s b``, internal rotation ``s c``;
    * ankle: dorsiflexion ``-a - 90 deg`` (+ dorsiflexion; the PiG foot's Z points to
      the heel), inversion ``s c`` (about the foot's long axis), internal rotation ``s b``.

    Parameters
    ----------
    proximal, distal : array_like, shape (n, 3, 3)
        Segment frames (columns X anterior, Y left, Z proximal in the lab).
    joint : {"hip", "knee", "ankle"}
    side : {"l", "r"}
    degrees : bool
        Return degrees (default) or radians.
    on_gimbal_lock, gimbal_tol_deg
        See :func:`cardan_yxz`; locked frames are NaN by default.

    Returns
    -------
    numpy.ndarray, shape (n, 3)
        Components in the order of ``ANGLE_COMPONENTS[joint]``; NaN where a frame is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> shank = rotation_yxz(np.zeros(1), np.zeros(1), np.zeros(1))
    >>> foot = rotation_yxz(np.deg2rad([-100.0]), np.zeros(1), np.zeros(1))
    >>> float(joint_angles(shank, foot, joint="ankle", side="l")[0, 0].round(9))
    10.0
    """
    if joint not in JOINTS:
        raise SignalError(f"joint={joint!r} must be one of {JOINTS}")
    s = _side_sign(side)
    p = _check_rot(proximal, "proximal")
    d = _check_rot(distal, "distal")
    if p.shape != d.shape:
        raise SignalError(f"proximal has {p.shape[0]} frames and distal {d.shape[0]}; pass equal lengths")
    rel = np.einsum("nji,njk->nik", p, d)
    abc = cardan_yxz(rel, on_gimbal_lock=on_gimbal_lock, gimbal_tol_deg=gimbal_tol_deg)
    a, b, c = abc.T
    if joint == "hip":
        out = np.stack([-a, s * b, s * c], axis=1)
    elif joint == "knee":
        out = np.stack([a, s * b, s * c], axis=1)
    else:
        out = np.stack([_wrap(-a - np.pi / 2), s * c, s * b], axis=1)
    return np.rad2deg(out) if degrees else out


@dataclass(frozen=True)
class JointAngles:
    """Hip, knee and ankle angles of both sides.

    Attributes
    ----------
    angles : dict
        ``"<joint>_<side>"`` (e.g. ``"hip_r"``) -> ``(n, 3)`` array in the order of
        ``ANGLE_COMPONENTS[joint]`` (degrees unless ``params["degrees"]`` is False).
    params : dict
        Every parameter used and the provenance.
    """

    angles: dict[str, np.ndarray]
    params: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.angles[key]

    def sagittal(self, joint: str, side: str) -> np.ndarray:
        """Flexion (hip, knee) or dorsiflexion (ankle) of one side, shape (n,)."""
        return self.angles[f"{joint}_{side}"][:, 0]

    def to_frame(self, times_s: Any = None):
        """A pandas DataFrame with columns ``"<joint>_<side>.<component>"``."""
        import pandas as pd

        cols = {}
        for key, arr in self.angles.items():
            for i, comp in enumerate(ANGLE_COMPONENTS[key.split("_")[0]]):
                cols[f"{key}.{comp}"] = arr[:, i]
        df = pd.DataFrame(cols, index=None if times_s is None else pd.Index(times_s, name="time_s"))
        df.attrs["params"] = dict(self.params)
        return df


def lower_limb_angles(frames: Mapping[str, Any], *, sides: Sequence[str] = SIDES,
                      joints: Sequence[str] = JOINTS, degrees: bool = True,
                      on_gimbal_lock: str = "nan", gimbal_tol_deg: float = 1e-3) -> JointAngles:
    """Hip, knee and ankle angles of both sides from a mapping of segment frames.

    Parameters
    ----------
    frames : mapping
        Segment name (:data:`SEGMENTS`: ``pelvis``, ``thigh_l``, ``shank_r``, ...) ->
        frames ``(n, 3, 3)``, e.g. from :func:`frames_from_markers`.
    sides, joints : sequence of str
        Which sides and joints to compute (default all).
    degrees, on_gimbal_lock, gimbal_tol_deg
        As in :func:`joint_angles`.

    Returns
    -------
    JointAngles
    """
    out = {}
    for side in sides:
        for joint in joints:
            if joint not in JOINTS:
                raise SignalError(f"joints has {joint!r}; use {JOINTS}")
            prox, dist = _JOINT_SEGMENTS[joint]
            names = [prox if prox == "pelvis" else f"{prox}_{side}", f"{dist}_{side}"]
            for nm in names:
                if nm not in frames:
                    raise SignalError(f"frames has no segment {nm!r} (needed for the {joint} of side "
                                      f"{side}); pass it or restrict joints=/sides=")
            out[f"{joint}_{side}"] = joint_angles(frames[names[0]], frames[names[1]], joint=joint,
                                                  side=side, degrees=degrees,
                                                  on_gimbal_lock=on_gimbal_lock,
                                                  gimbal_tol_deg=gimbal_tol_deg)
    params = _provenance("lower_limb_angles", {
        "sides": list(sides), "joints": list(joints), "degrees": degrees, "sequence": "YXZ intrinsic",
        "convention": "Plug-in Gait", "on_gimbal_lock": on_gimbal_lock, "gimbal_tol_deg": gimbal_tol_deg})
    return JointAngles(out, params)


# ===================================================================== pelvis

_PROGRESSION = {"+x": 0.0, "x": 0.0, "+y": 90.0, "y": 90.0, "-x": 180.0, "-y": -90.0}


def _progression_deg(pelvis: np.ndarray, origin_m, progression, min_displacement_m: float) -> float:
    if isinstance(progression, str):
        key = progression.lower()
        if key in _PROGRESSION:
            return _PROGRESSION[key]
        if key != "auto":
            raise SignalError(f"progression={progression!r} must be 'auto', one of "
                              f"{sorted(_PROGRESSION)} or an angle in degrees")
        direction = None
        if origin_m is not None:
            o = _check_points(origin_m, "origin_m", pelvis.shape[0])
            ok = np.flatnonzero(np.all(np.isfinite(o), axis=1))
            if ok.size >= 2:
                d = o[ok[-1], :2] - o[ok[0], :2]
                if np.hypot(*d) >= min_displacement_m:
                    direction = d
        if direction is None:
            direction = np.nanmean(pelvis[:, :2, 0], axis=0)
        ang = np.rad2deg(np.arctan2(direction[1], direction[0]))
        return float(90.0 * np.round(ang / 90.0))
    return float(progression)


def pelvis_angles(pelvis: Any, *, side: str = "r", progression: str | float = "auto",
                  origin_m: Any = None, min_displacement_m: float = 0.5, degrees: bool = True,
                  on_gimbal_lock: str = "nan", gimbal_tol_deg: float = 1e-3) -> np.ndarray:
    """Pelvis tilt, obliquity and rotation relative to the progression frame (PiG).

    The progression frame is the lab rotated about the vertical so that its X points in
    the walking (or facing) direction. Angles are intrinsic Y-X-Z Cardan angles
    ``(a, b, c)`` of the pelvis in that frame: tilt ``a`` (anterior +), obliquity
    ``-s b`` (that side up +; a negative value on the stance side means the other side
    drops), rotation ``s c`` (that side forward +), ``s = +1`` right, ``-1`` left.

    Parameters
    ----------
    pelvis : array_like, shape (n, 3, 3)
        Pelvis frames.
    side : {"l", "r"}
        Side whose sign convention to use (PiG reports both).
    progression : str or float
        ``"auto"`` (default): the lab's horizontal axis closest to the displacement of
        ``origin_m`` over the trial when it moves at least ``min_displacement_m``, else
        closest to the pelvis' mean anterior axis; ``"+x"``, ``"-x"``, ``"+y"``, ``"-y"``;
        or the heading in degrees from lab +X toward +Y.
    origin_m : array_like, shape (n, 3), optional
        Pelvis origin (for ``progression="auto"``).
    min_displacement_m : float
        Walking threshold of ``"auto"``.
    degrees, on_gimbal_lock, gimbal_tol_deg
        As in :func:`joint_angles`.

    Returns
    -------
    numpy.ndarray, shape (n, 3)
        ``anterior_tilt, obliquity, rotation``.
    """
    s = _side_sign(side)
    r = _check_rot(pelvis, "pelvis")
    psi = np.deg2rad(_progression_deg(r, origin_m, progression, min_displacement_m))
    cz, sz = np.cos(psi), np.sin(psi)
    prog = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    rel = np.einsum("ji,njk->nik", prog, r)
    a, b, c = cardan_yxz(rel, on_gimbal_lock=on_gimbal_lock, gimbal_tol_deg=gimbal_tol_deg).T
    out = np.stack([a, -s * b, s * c], axis=1)
    return np.rad2deg(out) if degrees else out


# ===================================================================== gait


def _check_1d(x: Any, name: str, *, allow_nan: bool = True) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1 or arr.size < 3:
        raise SignalError(f"{name} has shape {np.shape(x)}; pass a 1-D array of at least 3 samples")
    if not allow_nan and not np.all(np.isfinite(arr)):
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise SignalError(f"{name}[{i}] is not finite; fill gaps (e.g. interpolate) before this step")
    return arr


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


def _lowpass(x: np.ndarray, fs: float, cutoff_hz: float | None, order: int = 2) -> np.ndarray:
    if cutoff_hz is None:
        return x.copy()
    if not (0 < cutoff_hz < fs / 2):
        raise SignalError(f"lowpass_hz={cutoff_hz!r} must be within (0, {fs / 2:g}) Hz (Nyquist)")
    # zero-lag: a Butterworth of this order run forwards and backwards (twice the order
    # overall).  The design cutoff is scaled by kinematics' own double-pass factor
    # (2^(1/(2 order)) - 1)^(-1/4), not filters.zero_phase_cutoff: for order 2 the double
    # pass is -1.5 dB at cutoff_hz and -3 dB near 1.22 x cutoff_hz.  Kept, with its
    # padding of 3 (2 n_sections + 1) samples, so that results do not change (the onset
    # tolerances of tests/signal/test_kinematics.py are set for it; the exact -3 dB
    # correction moves extension onsets a few ms earlier).
    c = (2 ** (1 / (2 * order)) - 1) ** -0.25
    wc = min(cutoff_hz * c, 0.499 * fs)
    sos = butterworth_sos(fs, wc, order=order, zero_phase=False)
    return zero_phase_filter(sos, x, axis=0, padlen=3 * (2 * sos.shape[0] + 1))


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


def _peak(v: np.ndarray, lo: int, hi: int, subframe: bool) -> tuple[int, float, float]:
    """Frame of the maximum of ``v`` in ``[lo, hi)``, its (sub-frame) position and value."""
    k = lo + int(np.argmax(v[lo:hi]))
    pk = float(k)
    vk = float(v[k])
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
                     tolerance_frames: float = 1.0, subframe: bool = True) -> TripleExtension:
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
    if onset not in ONSET_METHODS:
        raise SignalError(f"onset={onset!r} is not one of {sorted(ONSET_METHODS)}")
    if lag_event not in ("peak_velocity", "onset"):
        raise SignalError(f"lag_event={lag_event!r} must be 'peak_velocity' or 'onset'")
    if not (np.isfinite(tolerance_frames) and tolerance_frames >= 1):
        raise SignalError(f"tolerance_frames={tolerance_frames!r} must be >= 1 (one frame is the "
                          "data's time resolution)")
    if not 0 < onset_fraction < 1:
        raise SignalError(f"onset_fraction={onset_fraction!r} must be within (0, 1)")
    angles = {}
    for j, x in zip(JOINTS, (hip_flex_deg, knee_flex_deg, ankle_dorsi_deg), strict=True):
        angles[j] = _check_1d(x, f"{j} angle")
    n = angles["hip"].size
    for j, x in angles.items():
        if x.size != n:
            raise SignalError(f"{j} angle has {x.size} frames and hip {n}; pass equal lengths")
    lo, hi = _search_window(n, fs, takeoff_s, t0_s, search_before_s, search_after_s)
    reach = int(np.ceil(3 * fs / lowpass_hz)) if lowpass_hz else 2
    g0, g1 = max(0, lo - reach), min(n, hi + reach)
    filt, vel = _extension_kinematics(angles, fs, g0, g1, lowpass_hz, filter_order)
    ref = float(takeoff_s) if takeoff_s is not None else 0.0
    onset_fn = ONSET_METHODS[onset]
    onset_t, peak_t, peak_v = {}, {}, {}
    for j in JOINTS:
        k, pk, peak_v[j] = _peak(vel[j], lo, hi, subframe)
        peak_t[j] = t0_s + pk / fs - ref
        oi = onset_fn(vel[j], k, g0, onset_fraction)
        onset_t[j] = t0_s + oi / fs - ref if np.isfinite(oi) else float("nan")
    tol_ms = 1000.0 * tolerance_frames / fs
    pairs = (("hip_knee", "hip", "knee"), ("knee_ankle", "knee", "ankle"))
    peak_lags = {k: 1000.0 * (peak_t[b] - peak_t[a]) for k, a, b in pairs}
    onset_lags = {k: 1000.0 * (onset_t[b] - onset_t[a]) for k, a, b in pairs}
    lags = peak_lags if lag_event == "peak_velocity" else onset_lags
    ev = peak_t if lag_event == "peak_velocity" else onset_t
    order = tuple(sorted(JOINTS, key=lambda j: (ev[j], JOINTS.index(j))))
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
        "subframe": subframe, "velocity": "central differences of the filtered angle, extension +",
        "crp": "Hamill 1999 phase plane, angle scaled to [-1, 1] and velocity by its max over the window"})
    return TripleExtension(onset_t, peak_t, peak_v, lags, onset_lags, peak_lags, order, sequence, p2d,
                           crp, (c0 - ref, c1 - ref), None if takeoff_s is None else float(takeoff_s),
                           params)
