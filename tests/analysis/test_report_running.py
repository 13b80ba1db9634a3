"""`labkit report` of a treadmill-run session: the running section (per-side bars with
asymmetry, stride curves with SD bands, EMG bursts over the stride), rendered by
headless Chromium."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from labkit.analysis.synthetic import write_protocol_session
from labkit.cli import main
from tests.chromium_shot import screenshot

PROTOCOL = Path(__file__).parents[2] / "protocols" / "treadmill_run.yaml"


def test_report_has_the_running_section_and_renders_in_chromium(tmp_path):
    pytest.importorskip("matplotlib", reason="reports need matplotlib (labkit[plot])")
    session = write_protocol_session(tmp_path / "run.h5", str(PROTOCOL), seed=2, athlete_params={
        "run_hip_extension_deficit_deg": 5.0, "run_pelvic_drop_extra_deg": 3.0, "run_deficit_side": "l"})
    html_path = tmp_path / "report.html"
    assert main(["report", str(session), "-o", str(html_path)]) == 0
    text = html_path.read_text()
    assert "<h2>Running</h2>" in text
    pattern = r"<img alt='(run_\w+) trial (\d+)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'"
    images = re.findall(pattern, text)
    assert {(k, int(t)) for k, t, _ in images} == {(k, t) for k in ("run_sides", "run_curves", "run_emg")
                                                   for t in (1, 2, 3)}
    for _, _, b64 in images:
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
    for speed in ("3", "4", "5"):
        assert f"trial {int(speed) - 2}: run at {speed} m/s" in text
    assert text.count("lower hip extension: left") == 3 and text.count("larger pelvic drop: left") == 3
    img = screenshot(html_path, tmp_path, height_px=2400)
    grey = img[..., :3].mean(axis=2)
    assert img.shape[0] >= 2000 and grey.std() > 0.05  # not blank: tables and plots
    # the running section's bars (blue left, orange right) are drawn on the page
    rgb = img[..., :3]
    orange = (rgb[..., 0] > 0.7) & (rgb[..., 1] > 0.25) & (rgb[..., 1] < 0.45) & (rgb[..., 2] < 0.15)
    assert orange.mean() > 0.002
