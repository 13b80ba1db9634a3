"""Force model of the simulated athlete: ground reaction forces and moments on the plates.

Vertical force summed over both feet, split ``left_fraction`` : 1 - ``left_fraction``
between the left plate ``fp1`` and the right plate ``fp2`` (``left_share``, or from
``limb_asymmetry_pct``: every shared force, so every per-limb metric, is that much
smaller on the weaker side):

* quiet standing: ``F = BW = m g`` exactly (plates add their own noise);
* isometric pulls (``imtp``): ``F = BW + A (1 - exp(-(t - t_on)/tau))`` from the onset
  ``t_on = cue + reaction_time`` until the relax time, then an exponential return to BW
  with ``relax_time_constant_s``; ``A = peak_force_n - BW``. Mean RFD over 0-X is
  ``A (1 - exp(-X/tau)) / X``, net impulse ``A (X - tau (1 - exp(-X/tau)))``;
* segment tests load one plate like a load cell (document: the tested side's plate):
  ``isometric_hip_extension`` adds ``+A`` to that plate's Fz (heel pressed down),
  ``isometric_hip_flexion`` adds ``-A`` (strap anchored to the plate pulled up),
  ``isometric_trunk_rotation`` adds a free moment Mz (``+`` turning left) split over both
  plates; all with the same exponential rise;
* ``cmj``: unweighting and braking as one sine period of net force
  ``-D sin(2 pi s/T1)`` (lowest point at ``T1``, velocity 0), propulsion
  ``BW (1 - s/T2) + P sin(pi s/T2)`` (reaches 0 N at takeoff), flight at 0 N, landing
  ``BW + L (s/tl) exp(1 - s/tl)``. ``P`` is chosen so that the takeoff velocity gives
  exactly ``cmj_jump_height_m``;
* ``drop_jump``: from the box (the plates unloaded since the athlete climbed it, a
  ``box`` hold, with a ``step_ramp_s`` half-cosine), a fall of ``sqrt(2 h / g)`` onto
  the plates, a contact of force ``A sin(pi s / tc)`` (0 N at touchdown and take-off;
  ``A`` such that the contact's net impulse turns the touchdown velocity ``sqrt(2 g h)``
  into the take-off velocity of ``drop_jump_height_m``), flight at 0 N, landing as a CMJ;
* ``single_leg_cmj``: the whole weight on the ``side`` leg's plate (from the stance taken at
  the announcement, a ``one_leg`` hold), a CMJ of ``single_leg_jump_height_m`` on it, the
  other foot down again ``step_ramp_s`` after the effort ends;
* ``rebound_jumps``: a CMJ of ``rebound_jump_height_m``, then ``rebound_hops`` contacts of
  ``rebound_contact_s`` with force ``A sin(pi s / tc)`` that rebound to the same height,
  and a landing;
* ``step_off``: the plates are unloaded for ``step_off_duration_s``;
* misbehaviours: a ``countermovement`` dip before the pull, ``pretension`` above BW.

Functions of the parameters, the efforts in play and time; the
:class:`~labkit.devices.sim.athlete.Athlete` keeps the timeline. Pure numpy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from labkit.devices.sim.athlete import AthleteParams, Effort

__all__ = [
    "CmjShape",
    "DropJumpShape",
    "G",
    "ReboundShape",
    "added_loads",
    "cmj_net_force",
    "cmj_shape",
    "drop_jump_shape",
    "plate_forces",
    "rebound_net_force",
    "rebound_shape",
    "rise",
    "single_leg",
    "smoothstep",
]

G = 9.80665


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1 and a half cosine in between (no jumps in force or angle)."""
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def rise(t: np.ndarray, on: float, end: float, amp: float, tau: float, tau_r: float) -> np.ndarray:
    """``amp (1 - exp(-(t-on)/tau))`` on [on, end), then an exponential return to 0."""
    out = np.zeros_like(t)
    m = (t >= on) & (t < end)
    out[m] = -amp * np.expm1(-(t[m] - on) / tau)
    a_end = -amp * math.expm1(-(end - on) / tau) if end > on else 0.0
    m = t >= end
    out[m] = a_end * np.exp(-(t[m] - end) / tau_r)
    return out


@dataclass(frozen=True)
class CmjShape:
    """Closed-form CMJ landmarks and amplitudes (times relative to onset)."""

    t1: float
    t2: float
    dip_n: float
    push_n: float
    v_to: float
    t_flight: float
    land_n: float
    tl: float
    depth_m: float
    rise_m: float


def cmj_shape(p: AthleteParams) -> CmjShape:
    """The CMJ of these parameters: phase durations, force amplitudes, takeoff velocity."""
    m, bw = p.body_mass_kg, p.body_weight_n
    t1, t2 = p.cmj_countermovement_s, p.cmj_propulsion_s
    dip = p.cmj_unweighting_fraction * bw
    v_to = math.sqrt(2 * G * p.cmj_jump_height_m)
    push = (m * v_to + bw * t2 / 2) * math.pi / (2 * t2)
    t_flight = 2 * v_to / G
    tl = p.cmj_landing_peak_s
    land = m * v_to / (tl * math.e)
    depth = dip * t1**2 / (2 * math.pi * m)
    rise_m = (-bw * t2**2 / 6 + push * t2**2 / math.pi) / m
    return CmjShape(t1, t2, dip, push, v_to, t_flight, land, tl, depth, rise_m)


@dataclass(frozen=True)
class DropJumpShape:
    """Closed-form drop jump (times relative to stepping off the box)."""

    t_fall: float
    v_td: float
    contact_s: float
    amp_n: float
    v_to: float
    t_flight: float
    land_n: float


def drop_jump_shape(p: AthleteParams) -> DropJumpShape:
    """The drop jump of these parameters: fall, contact amplitude, take-off velocity."""
    m, bw = p.body_mass_kg, p.body_weight_n
    h, tc = p.drop_jump_box_height_m, p.drop_jump_contact_s
    v_td = math.sqrt(2 * G * h)
    v_to = math.sqrt(2 * G * p.drop_jump_height_m)
    amp = math.pi * (m * (v_to + v_td) + bw * tc) / (2 * tc)  # net impulse = m (v_to + v_td)
    land = m * v_to / (p.cmj_landing_peak_s * math.e)
    return DropJumpShape(math.sqrt(2 * h / G), v_td, tc, amp, v_to, 2 * v_to / G, land)


def drop_jump_net_force(p: AthleteParams, e: Effort, t: np.ndarray) -> np.ndarray:
    """Net vertical force F - BW of a drop jump (and of standing on the box before it)."""
    c = drop_jump_shape(p)
    bw = p.body_weight_n
    box = e.stance_start_s if e.stance_start_s is not None else e.onset_s
    td = e.onset_s + c.t_fall
    out = -bw * smoothstep((t - box) / p.step_ramp_s)
    s = t - td
    m = (s >= 0) & (s < c.contact_s)
    out[m] = c.amp_n * np.sin(np.pi * s[m] / c.contact_s) - bw
    u = s - c.contact_s
    m = (u >= 0) & (u < c.t_flight)
    out[m] = -bw
    u = u - c.t_flight
    m = u >= 0
    tl = p.cmj_landing_peak_s
    out[m] = c.land_n * (u[m] / tl) * np.exp(1.0 - u[m] / tl)
    return out


@dataclass(frozen=True)
class ReboundShape:
    """Closed-form rebound jumps (times relative to the first jump's onset)."""

    first_landing_s: float
    contact_s: float
    amp_n: float
    t_flight: float
    n_hops: int

    def takeoffs(self) -> list[float]:
        return [self.first_landing_s + h * (self.contact_s + self.t_flight) + self.contact_s
                for h in range(self.n_hops)]


def rebound_shape(p: AthleteParams) -> ReboundShape:
    """A CMJ of ``rebound_jump_height_m``, then ``rebound_hops`` contacts of
    ``rebound_contact_s`` each rebounding to the same height."""
    q = dataclasses.replace(p, cmj_jump_height_m=p.rebound_jump_height_m)
    c = cmj_shape(q)
    m, bw, tc = p.body_mass_kg, p.body_weight_n, p.rebound_contact_s
    amp = math.pi * (2 * m * c.v_to + bw * tc) / (2 * tc)  # reverses v_to within the contact
    return ReboundShape(c.t1 + c.t2 + c.t_flight, tc, amp, c.t_flight, int(p.rebound_hops))


def rebound_net_force(p: AthleteParams, s: np.ndarray) -> np.ndarray:
    """Net vertical force F - BW of rebound jumps, ``s`` seconds after the first onset."""
    q = dataclasses.replace(p, cmj_jump_height_m=p.rebound_jump_height_m)
    r = rebound_shape(p)
    bw = p.body_weight_n
    out = cmj_net_force(q, s)
    period = r.contact_s + r.t_flight
    u = s - r.first_landing_s
    hops = (u >= 0) & (u < r.n_hops * period)
    w = np.mod(u[hops], period)
    out[hops] = np.where(w < r.contact_s, r.amp_n * np.sin(np.pi * w / r.contact_s) - bw, -bw)
    last = u >= r.n_hops * period
    tl = p.cmj_landing_peak_s
    land = p.body_mass_kg * math.sqrt(2 * G * p.rebound_jump_height_m) / (tl * math.e)
    v = u[last] - r.n_hops * period
    out[last] = land * (v / tl) * np.exp(1.0 - v / tl)
    return out


def single_leg(p: AthleteParams) -> AthleteParams:
    """The parameters of a single-leg CMJ: the CMJ's, with ``single_leg_jump_height_m``."""
    return dataclasses.replace(p, cmj_jump_height_m=p.single_leg_jump_height_m)


def _stance(p: AthleteParams, e: Effort, t: np.ndarray) -> np.ndarray:
    """0 -> 1 as the athlete takes the effort's stance (from ``stance_start_s``), back to 0
    as the other foot comes down after the effort ends."""
    on = e.stance_start_s if e.stance_start_s is not None else e.onset_s
    return smoothstep((t - on) / p.step_ramp_s) * (1.0 - smoothstep((t - e.end_s) / p.step_ramp_s))


def cmj_net_force(p: AthleteParams, s: np.ndarray) -> np.ndarray:
    """Net vertical force F - BW of a CMJ, ``s`` seconds after its onset."""
    c = cmj_shape(p)
    bw = p.body_weight_n
    out = np.zeros_like(s)
    m = (s >= 0) & (s < c.t1)
    out[m] = -c.dip_n * np.sin(2 * np.pi * s[m] / c.t1)
    u = s - c.t1
    m = (u >= 0) & (u < c.t2)
    out[m] = -bw * u[m] / c.t2 + c.push_n * np.sin(np.pi * u[m] / c.t2)
    u = s - c.t1 - c.t2
    m = (u >= 0) & (u < c.t_flight)
    out[m] = -bw
    u = s - c.t1 - c.t2 - c.t_flight
    m = u >= 0
    out[m] = c.land_n * (u[m] / c.tl) * np.exp(1.0 - u[m] / c.tl)
    return out


def _add_misbehaviour(p: AthleteParams, e: Effort, t: np.ndarray, both: np.ndarray) -> None:
    """Add the countermovement dip and the pretension of ``e`` (if any) to ``both`` in place."""
    pre_start = (e.pretension_start_s if e.pretension_start_s is not None
                 else e.cue_s + p.reaction_time_s + e.shifted_s)
    if e.has("countermovement"):
        d = p.countermovement_duration_s
        s = t - (e.onset_s - d)
        m = (s >= 0) & (s < d)
        both[m] -= p.countermovement_depth_n * np.sin(np.pi * s[m] / d) ** 2
    if e.has("pretension"):
        ramp = smoothstep((t - pre_start) / p.step_ramp_s)
        pre = p.pretension_n * ramp
        after = t >= e.end_s
        pre[after] = p.pretension_n * np.exp(-(t[after] - e.end_s) / p.relax_time_constant_s)
        both += pre


def added_loads(p: AthleteParams, efforts: Iterable[Effort], t: np.ndarray) -> dict[str, np.ndarray]:
    """Loads the efforts add to quiet standing, noise-free.

    Returns
    -------
    dict
        ``both`` (vertical, both feet, split by ``left_fraction``), ``l`` and ``r``
        (vertical, on the left or right plate only) in N, and ``mz`` (free moment, N·m).
    """
    z = np.zeros_like(t)
    both, left, right, mz = z.copy(), z.copy(), z.copy(), z.copy()
    tau, tau_r = p.rise_time_constant_s, p.relax_time_constant_s
    for e in efforts:
        if e.task == "step_off":
            off = smoothstep((t - e.onset_s) / p.step_ramp_s)
            back = smoothstep((t - e.end_s) / p.step_ramp_s)
            both -= p.body_weight_n * off * (1.0 - back)
            continue
        if e.task == "box":  # standing on the box beside the plates
            both -= p.body_weight_n * smoothstep((t - e.onset_s) / p.step_ramp_s)
            continue
        if e.task in ("one_leg", "single_leg_cmj"):  # the whole weight on the tested leg
            shift = p.body_weight_n * (smoothstep((t - e.onset_s) / p.step_ramp_s)
                                       if e.task == "one_leg" else _stance(p, e, t))
            both -= shift
            add = shift + (cmj_net_force(single_leg(p), t - e.onset_s)
                           if e.task == "single_leg_cmj" else 0.0)
            if e.side == "l":
                left += add
            else:
                right += add
            continue
        _add_misbehaviour(p, e, t, both)
        if e.task == "drop_jump":
            both += drop_jump_net_force(p, e, t)
        elif e.task == "rebound_jumps":
            both += rebound_net_force(p, t - e.onset_s)
        elif e.task == "imtp":
            both += rise(t, e.onset_s, e.end_s, p.peak_force_n - p.body_weight_n, tau, tau_r)
        elif e.task == "cmj":
            both += cmj_net_force(p, t - e.onset_s)
        elif e.task in ("isometric_hip_extension", "isometric_hip_flexion"):
            sign = 1.0 if e.task == "isometric_hip_extension" else -1.0
            amp = p.hip_extension_peak_n if sign > 0 else p.hip_flexion_peak_n
            add = sign * rise(t, e.onset_s, e.end_s, amp, tau, tau_r)
            if e.side == "l":
                left += add
            else:
                right += add
        elif e.task == "isometric_trunk_rotation":
            sign = 1.0 if e.direction == "left" else -1.0
            mz += sign * rise(t, e.onset_s, e.end_s, p.trunk_rotation_peak_nm, tau, tau_r)
    return {"both": both, "l": left, "r": right, "mz": mz}


def plate_forces(p: AthleteParams, loads: dict[str, np.ndarray], sway: tuple[np.ndarray, np.ndarray],
                 t: np.ndarray, az0_m: Sequence[float]) -> np.ndarray:
    """Forces and moments per plate, shape (n, n_plates, 6), from the added ``loads``.

    ``sway`` holds the frequencies (Hz) and phases (rad) of the COP and shear sway, four
    each. Plate 0 is under the left foot, plate 1 under the right (one plate: both feet).
    """
    n_pl = len(az0_m)
    total = p.body_weight_n + loads["both"]
    if n_pl == 1:
        fz = [total + loads["l"] + loads["r"]]
        mzs = [loads["mz"]]
    else:
        share = p.left_fraction
        fz = [share * total + loads["l"], (1 - share) * total + loads["r"]]
        fz += [np.zeros_like(t)] * (n_pl - 2)
        mzs = [0.5 * loads["mz"], 0.5 * loads["mz"]] + [np.zeros_like(t)] * (n_pl - 2)
    f, ph = sway
    out = np.zeros((t.size, n_pl, 6))
    for i in range(n_pl):
        cx = p.sway_m * np.sin(2 * np.pi * f[0] * t + ph[0] + i)
        cy = p.sway_m * np.sin(2 * np.pi * f[1] * t + ph[1] + i)
        fx = 0.01 * fz[i] * np.sin(2 * np.pi * f[2] * t + ph[2] + i)
        fy = 0.01 * fz[i] * np.sin(2 * np.pi * f[3] * t + ph[3] + i)
        if i < 2 and n_pl >= 2:  # the rotation couple also shows as opposite shear
            fx = fx + (0.5 if i == 0 else -0.5) * mzs[i] / 0.2
            # a run's braking/propulsion: the channel is the load on the plate, minus the
            # antero-posterior reaction on the foot
            fx = fx - loads.get("fx_l" if i == 0 else "fx_r", 0.0)
        elif n_pl == 1:
            fx = fx - loads.get("fx_l", 0.0) - loads.get("fx_r", 0.0)
        a = az0_m[i]
        out[:, i, 0], out[:, i, 1], out[:, i, 2] = fx, fy, fz[i]
        out[:, i, 3] = cy * fz[i] - fy * a
        out[:, i, 4] = -cx * fz[i] + fx * a
        out[:, i, 5] = mzs[i] + fy * cx - fx * cy
    return out
