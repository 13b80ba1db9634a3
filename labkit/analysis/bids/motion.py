"""Motion capture as BIDS Motion: ``_tracksys-<label>_motion.tsv`` (no header, one row per
frame), ``_motion.json``, ``_channels.tsv`` (component, type, tracked_point, units) and
``_channels.json`` (the reference frame).

Positions are type POS (component x, y, z; m), orientations type ORNT (quaternion
components quat_w, quat_x, quat_y, quat_z; units n/a), other numeric channels MISC. A
first column ``latency`` (type LATENCY, s) holds each frame's synchronised time from the
file's first frame, so dropped frames are visible; an occluded marker is ``n/a``. The
``counter`` channel is left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from labkit.analysis.bids.naming import RunEntities
from labkit.analysis.bids.tables import write_json, write_matrix, write_tsv
from labkit.errors import ConfigError
from labkit.session.reader import Stream

_CHANNEL_COLUMNS = ("name", "component", "type", "tracked_point", "units", "reference_frame",
                    "description")
_QUATERNION = {"qw": "quat_w", "qx": "quat_x", "qy": "quat_y", "qz": "quat_z"}
#: labkit's lab frame (docs/devices.md): x anterior (Forward), y Left, z Up, right-handed
LAB_FRAME = {"SpatialAxes": "FLU", "RotationRule": "right-hand", "RotationOrder": "n/a",
             "Description": "labkit lab frame: x anterior, y to the left, z up (metres)."}


def _component(row) -> tuple[str, str]:
    """(BIDS type, component) of one labkit channel."""
    axis = str(getattr(row, "axis", "") or row.label.rsplit(".", 1)[-1]).lower()
    if row.type == "position" and axis in ("x", "y", "z"):
        return "POS", axis
    if row.type == "orientation" and axis in _QUATERNION:
        return "ORNT", _QUATERNION[axis]
    return "MISC", "n/a"


def _tracked_point(row) -> str:
    for key in ("marker", "segment", "rigid_body"):
        value = str(getattr(row, key, "") or "")
        if value:
            return value
    return row.label.rsplit(".", 1)[0]


def write_motion(stream: Stream, folder: Path, entities: RunEntities, *, tracksys: str,
                 task_fields: dict[str, str], in_lab_frame: bool, labkit_version: str
                 ) -> tuple[list[Path], float]:
    """Write one motion stream; returns the files and the synchronised time of its first
    frame (the time origin of its ``_events.tsv``)."""
    cols = [i for i, t in enumerate(stream.channels["type"]) if t != "counter"]
    if stream.channel_format == "string" or not cols or stream.n_samples == 0:
        raise ConfigError(f"stream {stream.name!r} has no numeric samples; it cannot be written as "
                          "BIDS motion")
    times = stream.times
    rows_ch = stream.channels.iloc[cols]
    kinds = [_component(r) for r in rows_ch.itertuples(index=False)]
    frame = "global" if in_lab_frame else "source"
    channel_rows = [("latency", "n/a", "LATENCY", "n/a", "s", "n/a",
                     "time of the frame from the first frame (labkit session clock, synchronised)")]
    for row, (kind, comp) in zip(rows_ch.itertuples(index=False), kinds, strict=True):
        units = "n/a" if kind == "ORNT" else (row.unit or "n/a")
        channel_rows.append((row.label, comp, kind, _tracked_point(row), units, frame,
                             f"labkit channel {row.label}"))
    stem = dict(tracksys=tracksys)
    data = np.column_stack([times - times[0], stream.data[:, cols].astype(np.float64)])
    dtypes = [np.dtype(np.float64)] + [stream.data.dtype] * len(cols)
    files = [write_matrix(folder / entities.name("motion", ".tsv", **stem), data, dtypes)]
    types = [k for k, _ in kinds]
    points = {_tracked_point(r) for r, (k, _) in zip(rows_ch.itertuples(index=False), kinds, strict=True)
              if k in ("POS", "ORNT")}
    sidecar = {
        **task_fields,
        "SamplingFrequency": stream.rate_hz if stream.rate_hz > 0 else "n/a",
        "SamplingFrequencyEffective": stream.effective_rate_hz(),
        "TrackingSystemName": stream.name,
        "Manufacturer": str(stream.device.get("manufacturer", "")) or "n/a",
        "ManufacturersModelName": str(stream.device.get("model", "")) or "n/a",
        "SoftwareVersions": f"labkit {labkit_version}",
        "MotionChannelCount": len(channel_rows),
        **{f"{kind}ChannelCount": 0 for kind in ("ACCEL", "ANGACCEL", "GYRO", "JNTANG", "MAGN", "VEL")},
        "POSChannelCount": types.count("POS"),
        "ORNTChannelCount": types.count("ORNT"),
        "LATENCYChannelCount": 1,
        "MiscChannelCount": types.count("MISC"),
        "TrackedPointsCount": len(points),
        "MissingValues": "n/a",
    }
    if stream.device.get("serial"):
        sidecar["DeviceSerialNumber"] = str(stream.device["serial"])
    files.append(write_json(folder / entities.name("motion", ".json", **stem), sidecar))
    channels_tsv = write_tsv(folder / entities.name("channels", ".tsv", **stem), _CHANNEL_COLUMNS,
                             channel_rows)
    levels = {"global": LAB_FRAME} if in_lab_frame else {
        "source": {"Description": "the frame of the imported source file, as it was"}}
    files.append(write_json(channels_tsv.with_suffix(".json"),
                            {"reference_frame": {"Description": "Frame of the position and "
                                                 "orientation channels.", "Levels": levels}}))
    return [*files, channels_tsv], float(times[0])
