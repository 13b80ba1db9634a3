"""inspect_session: occluded markers are reported as such, NaN elsewhere is an integrity problem."""

from __future__ import annotations

import numpy as np

from labkit.session.inspect import inspect_session
from labkit.session.writer import SessionWriter
from labkit.spec import COUNTER, StreamSpec, marker_channels, plate_channel


def _session(path, *, force_nan: bool):
    specs = [StreamSpec("mocap", "mocap", [*marker_channels("LASI"), *marker_channels("RASI"), COUNTER],
                        100.0, "float32"),
             StreamSpec("force", "force", [plate_channel("fp1", "Fz"), COUNTER], 1000.0, "float64")]
    t_m, t_f = np.arange(100) / 100.0, np.arange(1000) / 1000.0
    mocap = np.column_stack([np.full((100, 6), 0.5), np.arange(100)]).astype(np.float32)
    mocap[10:15, 0:3] = np.nan  # LASI occluded for 5 frames
    mocap[12:20, 3:6] = np.nan  # RASI for 8, overlapping: frames 10..19 have an occluded marker
    force = np.column_stack([np.full(1000, 700.0), np.arange(1000)])
    if force_nan:
        force[500:503, 0] = np.nan
    with SessionWriter(path, specs) as w:
        w.append("mocap", mocap, t_m)
        w.append("force", force, t_f)
    return path


def test_occluded_markers_are_not_integrity_problems(tmp_path):
    report = inspect_session(_session(tmp_path / "s.h5", force_nan=False))
    mocap = next(s for s in report["streams"] if s["name"] == "mocap")
    assert mocap["occluded_samples"] == 10 and mocap["nan_samples"] == 0
    assert report["problems"] == []


def test_nan_outside_marker_coordinates_is_a_problem(tmp_path):
    report = inspect_session(_session(tmp_path / "s.h5", force_nan=True))
    force = next(s for s in report["streams"] if s["name"] == "force")
    assert force["nan_samples"] == 3 and force["occluded_samples"] == 0
    assert report["problems"] == ["stream force: 3 samples contain NaN (dropped or invalid values)"]
