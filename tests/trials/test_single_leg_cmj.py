"""Single-leg CMJ: analysed on the side's plate, against the simulated athlete's truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labkit.config.protocol import TrialStep
from labkit.devices.sim.athlete import Athlete, AthleteParams, sample_grid
from labkit.signal.window import Window
from labkit.trials.analyse import analyse_trial
from labkit.trials.outcome import TrialRecord
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


def _trial(side: str, height_m: float, seed: int):
    a = Athlete(AthleteParams(seed=seed, single_leg_jump_height_m=height_m))
    cue = 6.0
    a.get_on_one_leg(cue - 1.5, side[0])
    e = a.go("single_leg_cmj", cue_s=cue, trial=1, side=side[0])
    _, t = sample_grid(cue - 1.5, e.end_s + 0.5, FS)
    data = a.plate_loads(t)[:, :, 2] + np.random.default_rng(seed).normal(0.0, 1.5, (t.size, 2))
    step = TrialStep(test="single_leg_cmj", side=side, effort_s=3.0)
    out = analyse_trial(step, Window(["fp1.Fz", "fp2.Fz"], data, t, FS, "force"), None)
    return TrialRecord(seed, str(seed), step, side, 1, float(t[0]), float(t[-1]), out.valid, "", out)


def test_left_vs_right_aggregate_of_single_leg_jumps():
    """A weaker right leg (0.15 m against 0.17 m, simulated): the aggregates table has a
    ``single_leg_cmj left vs right`` row whose asymmetry of the two sides' best-2 means is
    the truth's (0.17 - 0.15) / 0.17 = 11.8 % within 1 percentage point."""
    from labkit.trials.analyse import aggregates_table

    trials = [_trial(side, h, seed) for seed, (side, h) in
              enumerate([("left", 0.17), ("right", 0.15), ("left", 0.17), ("right", 0.15)])]  # fmt: skip
    assert all(t.valid for t in trials), [t.outcome.reasons for t in trials]
    agg = aggregates_table([(t, t.outcome) for t in trials]).set_index("label")
    row = agg.loc["single_leg_cmj left vs right"]
    truth = 100 * (0.17 - 0.15) / 0.17
    assert row["metric"] == "asym_jump_height_pct" and abs(row["value"] - truth) < 1.0, row["value"]
    assert row["n_valid"] == 4 and "percent_max" in row["method"]
    # only one side run: no such row
    one_side = aggregates_table([(t, t.outcome) for t in trials[::2]])
    assert "single_leg_cmj left vs right" not in one_side["label"].values
