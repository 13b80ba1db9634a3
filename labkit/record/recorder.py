"""The recorder: LSL inlets -> crash-safe session file, with live status.

One thread per stream pulls chunks into a preallocated buffer and hands copies to the
:class:`~labkit.session.writer.SessionWriter`, measuring the clock offset (with its
round-trip time) every ``clock_offset_interval_s``. A flusher thread commits at least
every ``flush_interval_s``; a discovery thread adds late joiners (marker streams and
optional devices) while recording. A stream that stops delivering is marked with a
``stream_stalled`` event (and ``stream_resumed`` when it comes back; inlets reconnect
by themselves), and the others keep recording.

A failed write (a full disk) is different: the writer stops at the first one, so every
thread stops with it; :attr:`Recorder.failure` holds the one-line error and
:meth:`Recorder.stop` raises it (a :class:`~labkit.errors.SessionWriteError`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pylsl

from labkit.config.hardware import HardwareConfig, LslDevice
from labkit.errors import DeviceError, SessionError, SessionWriteError
from labkit.lsl.streams import clock_offset, open_inlet, spec_from_info
from labkit.session import format as fmt
from labkit.session.writer import SessionWriter, warn_if_low_space
from labkit.spec import StreamSpec, unique_stream_name

log = logging.getLogger(__name__)

_PULL_TIMEOUT_S = 0.05
_STALL_AFTER_S = 1.0
_RATE_WINDOW_S = 5.0
#: Width of one string sample (cue and marker text) in the session.
MARKER_BYTES = 4096


@dataclass
class StreamStatus:
    """Live state of one recorded stream."""

    name: str
    type: str
    source_id: str
    nominal_rate_hz: float
    samples: int = 0
    measured_rate_hz: float = float("nan")
    gaps: int = 0
    missing_samples: int = 0
    lag_s: float = float("nan")
    stalled: bool = False
    last_counter: int | None = None
    history: deque = field(default_factory=lambda: deque(maxlen=256), repr=False)


def _session_name(raw: str, taken: set[str]) -> str:
    return unique_stream_name(raw, taken)


class _InletWorker(threading.Thread):
    def __init__(self, recorder: Recorder, name: str, spec: StreamSpec, inlet: pylsl.StreamInlet
                 ) -> None:
        super().__init__(name=f"labkit-inlet-{name}", daemon=True)
        self.recorder = recorder
        self.name_in_session = name
        self.spec = spec
        self.inlet = inlet
        self.status = StreamStatus(name, spec.type, spec.source_id, spec.nominal_rate_hz)
        types = [c.type for c in spec.channels]
        self.counter_col = types.index("counter") if "counter" in types and not spec.is_string else None
        rate = spec.nominal_rate_hz
        self.max_samples = int(max(1024, rate * 1.0)) if rate > 0 else 1024
        self.buffer = (None if spec.is_string else
                       np.empty((self.max_samples, len(spec.channels)), dtype=np.dtype(spec.dtype)))
        self.offset_s = 0.0
        self.error: BaseException | None = None
        self._failed_taps: set[int] = set()
        # cue and marker streams are mirrored into /events (the stream keeps the full text)
        self.mirror_events = spec.is_string and spec.type.lower() == "markers"

    def run(self) -> None:
        try:
            self._loop()
        except SessionWriteError as exc:  # the file cannot take more: everything stops
            self.recorder._write_failed(exc)
        except BaseException as exc:  # keep the others recording; report it in status
            self.error = exc
            log.exception("stream %s: recording thread failed", self.name_in_session)
            self.recorder._event("stream_failed", f"{self.name_in_session}: {exc}")

    def _fit_strings(self, data: np.ndarray, stamps: Sequence[float]) -> np.ndarray:
        """Truncate string samples longer than the session holds, saying so in an event."""
        limit = self.spec.max_string_bytes
        for (i, j), value in np.ndenumerate(data):
            raw = str(value).encode("utf-8")
            if len(raw) > limit:
                data[i, j] = raw[:limit].decode("utf-8", "ignore")
                self.recorder._event("marker_truncated", f"{self.name_in_session} at {stamps[i]:.6f}: "
                                     f"{len(raw)} bytes, kept the first {limit}")
        return data

    def _mirror(self, text: str, time_s: float) -> None:
        label, value = text, ""
        if len(text.encode("utf-8")) > 128:
            label = "marker"
            value = text.encode("utf-8")[:1000].decode("utf-8", "ignore")
        self.recorder.writer.add_event(time_s, label, value, self.name_in_session[:100])

    def _measure_clock(self) -> None:
        try:
            co = clock_offset(self.inlet, timeout_s=1.0)
        except (TimeoutError, DeviceError, pylsl.util.LostError) as exc:
            log.warning("stream %s: no clock offset (%s)", self.name_in_session, exc)
            return
        self.offset_s = co.offset_s
        self.recorder.writer.add_clock_offset(self.name_in_session, co.collection_time_s,
                                              co.offset_s, co.rtt_s)

    def _pull(self, timeout: float) -> int:
        if self.buffer is None:
            samples, stamps = self.inlet.pull_chunk(timeout=timeout, max_samples=self.max_samples)
            data = np.array(samples, dtype=object).reshape(len(stamps), len(self.spec.channels))
            data = self._fit_strings(data, stamps)
        else:
            _, stamps = self.inlet.pull_chunk(timeout=timeout, max_samples=self.max_samples,
                                              dest_obj=self.buffer)
            data = self.buffer[: len(stamps)].copy()
        n = len(stamps)
        if n == 0:
            return 0
        stamps = np.asarray(stamps, dtype=np.float64)
        self.recorder.writer.append(self.name_in_session, data, stamps)
        for tap in self.recorder._taps.get(self.name_in_session, ()):
            try:
                tap(data, stamps + self.offset_s)
            except Exception:  # a display's bug must never stop the recording of the stream
                if id(tap) not in self._failed_taps:  # one traceback per tap, not one per chunk
                    self._failed_taps.add(id(tap))
                    log.exception("stream %s: a live tap failed; recording goes on",
                                  self.name_in_session)
        if self.mirror_events:
            for value, stamp in zip(data[:, 0], stamps, strict=True):
                self._mirror(str(value), float(stamp) + self.offset_s)
        st = self.status
        st.samples += n
        if self.counter_col is not None:
            counter = np.rint(data[:, self.counter_col].astype(np.float64)).astype(np.int64)
            steps = np.diff(counter, prepend=counter[0] - 1 if st.last_counter is None
                            else st.last_counter)
            jumps = steps[steps != 1]
            st.gaps += len(jumps)
            st.missing_samples += int(np.sum(np.clip(jumps - 1, 0, None)))
            st.last_counter = int(counter[-1])
        now = pylsl.local_clock()
        # rate over the source's own stamps: arrival bursts (backlog, network) do not skew it
        last_stamp = float(stamps[-1])
        st.history.append((last_stamp, st.samples))
        while st.history and last_stamp - st.history[0][0] > _RATE_WINDOW_S:
            st.history.popleft()
        if len(st.history) >= 2 and st.history[-1][0] > st.history[0][0]:
            (t0, n0), (t1, n1) = st.history[0], st.history[-1]
            st.measured_rate_hz = (n1 - n0) / (t1 - t0)
        st.lag_s = now - (float(stamps[-1]) + self.offset_s)
        return n

    def _loop(self) -> None:
        stop = self.recorder._stop
        interval = self.recorder.config.recording.clock_offset_interval_s
        self._measure_clock()
        last_clock = time.monotonic()
        last_data = time.monotonic()
        while not stop.is_set():
            if self._pull(_PULL_TIMEOUT_S):
                last_data = time.monotonic()
                if self.status.stalled:
                    self.status.stalled = False
                    self.recorder._event("stream_resumed", self.name_in_session)
            elif not self.status.stalled and time.monotonic() - last_data > self._stall_after():
                self.status.stalled = True
                self.recorder._event("stream_stalled", self.name_in_session)
            if time.monotonic() - last_clock >= interval:
                self._measure_clock()
                last_clock = time.monotonic()
        # drain what has arrived
        while self._pull(0.0):
            pass

    def _stall_after(self) -> float:
        if self.spec.nominal_rate_hz <= 0:
            return float("inf")  # irregular streams are silent by nature
        return _STALL_AFTER_S


class Recorder:
    """Record the streams of a hardware config into a session file.

    Parameters
    ----------
    config : HardwareConfig
        Which streams to wait for (``recording.streams``) and how to record.
    out_path : str or Path
        Session file to create.
    config_text, protocol_text : str
        Exact texts stored in the session.
    subject, operator, protocol, notes : str
        Session metadata.
    overwrite : bool
        Replace an existing output file.
    resume : bool
        Append to an existing session (``SessionWriter.reopen``).
    expected_duration_s : float, optional
        How long the recording will last (``labkit record --duration``; a protocol run's
        estimate). :meth:`start` warns (:class:`~labkit.errors.LowDiskSpaceWarning`) when
        the disk's free space cannot hold that much of the streams found.

    Examples
    --------
    >>> from labkit.config.hardware import load_hardware_config  # doctest: +SKIP
    >>> config, text = load_hardware_config()                     # doctest: +SKIP
    >>> with Recorder(config, "s.h5", config_text=text) as rec:   # doctest: +SKIP
    ...     time.sleep(10)
    """

    def __init__(self, config: HardwareConfig, out_path: str | os.PathLike[str], *,
                 config_text: str = "", protocol_text: str = "", subject: str = "",
                 operator: str = "", protocol: str = "", notes: str = "",
                 overwrite: bool = False, resume: bool = False,
                 expected_duration_s: float | None = None) -> None:
        self.config = config
        self.out_path = Path(out_path)
        self._meta = dict(subject=subject, operator=operator, protocol=protocol, notes=notes,
                          hardware_config=config_text, protocol_text=protocol_text)
        self._overwrite = overwrite
        self._resume = resume
        self._expected_duration_s = expected_duration_s
        self._failure: SessionWriteError | None = None
        self._taps: dict[str, list[Any]] = {}
        self._stop = threading.Event()
        self._workers: dict[str, _InletWorker] = {}
        self._known_sources: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.writer: SessionWriter | None = None
        self._resolver: pylsl.ContinuousResolver | None = None
        self.started_at: float | None = None

    # -- discovery -----------------------------------------------------------------------
    def _matches(self, info: pylsl.StreamInfo, device: Any) -> bool:
        if isinstance(device, LslDevice):
            m = device.match
            return ((m.name is None or info.name() == m.name)
                    and (m.type is None or info.type() == m.type)
                    and (m.source_id is None or info.source_id() == m.source_id))
        return info.source_id() == self.config.source_id(device.name)

    def _visible(self) -> list[pylsl.StreamInfo]:
        return list(self._resolver.results()) if self._resolver is not None else []

    def _resolve_required(self, timeout_s: float) -> dict[str, pylsl.StreamInfo]:
        wanted = list(self.config.recording.streams)
        found: dict[str, pylsl.StreamInfo] = {}
        deadline = time.monotonic() + timeout_s
        while True:
            visible = self._visible()
            for name in wanted:
                if name not in found:
                    hits = [i for i in visible if self._matches(i, self.config.device(name))]
                    if hits:
                        found[name] = hits[0]
            if len(found) == len(wanted) or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        missing = [n for n in wanted if n not in found]
        if missing:
            visible_names = sorted({f"{i.name()} ({i.source_id()})" for i in self._visible()})
            expect = [self.config.source_id(n) if not isinstance(self.config.device(n), LslDevice)
                      else str(self.config.device(n).match.model_dump(exclude_none=True))
                      for n in missing]
            raise DeviceError(
                f"streams not found after {timeout_s:g} s: {missing} (expected {expect}); "
                f"visible streams: {visible_names or 'none'}; start the devices or "
                "`labkit simulate`, or raise recording.resolve_timeout_s"
            )
        return found

    def _open(self, info: pylsl.StreamInfo, name: str | None, taken: set[str]
              ) -> tuple[str, StreamSpec, pylsl.StreamInlet]:
        inlet = open_inlet(info)
        full = inlet.info(timeout=5.0)
        session_name = name or _session_name(full.name(), taken)
        spec = spec_from_info(full, name=session_name)
        if spec.is_string:
            spec = dataclasses.replace(spec, max_string_bytes=MARKER_BYTES)
        return session_name, spec, inlet

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, *, resolve_timeout_s: float | None = None) -> Recorder:
        """Wait for the required streams, create the session file and start recording."""
        timeout = (self.config.recording.resolve_timeout_s if resolve_timeout_s is None
                   else resolve_timeout_s)
        # one resolver for the whole recording: it keeps querying in the background, which
        # is far more reliable than many short one-off resolves on a busy machine
        self._resolver = pylsl.ContinuousResolver(forget_after=5.0)
        required = self._resolve_required(timeout)
        opened: list[tuple[str, StreamSpec, pylsl.StreamInlet]] = []
        taken: set[str] = set()
        for name, info in required.items():
            opened.append(self._open(info, name, taken))
            taken.add(name)
            self._known_sources.add(info.source_id() or info.uid())
        time.sleep(0.3)  # let marker streams already running answer the resolver
        for info in self._discover():
            try:
                session_name, spec, inlet = self._open(info, None, taken)
            except Exception as exc:  # a marker stream that vanished: not a reason to fail
                log.warning("skipping stream %r (%s): %s", info.name(), info.source_id(), exc)
                continue
            opened.append((session_name, spec, inlet))
            taken.add(session_name)
        specs = [spec for _, spec, _ in opened]
        if self._expected_duration_s:
            warn_if_low_space(self.out_path, specs, self._expected_duration_s,
                              flush_interval_s=self.config.recording.flush_interval_s)
        if self._resume:
            self.writer = SessionWriter.reopen(self.out_path, specs,
                                               flush_interval_s=self.config.recording.flush_interval_s)
        else:
            self.writer = SessionWriter(
                self.out_path, specs, flush_interval_s=self.config.recording.flush_interval_s,
                overwrite=self._overwrite, **self._meta,
            )
        self.started_at = pylsl.local_clock()
        for name, spec, inlet in opened:
            self._start_worker(name, spec, inlet)
        for target, label in ((self._flush_loop, "flush"), (self._discovery_loop, "discovery")):
            t = threading.Thread(target=target, name=f"labkit-{label}", daemon=True)
            t.start()
            self._threads.append(t)
        self._event("recording_started", ", ".join(sorted(self._workers)))
        log.info("recording %s to %s", sorted(self._workers), self.out_path)
        return self

    def add_tap(self, stream: str, callback: Any) -> None:
        """Call ``callback(samples, session_times_s)`` with every chunk of ``stream``.

        For live views and live analysis; call before :meth:`start`. Callbacks run on the
        stream's recording thread: keep them short (copy and return).
        """
        self._taps.setdefault(stream, []).append(callback)

    def spec(self, stream: str) -> StreamSpec | None:
        """The declaration of a recorded stream (None if it is not recorded)."""
        with self._lock:
            worker = self._workers.get(stream)
        return None if worker is None else worker.spec

    def wait_for_stream(self, predicate: Any, timeout_s: float = 10.0) -> str | None:
        """Wait until a recorded stream's spec satisfies ``predicate``; returns its name."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self._lock:
                for name, w in self._workers.items():
                    if predicate(w.spec):
                        return name
            time.sleep(0.05)
        return None

    def _start_worker(self, name: str, spec: StreamSpec, inlet: pylsl.StreamInlet) -> None:
        worker = _InletWorker(self, name, spec, inlet)
        with self._lock:
            self._workers[name] = worker
        worker.start()

    def _discover(self) -> list[pylsl.StreamInfo]:
        """Streams to record that are not recorded yet: markers and optional devices."""
        new = []
        optional = {self.config.source_id(d.name): d.name for d in self.config.devices
                    if d.name not in self.config.recording.streams and not isinstance(d, LslDevice)}
        for info in self._visible():
            key = info.source_id() or info.uid()
            if key in self._known_sources:
                continue
            is_marker = info.type().lower() == "markers" and self.config.recording.record_markers
            if is_marker or key in optional:
                self._known_sources.add(key)
                new.append(info)
        return new

    def _discovery_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                for info in self._discover():
                    taken = set(self._workers)
                    name, spec, inlet = self._open(info, None, taken)
                    self.writer.add_stream(spec)
                    self._start_worker(name, spec, inlet)
                    self._event("stream_joined", name)
            except SessionWriteError as exc:
                self._write_failed(exc)
                return
            except Exception:  # discovery must never stop the recording
                log.exception("stream discovery failed; recording continues")

    def _flush_loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.writer.maybe_flush()
            except SessionWriteError as exc:
                self._write_failed(exc)
                return
            except Exception:
                log.exception("flush failed")
                raise

    def _write_failed(self, exc: SessionWriteError) -> None:
        """The first failed write stops every thread (the writer takes no more writes)."""
        with self._lock:
            if self._failure is None:
                self._failure = exc
                log.debug("recording stopped: %s", exc)
        self._stop.set()

    @property
    def failure(self) -> SessionWriteError | None:
        """The write error that stopped the recording (a full disk), or None.

        Its message is one line: the file, the free space and how to recover. Check it
        while recording (:meth:`wait` returns early); :meth:`stop` raises it.
        """
        if self._failure is None and self.writer is not None and self.writer.failure is not None:
            self._write_failed(self.writer.failure)  # seen first by a client's own write
        return self._failure

    def wait(self, seconds: float | None = None) -> bool:
        """Sleep up to ``seconds`` (None: until stopped); True if the recording stopped early
        (a failed write: see :attr:`failure`)."""
        self._stop.wait(seconds)
        return self.failure is not None or self._stop.is_set()

    def _event(self, label: str, value: str = "") -> None:
        if self.writer is not None and not self.writer.closed:
            self.writer.add_event(pylsl.local_clock(), label, value[:1000], "recorder")

    @property
    def recording(self) -> bool:
        """True between :meth:`start` and :meth:`stop` (the session file is open for writing)."""
        return self.writer is not None and not self.writer.closed

    # -- what a protocol (or any client) writes beside the streams ------------------------
    def _open_writer(self) -> SessionWriter:
        if self.writer is None or self.writer.closed:
            raise SessionError(f"{self.out_path}: the recorder is not recording; start it first")
        return self.writer

    def add_event(self, label: str, value: str = "", source: str = "", *,
                  time_s: float | None = None) -> None:
        """Store an event (default time: now on the LSL clock, the session clock)."""
        when = pylsl.local_clock() if time_s is None else float(time_s)
        self._open_writer().add_event(when, label, value, source)

    def add_trial(self, trial_id: int, test: str, start_s: float, **fields: Any) -> None:
        """Add a row to the session's trials table (see ``SessionWriter.add_trial``)."""
        self._open_writer().add_trial(trial_id, test, start_s, **fields)

    def update_trial(self, trial_id: int, **changes: Any) -> None:
        """Change fields of a trial (``end``, ``status``, ``reason``, ...)."""
        self._open_writer().update_trial(trial_id, **changes)

    def commit(self) -> None:
        """Flush and commit everything buffered now (not at the next flush interval)."""
        self._open_writer().flush()

    def status(self) -> list[StreamStatus]:
        """Live status of every stream (rates, samples, gaps, lag)."""
        with self._lock:
            return [w.status for w in self._workers.values()]

    def file_size_bytes(self) -> int:
        try:
            return self.out_path.stat().st_size
        except OSError:
            return 0

    def stop(self, *, status: str = fmt.STATUS_COMPLETE) -> Path:
        """Stop every thread, write what is buffered and close the file cleanly.

        ``status`` is the session's final status: ``complete``, or ``interrupted`` for a
        run that was stopped before its end (Ctrl-C, an error).

        Raises
        ------
        SessionWriteError
            A write failed (disk full) while recording or in this last flush. Acquisition
            had stopped at the failure; the file holds everything committed before it.
        """
        if self.writer is None:
            return self.out_path
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        for w in list(self._workers.values()):
            w.join(timeout=5)
        if self.failure is None:
            try:
                self._event("recording_stopped")
                self.writer.close(status)
            except SessionWriteError as exc:
                self._write_failed(exc)
        for w in self._workers.values():
            w.inlet.close_stream()
        self._resolver = None
        if self._failure is not None:
            raise self._failure
        return self.out_path

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def record(config: HardwareConfig, out_path: str | os.PathLike[str], duration_s: float, *,
           config_text: str = "", **meta: Any) -> Path:
    """Record for ``duration_s`` seconds and return the session path."""
    with Recorder(config, out_path, config_text=config_text, expected_duration_s=duration_s,
                  **meta) as rec:
        rec.wait(duration_s)  # returns early if a write fails; leaving the block raises it
    return Path(out_path)


def summarize_status(statuses: Sequence[StreamStatus]) -> list[dict[str, Any]]:
    return [{k: v for k, v in vars(s).items() if k != "history"} for s in statuses]
