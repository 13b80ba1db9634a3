"""Session files -> rows: read a file (in a worker process), then store it (one transaction).

Rules (docs/database.md): a session is its file's ``session_id``; a result version is one
of its results groups holding per-trial metrics (``protocol``, ``analysis``,
``analysis-2``, ...). Adding a file again adds only the result versions not yet stored
(a re-analysis), never a second session, and never changes a stored version; the newest
version (the one ``labkit.analyze`` reads by default) is the session's current one. Every
statement binds its values as parameters.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError, SessionError

__all__ = ["IngestReport", "ingest_files", "read_session_file", "store_session"]

_RUNNER = "labkit.protocol.runner"


@dataclass
class IngestReport:
    """What an ingest did: files added (new sessions), updated (new result versions),
    unchanged, and the files that failed (path -> one-line reason)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def n_files(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged) + len(self.failures)


def file_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_session_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Everything the database keeps of one session file (picklable, for a worker process).

    Returns
    -------
    dict
        ``session`` (uid, athlete, path, hash, date, ...) and ``results``: per result version
        its name, position, method, params, labkit version and tidy table
        (:func:`labkit.analysis.tidy.session_metrics` of that group).
    """
    from labkit.analysis.tidy import METHOD, session_metrics
    from labkit.session.format import to_json
    from labkit.session.reader import open_session

    p = Path(path).resolve()
    digest = file_hash(p)
    with open_session(p) as s:
        info = s.info
        code = str(info.get("subject", ""))
        if not code:
            raise SessionError(f"{p}: the session names no athlete (subject is empty); it cannot be "
                               "filed under an athlete")
        uid = str(info.get("session_id", ""))
        if not uid:
            raise SessionError(f"{p}: the session has no session_id; it is not a labkit session")
        created = str(info.get("created_utc", ""))
        results = []
        for position, name in enumerate(s.results):
            res = s.result(name)
            prov = res.provenance
            if prov.get("method") not in (_RUNNER, METHOD) or "trials" not in res.tables:
                continue
            results.append({"name": name, "position": position, "method": str(prov.get("method")),
                            "params": to_json(prov.get("params", {})),
                            "labkit_version": str(prov.get("labkit_version", "")),
                            "table": session_metrics(s, result=name)})
    return {"session": {"session_uid": uid, "athlete": code, "path": str(p), "content_hash": digest,
                        "date": date.fromisoformat(created[:10]) if len(created) >= 10 else None,
                        "created_utc": created, "protocol": str(info.get("protocol", "")),
                        "status": str(info.get("status", "")),
                        "labkit_version": str(info.get("labkit_version", ""))},
            "results": results}


def _insert_ignore(conn: Any, table: Any, values: dict[str, Any], keys: Sequence[str]) -> int | None:
    """INSERT ... ON CONFLICT (keys) DO NOTHING RETURNING id: the new row's id, or ``None`` when
    the row exists (stored before, or by another ingester first: it is kept as it is)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    return conn.execute(stmt.returning(table.c.id)).scalar()


def athlete_id(conn: Any, code: str) -> int:
    """The id of an athlete, added to the catalogue when new."""
    from sqlalchemy import select

    from labkit.db.schema import athletes

    new = _insert_ignore(conn, athletes, {"code": code}, ["code"])
    if new is not None:
        return int(new)
    return int(conn.execute(select(athletes.c.id).where(athletes.c.code == code)).scalar_one())


def _store_result(conn: Any, session_pk: int, res: dict[str, Any], now: datetime) -> bool:
    """Store one result version with its trials and metrics; False when it was stored already."""
    import numpy as np

    from labkit.db.schema import metrics, provenance, results, trials

    result_id = _insert_ignore(conn, results, {
        "session_id": session_pk, "name": res["name"], "position": res["position"],
        "method": res["method"], "params": res["params"], "labkit_version": res["labkit_version"],
        "ingested_utc": now}, ["session_id", "name"])
    if result_id is None:
        return False  # stored before (a version is never changed)
    table = res["table"]
    if table is None or not len(table):
        return True
    pairs = sorted(set(zip(table["method"], table["params"], strict=True)))
    ids = conn.execute(provenance.insert().returning(provenance.c.id, sort_by_parameter_order=True),
                       [{"result_id": result_id, "method": m, "params": p} for m, p in pairs]).scalars()
    prov_id = dict(zip(pairs, ids, strict=True))
    first = table.drop_duplicates("trial")
    trial_rows = [{"result_id": result_id, "trial": int(r.trial), "test": r.test, "label": r.label,
                   "side": r.side, "attempt": int(r.attempt), "valid": bool(r.valid),
                   "valid_analysis": bool(r.valid_analysis), "reason": r.reason}
                  for r in first.itertuples(index=False)]
    tids = conn.execute(trials.insert().returning(trials.c.id, sort_by_parameter_order=True),
                        trial_rows).scalars()
    trial_id = dict(zip(first["trial"].astype(int), tids, strict=True))
    values = table["value"].to_numpy(dtype=float)
    rows = [{"trial_id": trial_id[int(t)], "metric": m, "value": float(v) if np.isfinite(v) else None,
             "unit": u, "provenance_id": prov_id[(pm, pp)]}
            for t, m, v, u, pm, pp in zip(table["trial"], table["metric"], values, table["unit"],
                                          table["method"], table["params"], strict=True)]
    conn.execute(metrics.insert(), rows)
    return True


def store_session(engine: Any, payload: dict[str, Any]) -> str:
    """Store one read file in one transaction. Returns ``added``, ``updated`` or ``unchanged``."""
    from sqlalchemy import select, update

    from labkit.db.schema import results, sessions

    info = payload["session"]
    now = datetime.now(UTC)
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        aid = athlete_id(conn, info["athlete"])
        values = {k: v for k, v in info.items() if k != "athlete"}
        new_session = _insert_ignore(conn, sessions, {**values, "athlete_id": aid, "ingested_utc": now},
                                     ["session_uid"]) is not None
        row = conn.execute(select(sessions).where(sessions.c.session_uid == info["session_uid"])).one()
        new_results = [_store_result(conn, row.id, r, now) for r in payload["results"]]
        newest = conn.execute(select(results.c.id).where(results.c.session_id == row.id)
                              .order_by(results.c.position.desc()).limit(1)).scalar()
        changed = {k: info[k] for k in ("path", "content_hash", "status", "labkit_version")
                   if getattr(row, k) != info[k]}
        if newest != row.current_result_id or changed:
            conn.execute(update(sessions).where(sessions.c.id == row.id)
                         .values(current_result_id=newest, **changed))
    if new_session:
        return "added"
    return "updated" if any(new_results) or changed else "unchanged"


def _read(path: str) -> tuple[str, dict[str, Any] | None, str]:
    """Read one file in a worker; never raises (the batch goes on)."""
    try:
        return path, read_session_file(path), ""
    except Exception as exc:  # reported with the file name, one line
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = text if isinstance(exc, LabkitError) else f"{type(exc).__name__}: {text}"
        named = reason.startswith((str(Path(path).resolve()), path))
        return path, None, reason if named else f"{path}: {reason}"


def ingest_files(engine: Any, paths: Sequence[str | os.PathLike[str]], *, workers: int | None = None,
                 progress: Callable[[str, str, str], None] | None = None) -> IngestReport:
    """Read session files (a process pool when ``workers > 1``) and store each in its own
    transaction as it arrives. A file that fails is reported and the rest go on.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
    paths : sequence of path
    workers : int, optional
        Reading processes (default: CPUs, at most the number of files); 1 reads here.
    progress : callable, optional
        ``progress(path, outcome, error)`` after each file; ``outcome`` is ``added``,
        ``updated``, ``unchanged`` or ``failed``.

    Returns
    -------
    IngestReport
    """
    files = [str(p) for p in paths]
    report = IngestReport()
    workers = max(1, min(int(workers or os.cpu_count() or 1), len(files) or 1))

    def handle(path: str, payload: dict[str, Any] | None, error: str) -> None:
        outcome = "failed"
        if payload is not None:
            try:
                outcome = store_session(engine, payload)
            except LabkitError as exc:
                error = f"{path}: {exc}"
            except Exception as exc:  # a database error: this file fails, the rest go on
                first = (str(exc).strip().splitlines() or [""])[0]
                error = f"{path}: cannot store the session ({type(exc).__name__}: {first})"
        if error:
            outcome = "failed"
            report.failures[path] = error
        else:
            getattr(report, outcome).append(path)
        if progress is not None:
            progress(path, outcome, error)

    if workers == 1:
        for f in files:
            handle(*_read(f))
        return report
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(_read, f) for f in files]
        for fut in as_completed(futures):
            handle(*fut.result())
    return report
