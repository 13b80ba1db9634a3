"""What the data of a C3D file becomes in a session: the streams of
:func:`~labkit.analysis.c3d.importer.import_c3d`.

The steps of :func:`~labkit.analysis.c3d.importer._build_session`, one per stream kind:
the clock and data (:func:`_source`), the analog channels (plates, EMG, the rest:
:func:`_analog_streams`) and the points (markers and model outputs: :func:`_point_streams`).
The table of what each stream holds is in :mod:`labkit.analysis.c3d.importer`.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labkit.analysis.c3d.parameters import (
    _FORCE_N,
    _LENGTH_M,
    _MODEL_GROUPS,
    _PLATE_COMPONENTS,
    _first_number,
    _group,
    _length_factor,
    _moment_key_factor,
    _strings,
    _text,
    _unique,
    _unit_key,
)
from labkit.analysis.c3d.plates import _adc_limit_frames, _plate_loads, _plate_rotation, _plates
from labkit.errors import ConfigError, LabkitWarning

_VOLTS = {"v": 1.0, "mv": 1e-3, "uv": 1e-6, "µv": 1e-6, "μv": 1e-6}
#: analog channels in volts that are not EMG
_NOT_EMG = re.compile(r"trig|sync|ttl|pulse|switch|fsw|accel|^acc|gyro|^mag|gonio|volt|^analog|^ai\d|"
                      r"^ch\s*\d|^channel|^aux|battery|^ref", re.IGNORECASE)
_SIDE_PATTERNS = (re.compile(r"^(?P<side>l|r|left|right)[\s_.\-]+(?P<muscle>.+)$", re.IGNORECASE),
                  re.compile(r"^(?P<muscle>.+?)[\s_.\-]+(?P<side>l|r|left|right)$", re.IGNORECASE))
_QUANTITY = {"ANGLES": "angle", "FORCES": "force", "MOMENTS": "moment", "POWERS": "power",
             "SCALARS": "scalar"}
#: declared unit (lower case, no spaces or dots) -> (factor to SI, SI unit)
_MODEL_UNITS = {"deg": (math.pi / 180.0, "rad"), "degree": (math.pi / 180.0, "rad"),
                "degrees": (math.pi / 180.0, "rad"), "rad": (1.0, "rad"), "w": (1.0, "W"),
                "watt": (1.0, "W"), "watts": (1.0, "W")}


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


def _emg_name(label: str, description: str) -> tuple[str, str, str]:
    """``(label, muscle, side)``: ``L Rectus`` -> ``rectus_l``; ``EMG1`` -> ``emg1``."""
    for text in (label, description):
        for rx in _SIDE_PATTERNS:
            m = rx.match(text.strip())
            if m and _slug(m["muscle"]):
                muscle, side = _slug(m["muscle"]), m["side"][0].lower()
                return f"{muscle}_{side}", muscle, side
    slug = _slug(label) or _slug(description) or "emg"
    return slug, slug, ""


def _is_emg(label: str, unit: str) -> bool:
    return _unit_key(unit) in _VOLTS and not _NOT_EMG.search(label.strip())


def _model_groups(point: Mapping[str, Any]) -> list[tuple[str, str]]:
    tg = _strings(point, "TYPE_GROUPS")
    if len(tg) >= 2 and len(tg) % 2 == 0:
        return [(tg[i].upper(), tg[i + 1].upper()) for i in range(0, len(tg), 2)]
    return list(_MODEL_GROUPS)


def _model_unit(unit: str) -> tuple[float, str]:
    """(factor to SI, SI unit) of a declared model-output unit; unknown units stay as they are."""
    key = _unit_key(unit)
    if key in _MODEL_UNITS:
        return _MODEL_UNITS[key]
    if key in _FORCE_N:
        return _FORCE_N[key], "N"
    if key in _LENGTH_M:
        return _LENGTH_M[key], "m"
    moment = _moment_key_factor(key)
    return (moment, "N.m") if moment is not None else (1.0, unit.strip())


def _crop(times: np.ndarray, data: np.ndarray, span: tuple[float, float] | None, rate: float
          ) -> tuple[np.ndarray, np.ndarray]:
    if span is None or len(times) == 0:
        return times, data
    tol = min(1e-6, 1e-3 / rate) if rate > 0 else 1e-9  # as export_c3d placed them
    keep = (times >= span[0] - tol) & (times <= span[1] + tol)
    return times[keep], data[keep]


@dataclass(frozen=True)
class _Source:
    """What every step of :func:`_build_session` reads: the file's groups, data and clock."""

    path: Path
    point: Mapping[str, Any]
    analog: Mapping[str, Any]
    labkit: dict[str, Any]  # _labkit_group
    header: Any
    points: np.ndarray  # (4, points, frames)
    residuals: np.ndarray
    analogs: np.ndarray  # (channels, analog frames)
    point_rate: float
    analog_rate: float
    n_frames: int
    n_analog_frames: int
    offset_s: float
    t0: float
    point_m: float
    maker: dict[str, str]
    base_device: dict[str, str]

    @property
    def spans(self) -> dict[str, tuple[float, float]]:
        return self.labkit.get("spans", {})

    def analog_times(self) -> np.ndarray:
        return self.t0 + np.arange(self.n_analog_frames) / self.analog_rate


def _source(c: Any, path: Path, announced: int | None, lk: dict[str, Any]) -> _Source:
    """The file's groups, data arrays, rates and the session time of its first frame."""
    point = _group(c, "POINT")
    analog = _group(c, "ANALOG")
    offset_s = float(lk.get("time_offset_s", 0.0))
    header = c["header"]
    points = np.asarray(c["data"]["points"], dtype=np.float64)
    residuals = np.asarray(c["data"]["meta_points"]["residuals"], dtype=np.float64)
    analogs = np.asarray(c["data"]["analogs"], dtype=np.float64)
    analogs = analogs[0] if analogs.ndim == 3 and analogs.shape[0] == 1 else analogs.reshape(0, 0)
    point_rate = _first_number(point, "RATE", float(header["points"]["frame_rate"]))
    analog_rate = _first_number(analog, "RATE", float(header["analogs"]["frame_rate"]))
    first = int(header["points"]["first_frame"])
    n_frames = points.shape[2] if points.ndim == 3 else 0
    n_analog_frames = analogs.shape[1] if analogs.ndim == 2 else 0
    expected = announced or 0
    if n_frames and expected > n_frames:
        # stacklevel: the caller of import_c3d (via _build_session)
        warnings.warn(f"{path}: the header announces {expected} frames but the file holds {n_frames}; "
                      "it looks truncated: importing what is there", LabkitWarning, stacklevel=4)
    if point_rate > 0:
        t0 = first / point_rate + offset_s
    elif analog_rate > 0:
        t0 = int(header["analogs"]["first_frame"]) / analog_rate + offset_s
    else:
        raise ConfigError(f"{path}: POINT:RATE and ANALOG:RATE are both 0; the file has no time base")
    point_m = _length_factor(" ".join(_strings(point, "UNITS")[:1]), 1e-3, "POINT:UNITS", path)
    manufacturer = _group(c, "MANUFACTURER")
    maker = {k.lower(): _text(manufacturer, k) for k in manufacturer if k != "__METADATA__"}
    base_device = {"source": "c3d", "file": path.name,
                   "manufacturer": maker.get("company", ""), "software": maker.get("software", "")}
    return _Source(path, point, analog, lk, header, points, residuals, analogs, point_rate, analog_rate,
                   n_frames, n_analog_frames, offset_s, t0, point_m, maker, base_device)


def _analog_streams(c: Any, src: _Source, *, emg_channels: Any, plate_convention: str
                    ) -> tuple[dict[str, tuple[Any, np.ndarray, np.ndarray]], list[str]]:
    """The ``force``, ``emg`` and ``analog`` streams (plates first, then EMG, then the rest) and
    why each unusable plate was left out (its channels go with the other analogs)."""
    analogs = src.analogs
    a_labels = _strings(src.analog, "LABELS")[: analogs.shape[0]]
    a_labels += [f"analog{k + 1}" for k in range(len(a_labels), analogs.shape[0])]
    a_desc = _strings(src.analog, "DESCRIPTIONS")
    a_units = _strings(src.analog, "UNITS")
    plates, dropped = _plates(c, src.path, analogs.shape[0], src.labkit.get("plate_names", []))
    for why in dropped:
        # stacklevel: the caller of import_c3d (via _build_session)
        warnings.warn(f"{src.path}: {why}; importing everything else (those of its channels the file "
                      "has stay in the analog stream)", LabkitWarning, stacklevel=4)
    streams: dict[str, tuple[Any, np.ndarray, np.ndarray]] = {}
    on_plate: set[int] = set()
    if plates and src.analog_rate > 0 and src.n_analog_frames:
        streams["force"] = _force_stream(src, plates, a_labels, a_units, plate_convention)
        for p in plates:
            on_plate.update(p.channels)
    rest = [j for j in range(analogs.shape[0]) if j not in on_plate]
    emg_idx = _emg_columns(src, emg_channels, rest, a_labels, a_units, on_plate)
    other_idx = [j for j in rest if j not in emg_idx]
    if emg_idx and src.n_analog_frames:
        streams["emg"] = _emg_stream(src, emg_idx, emg_channels, a_labels, a_desc, a_units)
    if other_idx and src.n_analog_frames:
        streams["analog"] = _other_analog_stream(src, other_idx, a_labels, a_desc, a_units)
    return streams, dropped


def _force_stream(src: _Source, plates: list[Any], a_labels: list[str], a_units: list[str],
                  plate_convention: str) -> tuple[Any, np.ndarray, np.ndarray]:
    """Every plate's load on the plate (``fpN.Fx`` .. ``fpN.Mz``) and its geometry."""
    from labkit.spec import ChannelSpec, StreamSpec

    path, point_m = src.path, src.point_m
    t = src.analog_times()
    loads, channels, plate_info = [], [], []
    for p in plates:
        x, geo = _plate_loads(p, src.analogs, a_labels, a_units, point_m, path)
        if plate_convention == "reaction":
            x = -x
        geo.update(_check_sign(src, p, x, a_labels, plate_convention))
        loads.append(x)
        used = ",".join(a_labels[j] for j in p.channels)
        for k, comp in enumerate(_PLATE_COMPONENTS):
            dev = a_labels[p.channels[k]] if p.type in (2, 4) else used
            channels.append(ChannelSpec(f"{p.name}.{comp}", "N" if comp[0] == "F" else "N.m", "force",
                                        device_channel=dev,
                                        extra={"plate": p.name, "component": comp,
                                               "c3d_type": str(p.type)}))
        corners_m = p.corners * point_m
        rot = _plate_rotation(corners_m)
        plate_info.append({
            "name": p.name, "type": p.type, "channels": [j + 1 for j in p.channels],
            "channel_labels": [a_labels[j] for j in p.channels],
            "corners_m": corners_m.T.tolist(), "origin_c3d": p.origin.tolist(),
            "cal_matrix": None if p.cal is None else p.cal.tolist(), "zero": p.zero,
            "plate_to_lab": None if rot is None else rot.tolist(),
            **geo})
    data = np.column_stack(loads)
    device = {**src.base_device, "model": "C3D force plates", "plate_convention": plate_convention,
              "plates": ",".join(f"{p.name}:c3d-type{p.type}" for p in plates),
              "origins_m": ";".join(",".join(map(repr, q["origin_m"])) for q in plate_info),
              "c3d_plates": plate_info}
    spec = StreamSpec("force", "force", channels, src.analog_rate, "float64",
                      source_id=f"c3d-{path.stem}-force", device=device)
    return (spec, *_crop(t, data, src.spans.get("force"), src.analog_rate))


def _check_sign(src: _Source, p: Any, x: np.ndarray, a_labels: list[str], plate_convention: str
                ) -> dict[str, Any]:
    """Warn about frames at the ADC limits and, on the other loaded frames, a negative Fz.

    Frames where a plate channel reads the raw ADC zero or a rail (unplugged, switched off or
    saturated amplifier) are reported as such and left out of the sign check, so that they
    never make labkit advise the other plate convention. Returns what goes in the plate info.
    """
    integer = _first_number(src.point, "SCALE", -1.0) > 0
    limit = _adc_limit_frames(src.analog, src.analogs, p.channels, integer=integer)
    at_limit = limit.any(axis=0)
    info: dict[str, Any] = {"adc_limit_frames": int(at_limit.sum())}
    t = src.analog_times()
    if at_limit.any():
        edges = np.flatnonzero(np.diff(np.r_[0, at_limit.astype(np.int8), 0]))
        spans = [[float(t[a]), float(t[b - 1])] for a, b in zip(edges[::2], edges[1::2], strict=True)]
        info["adc_limit_spans_s"] = spans[:50]
        names = ",".join(a_labels[j] for k, j in enumerate(p.channels) if limit[k].any())
        fz = np.median(x[at_limit, 2])
        where = ", ".join(f"{a:.3f}-{b:.3f} s" for a, b in spans[:3]) + (", ..." if len(spans) > 3 else "")
        # stacklevel: the caller of import_c3d (via _build_session, _analog_streams, _force_stream)
        warnings.warn(f"{src.path}: plate {p.name}: {int(at_limit.sum())} of {len(x)} frames "
                      f"({100 * at_limit.mean():.1f}%; {where}) read the raw ADC zero or an ADC rail on "
                      f"{names}: the amplifier was unplugged, off or saturated there, so those frames "
                      f"are not loads (median Fz {fz:.0f} N there) and say nothing about the sign "
                      "convention; the data are kept as recorded (c3d_plates: adc_limit_spans_s)",
                      LabkitWarning, stacklevel=6)
    loaded = (np.abs(x[:, 2]) > 50.0) & ~at_limit
    if loaded.sum() > 0.05 * len(x) and np.median(x[loaded, 2]) < 0:
        other_convention = "action" if plate_convention == "reaction" else "reaction"
        warnings.warn(f"{src.path}: plate {p.name} reads a negative Fz under load "
                      f"(median {np.median(x[loaded, 2]):.0f} N) with plate_convention="
                      f"{plate_convention!r}; if its channels hold the load on the plate, import "
                      f"with plate_convention={other_convention!r} (labkit import --plate-convention "
                      f"{other_convention})",
                      LabkitWarning, stacklevel=6)
    return info


def _emg_columns(src: _Source, emg_channels: Any, rest: list[int], a_labels: list[str],
                 a_units: list[str], on_plate: set[int]) -> list[int]:
    """The analog channels that are EMG: as named, as a labkit export listed them, or by unit."""
    if isinstance(emg_channels, Mapping):
        return _named(src.path, emg_channels.keys(), a_labels, on_plate)
    if emg_channels is not None:
        return _named(src.path, emg_channels, a_labels, on_plate)
    if src.labkit.get("emg"):
        return [j for j in rest if a_labels[j] in set(src.labkit["emg"])]
    return [j for j in rest if _is_emg(a_labels[j], a_units[j] if j < len(a_units) else "")]


def _emg_stream(src: _Source, emg_idx: list[int], emg_channels: Any, a_labels: list[str],
                a_desc: list[str], a_units: list[str]) -> tuple[Any, np.ndarray, np.ndarray]:
    """The EMG channels in V, named ``<muscle>_<side>``."""
    from labkit.spec import ChannelSpec, StreamSpec

    t = src.analog_times()
    names, muscles, sides, factors = [], [], [], []
    for j in emg_idx:
        desc = a_desc[j] if j < len(a_desc) else ""
        unit = a_units[j] if j < len(a_units) else ""
        if isinstance(emg_channels, Mapping):
            name = str(emg_channels[a_labels[j]])
            m = _SIDE_PATTERNS[1].match(name)
            muscle, sd = (m["muscle"], m["side"][0].lower()) if m else (name, "")
        else:
            name, muscle, sd = _emg_name(a_labels[j], desc)
        key = _unit_key(unit)
        if key and key not in _VOLTS:
            raise ConfigError(f"{src.path}: EMG channel {a_labels[j]!r} has unit {unit!r}; EMG must be "
                              "in V, mV or uV")
        names.append(name)
        muscles.append(muscle)
        sides.append(sd)
        factors.append(_VOLTS.get(key, 1.0))
    names = _unique(names)
    chans = [ChannelSpec(n, "V", "emg", muscle=m, side=s, device_channel=a_labels[j],
                         extra={"c3d_description": a_desc[j] if j < len(a_desc) else ""})
             for n, m, s, j in zip(names, muscles, sides, emg_idx, strict=True)]
    data = src.analogs[emg_idx].T * np.asarray(factors)
    spec = StreamSpec("emg", "emg", chans, src.analog_rate, "float64", source_id=f"c3d-{src.path.stem}-emg",
                      device={**src.base_device, "model": "C3D analog EMG"})
    return (spec, *_crop(t, data, src.spans.get("emg"), src.analog_rate))


def _other_analog_stream(src: _Source, other_idx: list[int], a_labels: list[str], a_desc: list[str],
                         a_units: list[str]) -> tuple[Any, np.ndarray, np.ndarray]:
    """The analog channels neither on a plate nor EMG, in the units the file declares."""
    from labkit.spec import ChannelSpec, StreamSpec

    t = src.analog_times()
    names = _unique([a_labels[j] for j in other_idx])
    chans = [ChannelSpec(n, a_units[j] if j < len(a_units) else "", "analog", device_channel=a_labels[j],
                         extra={"c3d_description": a_desc[j] if j < len(a_desc) else ""})
             for n, j in zip(names, other_idx, strict=True)]
    spec = StreamSpec("analog", "other", chans, src.analog_rate, "float64",
                      source_id=f"c3d-{src.path.stem}-analog",
                      device={**src.base_device, "model": "C3D analog"})
    return (spec, *_crop(t, src.analogs[other_idx].T, src.spans.get("analog"), src.analog_rate))


def _point_streams(src: _Source, *, model_outputs: bool) -> dict[str, tuple[Any, np.ndarray, np.ndarray]]:
    """The ``mocap`` (markers) and ``model`` (model outputs) streams."""
    points = src.points
    p_labels = _strings(src.point, "LABELS")[: points.shape[1] if points.ndim == 3 else 0]
    if points.ndim == 3:
        p_labels += [f"point{k + 1}" for k in range(len(p_labels), points.shape[1])]
    p_desc = _strings(src.point, "DESCRIPTIONS")
    model_of = _model_outputs_of(src.point, p_labels)
    streams: dict[str, tuple[Any, np.ndarray, np.ndarray]] = {}
    if src.n_frames and src.point_rate > 0:
        xyz = points[:3].transpose(2, 1, 0).copy()  # (frames, points, 3)
        # invalid frames: residual < 0 (ezc3d already gives NaN there), and for markers also
        # (0, 0, 0) exactly, which some writers store for a gap without flagging it
        invalid = src.residuals[0].T < 0 if src.residuals.size else np.zeros(xyz.shape[:2], bool)
        xyz[invalid] = np.nan
        t = src.t0 + np.arange(src.n_frames) / src.point_rate
        markers = [k for k in range(len(p_labels)) if k not in model_of]
        zero = np.all(xyz[:, markers] == 0.0, axis=2)
        xyz[:, markers] = np.where(zero[:, :, None], np.nan, xyz[:, markers])
        if markers:
            streams["mocap"] = _mocap_stream(src, xyz, t, markers, p_labels, p_desc)
        model = sorted(model_of)
        if model and model_outputs:
            streams["model"] = _model_stream(src, xyz, t, model, model_of, p_labels)
    return streams


def _model_outputs_of(point: Mapping[str, Any], p_labels: list[str]) -> dict[int, tuple[str, str]]:
    """Point index -> (POINT group, its declared unit) of the points that are model outputs."""
    model_of: dict[int, tuple[str, str]] = {}
    for gname, prefix in _model_groups(point):
        names = set(_strings(point, gname))
        unit = " ".join(_strings(point, f"{prefix}_UNITS")[:1])
        for k, lab in enumerate(p_labels):
            if lab in names and k not in model_of:
                model_of[k] = (gname, unit)
    return model_of


def _mocap_stream(src: _Source, xyz: np.ndarray, t: np.ndarray, markers: list[int], p_labels: list[str],
                  p_desc: list[str]) -> tuple[Any, np.ndarray, np.ndarray]:
    """The markers as ``<marker>.x/.y/.z`` in m."""
    from labkit.spec import ChannelSpec, StreamSpec, marker_channels

    names = _unique([p_labels[k] for k in markers])
    chans, cols = [], []
    for n, k in zip(names, markers, strict=True):
        desc = p_desc[k] if k < len(p_desc) else ""
        for ch in marker_channels(n):
            chans.append(ChannelSpec(ch.label, ch.unit, ch.type, device_channel=p_labels[k],
                                     extra={**ch.extra, "c3d_description": desc}))
        cols.append(xyz[:, k] * src.point_m)
    device = {**src.base_device, "model": "C3D points",
              "screen_axes": [" ".join(_strings(src.point, k)) for k in ("X_SCREEN", "Y_SCREEN")]}
    spec = StreamSpec("mocap", "mocap", chans, src.point_rate, "float64",
                      source_id=f"c3d-{src.path.stem}-mocap", device=device)
    return (spec, *_crop(t, np.concatenate(cols, axis=1), src.spans.get("mocap"), src.point_rate))


def _model_stream(src: _Source, xyz: np.ndarray, t: np.ndarray, model: list[int],
                  model_of: dict[int, tuple[str, str]], p_labels: list[str]
                  ) -> tuple[Any, np.ndarray, np.ndarray]:
    """The model outputs as ``<output>.x/.y/.z`` in SI units."""
    from labkit.spec import ChannelSpec, StreamSpec

    names = _unique([p_labels[k] for k in model])
    chans, cols, declared = [], [], {}
    for n, k in zip(names, model, strict=True):
        gname, unit = model_of[k]
        factor, si = _model_unit(unit)
        declared[gname] = unit
        quantity = _QUANTITY.get(gname, gname.lower())
        for a in "xyz":
            chans.append(ChannelSpec(f"{n}.{a}", si, quantity, device_channel=p_labels[k],
                                     extra={"output": n, "axis": a, "c3d_group": gname}))
        cols.append(xyz[:, k] * factor)
    spec = StreamSpec("model", "other", chans, src.point_rate, "float64",
                      source_id=f"c3d-{src.path.stem}-model",
                      device={**src.base_device, "model": "C3D model outputs",
                              "declared_units": declared})
    return (spec, *_crop(t, np.concatenate(cols, axis=1), src.spans.get("model"), src.point_rate))


def _named(path: Path, wanted: Any, labels: list[str], on_plate: set[int]) -> list[int]:
    out = []
    for name in wanted:
        if name not in labels:
            raise ConfigError(f"{path}: emg_channels names {name!r}, which is not an analog label of the "
                              f"file (it has {labels[:12]}...)")
        j = labels.index(name)
        if j in on_plate:
            raise ConfigError(f"{path}: emg_channels names {name!r}, a force-plate channel")
        out.append(j)
    return out
