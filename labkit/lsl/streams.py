"""LSL streams the labkit way: XDF-style metadata, outlets, resolving, inlets, clock offsets.

Metadata follows the XDF conventions (``desc/channels/channel`` with ``label``, ``unit``,
``type``, plus ``muscle``/``side`` for EMG, ``plate``/``component`` for force and
``marker``/``axis`` for mocap; ``desc/acquisition`` with ``manufacturer``, ``model``,
``serial``). Every stream labkit publishes has a unique ``source_id`` and a channel of
type ``counter`` so that loss is detectable end to end.
"""

from __future__ import annotations

import ctypes
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pylsl

from labkit.errors import ConfigError, DeviceError
from labkit.spec import StreamSpec, channels_from_desc, device_from_desc

_USER_CONFIGS = ("lsl_api.cfg", "~/lsl_api/lsl_api.cfg", "/etc/lsl_api/lsl_api.cfg")
if "LSLAPICFG" not in os.environ and not any(os.path.exists(os.path.expanduser(p))
                                              for p in _USER_CONFIGS):
    # liblsl logs INFO lines to stderr by default, which would spoil labkit's one-line errors;
    # a user's own lsl_api.cfg (wherever liblsl looks for one) is left alone
    pylsl.set_config_content("[log]\nlevel = -2\n")

__all__ = [
    "ClockOffset",
    "StreamInfoSummary",
    "channel_format_of",
    "clock_offset",
    "create_outlet",
    "dtype_of",
    "make_info",
    "open_inlet",
    "resolve",
    "spec_from_info",
    "summarize",
]

_CF = {
    "float32": pylsl.cf_float32,
    "float64": pylsl.cf_double64,
    "string": pylsl.cf_string,
    "int8": pylsl.cf_int8,
    "int16": pylsl.cf_int16,
    "int32": pylsl.cf_int32,
    "int64": pylsl.cf_int64,
}
_CF_NAME = {
    pylsl.cf_float32: "float32",
    pylsl.cf_double64: "float64",
    pylsl.cf_string: "string",
    pylsl.cf_int8: "int8",
    pylsl.cf_int16: "int16",
    pylsl.cf_int32: "int32",
    pylsl.cf_int64: "int64",
}
_ACQUISITION_KEYS = ("manufacturer", "model", "serial")


def channel_format_of(dtype: Any) -> int:
    """The pylsl channel format for a sample dtype (or ``"string"``)."""
    name = "string" if dtype in ("string", "str") else np.dtype(dtype).name
    try:
        return _CF[name]
    except KeyError:
        raise ConfigError(
            f"dtype {name!r} cannot be sent over LSL; use float32, float64, int8..int64 or string"
        ) from None


def dtype_of(channel_format: int) -> str:
    """The sample dtype name (or ``"string"``) of a pylsl channel format."""
    try:
        return _CF_NAME[channel_format]
    except KeyError:
        raise DeviceError(f"LSL channel format {channel_format} is not supported") from None


def make_info(spec: StreamSpec) -> pylsl.StreamInfo:
    """A ``pylsl.StreamInfo`` with XDF-style channel and acquisition metadata.

    Raises ``ConfigError`` when the stream has no ``source_id`` (labkit requires one,
    so that recorders can reconnect to the same source).
    """
    spec.validate()
    if not spec.source_id:
        raise ConfigError(f"stream {spec.name!r} has no source_id: give every published stream one")
    info = pylsl.StreamInfo(spec.name, spec.type, len(spec.channels), float(spec.nominal_rate_hz),
                            channel_format_of(spec.dtype), spec.source_id)
    desc = info.desc()
    channels = desc.append_child("channels")
    for ch in spec.channels:
        node = channels.append_child("channel")
        for key, value in ch.as_row().items():
            if value != "":
                node.append_child_value(key, value)
    acq = desc.append_child("acquisition")
    for key, value in spec.device.items():
        acq.append_child_value(str(key), str(value))
    # liblsl's XML keeps ~16 significant digits; the exact rate travels as repr()
    desc.append_child_value("nominal_rate_hz_exact", repr(float(spec.nominal_rate_hz)))
    return info


def _text(node: ET.Element | None, tag: str) -> str:
    child = node.find(tag) if node is not None else None
    return (child.text or "").strip() if child is not None else ""


def spec_from_info(info: pylsl.StreamInfo, *, name: str | None = None) -> StreamSpec:
    """Read a stream's declaration back from its LSL metadata.

    Pass a full info (``inlet.info()``): infos from resolving carry no ``desc``.

    Works for streams of other applications too: channels without a ``desc/channels``
    entry get labels ``ch0``, ``ch1``, ... and empty units.
    """
    root = ET.fromstring(info.as_xml())
    desc = root.find("desc")
    channels = channels_from_desc(desc, info.channel_count())
    device = device_from_desc(desc)
    rate = float(info.nominal_srate())
    exact = _text(desc, "nominal_rate_hz_exact")
    if exact:
        try:
            if abs(float(exact) - rate) <= 1e-9 * max(1.0, rate):
                rate = float(exact)
        except ValueError:
            pass  # a foreign app's text: keep liblsl's value
    return StreamSpec(
        name=name or info.name(),
        type=info.type() or "other",
        channels=channels,
        nominal_rate_hz=rate,
        dtype=dtype_of(info.channel_format()),
        source_id=info.source_id(),
        device=device,
    )


def create_outlet(spec: StreamSpec, *, chunk_size: int = 0,
                  max_buffered_s: int = 360) -> pylsl.StreamOutlet:
    """Publish a stream on LSL with labkit's metadata conventions."""
    return pylsl.StreamOutlet(make_info(spec), chunk_size, max_buffered_s)


def resolve(*, name: str | None = None, type: str | None = None, source_id: str | None = None,
            timeout_s: float = 5.0, minimum: int = 1) -> list[pylsl.StreamInfo]:
    """Find streams by name, type and/or source_id within ``timeout_s``.

    Returns the matching streams seen (at least ``minimum`` unless the time ran out, then
    possibly fewer or none).

    A continuous resolver keeps querying in the background until enough streams answered:
    one-shot resolves (``pylsl.resolve_bypred``) were seen to miss local streams on busy
    2-core machines.
    """
    preds = []
    for key, value in (("name", name), ("type", type), ("source_id", source_id)):
        if value is not None:
            if "'" in value:
                raise ConfigError(f"{key}={value!r} must not contain a quote")
            preds.append(f"{key}='{value}'")
    resolver = (pylsl.ContinuousResolver(pred=" and ".join(preds), forget_after=5.0) if preds
                else pylsl.ContinuousResolver(forget_after=5.0))
    try:
        deadline = time.monotonic() + timeout_s
        found: list[pylsl.StreamInfo] = []
        while True:
            found = list(resolver.results())
            if len(found) >= max(minimum, 1) or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if minimum <= 0 and not found:  # "everything visible": give the wave its full time
            found = list(resolver.results())
        return found
    finally:
        del resolver


def open_inlet(info: pylsl.StreamInfo, *, max_buffered_s: int = 360, recover: bool = True,
               open_timeout_s: float = 5.0) -> pylsl.StreamInlet:
    """An inlet with a large buffer (``max_buffered_s`` seconds) that reconnects by itself."""
    inlet = pylsl.StreamInlet(info, max_buflen=max_buffered_s, recover=recover)
    inlet.open_stream(timeout=open_timeout_s)
    return inlet


@dataclass(frozen=True)
class ClockOffset:
    """One clock-offset measurement: receiver minus sender clock, with its round trip."""

    collection_time_s: float
    offset_s: float
    rtt_s: float


_time_correction_ex = None


def clock_offset(inlet: pylsl.StreamInlet, *, timeout_s: float = 2.0) -> ClockOffset:
    """Measure the clock offset of an inlet's source, with the round-trip uncertainty.

    Uses liblsl's ``lsl_time_correction_ex`` (pylsl only exposes the offset); the
    ``uncertainty`` it reports is half the round-trip time of the best probe.
    """
    global _time_correction_ex
    if _time_correction_ex is None:
        fn = pylsl.lib.lib.lsl_time_correction_ex
        fn.restype = ctypes.c_double
        fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double),
                       ctypes.POINTER(ctypes.c_double), ctypes.c_double,
                       ctypes.POINTER(ctypes.c_int32)]
        _time_correction_ex = fn
    remote = ctypes.c_double()
    uncertainty = ctypes.c_double()
    errcode = ctypes.c_int32()
    offset = _time_correction_ex(inlet.obj, ctypes.byref(remote), ctypes.byref(uncertainty),
                                 ctypes.c_double(timeout_s), ctypes.byref(errcode))
    if errcode.value == -1:
        raise TimeoutError(f"no clock offset from {inlet.info().name()!r} within {timeout_s} s")
    if errcode.value == -2:
        raise DeviceError(f"stream {inlet.info().name()!r} was lost while measuring its clock")
    if errcode.value < 0:
        raise DeviceError(f"liblsl error {errcode.value} while measuring the clock offset")
    # remote_time is the sender's clock at the probe; map it to our clock
    collection = remote.value + offset if remote.value else pylsl.local_clock()
    return ClockOffset(float(collection), float(offset), 2.0 * float(uncertainty.value))


@dataclass(frozen=True)
class StreamInfoSummary:
    """What ``labkit streams`` prints for each visible stream."""

    name: str
    type: str
    source_id: str
    nominal_rate_hz: float
    channel_format: str
    n_channels: int
    labels: tuple[str, ...]
    hostname: str


def full_info(info: pylsl.StreamInfo, timeout_s: float = 5.0) -> pylsl.StreamInfo:
    """The complete info (with ``desc``) of a resolved stream, fetched from its source."""
    inlet = pylsl.StreamInlet(info, max_buflen=1, recover=False)
    try:
        return inlet.info(timeout=timeout_s)
    finally:
        del inlet


def summarize(infos: Sequence[pylsl.StreamInfo], timeout_s: float = 5.0) -> list[StreamInfoSummary]:
    """Summaries of resolved streams, reading each one's full metadata."""
    out = []
    for info in infos:
        spec = spec_from_info(full_info(info, timeout_s))
        out.append(StreamInfoSummary(spec.name, spec.type, spec.source_id, spec.nominal_rate_hz,
                                     str(spec.dtype), len(spec.channels),
                                     tuple(c.label for c in spec.channels), info.hostname()))
    return sorted(out, key=lambda s: (s.type, s.name, s.source_id))


def wait_for(predicate, timeout_s: float, interval_s: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout_s`` passes."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
