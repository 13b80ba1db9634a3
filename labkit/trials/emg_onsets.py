"""EMG onsets of the muscles in a force trial and their electromechanical delay (EMD).

Trunk channels (obliques, multifidus) pick up the heart's ECG, so they are analysed with
ECG suppression and the limbs without (docs/emg.md). The onset that belongs to the
effort is chosen with labkit's one EMD rule, :func:`labkit.signal.timing.effort_onset`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from labkit.config.protocol import TrialStep
from labkit.signal.window import Window

__all__ = ["EMG_OPTIONS", "TRUNK_MUSCLES", "emg_onsets"]

#: muscles whose surface EMG picks up the ECG (label prefixes)
TRUNK_MUSCLES = ("external_oblique", "internal_oblique", "multifidus")
#: keys of a trial's ``analysis: {emg: {...}}`` that are not detect_onsets parameters
EMG_OPTIONS = ("trunk_ecg", "emd_max_lead_s", "emd_max_lag_s")


def emg_onsets(emg: Window | None, force_onset_s: float, step: TrialStep, metrics: dict[str, Any],
               inputs: dict[str, Any]) -> dict[str, Any]:
    """Add ``emg_onset_<label>_s`` and ``emd_<label>_ms`` to ``metrics``; return the EMG params.

    Parameters
    ----------
    emg : Window or None
        The EMG stream over the trial window.
    force_onset_s : float
        Force onset on the session clock (NaN: no onset, no EMG analysis).
    step : TrialStep
        Its ``analysis.emg`` mapping holds the options (detect_onsets parameters plus
        :data:`EMG_OPTIONS`).
    metrics, inputs : dict
        Filled in place (they are the trial's own new dictionaries).

    Returns
    -------
    dict
        Parameters per channel group (``limb``, ``trunk``) as the detector recorded them.
    """
    if emg is None or not math.isfinite(force_onset_s):
        return {}
    from labkit.signal import emg as emg_core
    from labkit.signal.timing import EMD_MAX_LAG_S, EMD_MAX_LEAD_S, effort_onset

    labels = [lab for lab in emg.labels if lab != "counter"]
    if not labels:
        return {}
    options = dict(step.analysis.get("emg", {}))
    trunk_ecg = options.pop("trunk_ecg", "template")
    lead_s = float(options.pop("emd_max_lead_s", EMD_MAX_LEAD_S))
    lag_s = float(options.pop("emd_max_lag_s", EMD_MAX_LAG_S))
    groups = {"limb": [lab for lab in labels if not lab.startswith(TRUNK_MUSCLES)],
              "trunk": [lab for lab in labels if lab.startswith(TRUNK_MUSCLES)]}
    onsets: dict[str, np.ndarray] = {}
    params: dict[str, Any] = {}
    for group, labs in groups.items():
        if not labs:
            continue
        opts = dict(options)
        if group == "trunk":
            opts.setdefault("ecg", trunk_ecg)
        x = np.column_stack([emg.column(lab) for lab in labs])
        found = emg_core.detect_onsets(x, emg.rate_hz, channels=labs, **opts)
        params[group] = {**dict(found.attrs.get("params", {})), "emd_max_lead_s": lead_s,
                         "emd_max_lag_s": lag_s}
        for lab in labs:
            rows = found[found["channel"] == lab] if len(found) else found
            onsets[lab] = float(emg.times[0]) + np.asarray(rows["onset_s"], dtype=float) \
                if len(rows) else np.empty(0)
    for lab in labels:
        onset = effort_onset(onsets.get(lab, np.empty(0)), force_onset_s, max_lead_s=lead_s,
                             max_lag_s=lag_s)
        metrics[f"emg_onset_{lab}_s"] = onset
        metrics[f"emd_{lab}_ms"] = (force_onset_s - onset) * 1e3
    inputs["emg_stream"] = emg.name
    inputs["emg_channels"] = labels
    return params
