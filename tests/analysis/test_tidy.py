"""labkit.analyze: the tidy table equals the stored per-session results; re-analysis with
other parameters never overwrites them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.analysis.synthetic import write_battery_session
from labkit.errors import ConfigError


@pytest.fixture
def session(tmp_path):
    return write_battery_session(tmp_path / "one.h5", seed=3, n_trials=2)


def _stored(path, name="protocol"):
    with labkit.open_session(path) as s:
        return s.result(name)


def test_tidy_rows_equal_the_stored_results(session):
    df = labkit.analyze(session)
    stored = _stored(session)
    table = stored.tables["trials"]
    assert list(df.columns) == list(labkit.analysis.COLUMNS)
    assert set(df["result"]) == {"protocol"} and set(df["protocol"]) == {"imtp"}
    with labkit.open_session(session) as s:
        assert set(df["athlete"]) == {s.info["subject"]} and set(df["session_id"]) == {s.info["session_id"]}
    metrics = [c for c in table.columns if table[c].dtype.kind == "f"]
    assert len(df) == len(table) * len(metrics)
    for _, row in table.iterrows():
        for m in metrics:
            got = df[(df["trial"] == row["trial"]) & (df["metric"] == m)]
            assert len(got) == 1, m
            np.testing.assert_equal(got["value"].iloc[0], row[m])
            assert bool(got["valid"].iloc[0]) == bool(row["valid"])
    assert df.loc[df["metric"] == "peak_force_n", "unit"].eq("N").all()
    assert df.loc[df["metric"] == "rfd_0_100ms_n_s", "unit"].eq("N/s").all()
    assert df.loc[df["metric"].str.startswith("emd_"), "unit"].eq("ms").all()
    force = df[df["metric"] == "peak_force_n"].iloc[0]
    assert force["method"] == "labkit.signal.force.isometric"
    assert json.loads(force["params"])["onset_k"] == 5.0
    emd = df[df["metric"].str.startswith("emd_")].iloc[0]
    assert emd["method"] == "labkit.signal.emg.detect_onsets"
    assert json.loads(emd["params"])["limb"]["method"] == "threshold"


def test_session_metrics_is_analyze_of_one_file(session):
    with labkit.open_session(session) as s:
        pd.testing.assert_frame_equal(s.metrics(), labkit.analyze(session))


def test_reanalysis_with_the_stored_parameters_reproduces_the_stored_values(session):
    again = labkit.analyze(session, {})
    stored = labkit.analyze(session)
    assert set(again["result"]) == {""}  # computed, not stored
    np.testing.assert_array_equal(again["value"].to_numpy(), stored["value"].to_numpy())


def test_reanalysis_never_overwrites_and_records_its_provenance(session):
    before = _stored(session)
    params = {"imtp": {"onset_k": 20.0}}
    returned = labkit.analyze(session, params)  # write=False: nothing is stored
    with labkit.open_session(session) as s:
        assert s.results == ["protocol"]
    written = labkit.analyze(session, params, write=True)
    again = labkit.analyze(session, params, write=True)
    with labkit.open_session(session) as s:
        assert s.results == ["protocol", "analysis", "analysis-2"]
        new = s.result("analysis")
    pd.testing.assert_frame_equal(_stored(session).tables["trials"], before.tables["trials"])
    assert new.provenance["method"] == "labkit.analysis.analyze"
    assert new.provenance["params"]["overrides"] == params
    assert new.provenance["params"]["based_on"] == "protocol"
    assert new.provenance["params"]["analyses"]["imtp"]["onset_k"] == 20.0
    assert set(written["result"]) == {"analysis"} and set(again["result"]) == {"analysis-2"}
    np.testing.assert_array_equal(written["value"].to_numpy(), returned["value"].to_numpy())
    onset = lambda df: df.loc[df["metric"] == "onset_time_s", "value"].to_numpy()  # noqa: E731
    # a higher threshold (20 SD instead of 5) crosses later on the same rise
    assert np.all(onset(written) > onset(labkit.analyze(session, result="protocol")))
    # the default now reads the newest analysis
    assert set(labkit.analyze(session)["result"]) == {"analysis-2"}


def test_bad_parameters_name_the_test_and_the_parameter(session):
    with pytest.raises(ConfigError, match="'sprint'"):
        labkit.analyze(session, {"sprint": {"onset_k": 3}})
    with pytest.raises(ConfigError, match="onset_kk"):
        labkit.analyze(session, {"imtp": {"onset_kk": 3}})


def test_params_file(session, tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("imtp: {onset_k: 3.0}\n")
    expected = labkit.analyze(session, {"imtp": {"onset_k": 3.0}})
    pd.testing.assert_frame_equal(labkit.analyze(session, f), expected)
    f.write_text("- 1\n")
    with pytest.raises(ConfigError, match="mapping"):
        labkit.analyze(session, f)


def test_a_session_without_stored_results_is_analysed_with_default_steps(tmp_path):
    from labkit.demo import write_demo_session

    path = write_demo_session(tmp_path / "demo.h5", seed=1)
    df = labkit.analyze(path)
    truth = _stored(path, "ground_truth").provenance["params"]
    peak = df.loc[df["metric"] == "peak_force_n", "value"].iloc[0]
    assert peak == pytest.approx(truth["peak_force_n"], rel=0.01)
    with labkit.open_session(path) as s:
        assert "analysis" not in s.results


def test_import_labkit_stays_light():
    code = ("import sys, labkit; labkit.analyze; "
            "print(any(m in sys.modules for m in ('matplotlib', 'numba', 'pylsl')))")
    out = subprocess.run([sys.executable, "-c", "import sys, labkit; "
                          "print('pandas' in sys.modules)"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_write_needs_a_path(session):
    with labkit.open_session(session) as s, pytest.raises(ConfigError, match="path"):
        labkit.analyze(s, {}, write=True)

