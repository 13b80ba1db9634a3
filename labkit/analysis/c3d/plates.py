"""C3D force platforms (FORCE_PLATFORM types 1-4) as loads on the plate.

Per plate, in the plate's own frame (C3D CORNERS order: +x+y, -x+y, -x-y, +x-y; the C3D
plate z axis points down):

* type 2: channels Fx Fy Fz Mx My Mz in ANALOG:UNITS (N; N.mm or N.m);
* type 4: the same channels times the 6x6 CAL_MATRIX (loads = C @ channels; moments in N
  times POINT:UNITS);
* type 3 (Kistler): fx12 fx34 fy14 fy23 fz1..fz4 (N) through
  :func:`labkit.signal.force_plates.kistler_8ch` with a = ORIGIN(1), b = ORIGIN(2), signed as
  BTK and ezc3d read them (a negative value: the sensors are numbered mirrored);
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
when a loaded plate reads a negative Fz, leaving out of that check the frames where a plate
channel reads the raw ADC zero or an ADC rail (:func:`_adc_limit_frames`: an unplugged or
saturated amplifier, reported as such). FORCE_PLATFORM:ZERO is recorded, not applied
(raw data stay raw; :func:`labkit.signal.force_plates.tare` zeroes on request).

Units: N (also ``nt``, ``Newton(s)``) or kN; moments a force unit times a length unit
(``Nmm``, ``ntmm``, ``N.m``, ...); lengths m (also ``mete``, ``meter``, ``metre``), cm, mm
(:mod:`labkit.analysis.c3d.parameters`). A plate whose parameters cannot be used is left out
with a warning saying why (:func:`_plates`); the rest of the file is imported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labkit.analysis.c3d.parameters import (
    _FORCE_N,
    _FORCE_SPELLINGS,
    _MOMENT_SPELLINGS,
    _first_number,
    _group,
    _length_factor,
    _moment_key_factor,
    _numbers,
    _unit_key,
)
from labkit.analysis.lab_loads import plate_rotation as _plate_rotation
from labkit.errors import ConfigError


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


def _plates(c: Any, path: Path, n_analog: int, plate_names: Sequence[str]
            ) -> tuple[list[_Plate], list[str]]:
    """The usable plates and, for each unusable one, why it is left out.

    A plate is unusable when its FORCE_PLATFORM parameters cannot give its loads in the lab:
    CHANNEL names analog channels the file lacks, CORNERS are missing or degenerate, a type-4
    plate has no CAL_MATRIX, a Kistler (type 3) ORIGIN has a = 0 or b = 0, or its TYPE is not
    1-4. Real files do this (an unplugged plate left in USED, a plate copied from another
    lab's setup); the caller imports everything else and warns once per dropped plate.
    """
    fp = _group(c, "FORCE_PLATFORM")
    used = int(_first_number(fp, "USED", 0.0))
    if used <= 0:
        return [], []
    types = _numbers(fp, "TYPE").astype(int).reshape(-1)
    chan = _numbers(fp, "CHANNEL").astype(int)
    if chan.ndim == 1:  # one plate: some writers store CHANNEL as a vector
        chan = chan.reshape(-1, 1)
    # ezc3d gives the arrays in C3D dimension order: CORNERS (3, 4, plates), ORIGIN (3, plates)
    corners = _numbers(fp, "CORNERS")
    corners = corners.reshape(3, 4, -1) if corners.size and corners.size % 12 == 0 else np.zeros((3, 4, 0))
    origin = _numbers(fp, "ORIGIN")
    origin = origin.reshape(3, -1) if origin.size and origin.size % 3 == 0 else np.zeros((3, 0))
    cal = _numbers(fp, "CAL_MATRIX")
    zero = [int(v) for v in _numbers(fp, "ZERO").reshape(-1)]
    plates, dropped = [], []
    for i in range(used):
        name = plate_names[i] if i < len(plate_names) else f"fp{i + 1}"
        ptype = int(types[i]) if i < types.size else None
        n_ch = {1: 6, 2: 6, 3: 8, 4: 6}.get(ptype or 0)
        idx = [int(v) - 1 for v in chan[:n_ch, i]] if n_ch and chan.ndim == 2 and i < chan.shape[1] else []
        pc = corners[:, :, i].copy() if i < corners.shape[2] else None
        po = origin[:, i].copy() if i < origin.shape[1] else np.zeros(3)
        why = None
        if ptype is None:
            why = f"FORCE_PLATFORM:USED is {used} but TYPE describes {types.size} plates"
        elif n_ch is None:
            why = f"it is of C3D type {ptype}; labkit reads types 1, 2, 3 (Kistler) and 4"
        elif len(idx) < n_ch:
            why = f"FORCE_PLATFORM:CHANNEL gives {len(idx)} of its {n_ch} channels"
        elif any(not 0 <= j < n_analog for j in idx):
            why = (f"FORCE_PLATFORM:CHANNEL names analog channels {[j + 1 for j in idx]} but the file "
                   f"has {n_analog}")
        elif pc is None or _plate_rotation(pc) is None:
            why = ("FORCE_PLATFORM:CORNERS are missing" if pc is None else
                   "FORCE_PLATFORM:CORNERS do not span a plate (zero or repeated corners)")
            why += ", so the plate cannot be placed in the lab"
        elif ptype == 4 and cal.size < 36 * (i + 1):
            why = "it is type 4 but FORCE_PLATFORM:CAL_MATRIX is missing or too small (6 x 6 per plate)"
        elif ptype == 3 and not (np.isfinite(po[:2]).all() and po[0] != 0 and po[1] != 0):
            why = (f"it is type 3 (Kistler) but FORCE_PLATFORM:ORIGIN gives the sensor offsets "
                   f"a={po[0]:g}, b={po[1]:g}; both must be non-zero")
        if why is not None:
            dropped.append(f"force plate {i + 1} ({name}) left out: {why}")
            continue
        c6 = cal.reshape(6, 6, -1)[:, :, i] if ptype == 4 else None  # row i gives load i (as ezc3d)
        plates.append(_Plate(name, ptype, idx, pc, po, c6, zero))
    return plates, dropped


def _force_factor(unit: str, label: str, path: Path) -> float:
    key = _unit_key(unit)
    if key in ("", "v"):  # V: a plate channel scaled to volts by a type-4 file
        return 1.0
    if key in _FORCE_N:
        return _FORCE_N[key]
    raise ConfigError(f"{path}: ANALOG:UNITS of force channel {label!r} is {unit!r}; labkit reads "
                      f"{_FORCE_SPELLINGS}: correct the unit in the file")


def _moment_factor(unit: str, label: str, point_m: float, path: Path) -> float:
    key = _unit_key(unit)
    if key in ("", "v"):
        return point_m  # N times POINT:UNITS
    factor = _moment_key_factor(key)
    if factor is None:
        raise ConfigError(f"{path}: ANALOG:UNITS of moment channel {label!r} is {unit!r}; labkit reads "
                          f"{_MOMENT_SPELLINGS}: correct the unit in the file")
    return factor


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
        # a, b as stored, signed: they are the x, y of sensor 1 (Kistler: sensors 1..4 at (a, b),
        # (-a, b), (-a, -b), (a, -b)), so a negative value says the sensors are numbered
        # mirrored along that axis. BTK's ForcePlatformWrenchFilter and ezc3d use the signed
        # values too; abs() would flip that plate's My or Mx (and part of Mz).
        a_m, b_m = float(origin_m[0]), float(origin_m[1])
        if not (math.isfinite(a_m) and math.isfinite(b_m) and a_m != 0 and b_m != 0):
            raise ConfigError(f"{path}: force plate {p.name} is type 3 (Kistler) but FORCE_PLATFORM:ORIGIN "
                              f"gives the sensor offsets a={a_m!r}, b={b_m!r} m; both must be non-zero")
        scale = np.array([_force_factor(u, lb, path) for u, lb in zip(uni, lab, strict=True)])
        if a_m > 0 and b_m > 0:
            f, m = kistler_8ch(ch * scale, a_m=a_m, b_m=b_m)
        else:  # kistler_8ch with |a|, |b| on the channels of the mirrored layout
            f, m = _kistler_signed(ch * scale, a_m, b_m, kistler_8ch)
        origin_m = np.array([0.0, 0.0, -abs(origin_m[2])])
        info.update(a_m=a_m, b_m=b_m)
    else:  # type 1: Fx Fy Fz Px Py Tz
        scale = np.array([_force_factor(uni[k], lab[k], path) for k in range(3)])
        f = ch[:, :3] * scale
        px = ch[:, 3] * _length_factor(uni[3], point_m, f"ANALOG:UNITS of COP channel {lab[3]!r}", path)
        py = ch[:, 4] * _length_factor(uni[4], point_m, f"ANALOG:UNITS of COP channel {lab[4]!r}", path)
        tz = ch[:, 5] * _moment_factor(uni[5], lab[5], point_m, path)
        az0 = -abs(origin_m[2])
        cop = np.column_stack([px, py, np.full_like(px, az0)])
        m = np.cross(cop, f)
        m[:, 2] += tz
        origin_m = np.array([0.0, 0.0, az0])
    info["origin_m"] = origin_m.tolist()
    info["az0_m"] = float(origin_m[2])
    return np.column_stack([f, m]), info


def _kistler_signed(v: np.ndarray, a_m: float, b_m: float, kistler_8ch: Any) -> tuple[np.ndarray, np.ndarray]:
    """Kistler loads with signed sensor offsets: a < 0 swaps sensors 1<->2 and 3<->4 (fx12 and
    fx34 keep their sides in y, fy14 <-> fy23); b < 0 swaps 1<->4 and 2<->3 (fx12 <-> fx34)."""
    fx12, fx34, fy14, fy23, fz1, fz2, fz3, fz4 = v.T
    if a_m < 0:
        fy14, fy23, fz1, fz2, fz3, fz4 = fy23, fy14, fz2, fz1, fz4, fz3
    if b_m < 0:
        fx12, fx34, fz1, fz2, fz3, fz4 = fx34, fx12, fz4, fz3, fz2, fz1
    return kistler_8ch(np.column_stack([fx12, fx34, fy14, fy23, fz1, fz2, fz3, fz4]),
                       a_m=abs(a_m), b_m=abs(b_m))


def _adc_limit_frames(analog: Any, analogs: np.ndarray, channels: Sequence[int], *, integer: bool
                      ) -> np.ndarray:
    """(channels, frames) True where a channel reads an end of its ADC: the raw count 0 of an
    unsigned converter (ANALOG:FORMAT UNSIGNED, or an OFFSET at mid-scale of ANALOG:BITS) or, in
    an integer file, the first or last count of ANALOG:BITS.

    An unplugged or switched-off amplifier reads the raw zero; an overloaded one the rail. With
    an offset of 2048 (12-bit, unsigned) and the negative ANALOG:SCALE many Vicon and Motion
    Analysis files give Fz, the raw zero reads as a large *negative* load: not a sign problem.
    The raw count is recovered from ezc3d's scaled value: ``raw = v / (SCALE * GEN_SCALE) +
    |OFFSET|`` (ezc3d subtracts ``|OFFSET|``, see :mod:`labkit.analysis.c3d.importer`).
    """
    n = len(channels)
    frames = analogs.shape[1] if analogs.ndim == 2 else 0
    scale = _numbers(analog, "SCALE").reshape(-1)
    offset = np.abs(_numbers(analog, "OFFSET").reshape(-1))
    gen = _first_number(analog, "GEN_SCALE", 1.0)
    declared = int(_first_number(analog, "BITS", 0.0))
    bits = declared if 1 <= declared <= 16 else 16  # the rails when BITS is missing: int16
    fmt = " ".join(str(v) for v in (_param_or(analog, "FORMAT") or [])).strip().upper()
    out = np.zeros((n, frames), dtype=bool)
    for k, j in enumerate(channels):
        s = (scale[j] if j < scale.size else 1.0) * gen
        off = offset[j] if j < offset.size else 0.0
        if s == 0 or not math.isfinite(s):
            continue
        raw = analogs[j] / s + off
        # an unsigned converter: declared, or its OFFSET is mid-scale (2048 of 12 bits); then raw 0
        # is the bottom of the range. In a signed file raw 0 is mid-range, an ordinary reading.
        ubits = next((b for b in ([declared] if declared else [12, 16])
                      if abs(off - 2.0 ** (b - 1)) <= 0.05 * 2.0 ** (b - 1)), None)
        if ubits is None and fmt.startswith("UNSIGNED"):
            ubits = bits
        limits = [0.0] if ubits is not None else []
        if integer:
            limits += [2.0**ubits - 1] if ubits is not None else [-(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1]
        for lim in limits:
            out[k] |= np.abs(raw - lim) < 0.5
    return out


def _param_or(group: Any, name: str) -> Any:
    entry = group.get(name) if hasattr(group, "get") else None
    value = None if entry is None else entry["value"]
    return [value] if isinstance(value, str) else value
