"""Joint sequencing of a jump trial from its motion-capture window (both legs).

From the trial's mocap window (labelled markers or rigid bodies, session clock) and the
take-off found on the force plates, per side: hip, knee and ankle sagittal angles, the
peak extension velocities and their times relative to take-off, the order, the
hip->knee and knee->ankle lags, the proximal-to-distal verdict
(:func:`labkit.signal.kinematics.triple_extension`), the angles at take-off and the time
from each joint's extension onset to take-off. :func:`add_sequencing` puts them into a
jump trial's outcome (metrics ``seq_*``, provenance ``params["sequencing"]``);
:func:`labkit.trials.analyse.analyse_trial` calls it for every jump trial that has a
mocap window, live and from the file. Definitions: ``docs/kinematics.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.errors import SignalError, StreamError
from labkit.signal import kinematics as kin
from labkit.signal.window import Window
from labkit.trials.outcome import TrialOutcome

__all__ = ["SEQUENCED_KINDS", "JumpSequencing", "add_sequencing", "jump_sequencing", "jump_sequencing_table",
           "summary_line"]

#: catalogue kinds whose trials get sequencing metrics when a mocap window is there
SEQUENCED_KINDS = ("jump",)
_PAIRS = ("hip_knee", "knee_ankle")


@dataclass(frozen=True)
class JumpSequencing:
    """Joint sequencing of one jump, per side.

    Attributes
    ----------
    triple_extension : dict
        Side (``"l"``, ``"r"``) -> :class:`~labkit.signal.kinematics.TripleExtension`
        (times relative to take-off).
    takeoff_angles_deg : dict
        Side -> joint -> angle at take-off (deg; hip and knee flexion +, ankle
        dorsiflexion +), linearly interpolated between frames of the unfiltered angles.
    extension_to_takeoff_ms : dict
        Side -> joint -> take-off minus extension onset (ms; positive).
    takeoff_time_s : float
        Take-off on the session clock.
    metrics : dict
        The flat ``seq_*`` metrics of the trials table (see :func:`jump_sequencing`).
    params : dict
        Every parameter and the provenance.
    """

    triple_extension: dict
    takeoff_angles_deg: dict
    extension_to_takeoff_ms: dict
    takeoff_time_s: float
    metrics: dict
    params: dict = field(default_factory=dict)


def _p2d_value(p2d: bool | None) -> float:
    return float("nan") if p2d is None else float(p2d)


def _side_metrics(side: str, te: kin.TripleExtension, at_to: dict, to_ms: dict) -> dict[str, Any]:
    m: dict[str, Any] = {}
    for rank, j in enumerate(te.order, start=1):
        m[f"seq_{j}_rank_{side}"] = rank
    for j in kin.JOINTS:
        m[f"seq_{j}_peak_velocity_{side}_deg_s"] = te.peak_velocity_deg_s[j]
        m[f"seq_{j}_peak_velocity_time_{side}_ms"] = 1000.0 * te.peak_velocity_s[j]
        m[f"seq_{j}_takeoff_angle_{side}_deg"] = at_to[j]
        m[f"seq_{j}_extension_to_takeoff_{side}_ms"] = to_ms[j]
    for k in _PAIRS:
        m[f"seq_{k}_lag_{side}_ms"] = te.lags_ms[k]
    m[f"seq_order_{side}"] = ">".join(te.order)
    m[f"seq_proximal_to_distal_{side}"] = _p2d_value(te.proximal_to_distal)
    return m


def jump_sequencing(mocap: Window, takeoff_time_s: float, *, sides: Sequence[str] = ("l", "r"),
                    lowpass_hz: float | None = 10.0, search_before_s: float = 1.0,
                    tolerance_frames: float = 1.0, onset: str = "zero",
                    marker_names: Mapping[str, str] | str | None = "auto",
                    hip_centre_method: str = "harrington") -> JumpSequencing:
    """Hip/knee/ankle sequencing of one jump from its mocap window and take-off.

    Parameters
    ----------
    mocap : Window
        The mocap stream over the trial (``<MARKER>.x/y/z`` in metres or
        ``<segment>.qw/qx/qy/qz``), times on the session clock.
    takeoff_time_s : float
        Take-off on the session clock (from the force plates).
    sides : sequence of {"l", "r"}
        Legs analysed (default both).
    lowpass_hz, search_before_s, tolerance_frames, onset
        Options of :func:`labkit.signal.kinematics.triple_extension` (zero-lag low-pass
        before differentiating, peak search before take-off, simultaneity tolerance,
        extension onset definition).
    marker_names : mapping, str or None
        ``names`` of :func:`labkit.signal.kinematics.frames_from_markers` (default
        ``"auto"``: the first complete marker set of ``MARKER_SETS``).
    hip_centre_method : str
        Hip joint centre regression (default ``"harrington"``).

    Returns
    -------
    JumpSequencing
        ``metrics`` per side ``s``: ``seq_<joint>_peak_velocity_<s>_deg_s``,
        ``seq_<joint>_peak_velocity_time_<s>_ms`` (relative to take-off, negative
        before), ``seq_hip_knee_lag_<s>_ms`` and ``seq_knee_ankle_lag_<s>_ms`` (distal
        minus proximal peak time, positive = proximal first), ``seq_order_<s>``
        (``"hip>knee>ankle"``), ``seq_<joint>_rank_<s>`` (1 = first),
        ``seq_proximal_to_distal_<s>`` (1, 0, or NaN when undecided),
        ``seq_<joint>_takeoff_angle_<s>_deg`` and
        ``seq_<joint>_extension_to_takeoff_<s>_ms``.

    Raises
    ------
    SignalError
        On a take-off outside the window, missing markers, or NaN inside the search window.
    """
    if not math.isfinite(takeoff_time_s):
        raise SignalError("no take-off: sequencing needs the jump's take-off time")
    if mocap is None or mocap.n_samples < 10:
        raise SignalError("the mocap window holds fewer than 10 frames")
    fs = float(mocap.rate_hz)
    times = np.asarray(mocap.times, dtype=float)
    marker_options = {"names": marker_names, "hip_centre_method": hip_centre_method}
    frames = kin.frames_from_channels(mocap.labels, mocap.data, marker_options=marker_options)
    ang = kin.lower_limb_angles(frames, sides=list(sides))
    t0 = float(times[0])
    tx = {"lowpass_hz": lowpass_hz, "search_before_s": search_before_s,
          "tolerance_frames": tolerance_frames, "onset": onset}
    results, at_to, to_ms, metrics = {}, {}, {}, {}
    for side in sides:
        sag = {j: ang.sagittal(j, side) for j in kin.JOINTS}
        te = kin.triple_extension(sag["hip"], sag["knee"], sag["ankle"], fs, takeoff_s=takeoff_time_s,
                                  t0_s=t0, **tx)
        results[side] = te
        at_to[side] = {j: float(np.interp(takeoff_time_s, times, sag[j])) for j in kin.JOINTS}
        to_ms[side] = {j: -1000.0 * te.onset_s[j] for j in kin.JOINTS}
        metrics.update(_side_metrics(side, te, at_to[side], to_ms[side]))
    params = {"function": "labkit.trials.sequencing.jump_sequencing", "labkit_version": __version__,
              "sides": list(sides), **tx, "marker_names": marker_names,
              "hip_centre_method": hip_centre_method, "rate_hz": fs,
              "source": "rigid bodies" if "pelvis.qw" in mocap.labels else "markers",
              "takeoff": "force plates (the jump's takeoff_time_s)",
              "angles": "Plug-in Gait YXZ; hip/knee flexion +, ankle dorsiflexion +",
              "lag": "distal - proximal peak extension velocity time (ms, positive = proximal first)",
              "takeoff_angle": "unfiltered angle interpolated at take-off"}
    return JumpSequencing(results, at_to, to_ms, float(takeoff_time_s), metrics, params)


def jump_sequencing_table(labels: Sequence[str], data: Any, times_s: Any, takeoff_times_s: Any, *,
                          fs_hz: float, sides: Sequence[str] = ("l", "r"), lowpass_hz: float | None = 10.0,
                          search_before_s: float = 1.0, tolerance_frames: float = 1.0, onset: str = "zero",
                          marker_names: Mapping[str, str] | str | None = "auto",
                          hip_centre_method: str = "harrington"):
    """The ``seq_*`` metrics of many jumps at once, one row per trial.

    Each row holds what :func:`jump_sequencing` gives that trial's mocap window and
    take-off (to rounding), computed for all trials in one pass by
    :func:`labkit.signal.kinematics.triple_extension_batch` (labelled markers; for
    rigid-body streams call :func:`jump_sequencing` per trial).

    Parameters
    ----------
    labels : sequence of str
        Mocap channel labels (``<MARKER>.x/y/z`` in metres), one per column of ``data``.
    data : array_like, shape (T, n, n_channels)
        ``T`` trials' mocap windows of equal length ``n`` (e.g. the same window around
        each take-off).
    times_s : array_like, shape (n,) or (T, n)
        Frame times (the session clock of each trial, or one row for all).
    takeoff_times_s : array_like, shape (T,)
        Each trial's take-off on its frame times.
    fs_hz : float
        Frame rate (Hz).
    sides, lowpass_hz, search_before_s, tolerance_frames, onset, marker_names, hip_centre_method
        As :func:`jump_sequencing`.

    Returns
    -------
    pandas.DataFrame
        The ``seq_*`` columns of :func:`jump_sequencing` (index ``trial``) and
        ``seq_note`` (``""``, or why the trial was not analysed; its numbers are then
        NaN and its orders ``""``); the parameters in ``df.attrs["params"]``.
    """
    import pandas as pd  # late: only the batch table needs pandas

    b = kin.triple_extension_batch(labels, data, times_s, takeoff_times_s, fs_hz=fs_hz, lowpass_hz=lowpass_hz,
                                   sides=sides,
                                   search_before_s=search_before_s, tolerance_frames=tolerance_frames,
                                   onset=onset, marker_names=marker_names,
                                   hip_centre_method=hip_centre_method)
    failed = np.array([e is not None for e in b.errors])
    cols: dict[str, Any] = {}
    for s in sides:
        si = "lr".index(s)
        order = b.order[:, si]
        for j_i, j in enumerate(kin.JOINTS):
            rank = b.rank[:, si, j_i]
            cols[f"seq_{j}_rank_{s}"] = np.where(failed, np.nan, rank) if failed.any() else rank
        for j_i, j in enumerate(kin.JOINTS):
            cols[f"seq_{j}_peak_velocity_{s}_deg_s"] = b.peak_velocity_deg_s[:, si, j_i]
            cols[f"seq_{j}_peak_velocity_time_{s}_ms"] = 1000.0 * b.peak_velocity_s[:, si, j_i]
            cols[f"seq_{j}_takeoff_angle_{s}_deg"] = b.takeoff_angle_deg[:, si, j_i]
            cols[f"seq_{j}_extension_to_takeoff_{s}_ms"] = -1000.0 * b.onset_s[:, si, j_i]
        for p_i, k in enumerate(_PAIRS):
            cols[f"seq_{k}_lag_{s}_ms"] = b.lags_ms[:, si, p_i]
        cols[f"seq_order_{s}"] = order
        cols[f"seq_proximal_to_distal_{s}"] = b.proximal_to_distal[:, si]
    cols["seq_note"] = ["" if e is None else f"sequencing not computed: {e}"[:300] for e in b.errors]
    df = pd.DataFrame(cols)
    df.index.name = "trial"
    df.attrs["params"] = {"function": "labkit.trials.sequencing.jump_sequencing_table",
                          "labkit_version": __version__, "sides": list(sides), "lowpass_hz": lowpass_hz,
                          "search_before_s": search_before_s, "tolerance_frames": tolerance_frames,
                          "onset": onset, "marker_names": marker_names,
                          "hip_centre_method": hip_centre_method, "rate_hz": float(fs_hz),
                          "source": "markers", "batch": b.params,
                          "lag": "distal - proximal peak extension velocity time (ms, positive = proximal "
                                 "first)",
                          "takeoff_angle": "unfiltered angle interpolated at take-off"}
    return df


def add_sequencing(outcome: TrialOutcome, mocap: Window | None) -> TrialOutcome:
    """The jump outcome with its sequencing metrics and provenance added.

    Nothing changes without a mocap window or a take-off. A sequencing that cannot run
    (missing markers, gaps) never invalidates the jump: ``params["sequencing"]`` holds
    the reason under ``error`` and the metric ``seq_note`` says it.
    """
    takeoff = outcome.metrics.get("takeoff_time_s", float("nan"))
    if mocap is None or not isinstance(takeoff, float | int) or not math.isfinite(takeoff):
        return outcome
    try:
        seq = jump_sequencing(mocap, float(takeoff))
    except (SignalError, StreamError) as exc:
        note = f"sequencing not computed: {str(exc).splitlines()[0]}"
        return dataclasses.replace(outcome, metrics={**outcome.metrics, "seq_note": note[:300]},
                                   params={**outcome.params, "sequencing": {"error": note}})
    inputs = {**outcome.inputs, "mocap": {"stream": mocap.name, "window_s": [float(mocap.times[0]),
                                                                            float(mocap.times[-1])]}}
    return dataclasses.replace(outcome, metrics={**outcome.metrics, **seq.metrics},
                               params={**outcome.params, "sequencing": seq.params}, inputs=inputs)


def summary_line(metrics: Mapping[str, Any]) -> str:
    """One line for the live screen: per side the order and the two lags, e.g.
    ``sequencing: left hip>knee>ankle (15/15 ms); right hip>knee>ankle (14/16 ms)``
    (``""`` without sequencing metrics; the note when it could not run)."""
    parts = []
    for s, name in (("l", "left"), ("r", "right")):
        order = metrics.get(f"seq_order_{s}")
        if isinstance(order, str):
            hk, ka = metrics.get(f"seq_hip_knee_lag_{s}_ms"), metrics.get(f"seq_knee_ankle_lag_{s}_ms")
            parts.append(f"{name} {order} ({hk:.0f}/{ka:.0f} ms)")
    if parts:
        return "sequencing (hip->knee/knee->ankle lags): " + "; ".join(parts)
    note = metrics.get("seq_note")
    return str(note) if note else ""
