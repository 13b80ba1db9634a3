"""Write a labkit session as C3D (:func:`export_c3d`).

:func:`export_c3d` writes float C3D: markers as POINT in mm, model outputs back into their
POINT groups, plates as type 2 (Fx Fy Fz in N, Mx My Mz in N.mm, the reaction convention of
:mod:`labkit.analysis.c3d.plates`, CORNERS and ORIGIN in mm), EMG and other analog streams as
ANALOG, events as the EVENT group, and a ``LABKIT`` group (session time of frame 1, plate
names, the span of each stream, EMG labels) so that importing the file gives the session
back. See :func:`export_c3d` for the one analog rate C3D allows and what is resampled; the
plan (streams, rates, clock, low-pass) is made in :mod:`~labkit.analysis.c3d.export_plan`.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labkit._files import replaced_atomically
from labkit.analysis.c3d.export_plan import _export_plan, _runs, _Series, _used
from labkit.analysis.c3d.parameters import (
    _LENGTH_M,
    _MODEL_GROUPS,
    _PLATE_COMPONENTS,
    _PLATE_CONVENTIONS,
    _ezc3d,
    _unique,
    _unit_key,
)
from labkit.analysis.lab_loads import hardware_plate_entries
from labkit.errors import ConfigError, LabkitWarning

_SI_TO_C3D = {"rad": ("deg", 180.0 / math.pi), "N.m": ("Nmm", 1e3), "m": ("mm", 1e3)}
#: C3D parameter arrays: at most 255 entries, strings of at most 255 characters
_C3D_MAX = 255
#: padding of an exported analog stream beyond its recorded span that is worth a warning
_PAD_WARN_S = 0.1
#: degree of the spline that resamples analog streams to the C3D analog rate
_SPLINE_K = 5


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


def _place(series: _Series, grid_t: np.ndarray, rate: float, *,
           spline: bool = False) -> tuple[np.ndarray, str]:
    """Values of a stream at the grid times: copied when on the grid, else interpolated
    (linearly; with ``spline``, a quintic spline through each finite, gap-free run, linear
    across gaps)."""
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
    if spline:  # linear interpolation loses 30 % of a 700 Hz tone sampled at 2148 Hz; a quintic 0.5 %
        from scipy.interpolate import make_interp_spline

        for j in range(series.data.shape[1]):
            col = series.data[:, j]
            for a, b in _runs(np.isfinite(col), series.times, series.rate_hz):
                if b - a > _SPLINE_K:
                    lo = int(np.searchsorted(grid_t, series.times[a], side="left"))
                    hi = int(np.searchsorted(grid_t, series.times[b - 1], side="right"))
                    if hi > lo:
                        fit = make_interp_spline(series.times[a:b], col[a:b], k=_SPLINE_K)
                        out[lo:hi, j] = fit(grid_t[lo:hi])
    out[outside] = np.nan
    return out, "interpolated"


def _plate_geometry(session: Any, force: Any, names: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(corners (3, 4, n) m, origins (3, n) m, plates with placeholder geometry)."""
    n = len(names)
    corners = np.full((3, 4, n), np.nan)
    origins = np.full((3, n), np.nan)
    from_c3d = {p.get("name"): p for p in force.device.get("c3d_plates", []) if isinstance(p, Mapping)}
    hw = hardware_plate_entries(session.hardware_config, force.name)
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


def export_c3d(
    session_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    analog_rate_hz: float | None = None,
    plate_convention: str = "reaction",
) -> Path:
    """Write a session as a C3D file (markers, plates, EMG and other analogs, events).

    C3D has one point rate and one analog rate that must be an integer multiple of it. The point
    rate is the ``mocap`` stream's (the analog rate when there are no points). The analog rate
    is ``analog_rate_hz`` when given; by default it is never below the fastest analog stream, so
    a default export only upsamples: when the ``force`` rate is a multiple of the point rate,
    the smallest multiple of the force rate that is at least every analog rate (so every plate
    sample stays a C3D sample: plates 2000 Hz + Trigno EMG 2148.1 Hz + markers 200 Hz -> 4000
    Hz; plates 1000 Hz + EMG 2148.1 Hz -> 3000 Hz), else the highest analog stream rate rounded
    up to a multiple of the point rate. The C3D clock starts at the first sample of the stream
    that fixes its rate (force, else mocap), moved back by whole frames to cover every stream;
    streams at the C3D rates whose samples fall on that clock are copied sample for sample;
    every other stream (another rate, e.g. Trigno EMG at 2148.1 Hz, or a sub-sample offset, or
    gaps) is interpolated on the session's synchronised clock (``Stream.times``) at the C3D
    sample times: analogs by a quintic spline through each finite, gap-free run (a 700 Hz tone
    at 2148.1 Hz keeps 99 % of its amplitude; linear interpolation would keep 70 %), points
    linearly, and gaps are bridged linearly; a :class:`~labkit.errors.LabkitWarning` names each
    stream whose rate changes. An analog stream faster than a lower ``analog_rate_hz`` is first
    low-passed (zero-phase Butterworth, order 4, cutoff 0.45 x the new rate,
    ``scipy.signal.sosfiltfilt`` on each finite run) so that it does not alias; the warning says
    so. Outside a stream's span, analogs read 0 (C3D has no missing analog value; warned beyond
    0.1 s) and points are invalid (residual -1); the spans are stored in the ``LABKIT`` group,
    so :func:`import_c3d` crops them off again.

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
        The C3D analog rate; must be an integer multiple of the point rate. Faster analog
        streams are low-passed at 0.45 x this rate before resampling (warned).
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
    with replaced_atomically(out, suffix=".c3d") as tmp:
        c.write(str(tmp))
    return out


def _export_build(ezc3d: Any, s: Any, plan: dict[str, Any], plate_convention: str, version: str) -> Any:
    """The C3D file of a planned export: points, analogs, plates, events, the LABKIT group."""
    c = ezc3d.c3d()
    spans: list[str] = []  # "<kind> <first time> <last time>" of every stream, for import_c3d's crop
    _write_points(c, s, plan, spans)
    emg_labels, fp_channels, plate_names = _write_analogs(c, s, plan, plate_convention, spans)
    if fp_channels:
        _write_plates(c, s, plan["force"].name, fp_channels, plate_names)
    _write_events(c, s, plan["t0"])
    c.add_parameter("LABKIT", "TIME_OFFSET", [repr(float(plan["t0"]))])
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


def _write_points(c: Any, s: Any, plan: dict[str, Any], spans: list[str]) -> None:
    """POINT: markers in mm and model outputs in their groups; NaN -> residual -1."""
    fp, t0, n_frames = plan["fp"], plan["t0"], plan["n_frames"]
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
            points = _marker_points(s, x, ch, placed)
        else:
            points = _model_points(s, x, ch, placed, model_groups, model_units)
        for label, arr in points:
            p_labels.append(label)
            p_desc.append("")
            p_data.append(arr)
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
        prefixes = dict(_MODEL_GROUPS)
        tg = []
        for gname, names in model_groups.items():
            prefix = prefixes.get(gname, gname.rstrip("S"))
            c.add_parameter("POINT", gname, names)
            c.add_parameter("POINT", f"{prefix}_UNITS", [model_units[gname]])
            tg += [gname, prefix]
        c.add_parameter("POINT", "TYPE_GROUPS", tg)


def _marker_points(s: Any, x: _Series, ch: Any, placed: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(marker, (frames, 3) in mm) of a ``mocap`` series placed on the point grid."""
    marker_col = ch["marker"].astype(str).tolist() if "marker" in ch.columns else \
        [lab.rsplit(".", 1)[0] for lab in x.labels]
    axis = ch["axis"].astype(str).tolist()
    order: dict[str, dict[str, int]] = {}
    for k, j in enumerate(x.cols):
        order.setdefault(marker_col[j], {})[axis[j]] = k
    out = []
    for marker, ax in order.items():
        if set(ax) != {"x", "y", "z"}:
            # stacklevel: the caller of export_c3d's caller, the frame this warning has always named
            warnings.warn(f"{s.path}: marker {marker!r} of {x.name!r} lacks an axis; not exported",
                          LabkitWarning, stacklevel=6)
            continue
        # to mm from the channel's unit (m by the lab's convention)
        factor = np.array([1e3 * _LENGTH_M.get(_unit_key(x.units[x.cols[ax[a]]]) or "m", 1.0)
                           for a in "xyz"])
        out.append((marker, placed[:, [ax["x"], ax["y"], ax["z"]]] * factor))
    return out


def _model_points(s: Any, x: _Series, ch: Any, placed: np.ndarray, model_groups: dict[str, list[str]],
                  model_units: dict[str, str]) -> list[tuple[str, np.ndarray]]:
    """(output, (frames, 3) in C3D units) of a ``model`` series; fills the groups and their units."""
    output = ch["output"].astype(str).tolist()
    group = ch["c3d_group"].astype(str).tolist()
    axis = ch["axis"].astype(str).tolist()
    order: dict[tuple[str, str], dict[str, int]] = {}
    for k, j in enumerate(x.cols):
        order.setdefault((output[j], group[j]), {})[axis[j]] = k
    out = []
    for (name, gname), ax in order.items():
        if set(ax) != {"x", "y", "z"}:
            # stacklevel: the caller of export_c3d's caller, the frame this warning has always named
            warnings.warn(f"{s.path}: model output {name!r} of {x.name!r} lacks an axis; "
                          "not exported", LabkitWarning, stacklevel=6)
            continue
        si = x.units[x.cols[ax["x"]]]
        unit, factor = _SI_TO_C3D.get(si, (si, 1.0))
        model_units.setdefault(gname, unit)
        model_groups.setdefault(gname, []).append(name)
        out.append((name, placed[:, [ax["x"], ax["y"], ax["z"]]] * factor))
    return out


def _write_analogs(c: Any, s: Any, plan: dict[str, Any], plate_convention: str, spans: list[str]
                   ) -> tuple[list[str], list[list[int]], list[str]]:
    """ANALOG: plates (Fx Fy Fz in N, Mx My Mz in N.mm), EMG and other channels; 0 where missing.

    Returns (EMG labels, each plate's 1-based analog channels, plate names).
    """
    fa, ratio, t0, n_frames = plan["fa"], plan["ratio"], plan["t0"], plan["n_frames"]
    sign = -1.0 if plate_convention == "reaction" else 1.0
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
        placed, _ = _place(_used(x), a_grid, fa, spline=True)  # column k is channel x.cols[k]
        spans.append(f"{x.kind} {float(x.times[0])!r} {float(x.times[-1])!r}")
        pad = max(float(x.times[0] - a_grid[0]), 0.0) + max(float(a_grid[-1] - x.times[-1]), 0.0)
        inside = (a_grid >= x.times[0]) & (a_grid <= x.times[-1])
        gaps = int(np.sum(~np.isfinite(placed[inside]).all(axis=1)))
        if pad > _PAD_WARN_S or gaps:
            # stacklevel: the caller of export_c3d's caller, the frame this warning has always named
            warnings.warn(f"{s.path}: stream {x.name!r} covers {x.times[0]:.3f}..{x.times[-1]:.3f} s of the "
                          f"C3D span {a_grid[0]:.3f}..{a_grid[-1]:.3f} s"
                          + (f" and has {gaps} missing samples" if gaps else "")
                          + "; C3D analogs have no missing value: written as 0", LabkitWarning, stacklevel=5)
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
    return emg_labels, fp_channels, plate_names


def _write_plates(c: Any, s: Any, force_name: str, fp_channels: list[list[int]], names: list[str]) -> None:
    """FORCE_PLATFORM: type-2 plates with their stored geometry (else a placeholder, warned)."""
    corners, origins, placeholder = _plate_geometry(s, s.stream(force_name), names)
    if placeholder:
        # stacklevel: the caller of export_c3d (via _export_build)
        warnings.warn(f"{s.path}: plates {placeholder} have no stored geometry (CORNERS/ORIGIN); "
                      "written with a placeholder layout (0.6 x 0.4 m plates side by side along y, "
                      "origin at the surface centre)", LabkitWarning, stacklevel=4)
    g = c["parameters"]["FORCE_PLATFORM"]
    g["USED"]["value"] = np.array([len(fp_channels)])
    g["TYPE"]["value"] = np.full(len(fp_channels), 2, dtype=int)
    g["ZERO"]["value"] = np.array([0, 0])
    g["CHANNEL"]["value"] = np.array(fp_channels, dtype=int).T
    g["CORNERS"]["value"] = corners * 1e3
    g["ORIGIN"]["value"] = origins * 1e3
    g["CAL_MATRIX"]["value"] = np.zeros((6, 6, 0))
    c.add_parameter("LABKIT", "PLATE_NAMES", names)


def _write_events(c: Any, s: Any, t0: float) -> None:
    """EVENT: the first 255 session events, at their time from frame 1."""
    ev = s.events
    if len(ev) > _C3D_MAX:
        # stacklevel: the caller of export_c3d (via _export_build)
        warnings.warn(f"{s.path}: the session has {len(ev)} events but the C3D EVENT group holds at most "
                      f"{_C3D_MAX}; the first {_C3D_MAX} are written", LabkitWarning, stacklevel=4)
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
                      stacklevel=4)
