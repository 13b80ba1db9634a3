"""Statistics over an athlete's or a cohort's history (tidy tables, pandas in and out).

Methods (docs/database.md has the formulas and sources):

- **Typical error** (Hopkins 2000, *Sports Med* 30:1-15): the within-athlete SD of
  repeated trials, ``TE = sqrt(sum((n_i - 1) s_i^2) / sum(n_i - 1))`` over every session's
  valid trials of one test and metric (the lab's own repeated trials; for two trials
  this is ``SD(difference) / sqrt(2)``).
- **Smallest worthwhile change**: ``0.2 x`` the between-athlete SD of the athletes'
  baseline values (Cohen's small effect; Hopkins 2004, *Sportscience* 8:1-7).
- **Meaningful change**: a session mean differs from the athlete's baseline mean by more
  than ``SWC + 1.645 x TE x sqrt(1/n + 1/n_baseline)``: larger than the SWC with 95 %
  (one-sided) confidence given the noise of both means, so it exceeds both the TE-based
  noise band and the SWC.
- **Cohort scores**: z = (x - cohort mean) / cohort SD, and the percentile rank.
- **Asymmetry**: ``(right - left) / max(left, right) x 100`` of the sides' best trials;
  green below 10 %, amber 10-15 %, red above 15 %.
- **Dynamic strength index**: CMJ peak force / IMTP peak force on the same day
  (Sheppard et al. 2011; below 0.6 favours strength work, above 0.8 ballistic work).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labkit.db.query import lower_is_better
from labkit.errors import ConfigError

__all__ = ["Z_ONE_SIDED_95", "TypicalError", "asymmetry", "changes", "cohort_scores",
           "dynamic_strength_index", "session_means", "smallest_worthwhile_change", "typical_error"]

Z_ONE_SIDED_95 = 1.6448536269514722
ASYMMETRY_AMBER_PCT = 10.0
ASYMMETRY_RED_PCT = 15.0


@dataclass(frozen=True)
class TypicalError:
    """Typical error of one metric: value (the metric's unit), degrees of freedom, sessions
    it came from, grand mean, and as a coefficient of variation (%)."""

    te: float
    df: int
    n_sessions: int
    mean: float

    @property
    def cv_pct(self) -> float:
        return 100.0 * self.te / self.mean if self.mean else math.nan


def _one_metric(history: pd.DataFrame, metric: str, label: str | None) -> pd.DataFrame:
    rows = history[(history["metric"] == metric) & history["valid"] & np.isfinite(history["value"])]
    if label is not None:
        rows = rows[rows["label"] == label]
    return rows


def typical_error(history: pd.DataFrame, metric: str, *, label: str | None = None) -> TypicalError:
    """Hopkins' typical error from the repeated valid trials within each session.

    Parameters
    ----------
    history : DataFrame
        Tidy rows (a database history or ``labkit.analyze``).
    metric : str
    label : str, optional
        One test label (default: every label the metric has; sides pooled).

    Returns
    -------
    TypicalError
        ``te`` is NaN when no session has two valid trials.
    """
    rows = _one_metric(history, metric, label)
    g = rows.groupby(["session_id", "label", "side"])["value"]
    n = g.count()
    var = g.var(ddof=1)
    keep = n >= 2
    df = int((n[keep] - 1).sum())
    te = math.sqrt(float(((n[keep] - 1) * var[keep]).sum()) / df) if df else math.nan
    return TypicalError(te, df, int(keep.sum()), float(rows["value"].mean()) if len(rows) else math.nan)


def session_means(history: pd.DataFrame, metric: str, *, label: str | None = None) -> pd.DataFrame:
    """Per athlete x session x label x side: date, ``n`` valid trials, ``mean``, ``best``."""
    rows = _one_metric(history, metric, label)
    best = "min" if lower_is_better(metric) else "max"
    out = (rows.groupby(["athlete", "session_id", "date", "label", "side"], sort=False)["value"]
           .agg(n="count", mean="mean", best=best).reset_index())
    return out.sort_values(["athlete", "date", "session_id"], kind="stable").reset_index(drop=True)


def _baselines(means: pd.DataFrame, n_baseline: int) -> pd.DataFrame:
    """Each athlete's (label, side) baseline: the mean of the first ``n_baseline`` sessions'
    trials (weighted by their trial counts) and its trial count."""
    first = means.groupby(["athlete", "label", "side"], sort=False).head(n_baseline)
    first = first.assign(_sum=first["mean"] * first["n"])
    b = first.groupby(["athlete", "label", "side"], sort=False).agg(_sum=("_sum", "sum"),
                                                                   baseline_n=("n", "sum"))
    b["baseline"] = b["_sum"] / b["baseline_n"]
    return b.drop(columns="_sum").reset_index()


def smallest_worthwhile_change(history: pd.DataFrame, metric: str, *, label: str | None = None,
                               n_baseline: int = 1, factor: float = 0.2) -> float:
    """``factor`` (0.2) x the between-athlete SD of the athletes' baseline means."""
    b = _baselines(session_means(history, metric, label=label), n_baseline)
    if len(b) < 2:
        return math.nan
    return float(factor * b["baseline"].std(ddof=1))


def changes(history: pd.DataFrame, metric: str, *, te: float, swc: float, label: str | None = None,
            n_baseline: int = 1) -> pd.DataFrame:
    """Every session against its athlete's baseline, flagged when the change is meaningful.

    Parameters
    ----------
    history : DataFrame
        Tidy rows of one or more athletes.
    metric : str
    te, swc : float
        Typical error and smallest worthwhile change (from the cohort: :func:`typical_error`,
        :func:`smallest_worthwhile_change`).
    label : str, optional
    n_baseline : int
        Sessions making the baseline (the athlete's first ones).

    Returns
    -------
    DataFrame
        ``athlete, session_id, date, label, side, n, mean, best, baseline, baseline_n, change,
        change_pct, threshold, flag``; ``flag`` is ``improved``, ``declined`` or ``""``
        (baseline sessions are never flagged).
    """
    if not (te >= 0 and swc >= 0):
        raise ConfigError(f"te={te!r}, swc={swc!r}: both must be numbers >= 0 (is there a cohort "
                          "with repeated trials and two or more athletes?)")
    means = session_means(history, metric, label=label)
    out = means.merge(_baselines(means, n_baseline), on=["athlete", "label", "side"], how="left")
    order = out.groupby(["athlete", "label", "side"], sort=False).cumcount()
    out["change"] = out["mean"] - out["baseline"]
    out["change_pct"] = 100.0 * out["change"] / out["baseline"]
    noise = te * np.sqrt(1.0 / out["n"] + 1.0 / out["baseline_n"])
    out["threshold"] = swc + Z_ONE_SIDED_95 * noise
    big = (out["change"].abs() > out["threshold"]) & (order >= n_baseline)
    better = out["change"] < 0 if lower_is_better(metric) else out["change"] > 0
    out["flag"] = np.where(big, np.where(better, "improved", "declined"), "")
    return out


def cohort_scores(best: pd.DataFrame, metric: str, *, label: str | None = None) -> pd.DataFrame:
    """Each athlete's latest session value (``best``) within the cohort given: z-score and
    percentile rank (0-100, ties averaged).

    ``best`` is :func:`session_means` output or the tidy history; the cohort is whoever it
    holds (filter it first: sex, sport, age band, group).
    """
    means = best if "best" in best.columns else session_means(best, metric, label=label)
    latest = means.groupby(["athlete", "label", "side"], sort=False).tail(1).copy()
    score = -latest["best"] if lower_is_better(metric) else latest["best"]  # higher = better
    sd = score.std(ddof=1)
    latest["z"] = (score - score.mean()) / sd if len(score) > 1 and sd > 0 else np.nan
    latest["percentile"] = score.rank(pct=True, method="average") * 100.0
    return latest.reset_index(drop=True)


def _light(pct: float) -> str:
    if not np.isfinite(pct):
        return ""
    a = abs(pct)
    return "green" if a < ASYMMETRY_AMBER_PCT else "amber" if a <= ASYMMETRY_RED_PCT else "red"


def asymmetry(history: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Left-right asymmetry per athlete x session x test of its sided trials.

    Returns
    -------
    DataFrame
        ``athlete, session_id, date, test, left, right, asymmetry_pct, light``; positive
        ``asymmetry_pct`` means the right side is stronger.
    """
    rows = history[(history["metric"] == metric) & history["valid"] & np.isfinite(history["value"])
                   & history["side"].isin(["left", "right"])]
    best = "min" if lower_is_better(metric) else "max"
    p = rows.pivot_table(index=["athlete", "session_id", "date", "test"], columns="side",
                         values="value", aggfunc=best)
    p = p.reindex(columns=["left", "right"]).reset_index()
    p.columns.name = None
    p["asymmetry_pct"] = 100.0 * (p["right"] - p["left"]) / p[["left", "right"]].max(axis=1)
    p["light"] = [_light(v) for v in p["asymmetry_pct"]]
    return p.sort_values(["athlete", "date", "test"], kind="stable").reset_index(drop=True)


def dynamic_strength_index(history: pd.DataFrame, *, jump: str = "cmj", isometric: str = "imtp",
                           metric: str = "peak_force_n") -> pd.DataFrame:
    """Dynamic strength index per athlete and day: the best valid ``jump`` peak force over the
    best valid ``isometric`` peak force of the same day.

    Returns
    -------
    DataFrame
        ``athlete, date, jump_peak_force_n, isometric_peak_force_n, dsi``.
    """
    rows = history[(history["metric"] == metric) & history["valid"] & np.isfinite(history["value"])
                   & history["test"].isin([jump, isometric])]
    p = rows.pivot_table(index=["athlete", "date"], columns="test", values="value", aggfunc="max")
    p = p.reindex(columns=[jump, isometric]).dropna().reset_index()
    p.columns.name = None
    p = p.rename(columns={jump: f"jump_{metric}", isometric: f"isometric_{metric}"})
    p["dsi"] = p[f"jump_{metric}"] / p[f"isometric_{metric}"]
    return p.sort_values(["athlete", "date"], kind="stable").reset_index(drop=True)
