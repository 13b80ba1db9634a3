"""Drop jumps against the simulated athlete's closed-form truth (fall from the box, sine
contact, flight, landing): contact time within 2 samples, RSI within 2 %, at 1 and 2 kHz
with plate noise and landmarks between samples; double contact and long contacts flagged;
the trial analysis reports it with its reasons."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.config.protocol import TrialStep
from labkit.devices.sim.athlete import Athlete, AthleteParams, sample_grid
from labkit.signal import force
from labkit.signal.window import Window
from labkit.trials.analyse import analyse_trial

FS = (1000.0, 2000.0)


def sim_drop_jump(fs: float, *, cue: float = 11.5, noise_n: float = 1.5, seed: int = 0, **params):
    """Plates (left, right) of one simulated drop jump, its times and its truth message."""
    a = Athlete(AthleteParams(seed=seed, **params))
    a.get_on_box(cue - 1.5)  # announced with the trial, 1.5 s before GO
    e = a.go("drop_jump", cue_s=cue, trial=1)
    _, t = sample_grid(cue - 1.5, e.end_s + 0.8, fs)
    loads = a.plate_loads(t)
    rng = np.random.default_rng(seed)
    fl = loads[:, 0, 2] + rng.normal(0.0, noise_n, t.size)
    fr = loads[:, 1, 2] + rng.normal(0.0, noise_n, t.size)
    return fl, fr, t, a.truth(e)[0]


@pytest.mark.parametrize("fs", FS)
def test_drop_jump_against_truth(fs):
    worst = {"contact_smp": 0.0, "flight_smp": 0.0, "rsi_pct": 0.0, "height_pct": 0.0,
             "impulse_height_pct": 0.0, "touchdown_smp": 0.0}  # fmt: skip
    for seed in range(10):
        cue = 11.5 + 0.37 * seed / fs  # landmarks fall between samples
        fl, fr, t, tr = sim_drop_jump(fs, cue=cue, seed=seed)
        r = force.drop_jump(fl + fr, fs, drop_height_m=tr["box_height_m"])
        assert r.valid, (seed, r.flags)
        assert r.weighing_where == "after" and abs(r.body_weight_n / tr["body_weight_n"] - 1) < 0.005
        t0 = t[0]
        got = {"contact_smp": abs(r.contact_time_s - tr["contact_time_s"]) * fs,
               "flight_smp": abs(r.flight_time_s - tr["flight_time_s"]) * fs,
               "touchdown_smp": abs(t0 + r.touchdown_s - tr["touchdown_s"]) * fs,
               "rsi_pct": 100 * abs(r.rsi / tr["rsi"] - 1),
               "height_pct": 100 * abs(r.jump_height_m / tr["jump_height_m"] - 1),
               "impulse_height_pct": 100 * abs(r.jump_height_impulse_m / tr["jump_height_m"] - 1)}
        for k, v in got.items():
            worst[k] = max(worst[k], v)
        assert r.touchdown_velocity_m_s == pytest.approx(tr["touchdown_velocity_m_s"], rel=1e-6)  # down: -
        assert r.peak_force_n == pytest.approx(tr["peak_force_n"], rel=0.01)
        assert r.onset_s == r.touchdown_s
    print(f"drop jump at {fs:.0f} Hz, worst: " + ", ".join(f"{k} {v:.3f}" for k, v in worst.items()))
    assert worst["contact_smp"] <= 2 and worst["touchdown_smp"] <= 2 and worst["flight_smp"] <= 3
    assert worst["rsi_pct"] < 2.0 and worst["height_pct"] < 1.0 and worst["impulse_height_pct"] < 1.0


def test_double_contact_and_long_contact_are_flagged():
    fs = 2000.0
    fl, fr, t, tr = sim_drop_jump(fs)
    f = fl + fr
    td = tr["touchdown_s"]
    gap = (t > td + 0.02) & (t < td + 0.06)  # feet leave the plate for 40 ms after touching down
    f[gap] = np.random.default_rng(1).normal(0.0, 1.5, int(gap.sum()))
    r = force.drop_jump(f, fs)
    assert "double_contact" in r.flags and not r.valid
    fl, fr, _, _ = sim_drop_jump(fs, drop_jump_contact_s=0.35)
    long = fl + fr
    r = force.drop_jump(long, fs)
    assert r.flags == ("contact_too_long",)
    assert abs(r.contact_time_s - 0.35) * fs <= 2
    assert force.drop_jump(long, fs, max_contact_s=0.4).valid


def test_drop_jump_limbs_add_up():
    fs = 2000.0
    fl, fr, _, _ = sim_drop_jump(fs, limb_asymmetry_pct=12.0)
    r = force.drop_jump(fl + fr, fs)
    lb = force.limbs_of(r, fl, fr, fs)
    tot = lb.total["contact_impulse_ns"]
    assert abs(lb.left["contact_impulse_ns"] + lb.right["contact_impulse_ns"] - tot) < 1e-9 * tot
    assert lb.total["contact_impulse_ns"] == pytest.approx(r.contact_impulse_ns, rel=1e-12)
    assert lb.asymmetry_pct["contact_impulse_ns"] == pytest.approx(12.0, abs=1.0)


def test_drop_jump_trial_reports_rsi_and_reasons():
    fs = 2000.0
    fl, fr, t, tr = sim_drop_jump(fs)
    w = Window(["fp1.Fz", "fp2.Fz"], np.column_stack([fl, fr]), t, fs, "force")
    step = TrialStep(test="drop_jump", analysis={"drop_height_m": 0.30}, effort_s=3.5)
    out = analyse_trial(step, w, None)
    assert out.valid, out.reasons
    assert out.metrics["rsi"] == pytest.approx(tr["rsi"], rel=0.02)
    assert out.metrics["takeoff_time_s"] == pytest.approx(tr["takeoff_s"], abs=2 / fs)
    assert out.params["drop_height_m"] == 0.30 and out.method == "labkit.signal.force.drop_jump"
    assert "asym_contact_impulse_pct" in out.metrics
    slow = sim_drop_jump(fs, drop_jump_contact_s=0.4)
    w = Window(["fp1.Fz", "fp2.Fz"], np.column_stack(slow[:2]), slow[2], fs, "force")
    assert analyse_trial(step, w, None).reasons == (
        "contact too long for a reactive test (0.400 s, max 0.25 s)",)


@pytest.mark.parametrize("asym", [12.0, -12.0])
def test_drop_jump_asymmetry_every_formula_within_1_point_of_truth(asym):
    from tests.signal.test_force_limbs import truth_indices

    fs = 2000.0
    worst = 0.0
    for seed in range(3):
        fl, fr, _, tr = sim_drop_jump(fs, seed=seed, limb_asymmetry_pct=asym)
        share = AthleteParams(limb_asymmetry_pct=asym).left_fraction  # the simulated split
        truth = truth_indices(share, 1 - share)
        assert truth["percent_max"] == pytest.approx(asym, abs=1e-9)
        r = force.drop_jump(fl + fr, fs, drop_height_m=tr["box_height_m"])
        assert r.valid, r.flags
        # RSI and contact time of the asymmetric athlete stay within 2 % / 2 samples
        assert abs(r.rsi / tr["rsi"] - 1) < 0.02
        assert abs(r.contact_time_s - tr["contact_time_s"]) * fs <= 2
        for name, want in truth.items():
            lb = force.limbs_of(r, fl, fr, fs, formula=name)
            assert set(lb.asymmetry_pct) == {"weight_n", "peak_force_n", "net_peak_force_n",
                                             "contact_impulse_ns"}  # fmt: skip
            for key, got in lb.asymmetry_pct.items():
                worst = max(worst, abs(got - want))
                assert abs(got - want) < 1.0, (seed, name, key, got, want)
                assert np.sign(got - (100 if name == "limb_symmetry_index" else 0)) == np.sign(asym)
    print(f"drop jump {asym:+.0f} %: worst asymmetry error {worst:.3f} percentage points")
