"""Analyse trials: one trial from its windows, or every trial of a stored session.

The live runner calls :func:`analyse_trial` on the live buffer's windows right after each
trial; at the end it, like :func:`labkit.analyze`, calls :func:`analyse_session_trials`
on the session file, so that stored results always come from the stored data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labkit.config.protocol import TrialStep
from labkit.errors import ConfigError, SignalError
from labkit.signal.window import Window
from labkit.trials.catalogue import RATIOS, entry, side_of
from labkit.trials.outcome import TrialOutcome, TrialRecord
from labkit.trials.sequencing import SEQUENCED_KINDS, add_sequencing
from labkit.trials.trunk_pairing import add_pairing

__all__ = ["aggregate_metric", "aggregates_table", "analyse_session_trials", "analyse_trial", "detail_tables",
           "result_tables", "trial_label"]

#: the streams trial analysis reads from a session (mocap: jump sequencing)
STREAMS = ("force", "emg", "mocap")


def aggregate_metric(test: str) -> str:
    """The metric a test's trials are ranked and aggregated by (the catalogue's headline)."""
    return entry(test).headline


def trial_label(step: TrialStep, side: str | None) -> str:
    """``imtp``, ``isometric_hip_extension left``, ``mvc gluteus_maximus_r``, ``run 3.5 m/s`` ..."""
    parts = [step.test]
    if side:
        parts.append(side)
    if step.direction:
        parts.append(step.direction)
    if step.muscle:
        parts.append(step.muscle)
    if step.speed_m_s is not None:
        parts.append(f"{step.speed_m_s:g} m/s")
    return " ".join(parts)


def analyse_trial(step: TrialStep, force: Window | None, emg: Window | None = None, *,
                  body_weight_n: float | None = None, mocap: Window | None = None) -> TrialOutcome:
    """Analyse one trial window and apply the step's validation rules.

    A failure of the analysis on the data (e.g. no samples) gives an invalid trial whose
    reason says what went wrong, never an exception that would stop a battery. A failure
    caused by the options (a parameter the analysis does not take, or rejects) gives an
    outcome with ``config_error=True``: the lab's mistake, not the athlete's.

    Parameters
    ----------
    step : TrialStep
    force, emg : Window or None
        The force and EMG streams over the trial window (force already tared).
    body_weight_n : float, optional
        The weighed body weight.
    mocap : Window or None
        The motion-capture stream over the trial window: jumps (catalogue kinds in
        :data:`~labkit.trials.sequencing.SEQUENCED_KINDS`) then get their joint
        sequencing (:func:`labkit.trials.sequencing.add_sequencing`, metrics ``seq_*``).
        Directional tests (trunk rotation) with EMG get the obliques' cross-body pairing
        (:func:`labkit.trials.trunk_pairing.add_pairing`, ``pairing_index``, ...).

    Returns
    -------
    TrialOutcome
    """
    test = entry(step.test)
    try:
        extra = {"mocap": mocap} if test.reads_mocap else {}
        outcome = test.analysis_function()(step, force, emg, body_weight_n, **extra)
        if mocap is not None and test.kind in SEQUENCED_KINDS:
            outcome = add_sequencing(outcome, mocap)
        if emg is not None and test.directional:  # trunk rotation: the obliques' pairing
            outcome = add_pairing(outcome, step, emg)
        return outcome
    except (TypeError, ConfigError) as exc:
        return TrialOutcome(step.test, False, (f"configuration error: {exc}",), {}, "none", {}, {},
                            config_error=True)
    except SignalError as exc:
        return TrialOutcome(step.test, False, (f"analysis failed: {exc}",), {}, "none", {}, {})


def _trial_row(trial: TrialRecord, outcome: TrialOutcome) -> dict[str, Any]:
    row = {"trial": trial.trial_id, "test": trial.step.test, "label": trial_label(trial.step, trial.side),
           "side": side_of(trial.step.test, trial.side, trial.step.direction),
           "attempt": trial.attempt, "valid": bool(trial.valid), "reason": trial.reason,
           "valid_from_file": bool(outcome.valid)}
    row.update({k: v for k, v in outcome.metrics.items()
                if isinstance(v, int | float | str | bool | np.floating | np.integer)})
    return row


def analyse_session_trials(source: Any, trials: Sequence[TrialRecord], body_weight_n: float | None,
                           tare_n: Mapping[str, float]
                           ) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict[str, pd.DataFrame]]:
    """Per-trial metrics from the stored data (synchronised times) and per-test aggregates.

    Parameters
    ----------
    source : path or labkit.Session
        The session file (or the open session).
    trials : sequence of TrialRecord
        The trials to analyse, with their steps and windows.
    body_weight_n : float or None
        The weighed body weight.
    tare_n : mapping
        Per-channel offsets subtracted from the force stream.

    Returns
    -------
    trials, aggregates : pandas.DataFrame
        One row per trial (identity, verdicts, metrics); one row per test label.
    params : dict
        Per label: the method and every parameter of its analysis.
    details : dict of str to pandas.DataFrame
        Per-trial detail tables, rows tagged with ``trial_id``: ``strides`` (one row per
        stride and side of every run trial, :attr:`RunningResult.strides
        <labkit.signal.gait_running.RunningResult>`) when the session has run trials.
    """
    from labkit.session.reader import Session, open_session

    if isinstance(source, Session):
        return _analyse_open(source, trials, body_weight_n, tare_n)
    if not isinstance(source, str | os.PathLike):
        raise ConfigError(f"analyse_session_trials takes a session path or Session, got {source!r}")
    with open_session(source) as s:
        return _analyse_open(s, trials, body_weight_n, tare_n)


def _analyse_open(s: Any, trials: Sequence[TrialRecord], body_weight_n: float | None,
                  tare_n: Mapping[str, float]) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    streams = {n: s.stream(n).window() for n in STREAMS if n in s.streams}
    rows, params, outcomes = [], {}, []
    for trial in trials:
        wins = {name: w.between(trial.start_s, trial.end_s) for name, w in streams.items()}
        fw = wins.get("force")
        if fw is not None:
            fw = fw.minus(tare_n)
        outcome = analyse_trial(trial.step, fw, wins.get("emg"), body_weight_n=body_weight_n,
                                mocap=wins.get("mocap"))
        outcomes.append((trial, outcome))
        params[trial_label(trial.step, trial.side)] = {"method": outcome.method, **outcome.params}
        rows.append(_trial_row(trial, outcome))
    return pd.DataFrame(rows), aggregates_table(outcomes), params, detail_tables(outcomes)


def detail_tables(outcomes: Sequence[tuple[TrialRecord, TrialOutcome]]) -> dict[str, pd.DataFrame]:
    """The per-trial tables a results group keeps beside the trials table: ``strides``
    (every run trial's strides, first column ``trial_id``); empty without run trials."""
    parts = []
    for trial, outcome in outcomes:
        strides = getattr(outcome.result, "strides", None)
        if isinstance(strides, pd.DataFrame) and len(strides):
            parts.append(strides.reset_index(drop=True).assign(trial_id=int(trial.trial_id)))
    if not parts:
        return {}
    df = pd.concat(parts, ignore_index=True)
    return {"strides": df[["trial_id", *(c for c in df.columns if c != "trial_id")]]}


def result_tables(trials: pd.DataFrame, aggregates: pd.DataFrame,
                  details: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables of a results group: ``trials``, ``aggregates`` (when any) and the
    detail tables (:func:`detail_tables`)."""
    tables = {"trials": trials}
    if len(aggregates):
        tables["aggregates"] = aggregates
    tables.update(details)
    return tables


def aggregates_table(outcomes: Sequence[tuple[TrialRecord, TrialOutcome]]) -> pd.DataFrame:
    """One row per test label: the headline metric aggregated over the valid trials; one
    row per single-leg jump test run on both sides (``<test> left vs right``: the
    asymmetry of the two sides' aggregates); then one row per ratio of the catalogue
    (:data:`~labkit.trials.catalogue.RATIOS`, e.g. the dynamic strength index) whose two
    tests were run."""
    from labkit.signal import force

    agg_rows = []
    sides: dict[tuple[str, str | None], dict[str, Any]] = {}
    labels = dict.fromkeys(trial_label(t.step, t.side) for t, _ in outcomes)
    for key in labels:
        group = [(t, o) for t, o in outcomes if trial_label(t.step, t.side) == key]
        step = group[0][0].step
        metric = aggregate_metric(step.test)
        values = [float(o.metrics.get(metric, float("nan"))) for t, o in group if t.valid]
        values = [v for v in values if math.isfinite(v)]
        row = {"label": key, "test": step.test, "metric": metric, "method": step.aggregate,
               "n_trials": len(group), "n_valid": len(values)}
        try:
            agg = force.aggregate_trials(values, method=step.aggregate)
            row.update(value=agg.value, n_used=agg.n_used, repeat_needed=bool(agg.repeat_needed))
        except Exception as exc:  # too few valid trials for the method: say so in the table
            row.update(value=float("nan"), n_used=0, repeat_needed=True, note=str(exc)[:200])
        agg_rows.append(row)
        sides[(step.test, group[0][0].side)] = row
    agg_rows.extend(_side_rows(sides))
    agg_rows.extend(_ratio_rows(outcomes))
    return pd.DataFrame(agg_rows)


def _side_rows(rows: dict[tuple[str, str | None], dict[str, Any]]) -> list[dict[str, Any]]:
    """Per single-leg jump test run on both sides: the asymmetry of the left and right
    aggregates by the default formula (labkit.trials.limbs.DEFAULT_FORMULA)."""
    from labkit.signal import force
    from labkit.trials.limbs import DEFAULT_FORMULA

    out = []
    for (test, side), left in rows.items():
        right = rows.get((test, "right"))
        if side != "left" or right is None or not (entry(test).sided and entry(test).kind == "jump"):
            continue
        metric = left["metric"]
        key = metric.removesuffix("_m").removesuffix("_n")
        value = force.asymmetry(left["value"], right["value"], DEFAULT_FORMULA)
        row = {"label": f"{test} left vs right", "test": test, "metric": f"asym_{key}_pct",
               "method": f"{DEFAULT_FORMULA} of the left and right {left['method']} "
                         f"({force.ASYMMETRY_FORMULAS[DEFAULT_FORMULA][1]})",
               "n_trials": left["n_trials"] + right["n_trials"],
               "n_valid": left["n_valid"] + right["n_valid"], "value": value,
               "n_used": 2 if math.isfinite(value) else 0, "repeat_needed": not math.isfinite(value)}
        if not math.isfinite(value):
            row["note"] = "needs an aggregate of both sides"
        out.append(row)
    return out


def _best_valid(outcomes: Sequence[tuple[TrialRecord, TrialOutcome]], test: str,
                metric: str) -> tuple[int, list[float]]:
    """Number of trials of ``test`` and the finite ``metric`` values of its valid ones."""
    group = [(t, o) for t, o in outcomes if t.step.test == test]
    values = [float(o.metrics.get(metric, float("nan"))) for t, o in group if t.valid]
    return len(group), [v for v in values if math.isfinite(v)]


def _ratio_rows(outcomes: Sequence[tuple[TrialRecord, TrialOutcome]]) -> list[dict[str, Any]]:
    """Rows of the catalogue's ratios between tests (the dynamic strength index ...)."""
    rows = []
    for ratio in RATIOS:
        (t_num, m_num), (t_den, m_den) = ratio.numerator, ratio.denominator
        n_num, num = _best_valid(outcomes, t_num, m_num)
        n_den, den = _best_valid(outcomes, t_den, m_den)
        if not (n_num and n_den):
            continue
        row = {"label": ratio.name, "test": f"{t_num}/{t_den}", "metric": ratio.name,
               "method": f"best {t_num} {m_num} / best {t_den} {m_den}",
               "n_trials": n_num + n_den, "n_valid": len(num) + len(den),
               "value": max(num) / max(den) if num and den and max(den) > 0 else float("nan"),
               "n_used": 2 if num and den else 0, "repeat_needed": not (num and den)}
        if not (num and den):
            row["note"] = f"needs a valid trial of both {t_num} and {t_den}"
        rows.append(row)
    return rows
