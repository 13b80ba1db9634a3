"""The simulated athlete against closed forms: onsets, forces, RFD, EMG leads, CMJ, misbehaviours."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.config.hardware import SimEmg, SimForcePlates, SimMocap, load_hardware_config
from labkit.devices.sim.athlete import (
    MARKERS,
    SEGMENTS,
    STREAMED_MARKERS,
    Athlete,
    AthleteParams,
    G,
    IndexedNoise,
    sample_grid,
)
from labkit.devices.sim.producers import EmgProducer, ForcePlateProducer, MocapProducer
from labkit.errors import ConfigError
from labkit.signal.force_plates import centre_of_pressure

FS = 2000.0
EMG_FS = 29 / 0.0135
P = AthleteParams()
BW = P.body_mass_kg * G
A = P.peak_force_n - BW
TAU = P.rise_time_constant_s


def rms(x):
    return float(np.sqrt(np.mean(np.square(x))))


def test_imtp_force_matches_the_exponential_and_the_truth():
    a = Athlete(P)
    e = a.go("imtp", cue_s=10.0, trial=1)
    assert e.onset_s == pytest.approx(10.0 + P.reaction_time_s, abs=1e-12)
    _, t = sample_grid(8.0, 16.0, FS)
    f = a.vertical_force(t)
    assert np.all(f[t <= e.onset_s] == pytest.approx(BW, abs=1e-9))  # quiet until the onset
    first = t[np.argmax(f > BW + 1e-9)]
    assert e.onset_s < first <= e.onset_s + 1 / FS
    truth = a.truth(e)[0]
    assert truth["force_onset_s"] == pytest.approx(e.onset_s, abs=1e-6)
    for ms in (50, 90, 100, 150, 200, 250):
        x = ms / 1000
        closed = BW + A * (1 - math.exp(-x / TAU))
        assert a.vertical_force(np.array([e.onset_s + x]))[0] == pytest.approx(closed, rel=1e-9)
        assert truth["force_at"][str(ms)] == pytest.approx(closed, abs=1e-5)
    for ms in (50, 100, 150, 200, 250):
        x = ms / 1000
        f0, f1 = a.vertical_force(np.array([e.onset_s, e.onset_s + x]))
        assert truth["rfd_n_s"][str(ms)] == pytest.approx((f1 - f0) / x, rel=1e-7)
        tt = np.linspace(e.onset_s, e.onset_s + x, 200001)
        net = a.vertical_force(tt) - BW
        impulse = float(np.sum((net[1:] + net[:-1]) * 0.5 * np.diff(tt)))
        assert truth["impulse_n_s"][str(ms)] == pytest.approx(impulse, rel=1e-6)
    assert truth["peak_rfd_n_s"] == pytest.approx(A / TAU, rel=1e-6)
    # peak at the relax time, then back to body weight with the relax constant
    assert truth["peak"] == pytest.approx(float(f.max()), rel=1e-4)
    assert truth["time_to_peak_s"] == pytest.approx(P.hold_s, abs=1e-9)
    late = a.vertical_force(np.array([e.end_s + P.relax_time_constant_s]))[0]
    assert late - BW == pytest.approx((truth["peak"] - BW) * math.exp(-1), rel=1e-6)


def test_force_splits_over_two_plates_with_the_plate_maths_conventions():
    a = Athlete(AthleteParams(left_share=0.4))
    a.go("imtp", cue_s=1.0)
    _, t = sample_grid(0.0, 4.0, FS)
    loads = a.plate_loads(t, az0_m=(-0.04, -0.04))
    total = loads[:, 0, 2] + loads[:, 1, 2]
    np.testing.assert_allclose(total, a.vertical_force(t), rtol=1e-12)
    np.testing.assert_allclose(loads[:, 0, 2], 0.4 * total, rtol=1e-12)
    f, ph = a._sway  # the model's own sway: COP recovered by labkit's plate maths
    for i in (0, 1):
        cop = centre_of_pressure(loads[:, i, :3], loads[:, i, 3:], az0_m=-0.04)
        np.testing.assert_allclose(cop[:, 0], P.sway_m * np.sin(2 * np.pi * f[0] * t + ph[0] + i), atol=1e-12)
        np.testing.assert_allclose(cop[:, 1], P.sway_m * np.sin(2 * np.pi * f[1] * t + ph[1] + i), atol=1e-12)


def test_any_window_in_any_chunking_gives_the_same_samples():
    config, _ = load_hardware_config()
    a = Athlete(P)
    a.go("cmj", cue_s=0.5)
    devices = {type(d): d for d in config.devices}
    producers = [ForcePlateProducer(devices[SimForcePlates], a, "x-force"),
                 EmgProducer(devices[SimEmg], a, "x-emg"), MocapProducer(devices[SimMocap], a, "x-mocap")]
    rng = np.random.default_rng(3)
    for prod in producers:
        k, t = sample_grid(0.0, 3.0, prod.rate_hz)
        whole = prod.produce(k, t)
        assert whole.shape == (k.size, len(prod.spec.channels) - 1)
        cuts = np.sort(rng.choice(np.arange(1, k.size), size=40, replace=False))
        parts = [prod.produce(k[lo:hi], t[lo:hi]) for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, k.size],
                                                                      strict=True)]
        np.testing.assert_array_equal(np.vstack(parts), whole)
    noise = IndexedNoise(1, 2, 3, block=64)
    np.testing.assert_array_equal(noise.take(-70, 130)[70:], noise.take(0, 200)[:130])


def test_plate_noise_has_the_configured_sd():
    config, _ = load_hardware_config()
    dev = next(d for d in config.devices if isinstance(d, SimForcePlates))
    a = Athlete(P)
    prod = ForcePlateProducer(dev, a, "x-force")
    k, t = sample_grid(0.0, 20.0, FS)
    x = prod.produce(k, t)
    clean = a.plate_loads(t, prod.az0_m).reshape(len(t), -1)
    sd = (x - clean).std(axis=0, ddof=1)
    np.testing.assert_allclose(sd[[0, 1, 2, 6, 7, 8]], dev.noise_n, rtol=0.03)
    np.testing.assert_allclose(sd[[3, 4, 5]], dev.noise_n * 0.05, rtol=0.03)


def test_emg_bursts_start_their_muscle_lead_before_the_force_onset():
    a = Athlete(P)
    e = a.go("isometric_hip_extension", cue_s=5.0, side="r")
    labels = ["gluteus_maximus_r", "biceps_femoris_r", "rectus_femoris_r", "gluteus_maximus_l"]
    onsets, weak, missing = a.emg_truth(e, labels)
    assert set(onsets) == {"gluteus_maximus_r", "biceps_femoris_r"} and not weak and not missing
    assert onsets["gluteus_maximus_r"] == pytest.approx(e.onset_s - P.emg_lead_s["gluteus_maximus"])
    # hamstrings lead the gluteus maximus by 100 ms in hip extension
    assert onsets["gluteus_maximus_r"] - onsets["biceps_femoris_r"] == pytest.approx(0.1, abs=1e-12)
    k, t = sample_grid(4.0, 9.0, EMG_FS)
    env = a.emg_envelope(t, labels)
    for j, lb in enumerate(labels[:2]):
        on = onsets[lb]
        assert np.all(env[t <= on, j] == 0.0)
        assert np.all(env[(t > on) & (t < e.end_s), j] > 0.0)
        level = {"gluteus_maximus_r": 0.9, "biceps_femoris_r": 0.8}[lb]
        assert env[np.searchsorted(t, on + 0.5), j] == pytest.approx(level * P.emg_mvc_v)
    x = a.emg(k, t, labels, EMG_FS, noise_v=5e-6)
    for j, lb in enumerate(labels[:2]):
        on = onsets[lb]
        before = x[(t > on - 0.5) & (t < on), j]
        during = x[(t > on + 0.2) & (t < on + 2.2), j]
        assert rms(before) == pytest.approx(5e-6, rel=0.1)
        level = {"gluteus_maximus_r": 0.9, "biceps_femoris_r": 0.8}[lb]
        assert rms(during) == pytest.approx(math.hypot(level * P.emg_mvc_v, 5e-6), rel=0.1)
    assert rms(x[:, 2]) == pytest.approx(5e-6, rel=0.1)  # a hip flexor stays quiet


def test_emg_spectrum_peaks_like_surface_emg():
    a = Athlete(P)
    a.go("mvc", cue_s=0.0, muscle="gluteus_maximus", side="l", hold_s=20.0)
    k, t = sample_grid(1.0, 17.0, EMG_FS)
    x = a.emg(k, t, ["gluteus_maximus_l"], EMG_FS, noise_v=0.0)[:, 0]
    f = np.fft.rfftfreq(4096, 1 / EMG_FS)
    psd = np.mean([np.abs(np.fft.rfft(x[i:i + 4096] * np.hanning(4096))) ** 2
                   for i in range(0, x.size - 4096, 2048)], axis=0)
    peak = f[np.argmax(psd)]
    assert 50 < peak < 130
    assert psd[(f > 20) & (f < 450)].sum() / psd.sum() > 0.9


def test_ecg_only_on_trunk_channels_when_asked():
    a = Athlete(P)
    k, t = sample_grid(0.0, 10.0, EMG_FS)
    labels = ["multifidus_l", "external_oblique_r", "gluteus_maximus_l"]
    x = a.emg(k, t, labels, EMG_FS, noise_v=5e-6)
    assert np.abs(x[:, 0]).max() > 0.8 * P.ecg_amplitude_v
    assert np.abs(x[:, 1]).max() > 0.5 * P.ecg_amplitude_v
    assert np.abs(x[:, 2]).max() < 10 * 5e-6
    ecg = a.ecg(t)
    beats = np.count_nonzero(np.diff((ecg > 0.5 * P.ecg_amplitude_v).astype(int)) == 1)
    assert beats == pytest.approx(10 * P.heart_rate_bpm / 60, abs=1.5)
    assert rms(x[:, 0] - ecg) == pytest.approx(5e-6, rel=0.1)  # left side: full ECG
    assert rms(x[:, 1] - 0.6 * ecg) == pytest.approx(5e-6, rel=0.1)  # right side: 60 %
    quiet = a.emg(k, t, labels, EMG_FS, noise_v=5e-6, ecg_on_trunk=False)
    assert np.abs(quiet).max() < 10 * 5e-6


def test_cmj_takeoff_velocity_jump_height_and_landmarks_from_the_force():
    a = Athlete(P)
    e = a.go("cmj", cue_s=2.0)
    truth = a.truth(e)[0]
    dt = 1e-5
    t = np.arange(1.5, 5.0, dt)
    f = a.vertical_force(t)
    v = np.concatenate([[0.0], np.cumsum((f[1:] + f[:-1]) * 0.5 - BW) * dt / P.body_mass_kg])
    s = np.concatenate([[0.0], np.cumsum((v[1:] + v[:-1]) * 0.5) * dt])
    i_to = np.searchsorted(t, truth["takeoff_s"])
    assert v[i_to] == pytest.approx(truth["takeoff_velocity_m_s"], abs=1e-4)
    assert v[i_to] ** 2 / (2 * G) == pytest.approx(P.cmj_jump_height_m, abs=1e-4)
    assert truth["jump_height_m"] == pytest.approx(P.cmj_jump_height_m)
    pre = t < truth["takeoff_s"]
    assert t[pre][np.argmin(v[pre])] == pytest.approx(truth["peak_negative_velocity_s"], abs=2 * dt)
    assert t[pre][np.argmin(s[pre])] == pytest.approx(truth["lowest_s"], abs=2 * dt)
    assert -s[pre].min() == pytest.approx(truth["depth_m"], rel=1e-4)
    assert f.min() == pytest.approx(0.0, abs=1e-9)
    airborne = t[f < 1e-6]
    assert airborne[0] == pytest.approx(truth["takeoff_s"], abs=2 * dt)
    assert airborne[-1] - airborne[0] == pytest.approx(truth["flight_time_s"], abs=2 * dt)
    assert G * truth["flight_time_s"] ** 2 / 8 == pytest.approx(P.cmj_jump_height_m, rel=1e-5)
    assert f[(t > e.onset_s) & (t < truth["lowest_s"])].min() == pytest.approx(truth["min_force_n"], rel=1e-6)
    assert v[-1] == pytest.approx(0.0, abs=1e-3)  # the landing absorbs the takeoff momentum


def test_cmj_joint_extension_is_proximal_to_distal_with_the_given_lags():
    a = Athlete(P)
    e = a.go("cmj", cue_s=1.0)
    kin = next(m for m in a.truth(e) if m["event"] == "kinematics")
    assert kin["order"] == ["hip", "knee", "ankle"]
    assert kin["lag_s"] == {"hip_knee": 0.03, "knee_ankle": 0.03}
    t = np.arange(1.0, 3.0, 1e-4)
    ang = a.joint_angles(t)
    to = kin["takeoff_s"]
    for j in ("hip", "knee", "ankle"):
        before = t < to
        assert t[before][np.argmax(ang[j][before])] == pytest.approx(kin["extension_onset_s"][j], abs=2e-4)
        ext_vel = -np.gradient(ang[j], t)
        assert t[before][np.argmax(ext_vel[before])] == pytest.approx(kin["peak_extension_velocity_s"][j],
                                                                      abs=2e-4)
        # closed-form peak velocity and take-off angle of the truth message
        assert np.rad2deg(ext_vel[before].max()) == pytest.approx(kin["peak_extension_velocity_deg_s"][j],
                                                                  rel=1e-5)
        assert np.rad2deg(np.interp(to, t, ang[j])) == pytest.approx(kin["takeoff_angles_deg"][j], abs=1e-6)
    assert kin["peak_velocity_lag_s"] == {"hip_knee": 0.015, "knee_ankle": 0.015}
    # segment frames reproduce the joint angles (hip = pelvis - thigh, knee = shank - thigh, ...)
    seg = a.segments(t)
    q = {name: 2 * np.arctan2(seg[:, i, 5], seg[:, i, 3]) for i, name in enumerate(SEGMENTS)}
    np.testing.assert_allclose(q["pelvis"] - q["thigh_l"], ang["hip"], atol=1e-12)
    np.testing.assert_allclose(q["shank_r"] - q["thigh_r"], ang["knee"], atol=1e-12)
    np.testing.assert_allclose(q["shank_l"] - q["foot_l"], ang["ankle"], atol=1e-12)
    # markers: rigid shank, and the body flies as high as the jump
    mk = a.markers(t)
    ix = {m: i for i, m in enumerate(MARKERS)}
    d = mk[:, ix["LKNE"], [0, 2]] - mk[:, ix["LANK"], [0, 2]]
    np.testing.assert_allclose(np.hypot(d[:, 0], d[:, 1]), P.shank_length_m, atol=1e-12)
    flight = (t >= to) & (t <= to + a.truth(e)[0]["flight_time_s"])
    lift = mk[flight, ix["LTOE"], 2] - 0.02
    assert lift.max() == pytest.approx(P.cmj_jump_height_m, abs=1e-4)


def test_streamed_markers_give_the_simulated_joint_angles_within_2_deg():
    """The simulated mocap of the default config streams PiG lower body + medial knee and
    ankle markers with 0.3 mm noise: labkit's angles from them (Harrington hip centres)
    match the athlete's joint angles over two CMJs and an IMTP (measured RMS <= 0.14 deg
    sagittal, <= 0.3 deg out of plane)."""
    from labkit.signal import kinematics as kin

    config, _ = load_hardware_config()
    dev = next(d for d in config.devices if isinstance(d, SimMocap))
    assert dev.output == "markers" and dev.noise_m == pytest.approx(3e-4) and dev.rate_hz == 200.0
    a = Athlete(P)
    a.go("cmj", cue_s=1.0)
    a.go("imtp", cue_s=5.0, hold_s=2.0)
    a.go("cmj", cue_s=10.0)
    prod = MocapProducer(dev, a, "x-mocap")
    labels = [c.label for c in prod.spec.channels[:-1]]
    assert labels == [f"{m}.{ax}" for m in STREAMED_MARKERS for ax in "xyz"]
    assert {"LKNM", "RKNM", "LANM", "RANM"} <= set(STREAMED_MARKERS)
    k, t = sample_grid(0.0, 14.0, prod.rate_hz)
    data = prod.produce(k, t).astype(np.float32).astype(np.float64)  # as streamed (float32)
    markers = {m: data[:, 3 * i:3 * i + 3] for i, m in enumerate(STREAMED_MARKERS)}
    ang = kin.lower_limb_angles(kin.frames_from_markers(markers))
    truth = a.joint_angles(t)
    for side in ("l", "r"):
        for j in kin.JOINTS:
            err = rms(ang.sagittal(j, side) - np.rad2deg(truth[j]))
            assert 0.01 < err <= 0.3, (j, side, err)   # noisy, but far within 2 deg
            assert rms(ang[f"{j}_{side}"][:, 1:]) <= 0.6
    # the flexion really moves: CMJ maximum flexion reached
    assert np.max(ang.sagittal("knee", "r")) == pytest.approx(5.0 + 80.0, abs=1.5)


def test_segment_tests_load_one_plate_and_trunk_rotation_makes_a_free_moment():
    a = Athlete(P)
    ext = a.go("isometric_hip_extension", cue_s=1.0, side="l", hold_s=2.0)
    flex = a.go("isometric_hip_flexion", cue_s=10.0, side="r", hold_s=2.0)
    rot = a.go("isometric_trunk_rotation", cue_s=20.0, direction="right", hold_s=2.0)
    x = 0.1
    for e, peak, plate, sign in ((ext, P.hip_extension_peak_n, 0, 1), (flex, P.hip_flexion_peak_n, 1, -1)):
        tt = np.array([e.onset_s - 0.01, e.onset_s + x])
        loads = a.plate_loads(tt)
        rise = loads[1, :, 2] - loads[0, :, 2]
        assert rise[plate] == pytest.approx(sign * peak * (1 - math.exp(-x / TAU)), rel=1e-9)
        assert rise[1 - plate] == pytest.approx(0.0, abs=1e-9)
        truth = a.truth(e)[0]
        assert truth["signal"] == ("fp1.Fz" if plate == 0 else "fp2.Fz") and truth["sign"] == sign
        assert truth["rfd_n_s"]["100"] == pytest.approx(peak * (1 - math.exp(-x / TAU)) / x, rel=1e-6)
    loads = a.plate_loads(np.array([rot.onset_s + x]))
    fz_only = a.vertical_force(np.array([rot.onset_s + x]))[0]
    assert fz_only == pytest.approx(BW)
    mz_free = loads[0, :, 5].sum()
    sway = loads[0, :, 1] * 0  # free moment = Mz - Fy COPx + Fx COPy, summed over plates
    for i in (0, 1):
        cop = centre_of_pressure(loads[:, i, :3], loads[:, i, 3:], az0_m=-0.04)[0]
        sway[i] = -loads[0, i, 1] * cop[0] + loads[0, i, 0] * cop[1]
    assert mz_free + sway.sum() == pytest.approx(-P.trunk_rotation_peak_nm * (1 - math.exp(-x / TAU)),
                                                 rel=1e-9)
    onsets, _, _ = a.emg_truth(rot, ["external_oblique_l", "internal_oblique_r", "gluteus_maximus_r"])
    assert set(onsets) == {"external_oblique_l", "internal_oblique_r"}  # turning right


def test_mvc_activates_only_its_muscle_at_full_level():
    a = Athlete(P)
    e = a.go("mvc", cue_s=0.0, muscle="gluteus_medius", side="l")
    labels = ["gluteus_medius_l", "gluteus_medius_r", "gluteus_maximus_l"]
    env = a.emg_envelope(np.array([e.onset_s + 1.0]), labels)[0]
    np.testing.assert_allclose(env, [P.emg_mvc_v, 0.0, 0.0])
    assert a.vertical_force(np.array([e.onset_s + 1.0]))[0] == pytest.approx(BW)


def test_misbehaviour_countermovement_dips_before_the_pull():
    a = Athlete(P)
    e = a.go("imtp", cue_s=3.0, misbehave=["countermovement"])
    truth = a.truth(e)[0]
    assert e.onset_s == pytest.approx(3.0 + P.reaction_time_s + P.countermovement_duration_s)
    _, t = sample_grid(2.0, e.onset_s, FS)
    f = a.vertical_force(t)
    assert f.min() == pytest.approx(BW - P.countermovement_depth_n, abs=0.5)
    assert f.min() < BW - 5 * 1.5 * math.sqrt(2)  # a validator with 5 SD must see it
    assert t[np.argmin(f)] == pytest.approx(truth["countermovement_s"], abs=1 / FS)
    assert truth["countermovement_min_n"] == pytest.approx(BW - P.countermovement_depth_n)
    assert a.vertical_force(np.array([e.onset_s + 0.1]))[0] == pytest.approx(truth["force_at"]["100"])


def test_misbehaviour_pretension_loads_more_than_100_n_before_the_pull():
    a = Athlete(P)
    e = a.go("imtp", cue_s=3.0, misbehave=["pretension"])
    truth = a.truth(e)[0]
    _, t = sample_grid(e.onset_s - 0.5, e.onset_s, FS)
    f = a.vertical_force(t)
    np.testing.assert_allclose(f, BW + P.pretension_n, rtol=1e-9)
    assert P.pretension_n > 100
    assert truth["baseline"] == pytest.approx(BW + P.pretension_n)
    assert truth["force_at"]["100"] == pytest.approx(a.vertical_force(np.array([e.onset_s + 0.1]))[0])


def test_misbehaviour_step_off_unloads_the_plates():
    a = Athlete(P)
    e = a.go("imtp", cue_s=1.0, misbehave=["step_off"])
    truth = a.truth(e, ["gluteus_maximus_l"])
    assert e.task == "step_off" and truth[0]["force_onset_s"] is None and len(truth) == 1
    mid = 0.5 * (truth[0]["step_off_s"] + truth[0]["step_on_s"])
    f = a.vertical_force(np.array([e.cue_s, mid, truth[0]["step_on_s"] + P.step_ramp_s + 0.01]))
    np.testing.assert_allclose(f, [BW, 0.0, BW], atol=1e-9)


def test_misbehaviour_weak_and_missing_emg_channels():
    a = Athlete(P)
    labels = ["gluteus_maximus_l", "gluteus_maximus_r", "multifidus_r"]
    e = a.go("imtp", cue_s=1.0, misbehave=["weak_emg:gluteus_maximus_r", "missing_emg:multifidus_r"])
    onsets, weak, missing = a.emg_truth(e, labels)
    assert weak == ["gluteus_maximus_r"] and missing == ["multifidus_r"]
    assert set(onsets) == {"gluteus_maximus_l", "gluteus_maximus_r"}
    k, t = sample_grid(e.onset_s + 0.2, e.onset_s + 2.2, EMG_FS)
    x = a.emg(k, t, labels, EMG_FS, noise_v=5e-6, ecg_on_trunk=False)
    assert rms(x[:, 1]) / rms(x[:, 0]) == pytest.approx(P.weak_emg_factor, rel=0.15)
    assert rms(x[:, 2]) == pytest.approx(5e-6, rel=0.1)
    msg = next(m for m in a.truth(e, labels) if m["event"] == "emg")
    assert msg["weak"] == ["gluteus_maximus_r"] and msg["missing"] == ["multifidus_r"]
    # a channel missing for the whole session (electrode off)
    b = Athlete(AthleteParams(missing_emg_channels=("gluteus_maximus_l",)))
    e = b.go("imtp", cue_s=1.0)
    assert "gluteus_maximus_l" not in b.emg_truth(e, labels)[0]
    assert np.all(b.emg_envelope(t, labels)[:, 0] == 0.0)


def test_late_cues_shift_the_whole_effort():
    a = Athlete(P)
    e = a.go("imtp", cue_s=1.0, not_before_s=1.2)
    first_emg = e.onset_s - max(P.emg_lead_s.values())
    assert first_emg == pytest.approx(1.2) and e.shifted_s > 0
    assert a.truth(e)[0]["force_onset_s"] == pytest.approx(e.onset_s, abs=1e-6)


def test_relax_ends_the_effort_after_the_reaction_time():
    a = Athlete(P)
    e = a.go("imtp", cue_s=1.0)
    r = a.relax(2.0)
    assert r is not None and r.end_s == pytest.approx(2.0 + P.reaction_time_s)
    assert a.truth(r)[0]["time_to_peak_s"] == pytest.approx(r.end_s - e.onset_s)
    assert a.relax(30.0) is None


def test_parameters_from_the_config_and_their_errors():
    config, _ = load_hardware_config()
    params = AthleteParams.from_mapping(config.athlete.model_dump())
    assert params.peak_force_n == 2600.0 and params.reaction_time_s == 0.18
    p2 = AthleteParams.from_mapping({"emg_lead_s": {"gluteus_maximus": 0.07}})
    assert p2.emg_lead_s["gluteus_maximus"] == 0.07 and p2.emg_lead_s["multifidus"] == 0.10
    with pytest.raises(ConfigError, match=r"athlete\.peak_force"):
        AthleteParams.from_mapping({"peak_force": 3000})
    with pytest.raises(ConfigError, match=r"athlete\.emg_lead_s"):
        AthleteParams.from_mapping({"emg_lead_s": {"gluteus_maximus": 0.5}})
    with pytest.raises(ConfigError, match=r"athlete\.peak_force_n"):
        AthleteParams.from_mapping({"peak_force_n": 500})
    with pytest.raises(ConfigError, match="task='jog'"):
        Athlete(P).go("jog", cue_s=0.0)
    with pytest.raises(ConfigError, match="misbehave='sneeze'"):
        Athlete(P).go("imtp", cue_s=0.0, misbehave=["sneeze"])


def test_same_seed_same_signals_other_seed_other_noise():
    k, t = sample_grid(0.0, 1.0, EMG_FS)
    x1 = Athlete(AthleteParams(seed=4)).emg(k, t, ["multifidus_l"], EMG_FS)
    x2 = Athlete(AthleteParams(seed=4)).emg(k, t, ["multifidus_l"], EMG_FS)
    x3 = Athlete(AthleteParams(seed=5)).emg(k, t, ["multifidus_l"], EMG_FS)
    np.testing.assert_array_equal(x1, x2)
    assert not np.allclose(x1, x3)


def test_names_of_the_models_stay_importable_from_athlete():
    """The models live in athlete_* modules; athlete keeps every name it used to define."""
    from labkit.devices.sim import athlete

    names = ("G", "TASKS", "MISBEHAVIOURS", "RFD_EPOCHS_MS", "FORCE_EPOCHS_MS", "TRUNK_MUSCLES",
             "JOINTS", "MARKERS", "MEDIAL_MARKERS", "SEGMENTS", "DEFAULT_EMG_LEAD_S", "Athlete",
             "AthleteParams", "Effort", "IndexedNoise", "sample_grid", "_IMTP_LEVELS", "_CMJ_LEVELS",
             "_emg_fir", "_smoothstep", "_rise", "_Cmj", "_r6", "_split_label")  # fmt: skip
    assert [n for n in names if not hasattr(athlete, n)] == []
    assert athlete.TASKS == ("quiet", "imtp", "isometric_hip_extension", "isometric_hip_flexion",
                             "isometric_trunk_rotation", "cmj", "drop_jump", "single_leg_cmj",
                             "rebound_jumps", "mvc", "step_off", "run")


def test_drop_jump_falls_from_the_box_and_its_contact_reverses_the_fall():
    a = Athlete(P)
    a.get_on_box(8.0)
    e = a.go("drop_jump", cue_s=10.0, trial=1)
    tr = a.truth(e)[0]
    _, t = sample_grid(8.0, e.end_s, 100000.0)
    f = a.vertical_force(t)
    on_box = (t > 8.0 + P.reaction_time_s + P.step_ramp_s) & (t < tr["touchdown_s"])
    assert np.abs(f[on_box]).max() < 1e-9  # the plates are empty while on the box
    assert tr["touchdown_s"] - e.onset_s == pytest.approx(math.sqrt(2 * 0.30 / G), abs=1e-6)  # r6
    c = (t >= tr["touchdown_s"]) & (t <= tr["takeoff_s"])
    m = P.body_mass_kg
    impulse = np.trapezoid(f[c] - BW, t[c])
    assert impulse == pytest.approx(m * (tr["takeoff_velocity_m_s"] - tr["touchdown_velocity_m_s"]),
                                    rel=1e-4)
    assert tr["rsi"] == pytest.approx(0.28 / 0.22, rel=1e-6)
    air = (t > tr["takeoff_s"]) & (t < tr["landing_s"])
    assert np.abs(f[air]).max() < 1e-9 and f[-1] == pytest.approx(BW, rel=1e-3)
