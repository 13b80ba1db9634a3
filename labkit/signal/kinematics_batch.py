"""Triple extension of many jumps at once, straight from labelled markers.

Part of :mod:`labkit.signal.kinematics` (import the names from there; definitions in
``docs/kinematics.md``). :func:`triple_extension_batch` gives, for every trial of a
``(trials, frames, channels)`` marker array, what :func:`frames_from_markers`,
:func:`lower_limb_angles` and :func:`triple_extension` give one trial at a time (peak
extension velocities and their times, extension onsets, lags, order, the
proximal-to-distal verdict and the angles at take-off, both sides), from one fused
numba kernel (``_sequencing_kernels``) that reads only the markers it needs and only the
frames the analysis uses. The continuous relative phase is left to
:func:`triple_extension`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import SignalError
from labkit.signal import _sequencing_kernels as _k
from labkit.signal._checks import check_fs
from labkit.signal._kinematics_common import JOINTS, SIDES, _lowpass_design, _provenance
from labkit.signal.kinematics_frames import HIP_CENTRE_METHODS, marker_channels, marker_roles
from labkit.signal.kinematics_triple import _check_options, _filter_reach

__all__ = ["TripleExtensionBatch", "triple_extension_batch"]

_HIP = {"harrington": _k.HIP_HARRINGTON, "bell": _k.HIP_BELL}
_ONSET = {"zero": _k.ONSET_ZERO, "fraction": _k.ONSET_FRACTION}


@dataclass(frozen=True)
class TripleExtensionBatch:
    """Triple-extension timing of ``T`` jumps, both sides.

    Arrays are indexed ``[trial, side, joint]`` (sides ``SIDES`` = left, right; joints
    ``JOINTS`` = hip, knee, ankle) or ``[trial, side, pair]`` (``hip_knee``,
    ``knee_ankle``). Times are seconds relative to each trial's take-off. A trial that
    could not be analysed is NaN throughout and its reason is in ``errors``.

    Attributes
    ----------
    onset_s, peak_velocity_s, peak_velocity_deg_s : numpy.ndarray, shape (T, 2, 3)
        As :class:`TripleExtension` (extension onset NaN when there is none).
    takeoff_angle_deg : numpy.ndarray, shape (T, 2, 3)
        Unfiltered angle at take-off, linearly interpolated on the frame times (hip and
        knee flexion +, ankle dorsiflexion +).
    lags_ms, peak_lags_ms, onset_lags_ms : numpy.ndarray, shape (T, 2, 2)
        Distal minus proximal event times (ms, positive = proximal first); ``lags_ms``
        are those of ``lag_event``.
    rank : numpy.ndarray of int, shape (T, 2, 3)
        Each joint's place in ``order`` (1 = first; 0 for a trial not analysed).
    order : numpy.ndarray of str, shape (T, 2)
        ``"hip>knee>ankle"`` style, by the ``lag_event`` time (ties keep the
        proximal-to-distal order); ``""`` for a trial not analysed.
    proximal_to_distal : numpy.ndarray, shape (T, 2)
        1.0, 0.0 or NaN (undecided, or not analysed), as ``TripleExtension``.
    errors : list of (str or None)
        Per trial: None, or why it was not analysed.
    params : dict
        Every parameter and the provenance.
    """

    onset_s: np.ndarray
    peak_velocity_s: np.ndarray
    peak_velocity_deg_s: np.ndarray
    takeoff_angle_deg: np.ndarray
    lags_ms: np.ndarray
    peak_lags_ms: np.ndarray
    onset_lags_ms: np.ndarray
    rank: np.ndarray
    order: np.ndarray
    proximal_to_distal: np.ndarray
    errors: list
    params: dict = field(default_factory=dict)


def _role_columns(labels: list[str], names: Mapping[str, str] | str | None) -> np.ndarray:
    """(16, 3) columns of the x, y, z of each kernel role (``_k.ROLES``)."""
    col = {lb: j for j, lb in enumerate(labels)}
    if "pelvis.qw" in col:
        raise SignalError("triple_extension_batch reads labelled markers and these channels are rigid "
                          "bodies (pelvis.qw ...); analyse rigid-body trials one by one with "
                          "frames_from_channels and triple_extension")
    markers = marker_channels(labels)
    roles = marker_roles(markers, names)
    have = set(markers)
    cols = np.empty((len(_k.ROLES), 3), dtype=np.int64)
    for r, key in enumerate(_k.ROLES):
        role, side = key.rsplit("_", 1)
        name = roles[role].replace("{S}", side.upper())
        if name not in have:
            raise SignalError(f"marker {name!r} ({role}, side {side}) is missing; pass it or map the role "
                              f"to your marker name with names={{'{role}': ...}}")
        cols[r] = [col[f"{name}.{a}"] for a in "xyz"]
    return cols


def _trial_errors(err, err_at, takeoff, times, fs, n, search_before_s) -> list:
    """Per trial None or the one-line reason of its kernel error code, worded as the
    one-trial path words it."""
    out: list = []
    for t, code in enumerate(err):
        row = times[t if times.shape[0] > 1 else 0]
        if code == 0:
            out.append(None)
        elif not np.isfinite(takeoff[t]):
            out.append("no take-off: sequencing needs the jump's take-off time")
        elif code == _k.ERR_TAKEOFF_OUTSIDE:
            out.append(f"takeoff_s={takeoff[t]} is outside the record [{row[0]}, {row[0] + (n - 1) / fs}] s; "
                       "pass it on the same time base as the frame times")
        elif code == _k.ERR_WINDOW_SHORT:
            i_to = (takeoff[t] - row[0]) * fs
            held = min(n, int(np.ceil(i_to)) + 1) - max(0, int(np.floor(i_to - search_before_s * fs)))
            out.append(f"search window holds {held} frames; widen search_before_s")
        else:
            frame, c = divmod(int(err_at[t]), _k.N_ANGLES)
            out.append(f"{JOINTS[c % 3]} angle[{frame}] of side {SIDES[c // 3]} is NaN inside the search "
                       "window; interpolate short gaps or shorten search_before_s")
    return out


def triple_extension_batch(labels: Any, data: Any, times_s: Any, takeoff_s: Any, *, fs_hz: float,
                           lowpass_hz: float | None = 10.0, filter_order: int = 2,
                           search_before_s: float = 1.0, onset: str = "zero", onset_fraction: float = 0.1,
                           lag_event: str = "peak_velocity", tolerance_frames: float = 1.0,
                           subframe: bool = True, peak_fit_fraction: float | None = 0.8,
                           marker_names: Mapping[str, str] | str | None = "auto",
                           hip_centre_method: str = "harrington",
                           sides: Sequence[str] = SIDES) -> TripleExtensionBatch:
    """Hip, knee and ankle triple extension of many jumps from their markers.

    The result of each trial is that of :func:`frames_from_markers` (``names``,
    ``hip_centre_method``), :func:`lower_limb_angles` and :func:`triple_extension` with
    the same options and ``search_after_s=0`` (to rounding), for both sides.

    Parameters
    ----------
    labels : sequence of str
        Channel labels ``<MARKER>.x/.y/.z`` (metres), one per column of ``data``; other
        channels are ignored.
    data : array_like, shape (T, n, n_channels)
        ``T`` trials of ``n`` frames (float32 or float64; NaN = missing). Only the
        frames of the search window plus the filter's reach must be finite.
    times_s : array_like, shape (n,) or (T, n)
        Frame times (one row for all trials, or one per trial), increasing.
    takeoff_s : array_like, shape (T,)
        Take-off of each trial on its frame times (e.g. from the force plates).
    fs_hz : float
        Frame rate (Hz).
    lowpass_hz, filter_order, search_before_s, onset, onset_fraction, lag_event
        As :func:`triple_extension`.
    tolerance_frames, subframe, peak_fit_fraction
        As :func:`triple_extension`.
    marker_names : mapping, str or None
        ``names`` of :func:`frames_from_markers` (default ``"auto"``, :func:`marker_roles`).
    hip_centre_method : {"harrington", "bell"}
        Hip joint centre regression.
    sides : sequence of {"l", "r"}
        Sides analysed (default both). Arrays keep both sides; the other side's entries
        are NaN (order ``""``, rank 0), and its gaps do not stop a trial.

    Returns
    -------
    TripleExtensionBatch

    Raises
    ------
    SignalError
        On bad shapes or options, rigid-body channels or missing markers (a trial's own
        problem, such as NaN in its window, is reported in ``errors`` instead).
    """
    fs = check_fs(fs_hz)
    _check_options(onset, lag_event, tolerance_frames, onset_fraction, peak_fit_fraction, search_before_s)
    if hip_centre_method not in HIP_CENTRE_METHODS:
        raise SignalError(f"hip_centre_method={hip_centre_method!r} is not one of "
                          f"{sorted(HIP_CENTRE_METHODS)}")
    side_mask = np.array([s in sides for s in SIDES])
    if not side_mask.any() or any(s not in SIDES for s in sides):
        raise SignalError(f"sides={tuple(sides)!r}; pass 'l' and/or 'r'")
    labels = list(labels)
    arr = np.asarray(data)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if arr.ndim != 3 or arr.shape[2] != len(labels) or arr.shape[1] < 10:
        raise SignalError(f"data has shape {np.shape(data)} for {len(labels)} labels; pass "
                          "(trials, frames >= 10, n_labels)")
    n_trials, n = arr.shape[:2]
    if n_trials == 0:
        raise SignalError("data holds no trials; pass at least one (trials, frames, channels) window")
    times = np.atleast_2d(np.asarray(times_s, dtype=np.float64))
    if times.ndim != 2 or times.shape[1] != n or times.shape[0] not in (1, n_trials):
        raise SignalError(f"times_s has shape {np.shape(times_s)}; pass ({n},) or ({n_trials}, {n})")
    takeoff = np.asarray(takeoff_s, dtype=np.float64).reshape(-1)
    if takeoff.size != n_trials:
        raise SignalError(f"takeoff_s has {takeoff.size} values for {n_trials} trials; pass one per trial")
    cols = _role_columns(labels, marker_names)
    if lowpass_hz:
        from scipy import signal as sps  # late: keeps import labkit light

        sos, padlen = _lowpass_design(fs, lowpass_hz, filter_order)
        zi = np.ascontiguousarray(sps.sosfilt_zi(sos), dtype=np.float64)
    else:
        sos, padlen, zi = np.zeros((1, 6)), 0, np.zeros((1, 2))
    shape = (n_trials, _k.N_ANGLES)
    peak_pos, peak_vel, onset_pos, at_to = (np.empty(shape) for _ in range(4))
    err, err_at = np.empty(n_trials, dtype=np.int64), np.empty(n_trials, dtype=np.int64)
    # one array layout for the times, so that the kernel compiles once
    times_all = np.ascontiguousarray(np.broadcast_to(times, (n_trials, n)))
    _k.sequencing_batch(arr, cols, times_all, takeoff, fs, float(search_before_s),
                        _filter_reach(fs, lowpass_hz), _HIP[hip_centre_method], side_mask, bool(lowpass_hz),
                        sos, zi, padlen, bool(subframe),
                        -1.0 if peak_fit_fraction is None else float(peak_fit_fraction), _ONSET[onset],
                        float(onset_fraction), peak_pos, peak_vel, onset_pos, at_to, err, err_at)  # fmt: skip
    t0 = times[:, :1] if times.shape[0] > 1 else times[0, 0]
    peak_t = (t0 + peak_pos / fs - takeoff[:, None]).reshape(n_trials, 2, 3)
    onset_t = (t0 + onset_pos / fs - takeoff[:, None]).reshape(n_trials, 2, 3)
    peak_lags = 1000.0 * np.diff(peak_t, axis=2)
    onset_lags = 1000.0 * np.diff(onset_t, axis=2)
    lags = peak_lags if lag_event == "peak_velocity" else onset_lags
    ev = peak_t if lag_event == "peak_velocity" else onset_t
    # ties keep the proximal-to-distal order, as sorted() on (time, joint index) does
    by_time = np.argsort(np.where(np.isnan(ev), np.inf, ev), axis=2, kind="stable")
    rank = np.argsort(by_time, axis=2) + 1
    names = np.array(JOINTS)[by_time]
    order = np.char.add(np.char.add(np.char.add(names[..., 0], ">"), np.char.add(names[..., 1], ">")),
                        names[..., 2]).astype(object)
    tol_ms = 1000.0 * float(tolerance_frames) / fs
    p2d = np.where(np.any(lags < -tol_ms, axis=2), 0.0, np.where(np.all(lags > tol_ms, axis=2), 1.0, np.nan))
    failed = err != 0
    off = failed[:, None] | ~side_mask[None, :]  # (trial, side) not analysed
    order[off] = ""
    rank[off] = 0
    p2d[off] = np.nan
    params = _provenance("triple_extension_batch", {
        "fs_hz": fs, "lowpass_hz": lowpass_hz, "filter_order": filter_order,
        "search_before_s": search_before_s, "search_after_s": 0.0, "onset": onset,
        "onset_fraction": onset_fraction, "lag_event": lag_event, "tolerance_frames": tolerance_frames,
        "tolerance_ms": tol_ms, "subframe": subframe, "peak_fit_fraction": peak_fit_fraction,
        "marker_names": marker_names if not isinstance(marker_names, Mapping) else dict(marker_names),
        "hip_centre_method": hip_centre_method, "sides": [s for s in SIDES if s in sides],
        "joints": list(JOINTS),
        "angles": "Plug-in Gait YXZ; hip/knee flexion +, ankle dorsiflexion +",
        "velocity": "central differences of the filtered angle, extension +"})
    return TripleExtensionBatch(onset_t, peak_t, peak_vel.reshape(n_trials, 2, 3),
                                at_to.reshape(n_trials, 2, 3), lags, peak_lags, onset_lags, rank, order, p2d,
                                _trial_errors(err, err_at, takeoff, times, fs, n, search_before_s), params)
