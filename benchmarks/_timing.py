"""Shared by the benchmarks: medians of repeated runs and the machine line each prints
first (the machine is shared and noisy, so every figure is read beside it)."""

from __future__ import annotations

import os
import statistics
import sys
import time


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``repeats`` calls of ``fn`` (s) and every time."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def machine_line() -> str:
    """Python, numpy and numba versions, CPUs, numba's threads and the load average."""
    import numba
    import numpy as np

    return (f"python {sys.version.split()[0]}, numpy {np.__version__}, numba {numba.__version__}, "
            f"{os.cpu_count()} CPUs, numba threads {numba.get_num_threads()}, "
            f"load average {os.getloadavg()[0]:.2f}")
