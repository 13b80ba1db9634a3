"""NI-DAQmx force plates: the real nidaqmx API with only its driver boundary replaced
(autospec'd Task and reader), the simulated DAQ backend through LSL into a session."""

from __future__ import annotations

import time
from unittest import mock

import nidaqmx
import numpy as np
import pytest
from nidaqmx.constants import AcquisitionType, Edge, TerminalConfiguration
from nidaqmx.errors import DaqError, DaqReadError
from nidaqmx.stream_readers import AnalogMultiChannelReader
from nidaqmx.task import Timing
from nidaqmx.task.collections import AIChannelCollection
from nidaqmx.task.triggering import StartTrigger

import labkit
from labkit.config.hardware import DaqForcePlates
from labkit.devices.daqmx import DaqForcePlatesSource, NidaqmxBackend, PlateCalibration
from labkit.devices.sim.daq import SimulatedDaqBackend, default_calibration
from labkit.devices.sim.lab import SimulatedLab
from labkit.errors import DeviceError
from labkit.lsl.streams import open_inlet, resolve, spec_from_info
from labkit.record.recorder import Recorder
from labkit.signal.force_plates import kistler_8ch, plate_6ch
from tests.record.labs import lab_config

CAL = np.array(default_calibration("amti", 3))


def _device(**kw) -> DaqForcePlates:
    plates = [{"name": "fp1", "channels": [f"Dev1/ai{i}" for i in range(6)], "calibration": CAL.tolist(),
               "gains": 2.0, "excitation_v": 5.0},
              {"name": "fp2", "channels": [f"Dev1/ai{i}" for i in range(6, 12)],
               "scale": [100, 100, 200, 50, 50, 30], "moment_unit": "N*mm"}]
    return DaqForcePlates(**{"kind": "daqmx_force_plates", "name": "force", "rate_hz": 2000.0,
                             "plates": plates, "read_interval_s": 0.01, **kw})


def _fake_nidaqmx(actual_rate: float = 1999.9):
    """Autospec'd nidaqmx.Task (with its channel, timing and trigger objects) and reader."""
    task = mock.create_autospec(nidaqmx.Task, instance=True)
    task.ai_channels = mock.create_autospec(AIChannelCollection, instance=True)
    task.timing = mock.create_autospec(Timing, instance=True)
    task.timing.samp_clk_rate = actual_rate
    task.triggers.start_trigger = mock.create_autospec(StartTrigger, instance=True)
    reader = mock.create_autospec(AnalogMultiChannelReader, instance=True)
    task_factory = mock.Mock(return_value=task)
    reader_factory = mock.Mock(return_value=reader)
    return task, reader, task_factory, reader_factory


def test_nidaqmx_configuration_calls():
    task, _reader, tf, rf = _fake_nidaqmx(1999.9)
    dev = _device(start_trigger="/Dev1/PFI0", sample_clock_source="/Dev1/PFI7", min_v=-5.0, max_v=5.0)
    backend = NidaqmxBackend(task_factory=tf, reader_factory=rf)
    actual = backend.configure(dev, 20)
    assert actual == 1999.9  # the rate read back, not the one requested
    tf.assert_called_once_with("labkit-force")
    calls = task.ai_channels.add_ai_voltage_chan.call_args_list
    assert [c.args[0] for c in calls] == [f"Dev1/ai{i}" for i in range(12)]
    assert all(c.kwargs == {"terminal_config": TerminalConfiguration.DIFF, "min_val": -5.0, "max_val": 5.0}
               for c in calls)
    task.timing.cfg_samp_clk_timing.assert_called_once_with(
        2000.0, source="/Dev1/PFI7", sample_mode=AcquisitionType.CONTINUOUS, samps_per_chan=20000)
    task.triggers.start_trigger.cfg_dig_edge_start_trig.assert_called_once_with(
        "/Dev1/PFI0", trigger_edge=Edge.RISING)
    rf.assert_called_once_with(task.in_stream)
    (n, cb), _ = task.register_every_n_samples_acquired_into_buffer_event.call_args
    assert n == 20 and cb(None, None, 20, None) == 0  # the callback NI calls returns 0


def _inlet(source_id: str):
    infos = resolve(source_id=source_id, timeout_s=20.0)
    assert infos, source_id
    return open_inlet(infos[0])


def _pull(inlet, n_min: int, timeout_s: float = 10.0):
    rows = []
    end = time.monotonic() + timeout_s
    while len(rows) < n_min and time.monotonic() < end:
        x, _ = inlet.pull_chunk(timeout=0.05)
        rows += x
    return np.asarray(rows)


def test_read_loop_converts_volts_to_newtons_and_overflow_restarts_the_task(prefix):
    task, reader, tf, rf = _fake_nidaqmx(2000.0)
    dev = _device()
    n = 20
    rng = np.random.default_rng(1)
    loads = rng.normal(0, 300, (5 * n, 12))  # N and N.m, known answer
    # volts the amplifiers would output for these loads (independent of labkit's inverse)
    v1 = np.linalg.solve(CAL, loads[:, :6].T).T * (2.0 * 5.0)
    v2 = loads[:, 6:] / np.array([100, 100, 200, 50e-3, 50e-3, 30e-3])
    volts = np.hstack([v1, v2])
    blocks = iter([volts[0:n], volts[n:2 * n], None, volts[2 * n:3 * n], volts[3 * n:4 * n]])

    def read_many_sample(data, number_of_samples_per_channel=-1, timeout=10.0):
        assert data.shape == (12, n) and data.dtype == np.float64 and data.flags.c_contiguous
        block = next(blocks)
        if block is None:
            raise DaqReadError("Attempted to read samples that are no longer available.", -200279, 0)
        data[:, :] = block.T
        return n

    reader.read_many_sample.side_effect = read_many_sample
    src = DaqForcePlatesSource(dev, f"{prefix}-force", backend=NidaqmxBackend(task_factory=tf,
                                                                              reader_factory=rf))
    with src:
        inlet = _inlet(f"{prefix}-force")
        (_, callback), _ = task.register_every_n_samples_acquired_into_buffer_event.call_args
        task.start.assert_called_once_with()
        for _ in range(2):
            callback(None, None, n, None)  # as NI-DAQmx calls it from its thread
        callback(None, None, n, None)      # overflow: recorded, task restarted
        deadline = time.monotonic() + 5
        while task.start.call_count < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.02)  # the restarted task acquires for a moment before its first event
        for _ in range(2):
            callback(None, None, n, None)
        x = _pull(inlet, 4 * n)
        spec = spec_from_info(inlet.info())
    assert task.stop.call_count >= 1 and task.start.call_count == 2
    assert [c.label for c in spec.channels][:3] == ["fp1.Fx", "fp1.Fy", "fp1.Fz"]
    assert spec.channels[5].unit == "N.m" and spec.channels[-1].label == "counter"
    assert x.shape == (4 * n, 13)
    np.testing.assert_allclose(x[:, :12], loads[:4 * n], atol=1e-6)  # the read after the overflow is lost
    counter = x[:, 12].astype(int)
    np.testing.assert_array_equal(counter[:2 * n], np.arange(2 * n))
    assert counter[2 * n] > 2 * n  # the counter skips the samples lost
    (gap,) = src.gaps
    assert gap[0] == 2 * n and "overflow" in gap[2]
    task.close.assert_called_once_with()


def test_device_not_found_is_one_clear_line():
    task, _reader, tf, rf = _fake_nidaqmx()
    task.ai_channels.add_ai_voltage_chan.side_effect = DaqError("Device identifier is invalid.", -200220)
    with pytest.raises(DeviceError) as info:
        NidaqmxBackend(task_factory=tf, reader_factory=rf).configure(_device(), 20)
    msg = str(info.value)
    assert "\n" not in msg and "not found" in msg and "-200220" in msg
    task.close.assert_called_once_with()


def test_without_the_ni_driver_the_nidaqmx_backend_fails_with_one_line(prefix):
    src = DaqForcePlatesSource(_device(), f"{prefix}-force")  # the real nidaqmx.Task
    with pytest.raises(DeviceError) as info:
        src.start()
    msg = str(info.value)
    assert "\n" not in msg
    assert "NI-DAQmx driver is not installed" in msg and "'force'" in msg


def test_calibration_inverse_round_trips_every_plate_kind():
    rng = np.random.default_rng(2)
    loads = rng.normal(0, 500, (50, 6))
    dev = _device()
    for plate in dev.plates:
        cal = PlateCalibration(plate)
        np.testing.assert_allclose(cal.loads(cal.volts(loads)), loads, atol=1e-8)
    kistler = DaqForcePlates(kind="daqmx_force_plates", name="k", plates=[
        {"name": "fp1", "kind": "kistler", "channels": [f"Dev1/ai{i}" for i in range(8)],
         "a_m": 0.12, "b_m": 0.2, "sensitivity_n_v": 500.0}]).plates[0]
    cal = PlateCalibration(kistler)
    v = cal.volts(loads)
    f, m = kistler_8ch(v, a_m=0.12, b_m=0.2, sensitivity_n_v=500.0)
    np.testing.assert_allclose(np.hstack([f, m]), loads, atol=1e-8)
    f, m = plate_6ch(PlateCalibration(dev.plates[0]).volts(loads), calibration=CAL, gains=2.0,
                     excitation_v=5.0)
    np.testing.assert_allclose(np.hstack([f, m]), loads, atol=1e-8)


def test_tare_from_a_quiet_window_zeroes_amplifier_offsets(prefix):
    dev = _device(tare_window_s=(1.0, 1.5))
    offsets = np.linspace(-0.02, 0.03, 12)  # V
    backend = SimulatedDaqBackend(lambda g, t: np.zeros((len(g), 12)), offsets_v=offsets)
    src = DaqForcePlatesSource(dev, f"{prefix}-force", backend=backend)
    with src:
        inlet = _inlet(f"{prefix}-force")
        x = _pull(inlet, 3600)
    counter = x[:, 12]
    before = x[counter < 2800, :12]  # published before the tare at 1.5 s
    after = x[-200:, :12]
    assert len(before) > 100 and counter[-200] > 3200
    lsb_n = np.abs(CAL).sum(axis=1).max() * backend.lsb_v / 10.0
    expected = np.hstack([(offsets[:6] / 10.0) @ CAL.T,
                          offsets[6:] * np.array([100, 100, 200, 50e-3, 50e-3, 30e-3])])
    np.testing.assert_allclose(before.mean(axis=0), expected, atol=0.1)
    assert np.abs(expected).max() > 1.0  # the offsets really are there
    assert np.abs(after).max() < 2 * lsb_n + 0.02
    np.testing.assert_allclose(src.zero_v, offsets, atol=backend.lsb_v)


def test_simulated_backend_through_lsl_into_a_session_matches_the_truth(tmp_path):
    config, text = lab_config(("force",))
    assert config.device("force").driver == "daqmx"
    path = tmp_path / "plates.h5"
    with SimulatedLab(config) as lab:
        src = lab.sources["force"]
        assert isinstance(src, DaqForcePlatesSource)
        rec = Recorder(config, path, config_text=text)
        rec.start()
        time.sleep(1.5)
        src.backend.inject_overflow()
        time.sleep(1.5)
        rec.stop()
        lab.check()
        with labkit.open_session(path) as s:
            st = s.stream("force")
            counter = st.counter
            data = st.data[:, :-1]
            run, dev_index = src.device_index(counter)
            truth = np.vstack([src.backend.true_loads(int(r), dev_index[run == r]) for r in np.unique(run)])
            true_times = src.true_times_for_counter(counter)
            times = st.times
    assert st.rate_hz == 2000.0
    rms = np.sqrt(np.mean((data - truth) ** 2, axis=0))
    assert rms.max() < 0.5, rms  # calibrated plates within 0.5 N (N.m) RMS of the simulated truth
    assert np.median(data[:, 2] + data[:, 8]) == pytest.approx(80 * 9.80665, rel=0.01)
    # one overflow: one gap whose size matches the samples the card really lost
    jumps = np.flatnonzero(np.diff(counter) != 1)
    assert len(jumps) == 1 and src.n_overflows == 1
    i = jumps[0]
    true_missing = round((true_times[i + 1] - true_times[i]) * 2000.0) - 1
    assert abs((counter[i + 1] - counter[i] - 1) - true_missing) <= 2
    assert np.abs(times - true_times).max() < 3e-3
