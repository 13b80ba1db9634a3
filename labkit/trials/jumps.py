"""Jump trials (countermovement, squat and drop jumps from the summed vertical force;
single-leg jumps from the side's plate)."""

from __future__ import annotations

import math

from labkit.config.protocol import TrialStep
from labkit.errors import SignalError
from labkit.signal.window import Window
from labkit.trials.catalogue import entry
from labkit.trials.emg_onsets import emg_onsets
from labkit.trials.isometric import trial_signal
from labkit.trials.limbs import ASYMMETRY_OPTION, limb_metrics
from labkit.trials.outcome import TrialOutcome, flag_text

__all__ = ["analyse_jump"]


def analyse_jump(step: TrialStep, force: Window | None, emg: Window | None,
                 body_weight_n: float | None) -> TrialOutcome:
    """Analyse a jump with the test's core function (:func:`labkit.signal.force.cmj`, ...).

    Parameters
    ----------
    step : TrialStep
    force, emg : Window or None
        The force and EMG streams over the trial window.
    body_weight_n : float or None
        Unused: a jump weighs the athlete in its own quiet phase.

    Returns
    -------
    TrialOutcome
        Metrics include the session-clock times ``onset_time_s``, ``takeoff_time_s`` and
        ``landing_time_s``, and on two plates the per-limb metrics and asymmetry
        (:func:`labkit.trials.limbs.limb_metrics`).
    """
    test = entry(step.test)
    if force is None:
        raise SignalError(f"test {step.test} needs the force stream; add it to the hardware config")
    fz, described = trial_signal(test, step, force)  # both plates, or the side's (single leg)
    core = test.core_function()
    kwargs = {k: val for k, val in step.analysis.items() if k not in ("plate", "emg", ASYMMETRY_OPTION)}
    r = core(fz, force.rate_hz, **kwargs)
    params = dict(r.params)
    metrics = {k: val for k, val in r.to_dict().items() if k not in ("flags", "valid", "method")}
    if test.signal == "sum_fz":  # one foot on each plate: per limb and asymmetry
        limb, limb_params = limb_metrics(step, force, r)
        metrics.update(limb)
        if limb_params:
            params["limbs"] = limb_params
    t0 = float(force.times[0])
    for key in ("onset_s", "takeoff_s", "landing_s"):
        value = getattr(r, key, float("nan"))
        metrics[key.replace("_s", "_time_s")] = t0 + value if math.isfinite(value) else float("nan")
    reasons = [flag_text(f, r, params) for f in r.flags]
    inputs = {"stream": force.name, "signal": described, "window_s": [t0, float(force.times[-1])]}
    onset_abs = metrics.get("onset_time_s", float("nan"))
    emg_params = emg_onsets(emg, onset_abs, step, metrics, inputs)
    if emg_params:
        params["emg"] = emg_params
    return TrialOutcome(step.test, not reasons, tuple(reasons), metrics, test.core, params, inputs,
                        onset_abs, r)
