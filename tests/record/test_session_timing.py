"""Electromechanical delay from a recorded session: the simulated lab over LSL, cued pulls,
then `labkit.signal.timing.session_timing` on the session file against the athlete's truth."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pylsl

import labkit
from labkit.devices.sim.lab import SimulatedLab
from labkit.lsl.streams import create_outlet
from labkit.record.recorder import Recorder
from labkit.signal import timing
from labkit.spec import ChannelSpec, StreamSpec

from .labs import lab_config

LIMB = ("gluteus_maximus", "gluteus_medius", "rectus_femoris", "tensor_fasciae_latae",
        "biceps_femoris")


def test_electromechanical_delay_per_muscle_from_a_recorded_session(tmp_path):
    """Six cued pulls; the mean EMD of every limb muscle within 5 ms of the truth (the force
    detector's ~1 ms 5 SD bias is part of every EMD, so the mean needs a few trials)."""
    config, text = lab_config(("force", "emg", "truth"))
    path = tmp_path / "emd.h5"
    cue_spec = StreamSpec(f"cues-{config.source_prefix}", "markers", [ChannelSpec("cue")], 0.0,
                          "string", source_id=f"{config.source_prefix}-cues")
    windows = []
    with SimulatedLab(config) as lab:
        cues = create_outlet(cue_spec)
        assert lab.wait_for_cue_streams(1, timeout_s=10)
        with Recorder(config, path, config_text=text) as rec:
            assert rec.wait_for_stream(lambda s: s.source_id == cue_spec.source_id, 15)
            time.sleep(1.0)
            for k in range(1, 7):
                cues.push_sample([f"trial:{k}"])
                cues.push_sample(["task:imtp"])
                time.sleep(1.5)
                go = pylsl.local_clock()
                cues.push_sample(["go"])
                time.sleep(1.5)
                cues.push_sample(["stop"])
                windows.append((go - 1.4, go + 1.5))
                time.sleep(1.5)
    with labkit.open_session(path) as s:
        truth = [json.loads(x) for x in s.stream("truth").data[:, 0]]
        channels = [c for c in s.stream("emg").labels if c.startswith(LIMB)]
        # trunk channels carry the simulated ECG, which the EMG core does not yet remove
        # reliably in short windows (see docs/emg.md); the limb muscles are checked here
        r = timing.session_timing(s, windows, emg_channels=channels,
                                  emg_options={"order": 2, "low_hz": 50.0})
    efforts = {m["trial"]: m for m in truth if m["event"] == "effort"}
    emg = {m["trial"]: m for m in truth if m["event"] == "emg"}
    true_emd = pd.DataFrame(
        [{c: 1e3 * (efforts[k]["force_onset_s"] - emg[k]["emg_onset_s"][c]) for c in channels}
         for k in range(1, 7)], index=r.emd_ms.index)
    err = r.emd_ms[channels] - true_emd
    assert not err.isna().any().any()
    assert err.mean().abs().max() <= 5.0, err.mean().round(2).to_dict()
    force_err_ms = 1e3 * (r.trials["force_onset_s"].to_numpy()
                          - np.array([efforts[k]["force_onset_s"] for k in range(1, 7)]))
    assert np.all((force_err_ms > -0.5) & (force_err_ms < 3.0)), force_err_ms
