"""Run trials: strides per side from each foot's force, kinematics from the mocap window,
glute, hip-flexor and oblique timing from the EMG (treadmill runs and imported gait).

Each foot has its own vertical force: an instrumented treadmill's left belt is ``fp1``,
the right ``fp2`` (the order of :data:`~labkit.trials.isometric.SIDE_PLATE`). The
antero-posterior reaction is minus the belts' ``Fx`` (a plate channel is the load on the
plate; the belt's +x is the running direction); over ground it is taken along each
contact's own line of progression (:func:`labkit.signal.gait_events.plate_ap_reaction`).
Angles follow Plug-in Gait (:mod:`labkit.signal.kinematics`); the
pelvis' progression frame is found from the pelvis itself (``progression="auto"``).
Metric definitions: ``docs/science.md`` (Running and gait strides).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from labkit.config.protocol import TrialStep
from labkit.errors import SignalError
from labkit.signal import gait_running as gr
from labkit.signal.window import Window
from labkit.trials.catalogue import entry
from labkit.trials.emg_onsets import EMG_OPTIONS, TRUNK_MUSCLES
from labkit.trials.limbs import ASYMMETRY_OPTION, DEFAULT_FORMULA
from labkit.trials.outcome import TrialOutcome

__all__ = ["BELTS", "RUN_MUSCLES", "analyse_run", "angle_series", "stride_emg_bursts"]

#: the plate (belt) under each foot
BELTS = {"l": "fp1", "r": "fp2"}
#: muscles timed against the strikes: glutes, hip flexors, obliques (label prefixes)
RUN_MUSCLES = ("gluteus_maximus", "gluteus_medius", "rectus_femoris", "tensor_fasciae_latae",
               "iliopsoas", "external_oblique", "internal_oblique")


def angle_series(frames: Mapping[str, np.ndarray], *, progression: str | float = "auto",
                 origin_m: Any = None) -> dict[str, np.ndarray]:
    """The angle series :func:`labkit.signal.gait_running.stride_kinematics` reads, from
    segment frames (:func:`labkit.signal.kinematics.frames_from_channels`); a ``thorax``
    frame, when there, gives ``thorax_rotation``."""
    from labkit.signal import kinematics as kin

    ja = kin.lower_limb_angles(frames)
    out: dict[str, np.ndarray] = {}
    for s in ("l", "r"):
        out[f"hip_flexion_{s}"] = ja.sagittal("hip", s)
        out[f"knee_flexion_{s}"] = ja.sagittal("knee", s)
        out[f"ankle_dorsiflexion_{s}"] = ja.sagittal("ankle", s)
        pel = kin.pelvis_angles(frames["pelvis"], side=s, progression=progression, origin_m=origin_m)
        out[f"pelvic_obliquity_{s}"] = pel[:, 1]
        if s == "r":
            out["pelvic_tilt"], out["pelvis_rotation"] = pel[:, 0], pel[:, 2]
    if "thorax" in frames:
        out["thorax_rotation"] = kin.pelvis_angles(frames["thorax"], side="r", progression=progression,
                                                   origin_m=origin_m)[:, 2]
    return out


def stride_emg_bursts(emg: Window, options: Mapping[str, Any] | None = None) -> tuple[dict, dict]:
    """Bursts (onsets, offsets; session clock) of the run muscles' channels, and the
    detector's parameters per group (limbs; trunk with ECG suppression)."""
    from labkit.signal import emg as emg_core

    opts = {k: v for k, v in dict(options or {}).items() if k not in EMG_OPTIONS}
    trunk_ecg = dict(options or {}).get("trunk_ecg", "template")
    labels = [lab for lab in emg.labels if lab.startswith(RUN_MUSCLES)]
    groups = {"limb": [lab for lab in labels if not lab.startswith(TRUNK_MUSCLES)],
              "trunk": [lab for lab in labels if lab.startswith(TRUNK_MUSCLES)]}
    t0 = float(emg.times[0])
    bursts, params = {}, {}
    for group, labs in groups.items():
        if not labs:
            continue
        o = dict(opts)
        if group == "trunk":
            o.setdefault("ecg", trunk_ecg)
        x = np.column_stack([emg.column(lab) for lab in labs])
        found = emg_core.detect_onsets(x, emg.rate_hz, channels=labs, **o)
        params[group] = dict(found.attrs.get("params", {}))
        for lab in labs:
            rows = found[found["channel"] == lab] if len(found) else found
            bursts[lab] = (t0 + np.asarray(rows["onset_s"], dtype=float),
                           t0 + np.asarray(rows["offset_s"], dtype=float))
    return bursts, params


def _frames(mocap: Window) -> dict[str, np.ndarray]:
    """Segment frames from the mocap window: Plug-in Gait's own segment points (origin,
    anterior, lateral, proximal: ``PELO``, ``LFEA``, ...) when the file has them, else the
    labelled markers or rigid bodies (:func:`labkit.signal.kinematics.frames_from_channels`);
    the thorax from the trunk markers (``C7``, ``T10``, ``CLAV``, ``STRN``) when they are there."""
    from labkit.signal import kinematics as kin

    have = set(mocap.labels)
    pig = {"pelvis": "PEL", "thigh_l": "LFE", "thigh_r": "RFE", "shank_l": "LTI", "shank_r": "RTI",
           "foot_l": "LFO", "foot_r": "RFO"}
    if all(f"{p}{c}.x" in have for p in pig.values() for c in "OALP"):
        def pt(name):
            return np.column_stack([mocap.column(f"{name}.{a}") for a in "xyz"])
        frames = {seg: kin.frames_from_points(*(pt(p + c) for c in "OALP")) for seg, p in pig.items()}
        thorax = kin.thorax_if_present({m: pt(m) for m in kin.THORAX_MARKERS if f"{m}.x" in have})
        if thorax is not None:
            frames["thorax"] = thorax
        return frames
    return kin.frames_from_channels(mocap.labels, mocap.data)


def _overground(mocap: Window | None, on_plates: list, step: TrialStep):
    """Both feet's contacts over ground (:func:`labkit.signal.gait_events.overground_contacts`)."""
    from labkit.signal import gait_events

    def pts(name):
        cols = [f"{name}.{a}" for a in "xyz"]
        if mocap is None or not all(c in mocap.labels for c in cols):
            return None
        return np.column_stack([mocap.column(c) for c in cols])

    need = ["LHEE", "LTOE", "RHEE", "RTOE"]
    pelvis = [p for p in (pts(n) for n in ("LASI", "RASI", "LPSI", "RPSI")) if p is not None]
    if any(pts(n) is None for n in need) or not pelvis:
        raise SignalError(f"test {step.test} over ground needs markers LHEE, LTOE, RHEE, RTOE and the "
                          "pelvis (LASI/RASI) in the mocap stream, or one treadmill belt per foot "
                          "(fp1 left, fp2 right) with every contact on it")
    with np.errstate(invalid="ignore"):
        pel = np.mean(np.stack(pelvis), axis=0)  # NaN where one is missing: that frame is left out
    t0 = float(mocap.times[0])
    markers = {s: gait_events.marker_contacts(pts(f"{S}HEE"), pts(f"{S}TOE"), pel, mocap.rate_hz, t0_s=t0)
               for s, S in (("l", "L"), ("r", "R"))}
    return gait_events.overground_contacts(markers, on_plates)


def _plate_forces(force: Window, plates: list[str], assigned: list[dict]) -> dict:
    """Per foot, the vertical force of the plates during the contacts given to it and,
    where the plate has its horizontal loads and moments, the antero-posterior reaction
    (:func:`labkit.signal.gait_events.plate_ap_reaction`; NaN elsewhere: a stride off the
    plates has no force metrics)."""
    from labkit.signal import gait_events

    t = force.times
    out = {}
    for a in assigned:
        f = out.setdefault(a["side"], {"fz": np.full(t.size, np.nan), "fap": np.full(t.size, np.nan)})
        plate = plates[a["plate"]]
        m = (t >= a["strike_s"] - 0.01) & (t <= a["off_s"] + 0.01)
        f["fz"][m] = force.column(f"{plate}.Fz")[m]
        chans = [f"{plate}.{c}" for c in ("Fx", "Fy", "Fz", "Mx", "My")]
        if all(c in force.labels for c in chans):
            # a foot that did not roll over the plate has no forward sense, so no AP force
            with contextlib.suppress(SignalError):
                f["fap"][m] = gait_events.plate_ap_reaction(*(force.column(c)[m] for c in chans))[0]
    if not any(np.isfinite(f["fap"]).any() for f in out.values()):
        for f in out.values():  # no plate gave a direction: no antero-posterior metrics
            f["fap"] = None
    return out


def _belt(force: Window, side: str, axis: str) -> np.ndarray | None:
    label = f"{BELTS[side]}.{axis}"
    return force.column(label) if label in force.labels else None


def _belt_reaction_ap(force: Window, side: str) -> np.ndarray | None:
    """The antero-posterior reaction on the foot (+ forward: the belt's +x is the running
    direction): minus the belt's ``Fx``, which is the load on the belt."""
    fx = _belt(force, side, "Fx")
    return None if fx is None else -fx


def analyse_run(step: TrialStep, force: Window | None, emg: Window | None, body_weight_n: float | None,
                *, mocap: Window | None = None) -> TrialOutcome:
    """Analyse a run: strides per side, kinematics, forces and EMG timing.

    Parameters
    ----------
    step : TrialStep
        ``analysis:`` holds :func:`labkit.signal.gait_running.running_analysis` options
        (``min_strides``, ``max_stride_time_cv``), ``asymmetry`` (the formula) and
        ``emg`` (detect_onsets options).
    force : Window
        Needs ``fp1.Fz`` (left belt) and ``fp2.Fz`` (right belt).
    emg, mocap : Window or None
        Optional: EMG bursts of :data:`RUN_MUSCLES`; markers or rigid bodies.
    body_weight_n : float or None
        Unused (forces are reported in N).

    Returns
    -------
    TrialOutcome
        Invalid with a reason when a side has fewer than ``min_strides`` strides or the
        stride times vary more than ``max_stride_time_cv`` (not a steady run).
    """
    test = entry(step.test)
    if force is None:
        raise SignalError(f"test {step.test} needs the force stream (one belt or plate per foot)")
    fz = {s: _belt(force, s, "Fz") for s in BELTS}
    fs, t0 = force.rate_hz, float(force.times[0])
    plates = sorted({lab.split(".")[0] for lab in force.labels if lab.endswith(".Fz")})
    on_plates = [gr.contacts_from_force(force.column(f"{p}.Fz"), fs, t0_s=t0) for p in plates]
    inputs: dict[str, Any] = {"stream": force.name, "window_s": [t0, float(force.times[-1])]}
    params: dict[str, Any] = {}
    feet_seen = mocap is not None and all(f"{m}.x" in mocap.labels for m in ("LHEE", "RHEE", "LTOE", "RTOE"))
    # a treadmill's belts hold every contact; without foot markers two plates are belts
    belts = plates == sorted(BELTS.values()) and (all(len(c) >= 2 for c in on_plates) or not feet_seen)
    if belts:  # an instrumented treadmill: each belt holds every contact of its foot
        contacts = {s: on_plates[plates.index(BELTS[s])] for s in BELTS}
        forces = {s: {"fz": fz[s], "fap": _belt_reaction_ap(force, s)} for s in BELTS}
        inputs["signal"] = "fp1.Fz (left belt), fp2.Fz (right belt)"
    else:  # over ground: strides from the markers, contacts on a plate from its force
        contacts, assigned = _overground(mocap, on_plates, step)
        forces = _plate_forces(force, plates, assigned)
        inputs["signal"] = f"markers (heel, toe, pelvis) and plates {', '.join(plates)}"
        params["plate_contacts"] = [{**a, "plate": plates[a["plate"]]} for a in assigned]
    kwargs = {k: v for k, v in step.analysis.items() if k not in ("emg", ASYMMETRY_OPTION)}
    kwargs["formula"] = step.analysis.get(ASYMMETRY_OPTION, DEFAULT_FORMULA)
    angles = None
    if mocap is not None and mocap.data.shape[0] > 1:
        try:
            angles = angle_series(_frames(mocap))
            inputs["mocap_stream"] = mocap.name
        except SignalError as exc:  # markers the frames cannot be built from: strides only
            inputs["kinematics"] = f"none: {exc}"
    bursts = None
    if emg is not None and any(lab.startswith(RUN_MUSCLES) for lab in emg.labels):
        bursts, params["emg"] = stride_emg_bursts(emg, step.analysis.get("emg"))
        inputs["emg_channels"] = sorted(bursts)
    r = gr.running_analysis(contacts, angles=angles, angles_fs_hz=mocap.rate_hz if angles else None,
                            angles_t0_s=float(mocap.times[0]) if angles else 0.0, forces=forces or None,
                            force_fs_hz=fs, force_t0_s=t0, emg_bursts=bursts, **kwargs)
    if not belts:
        metrics_note = "walking" if r.metrics.get("walking") == 1.0 else "running"
        inputs["gait"] = f"over ground, {metrics_note}"
    params.update(r.params)
    metrics = dict(r.metrics)
    if step.speed_m_s is not None:
        metrics["speed_m_s"] = float(step.speed_m_s)
    strikes = np.concatenate([contacts[s].strike_s for s in BELTS])
    first = float(strikes.min()) if strikes.size else math.nan
    metrics["first_strike_time_s"] = first
    texts = {"too_few_strides": (f"too few clean strides (left {metrics['n_strides_l']}, right "
                                 f"{metrics['n_strides_r']}; at least {r.params['min_strides']} each)"),
             "unsteady": (f"not a steady run: stride times vary by {100 * metrics['stride_time_cv']:.1f} % "
                          f"(max {100 * r.params['max_stride_time_cv']:.1f} %)")}
    reasons = tuple(texts.get(f, f) for f in r.flags)
    return TrialOutcome(step.test, not reasons, reasons, metrics, test.core, params, inputs, first, r)
