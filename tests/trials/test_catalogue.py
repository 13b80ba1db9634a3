"""The test catalogue is the one home of test names: every entry resolves, the protocol
schema, replay, runner cues and C3D importer read it, and option names come from the core
functions' signatures."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from labkit.config.protocol import TrialStep
from labkit.errors import ConfigError, SignalError
from labkit.signal.timing import EMD_MAX_LAG_S, EMD_MAX_LEAD_S, effort_onset
from labkit.signal.window import Window
from labkit.trials.catalogue import CATALOGUE, TESTS, entry, force_tests
from labkit.trials.protocols import option_names

REPO = Path(__file__).resolve().parents[2]


def test_every_entry_resolves_its_functions_and_headline():
    assert TESTS == ("imtp", "isometric_squat", "isometric_hip_extension", "isometric_hip_flexion",
                     "isometric_trunk_rotation", "cmj", "squat_jump", "drop_jump",
                     "single_leg_cmj", "rebound_jumps", "run", "mvc")
    for name, e in CATALOGUE.items():
        assert e.name == name
        assert callable(e.analysis_function()) and callable(e.core_function())
        params = inspect.signature(e.analysis_function()).parameters
        mocap = ["mocap"] if e.reads_mocap else []
        assert list(params) == ["step", "force", "emg", "body_weight_n", *mocap]
    assert entry("imtp").headline == "peak_force_n"
    assert entry("isometric_hip_flexion").headline == "net_peak_force_n"
    assert entry("isometric_hip_flexion").sign == -1.0
    assert entry("cmj").headline == "jump_height_m" and entry("cmj").min_window_s == 2.5
    assert entry("isometric_trunk_rotation").unit == "N.m"
    assert "mvc" not in force_tests() and "cmj" in force_tests()
    with pytest.raises(ConfigError, match="unknown test 'imtpp'; use one of imtp, "):
        entry("imtpp")


def test_option_names_are_the_core_function_parameters():
    iso = option_names(entry("imtp"))
    assert "onset_k" in iso and "epochs_ms" in iso and "emg" in iso
    # thresholds set under validation: are not analysis options
    assert "max_pretension_n" not in iso and "f_n" not in iso and "fs_hz" not in iso
    assert "plate" in option_names(entry("isometric_hip_extension")) and "plate" not in iso
    assert "takeoff_n" in option_names(entry("cmj"))
    assert option_names(entry("mvc")) == ("window_s", "filtered", "low_hz", "high_hz", "order")


def test_no_library_module_compares_test_names_outside_the_catalogue():
    """Test names live in the catalogue; other modules ask it (athlete motor tasks aside)."""
    # "run" is also the CLI command (labkit run) and the run kind
    names = "|".join(t for t in TESTS if t not in ("cmj", "mvc", "imtp", "run"))
    pattern = re.compile(rf"[\"']({names})[\"']")
    allowed = {"labkit/trials/catalogue.py"}
    offenders = []
    for path in sorted((REPO / "labkit").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        # the athlete's motor tasks and the signal core's method names are their own vocabularies
        if rel in allowed or rel.startswith(("labkit/devices/sim/", "labkit/signal/")):
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if pattern.search(code) and ">>>" not in line:
                offenders.append(f"{rel}:{i}: {line.strip()}")
    assert offenders == []


def test_window_selects_sums_and_tares():
    t = np.arange(10) / 10.0
    data = np.column_stack([np.arange(10.0), 2 * np.arange(10.0), np.ones(10)])
    w = Window(["fp1.Fz", "fp2.Fz", "fp1.Mz"], data, t, 10.0, "force")
    fz, labels = w.sum_of(".Fz")
    np.testing.assert_array_equal(fz, 3 * np.arange(10.0))
    assert labels == ["fp1.Fz", "fp2.Fz"]
    part = w.between(0.25, 0.55)
    np.testing.assert_array_equal(part.times, [0.3, 0.4, 0.5])
    assert w.between(5.0, 6.0) is None
    tared = w.minus({"fp1.Fz": 1.0})
    np.testing.assert_array_equal(tared.column("fp1.Fz"), np.arange(10.0) - 1.0)
    np.testing.assert_array_equal(w.column("fp1.Fz"), np.arange(10.0))  # the input is unchanged
    with pytest.raises(SignalError, match=r"has no channel 'fp3\.Fz'"):
        w.column("fp3.Fz")


def test_the_one_emd_rule():
    assert (EMD_MAX_LEAD_S, EMD_MAX_LAG_S) == (0.5, 0.2)
    assert effort_onset([0.2, 1.93, 2.5], 2.0) == 1.93
    assert effort_onset([1.49, 2.21], 2.0) != effort_onset([1.49, 2.21], 2.0)  # NaN: none in window
    assert effort_onset([1.5], 2.0) == 1.5 and effort_onset([2.2], 2.0) == 2.2  # edges included
    assert effort_onset([1.2], 2.0, max_lead_s=1.0) == 1.2
    assert np.isnan(effort_onset([1.9], float("nan")))
    with pytest.raises(SignalError, match="must be >= 0"):
        effort_onset([1.9], 2.0, max_lag_s=-0.1)


def test_trial_steps_take_any_catalogue_test_and_the_protocol_checks_it():
    assert TrialStep(test="squat_jump").test == "squat_jump"  # structure only: names checked at load


def test_each_entry_names_the_metrics_its_trials_report():
    for name in force_tests():
        e = entry(name)
        if e.kind == "run":  # bursts timed per stride, not one onset before an effort
            assert e.reports("emg_gluteus_maximus_r_onset_ms") and not e.reports("emd_multifidus_l_ms")
            continue
        assert e.reports("emg_onset_gluteus_maximus_r_s") and e.reports("emd_multifidus_l_ms"), name
    for name in ("imtp", "isometric_squat"):
        assert all(entry(name).reports(m) for m in ("peak_force_n", "relative_peak_force_n_kg",
                                                     "body_weight_n", "force_at_100ms_n"))
    for name in ("isometric_hip_extension", "isometric_hip_flexion", "isometric_trunk_rotation"):
        e = entry(name)
        assert not e.uses_body_weight
        assert all(e.reports(m) for m in ("net_peak_force_n", "rfd_0_100ms_n_s", "rfd_50_100ms_n_s",
                                          "impulse_0_100ms_ns", "peak_rfd_n_s", "onset_time_s"))
        assert not any(e.reports(m) for m in ("peak_force_n", "relative_peak_force_n_kg", "body_weight_n",
                                              "baseline_n", "pretension_n", "force_at_100ms_n"))
    cmj, sj = entry("cmj"), entry("squat_jump")
    assert cmj.phases == ("unweighting", "braking", "propulsion", "flight", "landing")
    assert sj.phases == ("propulsion", "flight", "landing")
    assert cmj.reports("braking_duration_s") and not sj.reports("braking_duration_s")
    assert not cmj.reports("rfd_0_100ms_n_s") and not entry("imtp").reports("jump_height_m")
    assert entry("mvc").metrics == ("mvc_v",)
