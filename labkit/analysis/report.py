"""Self-contained HTML reports of a session, and PNG files of one trial's figures.

``labkit report FILE -o report.html`` writes one HTML page with every plot embedded as a
base64 PNG (it opens offline, can be mailed, and needs no other file): the session summary,
the metrics of each trial (headline and key metrics with their units), the per-test
aggregates (the stored ``aggregates`` table: the value each test's trials are summarised
by), and per trial the figures of :mod:`labkit.analysis.figures` (the analysed signal
with its events, the EMG envelopes with their onsets, joint angles with the
triple-extension events when the mocap markers allow) and all its metrics; run trials
add a running section (:mod:`labkit.analysis.figures_running`: per-side bars with
asymmetry, joint-angle curves over the stride, EMG bursts over the stride). ``labkit plot
FILE --trial N`` saves the figures of one trial as PNG files.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.analysis.figures import ReportContext, TrialFigures, plot_trial, report_context
from labkit.analysis.figures_running import running_section
from labkit.trials.formats import format_value, metric_title

__all__ = ["TrialFigures", "plot_trial", "save_trial_pngs", "write_report"]

#: metrics of the per-trial overview, after each test's headline (a test shows those it reports)
_KEY_METRICS = ("net_peak_force_n", "rfd_0_100ms_n_s", "rfd_0_200ms_n_s", "time_to_peak_s",
                "flight_time_s", "time_to_takeoff_s")


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
th{background:#eee}td.num{text-align:right;white-space:nowrap}tr.invalid td{background:#fde0e0}
img{max-width:100%;display:block;margin:6px 0}.note{color:#555;font-size:13px}
details{margin:4px 0 12px}summary{cursor:pointer;font-size:13px;color:#1f4e79}"""


def _table_html(frame: pd.DataFrame, row_class: list[str] | None = None,
                numeric: tuple[str, ...] = ()) -> str:
    """An HTML table of already formatted cells (columns in ``numeric`` right-aligned)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for k, (_, r) in enumerate(frame.iterrows()):
        cls = f' class="{row_class[k]}"' if row_class and row_class[k] else ""
        cells = []
        for col, v in zip(frame.columns, r, strict=True):
            if isinstance(v, float):
                v = format_value(v, "", with_unit=False)
            align = ' class="num"' if col in numeric else ""
            cells.append(f"<td{align}>{html.escape(str(v))}</td>")
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _by_trial(tidy: pd.DataFrame) -> dict[int, pd.DataFrame]:
    return {int(t): g.set_index("metric") for t, g in tidy.groupby("trial", sort=False)}


def _cell(metrics: pd.DataFrame, metric: str) -> str:
    if metric not in metrics.index:
        return ""
    return format_value(metrics.at[metric, "value"], str(metrics.at[metric, "unit"]))


def _metrics_section(tidy: pd.DataFrame) -> str:
    """One row per trial: identity, verdict, the test's headline and key metrics with units."""
    from labkit.trials.catalogue import CATALOGUE

    rows, classes = [], []
    for tid, m in _by_trial(tidy).items():
        first = m.iloc[0]
        e = CATALOGUE.get(str(first["test"]))
        headline = ""
        if e is not None and e.headline in m.index:
            headline = f"{e.headline_label} {_cell(m, e.headline)}"
        row = {"trial": tid, "test": first["test"], "side": first["side"], "attempt": int(first["attempt"]),
               "verdict": "valid" if first["valid"] else "INVALID", "headline": headline}
        for key in _KEY_METRICS:
            row[metric_title(key)] = "" if e is not None and key == e.headline else _cell(m, key)
        row["reason"] = first["reason"]
        rows.append(row)
        classes.append("" if first["valid"] else "invalid")
    table = pd.DataFrame(rows)
    empty = [c for c in map(metric_title, _KEY_METRICS) if not table[c].astype(bool).any()]
    table = table.drop(columns=empty)
    numeric = ("headline", *map(metric_title, _KEY_METRICS))
    result = str(tidy["result"].iloc[0]) or "(computed now)"
    return (f"<h2>Metrics</h2><p class='note'>from results group {html.escape(result)}; "
            "invalid trials in red; every metric of a trial is listed under its figures</p>"
            + _table_html(table, classes, numeric))


def _aggregates_section(session: Any, result: str) -> str:
    """The stored per-test aggregates: the value each test (and side) is summarised by."""
    from labkit.analysis.tidy import metric_unit
    from labkit.trials.catalogue import CATALOGUE

    if not result or result not in session.results:
        return ""
    agg = session.result(result).tables.get("aggregates")
    if agg is None or len(agg) == 0:
        return ""
    rows = []
    for _, a in agg.iterrows():
        e = CATALOGUE.get(str(a.get("test", "")))
        unit = metric_unit(str(a["metric"]), e.unit if e is not None else "N")
        note = str(a.get("note", "") or "") if "note" in agg.columns else ""
        if note == "nan":
            note = ""
        rows.append({"test / side": a["label"], "metric": f"{metric_title(str(a['metric']))} ({a['metric']})",
                     "method": a["method"], "value": format_value(a["value"], unit),
                     "valid/total": f"{int(a['n_valid'])}/{int(a['n_trials'])}",
                     "repeat needed": "yes" if bool(a.get("repeat_needed", False)) else "no",
                     "note": note})
    table = pd.DataFrame(rows)
    if not table["note"].astype(bool).any():
        table = table.drop(columns="note")
    return ("<h2>Per test</h2><p class='note'>aggregates of the valid trials (the stored "
            f"<code>aggregates</code> table of {html.escape(result)})</p>"
            + _table_html(table, numeric=("value", "valid/total")))


def _limbs_section(session: Any, result: str, ctx: ReportContext) -> str:
    """Left/right asymmetry of the dual-plate trials and the DSI (figures_limbs), if any."""
    from labkit.analysis.figures import pyplot
    from labkit.analysis.figures_limbs import asymmetry_figure, dsi_figure

    plt = pyplot()
    agg = session.result(result).tables.get("aggregates") if result in session.results else None
    parts = []
    for kind, fig, caption in (
            ("asymmetry", asymmetry_figure(plt, ctx.rows) if len(ctx.rows) else None,
             "Left/right asymmetry of each dual-plate trial (traffic-light bands)"),
            ("dsi", dsi_figure(plt, agg), "Dynamic strength index (CMJ peak / IMTP peak force)")):
        if fig is not None:
            b64 = base64.b64encode(_png(fig)).decode("ascii")
            parts.append(f"<p class='note'>{caption}</p>"
                         f"<img alt='{kind} session' src='data:image/png;base64,{b64}'>")
    return "<h2>Asymmetry and strength ratio</h2>" + "".join(parts) if parts else ""


def _trial_metrics_html(metrics: pd.DataFrame) -> str:
    table = pd.DataFrame({"metric": list(metrics.index),
                          "value": [format_value(v, str(u)) for v, u in
                                    zip(metrics["value"], metrics["unit"], strict=True)]})
    return (f"<details><summary>all {len(table)} metrics of this trial</summary>"
            f"{_table_html(table, numeric=('value',))}</details>")


def _trial_section(session: Any, tid: int, ctx: ReportContext, metrics: pd.DataFrame | None) -> list[str]:
    figs = plot_trial(session, tid, ctx)
    parts = [f"<h2>Trial {tid}</h2>"]
    for kind, caption in (("force", "The analysed signal: onset (red), epochs or phases, peak"),
                          ("emg", "EMG envelopes with onsets"),
                          ("angles", "Joint angles (sagittal) and triple extension")):
        fig = getattr(figs, kind)
        if fig is not None:
            b64 = base64.b64encode(_png(fig)).decode("ascii")
            parts.append(f"<p class='note'>{caption}</p>"
                         f"<img alt='{kind} trial {tid}' src='data:image/png;base64,{b64}'>")
    for note in figs.notes:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    if metrics is not None:
        parts.append(_trial_metrics_html(metrics))
    return parts


def _date(iso: Any) -> str:
    """``2026-12-03T08:28:47.252923+00:00`` -> ``2026-12-03 08:28:47``."""
    text = str(iso or "")
    return text[:19].replace("T", " ") if len(text) >= 19 else text


def _session_section(path: Any, session: Any) -> list[str]:
    info = session.info
    summary = pd.DataFrame({"field": ["file", "athlete", "protocol", "date (UTC)", "status",
                                      "session id", "operator"],
                            "value": [str(path), info.get("subject", ""), info.get("protocol", ""),
                                      _date(info.get("created_utc", "")), info.get("status", ""),
                                      info.get("session_id", ""), info.get("operator", "")]})
    streams = []
    for name in session.streams:
        st = session.stream(name)
        rate = format_value(st.rate_hz, "Hz") if st.rate_hz > 0 else "irregular"
        streams.append({"stream": name, "type": st.type, "rate (Hz)": rate,
                        "channels": len(st.labels), "samples": st.n_samples,
                        "duration (s)": format_value(st.duration_s, "s", with_unit=False)})
    return ["<h2>Session</h2>" + _table_html(summary),
            _table_html(pd.DataFrame(streams), numeric=("rate (Hz)", "channels", "samples", "duration (s)"))]


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
    from labkit.analysis.tidy import session_metrics
    from labkit.session.reader import open_session

    out = Path(out)
    with open_session(path) as s:
        info = s.info
        title = f"labkit report: {info.get('subject', '')} {info.get('protocol', '')}".strip()
        parts = [f"<h1>{html.escape(title)}</h1>", *_session_section(path, s)]
        tidy = session_metrics(s)
        per_trial = _by_trial(tidy) if len(tidy) else {}
        if len(tidy):
            parts.append(_metrics_section(tidy))
            parts.append(_aggregates_section(s, str(tidy["result"].iloc[0])))
        ctx = report_context(s)
        parts.append(_limbs_section(s, str(tidy["result"].iloc[0]) if len(tidy) else "", ctx))
        parts += running_section(s, ctx)
        if ctx.angles_note:
            parts.append(f"<p class='note'>{html.escape(ctx.angles_note)}</p>")
        for tid in s.trials.index:
            if s.trials.loc[tid, "status"] in ("valid", "invalid"):
                parts += _trial_section(s, int(tid), ctx, per_trial.get(int(tid)))
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")
    out.write_text(doc, encoding="utf-8")
    return out
