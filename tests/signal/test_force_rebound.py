"""Rebound jumps (10/5 repeated jump test) against the simulated athlete's truth: every
hop's contact time within 2 samples, RSI within 2 %, the best-5 score; too few hops and
long contacts flagged; the trial analysis reports the score."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.config.protocol import TrialStep
from labkit.devices.sim.athlete import Athlete, AthleteParams, sample_grid
from labkit.signal import force
from labkit.signal.window import Window
from labkit.trials.analyse import analyse_trial


def sim_rebounds(fs, *, cue=11.5, seed=0, **params):
    a = Athlete(AthleteParams(seed=seed, **params))
    e = a.go("rebound_jumps", cue_s=cue, trial=1)
    _, t = sample_grid(cue - 1.5, e.end_s + 0.5, fs)
    loads = a.plate_loads(t)
    rng = np.random.default_rng(seed)
    return (loads[:, 0, 2] + rng.normal(0, 1.5, t.size), loads[:, 1, 2] + rng.normal(0, 1.5, t.size),
            t, a.truth(e)[0])


@pytest.mark.parametrize("fs", [1000.0, 2000.0])
def test_rebound_hops_against_truth(fs):
    worst = {"contact_smp": 0.0, "takeoff_smp": 0.0, "rsi_pct": 0.0}
    for seed in range(5):
        fl, fr, t, tr = sim_rebounds(fs, cue=11.5 + 0.41 * seed / fs, seed=seed)
        r = force.rebound_jumps(fl + fr, fs)
        assert r.valid and r.n_hops == tr["n_hops"] == 10, r.flags
        ct = np.abs(np.array(r.contact_times_s) - tr["contact_time_s"]) * fs
        to = np.abs(t[0] + np.array(r.takeoffs_s) - np.array(tr["takeoffs_s"])) * fs
        rsi = 100 * np.abs(np.array(r.rsis) / tr["rsi"] - 1)
        worst = {k: max(worst[k], float(v.max())) for k, v in
                 (("contact_smp", ct), ("takeoff_smp", to), ("rsi_pct", rsi))}  # fmt: skip
        assert r.rsi_best_mean == pytest.approx(tr["rsi"], rel=0.02)
        assert r.first_jump_height_m == pytest.approx(tr["jump_height_m"], rel=0.01)
    print(f"rebound jumps at {fs:.0f} Hz, worst over hops: "
          + ", ".join(f"{k} {v:.3f}" for k, v in worst.items()))
    assert worst["contact_smp"] <= 2 and worst["takeoff_smp"] <= 2 and worst["rsi_pct"] < 2.0


def test_rebound_flags_and_trial():
    fs = 2000.0
    fl, fr, _, _ = sim_rebounds(fs, rebound_hops=3)
    r = force.rebound_jumps(fl + fr, fs)
    assert r.n_hops == 3 and r.flags == ("too_few_hops",)
    assert force.rebound_jumps(fl + fr, fs, n_best=3).valid
    fl, fr, _, _ = sim_rebounds(fs, rebound_contact_s=0.32)
    assert "contact_too_long" in force.rebound_jumps(fl + fr, fs).flags
    fl, fr, t, _ = sim_rebounds(fs)
    w = Window(["fp1.Fz", "fp2.Fz"], np.column_stack([fl, fr]), t, fs, "force")
    out = analyse_trial(TrialStep(test="rebound_jumps", analysis={"n_best": 5}, effort_s=10.0), w, None)
    assert out.valid, out.reasons
    assert out.metrics["rsi_best_mean"] == pytest.approx(1.25, rel=0.02)
    assert out.metrics["n_hops"] == 10 and "asym_contacts_impulse_pct" in out.metrics
