"""The IMTP protocol run entirely from the web console in a real headless Chromium on the
simulated lab: the athlete form, continue, the countdown, the live trace, the verdicts, the
athlete screen's big number against the stored peak force; abort and resume from the console."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

import labkit
from tests.web.browser import chromium
from tests.web.servers import protocol_server

REPO = Path(__file__).resolve().parents[2]


def _images(tmp_path: Path) -> Path:
    """Where the screenshots go: docs/images (the ones docs/remote.md shows) when
    LABKIT_SCREENSHOTS=docs, else the test's own folder, so a test run leaves the checkout
    as it was."""
    return REPO / "docs" / "images" if os.environ.get("LABKIT_SCREENSHOTS") == "docs" else tmp_path


def test_imtp_run_from_the_browser(tmp_path):
    images = _images(tmp_path)
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
        # the live trace moves: frames keep being drawn, the plates' force is on it (each screen is
        # checked while it is the visible one: a hidden tab's animation frames are throttled)
        console.bring_to_front()
        console.wait_for_function("labkitStats.draws > 20", timeout=30_000)
        before = console.evaluate("labkitStats.draws")
        time.sleep(1.0)
        assert console.evaluate("labkitStats.draws") - before >= 10
        # the trace holds the plates' weight: the summed force of the last frame near body weight
        # GO on the athlete screen during a pull; a screenshot of both screens mid-trial
        athlete.bring_to_front()
        athlete.wait_for_function("document.getElementById('a-countdown').textContent === 'GO!'",
                                  timeout=60_000)
        console.bring_to_front()
        console.wait_for_function("document.getElementById('cue').textContent.startsWith('GO!')")
        time.sleep(1.2)
        # the trace is the plates' summed force: body weight before the pull, far above it in it
        bw = run.runner.body_weight_n
        lo, hi = console.evaluate("(s => [Math.min(...s), Math.max(...s)])(labkitTraces[0].cols.sum)")
        assert abs(lo - bw) < 100 and hi > bw + 1000, (lo, hi, bw)
        images.mkdir(parents=True, exist_ok=True)
        console.screenshot(path=str(images / "web_console.png"))
        # the rest after a trial counts down on both screens
        console.wait_for_function("/^\\d+ s$/.test(document.getElementById('countdown').textContent)",
                                  timeout=60_000)
        athlete.bring_to_front()
        athlete.wait_for_function("/^\\d+$/.test(document.getElementById('a-countdown').textContent)")
        athlete.wait_for_function("document.getElementById('a-big').textContent.length > 0")
        athlete.screenshot(path=str(images / "web_athlete.png"))
        # each verdict in the table; the run ends with three valid pulls
        assert run.wait(120), "the run did not finish"
        assert run.hub.snapshot()["status"] == "complete", run.hub.snapshot()["error"]
        console.wait_for_function("document.querySelectorAll('#trials td.verdict').length >= 3")
        verdicts = console.eval_on_selector_all("#trials td.verdict", "els => els.map(e => e.textContent)")
        assert verdicts.count("VALID") == 3
        console.wait_for_function("document.getElementById('status').textContent === 'complete'")
        console.bring_to_front()
        console.screenshot(path=str(images / "web_console_done.png"))
        big = athlete.eval_on_selector("#a-big", "e => [e.textContent, e.dataset.trial]")
        path = Path(run.runner.options.out_path)
    with labkit.open_session(path) as s:
        stored = s.result("protocol").tables["trials"]
        assert s.status == "complete" and (s.trials["status"] == "valid").sum() == 3
    row = stored[stored["trial"] == int(big[1])].iloc[0]
    assert abs(float(big[0]) - float(row["peak_force_n"])) <= 0.1, (big, row["peak_force_n"])


def _text(page, selector: str) -> str:
    return page.text_content(selector) or ""


def test_redo_pause_abort_and_resume_from_the_console(tmp_path):
    with protocol_server(tmp_path) as (server, run), chromium() as browser:
        console = browser.new_page()
        console.goto(server.url)
        console.wait_for_selector("#field-athlete")
        console.fill("#field-athlete", "WEB02")
        console.click("#start")
        console.wait_for_selector("#continue:not([disabled])", timeout=60_000)
        console.click("#continue")
        # trial 1 judged: in the rest after it, redo it and pause
        console.wait_for_selector("#trial-1 td.verdict", timeout=60_000)
        assert _text(console, "#trial-1 td.verdict") == "VALID"
        console.wait_for_function("/^\\d+ s$/.test(document.getElementById('countdown').textContent)")
        console.click("#redo")
        console.click("#pause")
        console.wait_for_function("document.getElementById('cue').textContent.startsWith('PAUSED')",
                                  timeout=10_000)
        time.sleep(3.0)  # longer than the (fast) rest: a paused run does not go on
        assert len(run.runner.trials) == 1 and run.runner.current == {}
        console.click("#resume")
        # the redo makes trial 1 invalid with its reason; trial 2 follows
        console.wait_for_function("document.querySelector('#trial-1 td.verdict').textContent === 'INVALID'",
                                  timeout=30_000)
        assert "redo requested by the operator" in _text(console, "#trial-1")
        console.wait_for_selector("#trial-2 td.verdict", timeout=60_000)
        # the rest after trial 2 is skipped
        console.wait_for_function("/^\\d+ s$/.test(document.getElementById('countdown').textContent)")
        console.click("#skip")
        console.wait_for_function("document.getElementById('log').textContent.includes('rest skipped')",
                                  timeout=30_000)
        # abort in the middle of trial 3: the file is closed as interrupted
        console.wait_for_function("document.getElementById('trial-line').textContent.startsWith('trial 3')",
                                  timeout=60_000)
        console.click("#abort")
        console.wait_for_function("document.getElementById('status').textContent === 'interrupted'",
                                  timeout=60_000)
        path = Path(run.runner.options.out_path)
        with labkit.open_session(path) as s:
            assert s.status == "interrupted"
            statuses = dict(zip(s.trials.index, s.trials["status"], strict=True))
        assert statuses[1] == "invalid" and statuses[2] == "valid" and statuses[3] == "aborted", statuses
        # resume it from the session browser
        sessions = browser.new_page()
        sessions.goto(server.url + "sessions")
        sessions.wait_for_selector(f"button.resume[data-file='{path.name}']")
        sessions.click(f"button.resume[data-file='{path.name}']")
        sessions.wait_for_url(server.url)
        sessions.wait_for_function("document.getElementById('status').textContent === 'running'",
                                   timeout=30_000)
        assert run.wait(180), "the resumed run did not finish"
        assert run.hub.snapshot()["status"] == "complete", run.hub.snapshot()["error"]
        # the session browser lists it, complete, and opens its report
        listed = httpx.get(server.url + "api/sessions", timeout=60).json()["sessions"]
        assert [(r["file"], r["athlete"], r["protocol"], r["status"]) for r in listed] == [
            (path.name, "WEB02", "imtp", "complete")]
        report = httpx.get(server.url + "report/" + path.name, timeout=120)
        assert report.status_code == 200 and "WEB02" in report.text
    with labkit.open_session(path) as s:
        assert s.status == "complete"
        trials = s.trials
        stored = s.result("protocol").tables["trials"]
    assert trials.loc[1, "status"] == "invalid" and "redo requested" in trials.loc[1, "reason"]
    assert (trials["status"] == "valid").sum() == 3 and trials.loc[3, "status"] == "aborted"
    assert stored["valid"].sum() == 3
