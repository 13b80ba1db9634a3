"""Simulated sessions shared by the analysis tests (written once per module)."""

from __future__ import annotations

import pytest

from labkit.analysis.synthetic import write_battery_session

N_SESSIONS = 20


@pytest.fixture(scope="module")
def battery_files(tmp_path_factory):
    """20 simulated imtp sessions (2 pulls each) with stored ``protocol`` results."""
    root = tmp_path_factory.mktemp("batch")
    return [write_battery_session(root / f"s{k:02d}.h5", seed=k, n_trials=2) for k in range(N_SESSIONS)]
