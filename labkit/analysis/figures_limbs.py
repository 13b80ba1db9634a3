"""Report figures across a session's trials: left/right asymmetry with traffic-light bands,
and the dynamic strength index with its training bands.

The values are the stored results (the ``asym_*_pct`` metrics of dual-plate trials,
:mod:`labkit.trials.limbs`, and the ``dynamic_strength_index`` row of the aggregates,
:data:`labkit.trials.catalogue.RATIOS`); nothing is recomputed. Bands are parameters.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ASYMMETRY_BANDS_PCT", "DSI_BANDS", "asymmetry_figure", "dsi_figure"]

#: |asymmetry| below the first is green, up to the second amber, above red (per cent; the
#: 10-15 % region where between-limb differences start to matter, Bishop et al. 2018)
ASYMMETRY_BANDS_PCT = (10.0, 15.0)
#: DSI below the first: train force expression (ballistic); above the second: train
#: maximal strength; between: both (Sheppard et al. 2011; Comfort et al. 2018)
DSI_BANDS = (0.6, 0.8)
#: the asymmetry metrics drawn, in this order, when a trial has them
_SHOWN = ("asym_peak_force_pct", "asym_net_peak_force_pct", "asym_braking_impulse_pct",
          "asym_propulsive_impulse_pct", "asym_contact_impulse_pct", "asym_impulse_0_100ms_pct",
          "asym_impulse_0_250ms_pct")
_GREEN, _AMBER, _RED = "#70ad47", "#ffc000", "#c00000"


def _band_colour(value: float, bands: tuple[float, float]) -> str:
    a = abs(value)
    return _GREEN if a < bands[0] else _AMBER if a <= bands[1] else _RED


def asymmetry_figure(plt: Any, rows: pd.DataFrame, *,
                     bands_pct: tuple[float, float] = ASYMMETRY_BANDS_PCT) -> Any:
    """Bars of each dual-plate trial's asymmetry indices (positive: left larger), coloured
    by ``bands_pct``; None when no trial has any. ``rows``: the stored per-trial results
    indexed by trial id (``test`` and ``asymmetry_formula`` columns when present)."""
    cols = [c for c in _SHOWN if c in rows.columns]
    if not cols:
        return None
    data = rows[cols].apply(pd.to_numeric, errors="coerce")
    data = data[data.notna().any(axis=1)]
    if data.empty:
        return None
    tests = rows["test"] if "test" in rows.columns else pd.Series("", index=rows.index)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.32 * len(data) * len(cols) ** 0.5), dpi=90)
    lo, hi = bands_pct
    ax.axvspan(-lo, lo, color=_GREEN, alpha=0.12)
    for sign in (-1, 1):
        ax.axvspan(sign * lo, sign * hi, color=_AMBER, alpha=0.15)
    h = 0.8 / len(cols)
    y = np.arange(len(data))
    for k, c in enumerate(cols):
        v = data[c].to_numpy(float)
        ok = np.isfinite(v)
        ax.barh(y[ok] - 0.4 + (k + 0.5) * h, v[ok], height=h * 0.9,
                color=[_band_colour(x, bands_pct) for x in v[ok]], edgecolor="#404040", lw=0.4)
        for yy, x in zip(y[ok] - 0.4 + (k + 0.5) * h, v[ok], strict=True):
            ax.text(x, yy, f" {c.removeprefix('asym_').removesuffix('_pct')} {x:+.1f} %",
                    va="center", ha="left" if x >= 0 else "right", fontsize=6)
    ax.set_yticks(y, [f"trial {int(t)} {tests.get(t, '')}" for t in data.index], fontsize=7)
    ax.axvline(0, color="#404040", lw=0.8)
    span = max(hi * 1.6, float(np.nanmax(np.abs(data.to_numpy(float)))) * 1.5)
    ax.set_xlim(-span, span)
    formula = ""
    if "asymmetry_formula" in rows.columns:
        names = {str(f) for f in rows.loc[data.index, "asymmetry_formula"] if isinstance(f, str)}
        formula = f" ({', '.join(sorted(names))})" if names else ""
    ax.set_xlabel(f"asymmetry, % (positive: left larger){formula}; green < {lo:g} %, "
                  f"amber {lo:g}-{hi:g} %, red > {hi:g} %")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def dsi_figure(plt: Any, aggregates: pd.DataFrame | None, *,
               bands: tuple[float, float] = DSI_BANDS) -> Any:
    """The session's dynamic strength index on its bands; None without a finite DSI row."""
    if aggregates is None or "metric" not in aggregates.columns:
        return None
    hit = aggregates[aggregates["metric"] == "dynamic_strength_index"]
    if hit.empty or not math.isfinite(float(hit["value"].iloc[0])):
        return None
    value = float(hit["value"].iloc[0])
    lo, hi = bands
    top = max(1.2, value * 1.1)
    fig, ax = plt.subplots(figsize=(9, 1.5), dpi=90)
    for a, b, colour, text in ((0.0, lo, _AMBER, "train force expression"),
                               (lo, hi, _GREEN, "balanced"), (hi, top, "#9dc3e6", "train maximal strength")):
        ax.axvspan(a, b, color=colour, alpha=0.3)
        ax.text((a + b) / 2, 0.85, text, ha="center", va="center", fontsize=7,
                transform=ax.get_xaxis_transform())
    ax.plot([value], [0.4], "v", ms=12, color="#1f4e79", transform=ax.get_xaxis_transform(),
            label=f"DSI {value:.2f}")
    ax.axvline(value, color="#1f4e79", lw=1.2)
    ax.set_xlim(0.0, top)
    ax.set_yticks([])
    ax.set_xlabel(f"dynamic strength index = {hit['method'].iloc[0]}: {value:.2f}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
