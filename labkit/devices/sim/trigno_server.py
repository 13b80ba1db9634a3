"""A Trigno Control Utility (TCU) SDK emulator on loopback, fed by the simulated athlete.

It speaks the subset of the TCU SDK protocol that :mod:`labkit.devices.trigno` uses:

* command port (default 50040): on connect the server sends its greeting
  ``Delsys Trigno System Digital Protocol Version 3.6.0``; every command and every reply
  ends with ``\\r\\n\\r\\n``. Queries: ``SENSOR n TYPE?`` (type code, e.g. ``D``;
  ``NO SENSOR`` for an empty slot), ``SENSOR n PAIRED?`` (``YES``/``NO``),
  ``SENSOR n EMGCHANNELCOUNT?``, ``SENSOR n AUXCHANNELCOUNT?``,
  ``SENSOR n CHANNEL 1 RATE?``, ``SENSOR n CHANNEL 1 SAMPLES?``, ``SENSOR n CHANNEL 1 UNITS?``,
  ``FRAME INTERVAL?``, ``MAX SAMPLES EMG?``, ``MAX SAMPLES AUX?``, ``RATE?``,
  ``ENDIANNESS?``, ``BACKWARDS COMPATIBILITY?``, ``UPSAMPLING?``, ``BASE SERIAL?``;
  commands ``START``/``STOP`` (reply ``OK``), ``QUIT`` (reply ``BYE``, connection closed);
  anything else ``INVALID COMMAND``;
* EMG data port (default 50043): while started, every frame interval the samples of one
  frame (``MAX SAMPLES EMG`` samples), each 16 float32 little-endian values (sensor 1..16,
  volts), interleaved sample by sample.

Test hooks: ``split_max_bytes`` cuts every write into random pieces (seeded) so frames
straddle TCP reads; :meth:`disconnect` drops the client connections mid-stream;
:meth:`outage` closes the ports for a while (connections refused), then listens again;
:meth:`set_sensor_type` makes a slot report another sensor type.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
import time
from collections.abc import Callable

import numpy as np

__all__ = ["GREETING", "TrignoEmulator"]

log = logging.getLogger(__name__)

GREETING = "Delsys Trigno System Digital Protocol Version 3.6.0"
TERM = b"\r\n\r\n"
N_SENSORS = 16


class TrignoEmulator:
    """The emulated base station and TCU server.

    Parameters
    ----------
    samples_fn : callable(index, t_s) -> array (n, 16)
        EMG of the 16 slots (V) for global sample indices at true times (local LSL clock).
    samples_per_frame : int
        EMG samples per frame (``MAX SAMPLES EMG?``).
    frame_interval_s : float
        Frame interval (``FRAME INTERVAL?``); the rate is ``samples_per_frame /
        frame_interval_s``.
    sensor_types : mapping slot -> type code
        Paired sensors (others report ``NO SENSOR``).
    host : str
    command_port, emg_port : int
        0 picks free ports (see :attr:`command_port`, :attr:`emg_port` after :meth:`start`).
    split_max_bytes : int, optional
        Cut every data write into random pieces of 1..split_max_bytes bytes.
    seed : int
        Seed of the splits.
    """

    def __init__(self, samples_fn: Callable[[np.ndarray, np.ndarray], np.ndarray], *,
                 samples_per_frame: int = 27, frame_interval_s: float = 0.0135,
                 sensor_types: dict[int, str] | None = None, host: str = "127.0.0.1",
                 command_port: int = 0, emg_port: int = 0, split_max_bytes: int | None = None,
                 seed: int = 0):
        import pylsl

        self._clock = pylsl.local_clock
        self.samples_fn = samples_fn
        self.samples_per_frame = int(samples_per_frame)
        self.frame_interval_s = float(frame_interval_s)
        self.rate_hz = self.samples_per_frame / self.frame_interval_s
        self.sensor_types = dict(sensor_types if sensor_types is not None
                                 else {i: "D" for i in range(1, N_SENSORS + 1)})
        self.host = host
        self.command_port, self.emg_port = int(command_port), int(emg_port)
        self.split_max_bytes = split_max_bytes
        self._rng = np.random.default_rng(seed)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._listeners: list[socket.socket] = []
        self._conns: list[socket.socket] = []
        self._data_conn: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self.streaming = False
        self.t0: float | None = None
        self.run_starts_g: list[int] = []  # first global sample of each START
        self._sent_g = 0  # next global sample to send
        self.frames_sent = 0
        self.commands: list[str] = []
        self._down_until = 0.0

    # ------------------------------------------------------------------ truth
    def true_time_s(self, run: int, index) -> np.ndarray:
        """True time (local LSL clock) of sample ``index`` after the ``run``-th START."""
        g = self.run_starts_g[run] + np.asarray(index, dtype=np.int64)
        return self.t0 + g / self.rate_hz

    def global_index(self, run: int, index) -> np.ndarray:
        return self.run_starts_g[run] + np.asarray(index, dtype=np.int64)

    # ------------------------------------------------------------------ control
    def start(self) -> TrignoEmulator:
        """Listen on the ports (returns self)."""
        self._listen()
        th = threading.Thread(target=self._stream_loop, name="trigno-emu-data", daemon=True)
        th.start()
        self._threads.append(th)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._close_all(listeners=True)
        for th in self._threads:
            th.join(timeout=5.0)

    def __enter__(self) -> TrignoEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def set_sensor_type(self, slot: int, code: str) -> None:
        """Slot ``slot`` reports sensor type ``code`` from now on."""
        with self._lock:
            self.sensor_types[int(slot)] = code

    def disconnect(self) -> None:
        """Drop every client connection now (the TCU closed them); streaming stops."""
        log.info("trigno emulator: dropping the connections")
        with self._lock:
            self.streaming = False
        self._close_all(listeners=False)

    def outage(self, duration_s: float) -> None:
        """Drop the connections and refuse new ones for ``duration_s``, then listen again."""
        self._down_until = time.monotonic() + float(duration_s)
        self.disconnect()
        self._close_all(listeners=True)
        th = threading.Thread(target=self._relisten, args=(float(duration_s),), daemon=True)
        th.start()
        self._threads.append(th)

    def _relisten(self, delay: float) -> None:
        if not self._stop.wait(delay):
            self._listen()

    # ------------------------------------------------------------------ sockets
    def _bind(self, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, port))
        s.listen(4)
        return s

    def _listen(self) -> None:
        cmd, emg = self._bind(self.command_port), self._bind(self.emg_port)
        self.command_port, self.emg_port = cmd.getsockname()[1], emg.getsockname()[1]
        with self._lock:
            self._listeners = [cmd, emg]
        for sock, fn in ((cmd, self._serve_commands), (emg, self._accept_data)):
            th = threading.Thread(target=self._accept_loop, args=(sock, fn), daemon=True)
            th.start()
            self._threads.append(th)
        log.info("trigno emulator on %s: commands %d, EMG %d", self.host, self.command_port, self.emg_port)

    def _accept_loop(self, sock: socket.socket, fn) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # listener closed
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=fn, args=(conn,), daemon=True).start()

    def _close_all(self, *, listeners: bool) -> None:
        with self._lock:
            socks = list(self._conns) + (list(self._listeners) if listeners else [])
            self._conns.clear()
            self._data_conn = None
            if listeners:
                self._listeners.clear()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def _accept_data(self, conn: socket.socket) -> None:
        with self._lock:
            self._data_conn = conn

    # ------------------------------------------------------------------ commands
    def reply(self, command: str) -> str:
        """The server's reply to one command (without the terminator)."""
        c = " ".join(command.strip().upper().split())
        self.commands.append(c)
        parts = c.split(" ")
        with self._lock:
            if c == "START":
                self._start_streaming()
                return "OK"
            if c == "STOP":
                self.streaming = False
                return "OK"
            if c == "FRAME INTERVAL?":
                return repr(self.frame_interval_s)
            if c == "MAX SAMPLES EMG?":
                return str(self.samples_per_frame)
            if c == "MAX SAMPLES AUX?":
                return str(max(1, round(self.samples_per_frame / 13.5)))
            if c == "RATE?":
                return f"{self.rate_hz:.3f}"
            if c == "ENDIANNESS?":
                return "LITTLE"
            if c == "BACKWARDS COMPATIBILITY?":
                return "NO"
            if c == "UPSAMPLING?":
                return "YES"
            if c == "BASE SERIAL?":
                return "EMULATOR-0001"
            if len(parts) >= 3 and parts[0] == "SENSOR" and parts[1].isdigit():
                return self._sensor_reply(int(parts[1]), parts[2:])
        return "INVALID COMMAND"

    def _sensor_reply(self, slot: int, rest: list[str]) -> str:
        if not 1 <= slot <= N_SENSORS:
            return "INVALID COMMAND"
        code = self.sensor_types.get(slot)
        what = " ".join(rest)
        if what == "PAIRED?":
            return "YES" if code else "NO"
        if what == "TYPE?":
            return code or "NO SENSOR"
        if not code:
            return "INVALID SENSOR"
        if what == "EMGCHANNELCOUNT?":
            return "1"
        if what == "AUXCHANNELCOUNT?":
            return "6"
        if what == "CHANNEL 1 RATE?":
            return f"{self.rate_hz:.3f}"
        if what == "CHANNEL 1 SAMPLES?":
            return str(self.samples_per_frame)
        if what == "CHANNEL 1 UNITS?":
            return "V"
        return "INVALID COMMAND"

    def _serve_commands(self, conn: socket.socket) -> None:
        buf = b""
        try:
            conn.sendall(GREETING.encode() + b" " + TERM)
            while not self._stop.is_set():
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while TERM in buf:
                    line, buf = buf.split(TERM, 1)
                    text = line.decode("ascii", "replace")
                    answer = self.reply(text)
                    conn.sendall(answer.encode() + TERM)
                    if text.strip().upper() == "QUIT":
                        with self._lock:
                            self.streaming = False
                        return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _start_streaming(self) -> None:
        now = self._clock()
        if self.t0 is None:
            self.t0 = now
        g0 = math.ceil((now - self.t0) * self.rate_hz / self.samples_per_frame) * self.samples_per_frame
        self.run_starts_g.append(max(g0, self._sent_g))
        self._sent_g = self.run_starts_g[-1]
        self.streaming = True

    # ------------------------------------------------------------------ data
    def _stream_loop(self) -> None:
        """Send each frame when its last sample is due; the next frame's bytes are made
        ahead so the send latency is only the thread wake-up (frames that are already
        due, e.g. after backpressure, go out together)."""
        spf = self.samples_per_frame
        ahead: tuple[int, bytes] | None = None
        while not self._stop.is_set():
            with self._lock:
                conn, streaming, g0, t0 = self._data_conn, self.streaming, self._sent_g, self.t0
            if not streaming or t0 is None:
                self._stop.wait(self.frame_interval_s / 3)
                continue
            now = self._clock()
            due = math.floor((now - t0) * self.rate_hz / spf) * spf
            if due <= g0:
                if ahead is None or ahead[0] != g0:
                    g = np.arange(g0, g0 + spf, dtype=np.int64)
                    ahead = (g0, np.asarray(self.samples_fn(g, t0 + g / self.rate_hz), dtype="<f4").tobytes())
                self._stop.wait(max(t0 + (g0 + spf) / self.rate_hz - self._clock(), 0.0))
                continue
            if conn is None:
                with self._lock:  # no client: the frames are gone
                    self._sent_g = max(self._sent_g, due)
                continue
            if ahead is not None and ahead[0] == g0 and due == g0 + spf:
                payload = ahead[1]
            else:
                g = np.arange(g0, due, dtype=np.int64)
                payload = np.asarray(self.samples_fn(g, t0 + g / self.rate_hz), dtype="<f4").tobytes()
            ahead = None
            try:
                self._send(conn, payload)
            except OSError:
                with self._lock:
                    if self._data_conn is conn:
                        self._data_conn = None
                        self.streaming = False
                continue
            with self._lock:
                if self._sent_g == g0:
                    self._sent_g = due
                    self.frames_sent += (due - g0) // spf

    def _send(self, conn: socket.socket, payload: bytes) -> None:
        if not self.split_max_bytes:
            conn.sendall(payload)
            return
        view = memoryview(payload)
        i = 0
        while i < len(view):
            k = int(self._rng.integers(1, self.split_max_bytes + 1))
            conn.sendall(view[i:i + k])
            i += k
