"""Ground truth of the simulated athlete's efforts, as JSON-ready messages.

The closed forms of the force model (:mod:`~labkit.devices.sim.athlete_force`) give the
exact onset, peak, RFD and impulse of each isometric effort and the landmarks of each
CMJ; the EMG model gives each channel's burst onset. The simulated lab publishes these
on its truth stream so that analyses can be checked against them. Pure Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit.devices.sim.athlete_emg import activation_levels, split_label
from labkit.devices.sim.athlete_force import G, cmj_shape, drop_jump_shape, rebound_shape, single_leg
from labkit.devices.sim.athlete_motion import (
    CMJ_FLEX_DEG,
    CMJ_TAKEOFF_DEG,
    JOINTS,
    POSTURES_DEG,
    cmj_landmarks,
)

if TYPE_CHECKING:
    from labkit.devices.sim.athlete import AthleteParams, Effort

__all__ = ["FORCE_EPOCHS_MS", "RFD_EPOCHS_MS", "effort_truth", "emg_truth", "r6"]

RFD_EPOCHS_MS = (50, 100, 150, 200, 250)
FORCE_EPOCHS_MS = (50, 90, 100, 150, 200, 250)


def r6(x: float | None) -> float | None:
    """Rounded to 6 decimals (1 µs, 1 µN), which keeps the messages short."""
    return None if x is None else round(float(x), 6)


def _effort_head(p: AthleteParams, e: Effort) -> dict[str, Any]:
    """The ``effort`` message up to the body weight: what was cued and when."""
    head = {"event": "effort", "trial": e.trial, "task": e.task, "cue_s": r6(e.cue_s),
            "reaction_time_s": p.reaction_time_s, "force_onset_s": r6(e.onset_s),
            "relax_s": r6(e.end_s)}
    if e.side:
        head["side"] = e.side
    if e.muscle:
        head["muscle"] = e.muscle
    if e.direction:
        head["direction"] = e.direction
    if e.misbehave:
        head["misbehave"] = list(e.misbehave)
    if e.shifted_s:
        head["shifted_s"] = r6(e.shifted_s)
    head["body_weight_n"] = r6(p.body_weight_n)
    if p.left_fraction != 0.5 and e.task in ("imtp", "cmj"):  # the feet share the force
        head["left_fraction"] = r6(p.left_fraction)
    return head


def _isometric_signal(p: AthleteParams, e: Effort, head: dict[str, Any]) -> float | None:
    """Amplitude of an isometric effort (None for other tasks); sets signal, sign, baseline."""
    bw = p.body_weight_n
    amp = None
    if e.task == "imtp":
        amp, head["signal"], head["baseline"] = p.peak_force_n - bw, "Fz_total", bw
    elif e.task in ("isometric_hip_extension", "isometric_hip_flexion"):
        ext = e.task == "isometric_hip_extension"
        amp = p.hip_extension_peak_n if ext else p.hip_flexion_peak_n
        head["signal"] = f"{'fp1' if e.side == 'l' else 'fp2'}.Fz"
        head["sign"] = 1 if ext else -1
        head["baseline"] = bw * (p.left_fraction if e.side == "l" else 1 - p.left_fraction)
    elif e.task == "isometric_trunk_rotation":
        amp, head["signal"], head["baseline"] = p.trunk_rotation_peak_nm, "Mz_total", 0.0
        head["sign"] = 1 if e.direction == "left" else -1
    return amp


def _misbehaviour_truth(p: AthleteParams, e: Effort, head: dict[str, Any]) -> None:
    """Pretension (raises an IMTP's baseline) and countermovement dip of the effort."""
    bw = p.body_weight_n
    if e.has("pretension") and e.task != "step_off":
        head["pretension_n"] = p.pretension_n
        if isinstance(head.get("baseline"), float) and e.task == "imtp":
            head["baseline"] = bw + p.pretension_n
    if e.has("countermovement") and e.task != "step_off":
        head["countermovement_min_n"] = r6(bw - p.countermovement_depth_n)
        head["countermovement_s"] = r6(e.onset_s - p.countermovement_duration_s / 2)


def _isometric_metrics(p: AthleteParams, e: Effort, head: dict[str, Any], amp: float) -> None:
    """Closed-form peak, force at, RFD and impulse of the exponential rise (docs of
    :mod:`~labkit.devices.sim.athlete_force`)."""
    tau = p.rise_time_constant_s
    head["unit"] = "N.m" if e.task == "isometric_trunk_rotation" else "N"
    head["baseline"] = r6(head["baseline"])
    dur = e.end_s - e.onset_s
    head["peak"] = r6(head["baseline"] - amp * math.expm1(-dur / tau))
    head["time_to_peak_s"] = r6(dur)
    head["force_at"] = {str(x): r6(head["baseline"] - amp * math.expm1(-x / 1000 / tau))
                        for x in FORCE_EPOCHS_MS}
    head["rfd_n_s"] = {str(x): r6(-amp * math.expm1(-x / 1000 / tau) / (x / 1000))
                       for x in RFD_EPOCHS_MS}
    head["impulse_n_s"] = {str(x): r6(amp * (x / 1000 + tau * math.expm1(-x / 1000 / tau)))
                           for x in RFD_EPOCHS_MS}
    head["peak_rfd_n_s"] = r6(amp / tau)
    head["peak_rfd_20ms_n_s"] = r6(-amp * math.expm1(-0.02 / tau) / 0.02)


def _cmj_truth(p: AthleteParams, e: Effort, head: dict[str, Any]) -> dict[str, Any]:
    """Add a CMJ's height and landmarks to ``head``; return its ``kinematics`` message."""
    c = cmj_shape(p)
    lm = cmj_landmarks(p, e)
    head.update({"jump_height_m": r6(c.v_to**2 / (2 * G)), "takeoff_velocity_m_s": r6(c.v_to),
                 "flight_time_s": r6(c.t_flight), "depth_m": r6(c.depth_m),
                 "peak_negative_velocity_s": r6(lm["peak_negative_velocity_s"]),
                 "lowest_s": r6(lm["lowest_s"]), "takeoff_s": r6(lm["takeoff_s"]),
                 "landing_s": r6(lm["landing_s"]),
                 "min_force_n": r6(p.body_weight_n - c.dip_n)})
    lags = p.cmj_extension_lags_s
    pk = {j: lm[f"{j}_peak_extension_velocity_s"] for j in JOINTS}
    stand = dict(zip(JOINTS, POSTURES_DEG["stand"], strict=True))
    # the extension is a half cosine from maximum flexion to take-off: its peak velocity
    # is pi/2 x range / duration, midway
    ext_s = {j: lm["takeoff_s"] - lm[f"{j}_extension_onset_s"] for j in JOINTS}
    return {"event": "kinematics", "trial": e.trial, "task": e.task,
            "extension_onset_s": {j: r6(lm[f"{j}_extension_onset_s"]) for j in JOINTS},
            "peak_extension_velocity_s": {j: r6(pk[j]) for j in JOINTS},
            "peak_extension_velocity_deg_s": {
                j: r6(0.5 * math.pi * (CMJ_FLEX_DEG[j] - CMJ_TAKEOFF_DEG[j]) / ext_s[j]) for j in JOINTS},
            "lag_s": {"hip_knee": r6(lags["knee"] - lags["hip"]),
                      "knee_ankle": r6(lags["ankle"] - lags["knee"])},
            "peak_velocity_lag_s": {"hip_knee": r6(pk["knee"] - pk["hip"]),
                                    "knee_ankle": r6(pk["ankle"] - pk["knee"])},
            "order": sorted(JOINTS, key=lambda j: lags[j]),
            "takeoff_angles_deg": {j: r6(stand[j] + CMJ_TAKEOFF_DEG[j]) for j in JOINTS},
            "takeoff_s": r6(lm["takeoff_s"])}


def _drop_jump_truth(p: AthleteParams, e: Effort, head: dict[str, Any]) -> None:
    """Add a drop jump's landmarks, contact and flight times, height and RSI to ``head``."""
    c = drop_jump_shape(p)
    td = e.onset_s + c.t_fall
    h = c.v_to**2 / (2 * G)
    head.update({"box_height_m": p.drop_jump_box_height_m, "touchdown_s": r6(td),
                 "takeoff_s": r6(td + c.contact_s), "landing_s": r6(td + c.contact_s + c.t_flight),
                 "contact_time_s": r6(c.contact_s), "flight_time_s": r6(c.t_flight),
                 "touchdown_velocity_m_s": r6(-c.v_td), "takeoff_velocity_m_s": r6(c.v_to),
                 "jump_height_m": r6(h), "rsi": r6(h / c.contact_s), "peak_force_n": r6(c.amp_n)})


def emg_truth(p: AthleteParams, effort: Effort,
              labels: Sequence[str]) -> tuple[dict[str, float], list, list]:
    """True EMG burst onsets of an effort per channel label, plus weak and missing labels.

    A channel has an onset when its muscle takes part in the task and it is not missing;
    the onset is ``force_onset - emg_lead_s[muscle]``.
    """
    levels = activation_levels(effort)
    weak_e, missing_e = effort.channels_with("weak_emg"), effort.channels_with("missing_emg")
    onsets, weak, missing = {}, [], []
    for lb in labels:
        key = split_label(lb)
        if levels.get(key, 0.0) <= 0:
            continue
        if lb in missing_e or lb in p.missing_emg_channels:
            missing.append(lb)
            continue
        if lb in weak_e or lb in p.weak_emg_channels:
            weak.append(lb)
        onsets[lb] = effort.onset_s - p.emg_lead_s.get(key[0], 0.05)
    return onsets, weak, missing


def _emg_message(p: AthleteParams, e: Effort, labels: Sequence[str]) -> dict[str, Any]:
    """The ``emg`` message: burst onsets per channel, and the weak and missing channels."""
    onsets, weak, missing = emg_truth(p, e, labels)
    msg = {"event": "emg", "trial": e.trial, "task": e.task, "force_onset_s": r6(e.onset_s),
           "emg_onset_s": {k: r6(v) for k, v in onsets.items()}}
    if weak:
        msg["weak"] = weak
    if missing:
        msg["missing"] = missing
    return msg


def effort_truth(p: AthleteParams, effort: Effort, emg_labels: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Ground truth of an effort as JSON-ready messages (each well under 1 KiB).

    Returns
    -------
    list of dict
        ``{"event": "effort", ...}`` (task, cue, force onset and closed-form force
        metrics), ``{"event": "emg", ...}`` (EMG onsets per channel label) when
        ``emg_labels`` are given, and ``{"event": "kinematics", ...}`` for a CMJ.
    """
    e = effort
    head = _effort_head(p, e)
    msgs = [head]
    amp = _isometric_signal(p, e, head)
    _misbehaviour_truth(p, e, head)
    if amp is not None:
        _isometric_metrics(p, e, head, amp)
    if e.task == "step_off":
        head["force_onset_s"] = None
        head["step_off_s"] = r6(e.onset_s)
        head["step_on_s"] = r6(e.end_s)
    if e.task == "cmj":
        msgs.append(_cmj_truth(p, e, head))
    if e.task == "drop_jump":
        _drop_jump_truth(p, e, head)
    if e.task == "rebound_jumps":
        rb = rebound_shape(p)
        h = p.rebound_jump_height_m
        tos = [e.onset_s + x for x in rb.takeoffs()]
        head.update({"n_hops": rb.n_hops, "contact_time_s": r6(rb.contact_s),
                     "flight_time_s": r6(rb.t_flight), "jump_height_m": r6(h),
                     "rsi": r6(h / rb.contact_s), "takeoffs_s": [r6(x) for x in tos],
                     "first_landing_s": r6(e.onset_s + rb.first_landing_s)})
    if e.task == "single_leg_cmj":
        msgs.append(_cmj_truth(single_leg(p), e, head))
    if emg_labels and e.task not in ("quiet", "step_off"):
        msgs.append(_emg_message(p, e, emg_labels))
    return msgs
