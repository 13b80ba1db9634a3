"""The ``run`` test: simulated treadmill runs at 3 speeds, analysed as ``labkit run`` would.

The session is written straight from the simulated athlete (no LSL) with a hip-extension
deficit and a larger pelvic drop on one side; its ground truth (strides and per-side
targets) is stored in the session as ``truth`` events and checked against the stored
results of the runner's own analysis.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import labkit
from labkit.analysis.synthetic import write_protocol_session
from labkit.config.protocol import TrialStep
from labkit.errors import ConfigError
from labkit.trials.catalogue import entry
from labkit.trials.protocols import load_protocol

PROTOCOL = Path(__file__).parents[2] / "protocols" / "treadmill_run.yaml"
FORCE_HZ = 2000.0


def _session(tmp_path, side: str):
    p = write_protocol_session(tmp_path / f"run_{side}.h5", str(PROTOCOL), seed=4, athlete_params={
        "run_hip_extension_deficit_deg": 5.0, "run_pelvic_drop_extra_deg": 3.0, "run_deficit_side": side})
    s = labkit.open_session(p)
    ev = s.events
    truth = [json.loads(v) for v, src in zip(ev["value"], ev["source"], strict=True) if src == "truth"]
    result = s.result("protocol")
    return result.tables["trials"], truth, result.provenance["params"]["analyses"]


@pytest.mark.parametrize("side", ["l", "r"])
def test_simulated_treadmill_runs_at_three_speeds_match_their_truth(tmp_path, side):
    table, truth, analyses = _session(tmp_path, side)
    runs = {m["trial"]: m for m in truth if m["event"] == "run"}
    assert sorted(m["speed_m_s"] for m in runs.values()) == [3.0, 4.0, 5.0]
    assert len(table) == 3 and table["valid"].all()
    name = {"l": "left", "r": "right"}[side]
    for _, row in table.iterrows():
        t = runs[int(row["trial"])]
        assert row["speed_m_s"] == t["speed_m_s"]
        def ends(key, t=t):
            return {s: np.concatenate([m[key] for m in truth if m["event"] == "strides"
                                       and m["trial"] == t["trial"] and m["side"] == s]) for s in "lr"}

        strikes, offs = ends("strike_s"), ends("off_s")
        # contacts of complete strides (a strike follows on the same side)
        contact = np.concatenate([offs[s][:-1] - strikes[s][:-1] for s in "lr"]).mean()
        steps = np.diff(np.sort(np.concatenate(list(strikes.values()))))
        assert abs(row["cadence_steps_min"] - 60 / steps.mean()) < 1.0
        assert abs(row["cadence_steps_min"] - t["cadence_steps_min"]) < 1.0
        assert abs(row["contact_time_s"] - contact) * FORCE_HZ < 1.0
        # braking and propulsion each of its own size (0.3 and 0.2 body weights; a swapped
        # sign of the belts' Fx would swap them), within the plates' own sway shear (1 % of
        # Fz: up to about 10 % of these peaks)
        for s in ("left", "right"):
            assert row[f"{s}_braking_peak_n"] == pytest.approx(t["braking_peak_n"], rel=0.12)
            assert row[f"{s}_propulsive_peak_n"] == pytest.approx(t["propulsive_peak_n"], rel=0.12)
            assert row[f"{s}_braking_peak_n"] > 1.2 * row[f"{s}_propulsive_peak_n"]
        found = analyses[row["label"]]["contacts"]  # every contact: strike within 2 samples,
        for s in "lr":  # contact time within one sample of the force rate
            for a, b in zip(found[s]["strike_s"], found[s]["off_s"], strict=True):
                k = int(np.argmin(np.abs(strikes[s] - a)))
                assert abs(strikes[s][k] - a) * FORCE_HZ < 2.0
                assert abs((b - a) - (offs[s][k] - strikes[s][k])) * FORCE_HZ < 1.0
        assert abs(row["first_strike_time_s"] - min(strikes["l"][0], strikes["r"][0])) * FORCE_HZ < 2.0
        for s, sname in (("l", "left"), ("r", "right")):
            tg = t["targets"][s]
            assert abs(row[f"{sname}_peak_hip_extension_deg"] - tg["peak_hip_extension_deg"]) < 1.0
            assert abs(row[f"{sname}_pelvic_drop_peak_deg"] - tg["pelvic_drop_deg"]) < 1.0
        assert row["hip_extension_deficit_side"] == name
        assert row["pelvic_drop_side"] == name
        for s in "lr":  # the glutes switch on before each strike, as simulated
            assert abs(row[f"emg_gluteus_maximus_{s}_onset_ms"] - 1e3 * t["glute_onset_rel_strike_s"]) < 10.0


def test_the_protocol_loads_and_a_run_without_speed_says_what_to_add(tmp_path):
    proto, _ = load_protocol(PROTOCOL)
    assert proto.name == "treadmill_run"
    bad = PROTOCOL.read_text().replace("            speed_m_s: 4.0\n", "", 1)
    f = tmp_path / "bad.yaml"
    f.write_text(bad)
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: .*needs `speed_m_s`"):
        load_protocol(f)
    assert entry("run").paced and entry("run").reads_mocap
    assert TrialStep(test="run", speed_m_s=3.5).speed_m_s == 3.5
