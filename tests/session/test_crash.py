"""Crash safety: SIGKILL a writer at random moments; what was flushed must survive exactly.

The child (crash_child.py) appends a known sequence and reports what it has appended.
After the kill, ``labkit.open_session`` must show an exact prefix of every stream, event
and trial list, missing at most one flush interval; ``labkit repair`` must then produce a
normal HDF5 file with the same content.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import labkit
from labkit.errors import SessionError
from labkit.session import format as fmt
from labkit.session.repair import needs_repair, repair_session

CHILD = Path(__file__).with_name("crash_child.py")
SLEEP_S, CHUNK_A, CHUNK_B = 0.01, 20, 5


def _run_and_kill(path: Path, flush_interval_s: float, fsync: bool, delay_s: float,
                  check_live: bool, late: bool = False) -> tuple[int, ...]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(flush_interval_s), "1" if fsync else "0",
         "1" if late else "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        first = child.stdout.readline()
        assert first.strip() == "ready", child.stderr.read()
        if check_live:
            time.sleep(delay_s / 2)
            with labkit.open_session(path) as live:  # the writer is still running
                a = live.stream("a").data
                np.testing.assert_array_equal(a[:, 0], np.arange(len(a)))
        time.sleep(delay_s / 2 if check_live else delay_s)
    finally:
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    last = lines[-1].split() if lines else ["0"] * 5
    return tuple(int(x) for x in last)


def _check_prefix(path: Path, appended: tuple[int, ...], flush_interval_s: float) -> None:
    na, nb, ne, nt, nl = appended
    # unflushed rows are at most what was appended during one flush interval (+ one cycle)
    cycles = flush_interval_s / SLEEP_S + 2
    with labkit.open_session(path) as s:
        a = s.stream("a")
        n = a.n_samples
        np.testing.assert_array_equal(a.data[:, 0], np.arange(n))
        np.testing.assert_array_equal(a.data[:, 1], -np.arange(n))
        np.testing.assert_array_equal(a.raw_times, np.arange(n) / 2000.0)
        assert n <= na + CHUNK_A, "more rows than were appended"
        assert na - n <= cycles * CHUNK_A, f"lost {na - n} rows of a (appended {na})"
        b = s.stream("b")
        np.testing.assert_array_equal(b.data[:, 0], np.arange(b.n_samples))
        assert nb - b.n_samples <= cycles * CHUNK_B
        ev = s.events
        assert ev["label"].tolist() == [f"e{k}" for k in range(len(ev))]
        assert ne - len(ev) <= cycles / 10 + 1
        tr = s.trials
        assert tr["id"].tolist() == list(range(len(tr)))
        assert nt - len(tr) <= cycles / 25 + 1
        if "late" in s.streams:
            late = s.stream("late").data[:, 0]
            np.testing.assert_array_equal(late, np.arange(len(late)))
            assert nl - len(late) <= cycles * 2 + 2


KILLS = [(0.2, True, 0.35), (0.2, False, 0.8), (0.05, False, 0.5), (0.001, False, 0.6),
         (0.001, True, 0.45), (1.0, False, 1.3), (0.1, True, 0.9), (0.02, False, 0.25),
         (0.5, False, 1.1), (0.001, False, 1.0), (0.2, False, 0.6), (0.05, True, 0.7)]


@pytest.mark.parametrize(("flush_interval_s", "fsync", "delay_s"), KILLS)
def test_sigkill_leaves_an_exact_prefix(tmp_path, flush_interval_s, fsync, delay_s):
    path = tmp_path / "crash.h5"
    rng = np.random.default_rng(int(delay_s * 1000) + int(flush_interval_s * 1e4))
    delay = delay_s * rng.uniform(0.7, 1.3)  # random kill moment around the nominal delay
    appended = _run_and_kill(path, flush_interval_s, fsync, delay, check_live=delay_s > 0.5)
    assert appended[0] > 0, "the child appended nothing before the kill"
    assert needs_repair(path)
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        assert f.attrs["status"] == fmt.STATUS_RECORDING
    _check_prefix(path, appended, flush_interval_s)
    with labkit.open_session(path) as s:
        before = s.stream("a").n_samples
    report = repair_session(path)
    assert report.repaired and report.backup is not None and report.backup.exists()
    with h5py.File(path, "r") as f:  # a plain, non-SWMR open works again
        assert f.attrs["status"] == fmt.STATUS_RECOVERED
        assert f["streams/a/data"].shape[0] == before
        assert f["streams/a/time_stamps"].shape[0] == before
    _check_prefix(path, appended, flush_interval_s)
    assert not needs_repair(path)
    assert not repair_session(path).repaired  # repairing twice changes nothing


@pytest.mark.parametrize("delay_s", [0.1, 0.3, 0.7])
def test_sigkill_after_a_late_stream_joined(tmp_path, delay_s):
    path = tmp_path / "late.h5"
    appended = _run_and_kill(path, 0.02, False, delay_s, check_live=False, late=True)
    _check_prefix(path, appended, 0.02)
    repair_session(path)
    _check_prefix(path, appended, 0.02)
    if appended[4] > 40:  # joined well before the kill: it must be in the file
        with labkit.open_session(path) as s:
            assert "late" in s.streams and s.stream("late").n_samples > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200))
def test_sigkill_soak(tmp_path, seed):
    rng = np.random.default_rng(seed)
    flush = float(rng.choice([0.001, 0.01, 0.05, 0.2, 1.0]))
    fsync = bool(rng.integers(2))
    path = tmp_path / "soak.h5"
    appended = _run_and_kill(path, flush, fsync, float(rng.uniform(0.05, 2.0)), check_live=False,
                             late=bool(seed % 2))
    _check_prefix(path, appended, flush)
    repair_session(path, backup=False)
    _check_prefix(path, appended, flush)


def test_plain_open_of_a_crashed_file_explains_repair(tmp_path):
    path = tmp_path / "c.h5"
    _run_and_kill(path, 0.05, False, 0.3, check_live=False)
    from labkit.session.results import write_result

    with pytest.raises(SessionError, match="labkit repair"):
        write_result(path, "x", method="m", params={}, inputs={})
