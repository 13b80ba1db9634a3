"""Delsys Trigno EMG through the Trigno Control Utility (TCU) SDK, published on LSL.

Protocol (Trigno SDK user guide; what this client uses -- the emulator
:mod:`labkit.devices.sim.trigno_server` answers the same):

* command port 50040: the server greets with one line; every command and every reply
  ends with ``\\r\\n\\r\\n``. At start the client asks ``SENSOR n PAIRED?`` and
  ``SENSOR n TYPE?`` for each configured slot (the type must be an EMG sensor, or
  ``expect_type`` when given), ``SENSOR n EMGCHANNELCOUNT?``,
  ``SENSOR n CHANNEL 1 RATE?`` and ``SENSOR n CHANNEL 1 SAMPLES?`` (logged),
  ``FRAME INTERVAL?`` and ``MAX SAMPLES EMG?``, then sends ``START``; at the end ``STOP``
  and ``QUIT``.
* EMG data port 50043: 16 float32 little-endian values (slots 1..16, volts) per sample,
  interleaved, in frames of ``MAX SAMPLES EMG`` samples every ``FRAME INTERVAL``.

The rate is derived, never assumed: ``MAX SAMPLES EMG / FRAME INTERVAL`` (27 / 0.0135 s =
2000 Hz, 26 / 0.0135 = 1925.93 Hz, 29 / 0.0135 = 2148.15 Hz depending on TCU settings).

Framing: TCP delivers bytes, not samples; the client keeps the bytes of an incomplete
sample (64 bytes per sample) until the rest arrives. Backpressure: one thread receives
into a preallocated buffer, converts and pushes to LSL; when it falls behind, TCP flow
control slows the TCU instead of dropping data in between. Reconnect: when the
connection drops, the client retries every ``reconnect_s``, re-queries the sensors and
restarts; the counter skips the samples lost meanwhile (estimated from the sample clock)
so the recorder sees a gap.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time

import numpy as np

from labkit.config.hardware import Trigno
from labkit.devices.base import DeviceSource, SampleClockStamper
from labkit.errors import DeviceError
from labkit.spec import COUNTER, StreamSpec, emg_channel

__all__ = ["N_SENSORS", "TrignoCommandClient", "TrignoSource", "emg_spec"]

log = logging.getLogger(__name__)

TERM = b"\r\n\r\n"
N_SENSORS = 16
SAMPLE_BYTES = N_SENSORS * 4


def emg_spec(device: Trigno, source_id: str, *, rate_hz: float, model: str = "Delsys Trigno",
             types: dict[int, str] | None = None) -> StreamSpec:
    """The EMG stream: ``<muscle>_<side>`` (V) per configured sensor, then ``counter``."""
    channels = [emg_channel(s.muscle, s.side, str(s.sensor)) for s in device.sensors]
    dev = {"manufacturer": "Delsys", "model": model, "serial": source_id}
    if types:
        dev["sensor_types"] = ",".join(f"{k}:{v}" for k, v in sorted(types.items()))
    return StreamSpec(device.name, "emg", [*channels, COUNTER], rate_hz, "float32", source_id=source_id,
                      device=dev)


class TrignoCommandClient:
    """The TCU command connection: ``query("FRAME INTERVAL?") -> "0.0135"``.

    Parameters
    ----------
    host : str
    port : int
    timeout_s : float
    """

    def __init__(self, host: str, port: int, *, timeout_s: float = 5.0):
        self.host, self.port = host, int(port)
        try:
            self.sock = socket.create_connection((host, self.port), timeout=timeout_s)
        except ConnectionRefusedError as exc:
            raise DeviceError(f"Trigno command port {host}:{port} refused the connection; start the "
                              "Trigno Control Utility (and its SDK server) or check host/command_port"
                              ) from exc
        except OSError as exc:
            raise DeviceError(f"Trigno command port {host}:{port} unreachable ({exc}); check the network "
                              "and host") from exc
        self._buf = b""
        self.greeting = self._read_reply()

    def _read_reply(self) -> str:
        while TERM not in self._buf:
            try:
                data = self.sock.recv(4096)
            except TimeoutError as exc:
                raise DeviceError(f"Trigno {self.host}:{self.port} did not answer within the timeout"
                                  ) from exc
            if not data:
                raise DeviceError(f"Trigno {self.host}:{self.port} closed the command connection")
            self._buf += data
        reply, self._buf = self._buf.split(TERM, 1)
        return reply.decode("ascii", "replace").strip()

    def query(self, command: str) -> str:
        """Send one command; return the reply without its terminator."""
        try:
            self.sock.sendall(command.encode("ascii") + TERM)
        except OSError as exc:
            raise DeviceError(f"Trigno {self.host}:{self.port}: sending {command!r} failed ({exc})") from exc
        return self._read_reply()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class TrignoSource(DeviceSource):
    """Trigno EMG on LSL (see the module docstring).

    Parameters
    ----------
    device : Trigno
        The hardware-config entry (host, ports, sensors -> muscle/side).
    source_id : str
        LSL source_id of the stream.
    recv_bytes : int
        Size of the preallocated receive buffer.

    Attributes
    ----------
    sensor_types : dict of int to str
        Type code each configured slot reported.
    frame_interval_s, samples_per_frame, rate_hz
        As reported by the TCU (rate derived).
    n_reconnects : int
    """

    def __init__(self, device: Trigno, source_id: str, *, recv_bytes: int = 1 << 18):
        super().__init__()
        self.device, self.source_id = device, source_id
        self.sensor_types: dict[int, str] = {}
        self.channel_rates_hz: dict[int, float] = {}
        self.frame_interval_s = float("nan")
        self.samples_per_frame = 0
        self.rate_hz = float("nan")
        self.n_reconnects = 0
        self._cols = np.array([s.sensor - 1 for s in device.sensors], dtype=np.intp)
        self._recv = bytearray(max(recv_bytes, 4 * SAMPLE_BYTES))
        self._cmd: TrignoCommandClient | None = None
        self._data: socket.socket | None = None
        self._run_index = -1
        self.spec = emg_spec(device, source_id, rate_hz=0.0)

    # ------------------------------------------------------------------ connection
    def _configure(self) -> None:
        d = self.device
        cmd = TrignoCommandClient(d.host, d.command_port, timeout_s=d.timeout_s)
        try:
            types = {}
            for s in d.sensors:
                paired = cmd.query(f"SENSOR {s.sensor} PAIRED?").upper()
                code = cmd.query(f"SENSOR {s.sensor} TYPE?").strip()
                if paired != "YES":
                    raise DeviceError(f"Trigno sensor {s.sensor} ({s.muscle}_{s.side}) is not paired "
                                      f"(PAIRED? -> {paired!r}); pair it in the Trigno Control Utility")
                ok = code == s.expect_type if s.expect_type else code in d.emg_types
                if not ok:
                    want = s.expect_type or ", ".join(d.emg_types)
                    raise DeviceError(f"Trigno sensor {s.sensor} ({s.muscle}_{s.side}) reports type "
                                      f"{code!r}, not an EMG sensor of the config ({want}); put an EMG "
                                      "sensor in that slot or fix sensors/emg_types in the config")
                n_emg = int(float(cmd.query(f"SENSOR {s.sensor} EMGCHANNELCOUNT?")))
                if n_emg < 1:
                    raise DeviceError(f"Trigno sensor {s.sensor} has no EMG channel (EMGCHANNELCOUNT? -> "
                                      f"{n_emg}); set the sensor to an EMG mode")
                types[s.sensor] = code
                with contextlib.suppress(ValueError):
                    self.channel_rates_hz[s.sensor] = float(cmd.query(f"SENSOR {s.sensor} CHANNEL 1 RATE?"))
            frame = float(cmd.query("FRAME INTERVAL?"))
            spf = int(float(cmd.query("MAX SAMPLES EMG?")))
            if not (frame > 0 and spf > 0):
                raise DeviceError(f"Trigno reports frame interval {frame!r} s and {spf!r} EMG samples per "
                                  "frame; check the TCU")
        except (ValueError, DeviceError) as exc:
            cmd.close()
            if isinstance(exc, DeviceError):
                raise
            raise DeviceError(f"Trigno sent an unreadable reply ({exc})") from exc
        rate = spf / frame
        if self.samples_per_frame and (spf, frame) != (self.samples_per_frame, self.frame_interval_s):
            raise DeviceError(f"Trigno changed its rate on reconnect ({self.rate_hz} -> {rate} Hz); "
                              "restart the recording")
        self.sensor_types, self.frame_interval_s = types, frame
        self.samples_per_frame, self.rate_hz = spf, rate
        self._cmd = cmd
        for slot, r in self.channel_rates_hz.items():
            if abs(r - rate) > 0.01 * rate:
                log.info("Trigno sensor %d samples at %.3f Hz; the SDK upsamples it to %.6f Hz",
                         slot, r, rate)

    def _connect_data(self) -> None:
        d = self.device
        try:
            data = socket.create_connection((d.host, d.emg_port), timeout=d.timeout_s)
        except OSError as exc:
            raise DeviceError(f"Trigno EMG data port {d.host}:{d.emg_port} refused or unreachable ({exc}); "
                              "check emg_port and the TCU") from exc
        data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        data.settimeout(0.2)
        self._data = data
        import pylsl

        self.stamper = SampleClockStamper(self.rate_hz)
        self.stamper.reset(not_before_s=pylsl.local_clock())
        reply = self._cmd.query("START")
        if reply.upper() != "OK":
            raise DeviceError(f"Trigno refused START ({reply!r}); check the sensors are on and paired")
        self._run_index += 1

    def _disconnect(self, *, polite: bool) -> None:
        if self._cmd is not None:
            if polite:
                for command in ("STOP", "QUIT"):
                    try:
                        self._cmd.query(command)
                    except DeviceError as exc:
                        log.info("Trigno %s: %s not acknowledged: %s", self.device.name, command, exc)
                        break
            self._cmd.close()
            self._cmd = None
        if self._data is not None:
            with contextlib.suppress(OSError):
                self._data.close()
            self._data = None

    # ------------------------------------------------------------------ DeviceSource hooks
    def _open(self) -> None:
        self._configure()
        self.spec = emg_spec(self.device, self.source_id, rate_hz=self.rate_hz, types=self.sensor_types)
        self._connect_data()

    def _close(self) -> None:
        self._disconnect(polite=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._stream()
            except (OSError, DeviceError) as exc:
                if self._stop.is_set():
                    return
                log.warning("Trigno %s: connection lost (%s); reconnecting", self.device.name, exc)
            if self._stop.is_set():
                return  # stop() sends STOP and QUIT
            self._disconnect(polite=False)
            while not self._stop.is_set():
                if self._stop.wait(self.device.reconnect_s):
                    return
                try:
                    self._configure()
                    self._connect_data()
                    self.n_reconnects += 1
                    log.info("Trigno %s: reconnected", self.device.name)
                    self._gap_reason = "Trigno connection lost; reconnected"
                    break
                except DeviceError as exc:
                    log.info("Trigno %s: reconnect failed: %s", self.device.name, exc)
                    self._disconnect(polite=False)

    _gap_reason: str | None = None

    _next_stamp: float | None = None

    def _stream(self) -> None:
        """Receive until the connection drops or stop."""
        import pylsl

        buf = self._recv
        view = memoryview(buf)
        have = 0
        index = 0  # samples of this run
        run = self._run_index
        while not self._stop.is_set():
            try:
                got = self._data.recv_into(view[have:])
            except TimeoutError:
                continue
            if got == 0:
                raise DeviceError("the EMG data connection was closed")
            arrival = pylsl.local_clock()
            have += got
            n = have // SAMPLE_BYTES
            if n == 0:
                continue
            used = n * SAMPLE_BYTES
            frame = np.frombuffer(buf, dtype="<f4", count=n * N_SENSORS).reshape(n, N_SENSORS)
            values = frame[:, self._cols].astype(np.float64)
            if have > used:  # keep the bytes of an incomplete sample
                buf[:have - used] = buf[used:have]
            have -= used
            stamps = self.stamper.stamps(index, n, arrival)
            if self._gap_reason is not None and self._next_stamp is not None:
                self._skip(round((stamps[0] - self._next_stamp) * self.rate_hz), self._gap_reason)
            self._gap_reason = None
            self._next_stamp = stamps[-1] + 1.0 / self.rate_hz
            self._publish(values, stamps, run, index)
            index += n

    @property
    def status(self) -> dict:
        """Rate, frame, sensor types, samples, reconnects and gaps, for status displays."""
        return {"rate_hz": self.rate_hz, "frame_interval_s": self.frame_interval_s,
                "samples_per_frame": self.samples_per_frame, "sensor_types": dict(self.sensor_types),
                "samples": self.n_sent, "reconnects": self.n_reconnects, "gaps": list(self.gaps)}


def wait_until(predicate, timeout_s: float) -> bool:
    """Poll ``predicate`` every 10 ms for up to ``timeout_s``."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())
