"""Figures and self-contained HTML reports of a session.

``labkit report FILE -o report.html`` writes one HTML page with every plot embedded as a
base64 PNG (it opens offline, can be mailed, and needs no other file): the session summary,
the force-time curve of each trial with onset, RFD epochs and peak marked, the EMG envelopes
with their onsets, joint angles with the triple-extension events when mocap is present, and
the metrics table with valid and invalid trials. ``labkit plot FILE --trial N`` saves the
same figures of one trial as PNG files. Matplotlib is imported only here, with the Agg
backend (no display needed).
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import ConfigError

__all__ = ["TrialFigures", "plot_trial", "write_report"]

_KEY_METRICS = ("peak_force_n", "net_peak_force_n", "rfd_0_100ms_n_s", "rfd_0_200ms_n_s",
                "time_to_peak_s", "jump_height_m", "mvc_v")


def _pyplot():
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


def _trial_rows(session: Any) -> pd.DataFrame:
    from labkit.analysis.tidy import session_metrics

    tidy = session_metrics(session)
    if len(tidy) == 0:
        return pd.DataFrame()
    wide = tidy.pivot_table(index="trial", columns="metric", values="value", aggfunc="first")
    first = tidy.groupby("trial")[["label", "side", "attempt", "valid", "reason", "result"]].first()
    return first.join(wide)


def _window(stream: Any, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    t = stream.times
    keep = (t >= start) & (t <= end)
    return t[keep], stream.data[keep]


def _force_figure(plt: Any, session: Any, trial: pd.Series, row: pd.Series | None, tare: dict) -> Any:
    st = session.stream("force")
    t, data = _window(st, float(trial["start"]), float(trial["end"]))
    labels = [lab for lab in st.labels if lab.endswith(".Fz")]
    if not labels or len(t) == 0:
        return None
    fz = sum(data[:, st.labels.index(lab)].astype(np.float64) - tare.get(lab, 0.0) for lab in labels)
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=90)
    t0 = float(trial["start"])
    ax.plot(t - t0, fz, lw=0.8, color="#1f4e79", label="+".join(labels))
    if row is not None:
        onset = row.get("onset_time_s", float("nan"))
        if onset == onset:
            ax.axvline(onset - t0, color="#c00000", lw=1, label="onset")
            for ms in (50, 100, 150, 200, 250):
                if f"force_at_{ms}ms_n" in row:
                    ax.axvline(onset - t0 + ms / 1e3, color="#999999", lw=0.6, ls=":")
            ax.axvspan(onset - t0, onset - t0 + 0.25, color="#ffd966", alpha=0.25,
                       label="RFD epochs 0-250 ms")
            ttp = row.get("time_to_peak_s", float("nan"))
            peak = row.get("peak_force_n", float("nan"))
            if ttp == ttp and peak == peak:
                ax.plot([onset - t0 + ttp], [peak], "v", color="#c00000", ms=8, label=f"peak {peak:.0f} N")
    ax.set_xlabel("time in trial (s)")
    ax.set_ylabel("vertical force (N)")
    ax.set_title(f"trial {int(trial['id'])}: {trial['test']} {trial['side']}".strip())
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def _emg_figure(plt: Any, session: Any, trial: pd.Series, row: pd.Series | None) -> Any:
    from labkit.signal import emg as emg_core

    if "emg" not in session.streams:
        return None
    st = session.stream("emg")
    t, data = _window(st, float(trial["start"]), float(trial["end"]))
    labels = [lab for lab in st.labels if lab != "counter"]
    if len(t) < 64 or not labels:
        return None
    cols = [st.labels.index(lab) for lab in labels]
    x = emg_core.bandpass(data[:, cols].astype(np.float64), st.rate_hz)
    env = emg_core.envelope(x, st.rate_hz, lowpass_hz=10.0)
    fig, axes = plt.subplots(len(labels), 1, figsize=(9, 0.75 * len(labels) + 0.8), dpi=80, sharex=True)
    axes = np.atleast_1d(axes)
    t0 = float(trial["start"])
    for k, (ax, lab) in enumerate(zip(axes, labels, strict=True)):
        ax.plot(t - t0, env[:, k] * 1e3, lw=0.8, color="#375623")
        onset = row.get(f"emg_onset_{lab}_s", float("nan")) if row is not None else float("nan")
        if onset == onset:
            ax.axvline(onset - t0, color="#c00000", lw=1)
        ax.set_ylabel(lab, rotation=0, ha="right", fontsize=7)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("time in trial (s); envelope in mV, red: onset")
    fig.tight_layout(h_pad=0.1)
    return fig


def _angles_figure(plt: Any, session: Any, trial: pd.Series, notes: list[str]) -> Any:
    if "mocap" not in session.streams:
        return None
    from labkit.signal import kinematics as kin

    st = session.stream("mocap")
    t, data = _window(st, float(trial["start"]), float(trial["end"]))
    if len(t) < 10:
        return None
    markers = {}
    col = {lab: j for j, lab in enumerate(st.labels)}
    for lab in st.labels:
        name, _, axis = lab.rpartition(".")
        if axis == "x" and f"{name}.y" in col and f"{name}.z" in col:
            markers[name] = data[:, [col[lab], col[f"{name}.y"], col[f"{name}.z"]]].astype(np.float64)
    try:
        angles = kin.lower_limb_angles(kin.frames_from_markers(markers), sides=("r",))
    except Exception as exc:  # the marker set may not support the model: say so in the report
        notes.append(f"joint angles not drawn: {str(exc).splitlines()[0]}")
        return None
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=90)
    t0 = float(trial["start"])
    sag = {j: angles[f"{j}_r"][:, 0] for j in ("hip", "knee", "ankle")}
    colours = {"hip": "#1f4e79", "knee": "#c55a11", "ankle": "#375623"}
    for j, a in sag.items():
        ax.plot(t - t0, a, lw=1, color=colours[j], label=f"{j} (r)")
    try:
        te = kin.triple_extension(sag["hip"], sag["knee"], sag["ankle"], st.rate_hz, t0_s=float(t[0]))
        for j, ts in te.peak_velocity_s.items():
            if ts == ts:
                ax.axvline(ts - t0, color=colours[j], ls="--", lw=0.8)
        notes.append(f"triple extension order: {', '.join(te.order)} (dashed: peak extension velocity)")
    except Exception as exc:
        notes.append(f"triple extension not found: {str(exc).splitlines()[0]}")
    ax.set_xlabel("time in trial (s)")
    ax.set_ylabel("flexion (deg)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def _tare(session: Any) -> dict[str, float]:
    from labkit.trials.replay import session_trials

    try:
        return session_trials(session).tare_n
    except Exception:  # a file without a readable protocol: plot the raw force
        return {}


def plot_trial(session: Any, trial: int) -> TrialFigures:
    """Figures of one trial: force-time curve, EMG envelopes, joint angles.

    Parameters
    ----------
    session : labkit.Session
    trial : int
        Trial id (``session.trials["id"]``).

    Returns
    -------
    TrialFigures
        Matplotlib figures (``None`` for a stream the session lacks).
    """
    plt = _pyplot()
    trials = session.trials
    if trial not in trials.index:
        raise ConfigError(f"{session.path}: no trial {trial}; the session has trials "
                          f"{list(trials['id'])}")
    rows = _trial_rows(session)
    row = rows.loc[trial] if trial in rows.index else None
    tr = trials.loc[trial]
    notes: list[str] = []
    force = _force_figure(plt, session, tr, row, _tare(session)) if "force" in session.streams else None
    return TrialFigures(trial, force, _emg_figure(plt, session, tr, row),
                        _angles_figure(plt, session, tr, notes), notes)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def save_trial_pngs(path: str | os.PathLike[str], trial: int, out_dir: str | os.PathLike[str] = "."
                    ) -> list[Path]:
    """Save one trial's figures as PNG files (``<file>_trial<N>_force.png`` etc.)."""
    from labkit.session.reader import open_session

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem
    written = []
    with open_session(path) as s:
        figs = plot_trial(s, trial)
        for kind in ("force", "emg", "angles"):
            fig = getattr(figs, kind)
            if fig is not None:
                target = out_dir / f"{stem}_trial{trial}_{kind}.png"
                target.write_bytes(_png(fig))
                written.append(target)
    return written


_CSS = """body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #bbb;padding:3px 7px}
th{background:#eee}tr.invalid td{background:#fde0e0}img{max-width:100%;display:block;margin:6px 0}
.note{color:#555;font-size:13px}"""


def _table_html(frame: pd.DataFrame, row_class: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for k, (_, r) in enumerate(frame.iterrows()):
        cls = f' class="{row_class[k]}"' if row_class and row_class[k] else ""
        cells = []
        for v in r:
            if isinstance(v, float):
                v = "" if math.isnan(v) else f"{v:.4g}"
            cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def write_report(path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write a self-contained HTML report of a session.

    Parameters
    ----------
    path : str or Path
        Session file.
    out : str or Path
        HTML file to write.

    Returns
    -------
    Path
        ``out``.
    """
    from labkit.session.reader import open_session

    out = Path(out)
    parts = []
    with open_session(path) as s:
        info = s.info
        title = f"labkit report: {info.get('subject', '')} {info.get('protocol', '')}".strip()
        parts.append(f"<h1>{html.escape(title)}</h1>")
        summary = pd.DataFrame({"field": ["file", "athlete", "protocol", "date (UTC)", "status",
                                          "session id", "operator"],
                                "value": [str(path), info.get("subject", ""), info.get("protocol", ""),
                                          info.get("created_utc", ""), info.get("status", ""),
                                          info.get("session_id", ""), info.get("operator", "")]})
        parts.append("<h2>Session</h2>" + _table_html(summary))
        streams = []
        for name in s.streams:
            st = s.stream(name)
            streams.append({"stream": name, "type": st.type, "rate (Hz)": st.rate_hz,
                            "channels": len(st.labels), "samples": st.n_samples,
                            "duration (s)": st.duration_s})
        parts.append(_table_html(pd.DataFrame(streams)))
        rows = _trial_rows(s)
        if len(rows):
            keep = [c for c in ("label", "side", "attempt", "valid") if c in rows.columns]
            keep += [m for m in _KEY_METRICS if m in rows.columns]
            table = rows[keep].reset_index()
            table["valid"] = ["valid" if v else "INVALID" for v in table["valid"]]
            table["reason"] = list(rows["reason"])
            classes = ["" if v == "valid" else "invalid" for v in table["valid"]]
            parts.append(f"<h2>Metrics</h2><p class='note'>from results group "
                         f"{html.escape(str(rows['result'].iloc[0]) or '(computed now)')}; "
                         "invalid trials in red</p>" + _table_html(table, classes))
        for tid in s.trials.index:
            if s.trials.loc[tid, "status"] not in ("valid", "invalid"):
                continue
            figs = plot_trial(s, int(tid))
            parts.append(f"<h2>Trial {int(tid)}</h2>")
            for kind, caption in (("force", "Force-time curve: onset (red), epochs, peak"),
                                  ("emg", "EMG envelopes with onsets"),
                                  ("angles", "Joint angles (sagittal) and triple extension")):
                fig = getattr(figs, kind)
                if fig is not None:
                    b64 = base64.b64encode(_png(fig)).decode("ascii")
                    parts.append(f"<p class='note'>{caption}</p>"
                                 f"<img alt='{kind} trial {int(tid)}' src='data:image/png;base64,{b64}'>")
            for note in figs.notes:
                parts.append(f"<p class='note'>{html.escape(note)}</p>")
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")
    out.write_text(doc, encoding="utf-8")
    return out
