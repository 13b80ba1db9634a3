"""Imported gait (C3D) through the run test: strides from markers and plates.

PiG_Motion3_FF.c3d (Vicon Nexus walk, 3 plates) carries Vicon's own Foot Strike / Foot
Off events: labkit's strikes and toe-offs are checked against them. Gait.c3d (Motion
Analysis walk, 2 plates) has no events; its strides are checked for a walk's signature.
"""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.config.protocol import TrialStep
from labkit.trials.running import analyse_run

ezc3d = pytest.importorskip("ezc3d", reason="ezc3d is the optional extra for C3D files (labkit[c3d])")
FRAME_S = 0.01  # both files' markers run at 100 Hz


def _run(shared_data, tmp_path, name):
    from labkit.analysis.c3d import import_c3d

    out = import_c3d(shared_data / "c3d" / name, tmp_path / "g.h5", test="run")
    with labkit.open_session(out) as s:
        win = {n: s.stream(n).window() for n in ("force", "emg", "mocap")}
        events = s.events[s.events["source"] == "c3d"]
    outcome = analyse_run(TrialStep(test="run"), win["force"], win["emg"], None, mocap=win["mocap"])
    return out, outcome, events


def _file_events(events):
    out = {}
    for t, lab in zip(events["time"], events["label"], strict=True):
        key = ("l" if lab.startswith("Left") else "r", "strike" if "Strike" in lab else "off")
        out.setdefault(key, []).append(float(t))
    return out


def test_pig_walk_strikes_and_toe_offs_match_vicons_events(shared_data, tmp_path):
    _, o, events = _run(shared_data, tmp_path, "PiG_Motion3_FF.c3d")
    r = o.result
    want = _file_events(events)
    contacts = r.params["contacts"]
    plate = {(a["side"], round(a["strike_s"], 3)) for a in o.params["plate_contacts"]}
    assert len(plate) == 3  # each plate holds one foot's contact
    for side in "lr":
        strikes = np.asarray(contacts[side]["strike_s"])
        offs = np.asarray(contacts[side]["off_s"])
        # every file strike has a strike of ours within 2 frames (plates: within 1)
        for w in want[(side, "strike")]:
            d = np.min(np.abs(strikes - w)) / FRAME_S
            on_plate = any(s == side and abs(t - w) < 0.02 for s, t in plate)
            assert d <= (1.0 if on_plate else 2.0), (side, w, d)
        # toe-offs from the markers within 2 frames of the file's; on a plate, where the
        # force reaches 0 N: 1.0 and 1.3 frames after Vicon's event on fp1 and fp3, 3.0 on
        # fp2, where Vicon's event sits at Fz = 85.6 N, 2.4 frames before even the 20 N
        # crossing (its foot-off rule is not a force threshold there)
        for w in want[(side, "off")]:
            fin = offs[np.isfinite(offs)]
            if not fin.size or np.min(np.abs(fin - w)) > 0.1:
                continue  # the file's event lies outside our complete contacts
            k = int(np.argmin(np.abs(fin - w)))
            d = (fin[k] - w) / FRAME_S
            on_plate = any(s == side and 0 < fin[k] - t < 1.0 for s, t in plate)
            assert (0 <= d <= 3.05) if on_plate else abs(d) <= 2.0, (side, w, d)
    m = o.metrics
    assert m["walking"] == 1.0 and m["flight_time_s"] == 0.0
    assert 100 < m["cadence_steps_min"] < 125  # a walk: Vicon's events give 111.1
    assert o.inputs["gait"] == "over ground, walking"
    # plate contacts give the stride's GRF: left = mean of fp1 and fp3's peaks, right fp2's
    f = o.result.strides
    assert m["right_vertical_peak_n"] == pytest.approx(822.8, abs=0.5)
    assert m["left_vertical_peak_n"] == pytest.approx((793.0 + 826.8) / 2, abs=0.5)
    assert f["vertical_peak_n"].notna().sum() == 3


def _lab_frame_ap(out, mocap):
    """Per plate, braking and propulsive peaks (N) of the ground reaction in the LAB frame
    (labkit.analysis.lab_loads, from the file's plate corners) along the pelvis' travel:
    an independent path to what plate_ap_reaction finds from the plate alone."""
    from labkit.analysis.lab_loads import lab_loads

    with labkit.open_session(out) as s:
        loads = lab_loads(s)
    lab = list(mocap.labels)
    pelvis = np.mean([mocap.data[:, [lab.index(f"{m}.{a}") for a in "xyz"]] for m in ("LASI", "RASI")],
                     axis=0)
    ok = np.isfinite(pelvis).all(axis=1)
    travel = pelvis[ok][-1] - pelvis[ok][0]
    travel[2] = 0.0
    u = travel / np.linalg.norm(travel)
    out = {}
    for name, ld in loads.items():
        on = ld.force_n[:, 2] > 20.0
        ap = ld.force_n[on] @ u
        out[name] = (float(np.max(-ap)), float(np.max(ap)))
    return out


@pytest.mark.parametrize("name", ["PiG_Motion3_FF.c3d", "Gait.c3d"])
def test_overground_braking_and_propulsion_match_the_lab_frame_reaction(shared_data, tmp_path, name):
    """Measured: PiG fp1/fp2/fp3 braking 116.9/108.1/104.7 N against 116.8/107.4/104.5 N in
    the lab frame, propulsion 128.9/158.0/154.8 against 129.0/158.9/155.1 N; Gait.c3d fp2
    159.8 / 178.7 against 158.1 / 180.1 N."""
    out, o, _ = _run(shared_data, tmp_path, name)
    with labkit.open_session(out) as s:
        mocap = s.stream("mocap").window()
    ref = _lab_frame_ap(out, mocap)
    strides = o.result.strides
    checked = []
    for a in o.params["plate_contacts"]:
        row = strides[(strides["side"] == a["side"]) & (np.abs(strides["strike_s"] - a["strike_s"]) < 0.02)]
        if row.empty:  # the foot's last contact: no stride follows it
            continue
        braking, propulsion = ref[a["plate"]]
        assert row["braking_peak_n"].iloc[0] == pytest.approx(braking, rel=0.02), a
        assert row["propulsive_peak_n"].iloc[0] == pytest.approx(propulsion, rel=0.02), a
        # a steady walk: braking and propulsive impulses nearly cancel
        impulses = row[["braking_impulse_ns", "propulsive_impulse_ns"]].iloc[0]
        assert impulses.iloc[0] == pytest.approx(impulses.iloc[1], rel=0.3)
        checked.append(a["side"])
    assert len(checked) == (3 if name.startswith("PiG") else 1)
    for side in set(checked):  # the per-side means reach the trial's metrics
        assert np.isfinite(o.metrics[f"{'left' if side == 'l' else 'right'}_braking_peak_n"])


def test_gait_c3d_walk_gives_stride_metrics_and_flight_time_zero(shared_data, tmp_path):
    out, o, _ = _run(shared_data, tmp_path, "Gait.c3d")
    m = o.metrics
    assert m["walking"] == 1.0 and m["flight_time_s"] == 0.0
    assert {a["side"] for a in o.params["plate_contacts"]} == {"l", "r"}
    assert 0.5 < m["contact_time_s"] < 0.75 and 0.55 < m["duty_factor"] < 0.7
    # data/README.md: the plates' Fz peaks are about 799 N (fp1) and 855 N (fp2); fp2 holds
    # the right foot's stride (fp1 the left foot's last contact, with no stride after it)
    assert m["right_vertical_peak_n"] == pytest.approx(855.4, abs=1.0)
    # the same numbers from the file through labkit.analyze (the tidy table)
    tidy = labkit.analyze(out)
    got = dict(zip(tidy["metric"], tidy["value"], strict=False))
    assert got["cadence_steps_min"] == pytest.approx(m["cadence_steps_min"])


def test_labkit_import_test_run_prints_the_stride_metrics(shared_data, tmp_path, capsys):
    from labkit.cli import main

    assert main(["import", str(shared_data / "c3d" / "PiG_Motion3_FF.c3d"), "-o", str(tmp_path / "p.h5"),
                 "--test", "run"]) == 0
    out = capsys.readouterr().out
    assert "run trial of PiG_Motion3_FF.c3d (valid)" in out
    for name in ("cadence_steps_min", "walking", "peak_hip_extension_deg", "pelvic_drop_peak_deg"):
        assert name in out
    assert "112 steps/min" in out and "0.000 s" in out  # cadence; flight time 0 (a walk)
