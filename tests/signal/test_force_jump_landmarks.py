"""Jumps on real-looking records: the weighing window found automatically, exact take-off
and landing, cropped records and unusual jumps, all against analytic truth
(tests/signal/jump_truth.py: continuous force profiles, truth integrated on a 1 MHz grid).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.errors import SignalError
from labkit.signal import force
from tests.signal.jump_truth import G, jump, step_on

FS = (1000.0, 2000.0)


def _errors(r, j, fs):
    return {"v_pct": 100 * abs(r.takeoff_velocity_m_s / j.v_to - 1),
            "h_pct": 100 * abs(r.jump_height_m / j.height_m - 1),
            "takeoff_smp": abs(r.takeoff_s - j.takeoff_s) * fs,
            "landing_smp": abs(r.landing_s - j.landing_s) * fs,
            "flight_smp": abs(r.flight_time_s - j.flight_s) * fs}  # fmt: skip


# ----------------------------------------------------------------------------- weighing


@pytest.mark.parametrize("fs", FS)
def test_weighing_after_an_empty_plate_is_found(fs):
    """2 s of empty plate, a step on, quiet standing, a CMJ: weighed on the standing."""
    bw = 785.0
    j = jump(fs=fs, bw=bw, before=step_on(fs, 2.0, 0.4, bw), quiet_s=1.5, seed=3)
    r = force.cmj(j.f, fs)
    assert r.weighing_where == "before" and r.weighing_start_s >= 2.4
    assert r.weighing_end_s <= j.onset_s
    assert abs(r.body_weight_n / bw - 1) < 0.005
    standing = j.f[round(2.4 * fs) : round(j.onset_s * fs)]
    assert abs(r.body_weight_n / standing.mean() - 1) < 0.005
    assert r.valid, r.flags
    assert abs(r.onset_s - j.onset_s) < 0.05
    e = _errors(r, j, fs)
    assert e["v_pct"] < 0.5 and e["h_pct"] < 1.0, e
    # the fixed window of old (the first second) would weigh the empty plate: refused
    with pytest.raises(SignalError, match=r"weighing_start_s=0.0: the window averages -?\d N"):
        force.cmj(j.f, fs, weighing_start_s=0.0)


def test_weighing_takes_the_stance_the_athlete_jumps_from():
    """On, off (longer than any flight), on again, jump: weighed on the second stance."""
    fs, bw = 2000.0, 700.0
    on1 = step_on(fs, 1.0, 0.3, bw)
    pre = np.r_[on1, np.full(round(2.0 * fs), bw), bw - step_on(fs, 0.0, 0.3, bw),
                np.zeros(round(2.5 * fs)), step_on(fs, 0.0, 0.3, bw)]  # fmt: skip
    j = jump(fs=fs, bw=bw, before=pre, quiet_s=1.2, seed=5)
    second_on = (on1.size + 2.0 * fs + 0.3 * fs + 2.5 * fs) / fs
    r = force.cmj(j.f, fs)
    assert r.weighing_start_s >= second_on + 0.3 and r.weighing_where == "before"
    assert abs(r.body_weight_n / bw - 1) < 0.005
    assert abs(r.onset_s - j.onset_s) < 0.05 and r.valid, r.flags
    assert _errors(r, j, fs)["v_pct"] < 0.5


def test_short_weighing():
    """0.4 s of quiet standing after stepping on and 0.3 s after landing: a 1 s weighing
    is refused with one line naming the fix; a 0.3 s weighing is found and correct."""
    fs, bw = 2000.0, 820.0
    j = jump(fs=fs, bw=bw, before=step_on(fs, 1.0, 0.3, bw), quiet_s=0.4, after_s=0.3, seed=2)
    with pytest.raises(SignalError, match=r"no quiet standing.*weighing_s") as exc:
        force.cmj(j.f, fs)
    assert "\n" not in str(exc.value)
    r = force.cmj(j.f, fs, weighing_s=0.3)
    assert r.weighing_where == "before" and abs(r.body_weight_n / bw - 1) < 0.005
    assert r.weighing_start_s >= 1.3 and r.valid, r.flags
    assert _errors(r, j, fs)["v_pct"] < 0.5


def test_no_quiet_standing_is_refused_never_weighed_near_zero():
    fs, bw = 1000.0, 750.0
    j = jump(fs=fs, bw=bw, before=step_on(fs, 1.0, 0.3, bw), quiet_s=2.0, after_s=0.5, seed=1)
    f = j.f.copy()
    t = np.arange(f.size) / fs
    moving = (t > 1.3) & (t < j.onset_s) | (t > j.landing_s)
    f[moving] += 120.0 * np.sin(2 * np.pi * 1.5 * t[moving])  # swaying, never still
    with pytest.raises(SignalError, match="no quiet standing") as exc:
        force.cmj(f, fs)
    assert "moved by" in str(exc.value) and "weighing_start_s" in str(exc.value)
    with pytest.raises(SignalError, match="none is loaded throughout"):
        force.cmj(np.random.default_rng(0).normal(0.0, 3.0, 5000), fs)  # an empty plate


@pytest.mark.parametrize("fs", FS)
def test_squat_jump_weighed_after_landing_to_the_last_sample(fs):
    """A squat jump that starts 0.4 s before the push: no quiet second before it, so the
    athlete is weighed after landing. The landing impact still fades over the record's
    last second, so the stillest window is the one ending at the last sample."""
    bw = 760.0
    j = jump(fs=fs, bw=bw, t1=1e-9, dip_frac=0.0, push=1500.0, quiet_s=0.4, after_s=1.42, seed=4)
    r = force.squat_jump(j.f, fs)
    assert r.weighing_where == "after"
    assert r.weighing_end_s == pytest.approx(j.f.size / fs)
    assert abs(r.body_weight_n / bw - 1) < 0.005
    assert r.jump_type == "squat" and r.valid, r.flags
    e = _errors(r, j, fs)
    assert e["v_pct"] < 0.5 and e["h_pct"] < 1.0, e


# ----------------------------------------------------------------------------- take-off


CASES = [("constant", 0.005, 2.0), ("smooth", 0.0, 2.0), ("smooth", 0.010, 2.0)]


@pytest.mark.parametrize("fs", FS)
@pytest.mark.parametrize(("kind", "taper_s", "noise_n"), CASES)
def test_takeoff_and_landing_against_analytic_truth(kind, taper_s, noise_n, fs):
    """Constant-force and smooth profiles, 20 seeds with landmarks between samples:
    v_TO within 0.5 %, heights within 1 %, take-off and landing within 2 samples,
    flight time within 3."""
    worst = dict.fromkeys(("v_pct", "h_pct", "takeoff_smp", "landing_smp", "flight_smp"), 0.0)
    for seed in range(20):
        j = jump(kind, fs=fs, taper_s=taper_s, noise_n=noise_n, seed=seed, phase=(0.37 * seed) % 1)
        r = force.cmj(j.f, fs)
        assert r.valid, (seed, r.flags)
        for k, v in _errors(r, j, fs).items():
            worst[k] = max(worst[k], v)
        h_f = G * r.flight_time_s**2 / 8
        assert abs(h_f / j.height_m - 1) < 0.01
    print(f"{kind} taper {taper_s * 1e3:.0f} ms noise {noise_n} N at {fs:.0f} Hz: worst "
          + ", ".join(f"{k} {v:.3f}" for k, v in worst.items()))
    assert worst["v_pct"] < 0.5 and worst["h_pct"] < 1.0
    assert worst["takeoff_smp"] <= 2 and worst["landing_smp"] <= 2 and worst["flight_smp"] <= 3


@pytest.mark.parametrize("fs", FS)
def test_force_fading_smoothly_to_zero_is_integrated_to_the_end(fs):
    """The last 10 ms of the push fade to 0 N with zero slope: the refined take-off keeps
    v_TO within 0.5 % and the height within 1 %; the bare 20 N threshold crossing cuts the
    push short (more than 0.5 % on v_TO)."""
    for seed in range(10):
        j = jump("smooth", fs=fs, taper_s=0.010, noise_n=0.5, seed=seed, phase=(0.61 * seed) % 1)
        r = force.cmj(j.f, fs)
        e = _errors(r, j, fs)
        assert e["v_pct"] < 0.5 and e["h_pct"] < 1.0, (seed, e)
    bare = force.cmj(j.f, fs, takeoff_n=20.0, takeoff_refine=False)
    assert abs(bare.takeoff_velocity_m_s / j.v_to - 1) > 0.005


def test_threshold_comes_from_the_flight_noise_or_is_fixed():
    fs = 2000.0
    j = jump(fs=fs, noise_n=3.0, seed=9)
    r = force.cmj(j.f, fs)
    assert r.flight_sd_n == pytest.approx(3.0, rel=0.15)
    assert abs(r.flight_baseline_n) < 1.0
    assert r.takeoff_threshold_n == pytest.approx(r.flight_baseline_n + 5 * r.flight_sd_n)
    quiet = jump(fs=fs, noise_n=0.0)
    assert force.cmj(quiet.f, fs).takeoff_threshold_n == 5.0  # takeoff_min_n
    fixed = force.cmj(j.f, fs, takeoff_n=30.0)
    assert fixed.takeoff_threshold_n == 30.0 and fixed.params["takeoff_n"] == 30.0
    assert abs(fixed.takeoff_s - r.takeoff_s) * fs < 1.0  # refined to the same baseline


# ----------------------------------------------------------------------------- cropped, unusual


@pytest.mark.parametrize("fs", FS)
def test_record_cropped_just_after_takeoff(fs):
    """Cropped 5 ms after take-off: v_TO and the impulse height equal the whole trial's
    within 0.5 %; flight metrics are NaN with the no_landing flag, the rest is there."""
    j = jump(fs=fs, seed=6, phase=0.3)
    whole = force.cmj(j.f, fs)
    cut = force.cmj(j.f[: math.ceil((j.takeoff_s + 0.005) * fs)], fs)
    assert abs(cut.takeoff_velocity_m_s / whole.takeoff_velocity_m_s - 1) < 0.005
    assert abs(cut.jump_height_m / whole.jump_height_m - 1) < 0.005
    assert abs(cut.takeoff_velocity_m_s / j.v_to - 1) < 0.005
    assert cut.flags == ("no_landing",)
    assert math.isnan(cut.flight_time_s) and math.isnan(cut.jump_height_flight_m)
    assert math.isnan(cut.landing_s)
    for key in ("peak_force_n", "countermovement_depth_m", "rsi_mod", "peak_power_w"):
        assert getattr(cut, key) == pytest.approx(getattr(whole, key), rel=1e-3), key
    assert cut.jump_type == "countermovement"


def test_slow_deep_countermovement_with_a_small_force_dip():
    """A 1.2 s countermovement whose force dips only 100 N below body weight lowers the
    centre of mass by about 29 cm: a countermovement jump with unweighting and braking."""
    fs, bw = 2000.0, 785.0
    m = bw / G
    dip, t1 = 100.0, 1.2
    j = jump(fs=fs, bw=bw, t1=t1, dip_frac=dip / bw, seed=8)
    r = force.cmj(j.f, fs)
    depth = dip * t1**2 / (2 * math.pi * m)  # lowest point of the -dip sin(2 pi s / t1) phase
    assert bw - r.min_force_n < 110.0
    assert r.jump_type == "countermovement" and r.valid, r.flags
    assert r.countermovement_depth_m == pytest.approx(depth, rel=0.02)
    ph = r.phases
    assert ph["unweighting"][1] == pytest.approx(j.onset_s + t1 / 2, abs=0.01)  # peak down velocity
    # lowest point: the force is back at BW there (zero acceleration), so velocity touches
    # zero tangentially and the crossing is ill-conditioned: 30 ms
    assert ph["braking"][1] == pytest.approx(j.onset_s + t1, abs=0.03)
    assert "wrong_jump_type" in force.squat_jump(j.f, fs).flags


def test_batch_layout_equals_the_per_record_layout():
    """jump_layouts (all records at once) gives every record the layout layout() gives it:
    stepped on after an empty start, weighed after landing (a squat jump without a quiet
    start: the per-record path), cropped after take-off, and a record without a flight; a
    record with no quiet standing is refused naming its trial."""
    from labkit.signal import _jump_phases
    from labkit.signal.force_jump import _jump_defaults

    fs, bw = 1000.0, 750.0
    recs = [jump(fs=fs, seed=1).f,
            jump(fs=fs, bw=bw, before=step_on(fs, 2.0, 0.3, bw), seed=2).f,
            jump(fs=fs, bw=760.0, t1=1e-9, dip_frac=0.0, push=1500.0, quiet_s=0.4, after_s=1.42,
                 seed=4).f,
            jump(fs=fs, seed=6, phase=0.3).f[:2300],
            np.full(3000, bw) + np.random.default_rng(3).normal(0.0, 2.0, 3000)]  # fmt: skip
    n = max(r.size for r in recs)
    F = np.zeros((len(recs), n))
    for i, r in enumerate(recs):
        F[i, : r.size] = r
    lengths = np.array([r.size for r in recs], dtype=np.int64)
    for kw in (_jump_defaults(), _jump_defaults(takeoff_n=20.0), _jump_defaults(weighing_s=0.5)):
        got = _jump_phases.layouts(F, lengths, fs, kw)
        want = [_jump_phases.layout(r, fs, kw) for r in recs]
        assert [g.where for g in got] == ["before", "before", "after", "before", "before"]
        for g, w in zip(got, want, strict=True):
            assert g == w or (math.isnan(g.flight_sd_n) and g.__dict__.keys() == w.__dict__.keys()
                              and all(a == b or (a != a and b != b) for a, b in
                                      zip(g.__dict__.values(), w.__dict__.values(), strict=True)))
    swaying = F.copy()
    t = np.arange(n) / fs
    swaying[4] += 120.0 * np.sin(2 * np.pi * 1.5 * t)
    with pytest.raises(SignalError, match=r"trials\[4\]: no quiet standing"):
        _jump_phases.layouts(swaying, lengths, fs, _jump_defaults())
