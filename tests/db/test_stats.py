"""The statistics against hand-computed answers (tidy tables built here, as a database or
``labkit.analyze`` returns them)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labkit.db import stats
from labkit.errors import ConfigError


def _rows(values, *, metric="peak_force_n", test="imtp", side=""):
    """values: {(athlete, session, date): [trial values]} -> tidy rows."""
    out = []
    for (athlete, session, date), trials in values.items():
        for k, v in enumerate(trials, start=1):
            out.append({"athlete": athlete, "session_id": session, "date": date, "test": test,
                        "label": test, "side": side, "trial": k, "metric": metric, "value": v,
                        "valid": True})
    return pd.DataFrame(out)


def test_typical_error_is_hopkins_sd_of_differences_over_root_two():
    pairs = {("A", "a1", "2026-01-01"): [100.0, 104.0], ("B", "b1", "2026-01-01"): [200.0, 198.0],
             ("C", "c1", "2026-01-01"): [150.0, 151.0]}
    diffs = np.array([4.0, -2.0, 1.0])
    te = stats.typical_error(_rows(pairs), "peak_force_n")
    # two trials: within-subject SD = sqrt(mean(d^2)/2); Hopkins' SD(diff)/sqrt(2) once the
    # mean difference (the learning effect) is zero; here the pooled within-session variance
    assert te.te == pytest.approx(math.sqrt(np.mean(diffs ** 2) / 2))
    assert te.df == 3 and te.n_sessions == 3


def test_typical_error_pools_variances_weighted_by_degrees_of_freedom():
    rows = _rows({("A", "a1", "d"): [10.0, 12.0, 14.0], ("B", "b1", "d"): [5.0, 6.0]})
    # variances 4 (df 2) and 0.5 (df 1): sqrt((2*4 + 1*0.5)/3)
    assert stats.typical_error(rows, "peak_force_n").te == pytest.approx(math.sqrt(8.5 / 3))


def test_swc_is_a_fifth_of_the_between_athlete_sd_of_baselines():
    rows = _rows({("A", "a1", "2026-01-01"): [100.0, 102.0], ("A", "a2", "2026-02-01"): [300.0],
                  ("B", "b1", "2026-01-01"): [120.0], ("C", "c1", "2026-01-01"): [140.0]})
    # baselines 101, 120, 140 (the later session of A is no baseline)
    assert stats.smallest_worthwhile_change(rows, "peak_force_n") == pytest.approx(
        0.2 * np.std([101.0, 120.0, 140.0], ddof=1))


def test_changes_flag_beyond_swc_plus_the_noise_of_both_means():
    rows = _rows({("A", "a1", "2026-01-01"): [100.0, 100.0], ("A", "a2", "2026-02-01"): [110.0, 110.0],
                  ("A", "a3", "2026-03-01"): [104.0, 104.0], ("A", "a4", "2026-04-01"): [90.0, 90.0]})
    ch = stats.changes(rows, "peak_force_n", te=2.0, swc=3.0)
    threshold = 3.0 + stats.Z_ONE_SIDED_95 * 2.0 * math.sqrt(1 / 2 + 1 / 2)  # 6.29
    assert ch["threshold"].tolist() == pytest.approx([threshold] * 4)
    assert ch["change"].tolist() == [0.0, 10.0, 4.0, -10.0]
    assert ch["flag"].tolist() == ["", "improved", "", "declined"]
    with pytest.raises(ConfigError, match="te=nan"):
        stats.changes(rows, "peak_force_n", te=math.nan, swc=3.0)


def test_lower_is_better_metrics_improve_downwards():
    rows = _rows({("A", "a1", "d1"): [300.0], ("A", "a2", "d2"): [200.0]}, metric="time_to_peak_s")
    assert stats.changes(rows, "time_to_peak_s", te=1.0, swc=1.0)["flag"].tolist() == ["", "improved"]


def test_cohort_z_scores_and_percentiles():
    rows = _rows({("A", "a1", "d1"): [90.0], ("A", "a2", "d2"): [100.0], ("B", "b1", "d1"): [200.0],
                  ("C", "c1", "d1"): [300.0]})
    s = stats.cohort_scores(rows, "peak_force_n").set_index("athlete")
    assert s.loc["A", "best"] == 100.0  # the latest session
    assert s["z"].tolist() == pytest.approx([-1.0, 0.0, 1.0])  # mean 200, SD 100
    assert s["percentile"].tolist() == pytest.approx([100 / 3, 200 / 3, 100.0])


def test_asymmetry_and_its_traffic_lights():
    left = _rows({("A", "s1", "d1"): [100.0, 98.0], ("A", "s2", "d2"): [100.0], ("A", "s3", "d3"): [100.0]},
                 test="isometric_hip_extension", side="left")
    right = _rows({("A", "s1", "d1"): [95.0], ("A", "s2", "d2"): [112.0], ("A", "s3", "d3"): [80.0]},
                  test="isometric_hip_extension", side="right")
    a = stats.asymmetry(pd.concat([left, right]), "peak_force_n")
    assert a["asymmetry_pct"].tolist() == pytest.approx([-5.0, 12 / 112 * 100, -20.0])
    assert a["light"].tolist() == ["green", "amber", "red"]


def test_dynamic_strength_index_pairs_cmj_and_imtp_of_a_day():
    rows = pd.concat([_rows({("A", "s1", "d1"): [2000.0, 2100.0]}, test="imtp"),
                      _rows({("A", "s2", "d1"): [1500.0, 1680.0]}, test="cmj"),
                      _rows({("A", "s3", "d2"): [1600.0]}, test="cmj")])  # no IMTP that day
    d = stats.dynamic_strength_index(rows)
    assert d["date"].tolist() == ["d1"] and d["dsi"].tolist() == pytest.approx([0.8])
