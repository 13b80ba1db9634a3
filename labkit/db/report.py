"""Self-contained HTML reports from the database: one athlete over time, one team at a glance.

The pages hold everything inline (SVG plots, CSS; no scripts, no links), so they open from
an e-mail or a shared folder. Key metrics are each recorded test's headline metric (the
test catalogue) plus, for isometric tests, the RFD over 0-100 ms.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.db import stats

__all__ = ["athlete_report", "key_metrics", "team_report", "write_html"]

_CSS = """body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;
text-align:right}th{background:#f0f0f0}td.l,th.l{text-align:left}
.light{display:inline-block;width:12px;height:12px;border-radius:6px;vertical-align:middle;margin-right:4px}
.green{background:#2e9d48}.amber{background:#f0a30a}.red{background:#d0342c}.grey{background:#aaa}
.note{color:#555;font-size:12px}"""

_LIGHT_OF_FLAG = {"improved": "green", "declined": "red", "": "amber"}


def key_metrics(history: pd.DataFrame) -> list[tuple[str, str]]:
    """(test, metric) pairs to report: each recorded test's headline metric, plus RFD 0-100 ms
    for isometric tests, when the history holds them."""
    from labkit.trials.catalogue import CATALOGUE

    have = set(zip(history["test"], history["metric"], strict=True))
    out = []
    for test in dict.fromkeys(history["test"]):
        entry = CATALOGUE.get(test)
        wanted = [entry.headline] if entry is not None else []
        if entry is not None and entry.kind == "isometric":
            wanted.append("rfd_0_100ms_n_s")
        out += [(test, m) for m in wanted if (test, m) in have]
    return out


def _light(colour: str, title: str = "") -> str:
    return f"<span class='light {colour or 'grey'}' title='{html.escape(title)}'></span>"


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float | np.floating):
        return f"{v:,.{digits}f}" if abs(v) < 1e5 else f"{v:,.0f}"
    return html.escape(str(v))


def _scale(values: np.ndarray, lo_px: float, hi_px: float) -> tuple[Any, float, float]:
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    pad = (hi - lo) * 0.1 or abs(hi) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    return (lambda v: hi_px - (v - lo) / (hi - lo) * (hi_px - lo_px)), lo, hi


def trend_svg(ch: pd.DataFrame, swc: float, unit: str, *, width: int = 640, height: int = 220) -> str:
    """A trend plot: session means (dots; filled red/green when flagged), best trials
    (crosses), the baseline and its +/- SWC band."""
    left, right, top, bottom = 70, 12, 12, 32
    x = np.arange(len(ch), dtype=float)
    means, bests = ch["mean"].to_numpy(float), ch["best"].to_numpy(float)
    base = float(ch["baseline"].iloc[0]) if len(ch) else math.nan
    y, lo, hi = _scale(np.r_[means, bests, base - swc, base + swc], top, height - bottom)
    def px(i):
        return (left + (i + 0.5) / max(len(ch), 1) * (width - left - right))
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"role='img' aria-label='trend'><rect width='100%' height='100%' fill='white'/>"]
    if math.isfinite(base) and math.isfinite(swc):
        y0, y1 = y(base + swc), y(base - swc)
        parts.append(f"<rect x='{left}' y='{y0:.1f}' width='{width - left - right}' "
                     f"height='{max(y1 - y0, 1):.1f}' fill='#cfe3f7'><title>baseline ± SWC</title></rect>")
        parts.append(f"<line x1='{left}' x2='{width - right}' y1='{y(base):.1f}' y2='{y(base):.1f}' "
                     "stroke='#3b78b5' stroke-dasharray='4 3'/>")
    for v in np.linspace(lo, hi, 5):
        parts.append(f"<text x='{left - 6}' y='{y(v) + 4:.1f}' font-size='11' text-anchor='end'>"
                     f"{v:,.0f}</text>")
    parts.append(f"<text x='12' y='{height / 2}' font-size='11' transform='rotate(-90 12 {height / 2})'"
                 f" text-anchor='middle'>{html.escape(unit)}</text>")
    pts = " ".join(f"{px(i):.1f},{y(m):.1f}" for i, m in zip(x, means, strict=True) if math.isfinite(m))
    parts.append(f"<polyline points='{pts}' fill='none' stroke='#333' stroke-width='1.5'/>")
    for i, (m, b, flag, d) in enumerate(zip(means, bests, ch["flag"], ch["date"], strict=True)):
        colour = {"improved": "#2e9d48", "declined": "#d0342c"}.get(flag, "#fff")
        parts.append(f"<circle cx='{px(i):.1f}' cy='{y(m):.1f}' r='5' fill='{colour}' stroke='#333'>"
                     f"<title>{html.escape(str(d))}: mean {m:,.1f} {html.escape(unit)}</title></circle>")
        if math.isfinite(b):
            parts.append(f"<text x='{px(i):.1f}' y='{y(b) + 4:.1f}' font-size='12' text-anchor='middle'"
                         f" fill='#555'>×</text>")
        parts.append(f"<text x='{px(i):.1f}' y='{height - 12}' font-size='10' text-anchor='middle'>"
                     f"{html.escape(str(d)[2:])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def sparkline_svg(values: np.ndarray, colour: str = "#333", *, width: int = 110, height: int = 26) -> str:
    """A small line of a metric's session values (the last one dotted in ``colour``)."""
    v = np.asarray(values, dtype=float)
    y, _, _ = _scale(v, 3, height - 3)
    def px(i):
        return (3 + i / max(len(v) - 1, 1) * (width - 6))
    pts = " ".join(f"{px(i):.1f},{y(a):.1f}" for i, a in enumerate(v) if math.isfinite(a))
    last = (f"<circle cx='{px(len(v) - 1):.1f}' cy='{y(v[-1]):.1f}' r='3' fill='{colour}'/>"
            if len(v) and math.isfinite(v[-1]) else "")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
            f"aria-label='sparkline'><polyline points='{pts}' fill='none' stroke='#555'/>{last}</svg>")


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(title) +
            f"</title><style>{_CSS}</style></head><body>" + "".join(body) + "</body></html>")


def athlete_report(db: Any, athlete: str, *, n_baseline: int = 1) -> str:
    """The HTML page of one athlete: per key metric a trend plot with the SWC band and the
    latest session against the baseline; asymmetry traffic lights; DSI when recorded."""
    from labkit.errors import ConfigError

    hist = db.history(athlete)
    if not len(hist):
        raise ConfigError(f"athlete {athlete!r} has no stored sessions; add them with `labkit db add "
                          "FILES` (see `labkit db athletes`)")
    body = [f"<h1>{html.escape(athlete)}: {hist['session_id'].nunique()} sessions, "
            f"{html.escape(hist['date'].min())} to {html.escape(hist['date'].max())}</h1>",
            "<p class='note'>Typical error (TE) from the repeated trials of every athlete in the "
            "database (Hopkins 2000); smallest worthwhile change (SWC) = 0.2 × between-athlete SD of "
            "baselines. A change is flagged when it exceeds SWC + 1.645 × TE × √(1/n + 1/n<sub>baseline"
            "</sub>). Band: baseline ± SWC; dots: session means; ×: best trial.</p>"]
    latest_rows = []
    for test, metric in key_metrics(hist):
        te, swc = db.reliability(test, metric, n_baseline=n_baseline)
        ch = stats.changes(hist[hist["test"] == test], metric, te=te.te if math.isfinite(te.te) else 0.0,
                           swc=swc if math.isfinite(swc) else 0.0, n_baseline=n_baseline)
        unit = hist.loc[hist["metric"] == metric, "unit"].iloc[0]
        for (label, side), part in ch.groupby(["label", "side"], sort=False):
            name = f"{label} {side}".strip()
            body.append(f"<h2>{html.escape(name)}: {html.escape(metric)}</h2>")
            body.append(trend_svg(part.reset_index(drop=True), swc, unit))
            last = part.iloc[-1]
            latest_rows.append((name, metric, unit, last, te.te, swc))
    body.append("<h2>Latest vs baseline</h2><table><tr><th class='l'>test</th><th class='l'>metric</th>"
                "<th>baseline</th><th>latest</th><th>change</th><th>change %</th><th>TE</th><th>SWC</th>"
                "<th>threshold</th><th class='l'>flag</th></tr>")
    for name, metric, unit, last, te, swc in latest_rows:
        flag = str(last["flag"])
        body.append(f"<tr><td class='l'>{html.escape(name)}</td><td class='l'>{html.escape(metric)} "
                    f"[{html.escape(unit)}]</td><td>{_fmt(last['baseline'])}</td><td>{_fmt(last['mean'])}</td>"
                    f"<td>{_fmt(last['change'])}</td><td>{_fmt(last['change_pct'])}</td><td>{_fmt(te)}</td>"
                    f"<td>{_fmt(swc)}</td><td>{_fmt(last['threshold'])}</td><td class='l'>"
                    f"{_light(_LIGHT_OF_FLAG[flag], flag)}{html.escape(flag or 'within noise')}</td></tr>")
    body.append("</table>")
    body += _asymmetry_section(hist)
    dsi = stats.dynamic_strength_index(hist)
    if len(dsi):
        body.append("<h2>Dynamic strength index</h2><table><tr><th class='l'>date</th><th>CMJ peak N</th>"
                    "<th>IMTP peak N</th><th>DSI</th></tr>")
        body += [f"<tr><td class='l'>{html.escape(r.date)}</td><td>{_fmt(r.jump_peak_force_n)}</td>"
                 f"<td>{_fmt(r.isometric_peak_force_n)}</td><td>{_fmt(r.dsi, 2)}</td></tr>"
                 for r in dsi.itertuples()]
        body.append("</table>")
    return _page(f"labkit: {athlete}", body)


def _asymmetry_section(hist: pd.DataFrame) -> list[str]:
    out = ["<h2>Asymmetry</h2>"]
    sided = hist[hist["side"].isin(["left", "right"])]
    if not len(sided):
        return [*out, "<p class='note'>No sided tests recorded (hip extension/flexion per side).</p>"]
    out.append("<table><tr><th class='l'>date</th><th class='l'>test</th><th>left</th><th>right</th>"
               "<th>asymmetry %</th><th class='l'></th></tr>")
    for test in dict.fromkeys(sided["test"]):
        from labkit.trials.catalogue import CATALOGUE

        metric = CATALOGUE[test].headline if test in CATALOGUE else "peak_force_n"
        for r in stats.asymmetry(sided[sided["test"] == test], metric).itertuples():
            out.append(f"<tr><td class='l'>{html.escape(r.date)}</td><td class='l'>{html.escape(test)}</td>"
                       f"<td>{_fmt(r.left)}</td><td>{_fmt(r.right)}</td><td>{_fmt(r.asymmetry_pct)}</td>"
                       f"<td class='l'>{_light(r.light, r.light)}{html.escape(r.light)}</td></tr>")
    out.append("</table><p class='note'>green &lt; 10 %, amber 10-15 %, red &gt; 15 % (right - left) / "
               "stronger side.</p>")
    return out


def team_report(db: Any, group: str, *, n_baseline: int = 1) -> str:
    """The HTML page of a group: one row per athlete, per key metric the latest value, its
    change vs baseline with a traffic light, z-score within the group, and a sparkline."""
    from labkit.errors import ConfigError

    codes = db.cohort(group=group)
    if not codes:
        known = sorted({g for gs in db.athletes()["groups"] for g in gs.split(",") if g})
        raise ConfigError(f"group {group!r} has no athletes; groups: {', '.join(known) or 'none'} "
                          "(set them with `labkit db athletes --import ROSTER.csv`)")
    hist = db.history(codes)
    keys = key_metrics(hist)
    head = "".join(f"<th colspan='3'>{html.escape(t)} {html.escape(m)}</th>" for t, m in keys)
    body = [f"<h1>Team {html.escape(group)}: {len(codes)} athletes</h1>",
            "<p class='note'>Latest session mean, change vs the athlete's baseline (green: improved "
            "beyond SWC and noise; red: declined; amber: within), z-score within the group, sparkline "
            "of session means.</p>",
            f"<table><tr><th class='l'>athlete</th>{head}</tr>"]
    cells: dict[str, list[str]] = {c: [] for c in codes}
    for test, metric in keys:
        te, swc = db.reliability(test, metric, n_baseline=n_baseline)
        part = hist[hist["test"] == test]
        ch = stats.changes(part, metric, te=te.te if math.isfinite(te.te) else 0.0,
                           swc=swc if math.isfinite(swc) else 0.0, n_baseline=n_baseline)
        z = stats.cohort_scores(stats.session_means(part, metric), metric).set_index("athlete")["z"]
        for code in codes:
            mine = ch[ch["athlete"] == code]
            if not len(mine):
                cells[code] += ["<td>-</td><td>-</td><td>-</td>"]
                continue
            last = mine.iloc[-1]
            flag = str(last["flag"])
            colour = _LIGHT_OF_FLAG[flag]
            line = {"green": "#2e9d48", "red": "#d0342c"}.get(colour, "#f0a30a")
            cells[code] += [f"<td>{_fmt(last['mean'])}</td>",
                            f"<td>{_light(colour, flag or 'within noise')}{_fmt(last['change_pct'])} %</td>",
                            f"<td>z {_fmt(float(z.get(code, math.nan)), 2)} "
                            f"{sparkline_svg(mine['mean'].to_numpy(), line)}</td>"]
    body += [f"<tr><td class='l'>{html.escape(c)}</td>{''.join(cells[c])}</tr>" for c in codes]
    body.append("</table>")
    return _page(f"labkit: team {group}", body)


def write_html(text: str, out: str | os.PathLike[str]) -> Path:
    """Write a report page (beside, then replace)."""
    from labkit._files import replaced_atomically

    out = Path(out)
    with replaced_atomically(out) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return out
