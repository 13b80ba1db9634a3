"""The report's running section: per-side bars with asymmetry, mean joint-angle curves
over the normalised stride with SD bands, and EMG on/off bars over the stride.

Each run trial is analysed again from the session file (the runner's own analysis,
:func:`labkit.trials.analyse.analyse_trial`) to get its strides and curves; the numbers
are the stored results' (same data, same function).
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

import numpy as np

from labkit.analysis.figures import ReportContext, pyplot
from labkit.errors import LabkitError
from labkit.trials.catalogue import CATALOGUE

__all__ = ["SIDE_BAR_METRICS", "run_outcome", "running_section"]

#: the per-side bars: (metric, title, unit shown, scale from the metric's unit)
SIDE_BAR_METRICS = (
    ("contact_time_s", "contact time", "ms", 1e3),
    ("flight_time_s", "flight time", "ms", 1e3),
    ("peak_hip_extension_deg", "peak hip extension", "deg", 1.0),
    ("hip_extension_at_toe_off_deg", "hip extension at toe-off", "deg", 1.0),
    ("pelvic_drop_peak_deg", "pelvic drop (contralateral)", "deg", 1.0),
    ("knee_flexion_at_contact_deg", "knee flexion at contact", "deg", 1.0),
    ("knee_flexion_midstance_deg", "knee flexion mid-stance", "deg", 1.0),
    ("vertical_peak_n", "vertical GRF peak", "N", 1.0),
)
_SIDE_COLOUR = {"l": "#1f4e79", "r": "#c55a11"}
_SIDE_NAME = {"l": "left", "r": "right"}
_CURVE_TITLES = {"hip_flexion": "hip flexion (deg)", "knee_flexion": "knee flexion (deg)",
                 "ankle_dorsiflexion": "ankle dorsiflexion (deg)",
                 "pelvic_obliquity": "pelvic obliquity, that side up (deg)"}


def run_outcome(session: Any, record: Any, ctx: ReportContext) -> Any:
    """The analysis of one run trial from the session's force, EMG and mocap windows."""
    from labkit.trials.analyse import analyse_trial

    wins = {n: session.stream(n).window(record.start_s, record.end_s)
            for n in ("force", "emg", "mocap") if n in session.streams}
    force = wins.get("force")
    if force is not None:
        force = force.minus(ctx.tare)
    return analyse_trial(record.step, force, wins.get("emg"), mocap=wins.get("mocap"))


def _png_b64(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def side_bars_figure(plt: Any, metrics: dict) -> Any:
    """Left and right means (SD error bars) of :data:`SIDE_BAR_METRICS`, asymmetry in titles."""
    def present(key: str) -> bool:
        return any(math.isfinite(float(metrics.get(f"{side}_{key}", math.nan))) for side in ("left", "right"))

    shown = [m for m in SIDE_BAR_METRICS if present(m[0])]
    if not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(1.45 * len(shown) + 1, 2.9), dpi=90)
    axes = np.atleast_1d(axes)
    for ax, (key, title, unit, scale) in zip(axes, shown, strict=True):
        vals = [scale * float(metrics.get(f"{side}_{key}", math.nan)) for side in ("left", "right")]
        sds = [scale * float(metrics.get(f"{side}_{key}_sd", math.nan)) for side in ("left", "right")]
        sds = [0.0 if not math.isfinite(v) else v for v in sds]
        ax.bar([0, 1], vals, yerr=sds, color=[_SIDE_COLOUR["l"], _SIDE_COLOUR["r"]], capsize=3, width=0.6)
        ax.set_xticks([0, 1], ["L", "R"], fontsize=8)
        asym = float(metrics.get(f"asym_{key}_pct", math.nan))
        label = f"asym {asym:+.1f} %" if math.isfinite(asym) else "asym -"
        ax.set_title(f"{title}\n({unit}) {label}", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def stride_curves_figure(plt: Any, curves: dict, duty: dict) -> Any:
    """Mean +- SD of each angle over 0-100 % of the stride, per side (toe-off dashed)."""
    names = [n for n in _CURVE_TITLES if n in curves]
    if not names:
        return None
    fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names) + 0.6, 3.0), dpi=90)
    axes = np.atleast_1d(axes)
    pct = np.linspace(0, 100, 101)
    for ax, name in zip(axes, names, strict=True):
        for side, arr in curves[name].items():
            arr = arr[np.all(np.isfinite(arr), axis=1)]
            if not len(arr):
                continue
            mean = arr.mean(axis=0)
            sd = arr.std(axis=0, ddof=1) if len(arr) > 1 else np.zeros_like(mean)
            c = _SIDE_COLOUR[side]
            ax.plot(pct, mean, color=c, lw=1.2, label=f"{_SIDE_NAME[side]} (n={len(arr)})")
            ax.fill_between(pct, mean - sd, mean + sd, color=c, alpha=0.2, lw=0)
            if math.isfinite(duty.get(side, math.nan)):
                ax.axvline(100 * duty[side], color=c, ls="--", lw=0.8)
        ax.set_title(_CURVE_TITLES[name], fontsize=8)
        ax.set_xlabel("% of stride (strike to strike)", fontsize=7)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def emg_bars_figure(plt: Any, metrics: dict) -> Any:
    """Each channel's mean burst (onset to offset, % of its side's stride; 0 = strike)."""
    labels = sorted({k[len("emg_"):-len("_onset_pct")] for k in metrics
                     if k.startswith("emg_") and k.endswith("_onset_pct")})
    rows = [(lab, float(metrics[f"emg_{lab}_onset_pct"]),
             float(metrics.get(f"emg_{lab}_offset_pct", math.nan))) for lab in labels]
    rows = [r for r in rows if math.isfinite(r[1]) and math.isfinite(r[2])]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.1), dpi=90)
    for k, (lab, on, off) in enumerate(rows):
        side = lab.rpartition("_")[2]
        ax.barh(k, off - on, left=on, color=_SIDE_COLOUR.get(side, "#555"), height=0.6)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
    ax.axvline(0, color="#c00000", lw=1)
    ax.set_xlim(-25, 100)
    ax.set_xlabel("% of the side's stride (0 = foot strike, red); bars: mean onset to offset", fontsize=7)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def running_section(session: Any, ctx: ReportContext) -> list[str]:
    """HTML of the running section (empty without run trials)."""
    runs = [r for tid, r in sorted(ctx.records.items())
            if CATALOGUE.get(r.step.test) is not None and CATALOGUE[r.step.test].kind == "run"]
    if not runs:
        return []
    plt = pyplot()
    parts = ["<h2>Running</h2><p class='note'>per trial: left (blue) and right (orange) means with "
             "SD bars and left/right asymmetry; mean joint angles over the stride with SD bands "
             "(dashed: toe-off); EMG bursts over the stride</p>"]
    for rec in runs:
        try:
            o = run_outcome(session, rec, ctx)
        except LabkitError as exc:
            parts.append(f"<p class='note'>trial {rec.trial_id}: not analysed ({html.escape(str(exc))})</p>")
            continue
        r = o.result
        label = f"trial {rec.trial_id}: {rec.step.test}"
        if rec.step.speed_m_s is not None:
            label += f" at {rec.step.speed_m_s:g} m/s"
        m = o.metrics
        gait = "walking (no flight phase: flight time 0)" if m.get("walking") == 1.0 else "running"
        parts.append(f"<h3>{html.escape(label)}</h3><p class='note'>{gait}; cadence "
                     f"{m.get('cadence_steps_min', math.nan):.1f} steps/min, strides left "
                     f"{m.get('n_strides_l', 0)} / right {m.get('n_strides_r', 0)}"
                     + (f"; lower hip extension: {m['hip_extension_deficit_side']}"
                        if "hip_extension_deficit_side" in m else "")
                     + (f"; larger pelvic drop: {m['pelvic_drop_side']}" if "pelvic_drop_side" in m else "")
                     + ("" if o.valid else f"; INVALID: {html.escape(o.reason)}") + "</p>")
        if r is None:
            continue
        duty = {}
        for side in ("l", "r"):
            d = r.strides.loc[r.strides["side"] == side, "duty_factor"]
            duty[side] = float(d.mean()) if len(d) else math.nan
        for kind, fig in (("run_sides", side_bars_figure(plt, m)),
                          ("run_curves", stride_curves_figure(plt, r.curves, duty)),
                          ("run_emg", emg_bars_figure(plt, m))):
            if fig is not None:
                parts.append(f"<img alt='{kind} trial {rec.trial_id}' src='data:image/png;base64,"
                             f"{_png_b64(fig)}'>")
    return parts
