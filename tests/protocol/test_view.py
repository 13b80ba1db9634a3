"""What the technician sees: the live screen (RichView, rendered to a recording rich Console)
shows the current step's cue and nothing stale, counts rests down, and labels each test's
headline as the catalogue does; the log view (View) says the same in lines."""

from __future__ import annotations

import io
import time

import pytest

from labkit.analysis.synthetic import write_protocol_session
from labkit.protocol.view import RichView, View
from labkit.session.reader import open_session
from labkit.trials.analyse import analyse_trial
from labkit.trials.replay import session_trials


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Trial records of a simulated hip battery, analysed from the file (real data)."""
    path = write_protocol_session(tmp_path_factory.mktemp("view") / "hip.h5", "hip_battery", seed=5)
    with open_session(path) as s:
        st = session_trials(s)
        force, emg = s.stream("force").window(), s.stream("emg").window()
        out = {}
        for r in st.records:
            r.outcome = analyse_trial(r.step, force.between(r.start_s, r.end_s),
                                      emg.between(r.start_s, r.end_s), body_weight_n=st.body_weight_n)
            out[(r.step.test, r.side or r.step.direction or "")] = r
    return out


def _info(record):
    label = f"{record.step.test} {record.side or record.step.direction or ''}".strip()
    return {"id": record.trial_id, "label": label, "attempt": record.attempt, "text": record.step.text,
            "step": record.step}


class _Screen:
    """A RichView on a recording console; ``frame()`` is the panel as last drawn."""

    def __init__(self):
        from rich.console import Console

        self.console = Console(record=True, width=120, force_terminal=True, file=io.StringIO())
        self.view = RichView(self.console)

    def frame(self) -> str:
        text = self.console.export_text(clear=True)
        assert "╭" in text, "nothing was drawn"
        return "╭" + text.rsplit("╭", 1)[1]


def test_rich_view_shows_the_current_cue_a_rest_countdown_and_the_net_peak(finished):
    flex = finished[("isometric_hip_flexion", "left")]
    trunk = finished[("isometric_trunk_rotation", "right")]
    screen = _Screen()
    v = screen.view
    v.message("protocol hip_battery v1.0")
    v.cue("Stand still on the plates")
    assert "Stand still on the plates" in screen.frame()
    v.message("body weight 784.5 N (80.0 kg), SD 2.1 N")
    v.trial_phase(_info(flex), "attempt 1: Pull the knee up - stand still")
    frame = screen.frame()
    assert "Stand still on the plates" not in frame  # the weighing is over
    assert f"trial {flex.trial_id} · isometric_hip_flexion left · attempt 1" in frame
    assert "Pull the knee up - stand still" in frame
    v.countdown(3)
    assert "\n│ 3 " in screen.frame()
    v.trial_phase(_info(flex), "GO!")
    frame = screen.frame()
    assert "GO! Pull the knee up" in frame and "stand still" not in frame and "\n│ 3 " not in frame
    v.trial_done(flex)
    frame = screen.frame()
    assert "GO!" not in frame  # the trial's cue went with it
    row = next(line for line in frame.splitlines() if "isometric_hip_flexion left" in line and "│ │" in line)
    assert "net peak 30" in row and " N " in row and "N/s" in row
    assert "headline" in frame and "┃ peak" not in frame
    assert f"{flex.outcome.metrics['peak_force_n']:.0f}" not in row  # the plate's level is not a peak
    v.rest("Rest", 30)
    assert "Rest: 30 s left" in screen.frame()
    time.sleep(1.2)
    v.tick()
    assert "Rest: 29 s left" in screen.frame()
    v.trial_phase(_info(trunk), "attempt 1: Turn right - stand still")
    assert "Rest:" not in screen.frame()
    v.trial_done(trunk)
    row = next(line for line in screen.frame().splitlines()
               if "isometric_trunk_rotation right" in line and "│ │" in line)
    assert "net peak 12" in row and "N·m " in row and "N·m/s" in row
    v.close()


def test_log_view_lines_name_the_headline_with_units_and_the_rest(finished):
    lines: list[str] = []
    v = View(lines.append)
    v.cue("Stand still on the plates")
    v.rest("Rest", 45)
    v.trial_done(finished[("isometric_hip_flexion", "right")])
    v.trial_done(finished[("isometric_trunk_rotation", "left")])
    v.trial_done(finished[("cmj", "")])
    assert lines[:2] == ["Stand still on the plates", "Rest: 45 s"]
    flex, trunk, cmj = lines[2:]
    assert "net peak 30" in flex and " N, RFD 0-100 ms " in flex and flex.endswith("N/s, VALID")
    assert "net peak 12" in trunk and " N·m, RFD 0-100 ms " in trunk and "N·m/s, VALID" in trunk
    assert "jump height 35." in cmj and " cm, peak force " in cmj


SHORT = """\
name: screen_check
version: "1"
requires: {streams: [force], optional: [emg, mocap, truth]}
steps:
  - weigh: {duration_s: 2.0}
  - trial: {test: isometric_hip_flexion, side: left, text: "Pull the knee up", effort_s: 3.0}
  - rest: {duration_s: 45}
  - trial: {test: isometric_trunk_rotation, direction: right, text: "Turn right", effort_s: 3.0}
"""


def test_rich_view_on_a_real_run_shows_each_trials_own_signal_and_its_net_peak(tmp_path):
    """A simulated run (real LSL on loopback) drawn by RichView: the live line reads the
    trial's signal (-fp1.Fz for hip flexion, the free moment for trunk rotation)."""
    import re

    from rich.console import Console

    from labkit.config.hardware import load_hardware_config
    from labkit.protocol.runner import RunOptions
    from labkit.trials.protocols import load_protocol
    from tests.protocol.sim_run import simulated_runner

    console = Console(record=True, width=120, force_terminal=True, file=io.StringIO())
    proto, text = load_protocol("screen_check", text=SHORT)
    cfg, cfg_text = load_hardware_config()
    opts = RunOptions(out_path=tmp_path / "s.h5", athlete="SCREEN", unattended=True, fast=True)
    simulated_runner(proto, text, cfg, cfg_text, opts, RichView(console)).run()
    shown = console.export_text()
    flex = [float(v) for v in re.findall(r"-fp1\.Fz -?[\d.]+ N   live net peak (\d+) N", shown)]
    assert flex and max(flex) == pytest.approx(300.0, abs=15.0)
    trunk = [float(v) for v in re.findall(r"-\(fp1\.Mz\+fp2\.Mz\) -?[\d.]+ N·m   live net peak (\d+) N·m",
                                          shown)]
    assert trunk and max(trunk) == pytest.approx(120.0, abs=10.0)
    assert "live peak" not in shown  # an absolute peak is the IMTP's headline, not these tests'
    assert re.search(r"Rest: [12] s left", shown)
    assert "Stand still on the plates" in shown and "fp1.Fz+fp2.Fz" in shown


def test_reactive_jumps_read_rsi_and_contact_time_as_the_catalogue_names_them():
    """Drop jump and rebound jumps (simulated plates, known truth): the headline is the
    catalogue's RSI, without a unit, and the line adds the ground contact in ms."""
    import numpy as np

    from labkit.config.protocol import TrialStep
    from labkit.signal.window import Window
    from labkit.trials.outcome import TrialRecord
    from tests.signal.test_force_drop_jump import sim_drop_jump
    from tests.signal.test_force_rebound import sim_rebounds

    fs = 2000.0
    lines: list[str] = []
    v = View(lines.append)
    fl, fr, t, truth = sim_drop_jump(fs)
    hops = sim_rebounds(fs)
    for test, (left, right, times, _) in (("drop_jump", (fl, fr, t, truth)), ("rebound_jumps", hops)):
        w = Window(["fp1.Fz", "fp2.Fz"], np.column_stack([left, right]), times, fs, "force")
        step = TrialStep(test=test, effort_s=float(times[-1] - times[0]) - 1.0)
        out = analyse_trial(step, w, None)
        assert out.valid, out.reasons
        v.trial_done(TrialRecord(1, "1", step, None, 1, float(times[0]), float(times[-1]), True, "", out))
    drop, rebound = lines
    import re

    rsi, contact = re.search(r": RSI ([\d.]+), contact time ([\d.]+) ms, VALID$", drop).groups()
    assert abs(float(rsi) / truth["rsi"] - 1) < 0.02  # as shown, within 2 % of the truth
    assert abs(float(contact) - 1000 * truth["contact_time_s"]) <= 2 * 1000 / fs  # 2 samples
    assert " cm" not in drop and "peak force" not in drop
    assert "RSI best 5 1.2" in rebound, rebound  # the simulated best hops score 1.250
    assert ", contact time best 5 " in rebound and rebound.endswith(" ms, VALID"), rebound
