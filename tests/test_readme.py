"""The README's Python snippet runs as written against a `labkit run` session, and its two
commands are the ones `.ci/run` and a user run."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_readme_snippet_runs_on_the_output_of_a_protocol_run(tmp_path, monkeypatch):
    from labkit.config.hardware import load_hardware_config
    from labkit.protocol.runner import RunOptions, View
    from labkit.protocol.schema import load_protocol
    from tests.protocol.sim_run import simulated_runner

    proto, text = load_protocol("imtp")
    cfg, cfg_text = load_hardware_config()
    opts = RunOptions(out_path=tmp_path / "demo_session.h5", athlete="DEMO01", unattended=True, fast=True)
    simulated_runner(proto, text, cfg, cfg_text, opts, View(lambda msg: None)).run()
    snippet = re.search(r"```python\n(import labkit\n.*?)```", README, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    s = scope["s"]
    assert s.streams == ["emg", "force", "mocap", "protocol_cues", "truth"]
    assert s.results == ["protocol"]
    assert s.trials.index.name is None and list(s.trials.index) == list(s.trials["id"])
    s.close()


def test_readme_commands_are_the_ci_commands():
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert f"\n{ci}\n" in README
    assert "labkit run protocols/hip_battery.yaml --athlete DEMO01 --unattended --fast" in README
