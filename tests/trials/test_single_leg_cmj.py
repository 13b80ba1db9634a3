"""Single-leg CMJ: analysed on the side's plate, against the simulated athlete's truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labkit.config.protocol import TrialStep
from labkit.devices.sim.athlete import Athlete, AthleteParams, sample_grid
from labkit.signal.window import Window
from labkit.trials.analyse import analyse_trial
from labkit.trials.protocols import load_protocol

FS = 2000.0


@pytest.mark.parametrize(("side", "plate"), [("left", 0), ("right", 1)])
def test_single_leg_cmj_on_the_sides_plate(side, plate):
    a = Athlete(AthleteParams(seed=2))
    cue = 6.0
    a.get_on_one_leg(cue - 1.5, side[0])  # announced with the trial
    e = a.go("single_leg_cmj", cue_s=cue, trial=1, side=side[0])
    tr = a.truth(e)[0]
    _, t = sample_grid(cue - 1.5, e.end_s + 0.5, FS)
    loads = a.plate_loads(t)
    data = loads[:, :, 2] + np.random.default_rng(0).normal(0.0, 1.5, (t.size, 2))
    assert np.abs(data[(t > cue - 1.0) & (t < e.onset_s), 1 - plate]).max() < 10.0  # foot lifted
    w = Window(["fp1.Fz", "fp2.Fz"], data, t, FS, "force")
    out = analyse_trial(TrialStep(test="single_leg_cmj", side=side, effort_s=3.0), w, None)
    assert out.valid, out.reasons
    m = out.metrics
    assert m["jump_height_m"] == pytest.approx(tr["jump_height_m"], rel=0.01)
    assert m["jump_height_flight_m"] == pytest.approx(tr["jump_height_m"], rel=0.01)
    assert m["takeoff_time_s"] == pytest.approx(tr["takeoff_s"], abs=2 / FS)
    assert m["body_weight_n"] == pytest.approx(tr["body_weight_n"], rel=0.005)
    assert out.inputs["signal"] == f"+fp{plate + 1}.Fz" and "asym_peak_force_pct" not in m
    assert tr["jump_height_m"] == pytest.approx(0.17)


def test_single_leg_protocol_loads():
    protocol, _ = load_protocol(Path(__file__).resolve().parents[2] / "protocols" / "single_leg_cmj.yaml")
    assert protocol.name == "single_leg_cmj"
