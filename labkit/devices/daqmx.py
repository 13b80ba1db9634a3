"""Force plates on an NI-DAQmx card, published on LSL in N and N·m.

Layers (docs/devices.md):

* a backend does the acquisition: :class:`NidaqmxBackend` on the real ``nidaqmx`` API
  (continuous hardware-timed analog input, differential inputs, a buffer of at least
  10 s, an every-N-samples callback that reads into a preallocated array with
  ``AnalogMultiChannelReader.read_many_sample``), or the simulated card of
  :mod:`labkit.devices.sim.daq` (``SimulatedDaqBackend``), which makes volts from the
  simulated athlete through each plate's *inverse* calibration, quantised by a 16-bit
  converter, on a sample clock, with injectable buffer overflows;
* :class:`DaqForcePlatesSource` (the driver) turns volts into forces and moments with
  :mod:`labkit.signal.force_plates`, zeroes (tares) them on request, stamps samples from
  the sample clock and publishes the plates (``fp1.Fx .. fp1.Mz`` per plate, then
  ``counter``; the layout of the simulated force stream), and optionally the raw volts
  as a second stream ``<name>_raw``.

A buffer overflow (DAQmx -200279, or the device FIFO -200361/-200010) is recorded as a
gap (the counter skips the samples lost, estimated from the sample clock) and the task
is restarted. Without the NI-DAQmx driver, opening the NI backend raises one
``DeviceError`` line naming the missing driver.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labkit.config.hardware import DaqForcePlates, DaqPlate
from labkit.devices.base import DeviceSource, SampleClockStamper
from labkit.errors import ConfigError, DeviceError
from labkit.signal.force_plates import kistler_8ch, plate_6ch
from labkit.spec import COUNTER, PLATE_COMPONENTS, ChannelSpec, StreamSpec, plate_channel

__all__ = ["BufferOverflow", "DaqBackend", "DaqForcePlatesSource", "NidaqmxBackend", "PlateCalibration",
           "plates_spec"]

#: the simulated card moved to labkit.devices.sim.daq; resolved by name for old imports
_MOVED = ("SimulatedDaqBackend", "daq_config_for_sim", "default_calibration")


def __getattr__(name: str):
    if name in _MOVED:  # a lookup at run time, not an import of the simulated lab
        import importlib

        return getattr(importlib.import_module("labkit.devices.sim.daq"), name)
    raise AttributeError(f"module 'labkit.devices.daqmx' has no attribute {name!r}")

log = logging.getLogger(__name__)

COMPONENTS = PLATE_COMPONENTS
OVERFLOW_CODES = {-200279: "the input buffer overflowed (DAQmx -200279: samples were overwritten "
                           "before they were read)",
                  -200361: "the device's onboard memory overflowed (DAQmx -200361)",
                  -200010: "the device FIFO overflowed (DAQmx -200010)",
                  -209829: "the device FIFO overflowed (DAQmx -209829)"}
NOT_FOUND_CODES = (-200220, -200170, -200324, -201003, -88717, -50300, -89130)
TIMEOUT_CODES = (-200474, -200284)
DRIVER_MISSING = ("the NI-DAQmx driver is not installed on this machine (nidaqmx could not load "
                  "the NI-DAQmx C library): install NI-DAQmx from ni.com (Linux: `python -m nidaqmx "
                  "installdriver`), or set backend: simulated")


class BufferOverflow(DeviceError):
    """The acquisition buffer overflowed: samples were lost and the task must restart."""


# ---------------------------------------------------------------------------- calibration
class PlateCalibration:
    """Volts <-> loads of one plate (forward with :mod:`labkit.signal.force_plates`).

    Parameters
    ----------
    plate : DaqPlate
    """

    def __init__(self, plate: DaqPlate):
        self.plate = plate
        self.n_channels = len(plate.channels)
        if plate.kind == "kistler":
            sens = np.broadcast_to(np.asarray(plate.sensitivity_n_v, dtype=np.float64), (8,))
            a, b = plate.a_m, plate.b_m
            # loads = K @ (volts * sens), rows Fx Fy Fz Mx My Mz (kistler_8ch)
            k = np.array([[1, 1, 0, 0, 0, 0, 0, 0],
                          [0, 0, 1, 1, 0, 0, 0, 0],
                          [0, 0, 0, 0, 1, 1, 1, 1],
                          [0, 0, 0, 0, b, b, -b, -b],
                          [0, 0, 0, 0, -a, a, a, -a],
                          [-b, b, a, -a, 0, 0, 0, 0]], dtype=np.float64)
            self._inverse = np.linalg.pinv(k) / sens[:, None]
        else:
            gains = np.broadcast_to(np.asarray(plate.gains, dtype=np.float64), (6,))
            exc = np.broadcast_to(np.asarray(plate.excitation_v, dtype=np.float64), (6,))
            unit = 1e3 if plate.moment_unit == "N*mm" else 1.0
            to_native = np.array([1, 1, 1, unit, unit, unit], dtype=np.float64)
            if plate.calibration is not None:
                c = np.asarray(plate.calibration, dtype=np.float64)
                if abs(np.linalg.det(c)) < 1e-12 * np.abs(c).max() ** 6:
                    raise ConfigError(f"plate {plate.name!r}: calibration matrix is singular; copy it "
                                      "from the plate's calibration sheet")
                inv = np.linalg.inv(c)
            else:
                inv = np.diag(1.0 / np.asarray(plate.scale, dtype=np.float64))
            # volts = gains * exc * inv @ (loads in native units)
            self._inverse = (gains * exc)[:, None] * inv * to_native[None, :]

    def loads(self, volts: np.ndarray) -> np.ndarray:
        """Volts (n, channels) -> loads (n, 6): Fx Fy Fz (N), Mx My Mz (N·m)."""
        p = self.plate
        if p.kind == "kistler":
            f, m = kistler_8ch(volts, a_m=p.a_m, b_m=p.b_m, sensitivity_n_v=p.sensitivity_n_v)
        elif p.calibration is not None:
            f, m = plate_6ch(volts, calibration=p.calibration, gains=p.gains, excitation_v=p.excitation_v,
                             moment_unit=p.moment_unit)
        else:
            f, m = plate_6ch(volts, scale=p.scale, gains=p.gains, excitation_v=p.excitation_v,
                             moment_unit=p.moment_unit)
        return np.hstack([f, m])

    def volts(self, loads: np.ndarray) -> np.ndarray:
        """Loads (n, 6) in N and N·m -> the volts the plate's amplifier outputs (n, channels)."""
        return np.asarray(loads, dtype=np.float64) @ self._inverse.T


def plates_spec(device: DaqForcePlates, source_id: str, *, rate_hz: float, model: str) -> StreamSpec:
    """The calibrated stream: per plate ``<plate>.Fx .. .Mz`` then ``counter`` (float64)."""
    channels = []
    for p in device.plates:
        for j, comp in enumerate(COMPONENTS):
            dev_ch = p.channels[j] if len(p.channels) == 6 else ",".join(p.channels)
            channels.append(plate_channel(p.name, comp, dev_ch))
    return StreamSpec(device.name, "force", [*channels, COUNTER], rate_hz, "float64", source_id=source_id,
                      device={"manufacturer": "National Instruments" if device.backend == "nidaqmx"
                              else "labkit", "model": model, "serial": source_id,
                              "plates": ",".join(f"{p.name}:{p.kind}" for p in device.plates),
                              "origins_m": ";".join(",".join(map(repr, p.origin_m)) for p in device.plates)})


def raw_spec(device: DaqForcePlates, source_id: str, *, rate_hz: float, model: str) -> StreamSpec:
    """The raw stream: one channel per physical input (V), then ``counter``."""
    channels = [ChannelSpec(f"{p.name}.v{j}", "V", "voltage", device_channel=ch, extra={"plate": p.name})
                for p in device.plates for j, ch in enumerate(p.channels)]
    name = device.raw_stream_name or f"{device.name}_raw"
    return StreamSpec(name, "force_raw", [*channels, COUNTER], rate_hz, "float64",
                      source_id=f"{source_id}-raw",
                      device={"manufacturer": "National Instruments", "model": model, "serial": source_id})


# ---------------------------------------------------------------------------- backends
class DaqBackend:
    """Acquisition of volts on a sample clock. Call order: :meth:`configure`,
    :meth:`start` (then ``callback(n)`` is called every ``n`` samples acquired into the
    buffer; it may call :meth:`read`), :meth:`restart` after an overflow, :meth:`stop`,
    :meth:`close`."""

    model = "DAQ"

    def configure(self, device: DaqForcePlates, samples_per_read: int) -> float:
        """Create the task; returns the actual sample-clock rate (Hz) the device runs at."""
        raise NotImplementedError

    def start(self, callback: Callable[[int], None]) -> None:
        raise NotImplementedError

    def read(self, out: np.ndarray) -> None:
        """Fill ``out`` (channels, n) with the next ``n`` samples (V); raises
        :class:`BufferOverflow` when samples were lost."""
        raise NotImplementedError

    def restart(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _import_nidaqmx():
    try:
        import nidaqmx
        import nidaqmx.constants
        import nidaqmx.errors
        import nidaqmx.stream_readers
    except ImportError as exc:  # the Python package itself
        raise DeviceError(f"the nidaqmx Python package is missing ({exc}); pip install nidaqmx") from exc
    return nidaqmx


def map_daq_error(exc: BaseException, device: str) -> DeviceError:
    """One clear ``DeviceError`` for an exception of the nidaqmx API."""
    import nidaqmx.errors as errors

    if isinstance(exc, errors.DaqNotFoundError | FileNotFoundError | OSError) and not isinstance(
            exc, errors.DaqError):
        return DeviceError(f"device {device!r}: {DRIVER_MISSING}")
    if isinstance(exc, errors.DaqNotSupportedError):
        return DeviceError(f"device {device!r}: NI-DAQmx is not supported on this platform ({exc}); "
                           "use a Windows or supported Linux machine, or backend: simulated")
    code = getattr(exc, "error_code", None)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if code in OVERFLOW_CODES:
        return BufferOverflow(f"device {device!r}: {OVERFLOW_CODES[code]}")
    if code in NOT_FOUND_CODES:
        return DeviceError(f"device {device!r}: NI device or channel not found (DAQmx {code}: {first}); "
                           "check the device name in NI MAX and the channels in the config")
    if code in TIMEOUT_CODES:
        return DeviceError(f"device {device!r}: timed out waiting for samples (DAQmx {code}); check the "
                           "start trigger and the external sample clock are connected")
    return DeviceError(f"device {device!r}: DAQmx error {code}: {first}")


class NidaqmxBackend(DaqBackend):
    """The real NI-DAQmx API (``nidaqmx`` 1.x).

    Parameters
    ----------
    task_factory : callable(name) -> nidaqmx.Task, optional
        Default ``nidaqmx.Task``; tests pass autospec'd tasks here (the driver boundary).
    reader_factory : callable(in_stream) -> AnalogMultiChannelReader, optional
        Default ``nidaqmx.stream_readers.AnalogMultiChannelReader``.
    read_timeout_s : float
        Timeout of one read.
    """

    model = "NI-DAQmx analog input"

    def __init__(self, *, task_factory=None, reader_factory=None, read_timeout_s: float = 2.0):
        self._task_factory = task_factory
        self._reader_factory = reader_factory
        self.read_timeout_s = float(read_timeout_s)
        self.task = None
        self.reader = None
        self._callback: Callable[[int], None] | None = None
        self._name = ""

    def configure(self, device: DaqForcePlates, samples_per_read: int) -> float:
        nidaqmx = _import_nidaqmx()
        from nidaqmx.constants import AcquisitionType, Edge, TerminalConfiguration

        self._name = device.name
        factory = self._task_factory or nidaqmx.Task
        try:
            task = factory(f"labkit-{device.name}")
        except Exception as exc:
            raise map_daq_error(exc, device.name) from exc
        self.task = task
        terminal = {"diff": TerminalConfiguration.DIFF, "rse": TerminalConfiguration.RSE,
                    "nrse": TerminalConfiguration.NRSE,
                    "pseudo_diff": TerminalConfiguration.PSEUDO_DIFF}[device.terminal_config]
        rate = float(device.rate_hz)
        buffer = math.ceil(device.buffer_s * rate / samples_per_read) * samples_per_read
        try:
            for plate in device.plates:
                for ch in plate.channels:
                    task.ai_channels.add_ai_voltage_chan(ch, terminal_config=terminal, min_val=device.min_v,
                                                         max_val=device.max_v)
            task.timing.cfg_samp_clk_timing(rate, source=device.sample_clock_source or "",
                                            sample_mode=AcquisitionType.CONTINUOUS, samps_per_chan=buffer)
            if device.start_trigger:
                edge = Edge.RISING if device.start_trigger_edge == "rising" else Edge.FALLING
                task.triggers.start_trigger.cfg_dig_edge_start_trig(device.start_trigger, trigger_edge=edge)
            actual = float(task.timing.samp_clk_rate)  # never assume the requested rate
            self.reader = (self._reader_factory
                           or nidaqmx.stream_readers.AnalogMultiChannelReader)(task.in_stream)
            task.register_every_n_samples_acquired_into_buffer_event(samples_per_read, self._on_event)
        except Exception as exc:
            self.close()
            raise map_daq_error(exc, device.name) from exc
        if abs(actual - rate) > 1e-9 * rate:
            log.warning("device %s: requested %.6f Hz, the card runs at %.9f Hz (published)", device.name,
                        rate, actual)
        return actual

    def _on_event(self, task_handle, event_type, number_of_samples, callback_data) -> int:
        if self._callback is not None:
            self._callback(int(number_of_samples))
        return 0

    def start(self, callback: Callable[[int], None]) -> None:
        self._callback = callback
        try:
            self.task.start()
        except Exception as exc:
            raise map_daq_error(exc, self._name) from exc

    def read(self, out: np.ndarray) -> None:
        try:
            self.reader.read_many_sample(out, number_of_samples_per_channel=out.shape[1],
                                         timeout=self.read_timeout_s)
        except Exception as exc:
            raise map_daq_error(exc, self._name) from exc

    def restart(self) -> None:
        try:
            self.task.stop()
            self.task.start()
        except Exception as exc:
            raise map_daq_error(exc, self._name) from exc

    def stop(self) -> None:
        if self.task is not None:
            try:
                self.task.stop()
            except Exception as exc:  # stopping a failed task: report, do not mask the first error
                log.warning("device %s: stopping the task: %s", self._name, exc)

    def close(self) -> None:
        if self.task is not None:
            try:
                self.task.close()
            finally:
                self.task = None


# ---------------------------------------------------------------------------- the driver
@dataclass
class _Block:
    run: int
    device_start: int
    volts: np.ndarray | None  # (channels, n); None: overflow
    arrival_s: float


class DaqForcePlatesSource(DeviceSource):
    """NI-DAQmx force plates published on LSL in N and N·m (see the module docstring).

    Parameters
    ----------
    device : DaqForcePlates
        The hardware-config entry.
    source_id : str
        LSL source_id of the calibrated stream (the raw one gets ``-raw``).
    backend : DaqBackend, optional
        Default: :class:`NidaqmxBackend` (``device.backend == "nidaqmx"``); the simulated
        backend must be given (it needs the athlete's loads).

    Examples
    --------
    >>> from labkit.config.hardware import load_hardware_config   # doctest: +SKIP
    >>> cfg, _ = load_hardware_config("hardware_configs/amti_trigno_qualisys.yaml")
    >>> with DaqForcePlatesSource(cfg.device("force"), cfg.source_id("force")) as plates:
    ...     plates.tare(1.0)                         # plates unloaded: zero them
    """

    def __init__(self, device: DaqForcePlates, source_id: str, *, backend: DaqBackend | None = None):
        super().__init__()
        if backend is None:
            if device.backend != "nidaqmx":
                raise ConfigError(f"device {device.name!r}: backend {device.backend!r} needs the simulated "
                                  "lab (labkit simulate) to supply the athlete")
            backend = NidaqmxBackend()
        self.device, self.backend, self.source_id = device, backend, source_id
        self.calibrations = [PlateCalibration(p) for p in device.plates]
        self.n_channels = sum(c.n_channels for c in self.calibrations)
        self.samples_per_read = max(1, round(device.read_interval_s * device.rate_hz))
        self.rate_hz = float(device.rate_hz)
        self.spec = plates_spec(device, source_id, rate_hz=self.rate_hz, model=backend.model)
        self.raw_spec = raw_spec(device, source_id, rate_hz=self.rate_hz, model=backend.model) \
            if device.publish_raw else None
        self.zero_v = np.zeros(self.n_channels)
        self._queue: queue.Queue[_Block] = queue.Queue()
        self._recent = np.full((self.n_channels, max(int(10 * self.rate_hz), 1)), np.nan)
        self._recent_n = 0
        self._raw_outlet = None
        self._run_index = 0
        self._device_index = 0
        self._restart_pending = False
        self.n_overflows = 0
        self._tare_done = device.tare_window_s is None

    # ------------------------------------------------------------------ backend side
    def _open(self) -> None:
        actual = self.backend.configure(self.device, self.samples_per_read)
        self.rate_hz = float(actual)
        self.spec = plates_spec(self.device, self.source_id, rate_hz=self.rate_hz, model=self.backend.model)
        if self.device.publish_raw:
            from labkit.lsl.streams import create_outlet

            self.raw_spec = raw_spec(self.device, self.source_id, rate_hz=self.rate_hz,
                                     model=self.backend.model)
            self._raw_outlet = create_outlet(self.raw_spec)
        self.stamper = SampleClockStamper(self.rate_hz)
        self._buffer = np.zeros((self.n_channels, self.samples_per_read), dtype=np.float64)
        # a simulated card knows the true time of each sample (ground truth for tests)
        true_time = getattr(self.backend, "true_time_s", None)
        if callable(true_time):
            self.true_time_fn = true_time

    def _on_samples(self, n: int) -> None:
        """The every-N-samples callback: read into the preallocated array and enqueue."""
        import pylsl

        if self._restart_pending or self._stop.is_set():
            return
        try:
            self.backend.read(self._buffer)
        except BufferOverflow:
            self._restart_pending = True
            self._queue.put(_Block(self._run_index, self._device_index, None, pylsl.local_clock()))
            return
        except DeviceError as exc:
            log.warning("device %s: read failed: %s", self.device.name, exc)
            return
        self._queue.put(_Block(self._run_index, self._device_index, self._buffer.copy(), pylsl.local_clock()))
        self._device_index += self._buffer.shape[1]

    def _run(self) -> None:
        import pylsl

        self.stamper.reset(not_before_s=pylsl.local_clock())
        self.backend.start(self._on_samples)
        next_stamp: float | None = None
        while not self._stop.is_set():
            try:
                block = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if block.volts is None:
                self._overflow(next_stamp)
                continue
            stamps = self.stamper.stamps(block.device_start, block.volts.shape[1], block.arrival_s)
            if self.gap_pending is not None and next_stamp is not None:
                # the new run started right after restart() was called (no start trigger
                # re-armed in between): a tighter estimate than the first block's arrival
                start = self._restart_s if self._restart_s is not None else stamps[0]
                missing = round((start - next_stamp) * self.rate_hz)
                self._skip(missing, self.gap_pending)
                self.gap_pending = None
            next_stamp = stamps[-1] + 1.0 / self.rate_hz
            self._ingest(block, stamps)

    gap_pending: str | None = None
    _restart_s: float | None = None

    def _overflow(self, next_stamp: float | None) -> None:
        self.n_overflows += 1
        self.gap_pending = "buffer overflow; task restarted"
        log.warning("device %s: buffer overflow; restarting the task", self.device.name)
        import pylsl

        self._restart_s = pylsl.local_clock()
        self.stamper.reset(not_before_s=self._restart_s)
        self.backend.restart()
        self._run_index += 1
        self._device_index = 0
        while True:  # blocks queued before the overflow belong to the old run: drop them
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._restart_pending = False

    def _ingest(self, block: _Block, stamps: np.ndarray) -> None:
        volts = block.volts.T  # (n, channels)
        n = volts.shape[0]
        self._remember(volts)
        if not self._tare_done:
            self._maybe_tare(stamps[-1])
        x = volts - self.zero_v
        loads = np.empty((n, 6 * len(self.calibrations)))
        k = 0
        for i, cal in enumerate(self.calibrations):
            loads[:, 6 * i:6 * i + 6] = cal.loads(x[:, k:k + cal.n_channels])
            k += cal.n_channels
        if self._raw_outlet is not None:
            raw = np.column_stack([volts, self._counter + np.arange(n, dtype=np.float64)])
            self._raw_outlet.push_chunk(raw, stamps.tolist())
        self._publish(loads, stamps, block.run, block.device_start)

    # ------------------------------------------------------------------ tare
    def _remember(self, volts: np.ndarray) -> None:
        n = volts.shape[0]
        cap = self._recent.shape[1]
        if n >= cap:
            self._recent[:, :] = volts[-cap:].T
        else:
            self._recent[:, :-n] = self._recent[:, n:]
            self._recent[:, -n:] = volts.T
        self._recent_n = min(self._recent_n + n, cap)

    def _maybe_tare(self, last_stamp: float) -> None:
        start, stop = self.device.tare_window_s
        if self.t_start is None or last_stamp - self.t_start < stop:
            return
        self.tare(stop - start)
        self._tare_done = True

    def tare(self, window_s: float = 1.0, *, timeout_s: float | None = None) -> np.ndarray:
        """Zero the plates with the mean volts of the last ``window_s`` (plates unloaded).

        Waits up to ``timeout_s`` (default ``window_s + 2``) for that much data. Returns the
        new zero (V per channel); later samples are published with it subtracted.
        """
        need = max(1, round(window_s * self.rate_hz))
        if need > self._recent.shape[1]:
            raise ConfigError(f"tare window_s={window_s} is longer than the 10 s kept; use <= 10 s")
        end = time.monotonic() + (window_s + 2.0 if timeout_s is None else timeout_s)
        while self._recent_n < need and time.monotonic() < end:
            time.sleep(0.01)
        if self._recent_n < need:
            raise DeviceError(f"device {self.device.name!r}: only {self._recent_n} samples for a "
                              f"{window_s} s tare; wait longer after starting")
        window = self._recent[:, -need:]
        self.zero_v = window.mean(axis=1)
        log.info("device %s: tared over %.3f s (zero %s V)", self.device.name, window_s,
                 np.array2string(self.zero_v, precision=5))
        return self.zero_v.copy()

    # ------------------------------------------------------------------ life cycle
    def _close(self) -> None:
        self.backend.stop()
        self.backend.close()
        self._raw_outlet = None

    @property
    def t_start_s(self) -> float | None:
        return self.t_start
