"""Isometric trials (IMTP, isometric squat, hip extension and flexion, trunk rotation)."""

from __future__ import annotations

import math
from typing import Any

from labkit.config.protocol import TrialStep
from labkit.errors import SignalError
from labkit.signal.window import Window
from labkit.trials.catalogue import TestEntry, entry
from labkit.trials.emg_onsets import emg_onsets
from labkit.trials.limbs import ASYMMETRY_OPTION, limb_metrics
from labkit.trials.outcome import TrialOutcome, flag_text

__all__ = ["SIDE_PLATE", "VALIDATION_OPTIONS", "analyse_isometric", "trial_signal"]

#: plate of each side in the lab's convention (left leg on fp1)
SIDE_PLATE = {"left": "fp1", "right": "fp2", "l": "fp1", "r": "fp2"}
#: force.isometric parameters a protocol sets under ``validation:``, not ``analysis:``
VALIDATION_OPTIONS = ("max_pretension_n", "max_weighing_range_n", "countermovement_k", "min_effort_s")


def trial_signal(test: TestEntry, step: TrialStep, force: Window) -> tuple[Any, str]:
    """The trial's signal as the catalogue entry defines it, and a description of it.

    Parameters
    ----------
    test : TestEntry
    step : TrialStep
        Gives the side (or ``analysis.plate``) and the direction.
    force : Window
        The force stream over the trial (tared).

    Returns
    -------
    signal : numpy.ndarray
        The effort made positive (N, or N.m for the free moment).
    described : str
        How it was made, e.g. ``-fp1.Fz`` or ``fp1.Fz+fp2.Fz``.
    """
    if test.signal == "sum_fz":
        sig, labels = force.sum_of(".Fz")
        return sig, "+".join(labels)
    if test.signal == "plate_fz":
        plate = step.analysis.get("plate") or SIDE_PLATE.get(step.side or "")
        if not plate:
            raise SignalError(f"test {test.name} needs a side (or analysis.plate) to pick its plate")
        label = f"{plate}.Fz"
        return test.sign * force.column(label), f"{'+' if test.sign > 0 else '-'}{label}"
    if test.signal == "sum_mz":
        sig, labels = force.sum_of(".Mz")
        sign = 1.0 if step.direction == "left" else -1.0
        return sign * sig, f"{'+' if sign > 0 else '-'}({'+'.join(labels)})"
    raise SignalError(f"test {test.name} reads {test.signal!r}, which is not a force signal")


def analyse_isometric(step: TrialStep, force: Window | None, emg: Window | None,
                      body_weight_n: float | None) -> TrialOutcome:
    """Analyse an isometric trial with :func:`labkit.signal.force.isometric` and judge it.

    Parameters
    ----------
    step : TrialStep
        The trial's protocol step (its ``analysis`` options and ``validation`` rules).
    force, emg : Window or None
        The force and EMG streams over the trial window.
    body_weight_n : float or None
        The weighed body weight (used by tests whose signal carries it).

    Returns
    -------
    TrialOutcome
    """
    from labkit.signal import force as force_core

    test = entry(step.test)
    if force is None:
        raise SignalError(f"test {step.test} needs the force stream; add it to the hardware config")
    signal, described = trial_signal(test, step, force)
    v = step.validation
    kwargs = {k: val for k, val in step.analysis.items() if k not in ("plate", "emg", ASYMMETRY_OPTION)}
    kwargs.update(max_pretension_n=v.max_pretension_n, max_weighing_range_n=v.max_weighing_range_n,
                  countermovement_k=v.countermovement_k, min_effort_s=v.min_effort_s)
    # weigh in the last second before GO (the window opens quiet_s before it), not at the very
    # start, where the previous effort may still be fading
    weighing_s = float(kwargs.get("weighing_s", 1.0))
    kwargs.setdefault("weighing_start_s", max(0.0, step.quiet_s - weighing_s - 0.1))
    if test.uses_body_weight and body_weight_n is not None:
        kwargs.setdefault("body_weight_n", body_weight_n)
    r = force_core.isometric(signal, force.rate_hz, **kwargs)
    params = dict(r.params)
    metrics = {k: val for k, val in r.to_dict().items() if k not in ("flags", "valid", "method")}
    t0 = float(force.times[0])
    onset_abs = t0 + float(r.onset_s) if math.isfinite(r.onset_s) else float("nan")
    metrics["onset_time_s"] = onset_abs
    metrics["unit"] = test.unit
    if test.signal == "sum_fz":  # both feet, one on each plate: per limb and asymmetry
        limb, limb_params = limb_metrics(step, force, r)
        metrics.update(limb)
        if limb_params:
            params["limbs"] = limb_params
    reasons = [flag_text(f, r, params) for f in r.flags
               if not (f == "plateau_not_reached" and not v.require_plateau)]
    if v.min_peak_force_n is not None and not (r.net_peak_force_n >= v.min_peak_force_n):
        reasons.append(f"effort too weak: {r.net_peak_force_n:.0f} {test.unit} net peak "
                       f"(min {v.min_peak_force_n:.0f})")
    inputs = {"stream": force.name, "signal": described, "window_s": [t0, float(force.times[-1])]}
    emg_params = emg_onsets(emg, onset_abs, step, metrics, inputs)
    if emg_params:
        params["emg"] = emg_params
    return TrialOutcome(step.test, not reasons, tuple(reasons), metrics,
                        "labkit.signal.force.isometric", params, inputs, onset_abs, r)
