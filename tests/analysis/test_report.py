"""`labkit report` on a recorded simulated battery session: a self-contained HTML page that
headless Chromium renders (non-blank screenshot) with the plots and the metrics table."""

from __future__ import annotations

import base64
import re

import pytest

from labkit.cli import main
from tests.chromium_shot import screenshot


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One real `labkit run imtp --fast` on the simulated lab (~30 s, LSL in real time)."""
    from labkit.config.hardware import load_hardware_config
    from labkit.protocol.runner import RunOptions, View
    from labkit.protocol.schema import load_protocol
    from tests.protocol.sim_run import simulated_runner

    out = tmp_path_factory.mktemp("report") / "imtp.h5"
    proto, proto_text = load_protocol("imtp")
    cfg, cfg_text = load_hardware_config()
    opts = RunOptions(out_path=out, athlete="SIM01", unattended=True, fast=True)
    simulated_runner(proto, proto_text, cfg, cfg_text, opts, View(lambda msg: None)).run()
    return out


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_report_html_has_plots_and_table_and_renders_in_chromium(recorded, tmp_path, capsys):
    html_path = tmp_path / "report.html"
    assert main(["report", str(recorded), "-o", str(html_path)]) == 0
    text = html_path.read_text()
    images = re.findall(r"<img alt='(\w+) trial (\d+)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
    kinds = {k for k, _, _ in images}
    assert {"force", "emg"} <= kinds, kinds
    trials = {int(t) for _, t, _ in images}
    assert len(trials) >= 3  # every finished trial of the battery has its force curve
    for _, _, b64 in images:
        w, h = _png_size(base64.b64decode(b64))
        assert w > 300 and h > 100
    assert "<h2>Metrics</h2>" in text and text.count("<td>valid</td>") + text.count("<td>INVALID</td>") >= 3
    assert "peak_force_n" in text and "src='http" not in text and "<script" not in text  # self-contained
    # the simulated mocap streams the lower-body marker set: every trial's joint angles are drawn,
    # with no note a CLI user cannot act on
    assert "angles" in kinds, kinds
    assert "joint angles not drawn" not in text
    assert "names=" not in text and "pass it" not in text
    assert "<h2>Per test</h2>" in text and re.search(r"<td class=\"num\">\d{4} N</td>", text)
    img = screenshot(html_path, tmp_path, height_px=2000)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    grey = img[..., :3].mean(axis=2)
    assert grey.std() > 0.05  # not blank: text, tables and plots
    assert (grey < 0.5).mean() > 0.005  # dark pixels (lines, text) are drawn


def test_plot_saves_pngs_of_one_trial(recorded, tmp_path, capsys):
    assert main(["plot", str(recorded), "--trial", "1", "-o", str(tmp_path)]) == 0
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert "imtp_trial1_force.png" in pngs and "imtp_trial1_emg.png" in pngs
    w, h = _png_size((tmp_path / "imtp_trial1_force.png").read_bytes())
    assert (w, h) == (810, 324)  # 9 x 3.6 in at 90 dpi
    assert main(["plot", str(recorded), "--trial", "99", "-o", str(tmp_path)]) == 2
    assert "no trial 99" in capsys.readouterr().err


