"""Mocap adopted from LSL apps (Qualisys-like mm Z-up; OptiTrack-like m Y-up, rate 0),
and `devices check`, on real pylsl outlets."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pylsl
import pytest

from labkit.config.hardware import LslMocap, load_hardware_config
from labkit.devices.check import check_devices
from labkit.devices.lsl_source import LslMocapSource
from labkit.devices.sim.lab import SimulatedLab
from labkit.errors import ConfigError
from labkit.lsl.streams import open_inlet, resolve, spec_from_info
from tests.devices.helpers import sim_config


def _outlet(name, source_id, labels, units, rate, manufacturer, extra=None):
    info = pylsl.StreamInfo(name, "MoCap", len(labels), rate, pylsl.cf_float32, source_id)
    chans = info.desc().append_child("channels")
    for i, (lab, unit) in enumerate(zip(labels, units, strict=True)):
        ch = chans.append_child("channel")
        ch.append_child_value("label", lab)
        if unit:
            ch.append_child_value("unit", unit)
        for k, v in (extra[i] if extra else {}).items():
            ch.append_child_value(k, v)
    acq = info.desc().append_child("acquisition")
    acq.append_child_value("manufacturer", manufacturer)
    return pylsl.StreamOutlet(info)


def _feed(outlet, rows, rate, stop):
    """Push ``rows`` as a mocap app does: on its frame clock, each stamped with its frame time
    (sleeping 1/rate after each push ran slow on a busy machine: 105 Hz for 120 Hz)."""
    import pylsl

    t0 = pylsl.local_clock()
    i = 0
    while not stop.is_set() and i < len(rows):
        due = t0 + i / rate
        wait = due - pylsl.local_clock()
        if wait > 0:
            time.sleep(wait)
        outlet.push_sample(rows[i].tolist(), due)
        i += 1


def _adopt(device, prefix, outlet, rows, rate, seconds=1.5):
    stop = threading.Event()
    th = threading.Thread(target=_feed, args=(outlet, rows, rate, stop), daemon=True)
    th.start()
    src = LslMocapSource(device, f"{prefix}-{device.name}", resolve_timeout_s=10)
    try:
        with src:
            inlet = open_inlet(resolve(source_id=f"{prefix}-{device.name}", timeout_s=10)[0])
            spec = spec_from_info(inlet.info())
            got = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                x, _ = inlet.pull_chunk(timeout=0.05)
                got += x
    finally:
        stop.set()
        th.join()
    return src, spec, np.asarray(got)


def test_qualisys_like_markers_in_mm_with_frame_numbers(prefix):
    labels = ["Frame", "LASI_X", "LASI_Y", "LASI_Z", "RASI_X", "RASI_Y", "RASI_Z", "Residual"]
    outlet = _outlet("QTM", f"{prefix}-qtm", labels, ["", "mm", "mm", "mm", "mm", "mm", "mm", "mm"], 100.0,
                     "Qualisys")
    n = 400
    frames = np.arange(1000, 1000 + n)
    frames[200:] += 5  # the app dropped 5 frames
    rows = np.column_stack([frames, 100.0 + np.arange(n), np.full(n, 200.0), np.full(n, 950.0),
                            np.full(n, 110.0), np.full(n, -200.0), np.full(n, 940.0), np.zeros(n)])
    dev = LslMocap(kind="lsl_mocap", name="mocap", match={"source_id": f"{prefix}-qtm"})
    src, spec, x = _adopt(dev, prefix, outlet, rows, 100.0, seconds=4.5)
    assert [c.label for c in spec.channels] == ["LASI.x", "LASI.y", "LASI.z", "RASI.x", "RASI.y", "RASI.z",
                                                "counter"]
    assert spec.channels[0].unit == "m" and dict(spec.channels[2].extra) == {"marker": "LASI", "axis": "z"}
    counter = x[:, -1].astype(int)
    i = counter  # frame - first frame
    np.testing.assert_allclose(x[:, 2], 0.95, atol=1e-6)  # mm -> m, Z-up kept
    np.testing.assert_allclose(x[:, 4], -0.2, atol=1e-6)
    first = src.first_frame  # the first frame the adopter received
    k = np.searchsorted(frames, first + i)
    np.testing.assert_allclose(x[:, 0], (100.0 + k) * 1e-3, atol=1e-6)
    assert np.count_nonzero(np.diff(counter) == 6) == 1 and len(src.gaps) == 1  # 5 frames missing
    assert "Residual" in src.mapping.dropped


def test_optitrack_like_rigid_body_y_up_metres_rate_measured(prefix):
    labels = ["pelvis_X", "pelvis_Y", "pelvis_Z", "pelvis_qW", "pelvis_qX", "pelvis_qY", "pelvis_qZ"]
    extra = [{"rigid_body": "pelvis", "axis": a} for a in ("x", "y", "z", "qw", "qx", "qy", "qz")]
    outlet = _outlet("Motive", f"{prefix}-motive", labels, ["meters"] * 3 + [""] * 4, 0.0, "NaturalPoint",
                     extra)
    n = 500
    # Y-up source: pelvis 1.0 m high (y), 0.3 m forward (x), 0.1 m to the right (+z in Motive)
    c, s_ = np.cos(np.pi / 8), np.sin(np.pi / 8)  # 45 deg about the source's up axis (y)
    rows = np.tile([0.3, 1.0, 0.1, c, 0.0, s_, 0.0], (n, 1))
    dev = LslMocap(kind="lsl_mocap", name="mocap", match={"name": "Motive", "source_id": f"{prefix}-motive"},
                   measure_rate_s=1.0)
    src, spec, x = _adopt(dev, prefix, outlet, rows, 120.0, seconds=1.0)
    assert src.measured_rate_hz == pytest.approx(120.0, rel=0.1)
    assert spec.nominal_rate_hz == src.measured_rate_hz and spec.device["rate_measured"] == "true"
    np.testing.assert_allclose(x[:, :3], np.tile([0.3, -0.1, 1.0], (len(x), 1)), atol=1e-6)  # Z-up
    # the same 45 deg turn about the vertical, now the z axis
    np.testing.assert_allclose(np.abs(x[:, 3:7]), np.tile([c, 0.0, 0.0, s_], (len(x), 1)), atol=1e-6)
    assert dict(spec.channels[3].extra) == {"rigid_body": "pelvis", "axis": "qw"}


def test_unknown_units_are_a_config_error(prefix):
    outlet = _outlet("Vicon", f"{prefix}-vicon", ["A_X", "A_Y", "A_Z"], ["", "", ""], 100.0, "Vicon")
    dev = LslMocap(kind="lsl_mocap", name="mocap", match={"source_id": f"{prefix}-vicon"})
    with pytest.raises(ConfigError, match="does not say its position unit; set unit"):
        LslMocapSource(dev, f"{prefix}-mocap").start()
    del outlet


def test_devices_check_with_the_lab_running_and_not(prefix, tmp_path):
    config = sim_config(prefix)
    report = check_devices(config, timeout_s=2.0)
    assert report.exit_code == 1
    assert report.missing_streams == ["force", "emg", "mocap", "truth"]
    assert any("missing required streams: force, emg, mocap, truth" in line for line in report.lines())
    with SimulatedLab(config, listen_for_cues=False):
        report = check_devices(config, timeout_s=10.0)
    assert report.exit_code == 0, report.lines()
    assert all(d.ok for d in report.devices)


def test_devices_check_reports_missing_driver_and_refused_port_and_bad_fields(prefix, tmp_path):
    config, _ = load_hardware_config("hardware_configs/amti_trigno_qualisys.yaml")
    text = Path("hardware_configs/amti_trigno_qualisys.yaml").read_text()
    config, _ = load_hardware_config("lab.yaml", text=text.replace("command_port: 50040", "command_port: 9")
                                                      .replace("host: 192.168.1.20", "host: 127.0.0.1"))
    report = check_devices(config, timeout_s=0.5)
    by = {d.name: d for d in report.devices}
    assert by["force"].hardware_ok is False and "NI-DAQmx driver is not installed" in by["force"].problems[0]
    assert by["emg"].hardware_ok is False and "refused" in by["emg"].problems[0]
    assert report.exit_code == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("terminal_config: diff", "terminal_config: differential"))
    with pytest.raises(ConfigError) as info:
        check_devices(bad)
    msg = str(info.value)
    assert "\n" not in msg and "bad.yaml" in msg and "terminal_config" in msg
