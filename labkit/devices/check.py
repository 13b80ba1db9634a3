"""``labkit devices check CONFIG``: is every device of a hardware config reachable?

:func:`check_devices` validates the config (a bad field raises ``ConfigError`` with one
line naming file, field and fix), then for each device reports whether its hardware
answers and whether its LSL stream is visible, with the reason when not:

* ``daqmx_force_plates`` (``backend: nidaqmx``): NI-DAQmx driver installed, NI device of
  the channels present (``nidaqmx.system.System.local().devices``), stream visible;
* ``trigno`` (not emulated): TCP connection to the TCU command port (refused / timed out
  / greeting), stream visible;
* ``lsl``: a stream matching ``match`` is visible; ``lsl_mocap``: the app's stream and
  the republished one;
* simulated devices (``sim_*``, ``backend: simulated``, ``emulate: true``): the stream
  ``<source_prefix>-<name>`` is visible (run ``labkit simulate``).

Exit codes for the CLI (:meth:`CheckReport.exit_code`): 0 every stream listed in
``recording.streams`` is visible and no device failed; 1 a required stream is missing or
a device is unreachable; 2 the config is invalid (``ConfigError`` raised).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field

import labkit.lsl.streams  # noqa: F401  (liblsl's configuration before its first use)
from labkit.config.hardware import (
    DaqForcePlates,
    HardwareConfig,
    LslDevice,
    LslMocap,
    Trigno,
    load_hardware_config,
)

__all__ = ["CheckReport", "DeviceCheck", "check_devices"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceCheck:
    """The state of one device.

    Attributes
    ----------
    name, kind : str
    required : bool
        Listed in ``recording.streams``.
    hardware_ok : bool or None
        The device/driver answered (None: nothing to check beyond the stream).
    stream_visible : bool
    stream : str
        What was looked for (source_id or match).
    problems : list of str
        Why not, one line each (driver missing, device not found, TCP refused, ...).
    """

    name: str
    kind: str
    required: bool
    hardware_ok: bool | None
    stream_visible: bool
    stream: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.stream_visible and self.hardware_ok is not False


@dataclass(frozen=True)
class CheckReport:
    """Result of :func:`check_devices`."""

    config_name: str
    devices: list[DeviceCheck]

    @property
    def missing_streams(self) -> list[str]:
        """Names of required devices whose stream is not visible."""
        return [d.name for d in self.devices if d.required and not d.stream_visible]

    @property
    def ok(self) -> bool:
        return not self.missing_streams and all(d.hardware_ok is not False for d in self.devices)

    @property
    def exit_code(self) -> int:
        """0 all required streams visible and no device failed, else 1."""
        return 0 if self.ok else 1

    def lines(self) -> list[str]:
        """One line per device, then the missing required streams."""
        out = []
        for d in self.devices:
            state = "ok" if d.ok else "MISSING" if not d.stream_visible else "FAILED"
            why = "; ".join(d.problems)
            out.append(f"{d.name} ({d.kind}){' [required]' if d.required else ''}: {state}"
                       f" - stream {d.stream}{': ' + why if why else ''}")
        if self.missing_streams:
            out.append(f"missing required streams: {', '.join(self.missing_streams)}")
        return out


def _nidaqmx_problem(dev: DaqForcePlates) -> str | None:
    try:
        import nidaqmx.errors
        import nidaqmx.system
    except ImportError as exc:
        return f"the nidaqmx Python package is missing ({exc}); pip install nidaqmx"
    try:
        system = nidaqmx.system.System.local()
        names = {d.name for d in system.devices}
    except nidaqmx.errors.DaqNotFoundError:
        from labkit.devices.daqmx import DRIVER_MISSING

        return DRIVER_MISSING
    except Exception as exc:
        return f"NI-DAQmx system query failed: {exc}"
    wanted = sorted({ch.lstrip("/").split("/")[0] for p in dev.plates for ch in p.channels})
    absent = [w for w in wanted if w not in names]
    if absent:
        return (f"NI device(s) {absent} not found (present: {sorted(names) or 'none'}); check NI MAX and "
                "the channel names")
    return None


def _trigno_problem(dev: Trigno, timeout_s: float) -> str | None:
    try:
        with socket.create_connection((dev.host, dev.command_port), timeout=timeout_s) as s:
            s.settimeout(timeout_s)
            greeting = s.recv(1024)
    except ConnectionRefusedError:
        return (f"TCP connection to {dev.host}:{dev.command_port} refused; start the Trigno Control "
                "Utility and its SDK server")
    except TimeoutError:
        return f"no answer from {dev.host}:{dev.command_port} within {timeout_s:g} s"
    except OSError as exc:
        return f"{dev.host}:{dev.command_port} unreachable ({exc})"
    if not greeting:
        return f"{dev.host}:{dev.command_port} closed the connection without a greeting"
    return None


def _visible_streams(timeout_s: float, expected_ids: set[str]):
    import pylsl

    resolver = pylsl.ContinuousResolver(forget_after=5.0)
    end = time.monotonic() + timeout_s
    infos = []
    while True:
        infos = list(resolver.results())
        seen = {i.source_id() for i in infos}
        if (expected_ids and expected_ids <= seen) or time.monotonic() >= end:
            break
        time.sleep(0.05)
    del resolver
    return infos


def _matches(info, match) -> bool:
    return ((match.name is None or info.name() == match.name)
            and (match.type is None or info.type() == match.type)
            and (match.source_id is None or info.source_id() == match.source_id))


def check_devices(config: HardwareConfig | str | os.PathLike[str] | None = None, *,
                  timeout_s: float = 3.0) -> CheckReport:
    """Check every device of a hardware config; see the module docstring.

    Parameters
    ----------
    config : HardwareConfig or path, optional
        Default ``hardware_configs/simulated.yaml``. A path is loaded and validated
        (``ConfigError`` with file, field and fix when invalid).
    timeout_s : float
        How long to look for LSL streams (returns earlier when all are seen) and to wait
        for TCP answers.

    Returns
    -------
    CheckReport
        ``report.exit_code`` (0 or 1), ``report.lines()`` for printing.
    """
    if not isinstance(config, HardwareConfig):
        config, _ = load_hardware_config(config)
    required = set(config.recording.streams)
    expected = {config.source_id(d.name) for d in config.devices if not isinstance(d, LslDevice)}
    infos = _visible_streams(timeout_s, expected)
    ids = {i.source_id() for i in infos}
    out = []
    for dev in config.devices:
        problems: list[str] = []
        hardware_ok: bool | None = None
        sid = config.source_id(dev.name)
        if isinstance(dev, LslDevice):
            stream = str(dev.match.model_dump(exclude_none=True))
            visible = any(_matches(i, dev.match) for i in infos)
            if not visible:
                problems.append(f"no LSL stream matches {stream}; start the app that publishes it")
        else:
            stream = sid
            visible = sid in ids
            if isinstance(dev, DaqForcePlates) and dev.backend == "nidaqmx":
                p = _nidaqmx_problem(dev)
                hardware_ok = p is None
                problems += [p] if p else []
            elif isinstance(dev, Trigno) and not dev.emulate:
                p = _trigno_problem(dev, timeout_s)
                hardware_ok = p is None
                problems += [p] if p else []
            elif isinstance(dev, LslMocap):
                app = any(_matches(i, dev.match) and i.source_id() != sid for i in infos)
                hardware_ok = app
                if not app:
                    want = dev.match.model_dump(exclude_none=True)
                    problems.append(f"the mocap app's stream {want} is not visible; start its LSL output")
            if not visible:
                problems.append("stream not visible: start `labkit simulate`" if dev.kind.startswith("sim_")
                                else "stream not visible: start its driver or application")
        out.append(DeviceCheck(dev.name, dev.kind, dev.name in required, hardware_ok, visible, stream,
                               problems))
    report = CheckReport(config.name, out)
    for line in report.lines():
        log.info("%s", line)
    return report
