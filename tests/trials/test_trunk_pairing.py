"""Cross-body pairing of the obliques in trunk-rotation trials, against the simulated
athlete (turning left: right external with left internal oblique at 80 % MVC, the other
pair at 20 %)."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.config.protocol import TrialStep
from labkit.devices.sim.athlete import Athlete, AthleteParams
from labkit.errors import SignalError
from labkit.signal.window import Window
from labkit.trials.analyse import analyse_trial
from labkit.trials.trunk_pairing import cross_body_pairing, expected_pair, summary_line

LABELS = [f"{m}_{s}" for s in "lr" for m in (
    "gluteus_maximus", "gluteus_medius", "rectus_femoris", "tensor_fasciae_latae", "biceps_femoris",
    "external_oblique", "internal_oblique", "multifidus")]
EMG_HZ = 2148.148148148148


def _windows(a: Athlete, t0: float, t1: float):
    rng = np.random.default_rng(1)
    tf = np.arange(t0, t1, 1 / 2000.0)
    loads = a.plate_loads(tf)
    names = [f"fp{p}.{c}" for p in (1, 2) for c in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")]
    force = Window(names, loads.reshape(tf.size, -1) + 0.5 * rng.standard_normal((tf.size, 12)), tf,
                   2000.0, "force")
    i0 = int(np.ceil(t0 * EMG_HZ))
    idx = np.arange(i0, int(t1 * EMG_HZ))
    te = idx / EMG_HZ
    emg = Window(LABELS, a.emg(idx, te, LABELS, EMG_HZ), te, EMG_HZ, "emg")
    return force, emg


@pytest.mark.parametrize("direction", ["left", "right"])
def test_pairing_of_a_simulated_trunk_rotation(direction):
    a = Athlete(AthleteParams(seed=4))
    e = a.go("isometric_trunk_rotation", cue_s=3.0, direction=direction, hold_s=2.0)
    force, emg = _windows(a, 1.0, 6.5)
    out = analyse_trial(TrialStep(test="isometric_trunk_rotation", direction=direction), force, emg)
    assert out.valid, out.reason
    m = out.metrics
    pair = expected_pair(direction)
    assert m["pair_muscles"] == "+".join(pair)
    assert pair == (("external_oblique_r", "internal_oblique_l") if direction == "left"
                    else ("external_oblique_l", "internal_oblique_r"))
    # amplitudes 0.8 and 0.2 of the MVC level: (1.6 - 0.4) / 2.0 = 0.6 (the 30 ms rise
    # inside the 0.5 s epoch lowers both alike)
    assert m["pairing_index"] == pytest.approx(0.6, abs=0.05)
    assert m["pair_amplitude_v"] == pytest.approx(4 * m["other_pair_amplitude_v"], rel=0.2)
    # internal oblique leads the external by 10 ms (emg_lead_s 0.09 vs 0.08)
    assert m["pair_onset_lag_ms"] == pytest.approx(-10.0, abs=5.0)
    assert abs(out.onset_time_s - e.onset_s) < 0.01
    p = out.params["pairing"]
    assert p["direction"] == direction and p["epoch_s"] == [0.0, 0.5] and p["ecg"] == "template"
    # the live screen's line after the trial names the pair, the index and the lag
    assert summary_line(m) == (f"pairing: {pair[0]} + {pair[1]}, index {m['pairing_index']:.2f}, "
                               f"onset lag {m['pair_onset_lag_ms']:.0f} ms")


def test_no_pairing_without_obliques_or_for_other_tests():
    a = Athlete(AthleteParams(seed=4))
    a.go("isometric_trunk_rotation", cue_s=3.0, direction="left", hold_s=2.0)
    force, emg = _windows(a, 1.0, 6.5)
    keep = [i for i, lb in enumerate(LABELS) if lb != "internal_oblique_l"]
    partial = Window([LABELS[i] for i in keep], emg.data[:, keep], emg.times, emg.rate_hz, "emg")
    out = analyse_trial(TrialStep(test="isometric_trunk_rotation", direction="left"), force, partial)
    assert out.valid and "internal_oblique_l" in out.metrics["pairing_note"]
    assert summary_line(out.metrics) == out.metrics["pairing_note"]
    plain = analyse_trial(TrialStep(test="isometric_trunk_rotation", direction="left"), force, None)
    assert "pairing_index" not in plain.metrics and summary_line(plain.metrics) == ""
    with pytest.raises(SignalError, match="direction='up'"):
        expected_pair("up")
    with pytest.raises(SignalError, match="no force onset"):
        cross_body_pairing(emg, float("nan"), "left")
