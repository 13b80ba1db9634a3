"""The session database: ingest rate (sessions/s) on SQLite and PostgreSQL with 1 vs 2
reading workers, and one athlete's full history from the database vs from the HDF5 files.

    python benchmarks/bench_db.py [--sessions 2000] [--fill-trials 100000] [--dir DIR]
                                  [--pg URL]

Ingest: ``--sessions`` simulated session files (no LSL): a few written by
``write_battery_session``, the rest copies with their own session id and athlete code
(the ingest reads, hashes and stores each file as it would a recorded one). Every
configuration starts from an empty database. History: the database is filled to
``--fill-trials`` stored trials (the real ingest's rows of those sessions, stored again
under new session ids), then one athlete's full history (``Database.history``, 20 real
files) is timed against ``labkit.analyze`` of the same files (target: >= 100x faster);
medians of ``--repeat`` runs. PostgreSQL: ``--pg URL``, else a throwaway server started as
the test suite does (tests/db/pgserver.py), else skipped.
"""

from __future__ import annotations

import argparse
import copy
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


def bench_history(athlete_files: list[str], filler: str, n_trials: int, kinds: list[str], pg,
                  root: Path, repeat: int) -> None:
    import labkit
    from labkit.db import connect
    from labkit.db.ingest import read_session_file, store_session

    template = read_session_file(filler)
    per = len(template["results"][0]["table"]["trial"].unique())
    t = time.perf_counter()
    for _ in range(repeat):
        files_table = labkit.analyze(athlete_files)
    files_s = (time.perf_counter() - t) / repeat
    for kind in kinds:
        db = connect(_fresh(kind, pg, "history", root), init=True)
        db.add(athlete_files, workers=2)
        t = time.perf_counter()
        n_fill = max(0, n_trials // per - len(athlete_files))
        for k in range(n_fill):
            p = copy.copy(template)
            p["session"] = {**template["session"], "session_uid": f"fill-{k}",
                            "athlete": f"F{k % 500:03d}", "path": f"/archive/fill-{k}.h5"}
            store_session(db.engine, p)
        fill_s = time.perf_counter() - t
        code = files_table["athlete"].iloc[0]
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
              f"of the files {files_s * 1e3:.0f} ms = {files_s / q:.0f}x faster", flush=True)
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
