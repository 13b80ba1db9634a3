"""Matplotlib figures of one trial: the signal that was analysed, EMG envelopes, joint angles.

The force figure draws the trial signal the catalogue defines for the test
(:func:`labkit.trials.isometric.trial_signal`), with the events of its analysis read from
the stored results:

* tests of the whole body's vertical force (IMTP, isometric squat): the summed plates with
  the body weight, onset, the RFD epochs and the peak;
* tests of one plate (hip extension and flexion): the side's plate as recorded, and below
  it the net force the analysis measured (the effort made positive, minus its quiet
  baseline) with onset, epochs and the net peak on the trace;
* trunk rotation: the net torque (N.m) of the free moment, signed so that the turn is
  positive;
* jumps: the summed plates with the body weight, the phases (unweighting, braking,
  propulsion, flight, landing), onset, take-off and landing.

Matplotlib is imported only here and in :mod:`labkit.analysis.report`, with the Agg
backend (no display needed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import ConfigError, LabkitError
from labkit.trials.catalogue import CATALOGUE, TestEntry
from labkit.trials.formats import format_value
from labkit.trials.outcome import TrialRecord

__all__ = ["ReportContext", "TrialFigures", "angles_note", "lags_text", "plot_trial", "pyplot",
           "report_context"]

_PHASE_COLOURS = {"unweighting": "#9dc3e6", "braking": "#f4b183", "propulsion": "#a9d18e",
                  "flight": "#d9d9d9", "landing": "#ffe699"}
_TRACE = "#1f4e79"
_EVENT = "#c00000"


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (a :class:`ConfigError` says how to install it)."""
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("reports and plots need matplotlib: pip install 'labkit[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


@dataclass
class TrialFigures:
    """The figures of one trial (matplotlib Figure objects; ``None`` when not drawable)."""

    trial: int
    force: Any
    emg: Any
    angles: Any
    notes: list[str]


@dataclass
class ReportContext:
    """What every trial's figures of one session share (read once per session).

    Attributes
    ----------
    records : dict
        Trial id -> :class:`labkit.trials.outcome.TrialRecord` (its protocol step, side,
        direction), from :func:`labkit.trials.replay.session_trials`.
    tare : dict
        Per-channel offsets subtracted from the force stream, as in the analysis.
    rows : pandas.DataFrame
        The per-trial results (every stored metric, indexed by trial id).
    angles_note : str or None
        Why joint angles cannot be drawn for this session (None: they can be tried).
    """

    records: dict[int, TrialRecord] = field(default_factory=dict)
    tare: dict[str, float] = field(default_factory=dict)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    angles_note: str | None = None


def report_context(session: Any) -> ReportContext:
    """The trial steps, tare, stored per-trial results and angle note of a session.

    Parameters
    ----------
    session : labkit.Session

    Returns
    -------
    ReportContext
    """
    from labkit.analysis.tidy import reanalyse, stored_result_name
    from labkit.trials.replay import session_trials

    ctx = ReportContext(angles_note=angles_note(session))
    try:
        st = session_trials(session)
        ctx.records = {r.trial_id: r for r in st.records}
        ctx.tare = dict(st.tare_n)
    except LabkitError:  # a file without a readable protocol: plot the raw force
        pass
    name = stored_result_name(session)
    try:
        table = session.result(name).tables["trials"] if name else reanalyse(session)[0]["trials"]
    except LabkitError:
        table = pd.DataFrame()
    if len(table) and "trial" in table.columns:
        ctx.rows = table.set_index(table["trial"].astype(int))
    return ctx


def angles_note(session: Any) -> str | None:
    """Why the session's joint angles cannot be drawn, or None.

    The lower-body model needs every marker of the simple marker set
    (``docs/kinematics.md``) on both sides; a mocap stream without them (the simulated
    lab's, for one, lacks the medial knee and ankle markers) gets one line saying which.
    """
    if "mocap" not in session.streams:
        return None
    from labkit.signal.kinematics import SIMPLE_MARKERS

    have = {lab.rpartition(".")[0] for lab in session.stream("mocap").labels}
    needed = [name.replace("{S}", s) for s in "LR" for name in SIMPLE_MARKERS.values()]
    missing = [m for m in needed if m not in have]
    if not missing:
        return None
    return ("joint angles not drawn: the mocap stream lacks the markers of the lower-body model "
            f"(needs {', '.join(missing)})")


def _row_value(row: pd.Series | None, key: str) -> float:
    if row is None or key not in row.index:
        return float("nan")
    try:
        return float(row[key])
    except (TypeError, ValueError):
        return float("nan")


def _epochs_ms(row: pd.Series | None) -> list[int]:
    """The RFD epochs the analysis used (``rfd_0_<ms>ms_n_s`` columns of the results)."""
    if row is None:
        return []
    out = []
    for key in row.index:
        k = str(key)
        if k.startswith("rfd_0_") and k.endswith("ms_n_s") and k[6:-6].isdigit():
            out.append(int(k[6:-6]))
    return sorted(out)


def _mark_isometric(ax: Any, t: np.ndarray, trace: np.ndarray, row: pd.Series | None, start: float,
                    label: str, unit: str) -> None:
    """Onset, RFD epochs and the peak (a marker on ``trace``) of an isometric trial."""
    onset = _row_value(row, "onset_time_s")
    if not math.isfinite(onset):
        return
    x_on = onset - start
    ax.axvline(x_on, color=_EVENT, lw=1, label="onset")
    epochs = _epochs_ms(row)
    for ms in epochs:
        ax.axvline(x_on + ms / 1e3, color="#999999", lw=0.6, ls=":")
    if epochs:
        ax.axvspan(x_on, x_on + max(epochs) / 1e3, color="#ffd966", alpha=0.3,
                   label=f"RFD epochs 0-{max(epochs)} ms")
    ttp = _row_value(row, "time_to_peak_s")
    if math.isfinite(ttp) and len(t):
        i = int(np.argmin(np.abs(t - (x_on + ttp))))
        ax.plot([t[i]], [trace[i]], "o", mfc="none", mec=_EVENT, mew=1.8, ms=9,
                label=f"{label} {format_value(trace[i], unit)}")


def _isometric_figure(plt: Any, test: TestEntry, record: TrialRecord, force: Any, row: pd.Series | None,
                      start: float) -> Any:
    from labkit.trials.isometric import SIDE_PLATE, trial_signal

    signal, described = trial_signal(test, record.step, force)
    t = force.times - start
    unit = test.unit
    if test.uses_body_weight:
        fig, ax = plt.subplots(figsize=(9, 3.6), dpi=90)
        ax.plot(t, signal, lw=0.8, color=_TRACE, label=described)
        bw = _row_value(row, "body_weight_n")
        if math.isfinite(bw):
            ax.axhline(bw, color="#7f7f7f", lw=0.8, ls="--", label=f"body weight {format_value(bw, 'N')}")
        _mark_isometric(ax, t, signal, row, start, test.headline_label, unit)
        ax.set_ylabel("vertical force (N)")
        axes = [ax]
    else:
        baseline = _row_value(row, "baseline_n")
        if not math.isfinite(baseline):
            baseline = float(np.mean(signal[: max(1, len(signal) // 10)]))
        net = signal - baseline
        if test.sided:
            fig, (top, ax) = plt.subplots(2, 1, figsize=(9, 5.4), dpi=90, sharex=True,
                                          gridspec_kw={"height_ratios": [1, 1.4]})
            plate = record.step.analysis.get("plate") or SIDE_PLATE.get(record.step.side or "", "")
            raw = force.column(f"{plate}.Fz")
            top.plot(t, raw, lw=0.8, color="#7f7f7f", label=f"{plate}.Fz ({record.step.side} plate)")
            top.set_ylabel("plate Fz (N)")
            top.legend(loc="best", fontsize=8)
            axes = [top, ax]
        else:
            fig, ax = plt.subplots(figsize=(9, 3.6), dpi=90)
            axes = [ax]
        quantity = "torque" if unit == "N.m" else "force"
        ax.plot(t, net, lw=0.8, color=_TRACE, label=f"net {quantity}: {described} - baseline")
        ax.axhline(0.0, color="#7f7f7f", lw=0.6)
        _mark_isometric(ax, t, net, row, start, test.headline_label, unit)
        ax.set_ylabel(f"net {quantity} ({unit.replace('N.m', 'N·m')})")
    axes[-1].set_xlabel("time in trial (s)")
    axes[-1].legend(loc="best", fontsize=8)
    which = (record.side if test.sided else record.step.direction if test.directional else "") or ""
    axes[0].set_title(f"trial {record.trial_id}: {test.title} {which}".strip())
    fig.tight_layout()
    return fig


def _jump_figure(plt: Any, test: TestEntry, record: TrialRecord, force: Any, row: pd.Series | None,
                 start: float) -> Any:
    fz, labels = force.sum_of(".Fz")
    t = force.times - start
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=90)
    ax.plot(t, fz, lw=0.8, color=_TRACE, label="+".join(labels))
    bw = _row_value(row, "body_weight_n")
    if math.isfinite(bw):
        ax.axhline(bw, color="#7f7f7f", lw=0.8, ls="--", label=f"body weight {format_value(bw, 'N')}")
    t0 = float(force.times[0]) - start  # the analysis' times count from the window's first sample
    for ph in test.phases:
        a, b = _row_value(row, f"{ph}_start_s"), _row_value(row, f"{ph}_end_s")
        if math.isfinite(a) and math.isfinite(b) and b > a:
            ax.axvspan(t0 + a, t0 + b, color=_PHASE_COLOURS.get(ph, "#eeeeee"), alpha=0.45, label=ph)
    for key, name, style in (("onset_time_s", "onset", ":"), ("takeoff_time_s", "take-off", "-"),
                             ("landing_time_s", "landing", "--")):
        value = _row_value(row, key)
        if math.isfinite(value):
            ax.axvline(value - start, color=_EVENT, lw=1, ls=style, label=name)
    height = _row_value(row, "jump_height_m")
    title = f"trial {record.trial_id}: {test.title}"
    if math.isfinite(height):
        title += f" (jump height {format_value(height, 'm')})"
    ax.set_title(title)
    ax.set_xlabel("time in trial (s)")
    ax.set_ylabel("vertical force (N)")
    ax.legend(loc="upper left", fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def _raw_force_figure(plt: Any, session: Any, trial: pd.Series, tare: dict) -> Any:
    """The summed vertical force of a trial whose protocol step is unknown."""
    w = session.stream("force").window(float(trial["start"]), float(trial["end"]))
    if w is None:
        return None
    try:
        fz, labels = w.minus(tare).sum_of(".Fz")
    except LabkitError:
        return None
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=90)
    ax.plot(w.times - float(trial["start"]), fz, lw=0.8, color=_TRACE, label="+".join(labels))
    ax.set_xlabel("time in trial (s)")
    ax.set_ylabel("vertical force (N)")
    ax.set_title(f"trial {int(trial['id'])}: {trial['test']} {trial['side']}".strip())
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def _force_figure(plt: Any, session: Any, trial: pd.Series, ctx: ReportContext) -> Any:
    if "force" not in session.streams:
        return None
    tid = int(trial["id"])
    record = ctx.records.get(tid)
    test = CATALOGUE.get(str(trial["test"]))
    if record is None or test is None:
        return _raw_force_figure(plt, session, trial, ctx.tare)
    if test.stream != "force":
        return None
    w = session.stream("force").window(record.start_s, record.end_s)
    if w is None:
        return None
    w = w.minus(ctx.tare)
    row = ctx.rows.loc[tid] if tid in ctx.rows.index else None
    try:
        if test.kind == "jump":
            return _jump_figure(plt, test, record, w, row, record.start_s)
        return _isometric_figure(plt, test, record, w, row, record.start_s)
    except LabkitError:  # e.g. the side's plate is not in the stream
        return _raw_force_figure(plt, session, trial, ctx.tare)


def _emg_figure(plt: Any, session: Any, trial: pd.Series, row: pd.Series | None) -> Any:
    from labkit.signal import emg as emg_core

    if "emg" not in session.streams:
        return None
    w = session.stream("emg").window(float(trial["start"]), float(trial["end"]))
    if w is None:
        return None
    labels = [lab for lab in w.labels if lab != "counter"]
    if w.n_samples < 64 or not labels:
        return None
    x = emg_core.bandpass(np.column_stack([w.column(lab) for lab in labels]), w.rate_hz)
    env = emg_core.envelope(x, w.rate_hz, lowpass_hz=10.0)
    fig, axes = plt.subplots(len(labels), 1, figsize=(9, 0.75 * len(labels) + 0.8), dpi=80, sharex=True)
    axes = np.atleast_1d(axes)
    t0 = float(trial["start"])
    for k, (ax, lab) in enumerate(zip(axes, labels, strict=True)):
        ax.plot(w.times - t0, env[:, k] * 1e3, lw=0.8, color="#375623")
        onset = _row_value(row, f"emg_onset_{lab}_s")
        if math.isfinite(onset):
            ax.axvline(onset - t0, color=_EVENT, lw=1)
        ax.set_ylabel(lab, rotation=0, ha="right", fontsize=7)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("time in trial (s); envelope in mV, red: onset")
    fig.tight_layout(h_pad=0.1)
    return fig


def _stored_sequencing(row: pd.Series | None, side: str) -> dict[str, Any] | None:
    """The trial's stored sequencing of ``side`` (session-clock peak times, lags, order),
    or None when the analysis stored none."""
    to = _row_value(row, "takeoff_time_s")
    order = row.get(f"seq_order_{side}") if row is not None else None
    if not (math.isfinite(to) and isinstance(order, str)):
        return None
    peaks = {j: to + _row_value(row, f"seq_{j}_peak_velocity_time_{side}_ms") / 1000.0
             for j in ("hip", "knee", "ankle")}
    lags = {k: _row_value(row, f"seq_{k}_lag_{side}_ms") for k in ("hip_knee", "knee_ankle")}
    return {"takeoff": to, "peaks": peaks, "lags": lags, "order": order}


def lags_text(seq: dict[str, Any], side: str = "r") -> str:
    """``right: hip>knee>ankle, hip->knee 14 ms, knee->ankle 16 ms`` from a stored sequencing."""
    name = {"l": "left", "r": "right"}[side]
    lags = ", ".join(f"{k.replace('_', '->')} {format_value(v, 'ms')}" for k, v in seq["lags"].items())
    return f"{name}: {seq['order']}, {lags}"


def _angles_figure(plt: Any, session: Any, trial: pd.Series, notes: list[str],
                   row: pd.Series | None = None) -> Any:
    from labkit.signal import kinematics as kin

    w = session.stream("mocap").window(float(trial["start"]), float(trial["end"]))
    if w is None or w.n_samples < 10:
        return None
    markers = {}
    for lab in w.labels:
        name, _, axis = lab.rpartition(".")
        if axis == "x" and f"{name}.y" in w.labels and f"{name}.z" in w.labels:
            markers[name] = np.column_stack([w.column(f"{name}.{a}") for a in "xyz"])
    try:
        angles = kin.lower_limb_angles(kin.frames_from_markers(markers), sides=("r",))
    except (LabkitError, ValueError, KeyError) as exc:  # one line, without the API advice after ';'
        notes.append(f"joint angles not drawn: {str(exc).splitlines()[0].split(';')[0]}")
        return None
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=90)
    t0 = float(trial["start"])
    sag = {j: angles[f"{j}_r"][:, 0] for j in ("hip", "knee", "ankle")}
    colours = {"hip": "#1f4e79", "knee": "#c55a11", "ankle": "#375623"}
    for j, a in sag.items():
        ax.plot(w.times - t0, a, lw=1, color=colours[j], label=f"{j} (r)")
    seq = _stored_sequencing(row, "r")
    if seq is not None:
        # the analysis' own result (force-plate take-off, filtered velocities): a dot on each
        # angle at its peak extension velocity, the take-off, and the lags written out
        for j, ts in seq["peaks"].items():
            if math.isfinite(ts):
                ax.plot([ts - t0], [float(np.interp(ts, w.times, sag[j]))], "o", ms=6,
                        color=colours[j], label=f"{j} peak extension velocity")
        ax.axvline(seq["takeoff"] - t0, color=_EVENT, lw=1, label="take-off")
        text = lags_text(seq)
        ax.set_title(f"triple extension {text}", fontsize=9)
        notes.append("sequencing (dots: peak extension velocity) " + "; ".join(
            lags_text(s, side) for side in ("l", "r") if (s := _stored_sequencing(row, side)) is not None))
    else:
        try:
            te = kin.triple_extension(sag["hip"], sag["knee"], sag["ankle"], w.rate_hz,
                                      t0_s=float(w.times[0]))
            for j, ts in te.peak_velocity_s.items():
                if ts == ts:
                    ax.axvline(ts - t0, color=colours[j], ls="--", lw=0.8)
            notes.append(f"triple extension order: {', '.join(te.order)} (dashed: peak extension velocity)")
        except (LabkitError, ValueError, KeyError) as exc:
            notes.append(f"triple extension not found: {str(exc).splitlines()[0].split(';')[0]}")
    ax.set_xlabel("time in trial (s)")
    ax.set_ylabel("flexion (deg)")
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


def plot_trial(session: Any, trial: int, context: ReportContext | None = None) -> TrialFigures:
    """Figures of one trial: the analysed signal with its events, EMG envelopes, joint angles.

    Parameters
    ----------
    session : labkit.Session
    trial : int
        Trial id (``session.trials["id"]``).
    context : ReportContext, optional
        From :func:`report_context` (pass it when plotting many trials of one session).

    Returns
    -------
    TrialFigures
        Matplotlib figures (``None`` for a stream the session lacks). Joint angles are
        not tried when :func:`angles_note` says the markers are missing (the report
        shows that note once).
    """
    plt = pyplot()
    trials = session.trials
    if trial not in trials.index:
        raise ConfigError(f"{session.path}: no trial {trial}; the session has trials "
                          f"{list(trials['id'])}")
    ctx = context if context is not None else report_context(session)
    tr = trials.loc[trial]
    row = ctx.rows.loc[trial] if trial in ctx.rows.index else None
    notes: list[str] = []
    angles = None
    if "mocap" in session.streams and ctx.angles_note is None:
        angles = _angles_figure(plt, session, tr, notes, row)
    return TrialFigures(trial, _force_figure(plt, session, tr, ctx), _emg_figure(plt, session, tr, row),
                        angles, notes)
