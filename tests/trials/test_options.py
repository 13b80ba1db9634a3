"""A protocol's analysis options are checked at load against the analysis functions (one
line with file:line, key and valid names; exit 2 from the CLI), re-analysis overrides too,
and an options failure that still happens is the lab's, not an invalid attempt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import labkit
from labkit.config.protocol import TrialStep
from labkit.errors import ConfigError
from labkit.signal.window import Window
from labkit.trials.analyse import analyse_trial
from labkit.trials.protocols import load_protocol

REPO = Path(__file__).resolve().parents[2]
IMTP = (REPO / "protocols" / "imtp.yaml").read_text()


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_cli_check_names_file_line_key_and_valid_keys(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(IMTP.replace("onset_k: 5.0", "onset_kk: 5"))
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "protocols", "check", str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    line = _line_of(bad.read_text(), "onset_kk")
    assert f"{bad}:{line}: field steps.2.repeat.steps.0.trial.analysis.onset_kk: unknown option " \
           "'onset_kk' for test imtp; valid options: weighing_s," in lines[0]
    assert "onset_k," in lines[0] and "Traceback" not in run.stderr


@pytest.mark.parametrize(("edit", "expected"), [
    ("onset_k: \"five\"", r"analysis\.onset_k: onset_k must be a number \(got 'five'; default 5\.0\)"),
    ("onset_k: -5", r"analysis: rejected by labkit\.signal\.force\.isometric: onset_k=-5 must be a positive"),
    ("onset: banana", r"analysis: rejected by .*onset='banana' is unknown; use one of"),
    ("max_pretension_n: 150", r"analysis\.max_pretension_n: max_pretension_n is a validation threshold; "
                              r"set it under the trial's `validation:`"),
    ("emg: {thresh: 3}", r"analysis\.emg\.thresh: unknown EMG option 'thresh'; valid options: method,"),
    ("epochs_ms: 100", r"analysis\.epochs_ms: epochs_ms must be a list of numbers"),
])
def test_bad_options_are_one_line_at_load(edit, expected):
    text = IMTP.replace("onset_k: 5.0, onset_hold_s: 0.030, epochs_ms: [50, 90, 100, 150, 200, 250]", edit)
    assert edit in text
    with pytest.raises(ConfigError, match=expected) as info:
        load_protocol("p.yaml", text=text)
    assert str(info.value).startswith(f"p.yaml:{_line_of(text, edit)}: field steps.2.")
    assert "\n" not in str(info.value)


def test_catalogue_requirements_are_checked_at_load():
    where = r"field steps\.2\.repeat\.steps\.0\.trial\.test"
    with pytest.raises(ConfigError, match=where + r": unknown test 'imtpp'"):
        load_protocol("p.yaml", text=IMTP.replace("test: imtp", "test: imtpp"))
    with pytest.raises(ConfigError, match="isometric_trunk_rotation needs `direction: left` or `right`"):
        load_protocol("p.yaml", text=IMTP.replace("test: imtp", "test: isometric_trunk_rotation"))
    with pytest.raises(ConfigError, match="a mvc trial needs `muscle`"):
        load_protocol("p.yaml", text=IMTP.replace("test: imtp", "test: mvc"))


def _pull(step: TrialStep) -> tuple[Window, Window]:
    from labkit.trials.catalogue import entry
    from labkit.trials.synthetic_trial import synthetic_windows

    return synthetic_windows(step, entry(step.test))


def test_an_options_failure_mid_run_is_a_configuration_failure_not_an_invalid_attempt():
    good = TrialStep(test="imtp", effort_s=3.0)
    force, emg = _pull(good)
    ok = analyse_trial(good, force, emg, body_weight_n=784.0)
    assert ok.valid and not ok.config_error and ok.metrics["peak_force_n"] == pytest.approx(1984, abs=10)
    # a step that skipped the load-time check (built in Python) with a misspelt option
    bad = TrialStep(test="imtp", effort_s=3.0, analysis={"onset_kk": 5})
    out = analyse_trial(bad, force, emg, body_weight_n=784.0)
    assert out.config_error and not out.valid
    assert out.reason.startswith("configuration error:") and "onset_kk" in out.reason


def test_reanalysis_overrides_are_checked_like_protocol_options(tmp_path):
    from labkit.analysis.synthetic import write_battery_session

    path = write_battery_session(tmp_path / "s.h5", seed=3, n_trials=2)
    with pytest.raises(ConfigError, match=r"analysis parameters for 'imtp' \(onset_kk\): unknown option"):
        labkit.analyze(path, {"imtp": {"onset_kk": 3.0}})
    with pytest.raises(ConfigError, match=r"'imtp' \(onset_k\): onset_k must be a number"):
        labkit.analyze(path, {"imtp": {"onset_k": "five"}})
    table = labkit.analyze(path, {"imtp": {"onset_k": 3.0}})
    peak = table[table["metric"] == "peak_force_n"]["value"].to_numpy()
    assert len(peak) == 2 and np.all(np.isfinite(peak))
