"""Ratios between tests in the aggregates: the dynamic strength index from the same
session's valid trials."""

from __future__ import annotations

import math

import pytest

from labkit.config.protocol import TrialStep
from labkit.trials.analyse import aggregates_table
from labkit.trials.catalogue import RATIOS
from labkit.trials.outcome import TrialOutcome, TrialRecord


def _trial(i: int, test: str, peak: float, valid: bool = True):
    step = TrialStep(test=test, aggregate="best")
    out = TrialOutcome(test, valid, () if valid else ("bad",), {"peak_force_n": peak,
                       "jump_height_m": 0.3, "rsi": 1.0}, "m", {}, {})  # fmt: skip
    return TrialRecord(i, f"s{i}", step, None, 1, 0.0, 1.0, valid, "", out), out


def test_dynamic_strength_index_is_best_cmj_peak_over_best_imtp_peak():
    rows = [_trial(1, "imtp", 2500.0), _trial(2, "imtp", 2607.0), _trial(3, "imtp", 3900.0, False),
            _trial(4, "cmj", 1900.0), _trial(5, "cmj", 2030.0), _trial(6, "cmj", 2500.0, False)]
    agg = aggregates_table(rows).set_index("label")
    dsi = agg.loc["dynamic_strength_index"]
    assert dsi["value"] == pytest.approx(2030.0 / 2607.0)  # invalid trials left out
    assert dsi["n_valid"] == 4 and dsi["n_trials"] == 6 and not dsi["repeat_needed"]
    assert dsi["method"] == "best cmj peak_force_n / best imtp peak_force_n"
    assert {r.name for r in RATIOS} == {"dynamic_strength_index"}


def test_ratio_needs_both_tests():
    only_cmj = aggregates_table([_trial(1, "cmj", 2000.0)])
    assert "dynamic_strength_index" not in set(only_cmj["label"])
    no_valid = aggregates_table([_trial(1, "cmj", 2000.0), _trial(2, "imtp", 2600.0, False)])
    row = no_valid.set_index("label").loc["dynamic_strength_index"]
    assert math.isnan(row["value"]) and row["repeat_needed"] and "both cmj and imtp" in row["note"]
