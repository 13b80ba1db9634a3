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
    from sqlalchemy import select

    from labkit.analysis.tidy import COLUMNS
    from labkit.db.schema import athletes as A
    from labkit.db.schema import metrics as M
    from labkit.db.schema import provenance as P
    from labkit.db.schema import results as R
    from labkit.db.schema import sessions as S
    from labkit.db.schema import trials as T

    q = (select(S.c.path, S.c.session_uid.label("session_id"), A.c.code.label("athlete"), S.c.date,
                S.c.protocol, R.c.name.label("result"), T.c.test, T.c.label, T.c.side, T.c.trial,
                T.c.attempt, M.c.metric, M.c.value, M.c.unit, T.c.valid, T.c.valid_analysis,
                T.c.reason, P.c.method, P.c.params, R.c.labkit_version)
         .select_from(M.join(T, M.c.trial_id == T.c.id).join(R, T.c.result_id == R.c.id)
                      .join(S, R.c.session_id == S.c.id).join(A, S.c.athlete_id == A.c.id)
                      .join(P, M.c.provenance_id == P.c.id)))
    if not all_versions:
        q = q.where(R.c.id == S.c.current_result_id)
    if athletes is not None:
        q = q.where(A.c.code.in_(list(athletes)))
    if test is not None:
        q = q.where(T.c.test == test)
    if metric is not None:
        q = q.where(M.c.metric.in_([metric] if isinstance(metric, str) else list(metric)))
    if valid_only:
        q = q.where(T.c.valid.is_(True))
    q = q.order_by(S.c.date, S.c.created_utc, S.c.session_uid, R.c.position, T.c.trial, M.c.id)
    rows = conn.execute(q).all()
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["date"] = [d.isoformat() if d is not None else "" for d in df["date"]]
    df["value"] = df["value"].astype(np.float64)  # NULL -> NaN, as the file holds it
    for col in ("trial", "attempt"):
        df[col] = df[col].astype(np.int64)
    for col in ("valid", "valid_analysis"):
        df[col] = df[col].astype(bool)
    return df


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
