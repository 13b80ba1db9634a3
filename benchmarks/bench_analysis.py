"""Batch analysis scaling: 200 simulated sessions re-analysed with 1 vs 2 worker processes,
and on a Dask LocalCluster (2 workers) vs the process pool. Prints ratios measured in one run.

    python benchmarks/bench_analysis.py [--sessions 200] [--dir DIR]

Targets (issue 9): 2 workers >= 1.7x faster than 1 on 2 cores; Dask overhead <= 20 %.
Each file is re-analysed (``params`` given: EMG onsets and force metrics recomputed from the
stored data), which is the CPU-bound work a lab's batch does; reading stored results is
also timed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd


def _make(args: tuple[str, int]) -> str:
    from labkit.analysis.synthetic import write_battery_session

    path, seed = args
    if not Path(path).exists():
        write_battery_session(path, seed=seed, n_trials=3)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    from labkit.analysis.batch import analyze_files

    root = args.dir or Path(tempfile.mkdtemp(prefix="labkit-bench-analysis-"))
    root.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    jobs = [(str(root / f"s{k:03d}.h5"), k) for k in range(args.sessions)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        files = list(pool.map(_make, jobs))
    print(f"{len(files)} simulated sessions in {root} ({time.perf_counter() - t:.1f} s to write)")
    params = {"imtp": {"onset_k": 5.0}}  # re-analysis with the protocol's own value

    def timed(**kw) -> tuple[float, pd.DataFrame]:
        t0 = time.perf_counter()
        r = analyze_files(files, params, **kw)
        assert r.ok, r.failures
        return time.perf_counter() - t0, r.table

    import numba

    analyze_files(files[:4], params, workers=1)  # warm the JIT caches
    threads = numba.get_num_threads()
    t1, a = timed(workers=1)
    numba.set_num_threads(1)  # as each pool worker runs: the files are the parallelism
    t1s, a1 = timed(workers=1)
    numba.set_num_threads(threads)
    t2, b = timed(workers=2)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a1, b)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"re-analysis, 1 worker, numba {threads} threads (in-process default): {t1:7.2f} s "
          f"({t1 / len(files) * 1e3:.0f} ms per session)")
    print(f"re-analysis, 1 worker, numba 1 thread (as a pool worker):   {t1s:7.2f} s")
    print(f"re-analysis, 2 workers (pool, 1 numba thread each):        {t2:7.2f} s")
    print(f"  scaling 2 workers vs 1 (1 thread each): {t1s / t2:.2f}x (target >= 1.7x); "
          f"vs the in-process default: {t1 / t2:.2f}x")
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        print("dask: not installed (pip install 'labkit[dask]'); Dask ratio not measured")
        return
    td, d = timed(workers=2, dask="local")
    pd.testing.assert_frame_equal(b, d)
    print(f"re-analysis, dask local 2 workers: {td:7.2f} s  overhead vs pool {(td / t2 - 1) * 100:+.0f} % "
          "(target <= +20 %; includes starting the LocalCluster)")
    t0 = time.perf_counter()
    r = analyze_files(files, None, workers=2)
    print(f"stored results, 2 workers: {time.perf_counter() - t0:.2f} s for {len(r.table)} rows")


if __name__ == "__main__":
    main()
