"""The new jump protocols end to end on the simulated lab (real LSL on loopback):
``labkit run`` completes with valid trials and shows the reactive headline (RSI) with the
contact time, and the metrics reach ``labkit analyze`` and ``labkit report``, against the
simulated athlete's closed-form truth."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from labkit.devices.sim.athlete import Athlete, AthleteParams

REPO = Path(__file__).resolve().parents[2]


def _labkit(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def _truth(task: str, **kw) -> dict:
    """The default simulated athlete's closed-form truth of one effort of ``task``."""
    a = Athlete(AthleteParams())
    if task == "drop_jump":
        a.get_on_box(8.5)
    elif task == "single_leg_cmj":
        a.get_on_one_leg(8.5, kw["side"])
    return a.truth(a.go(task, cue_s=10.0, trial=1, **kw))[0]


def _run_and_analyse(tmp_path, protocol: str):
    out = tmp_path / f"{protocol}.h5"
    run = _labkit("run", str(REPO / "protocols" / f"{protocol}.yaml"), "--athlete", "JUMP01",
                  "--unattended", "--fast", "-o", str(out))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    csv = tmp_path / f"{protocol}.csv"
    ana = _labkit("analyze", str(out), "-o", str(csv))
    assert ana.returncode == 0, ana.stderr
    return out, run.stdout, pd.read_csv(csv)


def test_drop_jump_protocol_runs_and_its_rsi_reaches_analyze_and_report(tmp_path):
    truth = _truth("drop_jump")
    out, shown, tidy = _run_and_analyse(tmp_path, "drop_jump")
    rows = re.findall(r"drop_jump .*?RSI ([\d.]+) .*?contact ([\d.]+) ms", shown)
    assert len(rows) >= 3, shown[-3000:]  # the run table: the catalogue's headline, no "cm"
    assert "jump height 1." not in shown and "RSI 1" in shown
    for rsi, contact in rows:
        assert abs(float(rsi) / truth["rsi"] - 1) < 0.02
        assert abs(float(contact) - 1000 * truth["contact_time_s"]) <= 1.0  # 2 samples at 2 kHz
    valid = tidy[(tidy["test"] == "drop_jump") & tidy["valid"]]
    assert valid["trial"].nunique() >= 3
    rsi = valid.loc[valid["metric"] == "rsi", "value"]
    assert ((rsi / truth["rsi"] - 1).abs() < 0.02).all(), rsi.tolist()
    assert (valid["metric"] == "asym_contact_impulse_pct").any()
    report = tmp_path / "r.html"
    assert _labkit("report", str(out), "-o", str(report)).returncode == 0
    text = report.read_text()
    assert "rsi" in text and "drop_jump" in text and "<img alt='asymmetry session'" in text


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["rebound_jumps", "single_leg_cmj"])
def test_rebound_and_single_leg_protocols_run_with_valid_trials(tmp_path, protocol):
    _, shown, tidy = _run_and_analyse(tmp_path, protocol)
    valid = tidy[(tidy["test"] == protocol) & tidy["valid"]]
    assert valid["trial"].nunique() >= 2, shown[-3000:]
    if protocol == "rebound_jumps":
        truth = _truth("rebound_jumps")
        assert "RSI best 5 1.2" in shown
        score = valid.loc[valid["metric"] == "rsi_best_mean", "value"]
        assert ((score / truth["rsi"] - 1).abs() < 0.02).all(), score.tolist()
    else:
        truth = _truth("single_leg_cmj", side="l")
        heights = valid.loc[valid["metric"] == "jump_height_m", "value"]
        assert ((heights / truth["jump_height_m"] - 1).abs() < 0.01).all(), heights.tolist()
        assert set(valid["side"]) == {"left", "right"}
