"""Reading the database back: tidy history tables (the columns of ``labkit.analyze``), the
athletes with their groups, and the best trial per session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import LabkitError

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
        Its queries should read one snapshot (SQLite's transaction does; PostgreSQL needs
        REPEATABLE READ, as :meth:`labkit.db.Database.history` opens it).
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
    # each query fetches what differs at its level (a trial with its session and version, the
    # metrics, the provenance); the rows are joined here by id. Most of the time of a history
    # is making Python values, so a metric row carries as few as can be (PostgreSQL: none,
    # see _metric_columns_pg), and every other column is taken by position from its few
    # distinct values (per trial, per provenance) instead of being made per row.
    tq = chosen(select(T.c.id, *(T.c[c] for c in _TRIAL_COLUMNS), S.c.path, S.c.session_uid, A.c.code,
                       cast(S.c.date, String(10)), S.c.protocol, R.c.name, R.c.labkit_version)
                .select_from(T.join(versions, T.c.result_id == R.c.id)))
    if test is not None:
        tq = tq.where(T.c.test == test)
    if valid_only:
        tq = tq.where(T.c.valid.is_(True))
    tq = tq.order_by(S.c.date, S.c.created_utc, S.c.session_uid, R.c.position, T.c.trial)
    trial_rows = _fetch(conn, tq)
    where = M.c.trial_id.in_(tq.with_only_columns(T.c.id).order_by(None).scalar_subquery())
    if metric is not None:
        where = where & M.c.metric.in_([metric] if isinstance(metric, str) else list(metric))
    found = _metric_columns_pg(conn, where) if conn.dialect.name == "postgresql" else None
    found = found or _metric_columns(conn, where)
    prov = _fetch(conn, chosen(select(P.c.id, P.c.method, P.c.params).select_from(
        P.join(versions, P.c.result_id == R.c.id))))
    if not len(found["trial_id"]):
        return pd.DataFrame({c: _EMPTY.get(c, np.array([], dtype=object)) for c in COLUMNS})
    tcols = list(zip(*trial_rows, strict=True))
    at = pd.Index(np.array(tcols[0], dtype=np.int64)).get_indexer(found["trial_id"])
    order = np.argsort(at, kind="stable")  # trial order; within a trial, the file's order
    at = at[order]
    cols: dict[str, Any] = {name: found[name][order] for name in ("metric", "value", "unit")}
    for name, values in zip(_TRIAL_COLUMNS + _SESSION_COLUMNS, tcols[1:], strict=True):
        if name == "date":
            values = ["" if v is None else v for v in values]
        if name in ("trial", "attempt"):
            cols[name] = np.array(values, dtype=np.int64)[at]
        elif name in ("valid", "valid_analysis"):
            cols[name] = np.array(values, dtype=bool)[at]
        else:
            cols[name] = _strings(values).take(at)
    pcols = list(zip(*prov, strict=True)) if prov else [(), (), ()]
    by_prov = pd.Index(np.array(pcols[0], dtype=np.int64)).get_indexer(found["provenance_id"][order])
    for name, values in zip(("method", "params"), pcols[1:], strict=True):
        cols[name] = _strings([*values, None]).take(by_prov)  # -1 (none found): the None
    return pd.DataFrame({c: cols[c] for c in COLUMNS})


#: trial columns of the tidy table, and those of its session and result version
_TRIAL_COLUMNS = ("test", "label", "side", "trial", "attempt", "valid", "valid_analysis", "reason")
_SESSION_COLUMNS = ("path", "session_id", "athlete", "date", "protocol", "result", "labkit_version")
_EMPTY = {"value": np.array([], dtype=np.float64), "trial": np.array([], dtype=np.int64),
          "attempt": np.array([], dtype=np.int64), "valid": np.array([], dtype=bool),
          "valid_analysis": np.array([], dtype=bool)}


def _fetch(conn: Any, statement: Any) -> list[tuple[Any, ...]]:
    """The rows as plain tuples (no Row objects for the many rows)."""
    result = conn.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _strings(values: Sequence[Any]) -> Any:
    """The array pandas makes of these values in a table column (``str`` in pandas 3,
    object before), as ``labkit.analyze``'s tidy table has them."""
    return pd.Series(np.array(values, dtype=object), copy=False).array


def _metric_columns(conn: Any, where: Any) -> dict[str, Any]:
    """The metric rows ``where`` selects, as columns in (trial id, id) order: ``trial_id``,
    ``provenance_id`` (int64), ``value`` (float64, NULL -> NaN), ``metric``, ``unit``.

    The rows come sorted, and each trial's id once with its number of rows (a second, small
    query in the same transaction): a row's Python values are most of the cost, so a row
    carries 4 of them, not 6."""
    from sqlalchemy import func, select

    from labkit.db.schema import metrics as M

    counts = _fetch(conn, select(M.c.trial_id, func.count()).where(where).group_by(M.c.trial_id)
                    .order_by(M.c.trial_id))
    rows = _fetch(conn, select(M.c.metric, M.c.value, M.c.unit, M.c.provenance_id).where(where)
                  .order_by(M.c.trial_id, M.c.id))
    cols = list(zip(*rows, strict=True)) if rows else [()] * 4
    per = list(zip(*counts, strict=True)) if counts else [(), ()]
    trial_id = np.repeat(np.array(per[0], dtype=np.int64), np.array(per[1], dtype=np.int64))
    if len(trial_id) != len(rows):  # the two read different snapshots (never in one transaction)
        raise LabkitError("the metrics changed while the history was read; read it again")
    return {"trial_id": trial_id, "provenance_id": np.array(cols[3], dtype=np.int64),
            "value": np.array(cols[1], dtype=np.float64), "metric": _strings(cols[0]),
            "unit": _strings(cols[2])}


#: separator of the metric and unit names PostgreSQL joins (never in a name: checked)
_SEP = "\x1f"


#: a metric row as PostgreSQL packs it for :func:`_metric_columns_pg` (big-endian, as sent)
_PG_ROW = np.dtype([("id", ">i4"), ("trial_id", ">i4"), ("provenance_id", ">i4"), ("value", ">f8")])


def _metric_columns_pg(conn: Any, where: Any) -> dict[str, Any] | None:
    """:func:`_metric_columns` as PostgreSQL gives it in one row of three values: the
    numbers of every metric row packed in their binary form (exact, and no Python value
    per row; :data:`_PG_ROW`), and the metric and unit names joined by :data:`_SEP`.
    ``None`` when a name holds the separator. The aggregates of one row see the rows in the
    same order, so the columns line up; the (trial id, id) order is made here (an ORDER BY
    in the aggregates would sort the rows once per aggregate)."""
    from sqlalchemy import Float, LargeBinary, cast, func, literal, select

    from labkit.db.schema import metrics as M

    value = func.coalesce(M.c.value, cast(literal("NaN"), Float))
    packed = (func.int4send(M.c.id).op("||")(func.int4send(M.c.trial_id))
              .op("||")(func.int4send(M.c.provenance_id)).op("||")(func.float8send(value)))
    sep = literal(_SEP)
    row = conn.execute(select(func.count(), func.string_agg(packed, literal(b"", LargeBinary)),
                              func.string_agg(M.c.metric.op("||")(sep).op("||")(M.c.unit), sep))
                       .where(where)).one()
    n = int(row[0])
    if not n:
        return {"trial_id": np.array([], dtype=np.int64)}
    names = str(row[2]).split(_SEP)
    if len(names) != 2 * n:
        return None
    rows = np.frombuffer(bytes(row[1]), dtype=_PG_ROW)
    ids, trial_id = rows["id"].astype(np.int64), rows["trial_id"].astype(np.int64)
    order = np.lexsort((ids, trial_id))
    return {"trial_id": trial_id[order], "provenance_id": rows["provenance_id"].astype(np.int64)[order],
            "value": rows["value"].astype(np.float64)[order],
            "metric": _strings(names[0::2])[order], "unit": _strings(names[1::2])[order]}


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
