"""Cross-body pairing of the obliques in a trunk-rotation trial.

Rotating the trunk to the left is the right external oblique working with the left
internal oblique (and to the right the mirror pair; docs/science.md). From the trial's
EMG window and its force onset, :func:`cross_body_pairing` measures each oblique's
amplitude over an epoch after the force onset (band-passed, ECG suppressed, RMS, the
quiet baseline's RMS removed in quadrature) and the pairing index

    PI = (A_pair - A_other) / (A_pair + A_other),

``A_pair`` = the cross-body pair of the rotation's direction (summed amplitudes),
``A_other`` = the opposite pair: +1 only the expected pair works, 0 no preference, -1 the
pair of the other direction. With the trial's EMG onsets it also gives the pair's onset
lag (internal minus external oblique, ms). :func:`add_pairing` puts the metrics into the
trial's outcome; :func:`labkit.trials.analyse.analyse_trial` calls it for directional
tests (trunk rotation). Amplitudes are in volts: without an MVC normalisation the index
also carries the electrodes' gain differences.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.config.protocol import TrialStep
from labkit.errors import SignalError
from labkit.signal.window import Window
from labkit.trials.outcome import TrialOutcome

__all__ = ["CrossBodyPairing", "add_pairing", "cross_body_pairing", "expected_pair", "summary_line"]

_EO, _IO = "external_oblique", "internal_oblique"


def expected_pair(direction: str) -> tuple[str, str]:
    """The cross-body pair of a rotation: ``("external_oblique_r", "internal_oblique_l")``
    turning left, the mirror turning right."""
    if direction == "left":
        return f"{_EO}_r", f"{_IO}_l"
    if direction == "right":
        return f"{_EO}_l", f"{_IO}_r"
    raise SignalError(f"direction={direction!r} must be 'left' or 'right'")


@dataclass(frozen=True)
class CrossBodyPairing:
    """Oblique pairing of one trunk-rotation trial.

    Attributes
    ----------
    direction : str
    pair, other : tuple of str
        The expected cross-body pair (external, internal oblique) and the opposite one.
    amplitude_v : dict
        Label -> epoch RMS above the baseline (V).
    pairing_index : float
        ``(A_pair - A_other) / (A_pair + A_other)`` in [-1, 1] (NaN when both are 0).
    onset_lag_ms : float
        Internal minus external oblique onset of the pair (ms; NaN without both onsets).
    params : dict
    """

    direction: str
    pair: tuple
    other: tuple
    amplitude_v: dict
    pairing_index: float
    onset_lag_ms: float
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Flat metrics of the trials table."""
        d: dict[str, Any] = {"pairing_index": self.pairing_index,
                             "pair_muscles": "+".join(self.pair),
                             "pair_amplitude_v": sum(self.amplitude_v[k] for k in self.pair),
                             "other_pair_amplitude_v": sum(self.amplitude_v[k] for k in self.other),
                             "pair_onset_lag_ms": self.onset_lag_ms}
        for k, v in self.amplitude_v.items():
            d[f"epoch_rms_{k}_v"] = v
        return d


def cross_body_pairing(emg: Window, force_onset_s: float, direction: str, *,
                       epoch_s: tuple[float, float] = (0.0, 0.5),
                       baseline_s: tuple[float, float] = (-1.0, -0.3), ecg: str | None = "template",
                       emg_onset_s: dict[str, float] | None = None) -> CrossBodyPairing:
    """Amplitudes of the four obliques and the pairing index of one trunk rotation.

    Parameters
    ----------
    emg : Window
        The EMG stream over the trial (needs ``external_oblique_l/r`` and
        ``internal_oblique_l/r``).
    force_onset_s : float
        The rotation's force (free moment) onset on the session clock.
    direction : {"left", "right"}
        The rotation.
    epoch_s : (float, float)
        Amplitude epoch relative to the force onset (s; default the first 0.5 s).
    baseline_s : (float, float)
        Quiet window relative to the force onset (s); its RMS is removed in quadrature.
    ecg : str or None
        ECG suppression of :func:`labkit.signal.emg.preprocess` (default ``"template"``).
    emg_onset_s : dict, optional
        Label -> EMG onset (s, session clock) for the pair's onset lag.

    Returns
    -------
    CrossBodyPairing
    """
    from labkit.signal import emg as emg_core

    if not math.isfinite(force_onset_s):
        raise SignalError("no force onset: the pairing epoch is relative to it")
    pair = expected_pair(direction)
    other = expected_pair("right" if direction == "left" else "left")
    labels = [*pair, *other]
    missing = [lb for lb in labels if lb not in emg.labels]
    if missing:
        raise SignalError(f"EMG has no {missing}; pairing needs both obliques of both sides")
    x = np.column_stack([emg.column(lb) for lb in labels])
    y = emg_core.preprocess(x, emg.rate_hz, ecg=ecg).filtered
    t = np.asarray(emg.times, dtype=float) - force_onset_s
    amp = {}
    for j, lb in enumerate(labels):
        ep = (t >= epoch_s[0]) & (t < epoch_s[1])
        bl = (t >= baseline_s[0]) & (t < baseline_s[1])
        if ep.sum() < 10 or bl.sum() < 10:
            raise SignalError(f"the EMG window does not hold the epoch {epoch_s} and the baseline "
                              f"{baseline_s} s around the force onset")
        rms2 = float(np.nanmean(y[ep, j] ** 2)) - float(np.nanmean(y[bl, j] ** 2))
        amp[lb] = math.sqrt(max(rms2, 0.0))
    a_pair, a_other = amp[pair[0]] + amp[pair[1]], amp[other[0]] + amp[other[1]]
    pi = (a_pair - a_other) / (a_pair + a_other) if a_pair + a_other > 0 else float("nan")
    on = emg_onset_s or {}
    lag = 1000.0 * (on.get(pair[1], math.nan) - on.get(pair[0], math.nan))
    params = {"function": "labkit.trials.trunk_pairing.cross_body_pairing",
              "labkit_version": __version__, "direction": direction, "epoch_s": list(epoch_s),
              "baseline_s": list(baseline_s), "ecg": ecg,
              "amplitude": "RMS of the band-passed EMG over the epoch, baseline RMS removed in "
                           "quadrature (V)",
              "pairing_index": "(A_pair - A_other) / (A_pair + A_other)",
              "onset_lag": "internal - external oblique onset of the pair (ms)"}
    return CrossBodyPairing(direction, pair, other, amp, float(pi), float(lag), params)


def add_pairing(outcome: TrialOutcome, step: TrialStep, emg: Window | None) -> TrialOutcome:
    """The trunk-rotation outcome with its pairing metrics (``pairing_index``, ...) added;
    unchanged without EMG, a direction or a force onset. A pairing that cannot run (an
    oblique missing) never invalidates the trial: ``pairing_note`` says why."""
    onset = outcome.onset_time_s
    if emg is None or step.direction is None or not math.isfinite(onset):
        return outcome
    onsets = {k[len("emg_onset_"):-2]: v for k, v in outcome.metrics.items()
              if k.startswith("emg_onset_") and k.endswith("_s")}
    try:
        r = cross_body_pairing(emg, onset, step.direction, emg_onset_s=onsets)
    except SignalError as exc:
        note = f"pairing not computed: {str(exc).splitlines()[0]}"[:300]
        return dataclasses.replace(outcome, metrics={**outcome.metrics, "pairing_note": note},
                                   params={**outcome.params, "pairing": {"error": note}})
    return dataclasses.replace(outcome, metrics={**outcome.metrics, **r.to_dict()},
                               params={**outcome.params, "pairing": r.params})


def summary_line(metrics: dict[str, Any]) -> str:
    """One line for the live screen after a trunk rotation, e.g. ``pairing: external_oblique_r
    + internal_oblique_l, index 0.82, onset lag 12 ms`` (``""`` without pairing metrics; the
    note when it could not run)."""
    index = metrics.get("pairing_index")
    if isinstance(index, float) and "pair_muscles" in metrics:
        lag = metrics.get("pair_onset_lag_ms", float("nan"))
        tail = f", onset lag {lag:.0f} ms" if isinstance(lag, float) and math.isfinite(lag) else ""
        shown = f"{index:.2f}" if math.isfinite(index) else "n/a"
        return f"pairing: {metrics['pair_muscles'].replace('+', ' + ')}, index {shown}{tail}"
    note = metrics.get("pairing_note")
    return str(note) if note else ""
