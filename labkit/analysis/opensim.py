"""OpenSim files from a session: markers to ``.trc``, ground reaction forces to ``.mot``.

Markers (:func:`write_trc`): OpenSim's TRC layout (``PathFileType 4 (X/Y/Z)``; the
``DataRate CameraRate NumFrames NumMarkers Units OrigDataRate OrigDataStartFrame
OrigNumFrames`` header; ``Frame#``, ``Time`` and X/Y/Z per marker, tab separated), in m (or
mm with ``units="mm"``), a gap written ``NaN``, as OpenSim's ``TRCFileAdapter`` reads it.

Forces (:func:`write_mot`): a ``.mot`` storage file (``version=1``, ``nRows``,
``nColumns``, ``inDegrees=no``, the S.I. units line, ``endheader``) with ``time`` and, per
plate, the External Loads columns ``<plate>_ground_force_vx vy vz`` (N, the ground reaction
on the subject), ``<plate>_ground_force_px py pz`` (m, the centre of pressure) and
``<plate>_ground_torque_x y z`` (N.m, the free moment about the COP), from
:func:`labkit.analysis.lab_loads.lab_loads`. In an OpenSim ``ExternalForce`` they are
``force_identifier = <plate>_ground_force_v``, ``point_identifier = <plate>_ground_force_p``,
``torque_identifier = <plate>_ground_torque_``, expressed in and applied at points of
``ground``. Where ``|Fz|`` is below ``fz_min_n`` (nobody on the plate) force and torque are 0
and the point is the plate centre, so that noise is not applied at a meaningless COP and
OpenSim gets no NaN.

Frames and clock. Both files are in the lab frame of the session (the C3D lab for imported
files, x y z as recorded) unless ``rotation`` turns them, e.g. :data:`Z_UP_TO_Y_UP` for a
z-up lab into OpenSim's y-up ground; use the same rotation for both files. Times are the
synchronised session times, so the two files share one clock.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labkit._files import replaced_atomically
from labkit.errors import ConfigError

#: lab (x forward, y left, z up: Vicon, Qualisys, C3D default) to OpenSim ground (x forward,
#: y up, z right): x' = x, y' = z, z' = -y
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
_TRC_UNITS = {"m": 1.0, "mm": 1e3}


def _rotation(rotation: Any) -> np.ndarray:
    rot = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
    if rot.shape != (3, 3) or not np.allclose(rot @ rot.T, np.eye(3), atol=1e-9) \
            or not np.isclose(np.linalg.det(rot), 1.0):
        raise ConfigError(f"rotation={np.asarray(rotation).tolist()!r} is not a rotation (3 x 3, "
                          "orthonormal, determinant 1); give e.g. labkit.analysis.opensim.Z_UP_TO_Y_UP")
    return rot


def _markers(st: Any) -> tuple[list[str], list[list[int]]]:
    """Marker names and their x, y, z columns (``<marker>.x/.y/.z`` channels)."""
    labels = [str(v) for v in st.labels]
    names, cols = [], []
    for j, lab in enumerate(labels):
        if lab.endswith(".x"):
            base = lab[:-2]
            if f"{base}.y" in labels and f"{base}.z" in labels:
                names.append(base)
                cols.append([j, labels.index(f"{base}.y"), labels.index(f"{base}.z")])
    return names, cols


def _fmt(x: np.ndarray) -> np.ndarray:
    """Numbers as text (10 significant digits, exact enough for m and N); a gap as ``NaN``,
    which OpenSim's adapters read as missing (an empty last cell would be dropped)."""
    out = np.char.mod("%.10g", np.where(np.isfinite(x), x, 0.0))
    return np.where(np.isfinite(x), out, "NaN")


def write_trc(session: Any, path: str | os.PathLike[str], *, stream: str = "mocap", units: str = "m",
              rotation: Sequence[Sequence[float]] | None = None) -> Path:
    """Write a session's markers as an OpenSim ``.trc`` file.

    Parameters
    ----------
    session : labkit.session.Session
        An open session (``labkit.open_session``).
    path : str or Path
        The ``.trc`` file (replaced atomically).
    stream : str
        The marker stream (``<marker>.x/.y/.z`` channels in m), default ``mocap``.
    units : {"m", "mm"}
        The TRC ``Units``; OpenSim scales either to the model's metres.
    rotation : (3, 3) array_like, optional
        Lab to output frame (default: the lab frame as recorded); e.g. :data:`Z_UP_TO_Y_UP`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if units not in _TRC_UNITS:
        raise ConfigError(f"units={units!r} is invalid; a TRC file is written in 'm' or 'mm'")
    rot = _rotation(rotation)
    st = session.stream(stream)
    names, cols = _markers(st)
    if not names:
        raise ConfigError(f"stream {stream!r} has no markers (<marker>.x/.y/.z channels); give the marker "
                          "stream with stream=")
    bad = [n for n in names if any(c in n for c in "\t\r\n")]
    if bad:
        raise ConfigError(f"marker names {bad!r} hold a tab or a line break, which a TRC file cannot")
    n = st.n_samples
    xyz = np.stack([np.asarray(st.data[:, c], dtype=np.float64) for c in cols], axis=1)  # (n, m, 3)
    xyz = xyz @ rot.T * _TRC_UNITS[units]
    t = np.asarray(st.times, dtype=np.float64)
    rate = float(st.rate_hz) if st.rate_hz > 0 else (float((n - 1) / (t[-1] - t[0])) if n > 1 else 0.0)
    out = Path(path)
    lines = [f"PathFileType\t4\t(X/Y/Z)\t{out.name}",
             "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
             f"{rate:.10g}\t{rate:.10g}\t{n}\t{len(names)}\t{units}\t{rate:.10g}\t1\t{n}",
             "Frame#\tTime\t" + "\t".join(f"{m}\t\t" for m in names).rstrip("\t"),
             "\t\t" + "\t".join(f"X{k}\tY{k}\tZ{k}" for k in range(1, len(names) + 1)),
             ""]
    body = _fmt(xyz.reshape(n, -1))
    rows = ["\t".join([str(i + 1), f"{t[i]:.9f}", *body[i]]) for i in range(n)]
    _write_text(out, "\n".join(lines + rows) + "\n")
    return out


def write_mot(session: Any, path: str | os.PathLike[str], *, stream: str = "force",
              rotation: Sequence[Sequence[float]] | None = None, fz_min_n: float = 20.0) -> Path:
    """Write a session's ground reaction forces, COP and free moments as an OpenSim ``.mot`` file.

    Parameters
    ----------
    session : labkit.session.Session
        An open session whose force stream has plate geometry (an imported C3D, or plates with
        ``corners_m`` and ``origin_m`` in the hardware config): see
        :func:`labkit.analysis.lab_loads.lab_loads`.
    path : str or Path
        The ``.mot`` file (replaced atomically).
    stream : str
        The force stream, default ``force``.
    rotation : (3, 3) array_like, optional
        Lab to output frame, as for :func:`write_trc`.
    fz_min_n : float
        Below this ``|Fz|`` a plate's force and torque are written as 0 and its point as the
        plate centre.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from labkit.analysis.lab_loads import lab_loads, plate_geometries

    if not (fz_min_n >= 0 and np.isfinite(fz_min_n)):
        raise ConfigError(f"fz_min_n={fz_min_n!r} is invalid; give a threshold in N (>= 0)")
    rot = _rotation(rotation)
    loads = lab_loads(session, stream, fz_min_n=fz_min_n)
    if not loads:
        raise ConfigError(f"stream {stream!r} has no plates (fpN.Fx .. fpN.Mz channels)")
    geos = plate_geometries(session.stream(stream), session.hardware_config)
    t = next(iter(loads.values())).times_s
    header, cols = ["time"], [t]
    for name, ld in loads.items():
        on = np.isfinite(ld.cop_m[:, 0])
        force = np.where(on[:, None], ld.force_n, 0.0) @ rot.T
        point = np.where(on[:, None], ld.cop_m, geos[name].centre_m) @ rot.T
        torque = np.where(on[:, None], ld.free_moment_nm, 0.0) @ rot.T
        header += [f"{name}_ground_force_v{a}" for a in "xyz"] + [f"{name}_ground_force_p{a}" for a in "xyz"]
        header += [f"{name}_ground_torque_{a}" for a in "xyz"]
        cols += [*force.T, *point.T, *torque.T]
    data = np.column_stack(cols)
    out = Path(path)
    lines = [out.stem, "version=1", f"nRows={len(t)}", f"nColumns={len(header)}", "inDegrees=no",
             "Units are S.I. units (second, meters, Newtons, ...)",
             "Ground reaction on the subject (N), centre of pressure (m) and free moment (N.m), in the lab "
             "frame" + (" turned by the given rotation" if rotation is not None else "")
             + f"; written by labkit from {Path(str(session.path)).name}",
             "endheader", "\t".join(header)]
    text = _fmt(data[:, 1:])
    rows = ["\t".join([f"{data[i, 0]:.9f}", *text[i]]) for i in range(len(t))]
    _write_text(out, "\n".join(lines + rows) + "\n")
    return out


def export_opensim(session_path: str | os.PathLike[str], *, trc_path: str | os.PathLike[str] | None = None,
                   mot_path: str | os.PathLike[str] | None = None, overwrite: bool = False,
                   units: str = "m", rotation: Sequence[Sequence[float]] | None = None,
                   fz_min_n: float = 20.0) -> list[Path]:
    """Write a session file's markers (``trc_path``) and/or ground reactions (``mot_path``).

    Parameters
    ----------
    session_path : str or Path
        The session (``.h5``).
    trc_path, mot_path : str or Path, optional
        The files to write; at least one.
    overwrite : bool
        Replace existing files.
    units, rotation, fz_min_n
        As for :func:`write_trc` and :func:`write_mot`.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> from labkit.analysis.opensim import export_opensim, Z_UP_TO_Y_UP  # doctest: +SKIP
    >>> export_opensim("walk.h5", trc_path="walk.trc", mot_path="walk_grf.mot",
    ...                rotation=Z_UP_TO_Y_UP)  # doctest: +SKIP
    """
    import labkit

    wanted = [p for p in (trc_path, mot_path) if p is not None]
    if not wanted:
        raise ConfigError("give a .trc file for the markers and/or a .mot file for the ground reactions")
    for p in wanted:
        if Path(p).exists() and not overwrite:
            raise ConfigError(f"{p}: file exists; choose a new path or pass overwrite=True (--overwrite)")
    out = []
    with labkit.open_session(session_path) as s:
        if trc_path is not None and mot_path is not None:
            # what would refuse the second file is checked before the first is written, so a
            # refusal leaves no half export behind
            from labkit.analysis.lab_loads import plate_geometries

            _rotation(rotation)
            if not (fz_min_n >= 0 and np.isfinite(fz_min_n)):
                raise ConfigError(f"fz_min_n={fz_min_n!r} is invalid; give a threshold in N (>= 0)")
            if not plate_geometries(s.stream("force"), s.hardware_config):
                raise ConfigError("stream 'force' has no plates (fpN.Fx .. fpN.Mz channels)")
        if trc_path is not None:
            out.append(write_trc(s, trc_path, units=units, rotation=rotation))
        if mot_path is not None:
            out.append(write_mot(s, mot_path, rotation=rotation, fz_min_n=fz_min_n))
    return out


def _write_text(out: Path, text: str) -> None:
    with replaced_atomically(out) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
