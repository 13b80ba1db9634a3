"""What a stream is: channel and stream declarations shared by devices, LSL and sessions.

Plain dataclasses with validation; no LSL or HDF5 here, so devices, the recorder and the
session writer can all use them.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import ConfigError

#: Channel-table columns every stream has (more string columns may follow).
CHANNEL_FIELDS = ("label", "unit", "type", "muscle", "side", "device_channel")

#: Sample dtypes a stream may have: what LSL devices send (cf_float32, cf_double64,
#: cf_int8..cf_int64, cf_string) plus unsigned integers from DAQ boards.
NUMERIC_SAMPLE_DTYPES = tuple(
    np.dtype(t)
    for t in ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
              "uint32", "uint64")
)

DEFAULT_STRING_SAMPLE_BYTES = 1024


@dataclass(frozen=True)
class ChannelSpec:
    """One channel of a stream.

    Parameters
    ----------
    label : str
        ``<muscle>_<side>`` for EMG, ``<plate>.<component>`` for plates,
        ``<marker>.<axis>`` for mocap.
    unit : str
        SI unit of the values as stored (``"N"``, ``"N.m"``, ``"V"``, ``"m"``, ``"count"``).
    type : str
        Channel type (``"force"``, ``"emg"``, ``"position"``, ``"counter"``, ...).
    muscle, side, device_channel : str
        Empty when not applicable.
    extra : mapping of str to str
        More string columns for the channel table (``plate``, ``component``, ...).
    """

    label: str
    unit: str = ""
    type: str = ""
    muscle: str = ""
    side: str = ""
    device_channel: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def as_row(self) -> dict[str, str]:
        row = {name: str(getattr(self, name)) for name in CHANNEL_FIELDS}
        row.update({str(k): str(v) for k, v in self.extra.items()})
        return row


@dataclass(frozen=True)
class StreamSpec:
    """What a stream is, declared before recording starts.

    Parameters
    ----------
    name : str
        Group name in the file (no ``/``).
    type : str
        Stream type: force, emg, mocap, markers, ... (``labkit.session.format.STREAM_TYPES``).
    channels : sequence of ChannelSpec
        One per column of the samples.
    nominal_rate_hz : float
        Exact nominal rate as the device reports it (e.g. 2148.148148148148); 0 for an
        irregular stream (markers, events).
    dtype : str or numpy dtype
        Sample dtype as the device sends it, or ``"string"``.
    source_id : str
        Unique id of the source (LSL source_id).
    device : mapping
        Device description (manufacturer, model, serial, ...), stored as JSON.
    max_string_bytes : int
        Width of one UTF-8 sample of a string stream.
    """

    name: str
    type: str
    channels: Sequence[ChannelSpec]
    nominal_rate_hz: float
    dtype: Any = "float32"
    source_id: str = ""
    device: Mapping[str, Any] = field(default_factory=dict)
    max_string_bytes: int = DEFAULT_STRING_SAMPLE_BYTES

    @property
    def is_string(self) -> bool:
        return isinstance(self.dtype, str) and self.dtype in ("string", "str")

    def validate(self) -> None:
        where = f"stream {self.name!r}"
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise ConfigError(
                f"stream name {self.name!r} is invalid: use a non-empty name without '/' "
                "that does not start with '.'"
            )
        if not self.channels:
            raise ConfigError(f"{where} has no channels: declare at least one ChannelSpec")
        labels = [c.label for c in self.channels]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ConfigError(f"{where} has duplicate channel labels {dupes}: labels must be unique")
        rate = float(self.nominal_rate_hz)
        if not math.isfinite(rate) or rate < 0:
            raise ConfigError(
                f"{where} has nominal_rate_hz={self.nominal_rate_hz!r}: use a positive rate in Hz, "
                "or 0 for an irregular stream"
            )
        if not self.is_string:
            try:
                dt = np.dtype(self.dtype)
            except TypeError as exc:
                raise ConfigError(
                    f"{where} has dtype={self.dtype!r}: use one of float32, float64, int8..int64, "
                    "uint8..uint64 or 'string'"
                ) from exc
            if dt not in NUMERIC_SAMPLE_DTYPES:
                raise ConfigError(
                    f"{where} has dtype={dt}: use one of float32, float64, int8..int64, "
                    "uint8..uint64 or 'string'"
                )
        elif self.max_string_bytes < 1:
            raise ConfigError(f"{where} has max_string_bytes={self.max_string_bytes}: use >= 1")


# -- the lab's channel conventions (design.md: ``<plate>.<component>``, ``<muscle>_<side>``,
# ``<marker>.<axis>``, and a ``counter`` channel on every stream labkit publishes)

#: Components of a 6-channel force plate, in stream order.
PLATE_COMPONENTS = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")

#: The sample counter every labkit stream carries, so that loss is detectable end to end.
COUNTER = ChannelSpec("counter", "count", "counter")


def plate_channel(plate: str, component: str, device_channel: str = "") -> ChannelSpec:
    """``fp1.Fz`` (N) or ``fp1.Mx`` (N.m), with ``plate`` and ``component`` columns."""
    return ChannelSpec(f"{plate}.{component}", "N" if component.startswith("F") else "N.m", "force",
                       device_channel=device_channel, extra={"plate": plate, "component": component})


def emg_channel(muscle: str, side: str, device_channel: str = "") -> ChannelSpec:
    """``gluteus_maximus_r`` (V), with ``muscle`` and ``side`` columns."""
    return ChannelSpec(f"{muscle}_{side}", "V", "emg", muscle=muscle, side=side,
                       device_channel=device_channel)


def marker_channels(marker: str, kind: str = "marker") -> list[ChannelSpec]:
    """``LASI.x``, ``LASI.y``, ``LASI.z`` (m), with ``<kind>`` and ``axis`` columns."""
    return [ChannelSpec(f"{marker}.{a}", "m", "position", extra={kind: marker, "axis": a})
            for a in "xyz"]


# -- XDF/LSL stream metadata (``<desc><channels><channel>``, ``<desc><acquisition>``), read
# the same way for live LSL streams (labkit.lsl.streams) and XDF files (labkit.analysis.xdf)


def channels_from_desc(desc: ET.Element | None, n_channels: int) -> list[ChannelSpec]:
    """Channel specs from an XDF/LSL ``<desc>`` element.

    Each ``<channels><channel>`` child gives one channel: ``label``, ``unit``, ``type``,
    ``muscle``, ``side``, ``device_channel`` and any other tags as extra columns. A channel
    described by ``<name>`` instead of ``<label>`` (some LSL apps and older LabRecorder
    setups write it so) is labelled by its name. Channels without an entry get labels
    ``ch0``, ``ch1``, ... and empty units; repeated labels (foreign apps sometimes repeat
    them) get ``_<index>`` appended.
    """
    chan_nodes = desc.findall("channels/channel") if desc is not None else []
    channels = []
    for i in range(n_channels):
        node = chan_nodes[i] if i < len(chan_nodes) else None
        row = {child.tag: (child.text or "").strip() for child in (node if node is not None else [])}
        # <name> stands in for a missing or empty <label> (and is then not kept twice)
        label = row.pop("label", "") or row.pop("name", "") or f"ch{i}"
        base = {k: row.pop(k, "") for k in CHANNEL_FIELDS if k != "label"}
        channels.append(ChannelSpec(label, extra=row, **base))
    labels = [c.label for c in channels]
    if len(set(labels)) != len(labels):
        channels = [ChannelSpec(f"{c.label}_{i}" if labels.count(c.label) > 1 else c.label,
                                c.unit, c.type, c.muscle, c.side, c.device_channel, c.extra)
                    for i, c in enumerate(channels)]
    return channels


def device_from_desc(desc: ET.Element | None) -> dict[str, str]:
    """The ``<desc><acquisition>`` children (manufacturer, model, serial, ...) as a dict."""
    acq = desc.find("acquisition") if desc is not None else None
    return {child.tag: (child.text or "").strip() for child in acq} if acq is not None else {}


def unique_stream_name(raw: str, taken: set[str]) -> str:
    """A session stream name from a source's name: unsafe characters become ``_``; a name
    already in ``taken`` gets ``-2``, ``-3``, ... (``taken`` is not changed)."""
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", raw).lstrip(".") or "stream"
    final, k = name, 2
    while final in taken:
        final = f"{name}-{k}"
        k += 1
    return final
