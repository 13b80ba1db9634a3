"""Running model of the simulated athlete: a treadmill run on two belts (one per foot).

A ``run`` effort is a steady run at ``speed_m_s`` from its onset to its end. Strides
follow each other with a seeded stride-to-stride variability of ``run_stride_cv``; the
left foot strikes half a stride after the right. Every stride of one side has the same
shape over its own phase, so the ground truth of each stride is exact:

* vertical force per foot: a half sine over the contact, peak ``run_peak_force_bw`` body
  weights; antero-posterior reaction (:func:`ap_reaction_bw`): braking over the first
  40 % of the contact (peak ``run_braking_force_bw``), propulsion over the rest with the
  same impulse (a steady speed), so a lower peak; the plates' ``Fx`` is the load on the
  belt, minus that reaction;
* hip flexion ``c + a cos(2 pi (phi - phi_min))`` with its minimum (the peak hip
  extension, ``run_hip_extension_deg``, less ``run_hip_extension_deficit_deg`` on the
  ``run_deficit_side``) at 90 % of the contact;
* pelvic obliquity: during each stance the swing side drops by a half sine of
  ``run_pelvic_drop_deg`` (``run_pelvic_drop_extra_deg`` more on the deficit side's
  stance); tilt and rotation oscillate (rotation 6 deg each way, tilt 12 +- 2 deg);
* knee and ankle shapes over stance and swing (knee 15 deg at contact);
* EMG bursts: gluteus maximus and medius from ``run_glute_lead_s`` before each strike
  of their side to mid-stance; rectus femoris and tensor fasciae latae (hip flexors) from
  toe-off for 30 % of the swing; the obliques around the opposite foot's strike.

Positions in m (x forward on the treadmill, y left, z up); angles in degrees inside the
model, Plug-in Gait signs (hip and knee flexion +, dorsiflexion +). Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.signal.kinematics_frames import rotation_yxz

if TYPE_CHECKING:
    from labkit.devices.sim.athlete_params import AthleteParams, Effort

__all__ = [
    "BRAKING_FRACTION",
    "RunStrides",
    "ap_reaction_bw",
    "cadence_steps_min",
    "contact_fraction",
    "propulsive_peak_bw",
    "run_angles_deg",
    "run_emg_envelope",
    "run_loads",
    "run_markers",
    "run_rigid_bodies",
    "run_segment_frames",
    "run_strides",
    "run_truth",
    "side_targets",
]

#: start of the first stride after the run's onset (s): the athlete hops on the belts
FIRST_STRIKE_AFTER_S = 0.1
_PELVIS_HEIGHT_M = 0.95
_HIP_HALF_WIDTH_M = 0.1
_TILT_DEG, _TILT_RANGE_DEG, _ROTATION_DEG = 12.0, 4.0, 6.0
#: share of the contact that brakes (the rest propels)
BRAKING_FRACTION = 0.4
_HIP_FLEX_AT_PEAK_DEG = 38.0  # peak hip flexion in late swing
_KNEE_AT_CONTACT_DEG, _KNEE_STANCE_DEG, _KNEE_SWING_DEG = 15.0, 25.0, 85.0
_ANKLE_AT_CONTACT_DEG = 5.0
#: EMG bursts per stride as (muscle, start, end) in stride phase units relative to the
#: side's own strike (see :func:`_bursts`)
GLUTES = ("gluteus_maximus", "gluteus_medius")
HIP_FLEXORS = ("rectus_femoris", "tensor_fasciae_latae", "iliopsoas")
OBLIQUES = ("external_oblique", "internal_oblique")


def cadence_steps_min(speed_m_s: float) -> float:
    """Nominal cadence of the model at a speed (steps/min): 150 + 8 v."""
    return 150.0 + 8.0 * speed_m_s


def contact_fraction(speed_m_s: float) -> float:
    """Contact time over stride time at a speed (duty factor): falls from 0.40 at 2 m/s."""
    return max(0.24, 0.40 - 0.04 * (speed_m_s - 2.0))


@dataclass(frozen=True)
class RunStrides:
    """The strides of one run: per side strike and toe-off times (s), session clock.

    ``strike_s[side][k]`` starts stride ``k`` of that side, which lasts
    ``stride_s[side][k]`` (the left strikes half a right stride after the right; a
    left stride is half of two consecutive right strides). ``stand_s`` is when both
    feet are back on the belts (the run's end).
    """

    speed_m_s: float
    strike_s: dict
    off_s: dict
    stride_s: dict
    duty: float
    stand_s: float
    onset_s: float

    def contact_s(self, side: str) -> np.ndarray:
        return self.off_s[side] - self.strike_s[side]


def run_strides(p: AthleteParams, e: Effort) -> RunStrides:
    """The strides of a ``run`` effort (seeded by the athlete's seed and the trial)."""
    v = float(e.speed_m_s or p.run_speed_m_s)
    t_nom = 120.0 / cadence_steps_min(v)
    duty = contact_fraction(v)
    rng = np.random.default_rng([p.seed & 0xFFFFFFFF, 11, int(e.trial or 0)])
    n_max = int((e.end_s - e.onset_s) / (0.5 * t_nom)) + 4
    z = np.clip(rng.standard_normal(n_max), -2.0, 2.0)
    stride = t_nom * (1.0 + p.run_stride_cv * z)
    r0 = e.onset_s + FIRST_STRIKE_AFTER_S
    starts = r0 + np.concatenate([[0.0], np.cumsum(stride)])
    # strides started before the end run to their end (a stop cue then ends the run
    # without changing anything already produced: its time is in the future)
    n = max(int(np.searchsorted(starts, e.end_s, side="left")), 1)
    # a left stride runs from one left strike to the next: half of two right strides
    left_stride = 0.5 * (stride[:-1] + stride[1:])
    r = starts[:n]
    strike = {"r": r, "l": r + 0.5 * stride[:n]}
    per_side = {"r": stride[:n], "l": left_stride[:n]}
    off = {s: strike[s] + duty * per_side[s] for s in ("r", "l")}
    # the run ends when the right foot would strike again: both feet land and stand
    stand = float(starts[n])
    return RunStrides(v, strike, off, per_side, duty, stand, float(e.onset_s))


def _overlapping(starts: np.ndarray, ends: np.ndarray, t: np.ndarray):
    """The (start, end) pairs that overlap the sorted times ``t`` (a 600-s run has
    thousands of contacts; a chunk touches a few)."""
    if not t.size:
        return []
    i0 = max(0, int(np.searchsorted(ends, t[0], side="left")))
    i1 = int(np.searchsorted(starts, t[-1], side="right"))
    return list(zip(starts[i0:i1], ends[i0:i1], strict=True))


def _near(rs: RunStrides, t0: float, t1: float) -> RunStrides:
    """The strides of ``rs`` that start within [t0 - one stride, t1]."""
    r = rs.strike_s["r"]
    i0 = max(0, int(np.searchsorted(r, t0, side="left")) - 2)
    i1 = int(np.searchsorted(r, t1, side="right")) + 1
    sl = slice(i0, i1)
    return RunStrides(rs.speed_m_s, {k: v[sl] for k, v in rs.strike_s.items()},
                      {k: v[sl] for k, v in rs.off_s.items()},
                      {k: v[sl] for k, v in rs.stride_s.items()}, rs.duty,
                      rs.stand_s, rs.onset_s)


def _phase(rs: RunStrides, side: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stride phase in [0, 1) of ``side`` at ``t`` and whether a stride is running there."""
    s = rs.strike_s[side]
    k = np.searchsorted(s, t, side="right") - 1
    ok = (k >= 0) & (t < rs.stand_s)
    kk = np.clip(k, 0, s.size - 1)
    ph = (t - s[kk]) / rs.stride_s[side][kk]
    ok &= ph < 1.0
    return np.where(ok, ph, 0.0), ok


def _in_run(rs: RunStrides, t: np.ndarray) -> np.ndarray:
    return (t >= rs.onset_s) & (t < rs.stand_s)


def side_targets(p: AthleteParams) -> dict[str, dict[str, float]]:
    """Per side: peak hip extension and peak pelvic drop during its stance (deg)."""
    out = {}
    for side in ("l", "r"):
        deficit = side == p.run_deficit_side
        out[side] = {
            "peak_hip_extension_deg": p.run_hip_extension_deg - (p.run_hip_extension_deficit_deg
                                                                 if deficit else 0.0),
            "pelvic_drop_deg": p.run_pelvic_drop_deg + (p.run_pelvic_drop_extra_deg if deficit else 0.0)}
    return out


def _hip_flex(ext_deg: float, duty: float, ph: np.ndarray) -> np.ndarray:
    centre = 0.5 * (_HIP_FLEX_AT_PEAK_DEG - ext_deg)
    amp = 0.5 * (_HIP_FLEX_AT_PEAK_DEG + ext_deg)
    return centre - amp * np.cos(2 * np.pi * (ph - 0.9 * duty))


def _knee(duty: float, ph: np.ndarray) -> np.ndarray:
    u = np.clip(ph / duty, 0.0, 1.0)
    s = np.clip((ph - duty) / (1.0 - duty), 0.0, 1.0)
    return np.where(ph < duty, _KNEE_AT_CONTACT_DEG + _KNEE_STANCE_DEG * np.sin(np.pi * u),
                    _KNEE_AT_CONTACT_DEG + _KNEE_SWING_DEG * np.sin(np.pi * s))


def _ankle(duty: float, ph: np.ndarray) -> np.ndarray:
    u = np.clip(ph / duty, 0.0, 1.0)
    s = np.clip((ph - duty) / (1.0 - duty), 0.0, 1.0)
    end = _ANKLE_AT_CONTACT_DEG - 25.0
    stance = _ANKLE_AT_CONTACT_DEG + 15.0 * np.sin(np.pi * u) - 25.0 * u**3
    swing = end + (_ANKLE_AT_CONTACT_DEG - end) * (3 * s**2 - 2 * s**3)
    return np.where(ph < duty, stance, swing)


def run_angles_deg(p: AthleteParams, rs: RunStrides, t: np.ndarray) -> dict[str, np.ndarray]:
    """Joint and pelvis angles (deg) during the run; the standing posture outside it.

    Keys ``hip_l``, ``knee_l``, ``ankle_l`` (flexion, flexion, dorsiflexion), the same for
    ``_r``, and ``tilt``, ``obliquity_r`` (right side up +), ``rotation_r`` (right side
    forward +).
    """
    targets = side_targets(p)
    run = _in_run(rs, t)
    out: dict[str, np.ndarray] = {}
    obl = np.zeros_like(t)
    for side in ("l", "r"):
        ph, ok = _phase(rs, side, t)
        tg = targets[side]
        out[f"hip_{side}"] = np.where(ok, _hip_flex(tg["peak_hip_extension_deg"], rs.duty, ph), 5.0)
        out[f"knee_{side}"] = np.where(ok, _knee(rs.duty, ph), 5.0)
        out[f"ankle_{side}"] = np.where(ok, _ankle(rs.duty, ph), 3.0)
        u = ph / rs.duty
        stance = ok & (u < 1.0)
        drop = tg["pelvic_drop_deg"] * np.sin(np.pi * np.clip(u, 0.0, 1.0))
        obl += np.where(stance, drop if side == "r" else -drop, 0.0)
    ph_r, ok_r = _phase(rs, "r", t)
    out["obliquity_r"] = obl
    out["tilt"] = np.where(ok_r, _TILT_DEG + 0.5 * _TILT_RANGE_DEG * np.cos(4 * np.pi * ph_r), _TILT_DEG)
    out["rotation_r"] = np.where(ok_r, _ROTATION_DEG * np.cos(2 * np.pi * ph_r), 0.0)
    out["tilt"] = np.where(run, out["tilt"], _TILT_DEG)
    return out


def run_segment_frames(p: AthleteParams, rs: RunStrides, t: np.ndarray) -> dict[str, Any]:
    """Segment rotations (n, 3, 3) and joint centres (n, 3) of the running model."""
    a = {k: np.deg2rad(v) for k, v in run_angles_deg(p, rs, t).items()}
    n = t.size
    z0 = np.zeros(n)
    pel = rotation_yxz(a["tilt"], -a["obliquity_r"], a["rotation_r"])
    origin = np.zeros((n, 3))
    origin[:, 2] = _PELVIS_HEIGHT_M
    out: dict[str, Any] = {"pelvis": pel, "origin": origin}
    for side, lat in (("l", 1.0), ("r", -1.0)):
        thigh = np.einsum("nij,njk->nik", pel, rotation_yxz(-a[f"hip_{side}"], z0, z0))
        shank = np.einsum("nij,njk->nik", thigh, rotation_yxz(a[f"knee_{side}"], z0, z0))
        foot = np.einsum("nij,njk->nik", shank, rotation_yxz(-a[f"ankle_{side}"] - np.pi / 2, z0, z0))
        hip = origin + lat * _HIP_HALF_WIDTH_M * pel[:, :, 1]
        knee = hip - p.thigh_length_m * thigh[:, :, 2]
        ankle = knee - p.shank_length_m * shank[:, :, 2]
        out.update({f"thigh_{side}": thigh, f"shank_{side}": shank, f"foot_{side}": foot,
                    f"hip_{side}": hip, f"knee_{side}": knee, f"ankle_{side}": ankle})
    return out


def run_markers(p: AthleteParams, rs: RunStrides, t: np.ndarray) -> dict[str, np.ndarray]:
    """Marker positions (n, 3) of the PiG lower body plus medial knee and ankle markers."""
    from labkit.devices.sim.athlete_motion import _ASIS_M, _PSIS_M

    f = run_segment_frames(p, rs, t)
    pel, o = f["pelvis"], f["origin"]

    def in_pelvis(x, y, z):
        return o + np.einsum("nij,j->ni", pel, np.array([x, y, z]))

    pos = {}
    for side, up, lat in (("l", "L", 1.0), ("r", "R", -1.0)):
        th, sh, ft = f[f"thigh_{side}"], f[f"shank_{side}"], f[f"foot_{side}"]
        knee, ankle = f[f"knee_{side}"], f[f"ankle_{side}"]
        pos[up + "ASI"] = in_pelvis(_ASIS_M[0], lat * _ASIS_M[1], _ASIS_M[2])
        pos[up + "PSI"] = in_pelvis(_PSIS_M[0], lat * _PSIS_M[1], _PSIS_M[2])
        pos[up + "THI"] = 0.5 * (f[f"hip_{side}"] + knee) + lat * 0.07 * th[:, :, 1]
        pos[up + "KNE"] = knee + lat * 0.05 * th[:, :, 1]
        pos[up + "KNM"] = knee - lat * 0.05 * th[:, :, 1]
        pos[up + "TIB"] = 0.5 * (knee + ankle) + lat * 0.05 * sh[:, :, 1]
        pos[up + "ANK"] = ankle + lat * 0.04 * sh[:, :, 1]
        pos[up + "ANM"] = ankle - lat * 0.04 * sh[:, :, 1]
        heel = ankle + 0.05 * ft[:, :, 2] - 0.07 * ft[:, :, 0]  # PiG foot: z to the heel, x up
        pos[up + "HEE"] = heel
        pos[up + "TOE"] = heel - p.foot_length_m * ft[:, :, 2]
    return pos


def run_loads(p: AthleteParams, rs: RunStrides, t: np.ndarray) -> dict[str, np.ndarray]:
    """Per-foot vertical and antero-posterior force (N) of the run: ``fz_l``, ``fz_r``,
    ``fx_l``, ``fx_r``, and ``stand`` (1 where the athlete stands: before and after)."""
    bw = p.body_weight_n
    out = {}
    for side in ("l", "r"):
        fz, fx = np.zeros_like(t), np.zeros_like(t)
        for a, b in _overlapping(rs.strike_s[side], rs.off_s[side], t):
            m = (t >= a) & (t < b)
            u = (t[m] - a) / (b - a)
            fz[m] += p.run_peak_force_bw * bw * np.sin(np.pi * u)
            fx[m] += ap_reaction_bw(p, u) * bw
        out[f"fz_{side}"], out[f"fx_{side}"] = fz, fx
    out["stand"] = (~_in_run(rs, t)).astype(float)
    return out


def ap_reaction_bw(p: AthleteParams, u: np.ndarray) -> np.ndarray:
    """Antero-posterior reaction on the foot (body weights, + forward) over the contact,
    ``u`` = time since the strike / contact time: braking as a half sine of peak
    ``run_braking_force_bw`` over the first :data:`BRAKING_FRACTION` of the contact, then
    propulsion as a half sine over the rest with the same impulse (a steady speed), so its
    peak is lower: ``run_braking_force_bw * BRAKING_FRACTION / (1 - BRAKING_FRACTION)``."""
    b = p.run_braking_force_bw
    brake = u < BRAKING_FRACTION
    return np.where(brake, -b * np.sin(np.pi * u / BRAKING_FRACTION),
                    propulsive_peak_bw(p) * np.sin(np.pi * (u - BRAKING_FRACTION) / (1 - BRAKING_FRACTION)))


def propulsive_peak_bw(p: AthleteParams) -> float:
    """Peak propulsive reaction (body weights) of :func:`ap_reaction_bw`."""
    return p.run_braking_force_bw * BRAKING_FRACTION / (1 - BRAKING_FRACTION)


def _bursts(p: AthleteParams, rs: RunStrides, side: str, muscle: str) -> list[tuple[float, float]]:
    """(onset, offset) times of a muscle's bursts on one side during the run."""
    s, o = rs.strike_s[side], rs.off_s[side]
    other = rs.strike_s["r" if side == "l" else "l"]
    out = []
    if muscle in GLUTES:
        out = [(a - p.run_glute_lead_s, a + 0.5 * (b - a)) for a, b in zip(s, o, strict=True)]
    elif muscle in HIP_FLEXORS:
        out = [(b, b + 0.3 * (a + st - b)) for a, b, st in zip(s, o, rs.stride_s[side], strict=True)]
    elif muscle in OBLIQUES:
        out = [(a - 0.03, a + 0.12) for a in other]
    return out


def run_emg_envelope(p: AthleteParams, rs: RunStrides, t: np.ndarray, key: tuple[str, str]) -> np.ndarray:
    """EMG amplitude (RMS V) of one ``(muscle, side)`` during the run (trapezoid bursts
    rising over ``emg_rise_s`` from each onset, at 40 % of the MVC level)."""
    muscle, side = key
    env = np.zeros_like(t)
    rise = p.emg_rise_s
    if not t.size:
        return env
    for a, b in _bursts(p, _near(rs, float(t[0]) - 1.0, float(t[-1]) + 1.0), side, muscle):
        up = np.clip((t - a) / rise, 0.0, 1.0)
        down = np.clip(1.0 - (t - b) / rise, 0.0, 1.0)
        env = np.maximum(env, np.minimum(up, down))
    return 0.4 * p.emg_mvc_v * env


def run_truth(p: AthleteParams, e: Effort) -> list[dict[str, Any]]:
    """The run's ground truth: a ``run`` message (speed, cadence, contact and flight
    times, per-side targets, the EMG timing) and ``strides`` messages (strike and toe-off
    times per side, 16 strides each, so that every message stays under 1 KiB)."""
    rs = run_strides(p, e)
    st = float(np.mean(rs.stride_s["r"]))
    steps = np.diff(np.sort(np.concatenate([rs.strike_s["r"], rs.strike_s["l"]])))
    msg = {"event": "run", "trial": e.trial, "task": e.task, "speed_m_s": rs.speed_m_s,
           "cadence_steps_min": round(60.0 / float(np.mean(steps)), 6),
           "stride_time_s": round(st, 6), "duty_factor": round(rs.duty, 6),
           "contact_time_s": round(float(np.mean(rs.contact_s("r"))), 6),
           "flight_time_s": round(float(np.mean(0.5 * rs.stride_s["r"] - rs.contact_s("r"))), 6),
           "deficit_side": p.run_deficit_side,
           "targets": {s: {k: round(v, 6) for k, v in d.items()} for s, d in side_targets(p).items()},
           "glute_onset_rel_strike_s": -p.run_glute_lead_s,
           "braking_peak_n": round(p.run_braking_force_bw * p.body_weight_n, 6),
           "propulsive_peak_n": round(propulsive_peak_bw(p) * p.body_weight_n, 6),
           "stand_s": round(rs.stand_s, 6)}
    out = [msg]
    for side in ("r", "l"):
        s, o = rs.strike_s[side], rs.off_s[side]
        for i in range(0, s.size, 16):
            out.append({"event": "strides", "trial": e.trial, "side": side, "first": i,
                        "strike_s": [round(float(x), 6) for x in s[i:i + 16]],
                        "off_s": [round(float(x), 6) for x in o[i:i + 16]]})
    return out


def run_rigid_bodies(p: AthleteParams, rs: RunStrides, t: np.ndarray, segments) -> np.ndarray:
    """Rigid bodies (origin, quaternion w x y z) of ``segments``, shape (n, len, 7); the
    feet as streamed (x toward the toes, z up: the PiG foot times the streamed offset's
    inverse)."""
    from scipy.spatial.transform import Rotation

    from labkit.signal.kinematics_frames import FOOT_FORWARD_TO_PIG

    f = run_segment_frames(p, rs, t)
    origins = {"pelvis": f["origin"]}
    for side in ("l", "r"):
        origins[f"thigh_{side}"] = f[f"hip_{side}"]
        origins[f"shank_{side}"] = f[f"knee_{side}"]
        origins[f"foot_{side}"] = f[f"ankle_{side}"]
    out = np.zeros((t.size, len(segments), 7))
    off_t = np.asarray(FOOT_FORWARD_TO_PIG).T
    for i, seg in enumerate(segments):
        r = f[seg] @ off_t if seg.startswith("foot") else f[seg]
        q = Rotation.from_matrix(r).as_quat()  # x y z w
        out[:, i, :3] = origins[seg]
        out[:, i, 3] = q[:, 3]
        out[:, i, 4:] = q[:, :3]
    return out
