"""Running strides on the simulated athlete's treadmill run, against its ground truth.

The simulated run (labkit.devices.sim.athlete_run) knows every strike and toe-off, the
peak hip extension and pelvic drop per side and the glutes' onset before each strike;
here its belt forces (2000 Hz, 1.5 N noise), markers (200 Hz, 0.3 mm noise) and surface
EMG (2148 Hz) go through labkit.signal only.
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit.devices.sim.athlete import STREAMED_MARKERS, Athlete, AthleteParams
from labkit.errors import SignalError
from labkit.signal import gait_running as gr
from labkit.signal import kinematics as kin
from labkit.signal.emg_onsets import detect_onsets

FS_FORCE, FS_MOCAP, FS_EMG = 2000.0, 200.0, 2148.1481481481483


def simulate(speed_m_s: float, *, deficit_side: str = "l", seed: int = 3, emg: bool = False):
    p = AthleteParams(seed=seed, run_hip_extension_deficit_deg=6.0, run_pelvic_drop_extra_deg=3.0,
                      run_deficit_side=deficit_side)
    a = Athlete(p)
    e = a.go("run", 10.0, trial=1, hold_s=8.0, speed_m_s=speed_m_s)
    rng = np.random.default_rng(seed)
    t0, t1 = 9.0, 19.0
    tf = np.arange(round(t0 * FS_FORCE), round(t1 * FS_FORCE)) / FS_FORCE
    loads = a.plate_loads(tf, (-0.04, -0.04))
    fz = loads[:, :, 2] + rng.normal(0, 1.5, (tf.size, 2))
    fx = loads[:, :, 0]
    tm = np.arange(round(t0 * FS_MOCAP), round(t1 * FS_MOCAP)) / FS_MOCAP
    mk = a.markers(tm, STREAMED_MARKERS) + rng.normal(0, 3e-4, (tm.size, len(STREAMED_MARKERS), 3))
    out = {"athlete": a, "effort": e, "strides": a.run_strides(e), "tf": tf, "fz": fz, "fx": fx,
           "tm": tm, "markers": {n: mk[:, i] for i, n in enumerate(STREAMED_MARKERS)},
           "truth": a.truth(e)}
    if emg:
        i0 = round(t0 * FS_EMG)
        idx = np.arange(i0, round(t1 * FS_EMG))
        te = idx / FS_EMG
        labels = ["gluteus_maximus_l", "gluteus_maximus_r", "rectus_femoris_r"]
        out.update(te=te, emg=a.emg(idx, te, labels, FS_EMG), emg_labels=labels)
    return out


def angles_of(sim) -> dict[str, np.ndarray]:
    fr = kin.frames_from_markers(sim["markers"])
    ja = kin.lower_limb_angles(fr)
    out = {}
    for s in ("l", "r"):
        out[f"hip_flexion_{s}"] = ja.sagittal("hip", s)
        out[f"knee_flexion_{s}"] = ja.sagittal("knee", s)
        out[f"ankle_dorsiflexion_{s}"] = ja.sagittal("ankle", s)
        out[f"pelvic_obliquity_{s}"] = kin.pelvis_angles(fr["pelvis"], side=s, progression="+x")[:, 1]
    pel = kin.pelvis_angles(fr["pelvis"], side="r", progression="+x")
    out["pelvic_tilt"], out["pelvis_rotation"] = pel[:, 0], pel[:, 2]
    return out


def contacts_of(sim) -> dict[str, kin.Contacts]:
    t0 = float(sim["tf"][0])
    return {s: gr.contacts_from_force(sim["fz"][:, i], FS_FORCE, t0_s=t0) for i, s in enumerate("lr")}


@pytest.mark.parametrize("speed", [2.8, 3.8, 5.0])
def test_strikes_contacts_and_cadence_match_the_simulated_run(speed):
    sim = simulate(speed)
    rs = sim["strides"]
    c = contacts_of(sim)
    for s in ("l", "r"):
        assert len(c[s]) == rs.strike_s[s].size
        # foot strikes within 2 samples, contact times within 1 frame of the force rate
        assert np.max(np.abs(c[s].strike_s - rs.strike_s[s])) * FS_FORCE < 2.0
        assert np.max(np.abs(c[s].off_s - rs.off_s[s])) * FS_FORCE < 2.0
        assert np.max(np.abs(c[s].contact_time_s - rs.contact_s(s))) * FS_FORCE < 1.0
    r = gr.running_analysis(c)
    truth = sim["truth"][1]
    assert truth["event"] == "run"
    true_steps = np.diff(np.sort(np.concatenate([rs.strike_s["l"], rs.strike_s["r"]])))
    assert abs(r.metrics["cadence_steps_min"] - 60 / true_steps.mean()) < 1.0
    assert abs(r.metrics["cadence_steps_min"] - truth["cadence_steps_min"]) < 1.0
    assert r.metrics["flight_time_s"] == pytest.approx(truth["flight_time_s"], abs=0.002)
    assert r.metrics["walking"] == 0.0
    assert r.valid


@pytest.mark.parametrize("speed,deficit", [(2.8, "l"), (3.8, "r"), (5.0, "l")])
def test_hip_extension_and_pelvic_drop_within_a_degree_and_the_deficit_side(speed, deficit):
    sim = simulate(speed, deficit_side=deficit)
    r = gr.running_analysis(contacts_of(sim), angles=angles_of(sim), angles_fs_hz=FS_MOCAP,
                            angles_t0_s=float(sim["tm"][0]))
    targets = sim["truth"][1]["targets"]
    for s, name in (("l", "left"), ("r", "right")):
        assert abs(r.metrics[f"{name}_peak_hip_extension_deg"] - targets[s]["peak_hip_extension_deg"]) < 1.0
        assert abs(r.metrics[f"{name}_pelvic_drop_peak_deg"] - targets[s]["pelvic_drop_deg"]) < 1.0
    side = {"l": "left", "r": "right"}[deficit]
    assert r.metrics["hip_extension_deficit_side"] == side
    assert r.metrics["pelvic_drop_side"] == side
    # the asymmetry sign follows the deficit: (L - R) / max
    asym = r.metrics["asym_peak_hip_extension_deg_pct"]
    assert (asym < 0) == (deficit == "l")
    assert r.metrics["left_knee_flexion_at_contact_deg"] == pytest.approx(15.0, abs=1.0)
    assert r.metrics["left_pelvis_rotation_range_deg"] == pytest.approx(12.0, abs=1.0)


def test_forces_braking_equals_propulsion_on_a_steady_run():
    sim = simulate(3.8)
    t0 = float(sim["tf"][0])
    # the belts' Fx is the load on the belt: the reaction on the foot is minus it
    forces = {s: {"fz": sim["fz"][:, i], "fap": -sim["fx"][:, i]} for i, s in enumerate("lr")}
    r = gr.running_analysis(contacts_of(sim), forces=forces, force_fs_hz=FS_FORCE, force_t0_s=t0)
    bw = sim["athlete"].params.body_weight_n
    m = r.metrics
    truth = sim["truth"][1]
    assert m["left_vertical_peak_n"] == pytest.approx(2.5 * bw, rel=0.01)
    assert m["left_braking_impulse_ns"] == pytest.approx(m["left_propulsive_impulse_ns"], rel=0.05)
    for side in ("left", "right"):  # braking peaks higher than propulsion (0.3 vs 0.2 BW)
        assert m[f"{side}_braking_peak_n"] == pytest.approx(truth["braking_peak_n"], rel=0.02)
        assert m[f"{side}_propulsive_peak_n"] == pytest.approx(truth["propulsive_peak_n"], rel=0.02)
    ct = sim["strides"].contact_s("l").mean()
    # a half sine over the contact: impulse = 2 / pi x peak x contact
    assert m["left_vertical_impulse_ns"] == pytest.approx(2 / np.pi * 2.5 * bw * ct, rel=0.01)


def test_glute_onset_relative_to_foot_strike_within_10_ms():
    sim = simulate(3.8, emg=True)
    te0 = float(sim["te"][0])
    bursts = {}
    for j, lb in enumerate(sim["emg_labels"]):
        b = detect_onsets(sim["emg"][:, j], FS_EMG, baseline_s=(0.0, 1.0))
        bursts[lb] = (b.onset_s + te0, b.offset_s + te0)
    r = gr.running_analysis(contacts_of(sim), emg_bursts=bursts)
    lead = sim["truth"][1]["glute_onset_rel_strike_s"]
    for lb in ("gluteus_maximus_l", "gluteus_maximus_r"):
        rel = r.strides[f"emg_{lb}_onset_ms"].dropna().to_numpy()
        assert rel.size >= 8
        assert np.max(np.abs(rel - 1e3 * lead)) < 10.0, rel
    # the hip flexor switches on at toe-off (duty factor x 100 % of the stride)
    duty = sim["truth"][1]["duty_factor"]
    assert r.metrics["emg_rectus_femoris_r_onset_pct"] == pytest.approx(100 * duty, abs=2.0)


def test_walking_contacts_overlap_give_zero_flight_and_say_walking():
    # two feet alternating with 60 % duty: double support, never both in the air
    fs = 1000.0
    t = np.arange(0, 6, 1 / fs)
    fz = {}
    for side, shift in (("r", 0.0), ("l", 0.5)):
        ph = ((t - 0.3 - shift) % 1.0)
        fz[side] = np.where((ph < 0.6) & (t > 0.3 + shift), 700 * np.sin(np.pi * ph / 0.6), 0.0)
    c = {s: gr.contacts_from_force(fz[s], fs) for s in fz}
    r = gr.running_analysis(c)
    assert r.metrics["flight_time_s"] == 0.0
    assert r.metrics["walking"] == 1.0
    assert r.metrics["duty_factor"] == pytest.approx(0.6, abs=0.002)
    assert r.metrics["cadence_steps_min"] == pytest.approx(120.0, abs=0.1)


def test_stride_curves_and_pelvis_thorax_phase():
    fs = 100.0
    t = np.arange(0, 5, 1 / fs)
    strikes = np.arange(0.5, 4.6, 1.0)
    c = {"r": kin.Contacts(strikes, strikes + 0.3), "l": kin.Contacts(strikes + 0.5, strikes + 0.8)}
    table = gr.stride_table(c)
    pelvis = 8 * np.sin(2 * np.pi * (t - 0.5))
    thorax = -12 * np.sin(2 * np.pi * (t - 0.5))  # counter-rotation
    k = gr.stride_kinematics(table, {"pelvis_rotation": pelvis, "thorax_rotation": thorax}, fs)
    assert np.allclose(np.abs(k["pelvis_thorax_phase_deg"]), 180.0, atol=1.0)
    assert np.allclose(k["thorax_rotation_range_deg"], 24.0, atol=0.1)
    curves = gr.stride_curves(pelvis, fs, table, "r")
    assert curves.shape == (4, 101)
    assert np.allclose(curves[:, 25], 8.0, atol=0.05)  # the sine's peak at 25 % of the stride


def test_bad_options_say_what_to_pass():
    c = {"r": kin.Contacts(np.array([0.0, 1.0]), np.array([0.3, 1.3]))}
    with pytest.raises(SignalError, match="formula='x' is unknown"):
        gr.running_analysis(c, formula="x")
    with pytest.raises(SignalError, match="angles_fs_hz"):
        gr.running_analysis(c, angles={"hip_flexion_r": np.zeros(10)})


def test_thorax_from_the_trunk_markers_counter_rotates_with_a_known_lag():
    """The simulated run's markers plus Plug-in Gait trunk markers (C7, T10, CLAV, STRN)
    on a thorax turning about the vertical against the pelvis: 1.5 x the pelvis' rotation,
    reversed, 30 ms later. Truth: range 1.5 x 12 = 18 deg; phase 180 - 360 x 0.03 / T."""
    from labkit.devices.sim.athlete_run import run_angles_deg
    from labkit.trials.running import angle_series

    sim = simulate(3.8)
    tm, rs = sim["tm"], sim["strides"]
    lag_s = 0.03
    theta = -1.5 * np.deg2rad(run_angles_deg(sim["athlete"].params, rs, tm - lag_s)["rotation_r"])
    rot = kin.rotation_yxz(np.zeros_like(theta), np.zeros_like(theta), theta)
    mk = dict(sim["markers"])
    origin = 0.5 * (mk["LASI"] + mk["RASI"]) + np.array([0.0, 0.0, 0.45])
    local = {"C7": (-0.08, 0, 0.30), "CLAV": (0.08, 0, 0.30),
             "T10": (-0.10, 0, 0.05), "STRN": (0.10, 0, 0.05)}
    for name, p in local.items():
        mk[name] = origin + np.einsum("nij,j->ni", rot, np.asarray(p))
    frames = kin.frames_from_markers(mk)
    series = angle_series(frames, progression="+x")
    run = np.isfinite(series["thorax_rotation"])
    np.testing.assert_allclose(series["thorax_rotation"][run], np.rad2deg(theta)[run], atol=1e-6)
    r = gr.running_analysis(contacts_of(sim), angles=series, angles_fs_hz=FS_MOCAP, angles_t0_s=float(tm[0]))
    stride_s = float(np.mean(rs.stride_s["r"]))
    for side in ("left", "right"):  # each side's strides
        rng_deg = r.metrics[f"{side}_thorax_rotation_range_deg"]
        phase = r.metrics[f"{side}_pelvis_thorax_phase_deg"]
        print(f"{side}: thorax range {rng_deg:.2f} deg, phase {phase:.1f} deg, truth "
              f"{180 - 360 * lag_s / stride_s:.1f}")
        assert rng_deg == pytest.approx(18.0, abs=0.3)
        assert phase == pytest.approx(180 - 360 * lag_s / stride_s, abs=2.0)
    # without the trunk markers there is no thorax and no thorax metric
    assert "thorax" not in kin.frames_from_markers(sim["markers"])
    with pytest.raises(SignalError, match=r"missing \['T10'\]"):
        kin.thorax_frame({k: mk[k] for k in ("C7", "CLAV", "STRN")})
