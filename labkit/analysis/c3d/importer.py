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

Force plates (types 1-4, sign convention, origins, unusable plates, ADC limits):
:mod:`labkit.analysis.c3d.plates`. The loads are stored in each plate's frame; the ground
reaction, centre of pressure (with the ORIGIN offsets) and free moment in the lab frame come
from :func:`labkit.analysis.lab_loads.lab_loads`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from labkit._files import replaced_atomically
from labkit.analysis.c3d.import_streams import _analog_streams, _point_streams, _Source, _source
from labkit.analysis.c3d.parameters import (
    _PLATE_CONVENTIONS,
    _ezc3d,
    _first_number,
    _group,
    _jsonable,
    _numbers,
    _parameters_json,
    _read_c3d,
    _strings,
)
from labkit.errors import ConfigError


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
        ezc3d is missing, the file is missing, not a C3D file or damaged, a unit is unknown,
        or nothing usable remains; the one-line message says which.

    Warns
    -----
    labkit.errors.LabkitWarning
        A force plate whose FORCE_PLATFORM parameters cannot be used (CHANNEL names analog
        channels the file lacks, CORNERS missing, a Kistler ORIGIN with a = 0 or b = 0, CAL_MATRIX
        missing, TYPE not 1-4) is left out, once per plate, saying why; its channels go to the
        ``analog`` stream and everything else is imported (root attribute
        ``c3d_dropped_plates``). Frames where a plate channel reads the raw ADC zero or a rail
        are reported (``c3d_plates``: ``adc_limit_frames``, ``adc_limit_spans_s``) and kept.

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
            why = "; ".join(built["dropped_plates"]) or "FORCE_PLATFORM:USED is 0"
            raise ConfigError(f"{src}: test={test!r} needs a force plate, but the file has no usable "
                              f"one ({why})")
        t, rate = force[1], force[0].nominal_rate_hz
        trial = (test, side, float(t[0] - 0.5 / rate), float(t[-1] + 0.5 / rate))
    _write_session(out, src, built, subject=subject, trial=trial)
    return out


def _build_session(c: Any, path: Path, *, emg_channels: Any, model_outputs: bool,
                   plate_convention: str, announced: int | None) -> dict[str, Any]:
    """Streams, events, header and parameters of a C3D file, ready for :func:`_write_session`."""
    src = _source(c, path, announced, _labkit_group(c))
    streams, dropped = _analog_streams(c, src, emg_channels=emg_channels, plate_convention=plate_convention)
    streams.update(_point_streams(src, model_outputs=model_outputs))
    events = _events(c, src.offset_s)
    if not streams and not events:
        why = f" ({'; '.join(dropped)})" if dropped else ""
        raise ConfigError(f"{path}: nothing usable to import: no markers, no analog channels, no "
                          f"events{why}; export the trial again with its data")
    return {"streams": streams, "events": events, "header": _header_json(src),
            "dropped_plates": dropped, "parameters": _parameters_json(c),
            "subjects": _strings(_group(c, "SUBJECTS"), "NAMES"), "time_offset_s": src.offset_s}


def _header_json(src: _Source) -> dict[str, Any]:
    """The C3D header as JSON-able values, with the number format and the manufacturer."""
    header = src.header
    hdr = {key: {k: _jsonable(v) for k, v in dict(header[key]).items() if k != "events_time"
                 and k != "events_label"} for key in ("points", "analogs")}
    hdr["format"] = "float" if _first_number(src.point, "SCALE", -1.0) < 0 else "integer"
    hdr["manufacturer"] = src.maker
    return hdr


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
            if built["dropped_plates"]:
                f.attrs["c3d_dropped_plates"] = json.dumps(built["dropped_plates"], ensure_ascii=False)
            f["config"].create_dataset("c3d_parameters", dtype=h5py.string_dtype(),
                                       data=json.dumps(built["parameters"], ensure_ascii=False))
