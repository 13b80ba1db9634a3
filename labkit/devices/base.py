"""The abstract device source: what every hardware driver shares.

A driver (NI-DAQmx plates, Trigno EMG, mocap adopted from LSL) reads blocks of samples
from its binding (a thin layer over the vendor API or protocol), converts them to SI
units and publishes them as one LSL stream with labkit's metadata and a trailing
``counter`` channel. This module holds the parts that do not depend on the device:

* :class:`SampleClockStamper` -- time stamps of a hardware-timed stream from its sample
  count (the device clock), anchored to the local LSL clock at the lowest observed
  delivery latency;
* :class:`DeviceSource` -- thread life cycle, the outlet, the counter (which skips over
  samples the device lost, so the recorder sees a gap), counter -> device-sample
  bookkeeping (:attr:`DeviceSource.runs`) and, for simulated twins, the true sample
  times (:meth:`DeviceSource.true_times_for_counter`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labkit.errors import DeviceError
from labkit.spec import StreamSpec

__all__ = ["CounterRun", "DeviceSource", "SampleClockStamper"]

log = logging.getLogger(__name__)


class SampleClockStamper:
    """Time stamps for a stream whose samples are timed by the device's sample clock.

    Sample ``i`` of an acquisition run is stamped ``anchor + i / rate_hz``. A block that
    ends with sample ``i1 - 1`` cannot arrive before that sample was taken, so every
    arrival gives an upper bound ``arrival_s - i1 / rate_hz`` of the run's start; the
    anchor is the smallest bound seen (the block delivered with the least latency).
    Stamps therefore never run ahead of the true sample times, and the error is the
    minimum delivery latency (typically well below a millisecond on loopback).

    Parameters
    ----------
    rate_hz : float
        The actual sample-clock rate read back from the device.
    """

    def __init__(self, rate_hz: float):
        if not rate_hz > 0:
            raise DeviceError(f"sample clock rate {rate_hz!r} Hz is invalid; the device must report > 0")
        self.rate_hz = float(rate_hz)
        self.anchor_s: float | None = None
        self.floor_s = -np.inf

    def reset(self, *, not_before_s: float | None = None) -> None:
        """A new acquisition run (the device restarted its sample clock).

        ``not_before_s``: local time before the run was started (its first sample cannot
        be earlier); bounds the anchor while only late blocks have been seen.
        """
        self.anchor_s = None
        self.floor_s = -np.inf if not_before_s is None else float(not_before_s)

    def stamps(self, first_index: int, n: int, arrival_s: float) -> np.ndarray:
        """Stamps of samples ``first_index .. first_index + n - 1`` of the run, delivered at
        ``arrival_s`` (local LSL clock)."""
        bound = float(arrival_s) - (first_index + n) / self.rate_hz
        if self.anchor_s is None or bound < self.anchor_s:
            self.anchor_s = max(bound, self.floor_s)
        return self.anchor_s + (first_index + np.arange(n, dtype=np.float64)) / self.rate_hz


@dataclass(frozen=True)
class CounterRun:
    """Published ``counter`` values ``counter_start .. counter_start + n - 1`` are device
    samples ``device_start ..`` of acquisition run ``run`` (0, then 1 after a restart...)."""

    counter_start: int
    n: int
    run: int
    device_start: int


class DeviceSource:
    """Base class of the hardware drivers: one published stream, a thread, a counter.

    Subclasses set :attr:`spec` (last channel ``counter``) and :attr:`rate_hz`, implement
    :meth:`_open`, :meth:`_run` (loop until ``self._stop`` is set) and :meth:`_close`, and
    call :meth:`_publish` with converted blocks.

    Attributes
    ----------
    spec : StreamSpec
    error : BaseException or None
        Set when the driver thread failed (see :meth:`check`).
    runs : list of CounterRun
        Which device samples every published counter value holds.
    gaps : list of (counter, missing_samples, reason)
        Samples the device lost (buffer overflow, disconnect); the counter skips them.
    true_time_fn : callable(run, device_index) -> times, optional
        Set by simulated twins so tests can compare with the truth.
    """

    spec: StreamSpec
    rate_hz: float

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.runs: list[CounterRun] = []
        self.gaps: list[tuple[int, int, str]] = []
        self.n_sent = 0
        self.t_start: float | None = None
        self.true_time_fn: Callable[[int, np.ndarray], np.ndarray] | None = None
        self.producer = None  # simulated twins: the producer of the true values
        self._counter = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outlet = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ life cycle
    def start(self) -> DeviceSource:
        """Open the device, create the outlet and start the driver thread (returns self)."""
        if self._thread is not None:
            return self
        import pylsl

        from labkit.lsl.streams import create_outlet

        self._open()
        self._outlet = create_outlet(self.spec)
        self.t_start = pylsl.local_clock()
        self._thread = threading.Thread(target=self._guarded, name=f"labkit-{self.spec.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread, release the device and destroy the outlet."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10.0)
        try:
            self._close()
        finally:
            self._outlet = None

    def __enter__(self) -> DeviceSource:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def check(self) -> None:
        """Raise ``DeviceError`` if the driver thread failed."""
        if self.error is not None:
            raise DeviceError(f"device {self.spec.name!r} failed: {self.error}") from self.error

    def _guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc
            log.exception("device %s failed", self.spec.name)

    # ------------------------------------------------------------------ subclass hooks
    def _open(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ publishing
    def _skip(self, missing: int, reason: str) -> None:
        """The device lost ``missing`` samples: the counter skips them (a visible gap)."""
        missing = max(int(missing), 0)
        self.gaps.append((self._counter, missing, reason))
        log.warning("device %s: %s; %d samples lost at counter %d", self.spec.name, reason, missing,
                    self._counter)
        self._counter += missing

    def _publish(self, values: np.ndarray, stamps: np.ndarray, run: int, device_start: int) -> None:
        """Push converted samples (n, channels without counter) with their stamps."""
        n = values.shape[0]
        if n == 0:
            return
        counter = self._counter + np.arange(n, dtype=np.float64)
        block = np.empty((n, values.shape[1] + 1), dtype=np.float64)
        block[:, :-1] = values
        block[:, -1] = counter
        if self._outlet is not None:
            self._outlet.push_chunk(block, stamps.tolist())
        with self._lock:
            last = self.runs[-1] if self.runs else None
            if (last is not None and last.run == run and last.counter_start + last.n == self._counter
                    and last.device_start + last.n == device_start):
                self.runs[-1] = CounterRun(last.counter_start, last.n + n, run, last.device_start)
            else:
                self.runs.append(CounterRun(self._counter, n, run, device_start))
        self._counter += n
        self.n_sent += n

    # ------------------------------------------------------------------ truth (simulated twins)
    def device_index(self, counter) -> tuple[np.ndarray, np.ndarray]:
        """(run, device sample index) of published ``counter`` values."""
        c = np.asarray(counter, dtype=np.int64)
        with self._lock:
            runs = list(self.runs)
        if not runs:
            raise DeviceError(f"device {self.spec.name!r} has published nothing yet")
        starts = np.array([r.counter_start for r in runs], dtype=np.int64)
        k = np.clip(np.searchsorted(starts, c, side="right") - 1, 0, len(runs) - 1)
        run = np.array([r.run for r in runs])[k]
        dev = np.array([r.device_start for r in runs])[k] + (c - starts[k])
        return run, dev

    def global_index(self, counter, segment: int = 0) -> np.ndarray:
        """Device sample index of ``counter`` values (``segment`` is accepted for the API of
        :class:`labkit.devices.sim.sources.SimulatedSource`; counters never restart here)."""
        return self.device_index(counter)[1]

    def true_times_for_counter(self, counter, segment: int = 0) -> np.ndarray:
        """True times (local LSL clock) of published samples; simulated twins only."""
        if self.true_time_fn is None:
            raise DeviceError(f"device {self.spec.name!r} is real hardware: true times are unknown")
        run, dev = self.device_index(counter)
        out = np.empty(run.shape, dtype=np.float64)
        for r in np.unique(run):
            sel = run == r
            out[sel] = self.true_time_fn(int(r), dev[sel])
        return out
