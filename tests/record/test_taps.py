"""A live tap that raises (a display's bug) never stops the recording of its stream: the
recorder logs it once and keeps recording (before, the stream's thread ended silently)."""

from __future__ import annotations

import logging
import time

import numpy as np

import labkit
from labkit.devices.sim.lab import SimulatedLab
from labkit.record.recorder import Recorder

from .labs import lab_config


def test_a_failing_tap_does_not_stop_the_stream(tmp_path, caplog):
    config, text = lab_config(("force",))
    path = tmp_path / "tap.h5"
    calls = []

    def broken(data, times):
        calls.append(len(data))
        raise ValueError("display bug")

    with SimulatedLab(config):
        rec = Recorder(config, path, config_text=text)
        rec.add_tap("force", broken)
        with caplog.at_level(logging.ERROR, logger="labkit.record.recorder"):
            rec.start()
            end = time.monotonic() + 30
            while time.monotonic() < end and sum(s.samples for s in rec.status()) < 6000:
                time.sleep(0.05)
            rec.stop()
    assert len(calls) > 3  # the tap kept being called: the stream kept recording
    assert sum("a live tap failed" in r.getMessage() for r in caplog.records) == 1
    with labkit.open_session(path) as s:
        counter = s.stream("force").counter
    assert len(counter) >= 6000 and np.all(np.diff(counter) == 1)
