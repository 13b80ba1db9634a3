"""Joint sequencing of jump trials against the simulated athlete's truth: from windows
(the live path) and from a session recorded by the runner on the simulated lab, re-analysed
with ``labkit.analyze``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.config.hardware import SimMocap, load_hardware_config
from labkit.config.protocol import TrialStep
from labkit.devices.sim.athlete import Athlete, AthleteParams, sample_grid
from labkit.devices.sim.producers import MocapProducer
from labkit.errors import SignalError
from labkit.signal import kinematics as kin
from labkit.signal.window import Window
from labkit.trials.analyse import analyse_trial
from labkit.trials.sequencing import jump_sequencing

JOINTS = ("hip", "knee", "ankle")
FS_FORCE = 2000.0


def _windows(athlete: Athlete, t0: float, t1: float, *, output: str = "markers", drop=()):
    """Force (summed plates, 1.5 N noise) and mocap windows of the athlete over [t0, t1)."""
    rng = np.random.default_rng(0)
    tf = np.arange(t0, t1, 1 / FS_FORCE)
    fz = athlete.plate_loads(tf)[:, :, 2] + 1.5 * rng.standard_normal((tf.size, 2))
    force = Window(["fp1.Fz", "fp2.Fz"], fz, tf, FS_FORCE, "force")
    config, _ = load_hardware_config()
    dev = next(d for d in config.devices if isinstance(d, SimMocap)).model_copy(update={"output": output})
    prod = MocapProducer(dev, athlete, "test-mocap")
    k, tm = sample_grid(t0, t1, prod.rate_hz)
    labels = [c.label for c in prod.spec.channels[:-1]]
    data = prod.produce(k, tm).astype(np.float32)
    keep = [i for i, lb in enumerate(labels) if lb.rsplit(".", 1)[0] not in drop]
    mocap = Window([labels[i] for i in keep], data[:, keep], tm, prod.rate_hz, "mocap")
    return force, mocap


def _truth(athlete: Athlete, effort) -> dict:
    return next(m for m in athlete.truth(effort) if m["event"] == "kinematics")


def _check_against_truth(metrics: dict, truth: dict, *, sides=("l", "r")) -> dict:
    """Order, lags (5 ms), peak times (5 ms), take-off angles (2 deg); returns the errors."""
    errs = {"lag_ms": [], "peak_ms": [], "angle_deg": [], "velocity_rel": []}
    to = truth["takeoff_s"]
    for s in sides:
        assert metrics[f"seq_order_{s}"] == ">".join(truth["order"])
        for k in ("hip_knee", "knee_ankle"):
            errs["lag_ms"].append(metrics[f"seq_{k}_lag_{s}_ms"] - 1000 * truth["peak_velocity_lag_s"][k])
        for j in JOINTS:
            errs["peak_ms"].append(metrics[f"seq_{j}_peak_velocity_time_{s}_ms"]
                                   - 1000 * (truth["peak_extension_velocity_s"][j] - to))
            errs["angle_deg"].append(metrics[f"seq_{j}_takeoff_angle_{s}_deg"]
                                     - truth["takeoff_angles_deg"][j])
            errs["velocity_rel"].append(metrics[f"seq_{j}_peak_velocity_{s}_deg_s"]
                                        / truth["peak_extension_velocity_deg_s"][j] - 1)
    assert np.max(np.abs(errs["lag_ms"])) <= 5.0, errs
    assert np.max(np.abs(errs["peak_ms"])) <= 5.0, errs
    assert np.max(np.abs(errs["angle_deg"])) <= 2.0, errs
    assert np.max(np.abs(errs["velocity_rel"])) <= 0.02, errs
    return errs


def test_cmj_sequencing_from_windows_matches_the_truth():
    """Three simulated CMJs through the trial analysis (force + mocap windows as the live
    runner passes them): order, lags (measured within 0.61 ms), peak times (1.25 ms),
    take-off angles (0.17 deg) and peak velocities (0.7 %)."""
    a = Athlete(AthleteParams(seed=2))
    cues = (3.0, 10.0, 17.0)
    efforts = [a.go("cmj", cue_s=c, trial=i) for i, c in enumerate(cues, 1)]
    step = TrialStep(test="cmj")
    for c, e in zip(cues, efforts, strict=True):
        force, mocap = _windows(a, c - 2.0, c + 3.0)
        out = analyse_trial(step, force, None, mocap=mocap)
        assert out.valid, out.reason
        errs = _check_against_truth(out.metrics, _truth(a, e))
        print({k: np.round(np.max(np.abs(v)), 3) for k, v in errs.items()})
        m = out.metrics
        for s in ("l", "r"):
            assert m[f"seq_proximal_to_distal_{s}"] == 1.0
            assert [m[f"seq_{j}_rank_{s}"] for j in JOINTS] == [1, 2, 3]
            lm = a.cmj_landmarks(e)
            for j in JOINTS:  # extension onset (maximum flexion) to take-off; the 10 Hz filter rounds it
                want = 1000 * (lm["takeoff_s"] - lm[f"{j}_extension_onset_s"])
                assert want - 1 <= m[f"seq_{j}_extension_to_takeoff_{s}_ms"] <= want + 15
        p = out.params["sequencing"]
        assert p["function"] == "labkit.trials.sequencing.jump_sequencing"
        assert p["lowpass_hz"] == 10.0 and p["source"] == "markers" and p["sides"] == ["l", "r"]
        assert out.inputs["mocap"]["stream"] == "mocap"


def test_distal_first_jump_and_rigid_bodies():
    """Reversed lags give ankle>knee>hip and proximal_to_distal 0, from markers and from
    rigid bodies alike."""
    a = Athlete(AthleteParams(cmj_extension_lags_s={"hip": 0.12, "knee": 0.06, "ankle": 0.0}))
    e = a.go("cmj", cue_s=3.0)
    truth = _truth(a, e)
    assert truth["order"] == ["ankle", "knee", "hip"]
    for output in ("markers", "segments"):
        force, mocap = _windows(a, 1.0, 6.0, output=output)
        out = analyse_trial(TrialStep(test="cmj"), force, None, mocap=mocap)
        _check_against_truth(out.metrics, truth)
        assert out.metrics["seq_proximal_to_distal_r"] == 0.0
        assert out.metrics["seq_hip_knee_lag_r_ms"] == pytest.approx(-30.0, abs=2.0)
        assert out.params["sequencing"]["source"] == ("markers" if output == "markers" else "rigid bodies")


def test_no_mocap_missing_markers_and_other_tests():
    a = Athlete(AthleteParams())
    a.go("cmj", cue_s=3.0)
    force, mocap = _windows(a, 1.0, 6.0, drop=("LANM",))
    plain = analyse_trial(TrialStep(test="cmj"), force, None)
    assert plain.valid and not any(k.startswith("seq_") for k in plain.metrics)
    out = analyse_trial(TrialStep(test="cmj"), force, None, mocap=mocap)
    assert out.valid  # a marker missing never invalidates the jump
    assert "LANM" in out.metrics["seq_note"] and "LANM" in out.params["sequencing"]["error"]
    assert out.metrics["jump_height_m"] == plain.metrics["jump_height_m"]
    b = Athlete(AthleteParams())
    b.go("imtp", cue_s=3.0, hold_s=2.0)
    force, mocap = _windows(b, 1.0, 6.0)
    iso = analyse_trial(TrialStep(test="imtp"), force, None, mocap=mocap)
    assert not any(k.startswith("seq_") for k in iso.metrics)
    with pytest.raises(SignalError, match="take-off"):
        jump_sequencing(mocap, float("nan"))


# ------------------------------------------------------------------ a recorded session


@pytest.fixture(scope="module")
def recorded_cmj(tmp_path_factory):
    """protocols/cmj.yaml run unattended (--fast) on a simulated lab of its own (~35 s)."""
    from labkit.protocol.runner import RunOptions
    from labkit.protocol.view import View
    from labkit.trials.protocols import load_protocol
    from tests.protocol.sim_run import simulated_runner

    out = tmp_path_factory.mktemp("seq") / "cmj.h5"
    proto, proto_text = load_protocol("cmj")
    cfg, cfg_text = load_hardware_config()
    opts = RunOptions(out_path=out, athlete="SEQ01", unattended=True, fast=True)
    lines: list[str] = []
    runner = simulated_runner(proto, proto_text, cfg, cfg_text, opts, View(lines.append))
    runner.run()
    live = {int(r.trial_id): r.outcome for r in runner.trials}
    shown = [ln for ln in lines if ln.startswith("sequencing")]
    return out, AthleteParams.from_mapping(cfg.athlete.model_dump()), live, shown


def test_recorded_cmjs_sequencing_live_file_and_analyze(recorded_cmj):
    """Every recorded CMJ: order right, lags within 5 ms of the truth stream, take-off
    angles within 2 deg, joint angles over the trial within 2 deg RMS of the simulated
    ones (measured: lags within 0.5 ms); the live analysis, the stored (runner) results
    and labkit.analyze on the file give the same figures."""
    path, params, live, shown = recorded_cmj
    # the live screen shows each jump's order and lags (or why not: a live mocap buffer
    # more than 2 s behind under load ends the window before take-off)
    assert len(shown) == len(live), shown
    ran = [ln for ln in shown if ln.count("hip>knee>ankle") == 2]
    assert ran and all(ln in ran or "not computed" in ln for ln in shown), shown
    with labkit.open_session(path) as s:
        truth = [json.loads(x[0]) for x in s.stream("truth").data]
        stored = s.result("protocol").tables["trials"]
        mocap = s.stream("mocap")
        mlabels, mdata, mtimes = list(mocap.labels), np.asarray(mocap.data, float), np.asarray(mocap.times)
        trials = s.trials
    kin_truth = {m["trial"]: m for m in truth if m.get("event") == "kinematics"}
    efforts = [m for m in truth if m.get("event") == "effort" and m["task"] == "cmj"]
    assert len(kin_truth) >= 3 and len(stored) == len(kin_truth)
    tidy = labkit.analyze(path, {})  # analysed again from the stored data
    seq = tidy[tidy["metric"].str.startswith("seq_")]
    wide = seq.pivot_table(index="trial", columns="metric", values="value")
    lag_err = []
    for _, row in stored.iterrows():
        t = kin_truth[int(row["trial"])]
        errs = _check_against_truth(row.to_dict(), t)
        lag_err += errs["lag_ms"]
        for metric, value in wide.loc[int(row["trial"])].items():
            assert value == pytest.approx(row[metric], rel=1e-9, abs=1e-9), metric
        if "seq_note" not in live[int(row["trial"])].metrics:
            _check_against_truth(live[int(row["trial"])].metrics, t)  # the live analysis too
    print("lag errors (ms):", np.round(lag_err, 2))
    # joint angles over each trial against the athlete replayed from the truth stream
    a = Athlete(params)
    for m in efforts:
        a.go("cmj", cue_s=m["cue_s"], trial=m["trial"])
    markers = {lb[:-2]: mdata[:, [i, i + 1, i + 2]] for i, lb in enumerate(mlabels) if lb.endswith(".x")}
    ang = kin.lower_limb_angles(kin.frames_from_markers(markers))
    sim = a.joint_angles(mtimes)
    for _, tr in trials.iterrows():
        w = (mtimes >= tr["start"]) & (mtimes <= tr["end"])
        for s in ("l", "r"):
            for j in JOINTS:
                rms = float(np.sqrt(np.mean((ang.sagittal(j, s)[w] - np.rad2deg(sim[j][w])) ** 2)))
                assert rms <= 2.0, (tr["id"], j, s, rms)
    units = seq.groupby("metric")["unit"].first()
    assert units["seq_hip_knee_lag_r_ms"] == "ms" and units["seq_knee_takeoff_angle_l_deg"] == "deg"
    assert isinstance(pd.Series(stored["seq_order_r"]).iloc[0], str)
