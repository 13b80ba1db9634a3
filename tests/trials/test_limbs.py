"""Dual-plate trials carry per-limb metrics and asymmetry into the trial's metrics (and so
the trials table), with the formula in the provenance; the simulated athlete's 12 %
asymmetry comes back from the trial analysis."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.config.protocol import TrialStep
from labkit.devices.sim.athlete import Athlete, AthleteParams, sample_grid
from labkit.signal.window import Window
from labkit.trials.analyse import analyse_trial
from labkit.trials.protocols import check_trial_options

FS = 2000.0


def _window(task: str, asym: float) -> Window:
    a = Athlete(AthleteParams(limb_asymmetry_pct=asym, seed=3))
    e = a.go(task, cue_s=5.0, trial=1)
    _, t = sample_grid(5.0 - 1.5, e.end_s + (0.5 if task == "cmj" else 1.0), FS)  # quiet_s 1.5
    loads = a.plate_loads(t)
    data = np.column_stack([loads[:, 0, 2], loads[:, 1, 2], loads[:, 0, 5], loads[:, 1, 5]])
    data += np.random.default_rng(1).normal(0.0, 1.5, data.shape)
    return Window(["fp1.Fz", "fp2.Fz", "fp1.Mz", "fp2.Mz"], data, t, FS, "force")


@pytest.mark.parametrize(("test", "task", "key"), [
    ("cmj", "cmj", "asym_propulsive_impulse_pct"),
    ("squat_jump", "cmj", "asym_peak_force_pct"),
    ("imtp", "imtp", "asym_net_peak_force_pct"),
    ("isometric_squat", "imtp", "asym_impulse_0_200ms_pct"),
])  # fmt: skip
def test_dual_plate_trials_report_limbs_and_asymmetry(test, task, key):
    step = TrialStep(test=test, analysis={"asymmetry": "percent_mean"}, effort_s=5.0)
    out = analyse_trial(step, _window(task, 12.0), None, body_weight_n=784.5)
    want = 100 * 0.12 / 0.94  # (L - R) / mean for L = R / 0.88
    assert out.metrics[key] == pytest.approx(want, abs=1.0), out.reasons
    weighed = out.metrics.get("baseline_n", out.metrics["body_weight_n"])  # isometric: baseline
    assert out.metrics["left_weight_n"] + out.metrics["right_weight_n"] == pytest.approx(weighed, rel=1e-9)
    assert out.metrics["asymmetry_formula"] == "percent_mean"
    lp = out.params["limbs"]
    assert lp["formula"] == "percent_mean" and lp["left"] == "fp1.Fz" and "Robinson" in lp["formula_source"]
    default = analyse_trial(TrialStep(test=test, effort_s=5.0), _window(task, -12.0), None,
                            body_weight_n=784.5)
    assert default.metrics[key] == pytest.approx(-12.0, abs=1.0)
    assert default.params["limbs"]["formula"] == "percent_max"


def test_asymmetry_option_is_checked_at_load():
    bad = TrialStep(test="cmj", analysis={"asymmetry": "ratio"})
    problems = check_trial_options(bad, try_them=False)
    assert problems and "asymmetry must be one of percent_max" in problems[0][1]
    assert check_trial_options(TrialStep(test="imtp", analysis={"asymmetry": "symmetry_angle"})) == []
    hip = check_trial_options(TrialStep(test="isometric_hip_extension", side="left",
                                        analysis={"asymmetry": "percent_max"}), try_them=False)
    assert hip and "unknown option 'asymmetry'" in hip[0][1]
