"""`labkit run protocols/treadmill_run.yaml --fast` on the simulated lab (live LSL): the
stored run metrics against the truth the simulated lab published for each run.

About a minute (three runs, each 1.5 s quiet + 4 s of running), run in CI: it is the
issue's acceptance check of the live path. The offline twin of
this check, on a session written without LSL, is tests/trials/test_running.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import labkit
from labkit.config.hardware import load_hardware_config
from labkit.protocol.runner import RunOptions
from labkit.protocol.schema import load_protocol
from tests.protocol.sim_run import simulated_runner

REPO = Path(__file__).resolve().parents[2]


def test_treadmill_run_protocol_live_matches_the_published_truth(tmp_path):
    proto, proto_text = load_protocol(str(REPO / "protocols" / "treadmill_run.yaml"))
    cfg, cfg_text = load_hardware_config()
    opts = RunOptions(out_path=tmp_path / "run.h5", athlete="SIM01", unattended=True, fast=True)
    simulated_runner(proto, proto_text, cfg, cfg_text, opts, None).run()
    with labkit.open_session(tmp_path / "run.h5") as s:
        msgs = [json.loads(x) for x in s.stream("truth").data[:, 0]]
        result = s.result("protocol")
        table = result.tables["trials"]
        strides = result.tables["strides"]
    runs = {m["trial"]: m for m in msgs if m["event"] == "run"}
    assert len(table) == 3 and table["valid"].all()
    assert sorted(table["speed_m_s"]) == [3.0, 4.0, 5.0]
    deficit = {"l": "left", "r": "right"}[cfg.athlete.model_dump()["run_deficit_side"]]
    for _, row in table.iterrows():
        t = runs[int(row["trial"])]
        strikes = np.sort(np.concatenate([m["strike_s"] for m in msgs if m["event"] == "strides"
                                          and m["trial"] == t["trial"]]))
        assert abs(row["cadence_steps_min"] - 60 / np.diff(strikes).mean()) < 1.0
        assert abs(row["first_strike_time_s"] - strikes[0]) * 2000.0 < 2.0
        found = result.provenance["params"]["analyses"][row["label"]]["contacts"]
        for s in "lr":  # every contact against the published truth
            ts = np.concatenate([m["strike_s"] for m in msgs if m["event"] == "strides"
                                 and m["trial"] == t["trial"] and m["side"] == s])
            to = np.concatenate([m["off_s"] for m in msgs if m["event"] == "strides"
                                 and m["trial"] == t["trial"] and m["side"] == s])
            for a, b in zip(found[s]["strike_s"], found[s]["off_s"], strict=True):
                k = int(np.argmin(np.abs(ts - a)))
                assert abs(ts[k] - a) * 2000.0 < 2.0
                assert abs((b - a) - (to[k] - ts[k])) * 2000.0 < 1.0
        for s, name in (("l", "left"), ("r", "right")):
            tg = t["targets"][s]
            assert abs(row[f"{name}_peak_hip_extension_deg"] - tg["peak_hip_extension_deg"]) < 1.0
            assert abs(row[f"{name}_pelvic_drop_peak_deg"] - tg["pelvic_drop_deg"]) < 1.0
        assert row["hip_extension_deficit_side"] == deficit
        assert row["pelvic_drop_side"] == deficit
        # the per-stride table is stored: its strikes are the contacts found, and its
        # per-side means are the trial's metrics
        mine = strides[strides["trial_id"] == int(row["trial"])]
        for s, name in (("l", "left"), ("r", "right")):
            side = mine[mine["side"] == s]
            assert np.allclose(np.sort(side["strike_s"]), np.sort(found[s]["strike_s"])[:len(side)])
            for m in ("contact_time_s", "peak_hip_extension_deg"):
                assert abs(side[m].mean() - row[f"{name}_{m}"]) < 1e-9, (s, m)
    # the simulated belts are placed in the lab (hardware_configs/simulated.yaml corners_m):
    # each foot's centre of pressure is on its foot's line (y = +-0.1 m) between heel and
    # toe, the reaction points up, and the session exports to OpenSim
    from labkit.analysis.lab_loads import lab_loads
    from labkit.analysis.opensim import export_opensim

    with labkit.open_session(tmp_path / "run.h5") as s:
        loads = lab_loads(s)
        mk = s.stream("mocap").window()
    for plate, side_y, foot in (("fp1", 0.1, "L"), ("fp2", -0.1, "R")):
        ld = loads[plate]
        on = ld.force_n[:, 2] > 200.0
        cop = np.nanmedian(ld.cop_m[on], axis=0)
        heel, toe = (np.nanmedian(mk.column(f"{foot}{m}.x")) for m in ("HEE", "TOE"))
        assert abs(cop[1] - side_y) < 0.01 and min(heel, toe) < cop[0] < max(heel, toe), (plate, cop)
        assert np.median(ld.force_n[on, 2]) > 200.0
    _, mot = export_opensim(tmp_path / "run.h5", trc_path=tmp_path / "run.trc",
                            mot_path=tmp_path / "run.mot")
    lines = mot.read_text().splitlines()
    head = lines.index("endheader") + 1
    cols = lines[head].split("\t")
    table = np.loadtxt(lines[head + 1:])
    vz, py = (table[:, cols.index(f"fp1_ground_force_{c}")] for c in ("vz", "py"))
    assert abs(np.median(py[vz > 200.0]) - 0.1) < 0.01  # the .mot holds the same lab-frame loads
