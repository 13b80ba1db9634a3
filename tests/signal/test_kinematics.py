"""Kinematics with known answers: analytic rotations, frames, the simulated athlete's CMJs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.devices.sim.athlete import SEGMENTS, STREAMED_MARKERS, Athlete, AthleteParams
from labkit.errors import SignalError
from labkit.signal import kinematics as kin

DEG = np.pi / 180
I3 = np.eye(3)[None]


def _rot(a_deg, b_deg, c_deg):
    return kin.rotation_yxz(np.atleast_1d(a_deg) * DEG, np.atleast_1d(b_deg) * DEG,
                            np.atleast_1d(c_deg) * DEG)


# ------------------------------------------------------------------ analytic rotations

@settings(max_examples=200, deadline=None)
@given(st.floats(-179.9, 179.9), st.floats(-89.0, 89.0), st.floats(-179.9, 179.9))
def test_cardan_yxz_round_trip(a, b, c):
    got = kin.cardan_yxz(_rot(a, b, c))[0] / DEG
    np.testing.assert_allclose(got, [a, b, c], atol=1e-9)


@pytest.mark.parametrize("side", ["l", "r"])
def test_known_rotations_give_pig_signed_angles(side):
    s = 1 if side == "r" else -1
    # hip: thigh rotated by -30 deg about Y (its distal end forward) = 30 deg flexion;
    # adduction and internal rotation + on both sides (mirrored sign on the left)
    hip = kin.joint_angles(I3, _rot(-30, 10 * s, 20 * s), joint="hip", side=side)[0]
    np.testing.assert_allclose(hip, [30, 10, 20], atol=1e-9)
    # knee: shank rotated +45 deg about Y (distal end backward) = 45 deg flexion
    knee = kin.joint_angles(_rot(-30, 0, 0), _rot(15, -5 * s, 3 * s), joint="knee", side=side)[0]
    np.testing.assert_allclose(knee, [45, -5, 3], atol=1e-9)
    # ankle: the PiG foot (Z to the heel) is Ry(-90) from the shank at neutral
    foot = _rot(-90 - 20, 7 * s, -4 * s)  # 20 deg dorsiflexion, rotation 7, inversion -4
    ank = kin.joint_angles(I3, foot, joint="ankle", side=side)[0]
    np.testing.assert_allclose(ank, [20, -4, 7], atol=1e-9)
    plantar = kin.joint_angles(I3, _rot(-90 + 35, 0, 0), joint="ankle", side=side)[0]
    np.testing.assert_allclose(plantar, [-35, 0, 0], atol=1e-9)
    rad = kin.joint_angles(I3, _rot(-30, 0, 0), joint="hip", side=side, degrees=False)[0]
    assert rad[0] == pytest.approx(30 * DEG, abs=1e-12)


def test_near_gimbal_lock_is_exact_and_at_lock_documented():
    # 0.01 deg from the lock: still exact
    got = kin.cardan_yxz(_rot(25.0, 89.99, -40.0))[0] / DEG
    np.testing.assert_allclose(got, [25.0, 89.99, -40.0], atol=1e-6)
    got = kin.cardan_yxz(_rot(-60.0, -89.99, 10.0))[0] / DEG
    np.testing.assert_allclose(got, [-60.0, -89.99, 10.0], atol=1e-6)
    locked = _rot([25.0, 10.0], [90.0, 0.0], [-40.0, 5.0])
    # default: NaN in all three angles of the locked frame only
    out = kin.cardan_yxz(locked)
    assert np.all(np.isnan(out[0])) and np.allclose(out[1] / DEG, [10, 0, 5])
    with pytest.raises(SignalError, match=r"frame 0: .*gimbal lock.*on_gimbal_lock"):
        kin.cardan_yxz(locked, on_gimbal_lock="raise")
    # split: third angle 0, the first carries a - c (b = +90) or a + c (b = -90)
    out = kin.cardan_yxz(locked, on_gimbal_lock="split") / DEG
    np.testing.assert_allclose(out[0], [65.0, 90.0, 0.0], atol=1e-9)
    out = kin.cardan_yxz(_rot(25.0, -90.0, -40.0), on_gimbal_lock="split")[0] / DEG
    np.testing.assert_allclose(out, [-15.0, -90.0, 0.0], atol=1e-9)
    # the same rotation is rebuilt from the split angles
    np.testing.assert_allclose(_rot(*out)[0], _rot(25.0, -90.0, -40.0)[0], atol=1e-12)
    # tolerance widens the lock zone
    assert np.all(np.isnan(kin.cardan_yxz(_rot(0, 89.5, 0), gimbal_tol_deg=1.0)))
    with pytest.raises(SignalError, match="on_gimbal_lock='x'"):
        kin.cardan_yxz(locked, on_gimbal_lock="x")


def test_nan_frames_propagate_and_shapes_are_checked():
    r = np.repeat(_rot(-20, 0, 0), 3, axis=0)
    r[1] = np.nan
    out = kin.joint_angles(np.repeat(I3, 3, axis=0), r, joint="hip", side="r")
    assert np.isnan(out[1]).all() and np.allclose(out[[0, 2], 0], 20)
    with pytest.raises(SignalError, match="pass equal lengths"):
        kin.joint_angles(I3, r, joint="hip", side="r")
    with pytest.raises(SignalError, match="side='x' must be 'l' or 'r'"):
        kin.joint_angles(I3, I3, joint="hip", side="x")
    with pytest.raises(SignalError, match=r"shape \(3, 2\)"):
        kin.frames_from_points(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 2)))


def test_frames_from_points_and_quaternions_agree():
    rng = np.random.default_rng(5)
    a, b, c = rng.uniform(-60, 60, (3, 50))
    r = _rot(a, b, c)
    o = rng.normal(size=(50, 3))
    f = kin.frames_from_points(o, o + r[:, :, 0] * 0.1, o + r[:, :, 1] * 0.1, o + r[:, :, 2] * 0.1)
    np.testing.assert_allclose(f, r, atol=1e-12)
    # quaternion of each rotation (w, x, y, z)
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(r).as_quat()[:, [3, 0, 1, 2]] * 2.0  # not unit: normalised
    np.testing.assert_allclose(kin.frames_from_quaternions(q), r, atol=1e-12)
    with pytest.raises(SignalError, match="norm"):
        kin.frames_from_quaternions(q, normalise=False)
    # a left-handed point set is refused
    with pytest.raises(SignalError, match="left-handed"):
        kin.frames_from_points(o, o + r[:, :, 0], o - r[:, :, 1], o + r[:, :, 2])
    # offset: a foot body with x to the toes, z up, standing flat = PiG foot at -90 deg
    foot = kin.frames_from_quaternions([1.0, 0, 0, 0], offset=kin.FOOT_FORWARD_TO_PIG)
    assert kin.joint_angles(I3, foot, joint="ankle", side="r")[0, 0] == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------ simulated athlete

def _cmj(lags_s, fs=200.0, seconds=6.0):
    a = Athlete(AthleteParams(cmj_extension_lags_s=lags_s))
    e = a.go("cmj", cue_s=2.0)
    t = np.arange(int(seconds * fs)) / fs
    return a, a.cmj_landmarks(e), t


@pytest.mark.parametrize("route", ["segments", "markers"])
def test_simulated_frames_reproduce_the_athletes_angles(route):
    a, _lm, t = _cmj({"hip": 0.0, "knee": 0.03, "ankle": 0.06})
    truth = a.joint_angles(t)
    seg = a.segments(t)
    if route == "segments":
        frames = {}
        for i, name in enumerate(SEGMENTS):
            off = kin.FOOT_FORWARD_TO_PIG if name.startswith("foot") else None
            frames[name] = kin.frames_from_quaternions(seg[:, i, 3:], offset=off)
    else:
        # the streamed set, with Harrington's regression hip centre (no hip_centre given)
        pos = a.markers(t, STREAMED_MARKERS)
        frames = kin.frames_from_markers({nm: pos[:, i] for i, nm in enumerate(STREAMED_MARKERS)})
    ang = kin.lower_limb_angles(frames)
    # the simulated ASIS and PSIS sit at one height in the model pelvis, placed so that
    # Harrington's regression returns the model's hip centres: markers give the model's
    # angles exactly
    for side in ("l", "r"):
        for j in kin.JOINTS:
            np.testing.assert_allclose(ang.sagittal(j, side), np.rad2deg(truth[j]), atol=1e-9)
            np.testing.assert_allclose(ang[f"{j}_{side}"][:, 1:], 0.0, atol=1e-9)
    df = ang.to_frame(t)
    assert "hip_r.flexion" in df.columns and "ankle_l.dorsiflexion" in df.columns
    assert df.attrs["params"]["convention"] == "Plug-in Gait"


def test_regression_hip_centre_keeps_the_timing():
    """From the markers (Harrington's hip centre) the peak extension velocity times stay
    within one frame."""
    a, lm, t = _cmj({"hip": 0.01, "knee": 0.09, "ankle": 0.17})
    names = ["LASI", "RASI", "LPSI", "RPSI", "LKNE", "RKNE", "LKNM", "RKNM", "LANK", "RANK",
             "LANM", "RANM", "LHEE", "RHEE", "LTOE", "RTOE"]
    pos = a.markers(t, names)
    ang = kin.lower_limb_angles(kin.frames_from_markers({n: pos[:, i] for i, n in enumerate(names)}))
    r = kin.triple_extension(ang.sagittal("hip", "r"), ang.sagittal("knee", "r"),
                             ang.sagittal("ankle", "r"), 200.0, takeoff_s=lm["takeoff_s"])
    for j, want in (("hip", -0.120), ("knee", -0.080), ("ankle", -0.040)):
        assert r.peak_velocity_s[j] == pytest.approx(want, abs=0.005)


def _triple(a, lm, t, **kw):
    ang = a.joint_angles(t)
    return kin.triple_extension(np.rad2deg(ang["hip"]), np.rad2deg(ang["knee"]), np.rad2deg(ang["ankle"]),
                                200.0, takeoff_s=lm["takeoff_s"], **kw)


def test_triple_extension_proximal_to_distal_at_200hz():
    # peak extension velocity = midway between extension onset and take-off, so lags of
    # 10, 90, 170 ms after the lowest point (propulsion 250 ms) put them at -120/-80/-40 ms
    a, lm, t = _cmj({"hip": 0.01, "knee": 0.09, "ankle": 0.17})
    frame_ms = 5.0
    r = _triple(a, lm, t)
    for j, want in (("hip", -0.120), ("knee", -0.080), ("ankle", -0.040)):
        assert lm[f"{j}_peak_extension_velocity_s"] - lm["takeoff_s"] == pytest.approx(want, abs=1e-9)
        assert r.peak_velocity_s[j] == pytest.approx(want, abs=frame_ms / 1000)
        assert r.peak_velocity_deg_s[j] > 100
    assert r.lags_ms["hip_knee"] == pytest.approx(40.0, abs=frame_ms)
    assert r.lags_ms["knee_ankle"] == pytest.approx(40.0, abs=frame_ms)
    assert r.order == ("hip", "knee", "ankle")
    assert r.proximal_to_distal is True
    assert r.sequence == {"hip_knee": "proximal_first", "knee_ankle": "proximal_first"}
    # extension onsets (maximum flexion): the 10 Hz filter rounds the corner, so they come
    # up to 15 ms early; unfiltered within one frame
    for j in kin.JOINTS:
        true_on = lm[f"{j}_extension_onset_s"] - lm["takeoff_s"]
        assert true_on - 0.015 <= r.onset_s[j] <= true_on + 0.001
    raw = _triple(a, lm, t, lowpass_hz=None)
    for j in kin.JOINTS:
        assert raw.onset_s[j] == pytest.approx(lm[f"{j}_extension_onset_s"] - lm["takeoff_s"],
                                               abs=frame_ms / 1000)
    # distal segments lead in phase (positive CRP) during propulsion
    assert r.crp["hip_knee"]["mean_deg"] > 0 and r.crp["knee_ankle"]["mean_deg"] > 0
    assert r.crp_window_s[1] == 0.0
    assert r.params["lowpass_hz"] == 10.0 and r.params["tolerance_ms"] == 5.0
    row = r.to_dict()
    assert row["order"] == "hip>knee>ankle" and row["proximal_to_distal"] is True


def test_distal_first_jump_is_reported_as_such():
    a, lm, t = _cmj({"hip": 0.17, "knee": 0.09, "ankle": 0.01})
    r = _triple(a, lm, t)
    assert r.lags_ms["hip_knee"] == pytest.approx(-40.0, abs=5.0)
    assert r.lags_ms["knee_ankle"] == pytest.approx(-40.0, abs=5.0)
    assert r.order == ("ankle", "knee", "hip")
    assert r.proximal_to_distal is False
    assert r.sequence == {"hip_knee": "distal_first", "knee_ankle": "distal_first"}
    assert r.crp["hip_knee"]["mean_deg"] < 0


def test_simultaneous_extension_is_undecided_within_tolerance():
    a, lm, t = _cmj({"hip": 0.05, "knee": 0.05, "ankle": 0.06})  # knee-ankle lag 5 ms
    r = _triple(a, lm, t, tolerance_frames=2.0)
    assert r.sequence["hip_knee"] == "simultaneous"
    assert r.proximal_to_distal is None
    r1 = _triple(a, lm, t, tolerance_frames=1.0)
    assert r1.sequence["hip_knee"] == "simultaneous"
    with pytest.raises(SignalError, match=r"tolerance_frames=0\.5 must be >= 1"):
        _triple(a, lm, t, tolerance_frames=0.5)


def test_triple_extension_edges():
    a, lm, t = _cmj({"hip": 0.0, "knee": 0.03, "ankle": 0.06})
    ang = {j: np.rad2deg(v) for j, v in a.joint_angles(t).items()}
    hip = ang["hip"].copy()
    i = round((lm["takeoff_s"] - 0.1) * 200)
    hip[i] = np.nan
    with pytest.raises(SignalError, match=rf"hip angle\[{i}\] is NaN inside the search window"):
        kin.triple_extension(hip, ang["knee"], ang["ankle"], 200.0, takeoff_s=lm["takeoff_s"])
    # NaN far from the window is fine
    hip = ang["hip"].copy()
    hip[:10] = np.nan
    r = kin.triple_extension(hip, ang["knee"], ang["ankle"], 200.0, takeoff_s=lm["takeoff_s"])
    assert r.order == ("hip", "knee", "ankle")
    with pytest.raises(SignalError, match=r"takeoff_s=100\.0 is outside the record"):
        kin.triple_extension(ang["hip"], ang["knee"], ang["ankle"], 200.0, takeoff_s=100.0)
    # session times: t0_s shifts the time base, results stay relative to take-off
    r2 = kin.triple_extension(ang["hip"], ang["knee"], ang["ankle"], 200.0, t0_s=1000.0,
                              takeoff_s=lm["takeoff_s"] + 1000.0)
    assert r2.peak_velocity_s == pytest.approx(r.peak_velocity_s)
    # without take-off: absolute times on the input's time base
    r3 = kin.triple_extension(ang["hip"], ang["knee"], ang["ankle"], 200.0)
    assert r3.peak_velocity_s["hip"] == pytest.approx(lm["hip_peak_extension_velocity_s"], abs=0.005)
    r4 = _triple(a, lm, t, onset="fraction", onset_fraction=0.2)
    assert all(r4.onset_s[j] > r.onset_s[j] for j in kin.JOINTS)
    assert r4.params["onset"] == "fraction"


# ------------------------------------------------------------------ pelvis and gait

def test_pelvis_angles_known_rotations():
    # walking along +Y: a pelvis tilted 12 deg anteriorly, right side up 5 deg
    heading = kin.rotation_yxz(np.zeros(1), np.zeros(1), np.array([90 * DEG]))
    pel = heading @ _rot(12, -5, 8)
    origin = np.column_stack([np.zeros(2), [0.0, 2.0], np.ones(2)])
    r = kin.pelvis_angles(np.repeat(pel, 2, 0), side="r", origin_m=origin)
    np.testing.assert_allclose(r, [[12, 5, 8]] * 2, atol=1e-9)
    left = kin.pelvis_angles(np.repeat(pel, 2, 0), side="l", origin_m=origin)
    np.testing.assert_allclose(left, [[12, -5, -8]] * 2, atol=1e-9)
    # standing still: the pelvis' own facing direction (nearest lab axis) is used
    np.testing.assert_allclose(kin.pelvis_angles(pel, side="r")[0], [12, 5, 8], atol=1e-9)
    np.testing.assert_allclose(kin.pelvis_angles(pel, side="r", progression="+y")[0], [12, 5, 8],
                               atol=1e-9)
    with pytest.raises(SignalError, match="progression='north'"):
        kin.pelvis_angles(pel, progression="north")


def test_force_contacts_and_cadence_on_a_synthetic_run():
    fs = 1000.0
    t = np.arange(int(6 * fs)) / fs
    # right foot strikes every 0.7 s from 0.5 s, left 0.35 s later; contacts 0.25 s
    fz = {}
    for side, first in (("r", 0.5), ("l", 0.85)):
        f = np.zeros_like(t)
        for s0 in np.arange(first, 5.5, 0.7):
            m = (t >= s0) & (t < s0 + 0.25)
            f[m] = 1500 * np.sin(np.pi * (t[m] - s0) / 0.25)
        fz[side] = f
    con = {s: kin.foot_contacts_from_force(fz[s], fs) for s in fz}
    assert len(con["r"]) == 8 and len(con["l"]) == 7
    np.testing.assert_allclose(con["r"].strike_s, 0.5 + 0.7 * np.arange(8), atol=1.5e-3)
    np.testing.assert_allclose(con["r"].contact_time_s, 0.25, atol=3e-3)
    g = kin.gait_summary(con)
    assert g.cadence_steps_min == pytest.approx(60 / 0.35, rel=1e-3)  # 171.4 steps/min
    g1 = kin.gait_summary({"r": con["r"]})
    assert g1.cadence_steps_min == pytest.approx(60 / 0.35, rel=1e-3)
    assert g.mean_contact_time_s == pytest.approx(0.25, abs=3e-3)
    with pytest.raises(SignalError, match=r"fz_n\[3\] is not finite"):
        kin.foot_contacts_from_force(np.r_[0, 0, 0, np.nan, 0], fs)


def test_real_marker_sets_map_to_the_same_angles():
    """The simulated markers relabelled as Vicon PiG + medial (CGM2 names) or the IOR
    names of Qualisys/OptiTrack sets give the same angles; "auto" finds the set."""
    a, _lm, t = _cmj({"hip": 0.0, "knee": 0.03, "ankle": 0.06})
    pos = a.markers(t, STREAMED_MARKERS)
    ours = {nm: pos[:, i] for i, nm in enumerate(STREAMED_MARKERS)}
    want = kin.lower_limb_angles(kin.frames_from_markers(ours))
    role_of = {v.replace("{S}", s): (k, s) for k, v in kin.SIMPLE_MARKERS.items() for s in "LR"}
    for key in ("pig_med", "ior", "ior_underscore"):
        relabelled = {}
        for nm, p in ours.items():
            if nm in role_of:
                role, s = role_of[nm]
                relabelled[kin.MARKER_SETS[key][role].replace("{S}", s)] = p
        assert kin.marker_set(relabelled) == key
        for names in (key, "auto"):
            got = kin.lower_limb_angles(kin.frames_from_markers(relabelled, names=names))
            for k in want.angles:
                np.testing.assert_allclose(got[k], want[k], atol=1e-12)
    del ours["RANM"]
    with pytest.raises(SignalError, match=r"closest 'labkit' misses \['RANM'\]"):
        kin.frames_from_markers(ours, names="auto")
    with pytest.raises(SignalError, match="names='vicon'"):
        kin.frames_from_markers(ours, names="vicon")


def test_a_streamed_thorax_body_or_trunk_markers_give_the_thorax_frame():
    """Rigid bodies: a ``thorax.qw..qz`` body next to the lower-limb ones becomes the
    thorax frame; markers: unusable trunk markers leave the thorax out, not the analysis."""
    from scipy.spatial.transform import Rotation

    a, _lm, t = _cmj({"hip": 0.0, "knee": 0.03, "ankle": 0.06}, seconds=1.0)
    seg = a.segments(t)
    rot = _rot(np.full(t.size, 8.0), np.full(t.size, -3.0), np.linspace(-10, 10, t.size))
    q = Rotation.from_matrix(rot).as_quat()  # x y z w
    labels, cols = [], []
    for i, name in enumerate(SEGMENTS):
        labels += [f"{name}.{c}" for c in ("qw", "qx", "qy", "qz")]
        cols.append(seg[:, i, 3:])
    labels += ["thorax.qw", "thorax.qx", "thorax.qy", "thorax.qz"]
    cols.append(np.column_stack([q[:, 3], q[:, :3]]))
    frames = kin.frames_from_channels(labels, np.hstack(cols))
    np.testing.assert_allclose(frames["thorax"], rot, atol=1e-12)
    pos = a.markers(t, STREAMED_MARKERS)
    mk = {nm: pos[:, i] for i, nm in enumerate(STREAMED_MARKERS)}
    mk.update({m: np.zeros((t.size, 2)) for m in kin.THORAX_MARKERS})  # (n, 2): not positions
    frames = kin.frames_from_markers(mk)
    assert "thorax" not in frames and "pelvis" in frames
    with pytest.raises(SignalError, match="C7"):
        kin.thorax_frame(mk)
