"""Motion model of the simulated athlete: joint angles, markers and segment frames.

A sagittal stick model per leg built from the toe up (toe fixed on the plate; the heel
rises when the ankle plantarflexes), with hip, knee and ankle angles (Plug-in Gait
signs: hip flexion +, knee flexion +, dorsiflexion +). In a CMJ each joint flexes from
the onset, reaches its maximum flexion (its extension onset) at
``lowest point + cmj_extension_lags_s[joint]`` and extends until takeoff, so the
proximal-to-distal lags are exact. For an IMTP the athlete gets set in the pull posture
from the cue on. Positions in m: x anterior, y left, z up.

Functions of the parameters, the efforts in play and time; the
:class:`~labkit.devices.sim.athlete.Athlete` keeps the timeline. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.devices.sim.athlete_force import G, cmj_shape, smoothstep
from labkit.errors import ConfigError

if TYPE_CHECKING:
    from labkit.devices.sim.athlete import AthleteParams, Effort

__all__ = ["CMJ_FLEX_DEG", "CMJ_TAKEOFF_DEG", "JOINTS", "MARKERS", "MEDIAL_MARKERS", "POSTURES_DEG",
           "SEGMENTS", "STREAMED_MARKERS", "cmj_landmarks", "joint_angles", "leg_chain", "marker_positions",
           "segment_frames"]

JOINTS = ("hip", "knee", "ankle")
#: the Plug-in Gait lower-body markers (PSIS variant, no KAD)
MARKERS = ("LASI", "RASI", "LPSI", "RPSI", "LTHI", "RTHI", "LKNE", "RKNE", "LTIB", "RTIB",
           "LANK", "RANK", "LHEE", "RHEE", "LTOE", "RTOE")
#: medial knee (epicondyle) and medial malleolus, which the simple marker set of
#: docs/kinematics.md needs for the knee and ankle centres and axes
MEDIAL_MARKERS = ("LKNM", "RKNM", "LANM", "RANM")
#: what the simulated mocap streams (``output: markers``): PiG lower body + the medial
#: markers, from which :func:`labkit.signal.kinematics.frames_from_markers` computes every
#: lower-limb angle
STREAMED_MARKERS = MARKERS + MEDIAL_MARKERS

#: half the distance between the model's hip joint centres (m; the legs stand at y = +-0.1)
HIP_HALF_WIDTH_M = 0.1
#: mid-ASIS to mid-PSIS depth (m) and half the distance between the PSIS markers (m)
PELVIS_DEPTH_M = 0.16
PSIS_HALF_WIDTH_M = 0.045
# Pelvis markers in the model's pelvis frame (origin midway between the hip centres; x
# anterior, y left, z along the pelvis up-axis). ASIS and PSIS sit at one height, so the
# marker-defined (PiG) pelvis IS the model pelvis, and they are placed so that Harrington
# et al.'s (2007) regression without leg length (labkit's default) returns the model's hip
# centres exactly: lateral 0.33 PW + 7.3 mm, inferior 0.30 PW + 10.9 mm, posterior
# 0.24 PD + 9.9 mm from mid-ASIS.
_PW_M = (HIP_HALF_WIDTH_M - 0.0073) / 0.33
_ASIS_M = (0.24 * PELVIS_DEPTH_M + 0.0099, _PW_M / 2, 0.30 * _PW_M + 0.0109)
_PSIS_M = (_ASIS_M[0] - PELVIS_DEPTH_M, PSIS_HALF_WIDTH_M, _ASIS_M[2])
SEGMENTS = ("pelvis", "thigh_l", "thigh_r", "shank_l", "shank_r", "foot_l", "foot_r")

POSTURES_DEG = {"stand": (5.0, 5.0, 3.0), "imtp": (35.0, 40.0, 15.0)}  # hip, knee, ankle
CMJ_FLEX_DEG = {"hip": 70.0, "knee": 80.0, "ankle": 25.0}   # added at maximum flexion
CMJ_TAKEOFF_DEG = {"hip": -10.0, "knee": -3.0, "ankle": -30.0}  # added at takeoff


def cmj_landmarks(p: AthleteParams, effort: Effort) -> dict[str, float]:
    """CMJ landmarks on the session clock: onset, peak negative velocity, lowest point,
    takeoff, landing, and each joint's extension onset and peak extension velocity."""
    c = cmj_shape(p)
    o = effort.onset_s
    z = o + c.t1
    to = z + c.t2
    out = {"onset_s": o, "peak_negative_velocity_s": o + c.t1 / 2, "lowest_s": z,
           "takeoff_s": to, "landing_s": to + c.t_flight}
    for j in JOINTS:
        ej = z + p.cmj_extension_lags_s[j]
        out[f"{j}_extension_onset_s"] = ej
        out[f"{j}_peak_extension_velocity_s"] = 0.5 * (ej + to)
    return out


def _add_cmj_angles(p: AthleteParams, t: np.ndarray, e: Effort, ang: dict[str, np.ndarray],
                    lift: np.ndarray) -> None:
    """Add a CMJ's joint flexion (deg) to ``ang`` and its flight rise (m) to ``lift``."""
    lm = cmj_landmarks(p, e)
    o, to, land = lm["onset_s"], lm["takeoff_s"], lm["landing_s"]
    for j in JOINTS:
        ej = lm[f"{j}_extension_onset_s"]
        flex, off = CMJ_FLEX_DEG[j], CMJ_TAKEOFF_DEG[j]
        d = np.zeros_like(t)
        m = (t >= o) & (t < ej)
        d[m] = flex * smoothstep((t[m] - o) / (ej - o))
        m = (t >= ej) & (t < to)
        d[m] = off + (flex - off) * (1 - smoothstep((t[m] - ej) / (to - ej)))
        m = (t >= to) & (t < land)
        d[m] = off
        m = t >= land  # absorb (to 40 % of the flexion within 0.15 s) and stand up
        s = t[m] - land
        peak = 0.4 * flex
        d[m] = np.where(s < 0.15, off + (peak - off) * smoothstep(s / 0.15),
                        peak * (1 - smoothstep((s - 0.15) / 0.6)))
        ang[j] += d
    c = cmj_shape(p)
    m = (t >= to) & (t < land)
    s = t[m] - to
    lift[m] += c.v_to * s - 0.5 * G * s**2


def joint_angles(p: AthleteParams, efforts: Iterable[Effort], t: np.ndarray) -> dict[str, np.ndarray]:
    """Hip flexion, knee flexion and ankle dorsiflexion (rad), same on both sides.

    Returns
    -------
    dict
        ``hip``, ``knee``, ``ankle`` -> arrays like ``t``; plus ``lift_m``, the
        ballistic rise of the whole body during a CMJ flight.
    """
    base = np.array(POSTURES_DEG["stand"])
    ang = {j: np.full(t.shape, base[i]) for i, j in enumerate(JOINTS)}
    lift = np.zeros_like(t)
    for e in efforts:
        if e.task == "imtp":
            # gets set in the pull posture from the cue on, back after relaxing
            w = smoothstep((t - e.cue_s) / 0.5) * (1 - smoothstep((t - e.end_s - 0.5) / 0.5))
            target = np.array(POSTURES_DEG["imtp"]) - base
            for i, j in enumerate(JOINTS):
                ang[j] += w * target[i]
        elif e.task == "cmj":
            _add_cmj_angles(p, t, e, ang, lift)
    return {"hip": np.deg2rad(ang["hip"]), "knee": np.deg2rad(ang["knee"]),
            "ankle": np.deg2rad(ang["ankle"]), "lift_m": lift}


def leg_chain(p: AthleteParams, angles: dict[str, np.ndarray], t: np.ndarray) -> dict[str, Any]:
    """Sagittal stick model from :func:`joint_angles`.

    Returns
    -------
    dict
        Per side (``"l"``, ``"r"``) the joint points ``toe``, ``heel``, ``ankle``,
        ``knee``, ``hip`` as (n, 3) arrays and ``lat`` (+1 left, -1 right); under
        ``"angles"`` the segment angles (rad) of ``pelvis``, ``thigh``, ``shank``, ``foot``.
    """
    h, k, d, lift = angles["hip"], angles["knee"], angles["ankle"], angles["lift_m"]
    pf = np.maximum(0.0, -d)          # heel rise (foot pitch) when plantarflexed
    sa = np.maximum(0.0, d)           # shank forward lean
    phi_t = sa - k                    # thigh (knee -> hip) lean
    phi_p = phi_t + h                 # pelvis up-axis lean
    n = t.size
    out: dict[str, Any] = {}
    for side, y in (("l", HIP_HALF_WIDTH_M), ("r", -HIP_HALF_WIDTH_M)):
        lat = 1.0 if side == "l" else -1.0
        toe = np.zeros((n, 3))
        toe[:, 0], toe[:, 1], toe[:, 2] = 0.18, y, lift
        heel = toe - p.foot_length_m * np.column_stack([np.cos(pf), np.zeros(n), -np.sin(pf)])
        ankle = heel + np.column_stack([0.05 * np.cos(pf) + 0.07 * np.sin(pf), np.zeros(n),
                                        -0.05 * np.sin(pf) + 0.07 * np.cos(pf)])
        knee = ankle + p.shank_length_m * np.column_stack([np.sin(sa), np.zeros(n), np.cos(sa)])
        hip = knee + p.thigh_length_m * np.column_stack([np.sin(phi_t), np.zeros(n), np.cos(phi_t)])
        out[side] = {"toe": toe, "heel": heel, "ankle": ankle, "knee": knee, "hip": hip, "lat": lat}
    out["angles"] = {"pelvis": phi_p, "thigh": phi_t, "shank": sa, "foot": pf}
    return out


def marker_positions(ch: dict[str, Any], t: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Marker positions (m) of ``names`` on the :func:`leg_chain` ``ch``, shape (n, len(names), 3).

    ``names`` may also hold :data:`MEDIAL_MARKERS` (medial knee ``?KNM`` and medial
    malleolus ``?ANM``, mirroring ``?KNE`` and ``?ANK`` about the joint centres).

    Raises
    ------
    ConfigError
        On a marker name that is not simulated.
    """
    phi_p = ch["angles"]["pelvis"]
    mid = 0.5 * (ch["l"]["hip"] + ch["r"]["hip"])
    c, s = np.cos(phi_p), np.sin(phi_p)

    def pelvis_point(x, y, z):  # rotate a pelvis-frame offset about y by phi_p
        return mid + np.column_stack([c * x + s * z, np.full(t.size, y), -s * x + c * z])

    pos = {}
    for side, up in (("l", "L"), ("r", "R")):
        leg = ch[side]
        lat = np.array([0.0, leg["lat"], 0.0])
        sgn = leg["lat"]
        pos[up + "ASI"] = pelvis_point(_ASIS_M[0], sgn * _ASIS_M[1], _ASIS_M[2])
        pos[up + "PSI"] = pelvis_point(_PSIS_M[0], sgn * _PSIS_M[1], _PSIS_M[2])
        pos[up + "THI"] = 0.5 * (leg["hip"] + leg["knee"]) + 0.07 * lat
        pos[up + "KNE"] = leg["knee"] + 0.05 * lat
        pos[up + "TIB"] = 0.5 * (leg["knee"] + leg["ankle"]) + 0.05 * lat
        pos[up + "ANK"] = leg["ankle"] + 0.04 * lat
        pos[up + "KNM"] = leg["knee"] - 0.05 * lat
        pos[up + "ANM"] = leg["ankle"] - 0.04 * lat
        pos[up + "HEE"] = leg["heel"] + np.array([0.0, 0.0, 0.02])
        pos[up + "TOE"] = leg["toe"] + np.array([0.0, 0.0, 0.02])
    try:
        return np.stack([pos[nm] for nm in names], axis=1)
    except KeyError as exc:
        raise ConfigError(f"marker {exc.args[0]!r} is not simulated; use "
                          f"{', '.join(MARKERS + MEDIAL_MARKERS)}") from None


def segment_frames(ch: dict[str, Any], t: np.ndarray) -> np.ndarray:
    """Segment frames on the :func:`leg_chain` ``ch``: origin (m) and orientation
    quaternion (w, x, y, z) per segment of :data:`SEGMENTS`; shape (n, 7, 7)."""
    ang = ch["angles"]
    out = np.zeros((t.size, len(SEGMENTS), 7))
    origins = {"pelvis": 0.5 * (ch["l"]["hip"] + ch["r"]["hip"])}
    for side in ("l", "r"):
        origins[f"thigh_{side}"] = ch[side]["hip"]
        origins[f"shank_{side}"] = ch[side]["knee"]
        origins[f"foot_{side}"] = ch[side]["ankle"]
    for i, seg in enumerate(SEGMENTS):
        a = ang[seg.split("_")[0]]
        out[:, i, :3] = origins[seg]
        out[:, i, 3] = np.cos(a / 2)
        out[:, i, 5] = np.sin(a / 2)
    return out
