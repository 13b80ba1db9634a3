"""Analyse many session files: a local process pool by default, or a Dask cluster.

Each file is analysed independently by :func:`labkit.analysis.tidy.session_metrics`; a
file that fails is reported (path and one-line reason) and the batch goes on. The tables
are concatenated in the order of the input files, so that the process pool, a Dask
cluster and a single process give identical tables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.errors import ConfigError, LabkitError

__all__ = ["BatchResult", "analyze_files", "write_table"]


@dataclass
class BatchResult:
    """A batch's tidy table and the files that failed (path -> one-line reason)."""

    table: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    n_files: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, LabkitError):
        return text
    return f"{type(exc).__name__}: {text}"


def _one(path: str, params: Mapping[str, Any] | None, write: bool, one_thread: bool = False
         ) -> tuple[str, pd.DataFrame | None, str]:
    """Analyse one file; never raises (the batch goes on).

    ``one_thread``: run numba's parallel kernels on one thread (in a worker of a pool or a
    Dask cluster the files are the parallelism; more threads would oversubscribe the cores).
    """
    from labkit.analysis.tidy import session_metrics

    if one_thread:
        import numba

        numba.set_num_threads(1)  # per calling thread: the worker's task thread
    try:
        return path, session_metrics(path, params, write=write), ""
    except Exception as exc:  # reported to the user with the file name, not swallowed
        return path, None, _reason(exc)


def _many(paths: Sequence[str], params: Mapping[str, Any] | None, write: bool
          ) -> list[tuple[str, pd.DataFrame | None, str]]:
    """:func:`_one` over a few files (one Dask task), one numba thread."""
    return [_one(p, params, write, True) for p in paths]


def _dask_client(address: str, workers: int) -> Any:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--dask needs dask.distributed: pip install 'labkit[dask]' "
                          "(or pip install 'dask[distributed]')") from None
    if address == "local":
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster)
    try:
        return Client(address, timeout="10s")
    except OSError as exc:
        raise ConfigError(f"--dask {address}: cannot reach the Dask scheduler ({exc}); check the "
                          "address (tcp://host:8786) or use --dask local") from None


def analyze_files(paths: Sequence[str | os.PathLike[str]], params: Mapping[str, Any] | None = None, *,
                  workers: int | None = None, dask: str | None = None, write: bool = False,
                  progress: Callable[[str, str], None] | None = None) -> BatchResult:
    """Analyse session files concurrently into one tidy table.

    Parameters
    ----------
    paths : sequence of path
        Session files.
    params : mapping, optional
        Per-test analysis overrides (see :func:`labkit.analyze`); ``None`` reads stored results.
    workers : int, optional
        Worker processes (default: the number of CPUs, at most the number of files). With
        ``workers=1`` and no ``dask`` the files are analysed in this process.
    dask : str, optional
        ``"local"`` for a Dask ``LocalCluster`` of ``workers`` processes, or the address of an
        existing scheduler (``tcp://host:8786``). Needs the ``dask`` extra.
    write : bool
        Store each re-analysis as a new results group (see :func:`labkit.analyze`).
    progress : callable, optional
        Called as ``progress(path, error)`` after each file (``error`` is ``""`` on success).

    Returns
    -------
    BatchResult
        ``table`` (files in input order) and ``failures``.
    """
    from labkit.analysis.tidy import COLUMNS

    files = [str(Path(p)) for p in paths]
    if not files:
        raise ConfigError("no session files given; pass one or more .h5 files")
    workers = int(workers or os.cpu_count() or 1)
    if workers < 1:
        raise ConfigError(f"--workers {workers}: use 1 or more")
    done: dict[str, tuple[pd.DataFrame | None, str]] = {}

    def record(path: str, table: pd.DataFrame | None, error: str) -> None:
        done[path] = (table, error)
        if progress is not None:
            progress(path, error)

    if dask is not None:
        client = _dask_client(dask, min(workers, len(files)))
        try:
            from dask.distributed import as_completed as dask_completed

            # a few files per task: Dask's per-task cost (~15 ms on a busy 2-core machine)
            # is otherwise a tenth of a session's analysis
            size = max(1, min(10, len(files) // (8 * min(workers, len(files)))))
            chunks = [files[i:i + size] for i in range(0, len(files), size)]
            futures = client.map(_many, chunks, params=params, write=write, pure=False)
            for fut in dask_completed(futures):
                for one in fut.result():
                    record(*one)
        finally:
            cluster = getattr(client, "cluster", None)
            client.close()
            if dask == "local" and cluster is not None:
                cluster.close()
    elif workers == 1 or len(files) == 1:
        for f in files:
            record(*_one(f, params, write))
    else:
        import multiprocessing

        # forkserver: forking a process that runs threads (numba, h5py, a Dask client) is unsafe
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=min(workers, len(files)), mp_context=ctx) as pool:
            futures = [pool.submit(_one, f, params, write, True) for f in files]
            for fut in as_completed(futures):
                record(*fut.result())
    frames = [done[f][0] for f in files if done[f][0] is not None and len(done[f][0])]
    failures = {f: done[f][1] for f in files if done[f][0] is None}
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    return BatchResult(table, failures, len(files))


def _check_out(out: str | os.PathLike[str]) -> None:
    suffix = Path(out).suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ConfigError(f"-o {out}: unknown table format {suffix or '(none)'!r}; use .csv or .parquet")


def write_table(table: pd.DataFrame, out: str | os.PathLike[str]) -> Path:
    """Write a tidy table as ``.csv`` or ``.parquet`` (chosen by the suffix)."""
    out = Path(out)
    _check_out(out)
    if out.suffix.lower() == ".csv":
        table.to_csv(out, index=False)
    else:
        try:
            table.to_parquet(out, index=False)
        except ImportError:
            raise ConfigError(f"{out}: writing Parquet needs pyarrow (pip install \"labkit[parquet]\"), "
                              "or write .csv") from None
    return out
