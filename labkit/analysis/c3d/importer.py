"""Import a C3D file as a labkit session (:func:`import_c3d`).

What a C3D file becomes
-----------------------
=========  ======  =========================================================================
stream     type    channels
=========  ======  =========================================================================
``force``  force   per plate ``fpN.Fx Fy Fz`` (N) and ``fpN.Mx My Mz`` (N.m), computed by
                   labkit from the plate's analog channels and FORCE_PLATFORM parameters
                   (types 1-4), at the analog rate
``emg``    emg     the other analog channels in volts that are EMG (ANALOG:UNITS V, mV or
                   uV and a label that is not a trigger, sync, accelerometer, ...), in V,
                   named ``<muscle>_<side>`` when the label or description gives a side
``analog`` other   every remaining analog channel, in the units the file declares
``mocap``  mocap   POINT markers ``<marker>.x/.y/.z`` in m; invalid frames (residual < 0)
                   are NaN
``model``  other   model outputs listed in POINT:ANGLES, FORCES, MOMENTS, POWERS (or the
                   groups POINT:TYPE_GROUPS names): ``<output>.x/.y/.z`` in SI (angles in
                   rad, moments in N.m) as the file's ``*_UNITS`` declare them; never mixed
                   with the markers. Vicon Plug-in Gait normalises kinetics by body mass
                   although its units say N, Nmm and W: the numbers are kept as they are.
=========  ======  =========================================================================

A stream is only written when the file has channels for it. Regular streams get the
stamps ``t0 + i / rate`` with the exact C3D rates, where ``t0`` is the C3D time of the
first frame (``first_frame / POINT:RATE``, so frame 1 is at 0 s), the clock of the C3D
EVENT times; events become session events (``"Left Foot Strike"``, source ``c3d``, the
C3D fields as JSON in ``value``). The channel tables keep the C3D labels
(``device_channel``) and descriptions; the ``force`` stream's ``device`` JSON holds every
plate's TYPE, CHANNEL, CORNERS, ORIGIN, calibration matrix and ZERO; root attributes hold
the source file name, its SHA-256 and the C3D header (``c3d_header`` JSON); the whole
parameter section is kept as JSON text in ``/config/c3d_parameters``.

Analog scaling. ezc3d already applies ANALOG:OFFSET, SCALE and GEN_SCALE when it reads a
file, for integer and float files alike (ezc3d ``Channel.cpp``: ``(raw - OFFSET[i]) *
SCALE[i] * GEN_SCALE``; checked in the tests: Gait.c3d, an integer file, reads as whole
multiples of its SCALE), so ``c["data"]["analogs"]`` is in ANALOG:UNITS and labkit does
not apply them again. Points likewise come in POINT:UNITS (POINT:SCALE applied).

Force plates (types 1-4, sign convention, origins): :mod:`labkit.analysis.c3d.plates`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from labkit._files import replaced_atomically
from labkit.analysis.c3d.parameters import (
    _MODEL_GROUPS,
    _PLATE_COMPONENTS,
    _PLATE_CONVENTIONS,
    _ezc3d,
    _first_number,
    _group,
    _jsonable,
    _length_factor,
    _numbers,
    _parameters_json,
    _read_c3d,
    _strings,
    _text,
    _unique,
    _unit_key,
)
from labkit.analysis.c3d.plates import _plate_loads, _plate_rotation, _plates
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
_MODEL_UNITS = {"deg": (math.pi / 180.0, "rad"), "rad": (1.0, "rad"), "n": (1.0, "N"),
                "nmm": (1e-3, "N.m"), "nm": (1.0, "N.m"), "w": (1.0, "W"), "mm": (1e-3, "m"), "m": (1.0, "m")}


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
    return _MODEL_UNITS.get(_unit_key(unit).replace("*", ""), (1.0, unit.strip()))


def _labkit_group(c: Any) -> dict[str, Any]:
    """What a labkit export stored in its ``LABKIT`` parameter group (empty otherwise)."""
    g = _group(c, "LABKIT")
    if not g:
        return {}
    out: dict[str, Any] = {}
    offset = _strings(g, "TIME_OFFSET")
    if offset:
        with contextlib.suppress(ValueError):
            out["time_offset_s"] = float(offset[0])
    out["plate_names"] = _strings(g, "PLATE_NAMES")
    out["emg"] = _strings(g, "EMG")
    spans = {}
    for row in _strings(g, "SPANS"):
        parts = row.split()
        if len(parts) == 3:
            try:
                lo, hi = float(parts[1]), float(parts[2])
            except ValueError:
                continue
            old = spans.get(parts[0], (lo, hi))  # several streams of one kind: their union
            spans[parts[0]] = (min(lo, old[0]), max(hi, old[1]))
    out["spans"] = spans
    return out


def _crop(times: np.ndarray, data: np.ndarray, span: tuple[float, float] | None, rate: float
          ) -> tuple[np.ndarray, np.ndarray]:
    if span is None or len(times) == 0:
        return times, data
    tol = min(1e-6, 1e-3 / rate) if rate > 0 else 1e-9  # as export_c3d placed them
    keep = (times >= span[0] - tol) & (times <= span[1] + tol)
    return times[keep], data[keep]


def _events(c: Any, offset_s: float) -> list[tuple[float, str, str]]:
    ev = _group(c, "EVENT")
    rows = []
    if ev:
        n = int(_first_number(ev, "USED", 0.0))
        times = _numbers(ev, "TIMES")
        times = times.reshape(2, -1) if times.size >= 2 * n and n > 0 else np.zeros((2, 0))
        contexts, labels = _strings(ev, "CONTEXTS"), _strings(ev, "LABELS")
        descriptions, subjects = _strings(ev, "DESCRIPTIONS"), _strings(ev, "SUBJECTS")
        icons = _numbers(ev, "ICON_IDS").reshape(-1)
        for i in range(min(n, times.shape[1])):
            context = contexts[i] if i < len(contexts) else ""
            label = labels[i] if i < len(labels) else ""
            t = 60.0 * float(times[0, i]) + float(times[1, i]) + offset_s
            name = label if context in ("", "General") else f"{context} {label}"
            value = {"context": context, "label": label,
                     "description": descriptions[i] if i < len(descriptions) else "",
                     "subject": subjects[i] if i < len(subjects) else "",
                     "icon_id": int(icons[i]) if i < icons.size else 0}
            rows.append((t, name or "event", json.dumps(value, ensure_ascii=False)))
        return rows
    header = c["header"]["events"]
    for t, label in zip(header["events_time"], header["events_label"], strict=False):
        if str(label).strip():
            rows.append((float(t) + offset_s, str(label).strip(), json.dumps({"header": True})))
    return rows


def import_c3d(
    c3d_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    athlete: str = "",
    overwrite: bool = False,
    test: str | None = None,
    side: str = "",
    emg_channels: Sequence[str] | Mapping[str, str] | None = None,
    model_outputs: bool = True,
    plate_convention: str = "reaction",
) -> Path:
    """Import a C3D file (plates, analog EMG, markers, model outputs, events) as a session.

    Parameters
    ----------
    c3d_path : str or Path
        The C3D file (Vicon Nexus, Qualisys, Motion Analysis, LabRecorder, ...).
    out_path : str or Path
        The session file to write (``.h5``); written to a temporary file first and moved
        into place when complete.
    athlete : str
        Athlete code for the session's ``subject``; default the first SUBJECTS:NAMES entry.
    overwrite : bool
        Replace an existing ``out_path``.
    test : str, optional
        Make the file analysable by labkit's own pipeline: one trial of this test
        (``cmj``, ``squat_jump``, ``imtp``, ``isometric_squat``, ...) spanning the whole
        ``force`` stream, status ``valid``, so that ``labkit.analyze(out_path, params)``
        and ``Session.metrics`` analyse it (weighing inside the trial window; no stored
        body weight, no protocol text: the test's default step is used).
    side : str
        ``left`` or ``right`` for the sided tests (hip extension/flexion: the plate of that
        side, fp1 = left; trunk rotation: the direction).
    emg_channels : sequence of str or mapping of str to str, optional
        C3D analog labels that are EMG (the others not on a plate go to ``analog``), or a
        mapping of C3D label to labkit label (``{"LREC": "rectus_femoris_l"}``). Default: the
        channels in volts whose label is not a trigger, sync, accelerometer, ...
    model_outputs : bool
        Import the POINT model outputs (angles, forces, moments, powers) as the ``model``
        stream (default); ``False`` leaves them out (they can be recomputed from markers).
    plate_convention : {"reaction", "action"}
        What the plate channels hold: the force on the subject (default; every common C3D
        writer) or the load on the plate. labkit stores the load on the plate.

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    labkit.errors.ConfigError
        ezc3d is missing, the file is missing, not a C3D file or damaged, or a parameter is
        invalid; the one-line message says which.

    Examples
    --------
    >>> import labkit  # doctest: +SKIP
    >>> from labkit.analysis.c3d import import_c3d  # doctest: +SKIP
    >>> import_c3d("jump.c3d", "jump.h5", test="cmj")  # doctest: +SKIP
    >>> labkit.analyze("jump.h5", {"cmj": {"takeoff_n": 10.0}})  # doctest: +SKIP
    """
    ezc3d = _ezc3d()
    src = Path(c3d_path)
    out = Path(out_path)
    if plate_convention not in _PLATE_CONVENTIONS:
        raise ConfigError(f"plate_convention={plate_convention!r} is invalid; use 'reaction' (C3D "
                          "channels hold the force on the subject) or 'action'")
    if test is not None:
        from labkit.trials.catalogue import CATALOGUE, force_tests

        if test not in force_tests():
            raise ConfigError(f"test={test!r} cannot be analysed from an imported file; use one of "
                              f"{', '.join(force_tests())}")
        if (CATALOGUE[test].sided or CATALOGUE[test].directional) and side not in ("left", "right"):
            raise ConfigError(f"test={test!r} needs side='left' or side='right'")
    if side not in ("", "left", "right"):
        raise ConfigError(f"side={side!r} is invalid; use 'left', 'right' or ''")
    if out.exists() and not overwrite:
        raise ConfigError(f"{out}: file exists; choose a new path or pass overwrite=True")
    if out.resolve() == src.resolve():
        raise ConfigError(f"{out}: the session would replace the C3D file itself; choose another path")
    c, announced = _read_c3d(ezc3d, src)
    built = _build_session(c, src, emg_channels=emg_channels, model_outputs=model_outputs,
                           plate_convention=plate_convention, announced=announced)
    subject = athlete or (built["subjects"][0] if built["subjects"] else "")
    trial = None
    if test is not None:
        force = built["streams"].get("force")
        if force is None:
            raise ConfigError(f"{src}: test={test!r} needs force plates, but the file has none "
                              "(FORCE_PLATFORM:USED is 0)")
        t, rate = force[1], force[0].nominal_rate_hz
        trial = (test, side, float(t[0] - 0.5 / rate), float(t[-1] + 0.5 / rate))
    _write_session(out, src, built, subject=subject, trial=trial)
    return out


def _build_session(c: Any, path: Path, *, emg_channels: Any, model_outputs: bool,
                   plate_convention: str, announced: int | None) -> dict[str, Any]:
    from labkit.spec import ChannelSpec, StreamSpec, marker_channels

    point = _group(c, "POINT")
    analog = _group(c, "ANALOG")
    lk = _labkit_group(c)
    offset_s = float(lk.get("time_offset_s", 0.0))
    spans = lk.get("spans", {})
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
        warnings.warn(f"{path}: the header announces {expected} frames but the file holds {n_frames}; "
                      "it looks truncated: importing what is there", LabkitWarning, stacklevel=3)
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
    streams: dict[str, tuple[Any, np.ndarray, np.ndarray]] = {}

    # -- analog channels: plates, EMG, the rest
    a_labels = _strings(analog, "LABELS")[: analogs.shape[0]]
    a_labels += [f"analog{k + 1}" for k in range(len(a_labels), analogs.shape[0])]
    a_desc = _strings(analog, "DESCRIPTIONS")
    a_units = _strings(analog, "UNITS")
    plates = _plates(c, path, analogs.shape[0], lk.get("plate_names", []))
    on_plate: set[int] = set()
    if plates and analog_rate > 0 and n_analog_frames:
        t = t0 + np.arange(n_analog_frames) / analog_rate
        loads, channels, plate_info = [], [], []
        for p in plates:
            x, geo = _plate_loads(p, analogs, a_labels, a_units, point_m, path)
            if plate_convention == "reaction":
                x = -x
            loaded = np.abs(x[:, 2]) > 50.0
            if loaded.sum() > 0.05 * len(x) and np.median(x[loaded, 2]) < 0:
                other_convention = "action" if plate_convention == "reaction" else "reaction"
                warnings.warn(f"{path}: plate {p.name} reads a negative Fz under load "
                              f"(median {np.median(x[loaded, 2]):.0f} N) with plate_convention="
                              f"{plate_convention!r}; if its channels hold the load on the plate, import "
                              f"with plate_convention={other_convention!r} (labkit import --plate-convention "
                              f"{other_convention})",
                              LabkitWarning, stacklevel=3)
            loads.append(x)
            on_plate.update(p.channels)
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
        device = {**base_device, "model": "C3D force plates", "plate_convention": plate_convention,
                  "plates": ",".join(f"{p.name}:c3d-type{p.type}" for p in plates),
                  "origins_m": ";".join(",".join(map(repr, q["origin_m"])) for q in plate_info),
                  "c3d_plates": plate_info}
        spec = StreamSpec("force", "force", channels, analog_rate, "float64",
                          source_id=f"c3d-{path.stem}-force", device=device)
        streams["force"] = (spec, *_crop(t, data, spans.get("force"), analog_rate))

    rest = [j for j in range(analogs.shape[0]) if j not in on_plate]
    if isinstance(emg_channels, Mapping):
        emg_idx = _named(path, emg_channels.keys(), a_labels, on_plate)
    elif emg_channels is not None:
        emg_idx = _named(path, emg_channels, a_labels, on_plate)
    elif lk.get("emg"):
        emg_idx = [j for j in rest if a_labels[j] in set(lk["emg"])]
    else:
        emg_idx = [j for j in rest if _is_emg(a_labels[j], a_units[j] if j < len(a_units) else "")]
    other_idx = [j for j in rest if j not in emg_idx]
    if emg_idx and n_analog_frames:
        t = t0 + np.arange(n_analog_frames) / analog_rate
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
                raise ConfigError(f"{path}: EMG channel {a_labels[j]!r} has unit {unit!r}; EMG must be "
                                  "in V, mV or uV")
            names.append(name)
            muscles.append(muscle)
            sides.append(sd)
            factors.append(_VOLTS.get(key, 1.0))
        names = _unique(names)
        chans = [ChannelSpec(n, "V", "emg", muscle=m, side=s, device_channel=a_labels[j],
                             extra={"c3d_description": a_desc[j] if j < len(a_desc) else ""})
                 for n, m, s, j in zip(names, muscles, sides, emg_idx, strict=True)]
        data = analogs[emg_idx].T * np.asarray(factors)
        spec = StreamSpec("emg", "emg", chans, analog_rate, "float64", source_id=f"c3d-{path.stem}-emg",
                          device={**base_device, "model": "C3D analog EMG"})
        streams["emg"] = (spec, *_crop(t, data, spans.get("emg"), analog_rate))
    if other_idx and n_analog_frames:
        t = t0 + np.arange(n_analog_frames) / analog_rate
        names = _unique([a_labels[j] for j in other_idx])
        chans = [ChannelSpec(n, a_units[j] if j < len(a_units) else "", "analog", device_channel=a_labels[j],
                             extra={"c3d_description": a_desc[j] if j < len(a_desc) else ""})
                 for n, j in zip(names, other_idx, strict=True)]
        spec = StreamSpec("analog", "other", chans, analog_rate, "float64",
                          source_id=f"c3d-{path.stem}-analog", device={**base_device, "model": "C3D analog"})
        streams["analog"] = (spec, *_crop(t, analogs[other_idx].T, spans.get("analog"), analog_rate))

    # -- points: markers and model outputs
    p_labels = _strings(point, "LABELS")[: points.shape[1] if points.ndim == 3 else 0]
    if points.ndim == 3:
        p_labels += [f"point{k + 1}" for k in range(len(p_labels), points.shape[1])]
    p_desc = _strings(point, "DESCRIPTIONS")
    model_of: dict[int, tuple[str, str]] = {}
    for gname, prefix in _model_groups(point):
        names = set(_strings(point, gname))
        unit = " ".join(_strings(point, f"{prefix}_UNITS")[:1])
        for k, lab in enumerate(p_labels):
            if lab in names and k not in model_of:
                model_of[k] = (gname, unit)
    if n_frames and point_rate > 0:
        xyz = points[:3].transpose(2, 1, 0).copy()  # (frames, points, 3)
        # invalid frames: residual < 0 (ezc3d already gives NaN there), and for markers also
        # (0, 0, 0) exactly, which some writers store for a gap without flagging it
        invalid = residuals[0].T < 0 if residuals.size else np.zeros(xyz.shape[:2], bool)
        xyz[invalid] = np.nan
        t = t0 + np.arange(n_frames) / point_rate
        markers = [k for k in range(len(p_labels)) if k not in model_of]
        zero = np.all(xyz[:, markers] == 0.0, axis=2)
        xyz[:, markers] = np.where(zero[:, :, None], np.nan, xyz[:, markers])
        if markers:
            names = _unique([p_labels[k] for k in markers])
            chans, cols = [], []
            for n, k in zip(names, markers, strict=True):
                desc = p_desc[k] if k < len(p_desc) else ""
                for ch in marker_channels(n):
                    chans.append(ChannelSpec(ch.label, ch.unit, ch.type, device_channel=p_labels[k],
                                             extra={**ch.extra, "c3d_description": desc}))
                cols.append(xyz[:, k] * point_m)
            device = {**base_device, "model": "C3D points",
                      "screen_axes": [" ".join(_strings(point, k)) for k in ("X_SCREEN", "Y_SCREEN")]}
            spec = StreamSpec("mocap", "mocap", chans, point_rate, "float64",
                              source_id=f"c3d-{path.stem}-mocap", device=device)
            streams["mocap"] = (spec, *_crop(t, np.concatenate(cols, axis=1), spans.get("mocap"), point_rate))
        model = sorted(model_of)
        if model and model_outputs:
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
            spec = StreamSpec("model", "other", chans, point_rate, "float64",
                              source_id=f"c3d-{path.stem}-model",
                              device={**base_device, "model": "C3D model outputs",
                                      "declared_units": declared})
            streams["model"] = (spec, *_crop(t, np.concatenate(cols, axis=1), spans.get("model"), point_rate))
    hdr = {key: {k: _jsonable(v) for k, v in dict(header[key]).items() if k != "events_time"
                 and k != "events_label"} for key in ("points", "analogs")}
    hdr["format"] = "float" if _first_number(point, "SCALE", -1.0) < 0 else "integer"
    hdr["manufacturer"] = maker
    return {"streams": streams, "events": _events(c, offset_s), "header": hdr,
            "parameters": _parameters_json(c),
            "subjects": _strings(_group(c, "SUBJECTS"), "NAMES"), "time_offset_s": offset_s}


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


def _write_session(out: Path, src: Path, built: dict[str, Any], *, subject: str,
                   trial: tuple[str, str, float, float] | None) -> None:
    import h5py

    from labkit.session.writer import SessionWriter

    streams = built["streams"]
    notes = f"imported from {src.name} by labkit.analysis.c3d.import_c3d"
    if trial is not None:
        notes += f"; one {trial[0]} trial spans the force stream"
    with replaced_atomically(out) as tmp:
        with SessionWriter(tmp, [s[0] for s in streams.values()], subject=subject, notes=notes,
                           fsync=False, overwrite=True) as w:
            for name, (_, t, data) in streams.items():
                w.append(name, data, t)
            for t, label, value in sorted(built["events"], key=lambda e: e[0]):
                w.add_event(t, label, value, "c3d")
            if trial is not None:
                test, side, start, end = trial
                w.add_trial(1, test, start, end, status="valid", side=side, attempt=1)
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        with h5py.File(tmp, "r+", libver="latest") as f:
            f.attrs["source_format"] = "c3d"
            f.attrs["source_file"] = src.name
            f.attrs["source_sha256"] = digest
            f.attrs["imported_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
            f.attrs["c3d_header"] = json.dumps(built["header"], ensure_ascii=False)
            f.attrs["c3d_time_offset_s"] = float(built["time_offset_s"])
            f["config"].create_dataset("c3d_parameters", dtype=h5py.string_dtype(),
                                       data=json.dumps(built["parameters"], ensure_ascii=False))
