"""The simulated NI-DAQmx card behind the simulated lab's force plates (``driver: daqmx``).

The driver (:class:`labkit.devices.daqmx.DaqForcePlatesSource`) is the real one; only its
backend is simulated here: volts from the simulated athlete through each plate's inverse
calibration, quantised, on a sample clock, with injectable buffer overflows.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable

import numpy as np

from labkit.config.hardware import DaqForcePlates, DaqPlate, SimForcePlates
from labkit.devices.daqmx import OVERFLOW_CODES, BufferOverflow, DaqBackend, PlateCalibration
from labkit.errors import DeviceError

__all__ = ["SimulatedDaqBackend", "daq_config_for_sim", "default_calibration"]

log = logging.getLogger(__name__)


def default_calibration(kind: str, index: int = 0) -> list[list[float]]:
    """A plausible AMTI/Bertec-like 6x6 calibration (N/V, N·m/V at gain 1, excitation 1 V)
    with about 1 % cross-talk, for simulated plates (seeded by ``index``)."""
    diag = np.array([500.0, 500.0, 1000.0, 250.0, 250.0, 150.0])
    rng = np.random.default_rng(0xCA1 + index)
    cross = rng.uniform(-0.01, 0.01, (6, 6)) * diag[:, None]
    np.fill_diagonal(cross, 0.0)
    return (np.diag(diag) + cross).round(6).tolist()


def daq_config_for_sim(device: SimForcePlates) -> DaqForcePlates:
    """The NI configuration the simulated lab's plates run through (``driver: daqmx``):
    channels ``ai0..``, default calibrations, the same rate and noise."""
    plates = []
    k = 0
    for i, p in enumerate(device.plates):
        if p.kind == "kistler":
            plates.append(DaqPlate(name=p.name, kind="kistler", channels=[f"ai{k + j}" for j in range(8)],
                                   a_m=0.12, b_m=0.2,
                                   sensitivity_n_v=[250, 250, 250, 250, 500, 500, 500, 500],
                                   origin_m=p.origin_m, width_m=p.width_m, length_m=p.length_m))
            k += 8
        else:
            plates.append(DaqPlate(name=p.name, kind=p.kind, channels=[f"ai{k + j}" for j in range(6)],
                                   calibration=default_calibration(p.kind, i), origin_m=p.origin_m,
                                   width_m=p.width_m, length_m=p.length_m))
            k += 6
    return DaqForcePlates(kind="daqmx_force_plates", name=device.name, backend="simulated",
                          rate_hz=device.rate_hz, plates=plates, noise_n=device.noise_n,
                          faults=device.faults)



class SimulatedDaqBackend(DaqBackend):
    """A simulated NI card: volts from the simulated athlete through each plate's inverse
    calibration, 16-bit quantised over ``[min_v, max_v]``, acquired on a sample clock in
    blocks of ``samples_per_read`` with a ring buffer of ``buffer_s``.

    Parameters
    ----------
    loads_fn : callable(index, t_s) -> (n, 6 * plates)
        Calibrated loads (N, N·m) at global sample indices and true times, e.g.
        :meth:`labkit.devices.sim.producers.ForcePlateProducer.produce`.
    offsets_v : array_like (channels,), optional
        Amplifier zero offsets added to the volts (tare removes them).
    bits : int
        Converter resolution (0: no quantisation).

    Notes
    -----
    The sample clock runs at the rate an NI card would coerce to (100 MHz timebase
    divided by an integer) times ``1 + rate_error_ppm * 1e-6`` of the device's faults.
    :meth:`inject_overflow` makes the next read fail with an overflow (after the samples
    in the buffer were overwritten) so the driver's gap-and-restart path runs for real.
    """

    model = "simulated NI-DAQmx card"
    TIMEBASE_HZ = 100e6

    def __init__(self, loads_fn: Callable[[np.ndarray, np.ndarray], np.ndarray], *, offsets_v=None,
                 bits: int = 16):
        import pylsl

        self._clock = pylsl.local_clock
        self.loads_fn = loads_fn
        self.offsets_v = offsets_v
        self.bits = int(bits)
        self._cal: list[PlateCalibration] = []
        self._callback: Callable[[int], None] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._overflow_pending = 0.0
        self.run = -1
        self.run_starts: list[float] = []  # true time of sample 0 of each run
        self.t0: float | None = None

    def configure(self, device: DaqForcePlates, samples_per_read: int) -> float:
        self.device = device
        self._cal = [PlateCalibration(p) for p in device.plates]
        self.n_channels = sum(c.n_channels for c in self._cal)
        self.n = int(samples_per_read)
        self.nominal_hz = self.TIMEBASE_HZ / round(self.TIMEBASE_HZ / device.rate_hz)
        self.actual_hz = self.nominal_hz * (1.0 + device.faults.rate_error_ppm * 1e-6)
        self.capacity = math.ceil(device.buffer_s * device.rate_hz / self.n) * self.n
        self._buf = np.zeros((self.n_channels, self.capacity))
        self.lsb_v = (device.max_v - device.min_v) / (2 ** self.bits - 1) if self.bits else 0.0
        return self.nominal_hz

    # truth ------------------------------------------------------------------
    def global_index(self, run: int, index) -> np.ndarray:
        """Index on the continuous simulated timeline (addresses the seeded noise)."""
        offset = round((self.run_starts[run] - self.t0) * self.actual_hz)
        return offset + np.asarray(index, dtype=np.int64)

    def true_time_s(self, run: int, index) -> np.ndarray:
        """True time (local LSL clock) of sample ``index`` of acquisition run ``run``."""
        g = self.global_index(run, index)
        return self.t0 + g / self.actual_hz

    def true_loads(self, run: int, index) -> np.ndarray:
        """The loads the athlete put on the plates at those samples (N, N·m)."""
        idx = np.asarray(index, dtype=np.int64)
        return self.loads_fn(self.global_index(run, idx), self.true_time_s(run, idx))

    def volts_for(self, loads: np.ndarray) -> np.ndarray:
        """Loads (n, 6 * plates) -> quantised volts (n, channels)."""
        parts = [cal.volts(loads[:, 6 * i:6 * i + 6]) for i, cal in enumerate(self._cal)]
        v = np.hstack(parts)
        if self.offsets_v is not None:
            v = v + np.asarray(self.offsets_v, dtype=np.float64)
        if self.bits:
            lo, hi = self.device.min_v, self.device.max_v
            v = lo + np.rint((np.clip(v, lo, hi) - lo) / self.lsb_v) * self.lsb_v
        return v

    # acquisition -------------------------------------------------------------
    def start(self, callback: Callable[[int], None]) -> None:
        self._callback = callback
        self._begin_run()
        self._stop.clear()
        self._thread = threading.Thread(target=self._acquire, name="sim-daq", daemon=True)
        self._thread.start()

    def _begin_run(self) -> None:
        with self._lock:
            now = self._clock()
            if self.t0 is None:
                self.t0 = now
            else:  # the card restarts on a whole tick of the simulated timeline
                now = self.t0 + math.ceil((now - self.t0) * self.actual_hz) / self.actual_hz
            self.run += 1
            self.run_starts.append(now)
            self._written = 0  # samples acquired in this run
            self._read = 0

    def inject_overflow(self) -> None:
        """The reader falls behind: the next read reports an overflow."""
        with self._lock:
            self._overflow_pending = 1

    def _acquire(self) -> None:
        """Deliver block after block at its due time; the volts of the next block are made
        ahead (they are deterministic), so delivery latency is only the thread wake-up,
        as with hardware that fills its buffer by DMA."""
        ahead: tuple[int, int, np.ndarray] | None = None
        while not self._stop.is_set():
            with self._lock:
                run, start, i0 = self.run, self.run_starts[-1], self._written
            if ahead is None or ahead[:2] != (run, i0):
                ahead = (run, i0, self.volts_for(self.true_loads(run, np.arange(i0, i0 + self.n))))
            wait = start + (i0 + self.n) / self.actual_hz - self._clock()
            if wait > 0:
                if self._stop.wait(wait):
                    return
                continue  # re-check (a restart may have happened meanwhile)
            with self._lock:
                if run != self.run or i0 != self._written:
                    continue
                pos = i0 % self.capacity
                self._buf[:, pos:pos + self.n] = ahead[2].T
                self._written += self.n
            ahead = None
            if self._callback is not None:
                self._callback(self.n)

    def read(self, out: np.ndarray) -> None:
        n = out.shape[1]
        with self._lock:
            if self._overflow_pending or self._written - self._read > self.capacity:
                self._overflow_pending = 0
                raise BufferOverflow(f"device {self.device.name!r}: {OVERFLOW_CODES[-200279]}")
            if self._written - self._read < n:
                raise DeviceError(f"device {self.device.name!r}: timed out waiting for samples")
            pos = self._read % self.capacity
            out[:, :] = self._buf[:, pos:pos + n]
            self._read += n

    def restart(self) -> None:
        self._begin_run()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def close(self) -> None:
        self.stop()
