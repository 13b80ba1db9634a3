"""C3D files in and out of labkit sessions (Vicon, Qualisys, Motion Analysis, LabRecorder).

:func:`import_c3d` turns a C3D file into a normal labkit session (``open_session`` reads
it, ``status = complete``); :func:`export_c3d` writes a session as C3D. Both need the
optional extra ``ezc3d`` (``pip install "labkit[c3d]"``), imported only when called.

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

Force plates. Per plate, in the plate's own frame (C3D CORNERS order: +x+y, -x+y, -x-y,
+x-y; the C3D plate z axis points down):

* type 2: channels Fx Fy Fz Mx My Mz in ANALOG:UNITS (N; N.mm or N.m);
* type 4: the same channels times the 6x6 CAL_MATRIX (loads = C @ channels; moments in N
  times POINT:UNITS);
* type 3 (Kistler): fx12 fx34 fy14 fy23 fz1..fz4 (N) through
  :func:`labkit.signal.force_plates.kistler_8ch` with a = |ORIGIN(1)|, b = |ORIGIN(2)|;
* type 1: Fx Fy Fz, the centre of pressure Px Py (POINT:UNITS) and the free moment Tz:
  ``M = (Px, Py, az0) x F + (0, 0, Tz)``.

Moments are about the plate's measurement origin, ``az0 = ORIGIN(3)`` below the surface
(made negative when a file stores it positive, as ezc3d and BTK do), so that
``centre_of_pressure(F, M, az0_m=origin_m[2])`` works as for labkit's own plates. Sign:
C3D writers store the force the plate exerts on the subject (so that CORNERS turn it into
an upward ground reaction in the lab, which is what ezc3d, BTK and Visual3D show); labkit
plates report the load on the plate (Fz > 0 under body weight), so the default
``plate_convention="reaction"`` negates the six loads. A file whose plates hold the load
itself (some Kistler setups) is imported with ``plate_convention="action"``; labkit warns
when a loaded plate reads a negative Fz. FORCE_PLATFORM:ZERO is recorded, not applied
(raw data stay raw; :func:`labkit.signal.force_plates.tare` zeroes on request).

Export. :func:`export_c3d` writes float C3D: markers as POINT in mm, model outputs back into
their POINT groups, plates as type 2 (Fx Fy Fz in N, Mx My Mz in N.mm, the reaction
convention above, CORNERS and ORIGIN in mm), EMG and other analog streams as ANALOG, events
as the EVENT group, and a ``LABKIT`` group (session time of frame 1, plate names, the span
of each stream, EMG labels) so that importing the file gives the session back. See
:func:`export_c3d` for the one analog rate C3D allows and what is resampled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from labkit.errors import ConfigError, LabkitWarning

log = logging.getLogger(__name__)

__all__ = ["export_c3d", "import_c3d"]

_INSTALL = 'C3D import and export need ezc3d: pip install "labkit[c3d]"'
_PLATE_COMPONENTS = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")
_PLATE_CONVENTIONS = ("reaction", "action")
#: length units of POINT:UNITS and of analog channels (to metres)
_LENGTH_M = {"m": 1.0, "cm": 1e-2, "mm": 1e-3}
_VOLTS = {"v": 1.0, "mv": 1e-3, "uv": 1e-6, "µv": 1e-6, "μv": 1e-6}
#: analog channels in volts that are not EMG
_NOT_EMG = re.compile(r"trig|sync|ttl|pulse|switch|fsw|accel|^acc|gyro|^mag|gonio|volt|^analog|^ai\d|"
                      r"^ch\s*\d|^channel|^aux|battery|^ref", re.IGNORECASE)
_SIDE_PATTERNS = (re.compile(r"^(?P<side>l|r|left|right)[\s_.\-]+(?P<muscle>.+)$", re.IGNORECASE),
                  re.compile(r"^(?P<muscle>.+?)[\s_.\-]+(?P<side>l|r|left|right)$", re.IGNORECASE))
#: POINT groups of model outputs when POINT:TYPE_GROUPS does not name them
_MODEL_GROUPS = (("ANGLES", "ANGLE"), ("FORCES", "FORCE"), ("MOMENTS", "MOMENT"),
                 ("POWERS", "POWER"), ("SCALARS", "SCALAR"))
_QUANTITY = {"ANGLES": "angle", "FORCES": "force", "MOMENTS": "moment", "POWERS": "power",
             "SCALARS": "scalar"}
#: declared unit (lower case, no spaces or dots) -> (factor to SI, SI unit)
_MODEL_UNITS = {"deg": (math.pi / 180.0, "rad"), "rad": (1.0, "rad"), "n": (1.0, "N"),
                "nmm": (1e-3, "N.m"), "nm": (1.0, "N.m"), "w": (1.0, "W"), "mm": (1e-3, "m"), "m": (1.0, "m")}
_SI_TO_C3D = {"rad": ("deg", 180.0 / math.pi), "N.m": ("Nmm", 1e3), "m": ("mm", 1e3)}
_FORCE_TESTS = ("imtp", "isometric_squat", "isometric_hip_extension", "isometric_hip_flexion",
                "isometric_trunk_rotation", "cmj", "squat_jump")
_SIDED_TESTS = ("isometric_hip_extension", "isometric_hip_flexion", "isometric_trunk_rotation")
#: C3D parameter arrays: at most 255 entries, strings of at most 255 characters
_C3D_MAX = 255
#: padding of an exported analog stream beyond its recorded span that is worth a warning
_PAD_WARN_S = 0.1


def _ezc3d() -> Any:
    try:
        import ezc3d
    except ImportError:
        raise ConfigError(_INSTALL) from None
    return ezc3d


# ---------------------------------------------------------------------------------- reading


def _read_c3d(ezc3d: Any, path: Path) -> tuple[Any, int | None]:
    """Open a C3D file with clear one-line errors for missing, foreign or damaged files.

    Also returns the number of frames the header announces (None when it cannot say: files
    of 65535 frames or more), because ezc3d shortens its own header to what it could read.
    """
    if not path.exists():
        raise ConfigError(f"{path}: no such C3D file; check the path")
    if not path.is_file():
        raise ConfigError(f"{path}: is a directory, not a C3D file")
    with open(path, "rb") as fh:
        head = fh.read(512)
    if len(head) < 512 or head[1] != 0x50:
        what = "empty" if not head else "too short for a C3D header" if len(head) < 512 else \
            "missing the C3D signature (byte 2 of the header is not 0x50)"
        raise ConfigError(f"{path}: not a C3D file ({what}); give a .c3d file exported by the "
                          "motion-capture software")
    try:
        c = ezc3d.c3d(str(path))
    except Exception as exc:  # ezc3d raises OSError/RuntimeError with C++ text
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: cannot read the C3D file ({reason}); it may be truncated or "
                          "damaged: export it again from the motion-capture software") from None
    with open(path, "rb") as fh:  # processor type (84 Intel, 85 DEC, 86 MIPS big-endian)
        fh.seek(max(head[0] - 1, 0) * 512 + 3)
        proc = fh.read(1)
    order = "big" if proc == b"\x56" else "little"
    first, last = int.from_bytes(head[6:8], order), int.from_bytes(head[8:10], order)
    announced = last - first + 1 if 0 < first <= last < 65535 else None
    return c, announced


def _group(c: Any, name: str) -> Mapping[str, Any]:
    params = c["parameters"]
    return params.get(name, {})


def _param(group: Mapping[str, Any], name: str) -> Any:
    entry = group.get(name) if hasattr(group, "get") else None
    return None if entry is None else entry["value"]


def _strings(group: Mapping[str, Any], name: str) -> list[str]:
    """A CHAR parameter as stripped strings, continued in NAME2, NAME3, ... (> 255 items)."""
    out: list[str] = []
    for i, key in enumerate([name, *(f"{name}{k}" for k in range(2, 100))]):
        value = _param(group, key)
        if value is None:
            if i > 0:
                break
            continue
        out += [str(v).strip() for v in (value if isinstance(value, list | tuple) else [value])]
    return out


def _numbers(group: Mapping[str, Any], name: str) -> np.ndarray:
    value = _param(group, name)
    return np.asarray([] if value is None else value, dtype=np.float64)


def _text(group: Mapping[str, Any], name: str) -> str:
    """A parameter as one string: CHAR joined by spaces, numbers by dots (VERSION 5 0 0 -> 5.0.0)."""
    value = _param(group, name)
    if isinstance(value, list | tuple):
        return " ".join(str(v).strip() for v in value).strip()
    return ".".join(f"{v:g}" for v in np.ravel(np.asarray(value, dtype=np.float64)))


def _first_number(group: Mapping[str, Any], name: str, default: float) -> float:
    v = _numbers(group, name).reshape(-1)
    return float(v[0]) if v.size else default


def _unit_key(unit: str) -> str:
    return unit.strip().lower().replace(" ", "").replace("·", "*").replace(".", "*")


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        base = name or "unnamed"
        k = seen.get(base, 0)
        seen[base] = k + 1
        cand = base if k == 0 else f"{base}_{k + 1}"
        while cand in seen and k > 0:
            k += 1
            cand = f"{base}_{k + 1}"
        seen.setdefault(cand, 1)
        out.append(cand)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _parameters_json(c: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for gname in c["parameters"]:
        group = c["parameters"][gname]
        out[gname] = {k: _jsonable(v["value"]) for k, v in group.items()
                      if k != "__METADATA__" and isinstance(v, Mapping) and "value" in v}
    return out


# ------------------------------------------------------------------------------- force plates


@dataclass
class _Plate:
    name: str
    type: int
    channels: list[int]  # 0-based analog indices
    corners: np.ndarray  # (3, 4) in POINT:UNITS, lab frame
    origin: np.ndarray  # (3,) as stored
    cal: np.ndarray | None
    zero: list[int]
    info: dict[str, Any] = field(default_factory=dict)


def _plates(c: Any, path: Path, n_analog: int, plate_names: Sequence[str]) -> list[_Plate]:
    fp = _group(c, "FORCE_PLATFORM")
    used = int(_first_number(fp, "USED", 0.0))
    if used <= 0:
        return []
    types = _numbers(fp, "TYPE").astype(int).reshape(-1)
    chan = _numbers(fp, "CHANNEL").astype(int)
    corners = _numbers(fp, "CORNERS")
    origin = _numbers(fp, "ORIGIN")
    cal = _numbers(fp, "CAL_MATRIX")
    zero = [int(v) for v in _numbers(fp, "ZERO").reshape(-1)]
    if types.size < used or chan.ndim != 2 or chan.shape[1] < used:
        raise ConfigError(f"{path}: FORCE_PLATFORM:USED is {used} but TYPE/CHANNEL describe "
                          f"{min(types.size, chan.shape[1] if chan.ndim == 2 else 0)} plates; the "
                          "file's force-plate parameters are incomplete")
    corners = corners.reshape(3, 4, -1) if corners.size >= 12 * used else None
    origin = origin.reshape(3, -1) if origin.size >= 3 * used else np.zeros((3, used))
    plates = []
    for i in range(used):
        ptype = int(types[i])
        n_ch = {1: 6, 2: 6, 3: 8, 4: 6}.get(ptype)
        name = plate_names[i] if i < len(plate_names) else f"fp{i + 1}"
        if n_ch is None:
            raise ConfigError(f"{path}: force plate {i + 1} is of C3D type {ptype}; labkit reads "
                              "types 1, 2, 3 (Kistler) and 4 (calibration matrix)")
        idx = [int(v) - 1 for v in chan[:n_ch, i]]
        if chan.shape[0] < n_ch or any(not 0 <= j < n_analog for j in idx):
            raise ConfigError(f"{path}: FORCE_PLATFORM:CHANNEL of plate {i + 1} names analog channels "
                              f"{[j + 1 for j in idx]} but the file has {n_analog}")
        c6 = None
        if ptype == 4:
            if cal.size < 36 * used:
                raise ConfigError(f"{path}: force plate {i + 1} is type 4 but FORCE_PLATFORM:CAL_MATRIX "
                                  "is missing or too small (6 x 6 per plate)")
            c6 = cal.reshape(6, 6, -1)[:, :, i]  # row i of C gives load i (ezc3d's reading)
        pc = corners[:, :, i] if corners is not None else np.full((3, 4), np.nan)
        plates.append(_Plate(name, ptype, idx, pc, origin[:, i].copy(), c6, zero))
    return plates


def _length_factor(unit: str, fallback: float, what: str, path: Path) -> float:
    key = _unit_key(unit)
    if not key:
        return fallback
    if key not in _LENGTH_M:
        raise ConfigError(f"{path}: {what} has unit {unit!r}; labkit reads m, cm and mm")
    return _LENGTH_M[key]


def _force_factor(unit: str, label: str, path: Path) -> float:
    key = _unit_key(unit)
    if key in ("", "n", "v"):  # V: a plate channel scaled to volts by a type-4 file
        return 1.0
    if key == "kn":
        return 1e3
    raise ConfigError(f"{path}: force channel {label!r} has unit {unit!r}; labkit reads N")


def _moment_factor(unit: str, label: str, point_m: float, path: Path) -> float:
    key = _unit_key(unit)
    if key in ("", "v"):
        return point_m  # N times POINT:UNITS
    for prefix in ("n*", "n"):
        if key.startswith(prefix) and key[len(prefix):] in _LENGTH_M:
            return _LENGTH_M[key[len(prefix):]]
    raise ConfigError(f"{path}: moment channel {label!r} has unit {unit!r}; labkit reads N.m and N.mm")


def _plate_loads(p: _Plate, analogs: np.ndarray, labels: list[str], units: list[str],
                 point_m: float, path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """(n, 6) Fx Fy Fz Mx My Mz in N and N.m as the channels give them, and the geometry."""
    from labkit.signal.force_plates import kistler_8ch, plate_6ch

    ch = analogs[p.channels].T.astype(np.float64)
    lab = [labels[j] for j in p.channels]
    uni = [units[j] if j < len(units) else "" for j in p.channels]
    origin_m = p.origin * point_m
    info: dict[str, Any] = {}
    if p.type in (2, 4):
        if p.type == 2:
            scale = [_force_factor(uni[k], lab[k], path) for k in range(3)]
            scale += [_moment_factor(uni[k], lab[k], point_m, path) for k in range(3, 6)]
            f, m = plate_6ch(ch, scale=scale)
        else:
            f, m = plate_6ch(ch, calibration=p.cal)
            m = m * point_m  # CAL_MATRIX gives N and N times POINT:UNITS
        if origin_m[2] > 0:  # the spec wants z < 0 (z points down); flip as ezc3d and BTK do
            origin_m = -origin_m
    elif p.type == 3:
        a_m, b_m = abs(origin_m[0]), abs(origin_m[1])
        scale = np.array([_force_factor(u, lb, path) for u, lb in zip(uni, lab, strict=True)])
        f, m = kistler_8ch(ch * scale, a_m=a_m, b_m=b_m)
        origin_m = np.array([0.0, 0.0, -abs(origin_m[2])])
        info.update(a_m=a_m, b_m=b_m)
    else:  # type 1: Fx Fy Fz Px Py Tz
        scale = np.array([_force_factor(uni[k], lab[k], path) for k in range(3)])
        f = ch[:, :3] * scale
        px = ch[:, 3] * _length_factor(uni[3], point_m, f"COP channel {lab[3]!r}", path)
        py = ch[:, 4] * _length_factor(uni[4], point_m, f"COP channel {lab[4]!r}", path)
        tz = ch[:, 5] * _moment_factor(uni[5], lab[5], point_m, path)
        az0 = -abs(origin_m[2])
        cop = np.column_stack([px, py, np.full_like(px, az0)])
        m = np.cross(cop, f)
        m[:, 2] += tz
        origin_m = np.array([0.0, 0.0, az0])
    info["origin_m"] = origin_m.tolist()
    info["az0_m"] = float(origin_m[2])
    return np.column_stack([f, m]), info


def _plate_rotation(corners_m: np.ndarray) -> np.ndarray | None:
    """Plate-to-lab rotation from the CORNERS (C3D order +x+y, -x+y, -x-y, +x-y)."""
    if not np.all(np.isfinite(corners_m)):
        return None
    x = corners_m[:, 0] - corners_m[:, 1]
    y = corners_m[:, 0] - corners_m[:, 3]
    z = np.cross(x, y)
    if np.linalg.norm(x) == 0 or np.linalg.norm(z) == 0:
        return None
    y = np.cross(z, x)
    return np.column_stack([x / np.linalg.norm(x), y / np.linalg.norm(y), z / np.linalg.norm(z)])


# ------------------------------------------------------------------------------------- import


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
        if test not in _FORCE_TESTS:
            raise ConfigError(f"test={test!r} cannot be analysed from an imported file; use one of "
                              f"{', '.join(_FORCE_TESTS)}")
        if test in _SIDED_TESTS and side not in ("left", "right"):
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
                              f"with plate_convention={other_convention!r}",
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
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
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
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


# ------------------------------------------------------------------------------------- export


@dataclass
class _Series:
    """One stream to place on the C3D clock."""

    name: str
    kind: str  # force, emg, analog, mocap, model
    rate_hz: float
    times: np.ndarray
    data: np.ndarray  # (n, k) float64
    cols: list[int]  # channel columns of the stream used
    labels: list[str]
    units: list[str]


def _used(x: _Series) -> _Series:
    """The series with only the channels it exports (``x.cols``), in that order."""
    return _Series(x.name, x.kind, x.rate_hz, x.times, x.data[:, x.cols], list(range(len(x.cols))),
                   [x.labels[j] for j in x.cols], [x.units[j] for j in x.cols])


def _regular_offset(times: np.ndarray, rate: float, t0: float) -> int | None:
    """Grid index of the first sample when ``times`` are ``t0 + (k + i) / rate`` (else None)."""
    if len(times) == 0:
        return None
    k = (times[0] - t0) * rate
    if abs(k - round(k)) > 1e-6:
        return None
    ideal = times[0] + np.arange(len(times)) / rate
    if np.max(np.abs(times - ideal)) * rate > 1e-6:
        return None
    return round(k)


def _place(series: _Series, grid_t: np.ndarray, rate: float) -> tuple[np.ndarray, str]:
    """Values of a stream at the grid times: copied when on the grid, else interpolated."""
    out = np.full((len(grid_t), series.data.shape[1]), np.nan)
    same_rate = abs(series.rate_hz - rate) <= 1e-9 * rate
    k0 = _regular_offset(series.times, rate, float(grid_t[0])) if same_rate else None
    if k0 is not None:
        lo, hi = max(k0, 0), min(k0 + len(series.times), len(grid_t))
        if hi > lo:
            out[lo:hi] = series.data[lo - k0 : hi - k0]
        return out, "copied"
    # outside the stream's span: NaN (a thousandth of a sample of slack for clock round-off)
    tol = 1e-3 / series.rate_hz
    outside = (grid_t < series.times[0] - tol) | (grid_t > series.times[-1] + tol)
    for j in range(series.data.shape[1]):
        out[:, j] = np.interp(grid_t, series.times, series.data[:, j])
    out[outside] = np.nan
    return out, "interpolated"


def _hardware_plates(session: Any, stream: str) -> dict[str, dict[str, Any]]:
    """Plate geometry from the stored hardware config (``corners_m``, ``origin_m``, size)."""
    text = session.hardware_config
    if not text.strip():
        return {}
    try:
        import yaml

        cfg = yaml.safe_load(text)
    except Exception:  # a stored config that no longer parses: no geometry from it
        return {}
    out: dict[str, dict[str, Any]] = {}
    for dev in (cfg or {}).get("devices", []) if isinstance(cfg, dict) else []:
        if isinstance(dev, dict) and dev.get("name") == stream:
            for p in dev.get("plates", []) or []:
                if isinstance(p, dict) and "name" in p:
                    out[str(p["name"])] = p
    return out


def _plate_geometry(session: Any, force: Any, names: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(corners (3, 4, n) m, origins (3, n) m, plates with placeholder geometry)."""
    n = len(names)
    corners = np.full((3, 4, n), np.nan)
    origins = np.full((3, n), np.nan)
    from_c3d = {p.get("name"): p for p in force.device.get("c3d_plates", []) if isinstance(p, Mapping)}
    hw = _hardware_plates(session, force.name)
    dev_origins = str(force.device.get("origins_m", "")).split(";") if force.device.get("origins_m") else []
    placeholder = []
    for i, name in enumerate(names):
        p = from_c3d.get(name)
        h = hw.get(name, {})
        if p is not None and p.get("corners_m") is not None:
            corners[:, :, i] = np.asarray(p["corners_m"], dtype=float).T
        elif h.get("corners_m") is not None:
            corners[:, :, i] = np.asarray(h["corners_m"], dtype=float).T
        if p is not None and p.get("origin_m") is not None:
            origins[:, i] = np.asarray(p["origin_m"], dtype=float)
        elif h.get("origin_m") is not None:
            origins[:, i] = np.asarray(h["origin_m"], dtype=float)
        elif i < len(dev_origins) and dev_origins[i]:
            origins[:, i] = [float(v) for v in dev_origins[i].split(",")]
        if not np.all(np.isfinite(corners[:, :, i])):
            # placeholder: plates side by side along y (fp1 on the left, +y), plate x = lab x,
            # plate y = lab -y, plate z = lab -z (down), as C3D expects
            length = float(h.get("length_m", 0.6))
            width = float(h.get("width_m", 0.4))
            cy = ((n - 1) / 2 - i) * width
            hl, hw_ = length / 2, width / 2
            corners[:, :, i] = np.array([[hl, cy - hw_, 0.0], [-hl, cy - hw_, 0.0],
                                         [-hl, cy + hw_, 0.0], [hl, cy + hw_, 0.0]]).T
            placeholder.append(name)
        if not np.all(np.isfinite(origins[:, i])):
            origins[:, i] = 0.0
            placeholder.append(name)
    return corners, origins, sorted(set(placeholder))


def _event_fields(label: str, value: str) -> tuple[str, str, str, str, int]:
    """(context, label, description, subject, icon id) of a session event."""
    try:
        info = json.loads(value) if value else None
    except ValueError:
        info = None
    if isinstance(info, dict) and "context" in info and "label" in info:
        return (str(info["context"]), str(info["label"]), str(info.get("description", "")),
                str(info.get("subject", "")), int(info.get("icon_id", 0) or 0))
    for context in ("Left", "Right", "General"):
        if label.startswith(context + " ") and len(label) > len(context) + 1:
            return context, label[len(context) + 1 :], value, "", 0
    return "General", label, value, "", 0


def _check_c3d_list(path: Any, what: str, labels: Sequence[str]) -> None:
    if len(labels) > _C3D_MAX:
        raise ConfigError(f"{path}: {len(labels)} {what}; a C3D parameter holds at most {_C3D_MAX}: "
                          "export fewer streams")
    long = [lab for lab in labels if len(lab) > _C3D_MAX]
    if long:
        raise ConfigError(f"{path}: label {long[0][:40]!r}... is longer than {_C3D_MAX} characters, the "
                          "C3D limit; rename the channel")


def _is_multiple(rate: float, base: float) -> bool:
    ratio = rate / base
    return round(ratio) >= 1 and abs(ratio - round(ratio)) <= 1e-9 * max(1.0, ratio)


def export_c3d(
    session_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    analog_rate_hz: float | None = None,
    plate_convention: str = "reaction",
) -> Path:
    """Write a session as a C3D file (markers, plates, EMG and other analogs, events).

    C3D has one point rate and one analog rate that must be an integer multiple of it.
    The point rate is the ``mocap`` stream's (the analog rate when there are no points).
    The analog rate is ``analog_rate_hz`` when given, else the ``force`` stream's rate when
    it is a multiple of the point rate, else the highest analog stream rate rounded up to a
    multiple. The C3D clock starts at the first sample of the stream that fixes its rate
    (force, else mocap), moved back by whole frames to cover every stream; streams at the
    C3D rates whose samples fall on that clock are copied sample for sample; every other
    stream (another rate, e.g. Trigno EMG at 2148.1 Hz, or a sub-sample offset, or gaps) is
    linearly interpolated on the session's synchronised clock (``Stream.times``) at the
    C3D sample times, with a :class:`~labkit.errors.LabkitWarning` naming it when its rate
    changes. Outside a stream's span, analogs read 0 (C3D has no missing analog value;
    warned beyond 0.1 s) and points are invalid (residual -1); the spans are stored in the
    ``LABKIT`` group, so :func:`import_c3d` crops them off again.

    What is written: ``mocap`` markers (``<marker>.x/y/z``) -> POINT in mm (NaN ->
    residual -1); a ``model`` stream (from :func:`import_c3d`) -> POINT with its ANGLES,
    FORCES, MOMENTS, POWERS groups in deg, N, N.mm, W; each ``force`` plate (``fpN.Fx`` ..
    ``fpN.Mz``) -> a type-2 FORCE_PLATFORM (channels Fx Fy Fz in N and Mx My Mz in N.mm,
    ``plate_convention`` as in :func:`import_c3d`), CORNERS and ORIGIN from the imported
    C3D geometry or the hardware config (``corners_m``, ``origin_m``), else a placeholder
    layout (warned); other ``force`` channels, ``emg`` (V) and ``other`` streams -> ANALOG;
    events -> EVENT (context ``Left``/``Right``/``General`` from the label). Streams that
    C3D cannot hold (string cue streams, irregular streams, ``force_raw``, ``ground_truth``,
    orientation channels) are left out with a warning naming them; ``counter`` channels
    are bookkeeping and are not written, nor is the trials table (C3D has none: import with
    ``test=`` to analyse a file again). C3D parameters hold at most 255 entries of at most
    255 characters: more markers or analog channels raise, more events are cut (warned).

    Parameters
    ----------
    session_path : str or Path
        A labkit session.
    out_path : str or Path
        The C3D file to write.
    overwrite : bool
        Replace an existing ``out_path``.
    analog_rate_hz : float, optional
        The C3D analog rate; must be an integer multiple of the point rate.
    plate_convention : {"reaction", "action"}
        Write the force on the subject (default, what C3D readers expect) or the load on
        the plate into the plate channels.

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    labkit.errors.ConfigError
        ezc3d is missing, the output exists, the session has nothing C3D can hold, or the
        analog rate is not a multiple of the point rate.
    """
    ezc3d = _ezc3d()
    from labkit._version import __version__
    from labkit.session.reader import open_session

    out = Path(out_path)
    if plate_convention not in _PLATE_CONVENTIONS:
        raise ConfigError(f"plate_convention={plate_convention!r} is invalid; use 'reaction' or 'action'")
    if out.suffix.lower() != ".c3d":
        raise ConfigError(f"{out}: a C3D file must end in .c3d (ezc3d adds it otherwise); rename it")
    if out.exists() and not overwrite:
        raise ConfigError(f"{out}: file exists; choose a new path or pass overwrite=True")
    with open_session(session_path) as s:
        plan = _export_plan(s, analog_rate_hz)
        c = _export_build(ezc3d, s, plan, plate_convention, __version__)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".c3d", dir=out.parent or ".")
    os.close(fd)
    try:
        c.write(tmp_name)
        os.replace(tmp_name, out)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return out


def _export_plan(s: Any, analog_rate_hz: float | None) -> dict[str, Any]:
    """Which streams go where, the rates and the C3D clock."""
    series: list[_Series] = []
    plates: list[str] = []
    skipped: list[str] = []
    for name in s.streams:
        st = s.stream(name)
        if st.channel_format == "string":
            skipped.append(f"{name} (strings)")
            continue
        if st.rate_hz <= 0:
            skipped.append(f"{name} (irregular)")
            continue
        if st.type in ("force_raw", "ground_truth", "counter", "rigid_body", "markers"):
            skipped.append(f"{name} (type {st.type})")
            continue
        ch = st.channels
        types = ch["type"].astype(str).tolist()
        labels = ch["label"].astype(str).tolist()
        units = ch["unit"].astype(str).tolist()
        keep = [j for j, ty in enumerate(types) if ty != "counter"]
        if not keep or st.n_samples == 0:
            skipped.append(f"{name} (no samples)" if keep else f"{name} (only a counter)")
            continue
        data = np.asarray(st.data, dtype=np.float64)
        times = np.asarray(st.times, dtype=np.float64)
        if "output" in ch.columns and "c3d_group" in ch.columns and st.type == "other":
            series.append(_Series(name, "model", st.rate_hz, times, data, keep, labels, units))
        elif st.type == "mocap":
            axis = ch["axis"].astype(str).tolist() if "axis" in ch.columns else [""] * len(labels)
            pos = [j for j in keep if types[j] == "position" and axis[j] in ("x", "y", "z")]
            other = [labels[j] for j in keep if j not in pos]
            if other:
                more = "..." if len(other) > 6 else ""
                skipped.append(f"{name} channels {other[:6]}{more} (not positions)")
            if pos:
                series.append(_Series(name, "mocap", st.rate_hz, times, data, pos, labels, units))
        elif st.type == "force":
            comp = ch["component"].astype(str).tolist() if "component" in ch.columns else [""] * len(labels)
            plate = ch["plate"].astype(str).tolist() if "plate" in ch.columns else [""] * len(labels)
            names = list(dict.fromkeys(plate[j] for j in keep if plate[j] and comp[j] in _PLATE_COMPONENTS))
            cols, full = [], []
            for p in names:
                idx = [next((j for j in keep if plate[j] == p and comp[j] == c), None)
                       for c in _PLATE_COMPONENTS]
                if None not in idx:
                    cols += idx
                    full.append(p)
            if cols:
                series.append(_Series(name, "force", st.rate_hz, times, data, cols, labels, units))
                plates += full
            rest = [j for j in keep if j not in cols]
            if rest:
                series.append(_Series(name, "analog", st.rate_hz, times, data, rest, labels, units))
        else:
            series.append(_Series(name, "emg" if st.type == "emg" else "analog", st.rate_hz, times, data,
                                  keep, labels, units))
    if skipped:
        warnings.warn(f"{s.path}: not exported to C3D: {', '.join(skipped)}", LabkitWarning, stacklevel=3)
    if len({x.name for x in series if x.kind == "force"}) > 1:
        raise ConfigError(f"{s.path}: more than one force stream with plates; export supports one")
    pts = [x for x in series if x.kind in ("mocap", "model")]
    ana = sorted((x for x in series if x.kind in ("force", "emg", "analog")),
                 key=lambda x: ("force", "emg", "analog").index(x.kind))  # plates first
    if not pts and not ana:
        raise ConfigError(f"{s.path}: nothing to export: no force, EMG, analog or marker stream")
    mocap = next((x for x in pts if x.kind == "mocap"), pts[0] if pts else None)
    force = next((x for x in ana if x.kind == "force"), None)
    if analog_rate_hz is not None:
        if not (analog_rate_hz > 0 and math.isfinite(analog_rate_hz)):
            raise ConfigError(f"analog_rate_hz={analog_rate_hz!r} is invalid; use a positive rate in Hz")
        if mocap is not None and not _is_multiple(analog_rate_hz, mocap.rate_hz):
            raise ConfigError(f"analog_rate_hz={analog_rate_hz!r} is not an integer multiple of the point "
                              f"rate {mocap.rate_hz!r} Hz (stream {mocap.name!r}); C3D needs one")
        fa = float(analog_rate_hz)
    elif not ana:
        fa = 0.0
    elif mocap is None:
        fa = force.rate_hz if force is not None else max(x.rate_hz for x in ana)
    elif force is not None and _is_multiple(force.rate_hz, mocap.rate_hz):
        fa = force.rate_hz
    else:
        top = max(x.rate_hz for x in ana)
        fa = math.ceil(top / mocap.rate_hz - 1e-9) * mocap.rate_hz
    fp = mocap.rate_hz if mocap is not None else fa
    ratio = round(fa / fp) if fa > 0 else 1
    ref = force if force is not None and fa > 0 and abs(force.rate_hz - fa) <= 1e-9 * fa else \
        (mocap or next((x for x in ana if abs(x.rate_hz - fa) <= 1e-9 * fa), ana[0] if ana else None))
    t_min = min(float(x.times[0]) for x in series)
    t_max = max(float(x.times[-1]) for x in series)
    t_ref = float(ref.times[0])
    back = math.ceil((t_ref - t_min) * fp - 1e-6)
    t0 = t_ref - back / fp
    n_frames = math.floor((t_max - t0) * fp + 1e-6) + 1
    for x in series:
        missing = round((float(x.times[-1]) - float(x.times[0])) * x.rate_hz) + 1 - len(x.times)
        if missing > 0:
            warnings.warn(f"{s.path}: stream {x.name!r} misses {missing} samples (gaps in its recording); "
                          "C3D has no gaps: they are bridged by linear interpolation", LabkitWarning,
                          stacklevel=3)
        target = fa if x.kind in ("force", "emg", "analog") else fp
        if abs(x.rate_hz - target) > 1e-9 * target:
            what = "analog" if target == fa else "point"
            warnings.warn(f"{s.path}: stream {x.name!r} ({x.kind}) at {x.rate_hz:.6g} Hz is resampled to the "
                          f"C3D {what} rate {target:.6g} Hz by linear interpolation on the session clock",
                          LabkitWarning, stacklevel=3)
    return {"series": series, "plates": plates, "fp": fp, "fa": fa, "ratio": ratio, "t0": t0,
            "n_frames": n_frames, "points": pts, "analogs": ana, "force": force}


def _export_build(ezc3d: Any, s: Any, plan: dict[str, Any], plate_convention: str, version: str) -> Any:
    fp, fa, ratio, t0, n_frames = plan["fp"], plan["fa"], plan["ratio"], plan["t0"], plan["n_frames"]
    c = ezc3d.c3d()
    sign = -1.0 if plate_convention == "reaction" else 1.0
    spans: list[str] = []
    # -- points
    p_grid = t0 + np.arange(n_frames) / fp
    p_labels: list[str] = []
    p_desc: list[str] = []
    p_data: list[np.ndarray] = []
    model_groups: dict[str, list[str]] = {}
    model_units: dict[str, str] = {}
    for x in plan["points"]:
        placed, _ = _place(_used(x), p_grid, fp)  # column k is channel x.cols[k]
        ch = s.stream(x.name).channels
        spans.append(f"{x.kind} {float(x.times[0])!r} {float(x.times[-1])!r}")
        if x.kind == "mocap":
            marker_col = ch["marker"].astype(str).tolist() if "marker" in ch.columns else \
                [lab.rsplit(".", 1)[0] for lab in x.labels]
            axis = ch["axis"].astype(str).tolist()
            order: dict[str, dict[str, int]] = {}
            for k, j in enumerate(x.cols):
                order.setdefault(marker_col[j], {})[axis[j]] = k
            for marker, ax in order.items():
                if set(ax) != {"x", "y", "z"}:
                    warnings.warn(f"{s.path}: marker {marker!r} of {x.name!r} lacks an axis; not exported",
                                  LabkitWarning, stacklevel=4)
                    continue
                # to mm from the channel's unit (m by the lab's convention)
                factor = np.array([1e3 * _LENGTH_M.get(_unit_key(x.units[x.cols[ax[a]]]) or "m", 1.0)
                                   for a in "xyz"])
                p_labels.append(marker)
                p_desc.append("")
                p_data.append(placed[:, [ax["x"], ax["y"], ax["z"]]] * factor)
        else:
            output = ch["output"].astype(str).tolist()
            group = ch["c3d_group"].astype(str).tolist()
            axis = ch["axis"].astype(str).tolist()
            order = {}
            for k, j in enumerate(x.cols):
                order.setdefault((output[j], group[j]), {})[axis[j]] = k
            for (name, gname), ax in order.items():
                if set(ax) != {"x", "y", "z"}:
                    continue
                si = x.units[x.cols[ax["x"]]]
                unit, factor = _SI_TO_C3D.get(si, (si, 1.0))
                model_units.setdefault(gname, unit)
                model_groups.setdefault(gname, []).append(name)
                p_labels.append(name)
                p_desc.append("")
                p_data.append(placed[:, [ax["x"], ax["y"], ax["z"]]] * factor)
    p_labels = _unique(p_labels)
    _check_c3d_list(s.path, "markers and model outputs (POINT)", p_labels)
    # without points ezc3d still needs the frame count: (4, 0, n_frames) with POINT:RATE = analog rate
    pts = np.zeros((4, len(p_labels), n_frames))
    res = np.zeros((1, len(p_labels), n_frames))
    for k, arr in enumerate(p_data):
        bad = ~np.all(np.isfinite(arr), axis=1)
        pts[:3, k, :] = np.where(bad[:, None], 0.0, arr).T
        res[0, k, bad] = -1.0
    pts[3] = 1.0
    point = c["parameters"]["POINT"]
    point["RATE"]["value"] = np.array([fp])
    point["LABELS"]["value"] = p_labels
    point["DESCRIPTIONS"]["value"] = p_desc
    point["UNITS"]["value"] = ["mm"]
    c["data"]["points"] = pts
    c["data"]["meta_points"] = {"residuals": res}
    if model_groups:
        prefixes = {"ANGLES": "ANGLE", "FORCES": "FORCE", "MOMENTS": "MOMENT", "POWERS": "POWER",
                    "SCALARS": "SCALAR"}
        tg = []
        for gname, names in model_groups.items():
            prefix = prefixes.get(gname, gname.rstrip("S"))
            c.add_parameter("POINT", gname, names)
            c.add_parameter("POINT", f"{prefix}_UNITS", [model_units[gname]])
            tg += [gname, prefix]
        c.add_parameter("POINT", "TYPE_GROUPS", tg)
    # -- analogs
    n_an = n_frames * ratio if fa > 0 else 0
    a_grid = t0 + np.arange(n_an) / fa if fa > 0 else np.zeros(0)
    a_labels: list[str] = []
    a_desc: list[str] = []
    a_units: list[str] = []
    a_data: list[np.ndarray] = []
    emg_labels: list[str] = []
    fp_channels: list[list[int]] = []
    plate_names: list[str] = []
    for x in plan["analogs"]:
        placed, _ = _place(_used(x), a_grid, fa)  # column k is channel x.cols[k]
        spans.append(f"{x.kind} {float(x.times[0])!r} {float(x.times[-1])!r}")
        pad = max(float(x.times[0] - a_grid[0]), 0.0) + max(float(a_grid[-1] - x.times[-1]), 0.0)
        inside = (a_grid >= x.times[0]) & (a_grid <= x.times[-1])
        gaps = int(np.sum(~np.isfinite(placed[inside]).all(axis=1)))
        if pad > _PAD_WARN_S or gaps:
            warnings.warn(f"{s.path}: stream {x.name!r} covers {x.times[0]:.3f}..{x.times[-1]:.3f} s of the "
                          f"C3D span {a_grid[0]:.3f}..{a_grid[-1]:.3f} s"
                          + (f" and has {gaps} missing samples" if gaps else "")
                          + "; C3D analogs have no missing value: written as 0", LabkitWarning, stacklevel=4)
        placed = np.where(np.isfinite(placed), placed, 0.0)
        if x.kind == "force":
            plate = s.stream(x.name).channels
            pl = plate["plate"].astype(str).tolist()
            for k in range(0, len(x.cols), 6):
                name = pl[x.cols[k]]
                plate_names.append(name)
                n = len(fp_channels) + 1
                base = len(a_labels)
                fp_channels.append(list(range(base + 1, base + 7)))
                for m, comp in enumerate(_PLATE_COMPONENTS):
                    moment = comp[0] == "M"
                    a_labels.append(f"{comp}{n}")
                    a_desc.append(f"{name}.{comp}")
                    a_units.append("Nmm" if moment else "N")
                    a_data.append(sign * placed[:, k + m] * (1e3 if moment else 1.0))
        else:
            for m, j in enumerate(x.cols):
                a_labels.append(x.labels[j])
                a_desc.append(f"{x.name}.{x.labels[j]}")
                a_units.append(x.units[j])
                a_data.append(placed[:, m])
                if x.kind == "emg":
                    emg_labels.append(x.labels[j])
    a_unique = _unique(a_labels)
    _check_c3d_list(s.path, "analog channels (ANALOG)", a_unique)
    emg_labels = [a_unique[a_labels.index(lab)] for lab in emg_labels]
    analog = c["parameters"]["ANALOG"]
    analog["RATE"]["value"] = np.array([fa])
    analog["LABELS"]["value"] = a_unique
    analog["DESCRIPTIONS"]["value"] = a_desc
    analog["UNITS"]["value"] = a_units
    analog["SCALE"]["value"] = np.ones(len(a_unique))
    analog["OFFSET"]["value"] = np.zeros(len(a_unique), dtype=int)
    analog["GEN_SCALE"]["value"] = np.array([1.0])
    c["data"]["analogs"] = (np.vstack(a_data)[None] if a_data else np.zeros((1, 0, n_an)))
    # -- force plates
    if fp_channels:
        names = plate_names
        corners, origins, placeholder = _plate_geometry(s, s.stream(plan["force"].name), names)
        if placeholder:
            warnings.warn(f"{s.path}: plates {placeholder} have no stored geometry (CORNERS/ORIGIN); "
                          "written with a placeholder layout (0.6 x 0.4 m plates side by side along y, "
                          "origin at the surface centre)", LabkitWarning, stacklevel=3)
        g = c["parameters"]["FORCE_PLATFORM"]
        g["USED"]["value"] = np.array([len(fp_channels)])
        g["TYPE"]["value"] = np.full(len(fp_channels), 2, dtype=int)
        g["ZERO"]["value"] = np.array([0, 0])
        g["CHANNEL"]["value"] = np.array(fp_channels, dtype=int).T
        g["CORNERS"]["value"] = corners * 1e3
        g["ORIGIN"]["value"] = origins * 1e3
        g["CAL_MATRIX"]["value"] = np.zeros((6, 6, 0))
        c.add_parameter("LABKIT", "PLATE_NAMES", names)
    # -- events
    ev = s.events
    if len(ev) > _C3D_MAX:
        warnings.warn(f"{s.path}: the session has {len(ev)} events but the C3D EVENT group holds at most "
                      f"{_C3D_MAX}; the first {_C3D_MAX} are written", LabkitWarning, stacklevel=3)
    shortened = 0
    for _, row in ev.head(_C3D_MAX).iterrows():
        t = float(row["time"]) - t0
        context, label, desc, subject, icon = _event_fields(str(row["label"]), str(row["value"]))
        if len(desc) > _C3D_MAX:
            desc, shortened = desc[:_C3D_MAX], shortened + 1
        minutes = math.floor(t / 60.0) if t >= 0 else 0
        c.add_event([minutes, t - 60.0 * minutes], context[:_C3D_MAX], label[:_C3D_MAX], desc,
                    subject[:_C3D_MAX], icon)
    if shortened:
        warnings.warn(f"{s.path}: {shortened} event values are longer than {_C3D_MAX} characters, the C3D "
                      "limit; EVENT:DESCRIPTIONS holds their first 255 characters", LabkitWarning,
                      stacklevel=3)
    c.add_parameter("LABKIT", "TIME_OFFSET", [repr(float(t0))])
    c.add_parameter("LABKIT", "SPANS", spans)
    c.add_parameter("LABKIT", "SESSION_ID", [str(s.info.get("session_id", ""))])
    c.add_parameter("LABKIT", "VERSION", [version])
    if emg_labels:
        c.add_parameter("LABKIT", "EMG", emg_labels)
    subject = str(s.info.get("subject", ""))
    if subject:
        c.add_parameter("SUBJECTS", "NAMES", [subject])
        c.add_parameter("SUBJECTS", "USED", 1)
    c.add_parameter("MANUFACTURER", "COMPANY", ["labkit"])
    c.add_parameter("MANUFACTURER", "SOFTWARE", [f"labkit {version}"])
    return c
