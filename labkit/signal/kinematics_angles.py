"""Joint angles (hip, knee, ankle) with Plug-in Gait signs, and pelvis angles relative
to the progression frame.

Part of :mod:`labkit.signal.kinematics` (import the names from there; conventions in
its docstring and ``docs/kinematics.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import SignalError
from labkit.signal._kinematics_common import (
    ANGLE_COMPONENTS,
    JOINTS,
    SIDES,
    _check_points,
    _check_rot,
    _provenance,
    _wrap,
)
from labkit.signal.kinematics_frames import cardan_yxz

__all__ = ["JointAngles", "joint_angles", "lower_limb_angles", "pelvis_angles"]

# (proximal, distal) segment of each joint
_JOINT_SEGMENTS = {"hip": ("pelvis", "thigh"), "knee": ("thigh", "shank"), "ankle": ("shank", "foot")}


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
    >>> from labkit.signal.kinematics import rotation_yxz
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
