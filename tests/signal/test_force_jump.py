"""Jumps: constant-force squat jump with exact answers, a constructed CMJ with closed-form
landmarks, validity flags, batch, and the real recording GRFZjump.txt.

Real data: data/force/GRFZjump.txt from demotu/BMC (Marcos Duarte, Notes on
Scientific Computing for Biomechanics and Motor Control, data/), CC BY 4.0. One vertical
force column (N) at 600 Hz. Known answers (BMC notebook): with takeoff/landing at 10 N
above the minimum force and g = 9.8, takeoff 0.907 s, landing 1.323 s, flight-time jump
height 0.213 m.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from labkit.errors import SignalError
from labkit.signal import force

DATA = Path(__file__).resolve().parents[2] / "data" / "force"
G = 9.80665


def squat_jump_trace(*, fs=1000.0, bw=700.0, quiet=1500, push=300, flight=500, after=800):
    """Piecewise-linear constant-force squat jump whose physics is exact.

    Knots: BW up to sample i0, then F for ``push`` samples, 0 N at the takeoff sample T
    and for ``flight`` intervals (flight time = flight / fs exactly), then landing.
    F is solved so that the net impulse of the polyline up to T, J = dt [(F - BW)(i1 -
    i0) - BW / 2], gives the takeoff velocity v = g t_f / 2 that the flight implies.
    """
    i0 = quiet
    i1 = i0 + push
    f_push = bw + bw * (flight + 1) / (2 * push)
    f = np.concatenate(
        [
            np.full(i0 + 1, bw),  # samples 0..i0
            np.full(push, f_push),  # i0+1..i1
            np.zeros(flight + 1),  # T = i1+1 .. T+flight
            np.full(60, 2.5 * bw),  # landing impact
            np.full(after, bw),
        ]
    )
    t_f = flight / fs
    return f, fs, bw, f_push, i1 + 1, t_f


def test_constant_force_squat_jump_exact_velocity_and_both_heights():
    f, fs, bw, f_push, T, t_f = squat_jump_trace()
    r = force.squat_jump(f, fs, timing="sample")
    v = G * t_f / 2  # takeoff velocity implied by the flight time
    h = v**2 / (2 * G)
    # and the same v from the impulse, in closed form
    m = bw / G
    J = (1 / fs) * ((f_push - bw) * 300 - bw / 2)
    assert J / m == pytest.approx(v, rel=1e-12)
    assert r.takeoff_s == T / fs
    assert r.flight_time_s == pytest.approx(t_f, rel=1e-12)
    assert abs(r.takeoff_velocity_m_s - v) / v < 1e-9
    assert abs(r.jump_height_m - h) / h < 1e-9
    assert abs(r.jump_height_flight_m - h) / h < 1e-9
    assert r.jump_type == "squat" and r.valid, r.flags
    assert math.isnan(r.phases["braking"][0]) and r.phases["propulsion"][1] == r.takeoff_s
    assert r.peak_force_n == f_push
    assert r.time_to_takeoff_s == pytest.approx(T / fs - r.onset_s)
    assert r.rsi_mod == pytest.approx(r.jump_height_m / r.time_to_takeoff_s)


def test_refined_timing_is_exact_and_threshold_timing_is_biased():
    """Default: threshold crossings refined to the flight baseline, so on the exact trace
    takeoff and landing are the knots. Unrefined (``takeoff_refine=False``, a fixed 20 N)
    the crossings lie 20/F of a sample before takeoff and 20/F_land after landing."""
    f, fs, bw, f_push, T, t_f = squat_jump_trace()
    r = force.squat_jump(f, fs)
    land_knot = (T + 500) / fs
    assert r.takeoff_s == pytest.approx(T / fs, rel=1e-12)
    assert r.landing_s == pytest.approx(land_knot, rel=1e-12)
    assert r.flight_time_s == pytest.approx(t_f, rel=1e-9)
    assert abs(r.jump_height_m - G * t_f**2 / 8) / (G * t_f**2 / 8) < 1e-9
    r = force.squat_jump(f, fs, takeoff_n=20.0, takeoff_refine=False)
    assert r.takeoff_s == pytest.approx((T - 20.0 / f_push) / fs, rel=1e-12)
    assert r.landing_s == pytest.approx(land_knot + 20.0 / (2.5 * bw) / fs, rel=1e-12)
    # impulse-momentum height moves by less than the net impulse of one sample
    assert abs(r.jump_height_m - G * t_f**2 / 8) < 1e-3


def cmj_trace(fs=2000.0, bw=750.0, u=300.0, tu=0.2, b=600.0, tb=0.1, p=900.0, tp=0.25):
    """Countermovement: unweighting BW-u for tu, braking BW+b for tb (u tu = b tb: zero
    velocity at the end of braking), propulsion BW+p for tp, then flight and landing."""
    seg = [(1.5, bw), (tu, bw - u), (tb, bw + b), (tp, bw + p), (0.45, 0.0), (0.1, 2.5 * bw),
           (0.6, bw)]  # fmt: skip
    f = np.concatenate([np.full(round(d * fs), v) for d, v in seg])
    return f, fs


def test_cmj_landmarks_and_phases_match_closed_form():
    f, fs = cmj_trace()
    bw, u, tu, b, tb, p, tp = 750.0, 300.0, 0.2, 600.0, 0.1, 900.0, 0.25
    m = bw / G
    r = force.cmj(f, fs)
    dt = 1 / fs
    assert r.jump_type == "countermovement" and r.valid, r.flags
    assert r.onset_s == pytest.approx(1.5 - 0.030, abs=dt)
    ph = r.phases
    assert ph["unweighting"][1] == pytest.approx(1.5 + tu, abs=dt)  # B: force back at BW
    assert ph["braking"][1] == pytest.approx(1.5 + tu + tb, abs=dt)  # Z: zero velocity
    assert ph["propulsion"][1] == pytest.approx(1.5 + tu + tb + tp, abs=dt)
    # takeoff velocity: net impulse of propulsion over m (one-sample edges: O(dt))
    v = p * tp / m
    assert r.takeoff_velocity_m_s == pytest.approx(v, rel=5e-3)
    assert r.jump_height_m == pytest.approx(v**2 / (2 * G), rel=1e-2)
    # depth: s at Z = -(u/m) tu^2/2 - (u/m) tu tb + (b/m) tb^2/2
    depth = (u / m) * tu**2 / 2 + (u / m) * tu * tb - (b / m) * tb**2 / 2
    assert r.countermovement_depth_m == pytest.approx(depth, rel=1e-2)
    assert r.flight_time_s == pytest.approx(0.45, abs=2 * dt)
    assert r.mean_braking_force_n == pytest.approx(bw + b, rel=1e-2)
    assert r.mean_propulsive_force_n == pytest.approx(bw + p, rel=1e-2)
    assert r.peak_power_w == pytest.approx((bw + p) * v, rel=1e-2)
    assert ph["landing"][0] == r.landing_s and ph["landing"][1] > r.landing_s
    d = r.to_dict()
    assert d["braking_duration_s"] == pytest.approx(tb, abs=2 * dt)
    assert all(np.isscalar(x) for x in d.values())
    assert r.params["method"] == "cmj" and r.params["takeoff_n"] is None


def test_jump_flags():
    f, fs = cmj_trace()
    assert "wrong_jump_type" in force.squat_jump(f, fs).flags
    sj, fs1, *_ = squat_jump_trace()
    assert "wrong_jump_type" in force.cmj(sj, fs1).flags
    # squat jump with a small dip before the push: a countermovement fault
    dip = sj.copy()
    dip[1400:1450] -= 60.0
    assert "countermovement" in force.squat_jump(dip, fs1, timing="sample").flags
    # no landing: the record ends in the air
    assert "no_landing" in force.cmj(f[: round(2.3 * fs)], fs).flags
    # a hop of 50 ms: flight time out of range
    hop = np.concatenate([np.full(3000, 750.0), np.full(200, 1000.0), np.zeros(100),
                          np.full(1000, 750.0)])  # fmt: skip
    assert "flight_time_out_of_range" in force.cmj(hop, fs).flags
    # unstable weighing and no takeoff (stays on the plate)
    wobble = f.copy()
    wobble[:2000] += np.linspace(0, 80, 2000)
    assert "unstable_weighing" in force.cmj(wobble, fs, weighing_start_s=0.0).flags
    stay = np.concatenate([np.full(3000, 750.0), np.full(1000, 900.0), np.full(1000, 750.0)])
    assert force.cmj(stay, fs).flags[:1] == ("no_takeoff",)
    with pytest.raises(SignalError, match="timing"):
        force.cmj(f, fs, timing="nearest")


def test_cmj_batch_equals_single():
    f, fs = cmj_trace()
    sj, _, *_ = squat_jump_trace(fs=2000.0)
    trials = [f, f[::-1].copy(), sj]
    df = force.cmj_batch(trials, fs, weighing_s=0.5)  # sj at 2 kHz stands still for 0.75 s
    for i, tr in enumerate(trials):
        one = force.cmj(tr, fs, weighing_s=0.5).to_dict()
        for k, v in one.items():
            if isinstance(v, str | bool | np.bool_):
                assert df.iloc[i][k] == v, k
            else:
                np.testing.assert_allclose(df.iloc[i][k], v, rtol=1e-12, equal_nan=True, err_msg=k)


def grfz():
    path = DATA / "GRFZjump.txt"
    if not path.is_file():
        pytest.fail(f"real recording missing: {path}: it ships in data/ (data/README.md)")
    return np.loadtxt(path)


# Parameters for this recording: only ~0.1 s of quiet standing before the movement, and
# flight noise of about +-10 N around a few N, so the threshold min(F) + 10 N lies inside
# the noise: runs above it last up to 11 samples (18 ms) in the air. Takeoff is the first
# sample below (no hold); landing must stay above for 25 ms.
GRFZ = {"weighing_s": 0.1, "takeoff_n": 10.0, "takeoff_ref": "min", "g": 9.8,
        "takeoff_hold_s": 0.0, "landing_hold_s": 0.025}  # fmt: skip


@pytest.mark.parametrize("timing", ["sample", "interpolate"])
def test_real_cmj_grfzjump(timing):
    f = grfz()
    fs = 600.0
    r = force.cmj(f, fs, timing=timing, **GRFZ)
    assert abs(r.takeoff_s - 0.907) <= 1 / fs
    assert abs(r.landing_s - 1.323) <= 1 / fs
    assert abs(r.jump_height_flight_m - 0.213) <= 1e-3
    # impulse-momentum height reported beside it (BW from only 0.1 s: +-2 cm here)
    print(f"GRFZjump [{timing}]: takeoff {r.takeoff_s:.4f} s, landing {r.landing_s:.4f} s, "
          f"flight height {r.jump_height_flight_m:.4f} m, impulse-momentum height "
          f"{r.jump_height_m:.4f} m (v_TO {r.takeoff_velocity_m_s:.3f} m/s, BW "
          f"{r.body_weight_n:.1f} N)")  # fmt: skip
    assert 0.15 < r.jump_height_m < 0.30
    assert r.jump_type == "countermovement" and r.valid, r.flags
    ph = r.phases
    assert r.onset_s < ph["unweighting"][1] < ph["braking"][1] < r.takeoff_s
