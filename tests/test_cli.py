"""The labkit command line: help, version, demo, inspect --json, repair."""

from __future__ import annotations

import json
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
from labkit.cli import app, main

REPO = Path(__file__).resolve().parents[1]


def _labkit(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_version_and_help_document_every_command():
    assert _labkit("--version").stdout.strip() == f"labkit {labkit.__version__}"
    run = _labkit("--help")
    assert run.returncode == 0
    import typer.main

    commands = typer.main.get_command(app).commands
    assert {"inspect", "repair", "demo"} <= set(commands)
    for name, command in commands.items():
        assert name in run.stdout
        assert command.help and len(command.help.strip()) > 20, f"{name} has no help text"
        assert _labkit(name, "--help").returncode == 0


def test_synthetic_demo_writes_a_session_whose_results_match_its_truth(tmp_path):
    out = tmp_path / "demo.h5"
    run = _labkit("demo", "--synthetic", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert "no integrity problems found" in run.stdout
    assert "body weight 800.0 N (true 800.0)" in run.stdout
    with labkit.open_session(out) as s:
        assert set(s.streams) == {"cues", "emg", "force", "mocap"}
        assert s.stream("emg").rate_hz == 29 / 0.0135
        assert s.trials.loc[1, "test"] == "imtp"
        fz = s.stream("force").data[:, 2]
        assert abs(np.median(fz[:4000]) - 800.0) < 1.0
    again = _labkit("demo", "--synthetic", "-o", str(out))
    assert again.returncode == 2 and "file exists" in again.stderr


def test_lab_demo_records_cued_pulls_and_matches_the_athletes_truth(tmp_path):
    """The README's main job: simulated lab -> LSL -> recorder -> force analysis -> results."""
    out = tmp_path / "lab_demo.h5"
    run = _labkit("demo", "-o", str(out), "--trials", "2")
    assert run.returncode == 0, run.stderr
    assert "no integrity problems found" in run.stdout
    with labkit.open_session(out) as s:
        metrics = s.result("isometric").tables["metrics"]
        provenance = s.result("isometric").provenance
        assert provenance["method"] == "labkit.signal.force.isometric"
        assert provenance["params"]["onset_k"] == 5.0 and provenance["params"]["fs_hz"] == 2000.0
        assert len(metrics) == 2 and metrics["valid"].all()
        # the 5 SD onset lags the true onset by a few samples, never leads it
        lag_ms = (metrics["onset_s"] - metrics["true_onset_s"]) * 1e3
        assert ((lag_ms > -0.5) & (lag_ms < 5.0)).all(), lag_ms.tolist()
        assert np.allclose(metrics["peak_force_n"], metrics["true_peak_force_n"], rtol=0.01)
        assert np.allclose(metrics["rfd_0_200ms_n_s"], metrics["true_rfd_0_200ms_n_s"], rtol=0.03)
        cues = s.events[s.events["source"] == "labkit-demo-cues"]["label"].tolist()
        assert cues.count("go") == 2 and cues.count("stop") == 2
        report_problems = [p for p in s.streams if s.stream(p).n_samples == 0]
        assert report_problems == []


def test_inspect_json_reports_streams_gaps_and_problems(tmp_path):
    from labkit.session.writer import ChannelSpec, SessionWriter, StreamSpec

    path = tmp_path / "gaps.h5"
    spec = StreamSpec("emg", "emg", [ChannelSpec("gluteus_maximus_r", "V", "emg",
                                                 "gluteus_maximus", "r"),
                                     ChannelSpec("counter", "count", "counter")], 1000.0)
    with SessionWriter(path, [spec]) as w:
        idx = np.r_[np.arange(0, 500), np.arange(512, 1000)]  # 12 samples lost
        data = np.c_[np.sin(idx / 10.0), idx].astype(np.float32)
        data[100, 0] = np.nan
        w.append("emg", data, idx / 1000.0)
    run = _labkit("inspect", "--json", str(path))
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    (st,) = report["streams"]
    assert st["n_samples"] == 988 and st["n_channels"] == 2
    assert st["gaps"] == [{"after_s": 0.499, "missing_samples": 12, "source": "counter"}]
    assert st["nan_samples"] == 1
    assert st["effective_rate_hz"] == pytest.approx(1000.0, rel=1e-9)
    assert st["channels"][0]["muscle"] == "gluteus_maximus"
    assert any("12 samples missing" in p for p in report["problems"])
    assert _labkit("inspect", "--strict", str(path)).returncode == 1


def test_repair_command_on_a_killed_recording(tmp_path):
    path = tmp_path / "killed.h5"
    child = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "session" / "crash_child.py"), str(path), "0.05", "0"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.4)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    inspect = _labkit("inspect", str(path))
    assert inspect.returncode == 0 and "not closed cleanly" in inspect.stdout
    with pytest.raises(OSError):
        h5py.File(path, "r")
    run = _labkit("repair", str(path))
    assert run.returncode == 0, run.stderr
    assert "repaired" in run.stdout and (tmp_path / "killed.h5.crashed").exists()
    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "recovered"
    assert "nothing to repair" in _labkit("repair", str(path)).stdout


def test_main_returns_exit_codes_without_tracebacks(capsys):
    assert main(["inspect", "/nonexistent/x.h5"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "labkit: error: /nonexistent/x.h5: no such file; check the path"
    assert main(["inspect"]) == 2  # usage error from click
