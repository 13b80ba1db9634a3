"""Force-plate loads in the lab frame: ground reaction, centre of pressure, free moment.

A session's ``force`` stream holds, per plate, the load on the plate in the plate's own frame
with moments about its measurement origin (docs/session-format.md). Placing it in the lab
needs the plate's geometry, C3D style:

* ``corners_m``: the four surface corners in the lab (C3D order +x+y, -x+y, -x-y, +x-y of
  the plate frame); their mean is the surface centre C, their edges give the plate-to-lab
  rotation R (plate z points down);
* ``origin_m``: the vector from the measurement origin O to C in plate coordinates (z < 0:
  O lies below the surface), as ``import_c3d`` stores it for every plate type (type 2/4: the
  file's ORIGIN a, b, c turned to z < 0 as ezc3d and BTK do; type 3 Kistler: (0, 0, -|c|),
  a and b being sensor offsets; type 1: (0, 0, -|c|)).

Then, with ``M_C = M_O + F x origin`` the moment about the surface centre (C3D spec; ezc3d
``ForcePlatforms.cpp``)::

    COP_plate = (-M_C,y / F_z, M_C,x / F_z, 0)          on the surface, relative to C
    COP_lab   = R COP_plate + C
    T_plate   = M_C - COP_plate x F                       (only its z is non-zero)
    GRF_lab   = -R F,   free moment_lab = -R T_plate      (on the subject)

This is ezc3d's ``center_of_pressure``, ``force`` and ``Tz`` for a file storing the
reaction (checked for plate types 1-4 in tests/analysis/test_lab_loads.py). The geometry
comes from the stream (``device["c3d_plates"]``, written by ``import_c3d``) or, for plates
recorded by labkit, from the plate's ``corners_m`` and ``origin_m`` in the session's
hardware config (docs/devices.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.errors import ConfigError

_COMPONENTS = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")


@dataclass(frozen=True)
class PlateGeometry:
    """Where a plate is in the lab.

    Attributes
    ----------
    name : str
        The plate (``fp1``), the prefix of its channels.
    rotation : numpy.ndarray
        (3, 3) plate-to-lab rotation (columns: the plate axes in the lab).
    centre_m : numpy.ndarray
        (3,) surface centre in the lab, m.
    origin_m : numpy.ndarray
        (3,) measurement origin to surface centre, plate frame, m (z < 0).
    """

    name: str
    rotation: np.ndarray
    centre_m: np.ndarray
    origin_m: np.ndarray


@dataclass(frozen=True)
class LabLoads:
    """One plate's loads on the subject in the lab frame, at the force stream's samples.

    Attributes
    ----------
    plate : str
    times_s : numpy.ndarray
        (n,) synchronised session times.
    force_n : numpy.ndarray
        (n, 3) ground reaction force on the subject, N.
    cop_m : numpy.ndarray
        (n, 3) centre of pressure on the plate surface, m; NaN where ``|Fz| < fz_min_n``.
    free_moment_nm : numpy.ndarray
        (n, 3) free moment on the subject about the COP (along the plate normal), N.m; NaN
        where the COP is.
    """

    plate: str
    times_s: np.ndarray
    force_n: np.ndarray
    cop_m: np.ndarray
    free_moment_nm: np.ndarray


def plate_rotation(corners_m: np.ndarray) -> np.ndarray | None:
    """Plate-to-lab rotation from the (3, 4) CORNERS (C3D order), or None if degenerate."""
    corners_m = np.asarray(corners_m, dtype=np.float64)
    if corners_m.shape != (3, 4) or not np.all(np.isfinite(corners_m)):
        return None
    x = corners_m[:, 0] - corners_m[:, 1]
    y = corners_m[:, 0] - corners_m[:, 3]
    z = np.cross(x, y)
    if np.linalg.norm(x) == 0 or np.linalg.norm(z) == 0:
        return None
    y = np.cross(z, x)
    return np.column_stack([x / np.linalg.norm(x), y / np.linalg.norm(y), z / np.linalg.norm(z)])


def loads_in_lab(forces_n: np.ndarray, moments_nm: np.ndarray, geometry: PlateGeometry, *,
                 fz_min_n: float = 20.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ground reaction, COP and free moment in the lab from one plate's stored loads.

    Parameters
    ----------
    forces_n, moments_nm : array_like
        (n, 3) load on the plate in the plate frame, moments about the measurement origin
        (the ``fpN.Fx .. fpN.Mz`` channels of a session).
    geometry : PlateGeometry
    fz_min_n : float
        Below this ``|Fz|`` the COP and free moment are NaN (no foot on the plate).

    Returns
    -------
    force_n, cop_m, free_moment_nm : numpy.ndarray
        (n, 3) each, lab frame, on the subject (see the module docstring for the formulas).
    """
    f = np.asarray(forces_n, dtype=np.float64).reshape(-1, 3)
    m = np.asarray(moments_nm, dtype=np.float64).reshape(-1, 3)
    rot = geometry.rotation
    m_c = m + np.cross(f, geometry.origin_m)
    fz = f[:, 2]
    on = np.abs(fz) >= fz_min_n
    safe = np.where(on, fz, 1.0)
    cop = np.column_stack([-m_c[:, 1] / safe, m_c[:, 0] / safe, np.zeros(len(f))])
    free = m_c - np.cross(cop, f)
    cop[~on] = np.nan
    free[~on] = np.nan
    return -f @ rot.T, cop @ rot.T + geometry.centre_m, -free @ rot.T


def plate_geometries(stream: Any, hardware_config: str = "") -> dict[str, PlateGeometry]:
    """Every plate of a force stream with its lab geometry.

    Parameters
    ----------
    stream : labkit.session.Stream
        A ``force`` stream with ``fpN.Fx .. fpN.Mz`` channels.
    hardware_config : str
        The session's stored hardware config (YAML), used for plates the stream's device
        does not place (``plates: [{name, corners_m, origin_m}]`` of the stream's device).

    Raises
    ------
    labkit.errors.ConfigError
        A plate without corners: the message names it and where to give them.
    """
    names = [str(lab)[:-3] for lab in stream.labels if str(lab).endswith(".Fx")]
    c3d = {p.get("name"): p for p in stream.device.get("c3d_plates", []) if isinstance(p, Mapping)}
    hw = hardware_plate_entries(hardware_config, stream.name) if hardware_config else {}
    dev_origins = [o for o in str(stream.device.get("origins_m", "") or "").split(";") if o]
    out = {}
    for i, name in enumerate(names):
        p = c3d.get(name) or hw.get(name) or {}
        corners = np.asarray(p.get("corners_m", np.full((4, 3), np.nan)), dtype=np.float64)
        rot = plate_rotation(corners.T) if corners.shape == (4, 3) else None
        if rot is None:
            raise ConfigError(f"stream {stream.name!r}: plate {name} has no usable corners_m, so it "
                              "cannot be placed in the lab; give corners_m (4 x 3, m, C3D order) and "
                              "origin_m for it in the hardware config")
        origin = p.get("origin_m")
        if origin is None and i < len(dev_origins):  # a labkit plate's device gives its origins
            origin = [float(v) for v in dev_origins[i].split(",")]
        origin = np.asarray([0.0, 0.0, 0.0] if origin is None else origin, dtype=np.float64).reshape(3)
        if origin[2] > 0:  # stored as the C3D spec writes it (z down positive): O lies below
            origin = -origin
        out[name] = PlateGeometry(name, rot, corners.mean(axis=0), origin)
    return out


def lab_loads(session: Any, stream: str = "force", *, fz_min_n: float = 20.0) -> dict[str, LabLoads]:
    """Each plate's ground reaction, centre of pressure and free moment in the lab frame.

    Parameters
    ----------
    session : labkit.session.Session
        An open session (``labkit.open_session``).
    stream : str
        The force stream (default ``force``).
    fz_min_n : float
        COP and free moment are NaN where ``|Fz|`` is below this.

    Returns
    -------
    dict of str to LabLoads
        By plate name, in the stream's order.

    Examples
    --------
    >>> import labkit  # doctest: +SKIP
    >>> from labkit.analysis.lab_loads import lab_loads  # doctest: +SKIP
    >>> with labkit.open_session("walk.h5") as s:  # doctest: +SKIP
    ...     cop = lab_loads(s)["fp1"].cop_m  # (n, 3) m, lab frame
    """
    st = session.stream(stream)
    geos = plate_geometries(st, session.hardware_config)
    times = np.asarray(st.times)
    labels = st.labels
    out = {}
    for name, geo in geos.items():
        cols = [labels.index(f"{name}.{c}") for c in _COMPONENTS]
        x = np.asarray(st.data[:, cols], dtype=np.float64)
        f, cop, free = loads_in_lab(x[:, :3], x[:, 3:], geo, fz_min_n=fz_min_n)
        out[name] = LabLoads(name, times, f, cop, free)
    return out


def hardware_plate_entries(text: str, stream: str) -> dict[str, dict[str, Any]]:
    """Plate entries (``name``, ``corners_m``, ``origin_m``) of the stream's device in a stored
    hardware config (YAML text; ``{}`` when it is empty or no longer parses)."""
    if not text.strip():
        return {}
    import yaml

    try:
        cfg = yaml.safe_load(text)
    except yaml.YAMLError:  # a stored config that no longer parses: no geometry (the caller says so)
        return {}
    out: dict[str, dict[str, Any]] = {}
    for dev in (cfg or {}).get("devices", []) if isinstance(cfg, dict) else []:
        if isinstance(dev, dict) and dev.get("name") == stream:
            for p in dev.get("plates", []) or []:
                if isinstance(p, dict) and "name" in p:
                    out[str(p["name"])] = p
    return out
