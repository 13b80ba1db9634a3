"""The report draws the signal each test analysed (the side's plate and the net force of a hip
test, the torque of a trunk rotation, the phases of a jump) with the peak on the trace, and
its tables give readable numbers with units and the per-test aggregates."""

from __future__ import annotations

import re

import numpy as np
import pytest

import labkit
from labkit.analysis.report import plot_trial, write_report
from labkit.analysis.synthetic import write_protocol_session


@pytest.fixture(scope="module")
def hip_session(tmp_path_factory):
    return write_protocol_session(tmp_path_factory.mktemp("figures") / "hip.h5", "hip_battery", seed=4)


@pytest.fixture(scope="module")
def tidy(hip_session):
    return labkit.analyze(hip_session)


def _trial_id(tidy, test, side=""):
    ids = tidy.loc[(tidy["test"] == test) & (tidy["side"] == side), "trial"].unique()
    assert len(ids) == 1
    return int(ids[0])


def _metric(tidy, trial, metric):
    return float(tidy.loc[(tidy["trial"] == trial) & (tidy["metric"] == metric), "value"].iloc[0])


def _peak_marker(ax):
    marks = [line for line in ax.lines if line.get_marker() not in ("None", None, "")
             and len(line.get_xdata()) == 1]
    assert len(marks) == 1, [line.get_label() for line in ax.lines]
    return marks[0]


def _trace(ax):
    return max(ax.lines, key=lambda line: len(line.get_xdata()))


def test_hip_flexion_shows_its_plate_and_the_net_pull_with_the_peak_on_it(hip_session, tidy):
    tid = _trial_id(tidy, "isometric_hip_flexion", "right")
    net_peak = _metric(tidy, tid, "net_peak_force_n")
    with labkit.open_session(hip_session) as s:
        fig = plot_trial(s, tid).force
        start, end = s.trials.loc[tid, "start"], s.trials.loc[tid, "end"]
        plate = s.stream("force").window(start, end).column("fp2.Fz")
    top, bottom = fig.axes
    raw = _trace(top)
    assert "fp2.Fz" in raw.get_label() and "right" in raw.get_label()
    np.testing.assert_allclose(raw.get_ydata(), plate)  # the right plate as recorded (no tare here)
    net = _trace(bottom)
    assert "-fp2.Fz" in net.get_label() and "N" in bottom.get_ylabel()
    # the net pull is the plate's unloading: -Fz minus its quiet baseline
    np.testing.assert_allclose(net.get_ydata(), -plate - (-plate[:2000]).mean(), atol=2.0)
    mark = _peak_marker(bottom)
    x, y = float(mark.get_xdata()[0]), float(mark.get_ydata()[0])
    i = int(np.argmin(np.abs(net.get_xdata() - x)))
    assert y == net.get_ydata()[i]  # on the trace
    assert y == pytest.approx(net_peak, abs=1e-6) and net_peak == pytest.approx(300.0, abs=10.0)
    assert "net peak" in mark.get_label() and f"{net_peak:.0f} N" in mark.get_label()


def test_trunk_rotation_shows_the_torque_in_newton_metres(hip_session, tidy):
    tid = _trial_id(tidy, "isometric_trunk_rotation", "right")
    with labkit.open_session(hip_session) as s:
        fig = plot_trial(s, tid).force
    (ax,) = fig.axes
    assert "N·m" in ax.get_ylabel() and "torque" in ax.get_ylabel()
    trace = _trace(ax)
    assert "Mz" in trace.get_label()
    mark = _peak_marker(ax)
    assert float(mark.get_ydata()[0]) == pytest.approx(_metric(tidy, tid, "net_peak_force_n"), abs=1e-6)
    assert float(mark.get_ydata()[0]) == pytest.approx(120.0, abs=10.0)
    assert "N·m" in mark.get_label()
    assert np.nanmax(trace.get_ydata()) == pytest.approx(float(mark.get_ydata()[0]), abs=1e-6)


def test_a_jump_shows_its_phases_take_off_and_landing_not_rfd_epochs(hip_session, tidy):
    tid = _trial_id(tidy, "cmj")
    with labkit.open_session(hip_session) as s:
        fig = plot_trial(s, tid).force
        start = s.trials.loc[tid, "start"]
    (ax,) = fig.axes
    _, labels = ax.get_legend_handles_labels()
    assert {"unweighting", "braking", "propulsion", "flight", "take-off", "landing"} <= set(labels)
    assert not any("RFD" in lab for lab in labels)
    lines = {line.get_label(): line for line in ax.lines}
    for name, metric in (("take-off", "takeoff_time_s"), ("landing", "landing_time_s")):
        assert float(lines[name].get_xdata()[0]) == pytest.approx(_metric(tidy, tid, metric) - start)
    assert "0.35" in ax.get_title()


def test_report_tables_have_units_readable_numbers_and_the_aggregates(hip_session, tidy, tmp_path):
    text = write_report(hip_session, tmp_path / "r.html").read_text()
    tables = re.sub(r"src='data:image/png;base64,[^']+'", "", text)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", tables)
    long_numbers = [c for c in cells if re.search(r"\d\.\d{4,}", c)]
    assert long_numbers == []
    assert any(re.fullmatch(r"\d{4} N", c) for c in cells)  # the IMTP peak
    assert any(re.fullmatch(r"\d+ N/s", c) for c in cells)
    assert any(re.fullmatch(r"\d+ N·m/s", c) for c in cells)
    assert any(re.fullmatch(r"0\.3\d\d m", c) for c in cells)  # the jump height
    assert "<h2>Per test</h2>" in text
    row = re.search(r"<td>isometric_hip_flexion left</td><td>net peak \(net_peak_force_n\)</td>"
                    r"<td>best</td><td class=\"num\">(\d+) N</td><td class=\"num\">1/1</td>", text)
    assert row is not None and float(row.group(1)) == pytest.approx(300.0, abs=10.0)
    assert re.search(r"<td>isometric_trunk_rotation right</td><td>net peak \(net_peak_force_n\)</td>"
                     r"<td>best</td><td class=\"num\">1\d\d N·m</td>", text)
    flex = _trial_id(tidy, "isometric_hip_flexion", "left")
    assert f"<h2>Trial {flex}</h2>" in text and "relative_peak_force_n_kg" not in text.split(
        f"<h2>Trial {flex}</h2>")[1].split("<h2>")[0]
