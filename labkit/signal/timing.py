"""Cross-modal timing: EMG onsets against force onset, activation order, kinematics vs force.

All times are on one clock: the session's synchronised time axis (``Stream.times``) or
any common time base of the arrays passed in. Sign conventions:

* electromechanical delay ``EMD = force onset - EMG onset`` (ms; positive when the muscle
  switches on before force rises, typically 20-100 ms);
* relative onset ``EMG onset - reference`` (ms; negative = before the reference), the
  quantity whose order across muscles :func:`activation_order` summarises;
* kinematic events relative to force events: ``event - takeoff`` (ms; negative = before).

:func:`session_timing` does it all from a session (or a mapping of its streams) and trial
windows: force onset (and take-off for jumps) from the summed vertical force with
:mod:`labkit.signal.force`, EMG onsets with :func:`labkit.signal.emg.detect_onsets`, and,
with a motion-capture stream, triple-extension events with
:func:`labkit.signal.kinematics.triple_extension`. Every default is a keyword parameter
and every result records its parameters. Definitions: ``docs/kinematics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.errors import SignalError, StreamError

__all__ = [
    "EMD_MAX_LAG_S",
    "EMD_MAX_LEAD_S",
    "ActivationOrder",
    "SessionTiming",
    "activation_order",
    "effort_onset",
    "electromechanical_delay",
    "session_timing",
]


def _provenance(function: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"function": f"labkit.signal.timing.{function}", "labkit_version": __version__, **params}


def electromechanical_delay(emg_onset_s: Any, force_onset_s: Any):
    """Electromechanical delay per muscle and trial: ``(force onset - EMG onset)`` in ms.

    Parameters
    ----------
    emg_onset_s : mapping or pandas.DataFrame
        EMG onsets (s) per muscle label: a mapping label -> scalar or per-trial array,
        or a DataFrame with one column per label and one row per trial. NaN = no onset.
    force_onset_s : float or array_like
        Force onset (s, same clock) of each trial.

    Returns
    -------
    pandas.DataFrame
        EMD in ms, one column per label, one row per trial (positive = EMG first).

    Examples
    --------
    >>> d = electromechanical_delay({"vastus_lateralis_r": [9.95, 19.96]}, [10.0, 20.0])
    >>> d["vastus_lateralis_r"].round(3).tolist()
    [50.0, 40.0]
    """
    import pandas as pd

    df = pd.DataFrame({k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in dict(emg_onset_s).items()}) \
        if not isinstance(emg_onset_s, pd.DataFrame) else emg_onset_s.astype(float)
    ref = np.atleast_1d(np.asarray(force_onset_s, dtype=float))
    if ref.size not in (1, len(df)):
        raise SignalError(f"force_onset_s has {ref.size} values for {len(df)} trials; pass one per trial")
    out = df.rsub(ref, axis=0) * 1000.0 if ref.size == len(df) else (ref[0] - df) * 1000.0
    out.attrs["params"] = _provenance("electromechanical_delay",
                                      {"definition": "force onset - EMG onset", "unit": "ms"})
    return out


@dataclass(frozen=True)
class ActivationOrder:
    """Activation order across muscles with its uncertainty over trials.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per muscle (sorted by mean): ``n, mean_ms, sd_ms, sem_ms, ci_low_ms,
        ci_high_ms, median_ms, rank`` of the relative onsets (ms; NaN trials left out;
        SD with ddof=1; t-based confidence interval of the mean).
    order : tuple of str
        Muscles by mean relative onset (earliest first).
    p_before : pandas.DataFrame
        ``p_before.loc[a, b]``: fraction of trials (with both onsets) in which ``a``
        switched on before ``b`` (ties within ``tie_ms`` count one half).
    pairwise : pandas.DataFrame
        One row per pair ``(a, b)`` with ``a`` earlier on average: ``n``, ``mean_diff_ms``
        (b - a), ``ci_low_ms``, ``ci_high_ms`` (paired t interval), ``p_before`` and
        ``resolved`` (the interval excludes 0: the order of that pair is established at
        the chosen confidence).
    params : dict
    """

    summary: Any
    order: tuple
    p_before: Any
    pairwise: Any
    params: dict = field(default_factory=dict)


def _t_quantile(confidence: float, dof: int) -> float:
    if dof < 1:
        return float("nan")
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, dof))


def activation_order(relative_onset_ms: Any, *, confidence: float = 0.95, tie_ms: float = 0.0
                     ) -> ActivationOrder:
    """Order of muscle activation over trials, with means, SDs, intervals and pair odds.

    Parameters
    ----------
    relative_onset_ms : pandas.DataFrame or mapping
        One column per muscle, one row per trial: onset relative to a common reference
        (e.g. force onset or the first muscle's onset), in ms; NaN = no onset in that
        trial. A mapping label -> per-trial values works too.
    confidence : float
        Confidence level of the intervals (default 0.95).
    tie_ms : float
        Onsets closer than this count as ties in ``p_before`` (default 0: exact ties only).

    Returns
    -------
    ActivationOrder

    Examples
    --------
    >>> o = activation_order({"biceps_femoris_r": [-120, -100, -140],
    ...                       "gluteus_maximus_r": [-20, -30, -10]})
    >>> o.order, float(o.p_before.loc["biceps_femoris_r", "gluteus_maximus_r"])
    (('biceps_femoris_r', 'gluteus_maximus_r'), 1.0)
    """
    import pandas as pd

    if not 0 < confidence < 1:
        raise SignalError(f"confidence={confidence!r} must be within (0, 1)")
    if not (math.isfinite(tie_ms) and tie_ms >= 0):
        raise SignalError(f"tie_ms={tie_ms!r} must be a non-negative number of ms")
    df = relative_onset_ms if isinstance(relative_onset_ms, pd.DataFrame) else \
        pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in dict(relative_onset_ms).items()})
    df = df.astype(float)
    if df.shape[1] < 1:
        raise SignalError("relative_onset_ms has no muscles; pass one column per muscle")
    rows = []
    for m in df.columns:
        x = df[m].to_numpy()
        x = x[np.isfinite(x)]
        n = x.size
        mean = float(np.mean(x)) if n else float("nan")
        sd = float(np.std(x, ddof=1)) if n > 1 else float("nan")
        sem = sd / math.sqrt(n) if n > 1 else float("nan")
        h = _t_quantile(confidence, n - 1) * sem if n > 1 else float("nan")
        rows.append((m, n, mean, sd, sem, mean - h, mean + h, float(np.median(x)) if n else float("nan")))
    summary = pd.DataFrame(rows, columns=["muscle", "n", "mean_ms", "sd_ms", "sem_ms", "ci_low_ms",
                                          "ci_high_ms", "median_ms"]).set_index("muscle")
    summary = summary.sort_values("mean_ms", kind="stable")
    summary["rank"] = np.arange(1, len(summary) + 1)
    order = tuple(summary.index)
    names = list(df.columns)
    p = pd.DataFrame(np.nan, index=names, columns=names)
    pairs = []
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            both = df[[a, b]].dropna().to_numpy()
            n = both.shape[0]
            if n == 0:
                pairs.append((a, b, 0, np.nan, np.nan, np.nan, np.nan, False))
                continue
            d = both[:, 1] - both[:, 0]
            tie = np.abs(d) <= tie_ms
            pab = float((np.sum((d > 0) & ~tie) + 0.5 * np.sum(tie)) / n)
            p.loc[a, b], p.loc[b, a] = pab, 1.0 - pab
            md = float(np.mean(d))
            h = _t_quantile(confidence, n - 1) * float(np.std(d, ddof=1)) / math.sqrt(n) if n > 1 else np.nan
            lo, hi = md - h, md + h
            pairs.append((a, b, n, md, lo, hi, pab, bool(np.isfinite(lo) and (lo > 0 or hi < 0))))
    pairwise = pd.DataFrame(pairs, columns=["first", "second", "n", "mean_diff_ms", "ci_low_ms",
                                            "ci_high_ms", "p_before", "resolved"])
    params = _provenance("activation_order", {"confidence": confidence, "tie_ms": tie_ms,
                                              "sd_ddof": 1, "interval": "t"})
    return ActivationOrder(summary, order, p, pairwise, params)


# ===================================================================== session level


@dataclass(frozen=True)
class SessionTiming:
    """Cross-modal timing of the trials of a session.

    Attributes
    ----------
    trials : pandas.DataFrame
        One row per trial window: ``trial, start_s, end_s, force_onset_s`` (session
        clock), ``takeoff_s`` (jumps), ``valid`` and ``flags`` of the force analysis.
    emg_onset_s : pandas.DataFrame
        Session-clock EMG onset per trial (rows) and channel (columns); NaN = none found
        within ``[force onset - max_lead_s, force onset + max_lag_s]``.
    emd_ms : pandas.DataFrame
        Electromechanical delay per trial and channel (force onset - EMG onset, ms).
    order : ActivationOrder or None
        Activation order of the relative onsets (EMG onset - force onset) over trials.
    kinematics : pandas.DataFrame or None
        Per trial (with a mocap stream): triple-extension metrics
        (:meth:`~labkit.signal.kinematics.TripleExtension.to_dict`, times relative to
        take-off) plus ``<joint>_peak_velocity_from_force_onset_ms``.
    params : dict
        Every parameter, stream names, channels and provenance.
    """

    trials: Any
    emg_onset_s: Any
    emd_ms: Any
    order: ActivationOrder | None
    kinematics: Any
    params: dict = field(default_factory=dict)


def _stream(source: Any, name: str):
    if hasattr(source, "stream"):
        return source.stream(name)
    try:
        return source[name]
    except KeyError:
        raise StreamError(f"stream {name!r} not found; pass the right name (have {sorted(source)})") from None


def _windows(windows: Any) -> list[tuple[Any, float, float]]:
    import pandas as pd

    if isinstance(windows, pd.DataFrame):
        for a, b in (("start", "end"), ("start_s", "end_s")):
            if a in windows.columns and b in windows.columns:
                ids = windows["id"] if "id" in windows.columns else windows.index
                return [(i, float(s), float(e)) for i, s, e in zip(ids, windows[a], windows[b], strict=True)]
        raise SignalError("windows DataFrame needs columns start/end (session.trials) or start_s/end_s")
    out = []
    for k, w in enumerate(windows):
        s, e = w
        out.append((k, float(s), float(e)))
    return out


def _slice(stream, t0: float, t1: float) -> tuple[int, int]:
    times = np.asarray(stream.times, dtype=float)
    return int(np.searchsorted(times, t0, "left")), int(np.searchsorted(times, t1, "left"))


def _session_time(times: np.ndarray, i0: int, t_rel_s: float, fs: float) -> float:
    """Session time of a fractional sample position ``i0 + t_rel_s * fs``."""
    if not np.isfinite(t_rel_s):
        return float("nan")
    pos = i0 + t_rel_s * fs
    return float(np.interp(pos, np.arange(times.size), times))


def _mocap_frames(mocap, i0, i1, *, foot_offset, marker_options):
    from labkit.signal import kinematics as kin

    try:
        return kin.frames_from_channels(mocap.labels, np.asarray(mocap.data[i0:i1], dtype=float),
                                        foot_offset=foot_offset, marker_options=marker_options)
    except SignalError as exc:
        if "qw/qx/qy/qz" in str(exc):
            raise StreamError(f"{exc} or pass mocap_stream=None") from None
        raise


#: the electromechanical-delay acceptance window (s): an EMG onset belongs to an effort when
#: it lies within [force onset - EMD_MAX_LEAD_S, force onset + EMD_MAX_LAG_S] (docs/kinematics.md)
EMD_MAX_LEAD_S = 0.5
EMD_MAX_LAG_S = 0.2


def effort_onset(onsets_s: Any, force_onset_s: float, *, max_lead_s: float = EMD_MAX_LEAD_S,
                 max_lag_s: float = EMD_MAX_LAG_S) -> float:
    """The EMG onset that belongs to an effort: the first within the EMD window.

    This is labkit's one electromechanical-delay rule, used by trial analysis, by
    :func:`session_timing` and by every screen that shows EMD.

    Parameters
    ----------
    onsets_s : array_like
        Burst onsets of one channel (s, the same clock as ``force_onset_s``), ascending.
    force_onset_s : float
        The effort's force onset (s).
    max_lead_s, max_lag_s : float
        How long before / after the force onset an EMG onset may lie (s, >= 0).

    Returns
    -------
    float
        The onset (s), or NaN when none lies in the window or the force onset is NaN.

    Examples
    --------
    >>> effort_onset([0.2, 1.93, 2.5], 2.0)
    1.93
    """
    if max_lead_s < 0 or max_lag_s < 0:
        raise SignalError(f"max_lead_s={max_lead_s} and max_lag_s={max_lag_s} must be >= 0")
    ts = np.asarray(onsets_s, dtype=float).reshape(-1)
    if not math.isfinite(force_onset_s) or ts.size == 0:
        return float("nan")
    ok = (ts >= force_onset_s - max_lead_s) & (ts <= force_onset_s + max_lag_s)
    return float(ts[ok][0]) if np.any(ok) else float("nan")


def _emg_channels(est: Any, emg_stream: str, emg_channels: Sequence[str] | None) -> list[str]:
    """The EMG channels to analyse: given, else those of type ``emg``, else all but the counter."""
    elabels = list(est.labels)
    if emg_channels is None:
        types = getattr(est, "channels", None)
        if types is not None and "type" in getattr(types, "columns", []):
            emg_channels = [lb for lb, ty in zip(elabels, types["type"], strict=False) if ty == "emg"]
        if not emg_channels:
            emg_channels = [lb for lb in elabels if lb != "counter"]
    bad = [c for c in emg_channels if c not in elabels]
    if bad:
        raise StreamError(f"EMG stream {emg_stream!r} has no channels {bad}; pass emg_channels=")
    return list(emg_channels)


def _trial_emg_onsets(est: Any, channels: list[str], t0: float, t1: float, onset: float,
                      emg_options: dict[str, Any], *, max_lead_s: float, max_lag_s: float
                      ) -> dict[str, float]:
    """Each channel's onset (session clock) that belongs to the effort (the EMD rule)."""
    from labkit.signal import emg as emg_mod

    efs = float(est.rate_hz)
    etimes = np.asarray(est.times, dtype=float)
    cols = [list(est.labels).index(c) for c in channels]
    j0, j1 = _slice(est, t0, t1)
    x = np.asarray(est.data[j0:j1][:, cols], dtype=float)
    bursts = emg_mod.detect_onsets(x, efs, channels=channels, **emg_options)
    out = {}
    for ch in channels:
        out[ch] = float("nan")
        if not np.isfinite(onset):
            continue
        b = bursts[bursts["channel"] == ch]
        ts = np.array([_session_time(etimes, j0, s, efs) for s in b["onset_s"]])
        out[ch] = effort_onset(ts, onset, max_lead_s=max_lead_s, max_lag_s=max_lag_s)
    return out


def _trial_triple_extension(mst: Any, t0: float, t1: float, side: str, takeoff: float, onset: float,
                            foot_offset: Any, marker_options: dict[str, Any],
                            tx_options: dict[str, Any]) -> dict[str, Any]:
    """Triple-extension events of one trial, with peak velocities relative to force onset."""
    from labkit.signal import kinematics as kin

    k0, k1 = _slice(mst, t0, t1)
    frames = _mocap_frames(mst, k0, k1, foot_offset=foot_offset, marker_options=marker_options)
    ang = kin.lower_limb_angles(frames, sides=[side])
    mt = np.asarray(mst.times, dtype=float)
    te = kin.triple_extension(ang.sagittal("hip", side), ang.sagittal("knee", side),
                              ang.sagittal("ankle", side), float(mst.rate_hz),
                              takeoff_s=takeoff, t0_s=float(mt[k0]), **tx_options)
    d = te.to_dict()
    for j in kin.JOINTS:
        d[f"{j}_peak_velocity_from_force_onset_ms"] = 1000.0 * (te.peak_velocity_s[j] + takeoff - onset)
    return d


def session_timing(source: Any, windows: Any, *, task: str = "isometric", force_stream: str = "force",
                   force_channels: Sequence[str] = ("fp1.Fz", "fp2.Fz"), emg_stream: str | None = "emg",
                   emg_channels: Sequence[str] | None = None, mocap_stream: str | None = None,
                   side: str = "r", max_lead_s: float = EMD_MAX_LEAD_S, max_lag_s: float = EMD_MAX_LAG_S,
                   force_options: Mapping[str, Any] | None = None,
                   emg_options: Mapping[str, Any] | None = None,
                   triple_extension_options: Mapping[str, Any] | None = None,
                   marker_options: Mapping[str, Any] | None = None, foot_offset: Any = "forward",
                   confidence: float = 0.95) -> SessionTiming:
    """EMG onsets relative to force onset, activation order and kinematics vs force events.

    For each trial window the summed vertical force (``force_channels``) gives the force
    onset (``task="isometric"``: :func:`labkit.signal.force.isometric`; ``"cmj"`` or
    ``"squat_jump"``: the jump functions, which also give take-off). The window must
    start with the weighing period (default 1 s of quiet standing). EMG bursts are
    detected on the same window (:func:`labkit.signal.emg.detect_onsets`) and the first
    onset of each channel within ``[force onset - max_lead_s, force onset + max_lag_s]``
    is kept. With ``mocap_stream`` and a take-off, the joint angles of ``side`` give
    triple-extension events relative to take-off and to force onset. All event times are
    mapped to the session clock through each stream's synchronised ``times``.

    Parameters
    ----------
    source : Session or mapping
        An open session (``.stream(name)``) or a mapping name -> object with ``data``,
        ``times`` (s, common clock), ``labels`` and ``rate_hz``.
    windows : pandas.DataFrame or sequence of (start_s, end_s)
        Trial windows on the session clock; ``session.trials`` (columns ``start``,
        ``end``, ``id``) works as it is.
    task : {"isometric", "cmj", "squat_jump"}
        Force analysis used for the onset (and take-off).
    force_stream, force_channels
        Stream name and the vertical-force channels summed.
    emg_stream, emg_channels
        EMG stream (None: no EMG) and channels (default every channel of type ``emg``, or
        every channel but ``counter``).
    mocap_stream : str, optional
        Motion capture with rigid bodies (``<segment>.qw/qx/qy/qz``) or the simple marker
        set (``<MARKER>.x/y/z``); None (default): no kinematics.
    side : {"l", "r"}
        Leg used for triple extension.
    max_lead_s, max_lag_s : float
        EMG onset search range around force onset.
    force_options, emg_options, triple_extension_options, marker_options : mapping, optional
        Keyword options of the force function, ``detect_onsets``,
        ``triple_extension`` and ``frames_from_markers`` (recorded in ``params``).
    foot_offset : "forward", None or (3, 3) array
        Offset of foot rigid bodies (``"forward"``: x toward the toes, z up =
        :data:`~labkit.signal.kinematics.FOOT_FORWARD_TO_PIG`).
    confidence : float
        Confidence level of :func:`activation_order`.

    Returns
    -------
    SessionTiming
    """
    import pandas as pd

    from labkit.signal import force as force_mod
    from labkit.signal import kinematics as kin

    tasks = {"isometric": force_mod.isometric, "cmj": force_mod.cmj, "squat_jump": force_mod.squat_jump}
    if task not in tasks:
        raise SignalError(f"task={task!r} must be one of {sorted(tasks)}")
    if max_lead_s < 0 or max_lag_s < 0:
        raise SignalError(f"max_lead_s={max_lead_s} and max_lag_s={max_lag_s} must be >= 0")
    force_options = dict(force_options or {})
    emg_options = dict(emg_options or {})
    tx_options = dict(triple_extension_options or {})
    marker_options = dict(marker_options or {})
    if isinstance(foot_offset, str):
        if foot_offset != "forward":
            raise SignalError(f"foot_offset={foot_offset!r} must be 'forward', None or a 3x3 rotation")
        foot_offset = kin.FOOT_FORWARD_TO_PIG
    wins = _windows(windows)
    fst = _stream(source, force_stream)
    flabels = list(fst.labels)
    missing = [c for c in force_channels if c not in flabels]
    if missing:
        raise StreamError(f"force stream {force_stream!r} has no channels {missing}; pass force_channels=")
    fcols = [flabels.index(c) for c in force_channels]
    ffs = float(fst.rate_hz)
    ftimes = np.asarray(fst.times, dtype=float)
    est = _stream(source, emg_stream) if emg_stream else None
    if est is not None:
        emg_channels = _emg_channels(est, emg_stream, emg_channels)
    mst = _stream(source, mocap_stream) if mocap_stream else None

    trial_rows, onset_rows, kin_rows = [], [], []
    for tid, t0, t1 in wins:
        i0, i1 = _slice(fst, t0, t1)
        if i1 - i0 < 10:
            raise SignalError(f"trial {tid}: window [{t0}, {t1}] s holds {i1 - i0} force samples; "
                              "check the windows against the session clock")
        f = np.asarray(fst.data[i0:i1][:, fcols], dtype=float).sum(axis=1)
        res = tasks[task](f, ffs, **force_options)
        onset = _session_time(ftimes, i0, res.onset_s, ffs)
        takeoff = _session_time(ftimes, i0, getattr(res, "takeoff_s", float("nan")), ffs)
        trial_rows.append({"trial": tid, "start_s": t0, "end_s": t1, "force_onset_s": onset,
                           "takeoff_s": takeoff, "valid": bool(res.valid), "flags": ";".join(res.flags)})
        row = {"trial": tid}
        if est is not None:
            row.update(_trial_emg_onsets(est, emg_channels, t0, t1, onset, emg_options,
                                         max_lead_s=max_lead_s, max_lag_s=max_lag_s))
        onset_rows.append(row)
        if mst is not None and np.isfinite(takeoff):
            kin_rows.append({"trial": tid, **_trial_triple_extension(
                mst, t0, t1, side, takeoff, onset, foot_offset, marker_options, tx_options)})
    trials = pd.DataFrame(trial_rows)
    emg_on = pd.DataFrame(onset_rows).set_index("trial") if est is not None else None
    emd = order = None
    if emg_on is not None:
        emd = electromechanical_delay(emg_on.reset_index(drop=True), trials["force_onset_s"].to_numpy())
        emd.index = emg_on.index
        rel = -emd
        if rel.notna().any().any():
            order = activation_order(rel.dropna(axis=1, how="all"), confidence=confidence)
    kin_df = pd.DataFrame(kin_rows).set_index("trial") if kin_rows else None
    params = _provenance("session_timing", {
        "task": task, "force_stream": force_stream, "force_channels": list(force_channels),
        "emg_stream": emg_stream, "emg_channels": None if est is None else list(emg_channels),
        "mocap_stream": mocap_stream, "side": side, "max_lead_s": max_lead_s, "max_lag_s": max_lag_s,
        "force_options": force_options, "emg_options": emg_options,
        "triple_extension_options": tx_options, "marker_options": marker_options,
        "foot_offset": None if foot_offset is None else np.asarray(foot_offset).tolist(),
        "confidence": confidence, "clock": "synchronised stream times (session clock)",
        "emd": "force onset - EMG onset (ms)", "relative_onset": "EMG onset - force onset (ms)"})
    return SessionTiming(trials, emg_on, emd, order, kin_df, params)
