"""Motion capture adopted from an existing LSL app (Qualisys, OptiTrack, Vicon bridges).

:class:`LslMocapSource` finds the app's stream (``match`` of an ``lsl_mocap`` device),
reads its channel metadata, maps it to labkit's conventions and republishes it as
``<source_prefix>-<name>`` (type ``mocap``):

* positions: channels grouped into ``<marker>.x/.y/.z`` from the ``marker`` /
  ``rigid_body`` / ``segment`` + ``axis`` metadata, or from labels such as ``LASI_X``,
  ``LASI.x``, ``LASI x``; converted to metres from the channel ``unit`` (``mm``,
  ``millimeters``, ``cm``, ``m``, ...; config ``unit`` when the app gives none);
* axes: labkit is Z-up (x anterior, y left, z up). ``up: y`` maps a Y-up source
  (x, y, z) -> (x, -z, y); ``axes`` gives any signed permutation; ``up: auto`` reads
  ``up_axis`` from the metadata, assumes Y-up for OptiTrack/NaturalPoint (Motive's
  default), otherwise Z-up;
* orientations: quaternion channels (``qw qx qy qz``) are rotated with the axes
  (proper rotations only);
* a frame-number channel (label ``frame``, ``FrameNumber``...) becomes the counter, so
  frames the app dropped show as gaps; otherwise the counter counts received samples;
* a nominal rate of 0 is measured over ``measure_rate_s`` and published.

Other channels (residuals, marker counts...) are dropped and listed in the log.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

import numpy as np

from labkit.config.hardware import LslMocap
from labkit.devices.base import DeviceSource
from labkit.errors import ConfigError, DeviceError
from labkit.spec import COUNTER, ChannelSpec, StreamSpec

__all__ = ["LslMocapSource", "MocapMapping", "axes_matrix", "map_channels"]

log = logging.getLogger(__name__)

UNITS_TO_M = {"m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
              "mm": 1e-3, "millimeter": 1e-3, "millimeters": 1e-3, "millimetre": 1e-3, "millimetres": 1e-3,
              "cm": 1e-2, "centimeter": 1e-2, "centimeters": 1e-2, "centimetre": 1e-2, "centimetres": 1e-2}
_LABEL = re.compile(r"^(?P<name>.+?)[._\s:\-]?(?P<axis>[XYZxyz]|[Qq][WXYZwxyz])$")
_FRAME = {"frame", "framenumber", "frame_number", "frameno", "frame_no"}


def axes_matrix(axes) -> np.ndarray:
    """3x3 matrix ``R`` with ``labkit = R @ source`` for axes like ``("x", "-z", "y")``."""
    r = np.zeros((3, 3))
    for i, a in enumerate(axes):
        r[i, "xyz".index(a[-1])] = -1.0 if a.startswith("-") else 1.0
    return r


@dataclass(frozen=True)
class MocapMapping:
    """Which source columns make which labkit channels, and how to convert them."""

    positions: list[tuple[str, tuple[int, int, int]]]   # name, source columns of x y z
    orientations: list[tuple[str, tuple[int, int, int, int]]]  # name, columns of qw qx qy qz
    kinds: dict[str, str]  # name -> marker | rigid_body | segment
    scale_to_m: float
    rotation: np.ndarray
    frame_column: int | None
    dropped: list[str]


def map_channels(spec: StreamSpec, device: LslMocap) -> MocapMapping:
    """Map a foreign stream's channels (``spec_from_info``) to labkit's conventions.

    Raises ``ConfigError`` naming the problem (no position triplets, unknown or mixed
    units, an improper axis mapping for orientations).
    """
    groups: dict[str, dict[str, int]] = {}
    kinds: dict[str, str] = {}
    units: set[str] = set()
    frame_col = None
    dropped = []
    for i, ch in enumerate(spec.channels):
        extra = {k.lower(): str(v) for k, v in ch.extra.items()}
        if ch.label.replace(" ", "").lower() in _FRAME or ch.type.lower() in ("frame", "framenumber"):
            frame_col = i
            continue
        name = axis = None
        for key in ("marker", "rigid_body", "rigidbody", "segment", "object"):
            if extra.get(key):
                name, kinds[extra[key]] = extra[key], key.replace("rigidbody", "rigid_body")
                axis = extra.get("axis") or extra.get("component")
                break
        if axis is None:
            m = _LABEL.match(ch.label)
            if m is None:
                dropped.append(ch.label)
                continue
            name = name or m.group("name")
            axis = m.group("axis")
        axis = axis.lower()
        if axis not in ("x", "y", "z", "qw", "qx", "qy", "qz"):
            dropped.append(ch.label)
            continue
        groups.setdefault(name, {})[axis] = i
        kinds.setdefault(name, "marker")
        if axis in "xyz" and ch.unit:
            units.add(ch.unit.strip().lower())
    positions = [(n, (g["x"], g["y"], g["z"])) for n, g in groups.items() if {"x", "y", "z"} <= set(g)]
    orientations = [(n, (g["qw"], g["qx"], g["qy"], g["qz"])) for n, g in groups.items()
                    if {"qw", "qx", "qy", "qz"} <= set(g)]
    if not positions:
        raise ConfigError(f"device {device.name!r}: stream {spec.name!r} has no x/y/z position channels "
                          f"(labels {[c.label for c in spec.channels][:6]}...); label channels like "
                          "LASI_X or give marker/axis metadata")
    unknown = [u for u in units if u not in UNITS_TO_M]
    if unknown or len({UNITS_TO_M[u] for u in units if u in UNITS_TO_M}) > 1:
        raise ConfigError(f"device {device.name!r}: position units {sorted(units)} are unknown or mixed; "
                          "set unit: m|mm|cm in the config")
    if device.unit != "auto":
        scale = UNITS_TO_M[device.unit]
        if units and UNITS_TO_M[next(iter(units))] != scale:
            log.warning("device %s: config unit %s overrides the stream's %s", device.name, device.unit,
                        sorted(units))
    elif units:
        scale = UNITS_TO_M[next(iter(units))]
    else:
        raise ConfigError(f"device {device.name!r}: stream {spec.name!r} does not say its position unit; "
                          "set unit: m|mm|cm in the config")
    rotation = axes_matrix(_axes(spec, device))
    if orientations and np.linalg.det(rotation) < 0:
        raise ConfigError(f"device {device.name!r}: axes {list(device.axes)} mirror the frame; "
                          "orientations cannot be mapped: use a proper rotation (e.g. [x, -z, y])")
    return MocapMapping(positions, orientations, kinds, scale, rotation, frame_col, dropped)


def _axes(spec: StreamSpec, device: LslMocap) -> tuple[str, str, str]:
    if tuple(device.axes) != ("x", "y", "z") or device.up == "z":
        return tuple(device.axes)
    up = device.up
    if up == "auto":
        dev = {k.lower(): str(v).lower() for k, v in spec.device.items()}
        hint = dev.get("up_axis") or dev.get("coordinate_system") or ""
        optitrack = any(w in dev.get("manufacturer", "") for w in ("optitrack", "naturalpoint"))
        up = "y" if hint.startswith("y") or (not hint and optitrack) else "z"
    return ("x", "-z", "y") if up == "y" else ("x", "y", "z")


def _quat_rotate(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Express orientation quaternions (n, 4: w x y z) in the frame ``labkit = r @ source``."""
    from scipy.spatial.transform import Rotation

    rot = Rotation.from_quat(q[:, [1, 2, 3, 0]])  # scipy: x y z w
    frame = Rotation.from_matrix(r)
    out = (frame * rot * frame.inv()).as_quat()
    return out[:, [3, 0, 1, 2]]


class LslMocapSource(DeviceSource):
    """Adopt a mocap app's LSL stream, map it and republish it (see the module docstring).

    Parameters
    ----------
    device : LslMocap
    source_id : str
        source_id of the republished stream (``<prefix>-<name>``).
    resolve_timeout_s : float
    """

    def __init__(self, device: LslMocap, source_id: str, *, resolve_timeout_s: float = 10.0):
        super().__init__()
        self.device, self.source_id = device, source_id
        self.resolve_timeout_s = float(resolve_timeout_s)
        self.rate_hz = 0.0
        self.measured_rate_hz: float | None = None
        self.source_spec: StreamSpec | None = None
        self.mapping: MocapMapping | None = None
        self._pending: tuple[np.ndarray, np.ndarray] | None = None
        self.first_frame: int | None = None
        self.spec = StreamSpec(device.name, "mocap", [COUNTER], 0.0, "float32", source_id=source_id)

    def _open(self) -> None:
        import pylsl

        from labkit.lsl.streams import resolve, spec_from_info

        m = self.device.match
        infos = [i for i in resolve(name=m.name, type=m.type, source_id=m.source_id,
                                    timeout_s=self.resolve_timeout_s) if i.source_id() != self.source_id]
        if not infos:
            raise DeviceError(f"device {self.device.name!r}: no LSL stream matches "
                              f"{m.model_dump(exclude_none=True)} after {self.resolve_timeout_s:g} s; start "
                              "the mocap app's LSL output (Qualisys/OptiTrack/Vicon bridge)")
        self.inlet = pylsl.StreamInlet(infos[0], max_buflen=360, recover=True,
                                       processing_flags=pylsl.proc_clocksync)
        self.inlet.open_stream(timeout=5.0)
        self.source_spec = spec_from_info(self.inlet.info(timeout=5.0))
        self.mapping = map_channels(self.source_spec, self.device)
        if self.mapping.dropped:
            log.info("device %s: channels not republished: %s", self.device.name, self.mapping.dropped)
        rate = float(self.source_spec.nominal_rate_hz)
        if rate <= 0:
            rate = self._measure_rate()
        self.rate_hz = rate
        self.spec = self._spec(rate)

    def _measure_rate(self) -> float:
        rows, stamps = [], []
        end = time.monotonic() + self.device.measure_rate_s
        while time.monotonic() < end:
            x, ts = self.inlet.pull_chunk(timeout=0.05)
            rows += x
            stamps += ts
        if len(stamps) < 3:
            raise DeviceError(f"device {self.device.name!r}: only {len(stamps)} samples in "
                              f"{self.device.measure_rate_s:g} s; cannot measure the rate of a stream "
                              "with nominal rate 0 (is the mocap app streaming?)")
        t = np.asarray(stamps)
        rate = (len(t) - 1) / (t[-1] - t[0])
        self.measured_rate_hz = float(rate)
        self._pending = (np.asarray(rows, dtype=np.float64), t)
        log.info("device %s: nominal rate 0; measured %.4f Hz", self.device.name, rate)
        return float(rate)

    def _spec(self, rate: float) -> StreamSpec:
        mp = self.mapping
        channels = []
        for name, _ in mp.positions:
            kind = mp.kinds.get(name, "marker")
            channels += [ChannelSpec(f"{name}.{a}", "m", "position", extra={kind: name, "axis": a})
                         for a in "xyz"]
        for name, _ in mp.orientations:
            kind = mp.kinds.get(name, "rigid_body")
            channels += [ChannelSpec(f"{name}.{a}", "", "orientation", extra={kind: name, "axis": a})
                         for a in ("qw", "qx", "qy", "qz")]
        src = self.source_spec
        device = {"manufacturer": src.device.get("manufacturer", ""), "model": src.device.get("model", ""),
                  "serial": src.source_id, "adopted_from": f"{src.name} ({src.source_id})",
                  "axes": ",".join(_axes(src, self.device)), "scale_to_m": repr(mp.scale_to_m)}
        if self.measured_rate_hz is not None:
            device["rate_measured"] = "true"
        return StreamSpec(self.device.name, "mocap", [*channels, COUNTER], rate, "float32",
                          source_id=self.source_id, device=device)

    def convert(self, rows: np.ndarray) -> np.ndarray:
        """Source samples (n, source channels) -> labkit channels (n, channels - counter)."""
        mp = self.mapping
        out = []
        for _, cols in mp.positions:
            out.append(rows[:, list(cols)] * mp.scale_to_m @ mp.rotation.T)
        for _, cols in mp.orientations:
            q = rows[:, list(cols)]
            good = np.isfinite(q).all(axis=1) & (np.linalg.norm(q, axis=1) > 0)
            r = np.full_like(q, np.nan)
            if good.any():
                r[good] = _quat_rotate(q[good], mp.rotation)
            out.append(r)
        return np.hstack(out) if out else np.empty((rows.shape[0], 0))

    def _emit(self, rows: np.ndarray, stamps: np.ndarray) -> None:
        if rows.shape[0] == 0:
            return
        values = self.convert(rows)
        fc = self.mapping.frame_column
        if fc is not None:
            frames = np.rint(rows[:, fc]).astype(np.int64)
            if self.first_frame is None:
                self.first_frame = int(frames[0])
            # publish contiguous runs of frames; the counter skips frames the app dropped
            cuts = np.flatnonzero(np.diff(frames) != 1) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(frames)], strict=True):
                gap = int(frames[lo]) - (self.first_frame + self._counter)
                if gap > 0:
                    self._skip(gap, "the mocap app skipped frames")
                self._publish(values[lo:hi], stamps[lo:hi], 0, int(frames[lo]) - self.first_frame)
        else:
            self._publish(values, stamps, 0, self._counter)

    def _run(self) -> None:
        import pylsl

        if self._pending is not None:
            self._emit(*self._pending)
            self._pending = None
        while not self._stop.is_set():
            try:
                x, ts = self.inlet.pull_chunk(timeout=0.05)
            except pylsl.LostError:
                continue
            if x:
                self._emit(np.asarray(x, dtype=np.float64), np.asarray(ts))

    def _close(self) -> None:
        self.inlet = None
