"""Reading C3D files with ezc3d: clear errors, parameter getters, units, shared constants.

ezc3d is imported only when :func:`_ezc3d` is called, so that ``import labkit`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labkit._json import to_jsonable
from labkit.errors import ConfigError

_INSTALL = 'C3D import and export need ezc3d: pip install "labkit[c3d]"'
_PLATE_COMPONENTS = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")
_PLATE_CONVENTIONS = ("reaction", "action")
#: length units of POINT:UNITS and of analog channels (to metres), with the spellings of older
#: files (AMTI/Vicon 8-character fields: ``mete``, ``millimet``; BTK and ezc3d pass them through)
_LENGTH_M = {"m": 1.0, "cm": 1e-2, "mm": 1e-3, **{k: 1.0 for k in (
    "mete", "meter", "meters", "metre", "metres", "mtr")}, **{k: 1e-3 for k in (
        "millimeter", "millimeters", "millimetre", "millimetres", "millimet", "milli")},
    **{k: 1e-2 for k in ("centimeter", "centimeters", "centimetre", "centimetres")}}
#: force units (to newtons): ``nt`` (Motion Analysis, older AMTI), ``Newtons`` and friends
_FORCE_N = {"n": 1.0, "nt": 1.0, "newton": 1.0, "newtons": 1.0, "kn": 1e3, "kilonewton": 1e3,
            "kilonewtons": 1e3}
#: how the accepted spellings are listed in error messages
_FORCE_SPELLINGS = "N (also nt, Newton, Newtons) or kN"
_LENGTH_SPELLINGS = "m (also mete, meter, metre), cm or mm (also millimeter, millimetre)"
_MOMENT_SPELLINGS = ("a force unit times a length unit: N.m, Nm, N-m, N*m, N.mm, Nmm, ntmm, "
                     "Newton-meters, ...")
#: POINT groups of model outputs and their unit prefix (ANGLES -> ANGLE_UNITS), used when
#: POINT:TYPE_GROUPS does not name them
_MODEL_GROUPS = (("ANGLES", "ANGLE"), ("FORCES", "FORCE"), ("MOMENTS", "MOMENT"),
                 ("POWERS", "POWER"), ("SCALARS", "SCALAR"))


def _ezc3d() -> Any:
    try:
        import ezc3d
    except ImportError:
        raise ConfigError(_INSTALL) from None
    return ezc3d


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


def _moment_key_factor(key: str) -> float | None:
    """N.m per unit of a moment unit key (``nmm``, ``n*m``, ``ntmm``, ``newton-meters``), or None."""
    key = key.replace("-", "*").replace("_", "*")
    for force in sorted(_FORCE_N, key=len, reverse=True):  # "nt" before "n": ntmm is nt x mm
        if key.startswith(force):
            length = key[len(force):].lstrip("*")
            if length in _LENGTH_M:
                return _FORCE_N[force] * _LENGTH_M[length]
    return None


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
    """A C3D header or parameter value as JSON-ready data, kept in the session as its file format
    keeps JSON (:mod:`labkit._json`, ``nan="keep"``: a NaN parameter stays NaN)."""
    return to_jsonable(value, nan="keep")


def _parameters_json(c: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for gname in c["parameters"]:
        group = c["parameters"][gname]
        out[gname] = {k: _jsonable(v["value"]) for k, v in group.items()
                      if k != "__METADATA__" and isinstance(v, Mapping) and "value" in v}
    return out


def _length_factor(unit: str, fallback: float, what: str, path: Path) -> float:
    key = _unit_key(unit)
    if not key:
        return fallback
    if key not in _LENGTH_M:
        raise ConfigError(f"{path}: {what} has unit {unit!r}; labkit reads {_LENGTH_SPELLINGS}: "
                          "correct the unit in the file")
    return _LENGTH_M[key]
