"""The Trigno SDK client against the loopback emulator over real TCP, into real LSL."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from labkit.config.hardware import Trigno
from labkit.devices.sim.trigno_server import TrignoEmulator
from labkit.devices.trigno import TrignoSource
from labkit.errors import DeviceError
from labkit.lsl.streams import open_inlet, resolve, spec_from_info

SENSORS = [{"sensor": 1, "muscle": "gluteus_maximus", "side": "l"},
           {"sensor": 5, "muscle": "biceps_femoris", "side": "l"},
           {"sensor": 16, "muscle": "multifidus", "side": "r"}]


def known(index, t_s):
    """Slot k of sample g: exact in float32, unique per (g, k)."""
    g = np.asarray(index, dtype=np.int64)[:, None]
    k = np.arange(16)[None, :]
    return (((g * 16 + k) % 4_000_000) * 1e-9).astype(np.float32)


def _device(emu: TrignoEmulator, **kw) -> Trigno:
    return Trigno(kind="trigno", name="emg", sensors=SENSORS, command_port=emu.command_port,
                  emg_port=emu.emg_port, reconnect_s=0.2, timeout_s=2.0, **kw)


def _inlet(source_id):
    infos = resolve(source_id=source_id, timeout_s=20.0)
    assert infos, source_id
    return open_inlet(infos[0])


def _pull_for(inlet, seconds):
    rows, stamps = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        x, ts = inlet.pull_chunk(timeout=0.05, max_samples=200_000)
        rows += x
        stamps += ts
    return np.asarray(rows), np.asarray(stamps)


def _check_values(src: TrignoSource, emu: TrignoEmulator, x: np.ndarray) -> np.ndarray:
    counter = x[:, -1].astype(np.int64)
    run, dev = src.device_index(counter)
    g = np.concatenate([emu.global_index(int(r), dev[run == r]) for r in np.unique(run)])
    expected = known(g, None)[:, [0, 4, 15]]
    np.testing.assert_array_equal(x[:, :-1].astype(np.float32), expected)
    return counter


def _stream(seconds: float, prefix: str, *, split=None, spf=29):
    with TrignoEmulator(known, samples_per_frame=spf, split_max_bytes=split, seed=3) as emu:
        src = TrignoSource(_device(emu), f"{prefix}-emg")
        src.true_time_fn = emu.true_time_s  # the emulator knows when each sample was taken
        with src:
            inlet = _inlet(f"{prefix}-emg")
            x, stamps = _pull_for(inlet, seconds)
            spec = spec_from_info(inlet.info())
        return emu, src, x, stamps, spec


@pytest.mark.parametrize("seconds", [pytest.param(4.0, id="4s"),
                                     pytest.param(60.0, id="60s", marks=pytest.mark.slow)])
def test_rates_and_types_queried_and_every_frame_arrives(prefix, seconds):
    emu, src, x, stamps, spec = _stream(seconds, prefix)
    for q in ("SENSOR 1 TYPE?", "SENSOR 16 TYPE?", "SENSOR 5 PAIRED?", "SENSOR 5 EMGCHANNELCOUNT?",
              "SENSOR 1 CHANNEL 1 RATE?", "FRAME INTERVAL?", "MAX SAMPLES EMG?", "START", "STOP", "QUIT"):
        assert q in emu.commands, q
    assert src.sensor_types == {1: "D", 5: "D", 16: "D"}
    assert src.rate_hz == 29 / 0.0135 and spec.nominal_rate_hz == 29 / 0.0135  # derived, exact
    assert [c.label for c in spec.channels] == ["gluteus_maximus_l", "biceps_femoris_l", "multifidus_r",
                                                "counter"]
    assert [c.device_channel for c in spec.channels[:3]] == ["1", "5", "16"]
    assert spec.channels[0].unit == "V" and spec.channels[0].muscle == "gluteus_maximus"
    counter = _check_values(src, emu, x)
    # zero lost (the inlet opens a moment after the start: LSL keeps nothing for late inlets)
    np.testing.assert_array_equal(np.diff(counter), 1)
    assert counter[0] < 0.5 * src.rate_hz and src.gaps == []
    assert len(counter) > (seconds - 0.6) * src.rate_hz
    assert emu.frames_sent * 29 >= len(counter)
    true = src.true_times_for_counter(counter)
    lag = stamps - true
    assert lag.min() > -1e-4 and lag.max() < 5e-3


def test_frames_split_across_arbitrary_tcp_reads(prefix):
    emu, src, x, _, _ = _stream(1.5, prefix, split=23)  # 23 bytes: samples straddle every read
    counter = _check_values(src, emu, x)
    np.testing.assert_array_equal(np.diff(counter), 1)
    assert len(counter) > 1.0 * src.rate_hz and src.gaps == []


def test_disconnect_mid_stream_reconnects_and_marks_the_gap(prefix):
    with TrignoEmulator(known, samples_per_frame=27, seed=4) as emu:
        src = TrignoSource(_device(emu), f"{prefix}-emg")
        src.true_time_fn = emu.true_time_s
        with src:
            inlet = _inlet(f"{prefix}-emg")
            x1, _ = _pull_for(inlet, 1.0)
            emu.outage(0.6)  # connections dropped, then refused for 0.6 s, then back
            x2, _ = _pull_for(inlet, 2.5)
        x = np.vstack([x1, x2])
        assert src.n_reconnects >= 1
        counter = _check_values(src, emu, x)  # the values after the restart are the right samples
        jumps = np.flatnonzero(np.diff(counter) != 1)
        assert len(jumps) == 1 and len(src.gaps) == 1
        i = jumps[0]
        true = src.true_times_for_counter(counter[i:i + 2])
        true_missing = round((true[1] - true[0]) * src.rate_hz) - 1
        assert true_missing > 0.5 * src.rate_hz
        # estimated from the first frame's arrival after the restart: within one frame
        assert abs((counter[i + 1] - counter[i] - 1) - true_missing) <= 27


def test_unexpected_sensor_type_is_a_clear_error(prefix):
    with TrignoEmulator(known, samples_per_frame=27) as emu:
        emu.set_sensor_type(5, "X")
        src = TrignoSource(_device(emu), f"{prefix}-emg")
        with pytest.raises(DeviceError) as info:
            src.start()
    msg = str(info.value)
    assert "\n" not in msg and "sensor 5 (biceps_femoris_l)" in msg and "'X'" in msg


def test_refused_connection_names_the_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    dev = Trigno(kind="trigno", name="emg", sensors=SENSORS, command_port=port)
    with pytest.raises(DeviceError, match=rf"127.0.0.1:{port} refused the connection"):
        TrignoSource(dev, "x-emg").start()
