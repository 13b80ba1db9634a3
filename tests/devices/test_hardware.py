"""Real-hardware checks for a lab machine: ``LABKIT_HARDWARE_CONFIG=lab.yaml pytest -m hardware``.

Each test skips with the reason when the hardware (or its driver) is not there.
"""

from __future__ import annotations

import os
import time

import pytest

from labkit.config.hardware import DaqForcePlates, Trigno, load_hardware_config
from labkit.devices.check import _nidaqmx_problem, _trigno_problem

pytestmark = pytest.mark.hardware


def _config():
    path = os.environ.get("LABKIT_HARDWARE_CONFIG")
    if not path:
        pytest.skip("no lab config: set LABKIT_HARDWARE_CONFIG to the lab's hardware config YAML")
    return load_hardware_config(path)[0]


def _device(kind):
    config = _config()
    devs = [d for d in config.devices if isinstance(d, kind)]
    if not devs:
        pytest.skip(f"{config.name!r} has no {kind.__name__} device")
    return config, devs[0]


def test_ni_plates_stream_calibrated_forces():
    from labkit.devices.daqmx import DaqForcePlatesSource

    config, dev = _device(DaqForcePlates)
    problem = _nidaqmx_problem(dev)
    if problem:
        pytest.skip(problem)
    with DaqForcePlatesSource(dev, config.source_id(dev.name) + "-hwtest") as src:
        time.sleep(2.0)
        src.check()
    assert src.n_sent > 1.5 * src.rate_hz and not src.gaps


def test_trigno_streams_without_loss():
    from labkit.devices.trigno import TrignoSource

    config, dev = _device(Trigno)
    problem = _trigno_problem(dev, 2.0)
    if problem:
        pytest.skip(problem)
    with TrignoSource(dev, config.source_id(dev.name) + "-hwtest") as src:
        time.sleep(3.0)
        src.check()
    assert src.n_sent > 2.5 * src.rate_hz and not src.gaps
