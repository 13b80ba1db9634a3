"""Simulated LSL sources: a thread that paces a producer in real time and publishes it.

Clock model (all times in seconds on the local LSL clock, ``pylsl.local_clock``, which is
the session clock of a recording on this machine):

* global sample ``g = 0, 1, 2, ...`` is taken at the TRUE time
  ``t_true(g) = t_start + g / (rate_hz * (1 + rate_error_ppm * 1e-6))``;
* it is stamped with the device clock
  ``stamp(g) = t_true(g) + clock_offset_s + k * restart_clock_jump_s + jitter_s * z(g)``
  where ``k`` is the number of restarts before ``g`` and ``z`` is seeded standard normal
  noise addressed by ``g``;
* its ``counter`` channel holds ``g - g_restart`` (0 after each restart);
* dropouts ``(start_s, duration_s)`` (relative to ``t_start``): samples not sent, the
  counter skips; outages: the outlet is destroyed for the window and recreated with the
  same source_id (the counter skips too); a restart recreates the outlet at once and the
  counter starts again at 0.

:meth:`SimulatedSource.true_time_s` and :meth:`SimulatedSource.true_times_for_counter`
give the true time of any sample, so tests can check synchronisation against truth;
:attr:`SimulatedSource.sent_runs` lists the contiguous runs actually pushed.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pylsl

from labkit.config.hardware import SourceFaults
from labkit.devices.sim.athlete import IndexedNoise
from labkit.devices.sim.producers import Producer
from labkit.errors import DeviceError
from labkit.lsl.streams import create_outlet
from labkit.spec import ChannelSpec, StreamSpec

__all__ = ["SentRun", "SimulatedSource", "TruthSource", "truth_spec"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentRun:
    """Samples ``counter_start <= counter < counter_stop`` of restart segment ``segment``
    were pushed, contiguously (global indices start at ``global_start``)."""

    segment: int
    counter_start: int
    counter_stop: int
    global_start: int


class SimulatedSource:
    """A simulated device publishing one LSL stream in real time, with injectable faults.

    Parameters
    ----------
    producer : Producer
        Makes the calibrated values (its ``spec`` is published; last channel = counter).
    faults : SourceFaults, optional
        Clock offset, rate error, jitter, dropouts, outages, restart (times relative to
        the start of the source).
    seed : int
        Seed of the stamp jitter.
    chunk_interval_s : float
        How often a chunk is pushed (real time).

    Notes
    -----
    Faults can also be injected at run time with :meth:`drop`, :meth:`outage` and
    :meth:`restart`.
    """

    def __init__(self, producer: Producer, faults: SourceFaults | None = None, *, seed: int = 0,
                 chunk_interval_s: float = 0.01):
        self.producer = producer
        self.spec: StreamSpec = producer.spec
        self.faults = faults or SourceFaults()
        self.rate_hz = float(producer.rate_hz)
        self.actual_rate_hz = self.rate_hz * (1.0 + self.faults.rate_error_ppm * 1e-6)
        self.chunk_interval_s = float(chunk_interval_s)
        self._jitter = IndexedNoise(seed, 0x5EED, 1)
        self._lock = threading.Lock()
        self._dropouts = [(float(s), float(s) + float(d)) for s, d in self.faults.dropouts]
        self._outages = [(float(s), float(s) + float(d)) for s, d in self.faults.outages]
        self._restart_rel_s: list[float] = [] if self.faults.restart_at_s is None else \
            [float(self.faults.restart_at_s)]
        self._restart_g: list[int] = []  # global index of the first sample of each new segment
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._outlet: pylsl.StreamOutlet | None = None
        self._outlet_segment = -1
        self.t_start: float | None = None
        self.n_generated = 0
        self.n_sent = 0
        self.sent_runs: list[SentRun] = []
        self.error: BaseException | None = None

    # ------------------------------------------------------------------ truth
    def true_time_s(self, global_index) -> np.ndarray:
        """True time (local LSL clock, s) of global sample indices."""
        if self.t_start is None:
            raise DeviceError(f"source {self.spec.name!r} has not started; call start() first")
        return self.t_start + np.asarray(global_index, dtype=np.float64) / self.actual_rate_hz

    def global_index(self, counter, segment: int = 0) -> np.ndarray:
        """Global sample index of ``counter`` values in restart segment ``segment`` (0 = before
        any restart)."""
        base = 0 if segment == 0 else self._restart_g[segment - 1]
        return np.asarray(counter, dtype=np.int64) + base

    def true_times_for_counter(self, counter, segment: int = 0) -> np.ndarray:
        """True times (local LSL clock, s) of samples by their ``counter`` value.

        Parameters
        ----------
        counter : array of int
            Values of the stream's counter channel.
        segment : int
            Restart segment the counters belong to (0 before the first restart, 1 after).
        """
        return self.true_time_s(self.global_index(counter, segment))

    def stamps_for_global(self, global_index) -> np.ndarray:
        """LSL time stamps the source gives (gave) these global samples."""
        g = np.asarray(global_index, dtype=np.int64)
        t = self.true_time_s(g)
        seg = np.searchsorted(np.asarray(self._restart_g, dtype=np.int64), g, side="right")
        stamps = t + self.faults.clock_offset_s + seg * self.faults.restart_clock_jump_s
        if self.faults.jitter_s and g.size:
            lo, hi = int(g.min()), int(g.max())
            z = self._jitter.take(lo, hi + 1)[g - lo, 0]
            stamps = stamps + self.faults.jitter_s * z
        return stamps

    @property
    def restarts(self) -> list[int]:
        """Global index of the first sample after each restart."""
        return list(self._restart_g)

    # ------------------------------------------------------------------ faults at run time
    def _now_rel(self) -> float:
        if self.t_start is None:
            raise DeviceError(f"source {self.spec.name!r} has not started; call start() first")
        return pylsl.local_clock() - self.t_start

    def drop(self, duration_s: float, *, at_s: float | None = None) -> None:
        """Send no samples for ``duration_s`` from ``at_s`` (relative to the start; default now)."""
        s = self._now_rel() if at_s is None else float(at_s)
        with self._lock:
            self._dropouts.append((s, s + float(duration_s)))

    def outage(self, duration_s: float, *, at_s: float | None = None) -> None:
        """Destroy the outlet for ``duration_s`` from ``at_s`` (default now), then recreate it."""
        s = self._now_rel() if at_s is None else float(at_s)
        with self._lock:
            self._outages.append((s, s + float(duration_s)))

    def restart(self, *, at_s: float | None = None) -> None:
        """Restart the source at ``at_s`` (relative to the start; default now)."""
        s = self._now_rel() if at_s is None else float(at_s)
        with self._lock:
            bisect.insort(self._restart_rel_s, s)

    # ------------------------------------------------------------------ running
    def start(self) -> SimulatedSource:
        """Create the outlet and start publishing (returns self)."""
        if self._thread is not None:
            return self
        self._ensure_outlet(0)
        self.t_start = pylsl.local_clock()
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.spec.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop publishing and destroy the outlet."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._outlet = None

    def __enter__(self) -> SimulatedSource:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def outlet_alive(self) -> bool:
        return self._outlet is not None

    def _ensure_outlet(self, segment: int) -> None:
        if self._outlet is None or self._outlet_segment != segment:
            self._outlet = None
            self._outlet = create_outlet(self.spec)
            self._outlet_segment = segment
            log.debug("source %s: outlet (segment %d) created", self.spec.source_id, segment)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                t_loop = time.monotonic()
                self._step(pylsl.local_clock())
                left = self.chunk_interval_s - (time.monotonic() - t_loop)
                if left > 0:
                    self._stop.wait(left)
        except BaseException as exc:  # keep it for the lab to report
            self.error = exc
            log.exception("simulated source %s failed", self.spec.name)

    def _segment_bounds(self, g1: int) -> None:
        """Turn restart times into global indices up to ``g1``."""
        with self._lock:
            rel = list(self._restart_rel_s)
        while len(self._restart_g) < len(rel):
            g = math.ceil(rel[len(self._restart_g)] * self.actual_rate_hz - 1e-9)
            if g >= g1:
                break
            floor = max(self.n_generated, self._restart_g[-1] + 1 if self._restart_g else 1)
            self._restart_g.append(max(g, floor))

    def _step(self, now: float) -> None:
        g0 = self.n_generated
        g1 = math.floor((now - self.t_start) * self.actual_rate_hz) + 1
        if g1 <= g0:
            return
        self._segment_bounds(g1)
        g = np.arange(g0, g1, dtype=np.int64)
        t = self.true_time_s(g)
        rel = g / self.actual_rate_hz  # exact, unlike t - t_start
        with self._lock:
            drops, outs = list(self._dropouts), list(self._outages)
        dropped = np.zeros(g.size, bool)
        out = np.zeros(g.size, bool)
        for a, b in drops:
            dropped |= (rel >= a) & (rel < b)
        for a, b in outs:
            out |= (rel >= a) & (rel < b)
        rg = np.asarray(self._restart_g, dtype=np.int64)
        seg = np.searchsorted(rg, g, side="right")
        data = np.asarray(self.producer.produce(g, t), dtype=np.float64)
        counter = g - np.concatenate([[0], rg])[seg]
        stamps = self.stamps_for_global(g)
        values = np.column_stack([data, counter.astype(np.float64)])
        # runs of equal state: (segment, outage, dropped)
        state = seg * 4 + out * 2 + dropped
        cuts = np.flatnonzero(np.diff(state)) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, g.size], strict=True):
            s = int(seg[lo])
            if out[lo]:
                if self._outlet is not None:
                    log.info("source %s: outage (outlet destroyed)", self.spec.source_id)
                self._outlet = None
                continue
            self._ensure_outlet(s)
            if dropped[lo]:
                continue
            self._outlet.push_chunk(values[lo:hi], stamps[lo:hi].tolist())
            c0, c1 = int(counter[lo]), int(counter[hi - 1]) + 1
            last = self.sent_runs[-1] if self.sent_runs else None
            if last is not None and last.segment == s and last.counter_stop == c0:
                self.sent_runs[-1] = SentRun(s, last.counter_start, c1, last.global_start)
            else:
                self.sent_runs.append(SentRun(s, c0, c1, int(g[lo])))
            self.n_sent += hi - lo
        self.n_generated = g1


def truth_spec(name: str, source_id: str) -> StreamSpec:
    """The ground-truth stream: irregular, one string channel of JSON objects."""
    return StreamSpec(name, "ground_truth", [ChannelSpec("truth", "", "ground_truth")], 0.0, "string",
                      source_id=source_id,
                      device={"manufacturer": "labkit", "model": "simulated athlete ground truth",
                              "serial": source_id})


class TruthSource:
    """Publishes ground-truth JSON objects (irregular string stream, type ``ground_truth``).

    Every message gets a ``seq`` number (0, 1, ...) so loss is detectable.
    """

    def __init__(self, name: str, source_id: str):
        self.spec = truth_spec(name, source_id)
        self._outlet: pylsl.StreamOutlet | None = None
        self._seq = 0
        self._lock = threading.Lock()
        self.published: list[tuple[float, dict]] = []
        self.listeners: list[Callable[[dict], None]] = []

    def start(self) -> TruthSource:
        if self._outlet is None:
            self._outlet = create_outlet(self.spec)
        return self

    def stop(self) -> None:
        self._outlet = None

    def publish(self, message: dict, stamp_s: float) -> dict:
        """Push one JSON object stamped ``stamp_s`` (session clock); returns it with ``seq``."""
        with self._lock:
            msg = {"seq": self._seq, **message}
            self._seq += 1
            text = json.dumps(msg, separators=(",", ":"), allow_nan=False)
            if len(text.encode()) > self.spec.max_string_bytes:
                log.warning("ground truth message of %d bytes exceeds %d", len(text),
                            self.spec.max_string_bytes)
            if self._outlet is not None:
                self._outlet.push_sample([text], float(stamp_s))
            self.published.append((float(stamp_s), msg))
        for fn in self.listeners:
            fn(msg)
        return msg
