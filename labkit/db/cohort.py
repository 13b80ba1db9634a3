"""A simulated cohort with a known training effect and a known test-retest noise: session
files (no LSL) for the database's tests, benchmarks and demos.

Each athlete has a true IMTP peak force; every session's pulls scatter around the
session's true value with a known SD (``noise_n``, the typical error the statistics must
find). A quarter of the athletes gain ``gain_pct`` from the middle session on, another
quarter lose ``loss_pct`` from the second-to-last session on; the rest do not change, so
every session after the baseline either has a true change far above the smallest
worthwhile change or none at all.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Cohort", "simulate_cohort"]

SPORTS = ("rugby", "football", "athletics", "rowing")


@dataclass
class Cohort:
    """The simulated files, their truth (one row per session) and the roster."""

    files: list[Path]
    truth: pd.DataFrame  # athlete, session, date, path, true_peak_n, true_change_n, meaningful
    roster: pd.DataFrame  # code, name, date_of_birth, sex, sport, groups
    noise_n: float


def _write(job: tuple) -> str:
    import h5py

    from labkit.analysis.synthetic import write_battery_session

    path, seed, code, mass, peaks, when = job
    write_battery_session(path, seed=seed, n_trials=len(peaks), athlete=code, body_mass_kg=mass,
                          peak_force_n=float(np.mean(peaks)), trial_peak_forces_n=peaks, overwrite=True)
    with h5py.File(path, "r+") as f:  # the session's date in the simulated 26 weeks
        f.attrs["created_utc"] = when.isoformat()
    return str(path)


def simulate_cohort(folder: str | os.PathLike[str], *, n_athletes: int = 40, n_sessions: int = 5,
                    weeks: float = 26.0, n_trials: int = 3, noise_n: float = 50.0,
                    gain_pct: float = 20.0, loss_pct: float = 15.0, seed: int = 0,
                    start: date = date(2026, 1, 5), workers: int | None = None) -> Cohort:
    """Write ``n_athletes x n_sessions`` simulated IMTP sessions spread over ``weeks``.

    Parameters
    ----------
    folder : path
        Where the files go (``<code>_s<k>.h5``).
    n_athletes, n_sessions, n_trials : int
    weeks : float
        Time from the first to the last session.
    noise_n : float
        SD of each pull's peak force around the session's true value (N).
    gain_pct, loss_pct : float
        The training effect and the decline (percent of the athlete's baseline).
    seed : int
    start : date
        The first session's date.
    workers : int, optional
        Writing processes (default: CPUs).

    Returns
    -------
    Cohort
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 2026])
    days = np.linspace(0.0, weeks * 7.0, n_sessions)
    jobs, truth, roster = [], [], []
    for i in range(n_athletes):
        code = f"ATH{i + 1:03d}"
        base = float(rng.uniform(2000.0, 3200.0))
        mass = float(rng.uniform(60.0, 100.0))
        kind = ("gain", "loss", "none", "none")[i % 4]
        roster.append({"code": code, "name": f"Athlete {i + 1}", "sex": "F" if i % 2 else "M",
                       "sport": SPORTS[i % len(SPORTS)], "groups": "team-A" if i < n_athletes // 2
                       else "team-B", "date_of_birth": date(1996 + i % 10, 1 + i % 12, 1 + i % 28)})
        for k in range(n_sessions):
            factor = 1.0
            if kind == "gain" and k >= n_sessions // 2:
                factor += gain_pct / 100.0
            if kind == "loss" and k >= n_sessions - 2:
                factor -= loss_pct / 100.0
            true = base * factor
            peaks = [float(x) for x in true + rng.normal(0.0, noise_n, n_trials)]
            when = datetime.combine(start + timedelta(days=float(days[k])), datetime.min.time(),
                                    tzinfo=UTC) + timedelta(hours=9 + i % 8)
            path = folder / f"{code}_s{k + 1}.h5"
            jobs.append((path, seed * 100003 + i, code, mass, peaks, when))
            truth.append({"athlete": code, "session": k + 1, "date": when.date().isoformat(),
                          "path": str(path.resolve()), "true_peak_n": true,
                          "true_change_n": true - base, "meaningful": factor != 1.0})
    workers = max(1, min(int(workers or os.cpu_count() or 1), len(jobs)))
    if workers == 1:
        files = [_write(j) for j in jobs]
    else:
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
            files = list(pool.map(_write, jobs, chunksize=4))
    return Cohort([Path(f) for f in files], pd.DataFrame(truth), pd.DataFrame(roster), noise_n)
