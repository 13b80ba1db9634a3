"""Reading the database back: tidy history tables (the columns of ``labkit.analyze``), the
athletes with their groups, and the best trial per session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LOWER_IS_BETTER", "athletes_table", "best_per_session", "history_table", "lower_is_better"]

#: metric-name prefixes where a smaller value is the better one (times, delays, steadiness)
LOWER_IS_BETTER = ("time_to_", "emd_", "onset", "emg_onset_", "pretension", "baseline_sd",
                   "weighing_range", "contraction_time", "unweighting_time", "braking_time")


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is better (:data:`LOWER_IS_BETTER`)."""
    return metric.startswith(LOWER_IS_BETTER)


def history_table(conn: Any, *, athletes: Sequence[str] | None = None, test: str | None = None,
                  metric: str | Sequence[str] | None = None, all_versions: bool = False,
                  valid_only: bool = False) -> pd.DataFrame:
    """Tidy rows stored in the database (columns of :data:`labkit.analysis.tidy.COLUMNS`).

    Parameters
    ----------
    conn : sqlalchemy Connection
    athletes : sequence of str, optional
        Athlete codes (default: all).
    test, metric : str, optional
        Only this test (``imtp``) or metric(s) (``peak_force_n``).
    all_versions : bool
        Every stored result version (``result`` column names it) instead of each session's
        newest one (what ``labkit.analyze`` reads by default).
    valid_only : bool
        Only trials whose recorded verdict is valid.

    Returns
    -------
    pandas.DataFrame
        Ordered by date, session, trial and the metrics' order in the file.
    """
    from sqlalchemy import String, cast, select

    from labkit.analysis.tidy import COLUMNS
    from labkit.db.schema import athletes as A
    from labkit.db.schema import metrics as M
    from labkit.db.schema import provenance as P
    from labkit.db.schema import results as R
    from labkit.db.schema import sessions as S
    from labkit.db.schema import trials as T

    def chosen(q):  # the result versions asked for
        if not all_versions:
            q = q.where(R.c.id == S.c.current_result_id)
        if athletes is not None:
            q = q.where(A.c.code.in_(list(athletes)))
        return q

    versions = R.join(S, R.c.session_id == S.c.id).join(A, S.c.athlete_id == A.c.id)
    # each query fetches what differs at its level; the rows are joined here by id (a metric
    # row carries 5 values, not 20: most of the time of a history is making Python values)
    tq = chosen(select(T.c.id, R.c.id, T.c.test, T.c.label, T.c.side, T.c.trial, T.c.attempt,
                       T.c.valid, T.c.valid_analysis, T.c.reason)
                .select_from(T.join(versions, T.c.result_id == R.c.id)))
    if test is not None:
        tq = tq.where(T.c.test == test)
    if valid_only:
        tq = tq.where(T.c.valid.is_(True))
    tq = tq.order_by(S.c.date, S.c.created_utc, S.c.session_uid, R.c.position, T.c.trial)
    trial_rows = conn.execute(tq).all()
    mq = select(M.c.id, M.c.trial_id, M.c.metric, M.c.value, M.c.unit, M.c.provenance_id).where(
        M.c.trial_id.in_(tq.with_only_columns(T.c.id).order_by(None).scalar_subquery()))
    if metric is not None:
        mq = mq.where(M.c.metric.in_([metric] if isinstance(metric, str) else list(metric)))
    result = conn.execute(mq)
    metric_rows = result.cursor.fetchall()  # plain tuples: no Row objects for the many rows
    result.close()
    mcols = list(zip(*metric_rows, strict=True)) if metric_rows else [()] * 6
    trial_ids = np.array([r[0] for r in trial_rows], dtype=np.int64)
    at = pd.Index(trial_ids).get_indexer(np.asarray(mcols[1], dtype=np.int64))
    order = np.lexsort((np.asarray(mcols[0], dtype=np.int64), at))  # trial order, then file order
    at = at[order]
    cols: dict[str, Any] = {"metric": _take(mcols[2], order),
                            "value": np.array(mcols[3], dtype=np.float64)[order],  # NULL -> NaN
                            "unit": _take(mcols[4], order)}
    trial_cols = ("result_id", "test", "label", "side", "trial", "attempt", "valid", "valid_analysis",
                  "reason")
    for k, name in enumerate(trial_cols, start=1):
        cols[name] = np.array([r[k] for r in trial_rows], dtype=object)[at]
    info = conn.execute(chosen(select(R.c.id, S.c.path, S.c.session_uid, A.c.code,
                                      cast(S.c.date, String(10)), S.c.protocol, R.c.name,
                                      R.c.labkit_version).select_from(versions))).all()
    cols.update(_lookup(cols["result_id"], info, ("path", "session_id", "athlete", "date", "protocol",
                                                  "result", "labkit_version")))
    prov = conn.execute(chosen(select(P.c.id, P.c.method, P.c.params).select_from(
        P.join(versions, P.c.result_id == R.c.id)))).all()
    cols.update(_lookup(_take(mcols[5], order), prov, ("method", "params")))
    cols["date"] = np.where(pd.isna(cols["date"]), "", cols["date"]) if len(order) else cols["date"]
    for name in ("trial", "attempt"):
        cols[name] = cols[name].astype(np.int64)
    for name in ("valid", "valid_analysis"):
        cols[name] = cols[name].astype(bool)
    return pd.DataFrame({c: cols[c] for c in COLUMNS})


def _take(values: Sequence[Any], order: np.ndarray) -> np.ndarray:
    return np.array(values, dtype=object)[order] if len(order) else np.array([], dtype=object)


def _lookup(keys: np.ndarray, table: list[Any], names: Sequence[str]):
    """Columns ``names`` of ``table`` (rows of id, *values) for each key."""
    ids = pd.Index([r[0] for r in table])
    where = ids.get_indexer(np.asarray(keys, dtype=np.int64)) if len(keys) else np.array([], dtype=int)
    for k, name in enumerate(names, start=1):
        column = np.array([r[k] for r in table] + [None], dtype=object)
        yield name, column[where]


def best_per_session(history: pd.DataFrame) -> pd.DataFrame:
    """One row per session x test x side x metric: the best valid trial (largest value, or
    smallest for :data:`LOWER_IS_BETTER` metrics), with ``n_valid`` and ``mean`` (of the
    session's valid trials) beside it."""
    valid = history[history["valid"] & np.isfinite(history["value"])]
    if not len(valid):
        return valid.assign(n_valid=pd.Series(dtype=int), mean=pd.Series(dtype=float))
    keys = ["session_id", "label", "side", "metric"]
    sign = np.where([lower_is_better(m) for m in valid["metric"]], -1.0, 1.0)
    ranked = valid.assign(_score=valid["value"].to_numpy() * sign)
    idx = ranked.groupby(keys, sort=False)["_score"].idxmax()
    best = valid.loc[idx.to_numpy()]
    stats = valid.groupby(keys, sort=False)["value"].agg(n_valid="count", mean="mean")
    out = best.merge(stats.reset_index(), on=keys, how="left")
    return out.sort_values(["date", "session_id", "label", "side", "metric"], kind="stable"
                           ).reset_index(drop=True)


def athletes_table(conn: Any) -> pd.DataFrame:
    """The catalogue: code, name, date_of_birth, sex, sport, groups (comma-joined), sessions,
    first and last session date."""
    from sqlalchemy import func, select

    from labkit.db.schema import athlete_groups as AG
    from labkit.db.schema import athletes as A
    from labkit.db.schema import groups as G
    from labkit.db.schema import sessions as S

    base = conn.execute(
        select(A.c.id, A.c.code, A.c.name, A.c.date_of_birth, A.c.sex, A.c.sport,
               func.count(S.c.id).label("sessions"), func.min(S.c.date).label("first"),
               func.max(S.c.date).label("last"))
        .select_from(A.outerjoin(S, S.c.athlete_id == A.c.id))
        .group_by(A.c.id, A.c.code, A.c.name, A.c.date_of_birth, A.c.sex, A.c.sport)
        .order_by(A.c.code)).all()
    member = conn.execute(select(AG.c.athlete_id, G.c.name).join(G, AG.c.group_id == G.c.id)
                          .order_by(G.c.name)).all()
    by_id: dict[int, list[str]] = {}
    for aid, name in member:
        by_id.setdefault(aid, []).append(name)
    rows = [{"code": r.code, "name": r.name or "", "date_of_birth": _iso(r.date_of_birth),
             "sex": r.sex or "", "sport": r.sport or "", "groups": ",".join(by_id.get(r.id, [])),
             "sessions": int(r.sessions), "first": _iso(r.first), "last": _iso(r.last)} for r in base]
    return pd.DataFrame(rows, columns=["code", "name", "date_of_birth", "sex", "sport", "groups",
                                       "sessions", "first", "last"])


def _iso(d: Any) -> str:
    return d.isoformat() if d is not None else ""
