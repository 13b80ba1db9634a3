"""The report's cross-trial figures and the joint-angle figure's sequencing, from a simulated
battery (symmetric athlete, known joint timing): the asymmetry bars are the stored indices
in their traffic-light colours, the DSI marker sits at the stored ratio, the angle figure
marks each joint's peak extension velocity where the analysis found it and writes the lags
out; headless Chromium renders the page."""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.colors import to_hex

import labkit
from labkit.analysis.figures import pyplot, report_context
from labkit.analysis.figures_limbs import asymmetry_figure, dsi_figure
from labkit.analysis.report import plot_trial, write_report
from labkit.analysis.synthetic import write_protocol_session
from labkit.analysis.tidy import stored_result_name
from tests.chromium_shot import screenshot


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    return write_protocol_session(tmp_path_factory.mktemp("limbs") / "hip.h5", "hip_battery", seed=4)


def test_asymmetry_bars_are_the_stored_indices_in_band_colours(battery):
    with labkit.open_session(battery) as s:
        rows = report_context(s).rows
        fig = asymmetry_figure(pyplot(), rows)
        agg = s.result(stored_result_name(s)).tables["aggregates"]
        dsi = dsi_figure(pyplot(), agg)
    (ax,) = fig.axes
    bars = [p for p in ax.patches if p.get_height() < 0.5]  # the bars, not the band spans
    stored = rows[[c for c in rows.columns if c.startswith("asym_") and c.endswith("_pct")
                   and c in ("asym_peak_force_pct", "asym_net_peak_force_pct", "asym_braking_impulse_pct",
                             "asym_propulsive_impulse_pct", "asym_impulse_0_100ms_pct",
                             "asym_impulse_0_250ms_pct")]].to_numpy(float)  # fmt: skip
    want = np.sort(stored[np.isfinite(stored)])
    np.testing.assert_allclose(np.sort([b.get_width() for b in bars]), want, rtol=1e-12)
    assert len(bars) >= 8  # IMTP and CMJ, four or more indices each
    # the simulated athlete is symmetric: every index is green (< 10 %)
    assert np.abs(want).max() < 1.0
    assert {to_hex(b.get_facecolor()) for b in bars} == {"#70ad47"}
    # a 12 % index would be amber, 20 % red
    from labkit.analysis.figures_limbs import _band_colour

    assert (_band_colour(12.0, (10, 15)), _band_colour(-20.0, (10, 15))) == ("#ffc000", "#c00000")
    (dax,) = dsi.axes
    value = float(agg.loc[agg["metric"] == "dynamic_strength_index", "value"].iloc[0])
    marker = next(line for line in dax.lines if line.get_marker() == "v")
    assert float(marker.get_xdata()[0]) == value and 0.6 < value < 1.2
    assert f"{value:.2f}" in dax.get_xlabel()


def test_angle_figure_marks_peak_velocities_and_writes_the_lags(battery):
    tidy = labkit.analyze(battery)
    tid = int(tidy.loc[tidy["test"] == "cmj", "trial"].iloc[0])

    def metric(name):
        return float(tidy.loc[(tidy["trial"] == tid) & (tidy["metric"] == name), "value"].iloc[0])

    with labkit.open_session(battery) as s:
        figs = plot_trial(s, tid)
        start = float(s.trials.loc[tid, "start"])
    (ax,) = figs.angles.axes
    takeoff = metric("takeoff_time_s")
    dots = {line.get_label().split()[0]: float(line.get_xdata()[0]) for line in ax.lines
            if line.get_marker() == "o"}
    assert set(dots) == {"hip", "knee", "ankle"}
    for j, x in dots.items():  # where the analysis found each peak (relative to take-off)
        want = takeoff + metric(f"seq_{j}_peak_velocity_time_r_ms") / 1000 - start
        assert x == pytest.approx(want, abs=1e-9)
    assert dots["hip"] < dots["knee"] < dots["ankle"]  # the simulated athlete extends hip first
    lags = [metric(f"seq_{k}_lag_r_ms") for k in ("hip_knee", "knee_ankle")]
    assert all(5.0 < lag < 30.0 for lag in lags)  # the simulated athlete's ~15 ms lags
    title = ax.get_title()
    assert "right: hip>knee>ankle" in title
    assert f"hip->knee {lags[0]:.1f} ms" in title and f"knee->ankle {lags[1]:.1f} ms" in title
    note = next(n for n in figs.notes if n.startswith("sequencing"))
    assert "left: hip>knee>ankle" in note and "right: hip>knee>ankle" in note


def test_report_with_the_limb_figures_renders_in_chromium(battery, tmp_path):
    html_path = write_report(battery, tmp_path / "r.html")
    text = html_path.read_text()
    kinds = set(re.findall(r"<img alt='(\w+) (?:session|trial \d+)'", text))
    assert {"asymmetry", "dsi", "angles", "force"} <= kinds, kinds
    assert "<h2>Asymmetry and strength ratio</h2>" in text and "hip-&gt;knee" in text
    grey = screenshot(html_path, tmp_path, height_px=2400)[..., :3].mean(axis=2)
    assert grey.std() > 0.05 and (grey < 0.5).mean() > 0.005  # drawn: text, tables, plots
