"""The session database: ingest rate (sessions/s) on SQLite and PostgreSQL with 1 vs 2
reading workers, and one athlete's full history from the database vs from the HDF5 files.

    python benchmarks/bench_db.py [--sessions 2000] [--fill-trials 100000] [--dir DIR]
                                  [--pg URL] [--no-ingest | --no-history]

Ingest: ``--sessions`` simulated session files (no LSL): a few written by
``write_battery_session``, the rest copies with their own session id and athlete code
(the ingest reads, hashes and stores each file as it would a recorded one). Every
configuration starts from an empty database. History: the database is filled to
``--fill-trials`` stored trials (one file's sessions: the first through the real ingest,
the rest copies of its stored rows under new session ids, athlete codes and paths, made
by the database in one transaction; setup, not timed), then one athlete's full history
(``Database.history``, 20 real files) is timed against ``labkit.analyze`` of the same
files (target: >= 100x faster); medians of ``--repeat`` runs after one untimed run of
each. PostgreSQL: ``--pg URL``, else a throwaway server started as the test suite does
(tests/db/pgserver.py), else skipped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _make(job: tuple[str, int, str]) -> str:
    from labkit.analysis.synthetic import write_battery_session

    path, seed, code = job
    write_battery_session(path, seed=seed, athlete=code, trial_peak_forces_n=[2400.0, 2450.0, 2500.0])
    return path


def _copy(job: tuple[str, str, str]) -> str:
    import h5py

    src, dst, code = job
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        f.attrs["session_id"] = str(uuid.uuid4())
        f.attrs["subject"] = code
    return dst


def make_files(root: Path, n: int, n_base: int = 20) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    # the base files are one athlete's 20 sessions (the history benchmark's athlete)
    base = [(str(root / f"base{k:03d}.h5"), 500 + k, "HIST01") for k in range(min(n, n_base))]
    with ProcessPoolExecutor(max_workers=2) as pool:
        files = list(pool.map(_make, base))
        copies = [(files[k % len(files)], str(root / f"c{k:05d}.h5"), f"B{k % 40:02d}")
                  for k in range(n - len(files))]
        files += list(pool.map(_copy, copies, chunksize=16))
    return files


def _pg_server():
    """A throwaway PostgreSQL server (as the tests start one), or None."""
    sys.path.insert(0, str(REPO))
    from tests.db.pgserver import PostgresServer, find_bin

    if find_bin() is None:
        return None
    server = PostgresServer(find_bin())
    server.start()
    return server


def _fresh(kind: str, pg, tag: str, root: Path) -> str:
    if kind == "sqlite":
        path = root / f"{tag}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if isinstance(pg, str):
        return pg
    return pg.create_database(f"b_{tag}_{uuid.uuid4().hex[:6]}")


def bench_ingest(files: list[str], kinds: list[str], pg, root: Path) -> dict:
    from labkit.db import connect

    out = {}
    for kind in kinds:
        for workers in (1, 2):
            db = connect(_fresh(kind, pg, f"ingest{workers}", root), init=True)
            t = time.perf_counter()
            report = db.add(files, workers=workers)
            dt = time.perf_counter() - t
            assert report.ok and len(report.added) == len(files), report.failures
            out[(kind, workers)] = len(files) / dt
            print(f"ingest {kind:10s} {workers} worker(s): {len(files)} sessions in {dt:6.1f} s = "
                  f"{len(files) / dt:6.1f} sessions/s", flush=True)
            db.close()
        print(f"  {kind}: 2 workers / 1 worker = {out[(kind, 2)] / out[(kind, 1)]:.2f}x")
    return out


def fill_copies(engine, template: dict, n: int, *, athletes: int = 500) -> int:
    """Store ``template`` (one read file) ``n`` times under new session ids, athlete codes
    ``F000``... and paths: the first copy through the real ingest (``store_session``), the
    others as copies of that copy's rows made by the database itself (``INSERT ... SELECT``
    with every id shifted by a multiple of the copy's id span; one transaction). The copies'
    rows are those the ingest stored, with their own session_uid, athlete and path.
    Returns the number of sessions stored."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, text

    from labkit.db.ingest import athlete_id, store_session
    from labkit.db.schema import metrics as M
    from labkit.db.schema import provenance as P
    from labkit.db.schema import results as R
    from labkit.db.schema import sessions as S
    from labkit.db.schema import trials as T

    if n <= 0:
        return 0

    store_session(engine, {**template, "session": {**template["session"], "session_uid": "fill-0",
                                                    "athlete": "F000", "path": "/archive/fill-0.h5"}})
    if n == 1:
        return 1
    tmp = Table("bench_fill", MetaData(), Column("k", Integer, primary_key=True),
                Column("session_uid", String(64)), Column("athlete_id", Integer), Column("path", String(200)))
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        sid = conn.execute(select(S.c.id).where(S.c.session_uid == "fill-0")).scalar_one()
        rids = select(R.c.id).where(R.c.session_id == sid).scalar_subquery()
        tids = select(T.c.id).where(T.c.result_id.in_(rids)).scalar_subquery()

        def span(table, where) -> int:  # the copy's rows are the newest: their ids are contiguous
            lo, hi = conn.execute(select(func.min(table.c.id), func.max(table.c.id)).where(where)).one()
            return hi - lo + 1 if lo is not None else 1

        shift = {"ds": 1, "dr": span(R, R.c.session_id == sid), "dp": span(P, P.c.result_id.in_(rids)),
                 "dt": span(T, T.c.result_id.in_(rids)), "dm": span(M, M.c.trial_id.in_(tids))}
        codes = {k: athlete_id(conn, f"F{k:03d}") for k in range(athletes)}
        tmp.create(conn)
        conn.execute(tmp.insert(), [{"k": k, "session_uid": f"fill-{k}", "athlete_id": codes[k % athletes],
                                     "path": f"/archive/fill-{k}.h5"} for k in range(1, n)])

        def copy(table, where: str, shifted: dict[str, str], replaced: dict[str, str] | None = None) -> None:
            names = [c.name for c in table.c]
            exprs = [f"x.{c} + f.k * :{shifted[c]}" if c in shifted else (replaced or {}).get(c, f"x.{c}")
                     for c in names]
            # copy after copy, as the ingest writes them (a session's rows together), in
            # chunks whose sort fits in memory
            stmt = text(f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(exprs)} "
                        f"FROM {table.name} x, bench_fill f WHERE {where} AND f.k >= :lo AND f.k < :hi "
                        "ORDER BY f.k, x.id")
            for lo in range(1, n, 1000):
                conn.execute(stmt, {**shift, "sid": sid, "lo": lo, "hi": lo + 1000})

        in_r = "IN (SELECT id FROM results WHERE session_id = :sid)"
        copy(S, "x.id = :sid", {"id": "ds", "current_result_id": "dr"},
             {c: f"f.{c}" for c in ("session_uid", "athlete_id", "path")})
        copy(R, "x.session_id = :sid", {"id": "dr", "session_id": "ds"})
        copy(P, f"x.result_id {in_r}", {"id": "dp", "result_id": "dr"})
        copy(T, f"x.result_id {in_r}", {"id": "dt", "result_id": "dr"})
        copy(M, f"x.trial_id IN (SELECT id FROM trials WHERE result_id {in_r})",
             {"id": "dm", "trial_id": "dt", "provenance_id": "dp"})
        tmp.drop(conn)
        if conn.dialect.name == "postgresql":  # the next ingest's ids come after the copies'
            for table in (S, R, P, T, M):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                  f"(SELECT max(id) FROM {table.name}))"))
            conn.execute(text("ANALYZE"))  # the planner's statistics, as autovacuum keeps them
    if engine.dialect.name == "sqlite":  # the file at rest: the copies moved from the WAL into it
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return n


def bench_history(athlete_files: list[str], filler: str, n_trials: int, kinds: list[str], pg,
                  root: Path, repeat: int) -> None:
    import labkit
    from labkit.db import connect
    from labkit.db.ingest import read_session_file

    template = read_session_file(filler)
    per = len(template["results"][0]["table"]["trial"].unique())
    files_table = labkit.analyze(athlete_files)  # warm: imports and compiled kernels are not timed
    files_times = []
    for _ in range(repeat):
        t = time.perf_counter()
        labkit.analyze(athlete_files)
        files_times.append(time.perf_counter() - t)
    files_s = statistics.median(files_times)
    for kind in kinds:
        db = connect(_fresh(kind, pg, "history", root), init=True)
        db.add(athlete_files, workers=2)
        t = time.perf_counter()
        n_fill = fill_copies(db.engine, template, max(0, n_trials // per - len(athlete_files)))
        fill_s = time.perf_counter() - t
        code = files_table["athlete"].iloc[0]
        if n_fill > 1:  # a database-made copy holds what the ingest stored
            ingested, copied = (h[h["session_id"] == f"fill-{k}"].reset_index(drop=True)
                                for k, h in ((0, db.history("F000")), (1, db.history("F001"))))
            same = [c for c in copied.columns if c not in ("path", "session_id", "athlete")]
            assert len(copied) == len(ingested) > 0, (len(copied), len(ingested))
            assert copied[same].equals(ingested[same]), "a copy differs from the ingested session"
        db.history(code)  # warm: the statements' compiled forms are cached, as in a running app
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            h = db.history(code)
            times.append(time.perf_counter() - t)
        assert len(h) == len(files_table), (len(h), len(files_table))
        q = statistics.median(times)
        total = (n_fill + len(athlete_files)) * per
        print(f"history {kind:10s}: {total} stored trials (filled in {fill_s:.0f} s); athlete {code}: "
              f"{len(h)} rows of {len(athlete_files)} sessions: median {q * 1e3:.1f} ms vs labkit.analyze "
              f"of the files (median) {files_s * 1e3:.0f} ms = {files_s / q:.0f}x faster", flush=True)
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--fill-trials", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--pg", default=None, help="PostgreSQL URL (default: a throwaway server)")
    ap.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    ap.add_argument("--no-ingest", action="store_true", help="only the history benchmark")
    ap.add_argument("--no-history", action="store_true", help="only the ingest benchmark")
    args = ap.parse_args()
    wanted = set(args.backends.split(","))
    root = args.dir or Path(tempfile.mkdtemp(prefix="labkit-bench-db-"))
    t = time.perf_counter()
    files = make_files(root / "files", args.sessions)
    print(f"{len(files)} session files in {root} ({time.perf_counter() - t:.0f} s to make)", flush=True)
    server = None if args.pg or "postgresql" not in wanted else _pg_server()
    pg = args.pg or server
    kinds = [k for k in ("sqlite", "postgresql") if k in wanted and (k == "sqlite" or pg)]
    if not pg and "postgresql" in wanted:
        print("PostgreSQL: not installed and no --pg URL; SQLite only")
    try:
        if not args.no_ingest:
            bench_ingest(files, kinds, pg, root)
        if not args.no_history:
            mine = [str(p) for p in sorted(root.glob("files/base*.h5"))]
            bench_history(mine, files[-1], args.fill_trials, kinds, pg, root, args.repeat)
    finally:
        if server is not None:
            server.stop()
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
