"""The tidy table of a hip battery: each test carries only the metrics that apply to it
(the catalogue's ``metrics``), in its own units, with the direction of trunk rotations in
``side``. Known answers: the simulated athlete's hip flexion pulls 300 N, its trunk
rotation turns 120 N.m, its CMJ reaches 0.35 m."""

from __future__ import annotations

import numpy as np
import pytest

import labkit
from labkit.analysis.synthetic import write_protocol_session
from labkit.analysis.tidy import METHOD
from labkit.trials.catalogue import entry


@pytest.fixture(scope="module")
def hip_session(tmp_path_factory):
    return write_protocol_session(tmp_path_factory.mktemp("tidy") / "hip.h5", "hip_battery", seed=2)


@pytest.fixture(scope="module")
def table(hip_session):
    return labkit.analyze(hip_session)


def _trial(table, test, side=""):
    rows = table[(table["test"] == test) & (table["side"] == side)]
    assert rows["trial"].nunique() == 1, (test, side, sorted(set(table["side"])))
    return rows.set_index("metric")


def test_every_row_is_a_metric_of_its_test(table):
    assert set(table["test"]) == {"imtp", "isometric_hip_extension", "isometric_hip_flexion",
                                  "isometric_trunk_rotation", "cmj"}
    stray = table[[not entry(t).reports(m) for t, m in zip(table["test"], table["metric"], strict=True)]]
    assert stray.empty, stray[["test", "metric"]].drop_duplicates().to_string()
    imtp, cmj = _trial(table, "imtp"), _trial(table, "cmj")
    assert "jump_height_m" not in imtp.index and "takeoff_s" not in imtp.index
    assert "rfd_0_100ms_n_s" not in cmj.index and "force_at_100ms_n" not in cmj.index
    assert {"peak_force_n", "relative_peak_force_n_kg", "force_at_100ms_n", "emd_gluteus_maximus_r_ms"
            } <= set(imtp.index)
    assert {"jump_height_m", "takeoff_time_s", "landing_time_s", "braking_duration_s",
            "emd_gluteus_maximus_r_ms"} <= set(cmj.index)
    assert cmj.loc["jump_height_m", "value"] == pytest.approx(0.35, abs=0.01)
    assert cmj.loc["jump_height_m", "unit"] == "m"


def test_hip_flexion_reports_a_positive_pull_and_no_absolute_levels(table):
    for side in ("left", "right"):
        flex = _trial(table, "isometric_hip_flexion", side)
        assert flex.loc["net_peak_force_n", "value"] == pytest.approx(300.0, abs=10.0)
        assert flex.loc["net_peak_force_n", "unit"] == "N"
        assert flex.loc["rfd_0_100ms_n_s", "value"] > 0 and flex.loc["rfd_0_100ms_n_s", "unit"] == "N/s"
        assert flex.loc["impulse_0_100ms_ns", "value"] > 0 and flex.loc["impulse_0_100ms_ns", "unit"] == "N.s"
        absolute = {"body_weight_n", "baseline_n", "peak_force_n", "relative_peak_force_n_kg",
                    "pretension_n", "force_at_100ms_n"}
        assert absolute.isdisjoint(flex.index), absolute & set(flex.index)
        ext = _trial(table, "isometric_hip_extension", side)
        assert ext.loc["net_peak_force_n", "value"] == pytest.approx(400.0, abs=10.0)
        assert absolute.isdisjoint(ext.index)


def test_trunk_rotation_carries_its_direction_and_moment_units(table):
    for direction in ("left", "right"):
        trunk = _trial(table, "isometric_trunk_rotation", direction)
        assert set(trunk["label"]) == {f"isometric_trunk_rotation {direction}"}
        assert trunk.loc["net_peak_force_n", "value"] == pytest.approx(120.0, abs=10.0)
        units = trunk["unit"].to_dict()
        assert units["net_peak_force_n"] == "N.m" and units["weighing_range_n"] == "N.m"
        assert units["rfd_0_100ms_n_s"] == "N.m/s" and units["impulse_0_100ms_ns"] == "N.m.s"
        assert units["onset_time_s"] == "s" and units["emd_gluteus_maximus_r_ms"] == "ms"
        assert {"body_weight_n", "relative_peak_force_n_kg", "peak_force_n", "baseline_n"
                }.isdisjoint(trunk.index)
    assert set(table.loc[table["test"] == "imtp", "side"]) == {""}
    assert set(table.loc[table["test"] == "isometric_hip_flexion", "side"]) == {"left", "right"}


def test_results_stored_without_the_direction_get_it_from_the_trials_table(hip_session, tmp_path):
    """Sessions recorded before trunk rotations stored their direction in the results' side."""
    import shutil

    from labkit.session.results import write_result

    old = tmp_path / "old.h5"
    shutil.copy(hip_session, old)
    with labkit.open_session(old) as s:
        res = s.result("protocol")
        trials = res.tables["trials"].copy()
    directional = trials["test"] == "isometric_trunk_rotation"
    trials.loc[directional, "side"] = ""
    write_result(old, "analysis", method=METHOD, params=res.provenance["params"],
                 inputs=res.provenance["inputs"], tables={"trials": trials})
    df = labkit.analyze(old)
    assert set(df["result"]) == {"analysis"}
    sides = df[df["test"] == "isometric_trunk_rotation"].groupby("trial")["side"].first()
    assert sorted(sides) == ["left", "right"]
    np.testing.assert_array_equal(df["value"].to_numpy(), labkit.analyze(hip_session)["value"].to_numpy())
