"""Surface EMG: preprocessing, onset/offset timing and amplitude.

Arrays are ``(n_samples,)`` or ``(n_samples, n_channels)`` in volts at any sample rate
``fs_hz`` (1000 to 2148.148... Hz; nothing assumes 1000 Hz).  Windows are given in
seconds (``*_s``) and converted to samples with the actual rate.  NaN marks a dropped
sample: filters run on each finite run separately and keep NaN in the output.

Onset detection (:func:`detect_onsets`) finds bursts with a method from
:data:`ONSET_METHODS` (a registry of callables), debounces them (``min_on_s``,
``min_off_s``) and refines each onset with a changepoint model from
:data:`REFINERS`.  Every result records the parameters that produced it in ``.params``.

Definitions, defaults and references: ``docs/emg.md`` and ``docs/science.md``.

Examples
--------
>>> import numpy as np
>>> from labkit.signal import emg
>>> from labkit.signal.emg_synth import synth_emg
>>> sim = synth_emg(2148.148148148148, 20.0, snr_db=20.0, seed=1)
>>> b = emg.detect_onsets(sim.x, sim.fs_hz)
>>> len(b) == len(sim.onset_s)
True
>>> bool(np.all(np.abs(b.onset_s - sim.onset_s) < 0.025))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# The stages live in their own modules (filters, ECG suppression, onset methods and
# refiners, onsets, amplitude); this module is the public entry point and re-exports
# them, so ``from labkit.signal.emg import X`` and ``emg.X`` keep working.  The private
# names imported ``as`` themselves are used through ``emg.`` by tests and benchmarks.
from labkit.errors import EMGWarning
from labkit.signal._checks import check_fs
from labkit.signal._emg_common import _as_2d, _back, _provenance
from labkit.signal._emg_common import _blocks as _blocks
from labkit.signal.emg_amplitude import (
    COACTIVATION_METHODS,
    Coactivation,
    MVCReference,
    coactivation,
    mvc_reference,
    normalize_mvc,
    window_amplitude,
)
from labkit.signal.emg_ecg import ECG_METHODS, suppress_ecg
from labkit.signal.emg_filters import (
    _filtfilt_gaps,
    _offsets,
    bandpass,
    butter_sos,
    envelope,
    group_delay_s,
    highpass,
    lowpass,
    moving_rms,
    notch,
    rectify,
    remove_offset,
    tkeo,
)
from labkit.signal.emg_filters import _padlen as _padlen
from labkit.signal.emg_onset_methods import DEFAULT_METHOD, ONSET_METHODS, REFINERS
from labkit.signal.emg_onset_methods import DEFAULT_REFINER as DEFAULT_REFINER
from labkit.signal.emg_onsets import REFINE_SIGNALS, Bursts, detect_onsets

__all__ = [
    "COACTIVATION_METHODS",
    "DEFAULT_METHOD",
    "ECG_METHODS",
    "ONSET_METHODS",
    "REFINERS",
    "REFINE_SIGNALS",
    "Bursts",
    "Coactivation",
    "EMGWarning",
    "MVCReference",
    "Preprocessed",
    "bandpass",
    "butter_sos",
    "coactivation",
    "detect_onsets",
    "envelope",
    "group_delay_s",
    "highpass",
    "lowpass",
    "moving_rms",
    "mvc_reference",
    "normalize_mvc",
    "notch",
    "preprocess",
    "rectify",
    "remove_offset",
    "suppress_ecg",
    "tkeo",
    "window_amplitude",
]


# ======================================================================= the standard chain


@dataclass(frozen=True)
class Preprocessed:
    """Output of :func:`preprocess`: band-passed EMG, its linear envelope and params."""

    filtered: np.ndarray
    envelope: np.ndarray
    fs_hz: float
    params: dict = field(default_factory=dict)


def preprocess(
    x: Any,
    fs_hz: float,
    *,
    offset: str | None = "mean",
    low_hz: float = 20.0,
    high_hz: float = 450.0,
    order: int = 4,
    notch_hz: float | None = None,
    ecg: str | None = None,
    envelope_hz: float = 6.0,
    envelope_order: int = 4,
) -> Preprocessed:
    """Standard chain: offset removal, optional notch, band-pass, optional ECG
    suppression, rectification and linear envelope.

    Parameters
    ----------
    x : array_like
        ``(n_samples,)`` or ``(n_samples, n_channels)`` raw EMG.
    fs_hz : float
        Sample rate in Hz.
    offset : {"mean", "median", None}
        Offset removal (None: none).
    low_hz, high_hz, order : float, float, int
        Band-pass (see :func:`bandpass`; -3 dB of the zero-phase response).
    notch_hz : float or None
        Mains notch frequency (50 or 60) or None.
    ecg : {"template", "highpass", None}
        ECG suppression for trunk channels (see :func:`suppress_ecg`; ``"template"``
        is the one that works, docs/emg.md).
    envelope_hz, envelope_order : float, int
        Linear-envelope low-pass (6 Hz for amplitude, 25-50 Hz for timing).

    Returns
    -------
    Preprocessed
        ``.filtered``, ``.envelope`` (same shape as ``x``), ``.fs_hz`` and ``.params``.
    """
    fs = check_fs(fs_hz)
    x2, was_1d = _as_2d(x)
    off = None if offset is None else _offsets(x2, offset)
    y = x2
    if notch_hz is not None:
        y = notch(x2 if off is None else x2 - off, fs, freq_hz=notch_hz)
        off = None
    y, _ = _filtfilt_gaps(
        y, butter_sos(fs, low_hz=low_hz, high_hz=high_hz, order=order), offset=off
    )
    if ecg is not None:
        y = suppress_ecg(y, fs, method=ecg)
    env = envelope(y, fs, lowpass_hz=envelope_hz, order=envelope_order)
    params = _provenance(
        "labkit.signal.emg.preprocess",
        {
            "fs_hz": fs,
            "offset": offset,
            "low_hz": low_hz,
            "high_hz": high_hz,
            "order": order,
            "zero_phase_cutoff": True,
            "notch_hz": notch_hz,
            "ecg": ecg,
            "envelope_hz": envelope_hz,
            "envelope_order": envelope_order,
        },
    )
    return Preprocessed(_back(y, was_1d), _back(env, was_1d), fs, params)
