"""`--resume` refuses another protocol's file, is a no-op on a complete session, and an
interrupted run (Ctrl-C, an error) is `interrupted` with no trial left `running`."""

from __future__ import annotations

import pytest

import labkit
from labkit.config.hardware import load_hardware_config
from labkit.errors import SessionError
from labkit.protocol.runner import ProtocolRunner, RunOptions, View
from labkit.protocol.schema import load_protocol
from tests.protocol.sim_run import simulated_runner


@pytest.fixture(scope="module")
def complete_imtp(tmp_path_factory):
    from labkit.analysis.synthetic import write_battery_session

    return write_battery_session(tmp_path_factory.mktemp("resume") / "imtp.h5", seed=5, n_trials=3)


def _runner(protocol, path, **options):
    proto, text = load_protocol(protocol)
    cfg, cfg_text = load_hardware_config()
    opts = RunOptions(out_path=path, athlete="SIM01", unattended=True, fast=True, resume=True, **options)
    # no lab: a refused or no-op resume must not start one
    return ProtocolRunner(proto, text, cfg, cfg_text, opts, View(lambda msg: None))


def test_resume_with_another_protocol_is_refused_in_one_line(complete_imtp):
    with labkit.open_session(complete_imtp) as s:
        results_before = s.results
    with pytest.raises(SessionError) as info:
        _runner("cmj", complete_imtp).run()
    msg = str(info.value)
    assert "holds a run of protocol 'imtp', not 'cmj'" in msg and "--resume-other-protocol" in msg
    assert "\n" not in msg
    with labkit.open_session(complete_imtp) as s:
        assert s.results == results_before  # nothing re-labelled, no results group added


def test_resume_with_an_edited_protocol_text_is_refused(complete_imtp, tmp_path):
    _, text = load_protocol("imtp")
    edited = text.replace("until_valid: 3", "until_valid: 2")
    assert edited != text
    cfg, cfg_text = load_hardware_config()
    opts = RunOptions(out_path=complete_imtp, unattended=True, fast=True, resume=True)
    runner = ProtocolRunner(load_protocol("x.yaml", text=edited)[0], edited, cfg, cfg_text, opts,
                            View(lambda msg: None))
    with pytest.raises(SessionError, match="different text of protocol 'imtp'"):
        runner.run()


def test_resuming_a_complete_session_is_a_no_op_with_a_message(complete_imtp):
    messages = []
    proto, text = load_protocol("imtp")
    cfg, cfg_text = load_hardware_config()
    opts = RunOptions(out_path=complete_imtp, unattended=True, fast=True, resume=True)
    runner = ProtocolRunner(proto, text, cfg, cfg_text, opts, View(messages.append))
    with labkit.open_session(complete_imtp) as s:
        before = (s.results, len(s.trials), s.result("protocol").tables["trials"]["peak_force_n"].tolist())
    table = runner.run()
    assert any("already complete (3 trials); nothing to resume" in m for m in messages)
    assert table["peak_force_n"].tolist() == before[2]
    with labkit.open_session(complete_imtp) as s:
        assert (s.results, len(s.trials)) == before[:2]


class InterruptAtGo(View):
    """Presses Ctrl-C (raises KeyboardInterrupt) at GO of the given trial."""

    def __init__(self, trial: int) -> None:
        super().__init__(lambda msg: None)
        self.trial = trial

    def trial_phase(self, record, phase):
        if phase == "GO!" and record["id"] == self.trial:
            raise KeyboardInterrupt


def test_an_interrupted_run_is_interrupted_with_the_trial_aborted(tmp_path):
    proto, text = load_protocol("imtp")
    cfg, cfg_text = load_hardware_config()
    opts = RunOptions(out_path=tmp_path / "i.h5", athlete="SIM01", unattended=True, fast=True)
    runner = simulated_runner(proto, text, cfg, cfg_text, opts, InterruptAtGo(2))
    with pytest.raises(KeyboardInterrupt):
        runner.run()
    with labkit.open_session(tmp_path / "i.h5") as s:
        assert s.status == "interrupted"
        trials = s.trials
        assert trials["status"].tolist() == ["valid", "aborted"]
        assert trials["reason"].iloc[1] == "run interrupted"
        assert trials["end"].iloc[1] > trials["start"].iloc[1]


def test_the_resume_hint_repeats_the_flags_the_run_was_started_with():
    from pathlib import Path

    from labkit.cli.protocol_cmds import _resume_command

    assert _resume_command("hip_battery", Path("my run.h5"), config=Path("lab.yaml"), unattended=True,
                           fast=True) == ("labkit run hip_battery --resume 'my run.h5' --config lab.yaml "
                                          "--unattended --fast")
    assert _resume_command("imtp", "s.h5", config=None, unattended=False, fast=False) == \
        "labkit run imtp --resume s.h5"
