"""`labkit simulate`, `labkit record`, `labkit streams` and `labkit inspect` as separate
processes, and a recorder killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pylsl
import pytest

import labkit
from labkit.devices.sim.lab import SimulatedLab
from labkit.session.repair import repair_session

from .labs import lab_config


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "labkit.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy(), **kw)


def test_simulate_record_inspect_in_three_processes(tmp_path):
    config, text = lab_config(flush_interval_s=1.0)
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(text)
    out = tmp_path / "x.h5"
    sim = _cli("simulate", "--config", str(cfg), "--duration", "60")
    try:
        streams = _cli("streams", "--json", "--timeout", "3")
        listed = json.loads(streams.communicate(timeout=60)[0])
        assert {s["source_id"] for s in listed} >= {config.source_id(n) for n in ("force", "emg")}
        rec = _cli("record", "--config", str(cfg), "--out", str(out), "--duration", "8",
                   "--subject", "A01")
        rec_out, rec_err = rec.communicate(timeout=120)
        assert rec.returncode == 0, rec_err
        assert "saved" in rec_out
    finally:
        sim.send_signal(signal.SIGINT)
        sim.communicate(timeout=30)
    inspect = subprocess.run([sys.executable, "-m", "labkit.cli", "inspect", "--json", str(out)],
                             capture_output=True, text=True, timeout=60)
    report = json.loads(inspect.stdout)
    names = {s["name"]: s for s in report["streams"]}
    assert set(names) == {"force", "emg", "mocap", "truth"}
    for name in ("force", "emg", "mocap"):
        st = names[name]
        assert st["lost_samples"] == 0
        assert abs(st["effective_rate_hz"] / st["nominal_rate_hz"] - 1) < 1e-3
    assert report["info"]["status"] == "complete" and report["info"]["subject"] == "A01"
    assert report["problems"] == []


@pytest.mark.parametrize("seconds", [2.5, 4.0])
def test_sigkill_of_the_recorder_loses_at_most_one_flush_interval(tmp_path, seconds):
    flush = 0.5
    config, text = lab_config(("force", "emg"), flush_interval_s=flush)
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(text)
    out = tmp_path / "killed.h5"
    with SimulatedLab(config) as lab:
        rec = _cli("record", "--config", str(cfg), "--out", str(out), "--quiet")
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(seconds)
        killed_at = pylsl.local_clock()
        rec.send_signal(signal.SIGKILL)
        rec.communicate(timeout=30)
        report = repair_session(out)
        assert report.repaired
        with labkit.open_session(out) as s:
            assert s.status == "recovered"
            for name in ("force", "emg"):
                st = s.stream(name)
                c = st.counter
                assert len(c) > 0 and np.all(np.diff(c) == 1), name
                last_true = float(lab.sources[name].true_times_for_counter(c[-1:])[0])
                # flushed at most flush_interval_s before the kill (+ pull and transport latency)
                assert killed_at - last_true < flush + 0.35, (name, killed_at - last_true)
                np.testing.assert_allclose(st.times, lab.sources[name].true_times_for_counter(c),
                                           atol=2e-3)
