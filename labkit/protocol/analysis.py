"""Analyse one trial of a protocol with the signal cores, and judge it against its rules.

A registry maps each test to the function that analyses it: which signal it reads
(summed vertical force, one plate, the free moment, an EMG channel), which core function
it calls with which parameters, and which validation rules apply. The runner calls it right
after each trial (live data) and again at the end from the session file, so that stored
results always come from the stored data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import SignalError
from labkit.protocol.schema import TrialStep

__all__ = ["ANALYSES", "StreamWindow", "TrialOutcome", "analyse_trial"]

#: muscles whose surface EMG picks up the ECG (label prefixes)
TRUNK_MUSCLES = ("external_oblique", "internal_oblique", "multifidus")
#: plate of each side in the lab's convention (left leg on fp1)
SIDE_PLATE = {"left": "fp1", "right": "fp2", "l": "fp1", "r": "fp2"}


@dataclass(frozen=True)
class StreamWindow:
    """A stream's samples over a trial window, on the session clock."""

    labels: Sequence[str]
    data: np.ndarray
    times: np.ndarray
    rate_hz: float
    name: str = ""

    def column(self, label: str) -> np.ndarray:
        try:
            return self.data[:, list(self.labels).index(label)].astype(np.float64)
        except ValueError:
            raise SignalError(f"stream {self.name!r} has no channel {label!r}; it has "
                              f"{list(self.labels)[:8]}...") from None

    def sum_of(self, suffix: str) -> tuple[np.ndarray, list[str]]:
        labels = [lab for lab in self.labels if lab.endswith(suffix)]
        if not labels:
            raise SignalError(f"stream {self.name!r} has no channel ending in {suffix!r}")
        return sum(self.column(lab) for lab in labels), labels


@dataclass(frozen=True)
class TrialOutcome:
    """What one trial gave: metrics, validity with reasons, and the provenance."""

    test: str
    valid: bool
    reasons: tuple[str, ...]
    metrics: dict[str, Any]
    method: str
    params: dict[str, Any]
    inputs: dict[str, Any]
    onset_time_s: float = float("nan")
    result: Any = field(default=None, repr=False, compare=False)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def _flag_text(flag: str, r: Any, p: dict[str, Any]) -> str:
    texts = {
        "no_onset": "no pull detected",
        "unstable_weighing": (f"not still before the effort (force moved by "
                              f"{getattr(r, 'weighing_range_n', float('nan')):.0f} N, max "
                              f"{p.get('max_weighing_range_n', 50):.0f} N)"),
        "pretension": (f"pretension: {getattr(r, 'pretension_n', float('nan')):.0f} N above body "
                       f"weight before the pull (max {p.get('max_pretension_n', 100):.0f} N)"),
        "countermovement": "countermovement: force dipped below body weight before the pull",
        "plateau_not_reached": "effort too short to reach a plateau",
        "clipped": "signal clipped (amplifier range)",
        "onset_too_late": "pull started too late in the trial window",
        "no_takeoff": "no take-off found",
        "no_landing": "no landing found",
        "flight_time_out_of_range": "flight time out of range",
        "nonpositive_takeoff_velocity": "no upward take-off velocity",
        "wrong_jump_type": "wrong jump type (countermovement in a squat jump, or none in a CMJ)",
    }
    return texts.get(flag, flag.replace("_", " "))


def _emg_onsets(emg: StreamWindow | None, force_onset_s: float, step: TrialStep,
                metrics: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """EMG onsets per muscle in the trial and their lead over force onset (EMD)."""
    if emg is None or not math.isfinite(force_onset_s):
        return {}
    from labkit.signal import emg as emg_core

    labels = [lab for lab in emg.labels if lab != "counter"]
    if not labels:
        return {}
    options = dict(step.analysis.get("emg", {}))
    # trunk channels carry ECG (science.md): they get ECG suppression, the limbs do not
    trunk_ecg = options.pop("trunk_ecg", "template")
    groups = {"limb": [lab for lab in labels if not lab.startswith(TRUNK_MUSCLES)],
              "trunk": [lab for lab in labels if lab.startswith(TRUNK_MUSCLES)]}
    parts, params = [], {}
    for group, labs in groups.items():
        if not labs:
            continue
        opts = dict(options)
        if group == "trunk":
            opts.setdefault("ecg", trunk_ecg)
        x = np.column_stack([emg.column(lab) for lab in labs])
        found = emg_core.detect_onsets(x, emg.rate_hz, channels=labs, **opts)
        parts.append(found)
        params[group] = dict(found.attrs.get("params", {})) if hasattr(found, "attrs") else {}
    import pandas as pd

    bursts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for lab in labels:
        rows = bursts[bursts["channel"] == lab] if len(bursts) else bursts
        # the burst that belongs to this effort: the first starting within 1 s before the force onset
        rel = force_onset_s - float(emg.times[0])
        cand = rows[(rows["onset_s"] > rel - 1.0) & (rows["onset_s"] < rel + 0.3)] if len(rows) else rows
        if len(cand):
            onset = float(emg.times[0]) + float(cand["onset_s"].iloc[0])
            metrics[f"emg_onset_{lab}_s"] = onset
            metrics[f"emd_{lab}_ms"] = (force_onset_s - onset) * 1e3
        else:
            metrics[f"emg_onset_{lab}_s"] = float("nan")
            metrics[f"emd_{lab}_ms"] = float("nan")
    inputs["emg_stream"] = emg.name
    inputs["emg_channels"] = labels
    return params


def _isometric_signal(step: TrialStep, force_w: StreamWindow) -> tuple[np.ndarray, str, str, bool]:
    """(signal, description, unit, has_body_weight) for an isometric test."""
    plate = step.analysis.get("plate") or (SIDE_PLATE.get(step.side or "") if step.side else None)
    if step.test in ("imtp", "isometric_squat"):
        sig, labels = force_w.sum_of(".Fz")
        return sig, "+".join(labels), "N", True
    if step.test in ("isometric_hip_extension", "isometric_hip_flexion"):
        label = f"{plate}.Fz"
        sign = 1.0 if step.test == "isometric_hip_extension" else -1.0
        return sign * force_w.column(label), f"{'+' if sign > 0 else '-'}{label}", "N", False
    if step.test == "isometric_trunk_rotation":
        sig, labels = force_w.sum_of(".Mz")
        sign = 1.0 if step.direction == "left" else -1.0
        return sign * sig, f"{'+' if sign > 0 else '-'}({'+'.join(labels)})", "N.m", False
    raise SignalError(f"no isometric signal for test {step.test!r}")


def _analyse_isometric(step: TrialStep, force_w: StreamWindow | None, emg_w: StreamWindow | None,
                       body_weight_n: float | None) -> TrialOutcome:
    from labkit.signal import force

    if force_w is None:
        raise SignalError(f"test {step.test} needs the force stream; add it to the hardware config")
    signal, described, unit, has_bw = _isometric_signal(step, force_w)
    v = step.validation
    kwargs = {k: val for k, val in step.analysis.items() if k not in ("plate", "emg")}
    kwargs.update(max_pretension_n=v.max_pretension_n, max_weighing_range_n=v.max_weighing_range_n,
                  countermovement_k=v.countermovement_k, min_effort_s=v.min_effort_s)
    # weigh in the last second before GO (the window opens quiet_s before it), not at the very
    # start, where the previous effort may still be fading
    weighing_s = float(kwargs.get("weighing_s", 1.0))
    kwargs.setdefault("weighing_start_s", max(0.0, step.quiet_s - weighing_s - 0.1))
    if has_bw and body_weight_n is not None:
        kwargs.setdefault("body_weight_n", body_weight_n)
    r = force.isometric(signal, force_w.rate_hz, **kwargs)
    params = dict(r.params)
    metrics = {k: val for k, val in r.to_dict().items() if k not in ("flags", "valid", "method")}
    onset_abs = float(force_w.times[0]) + float(r.onset_s) if math.isfinite(r.onset_s) else float("nan")
    metrics["onset_time_s"] = onset_abs
    metrics["unit"] = unit
    reasons = [_flag_text(f, r, params) for f in r.flags
               if not (f == "plateau_not_reached" and not v.require_plateau)]
    if v.min_peak_force_n is not None and not (r.net_peak_force_n >= v.min_peak_force_n):
        reasons.append(f"effort too weak: {r.net_peak_force_n:.0f} {unit} net peak "
                       f"(min {v.min_peak_force_n:.0f})")
    inputs = {"stream": force_w.name, "signal": described,
              "window_s": [float(force_w.times[0]), float(force_w.times[-1])]}
    emg_params = _emg_onsets(emg_w, onset_abs, step, metrics, inputs)
    if emg_params:
        params["emg"] = emg_params
    return TrialOutcome(step.test, not reasons, tuple(reasons), metrics,
                        "labkit.signal.force.isometric", params, inputs, onset_abs, r)


def _analyse_jump(step: TrialStep, force_w: StreamWindow | None, emg_w: StreamWindow | None,
                  body_weight_n: float | None) -> TrialOutcome:
    from labkit.signal import force

    if force_w is None:
        raise SignalError(f"test {step.test} needs the force stream; add it to the hardware config")
    fz, labels = force_w.sum_of(".Fz")
    fn = force.cmj if step.test == "cmj" else force.squat_jump
    kwargs = {k: val for k, val in step.analysis.items() if k not in ("plate", "emg")}
    r = fn(fz, force_w.rate_hz, **kwargs)
    params = dict(r.params)
    metrics = {k: val for k, val in r.to_dict().items() if k not in ("flags", "valid", "method")}
    t0 = float(force_w.times[0])
    for key in ("onset_s", "takeoff_s", "landing_s"):
        value = getattr(r, key, float("nan"))
        metrics[key.replace("_s", "_time_s")] = t0 + value if math.isfinite(value) else float("nan")
    reasons = [_flag_text(f, r, params) for f in r.flags]
    inputs = {"stream": force_w.name, "signal": "+".join(labels),
              "window_s": [t0, float(force_w.times[-1])]}
    onset_abs = metrics.get("onset_time_s", float("nan"))
    emg_params = _emg_onsets(emg_w, onset_abs, step, metrics, inputs)
    if emg_params:
        params["emg"] = emg_params
    return TrialOutcome(step.test, not reasons, tuple(reasons), metrics,
                        f"labkit.signal.force.{fn.__name__}", params, inputs, onset_abs, r)


def _analyse_mvc(step: TrialStep, force_w: StreamWindow | None, emg_w: StreamWindow | None,
                 body_weight_n: float | None) -> TrialOutcome:
    from labkit.signal import emg as emg_core

    if emg_w is None:
        raise SignalError("an mvc trial needs the emg stream; add it to the hardware config")
    label = step.muscle or ""
    x = emg_w.column(label)
    options = dict(step.analysis)
    ref = emg_core.mvc_reference(x, emg_w.rate_hz, **options)
    value = float(np.asarray(ref.value).reshape(-1)[0])
    reasons = [] if math.isfinite(value) and value > 0 else ["no EMG activity found"]
    metrics = {"mvc_v": value, "muscle": label, "unit": "V"}
    inputs = {"stream": emg_w.name, "channel": label,
              "window_s": [float(emg_w.times[0]), float(emg_w.times[-1])]}
    return TrialOutcome("mvc", not reasons, tuple(reasons), metrics,
                        "labkit.signal.emg.mvc_reference", dict(ref.params), inputs)


Analysis = Callable[[TrialStep, StreamWindow | None, StreamWindow | None, float | None], TrialOutcome]

ANALYSES: dict[str, Analysis] = {
    "imtp": _analyse_isometric,
    "isometric_squat": _analyse_isometric,
    "isometric_hip_extension": _analyse_isometric,
    "isometric_hip_flexion": _analyse_isometric,
    "isometric_trunk_rotation": _analyse_isometric,
    "cmj": _analyse_jump,
    "squat_jump": _analyse_jump,
    "mvc": _analyse_mvc,
}


def analyse_trial(step: TrialStep, force_w: StreamWindow | None, emg_w: StreamWindow | None = None,
                  *, body_weight_n: float | None = None) -> TrialOutcome:
    """Analyse one trial window and apply the step's validation rules.

    A failure of the analysis itself (e.g. no samples) gives an invalid trial whose reason
    says what went wrong, never an exception that would stop a battery.
    """
    try:
        return ANALYSES[step.test](step, force_w, emg_w, body_weight_n)
    except SignalError as exc:
        return TrialOutcome(step.test, False, (f"analysis failed: {exc}",), {}, "none", {}, {})
