"""The IMTP protocol run entirely from the web console in a real headless Chromium on the
simulated lab: the athlete form, continue, the countdown, the live trace, the verdicts, the
athlete screen's big number against the stored peak force; abort and resume from the console."""

from __future__ import annotations

import time
from pathlib import Path

import labkit
from tests.web.browser import chromium
from tests.web.servers import protocol_server

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "docs" / "images"


def test_imtp_run_from_the_browser(tmp_path):
    with protocol_server(tmp_path) as (server, run), chromium() as browser:
        console = browser.new_page()
        console.goto(server.url)
        console.wait_for_selector("#field-athlete")
        athlete = browser.new_page()
        athlete.set_viewport_size({"width": 1280, "height": 800})
        athlete.goto(server.url + "athlete")
        # the form's validation is the protocol's: a body mass out of range is refused in one line
        console.fill("#field-athlete", "WEB01")
        console.fill("#field-body_mass_kg", "20")
        console.click("#start")
        console.wait_for_function("document.getElementById('form-error').textContent.length > 0")
        assert console.text_content("#form-error") == "body_mass_kg=20.0 is outside [30.0, 250.0]"
        assert not run.running
        console.fill("#field-body_mass_kg", "")
        console.click("#start")
        # the instruction waits for Continue (the terminal's Enter)
        console.wait_for_selector("#continue:not([disabled])", timeout=60_000)
        assert "mid-thigh" in console.text_content("#cue")
        time.sleep(1.0)
        assert run.runner.current == {} and not run.runner.trials  # still waiting
        console.click("#continue")
        # the live trace moves: frames keep being drawn, the plates' force is on it
        console.wait_for_function("labkitStats.draws > 20", timeout=30_000)
        before = console.evaluate("labkitStats.draws")
        time.sleep(1.0)
        assert console.evaluate("labkitStats.draws") - before >= 10
        # the trace holds the plates' weight: the summed force of the last frame near body weight
        # GO on the athlete screen during a pull; a screenshot of both screens mid-trial
        athlete.wait_for_function("document.getElementById('a-countdown').textContent === 'GO!'",
                                  timeout=60_000)
        console.wait_for_function("document.getElementById('cue').textContent.startsWith('GO!')")
        time.sleep(1.2)
        # the trace is the plates' summed force: body weight before the pull, far above it in it
        bw = run.runner.body_weight_n
        lo, hi = console.evaluate("(s => [Math.min(...s), Math.max(...s)])(labkitTraces[0].cols.sum)")
        assert abs(lo - bw) < 100 and hi > bw + 1000, (lo, hi, bw)
        IMAGES.mkdir(parents=True, exist_ok=True)
        console.screenshot(path=str(IMAGES / "web_console.png"))
        # the rest after a trial counts down on both screens
        console.wait_for_function("/^\\d+ s$/.test(document.getElementById('countdown').textContent)",
                                  timeout=60_000)
        athlete.wait_for_function("/^\\d+$/.test(document.getElementById('a-countdown').textContent)")
        athlete.wait_for_function("document.getElementById('a-big').textContent.length > 0")
        athlete.screenshot(path=str(IMAGES / "web_athlete.png"))
        # each verdict in the table; the run ends with three valid pulls
        assert run.wait(120), "the run did not finish"
        assert run.hub.snapshot()["status"] == "complete", run.hub.snapshot()["error"]
        console.wait_for_function("document.querySelectorAll('#trials td.verdict').length >= 3")
        verdicts = console.eval_on_selector_all("#trials td.verdict", "els => els.map(e => e.textContent)")
        assert verdicts.count("VALID") == 3
        console.wait_for_function("document.getElementById('status').textContent === 'complete'")
        big = athlete.eval_on_selector("#a-big", "e => [e.textContent, e.dataset.trial]")
        path = Path(run.runner.options.out_path)
    with labkit.open_session(path) as s:
        stored = s.result("protocol").tables["trials"]
        assert s.status == "complete" and (s.trials["status"] == "valid").sum() == 3
    row = stored[stored["trial"] == int(big[1])].iloc[0]
    assert abs(float(big[0]) - float(row["peak_force_n"])) <= 0.1, (big, row["peak_force_n"])
