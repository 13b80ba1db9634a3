"""A sample counter that starts again (a restarted device, a resumed run) is a new segment.

`labkit inspect` reported such a healthy 2000 Hz stream as "1 gaps, -30561 samples
missing", an effective rate 71.7 % below nominal (the pause between the segments counted as
recording time) and "counter restarted" as a problem, so `--strict` failed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import labkit
from labkit.session.inspect import inspect_session
from labkit.session.writer import SessionWriter
from labkit.spec import COUNTER, StreamSpec, emg_channel, plate_channel

RATE = 2000.0
N1, N2 = 30561, 20000
PAUSE_S = 10.0


def _restarted(path, *, gap: tuple[int, int] | None = None, clock_restart: bool = False,
               first_received: int = 0):
    """A force stream whose counter starts again at 0 after a 10 s pause, and an EMG stream
    without a restart; optionally ``gap = (at, n)`` samples missing in the second segment and
    the second segment received from counter ``first_received`` on."""
    force = StreamSpec("force", "force", [plate_channel("fp1", "Fz"), COUNTER], RATE, "float64")
    emg = StreamSpec("emg", "emg", [emg_channel("gluteus_maximus", "l"), COUNTER], 1000.0, "float32")
    c1, c2 = np.arange(N1), np.arange(first_received, first_received + N2)
    t1 = 100.0 + c1 / RATE
    t2 = (5.0 if clock_restart else t1[-1] + PAUSE_S) + c2 / RATE
    if gap is not None:
        keep = (c2 < gap[0]) | (c2 >= gap[0] + gap[1])
        c2, t2 = c2[keep], t2[keep]
    counter = np.r_[c1, c2]
    with SessionWriter(path, [force, emg]) as w:
        w.append("force", np.column_stack([np.full(len(counter), 700.0), counter]), np.r_[t1, t2])
        n_emg = 20000
        w.append("emg", np.column_stack([np.zeros(n_emg), np.arange(n_emg)]).astype(np.float32),
                 100.0 + np.arange(n_emg) / 1000.0)
    return path


def _force(report):
    return next(s for s in report["streams"] if s["name"] == "force")


@pytest.mark.parametrize("clock_restart", [False, True], ids=["stamps-continue", "clock-restarts"])
def test_a_counter_restart_is_a_new_segment_not_missing_samples(tmp_path, clock_restart):
    report = inspect_session(_restarted(tmp_path / "s.h5", clock_restart=clock_restart))
    st = _force(report)
    assert st["gaps"] == []
    assert st["segments"] == 2 and len(st["restarts"]) == 1
    assert st["restarts"][0]["counter_before"] == N1 - 1 and st["restarts"][0]["counter_after"] == 0
    assert st["expected_samples"] == N1 + N2 and st["lost_samples"] == 0
    assert st["effective_rate_hz"] == pytest.approx(RATE, rel=1e-9)  # the pause is excluded
    assert report["problems"] == []
    assert len(report["notes"]) == 1 and "2 segments" in report["notes"][0]
    with labkit.open_session(tmp_path / "s.h5") as s:
        assert s.stream("force").effective_rate_hz() == pytest.approx(RATE, rel=1e-9)


def test_a_restart_received_late_is_a_new_segment_though_the_counter_moved_on(tmp_path):
    """Seen in CI: the inlet reconnected to a restarted 2000 Hz source after its counter had
    passed the last value before the restart (more samples lost during the reconnection than
    had been sent before it), so the counter went forward (30560 -> 30832 after 1.8 s of
    silence) and inspect reported one segment and a 271-sample gap."""
    path = _restarted(tmp_path / "s.h5", first_received=N1 + 271)
    st = _force(inspect_session(path))
    assert st["segments"] == 2 and st["gaps"] == []
    assert st["restarts"][0]["counter_before"] == N1 - 1
    assert st["restarts"][0]["counter_after"] == N1 + 271
    # a real gap inside a segment (counter and stamps agree) is still a gap
    report = inspect_session(_restarted(tmp_path / "g.h5", gap=(5000, 300), first_received=100))
    assert [g["missing_samples"] for g in _force(report)["gaps"]] == [300]
    assert _force(report)["segments"] == 2


def test_samples_missing_inside_a_segment_are_still_gaps(tmp_path):
    report = inspect_session(_restarted(tmp_path / "s.h5", gap=(5000, 300)))
    st = _force(report)
    assert [g["missing_samples"] for g in st["gaps"]] == [300]
    assert st["lost_samples"] == 300 and st["segments"] == 2
    # the device took the missing samples: the counter keeps the rate exact
    assert st["effective_rate_hz"] == pytest.approx(RATE, rel=1e-9)
    assert report["problems"] == ["stream force: 1 gaps, 300 samples missing"]


def test_cli_strict_passes_on_a_restarted_stream(tmp_path):
    path = _restarted(tmp_path / "s.h5")
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "inspect", "--strict", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    shown = run.stdout.replace(str(path), "FILE")  # the tmp path may hold "-30" (pytest-307)
    assert "samples missing" not in shown and "-30" not in shown
    assert "2 segments" in run.stdout and "no integrity problems found" in run.stdout
    js = subprocess.run([sys.executable, "-m", "labkit.cli", "inspect", "--json", str(path)],
                        capture_output=True, text=True, timeout=60)
    assert json.loads(js.stdout)["problems"] == []
