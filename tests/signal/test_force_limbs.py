"""Per-limb metrics and asymmetry: the formulas' known values, impulses that add up, and
the simulated athlete with a known left/right asymmetry (every index within 1 percentage
point of the truth, sign right)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.devices.sim.athlete import Athlete, AthleteParams, sample_grid
from labkit.errors import ConfigError, SignalError
from labkit.signal import force
from tests.signal.jump_truth import jump

FS = 2000.0


def truth_indices(left: float, right: float) -> dict[str, float]:
    """The formulas written out once more, from their sources."""
    return {"percent_max": 100 * (left - right) / max(left, right),
            "percent_mean": 100 * (left - right) / ((left + right) / 2),
            "percent_total": 100 * (left - right) / (left + right),
            "limb_symmetry_index": 100 * left / right,
            "symmetry_angle": (math.degrees(math.atan(left / right)) - 45) / 90 * 100}  # fmt: skip


def test_formulas_known_values_and_registry():
    assert set(force.ASYMMETRY_FORMULAS) == set(truth_indices(1, 1))
    # L = 100, R = 88: 12 % below the stronger limb
    want = {"percent_max": 12.0, "percent_mean": 12.765957, "percent_total": 6.382979,
            "limb_symmetry_index": 113.636364, "symmetry_angle": 4.058025}  # fmt: skip
    for name, value in want.items():
        assert force.asymmetry(100.0, 88.0, name) == pytest.approx(value, abs=1e-6), name
        mirrored = force.asymmetry(88.0, 100.0, name)
        assert mirrored == pytest.approx(88.0 if name == "limb_symmetry_index" else -value, abs=1e-6)
        assert truth_indices(100.0, 88.0)[name] == pytest.approx(value, abs=1e-6)
    assert force.asymmetry(-5.0, -4.0) == pytest.approx(20.0)  # magnitudes: unweighting impulses
    assert math.isnan(force.asymmetry(0.0, 0.0))
    with pytest.raises(SignalError, match="unknown; use one of percent_max"):
        force.asymmetry(1.0, 2.0, "ratio")


def test_per_limb_impulses_add_up_to_the_total():
    j = jump(fs=FS, seed=2)
    rng = np.random.default_rng(4)
    share = 0.5 + 0.08 * np.sin(np.arange(j.f.size) / 300.0)  # the split wanders
    left = j.f * share + rng.normal(0, 1.0, j.f.size)
    right = j.f - left
    r = force.cmj(left + right, FS)
    lb = force.limbs_of(r, left, right, FS)
    for key in ("unweighting_impulse_ns", "braking_impulse_ns", "propulsive_impulse_ns",
                "push_impulse_ns", "weight_n", "mean_propulsive_force_n"):  # fmt: skip
        total = lb.total[key]
        assert abs(lb.left[key] + lb.right[key] - total) <= 1e-9 * max(1.0, abs(total)), key
    m = r.body_weight_n / 9.80665
    # impulse-momentum: the push's net impulse over m is v_TO (the last fraction of a sample
    # is the polyline here and the line to the flight baseline in v_TO: ~1e-6)
    assert lb.total["push_impulse_ns"] / m == pytest.approx(r.takeoff_velocity_m_s, rel=1e-5)
    assert lb.total["weight_n"] == pytest.approx(r.body_weight_n, rel=1e-12)
    d = lb.to_dict()
    assert d["asymmetry_formula"] == "percent_max" and "asym_propulsive_impulse_pct" in d
    assert lb.params["formula_expression"] == "(L - R) / max(L, R) * 100"


def _athlete_trial(task: str, asym: float, seed: int = 0):
    a = Athlete(AthleteParams(limb_asymmetry_pct=asym, seed=seed))
    e = a.go(task, cue_s=3.0, trial=1)
    _, t = sample_grid(0.5, e.end_s + (0.5 if task == "cmj" else 1.0), FS)
    loads = a.plate_loads(t)
    rng = np.random.default_rng(seed)
    fl = loads[:, 0, 2] + rng.normal(0, 1.5, t.size)
    fr = loads[:, 1, 2] + rng.normal(0, 1.5, t.size)
    return a, e, fl, fr


@pytest.mark.parametrize("asym", [12.0, -12.0])
@pytest.mark.parametrize("task", ["cmj", "imtp"])
def test_simulated_asymmetry_is_recovered_by_every_formula(task, asym):
    a, _, fl, fr = _athlete_trial(task, asym)
    share = a.params.left_fraction
    truth = truth_indices(share, 1 - share)
    assert truth["percent_max"] == pytest.approx(asym, abs=1e-9)
    r = force.cmj(fl + fr, FS) if task == "cmj" else force.isometric(fl + fr, FS, weighing_start_s=1.0)
    assert r.valid, r.flags
    keys = (("peak_force_n", "braking_impulse_ns", "propulsive_impulse_ns", "push_impulse_ns",
             "mean_propulsive_force_n", "weight_n") if task == "cmj" else
            ("peak_force_n", "net_peak_force_n", "impulse_0_100ms_ns", "impulse_0_250ms_ns",
             "rfd_0_200ms_n_s", "weight_n"))  # fmt: skip
    worst = 0.0
    for name, want in truth.items():
        lb = force.limbs_of(r, fl, fr, FS, formula=name)
        assert lb.params["formula"] == name
        for key in keys:
            got = lb.asymmetry_pct[key]
            worst = max(worst, abs(got - want))
            assert abs(got - want) < 1.0, (name, key, got, want)
            assert np.sign(got - (100 if name == "limb_symmetry_index" else 0)) == np.sign(asym)
    print(f"{task} {asym:+.0f} %: worst asymmetry error {worst:.3f} percentage points")


def test_athlete_asymmetry_parameter():
    p = AthleteParams(limb_asymmetry_pct=12.0)
    assert p.left_fraction == pytest.approx(1 / 1.88)
    assert AthleteParams(limb_asymmetry_pct=-12.0).left_fraction == pytest.approx(0.88 / 1.88)
    assert AthleteParams().left_fraction == 0.5
    with pytest.raises(ConfigError, match="set one of them"):
        AthleteParams(limb_asymmetry_pct=5.0, left_share=0.6).validate()
    with pytest.raises(ConfigError, match="within"):
        AthleteParams(limb_asymmetry_pct=100.0).validate()
    a = Athlete(p)
    e = a.go("cmj", cue_s=1.0, trial=1)
    assert a.truth(e)[0]["left_fraction"] == pytest.approx(1 / 1.88, abs=1e-6)


def test_limbs_batch_equals_limbs_of_on_every_trial():
    trials = [_athlete_trial("cmj", asym, seed) for seed, asym in enumerate((12.0, -7.0, 0.0))]
    n = min(fl.size for _, _, fl, _ in trials)
    FL = np.stack([fl[:n] for _, _, fl, _ in trials])
    FR = np.stack([fr[:n] for _, _, _, fr in trials])
    table = force.cmj_batch(FL + FR, FS)
    for formula in force.ASYMMETRY_FORMULAS:
        lb = force.limbs_batch(table, FL, FR, FS, formula=formula)
        assert lb.attrs["params"]["formula"] == formula
        for t in range(len(table)):
            want = force.limbs_of(force.cmj(FL[t] + FR[t], FS), FL[t], FR[t], FS, formula=formula).to_dict()
            assert list(lb.columns) == list(want)
            for key, value in want.items():
                if isinstance(value, str):
                    assert lb[key].iloc[t] == value
                else:
                    assert lb[key].iloc[t] == pytest.approx(value, rel=1e-12, abs=1e-9, nan_ok=True), key
    assert lb["asym_propulsive_impulse_pct"].iloc[0] > 0 > lb["asym_propulsive_impulse_pct"].iloc[1]
    with pytest.raises(SignalError, match="same trials"):
        force.limbs_batch(table, FL[:2], FR[:2], FS)
    with pytest.raises(SignalError, match="formula='ratio' is unknown"):
        force.limbs_batch(table, FL, FR, FS, formula="ratio")
