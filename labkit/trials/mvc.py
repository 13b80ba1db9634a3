"""Maximal voluntary contraction trials: the EMG reference of one muscle."""

from __future__ import annotations

import math

import numpy as np

from labkit.config.protocol import TrialStep
from labkit.errors import SignalError
from labkit.signal.window import Window
from labkit.trials.outcome import TrialOutcome

__all__ = ["analyse_mvc"]


def analyse_mvc(step: TrialStep, force: Window | None, emg: Window | None,
                body_weight_n: float | None) -> TrialOutcome:
    """The MVC reference (peak moving RMS, :func:`labkit.signal.emg.mvc_reference`) of ``step.muscle``.

    Parameters
    ----------
    step : TrialStep
        ``muscle`` names the EMG channel; ``analysis`` holds mvc_reference options.
    force, emg : Window or None
        Only the EMG window is read.
    body_weight_n : float or None
        Unused.

    Returns
    -------
    TrialOutcome
    """
    from labkit.signal import emg as emg_core

    if emg is None:
        raise SignalError("an mvc trial needs the emg stream; add it to the hardware config")
    label = step.muscle or ""
    x = emg.column(label)
    ref = emg_core.mvc_reference(x, emg.rate_hz, **dict(step.analysis))
    value = float(np.asarray(ref.value).reshape(-1)[0])
    reasons = [] if math.isfinite(value) and value > 0 else ["no EMG activity found"]
    metrics = {"mvc_v": value, "muscle": label, "unit": "V"}
    inputs = {"stream": emg.name, "channel": label,
              "window_s": [float(emg.times[0]), float(emg.times[-1])]}
    return TrialOutcome("mvc", not reasons, tuple(reasons), metrics,
                        "labkit.signal.emg.mvc_reference", dict(ref.params), inputs)
