"""Export a session to CSV files, for spreadsheets, R, MATLAB or any tool without HDF5.

Layout of ``out_dir`` (it mirrors the session file's groups, so a stream can never collide
with the tables beside it)::

    session.json                 root metadata (every root attribute, e.g. an imported XDF's
                                 ``xdf_file_header``), the time base of the stream files, ``config``
                                 (each /config dataset -> its file, null when empty), and per stream:
                                 file, type, source_id, rate_hz, channel_format, device, n_samples,
                                 time_column, columns, attributes
    channels.csv                 stream, label, unit, type, muscle, side, device_channel, then every
                                 extra channel column of any stream (empty where a stream has none)
    streams/<stream>.csv         time_s, then one column per channel label, one row per sample
    clock_offsets.csv            stream, collection_time, offset, rtt (s; see docs/session-format.md)
    events.csv                   time, label, value, source (time in s on the session clock)
    trials.csv                   id, test, side, attempt, start, end, status, reason (s, session clock)
    config/hardware.yaml         exact hardware-config text (only when the session has one)
    config/protocol.yaml         exact protocol text (only when the session has one)
    config/<name>.json|.txt      every other dataset under /config (e.g. ``c3d_parameters``, an
                                 imported C3D's parameter section): text exactly as stored, ``.json``
                                 when it is a JSON object or array, else ``.txt``; numbers and arrays
                                 as JSON; empty text is not written
    results/<name>/<table>.csv   each table of each results group
    results/<name>/<array>.csv   each numeric array: 1-D as one column ``value``; 2-D as columns
                                 ``0``, ``1``, ...; N-D reshaped to (shape[0], -1) (its shape is in
                                 provenance.json)
    results/<name>/provenance.json   method, params, inputs, labkit_version, created_utc, array shapes

``time_s`` is the synchronised session clock (``Stream.times``: clock offsets applied,
regular streams dejittered) or, with ``synchronised=False``, the raw stamps as the source
sent them (``Stream.raw_times``; ``clock_offsets.csv`` then has what is needed to synchronise
them). Events and trials are always on the session clock. Stream file names are the stream
names with characters other than letters, digits, ``_``, ``.`` and ``-`` replaced by ``_``.

Column names: a stream file's columns are the channel labels, in channel order. Labels never
make an export fail and no data is refused: when a channel is itself labelled ``time_s``, the
time column takes the first free name of ``time_s_2``, ``time_s_3``, ...; a label that repeats
one before it in the same stream (labkit's writer refuses such streams, other HDF5 writers may
not) gets the first free ``<label>_2``, ``<label>_3``, .... The stream's entry in
``session.json`` records the names used: ``time_column`` and ``columns`` (one per channel, in
the order of ``channels.csv``, whose ``label`` column keeps the labels as the session has them).

Stream attributes that the columns above do not hold (an imported XDF stream's
``xdf_stream_id``, ``xdf_header``, ``xdf_footer``; XML as its exact text) are in the stream's
``attributes`` in ``session.json``, so nothing of an imported file's metadata is lost.

Numbers are written with the shortest text that reads back to the same value (float64
exactly, float32 exactly when read as float32; integers as integers); an empty cell is NaN
(a dropped sample). Files are UTF-8 with a header row; text with commas, quotes or line
breaks is quoted as CSV does. With pandas, ``read_csv(path, keep_default_na=False,
na_values=[""])`` reads everything back as it was (text such as ``NA`` stays text).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from labkit import _json
from labkit._version import __version__
from labkit.errors import SessionError
from labkit.session import format as fmt
from labkit.session._h5 import attr_str, open_h5, reading
from labkit.session.reader import open_session
from labkit.spec import CHANNEL_FIELDS, unique_stream_name

__all__ = ["export_csv"]

TIME_COLUMN = "time_s"
#: stream-group attributes that session.json already holds under its own keys
_STREAM_ATTRS_SHOWN = frozenset({"name", "type", "source_id", "nominal_rate_hz", "channel_format",
                                 "n_channels", "device"})
#: /config datasets with a file name of their own (YAML text written by labkit)
_CONFIG_YAML = ("hardware", "protocol")


def _free_name(base: str, taken: set[str]) -> str:
    """``base``, or the first of ``base_2``, ``base_3``, ... not in ``taken``."""
    name, k = base, 2
    while name in taken:
        name = f"{base}_{k}"
        k += 1
    return name


def _column_names(labels: list[str]) -> tuple[str, list[str]]:
    """(time column, channel columns): unique CSV column names for a stream's file."""
    taken = set(labels)
    columns: list[str] = []
    for label in labels:
        column = label if label not in columns else _free_name(label, taken)
        taken.add(column)
        columns.append(column)
    return _free_name(TIME_COLUMN, set(columns)), columns


def _config_file(key: str, value: Any, taken: set[str]) -> tuple[str, Path | None]:
    """(text to write, file) of one /config dataset; no file when it is empty text."""
    if isinstance(value, str):
        if not value:
            return "", None
        if key in _CONFIG_YAML:
            return value, Path("config", f"{key}.yaml")
        try:
            is_json = isinstance(json.loads(value), dict | list)
        except ValueError:
            is_json = False
        text, ext = value, ".json" if is_json else ".txt"
    else:
        text, ext = _json.dumps(value, ensure_ascii=False, fallback=str) + "\n", ".json"
    stem = unique_stream_name(key.replace("/", "."), taken)
    taken.add(stem)
    return text, Path("config", f"{stem}{ext}")


def _read_extras(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Every /config dataset (by path below /config) and the stream attributes a Stream lacks."""
    config: dict[str, Any] = {}
    attrs: dict[str, dict[str, Any]] = {}
    f = open_h5(path, "r")
    try:
        with reading(path, "the config and stream attributes"):
            group = f.get(fmt.CONFIG_GROUP)

            def take(key: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset):
                    config[key] = attr_str(obj[()])

            if isinstance(group, h5py.Group):
                group.visititems(take)
            for name, g in f.get(fmt.STREAMS_GROUP, {}).items():
                attrs[name] = {k: attr_str(v) for k, v in g.attrs.items() if k not in _STREAM_ATTRS_SHOWN}
    finally:
        f.close()
    return config, attrs


def _write_json(path: Path, value: Any) -> None:
    # strict JSON for other tools (labkit._json: NaN and inf are null); unknown values as text
    path.write_text(_json.dumps(value, indent=2, ensure_ascii=False, fallback=str) + "\n",
                    encoding="utf-8")


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    # float_format=None: pandas writes repr(), the shortest text that reads back exactly
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _safe_part(name: str, what: str) -> str:
    if name in ("", ".", ".."):
        raise SessionError(f"{what} {name!r} cannot be a file name; rename it in the session")
    return name


def export_csv(
    session_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    synchronised: bool = True,
    overwrite: bool = False,
) -> list[Path]:
    """Write a session as CSV files: one per stream, plus channels, events, trials and results.

    The layout is described in the module docstring (``labkit.analysis.export_csv``). Channel
    labels never make it fail: a channel labelled ``time_s`` or a repeated label gets a free
    column name, recorded in ``session.json``. Every /config dataset and every stream
    attribute is written too (``config/``, ``session.json``).

    Parameters
    ----------
    session_path : str or Path
        A labkit session file (``.h5``).
    out_dir : str or Path
        Directory to write into (created if needed).
    synchronised : bool
        ``time_s`` of the stream files on the synchronised session clock (default), or the
        raw source stamps when False.
    overwrite : bool
        Replace files of a previous export. Without it, any existing file is refused before
        anything is written.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    labkit.errors.SessionError
        The session cannot be read, or files exist and ``overwrite`` is False.

    Examples
    --------
    >>> from labkit.analysis.export_csv import export_csv
    >>> files = export_csv("session.h5", "session_csv")         # doctest: +SKIP
    >>> import pandas as pd
    >>> emg = pd.read_csv("session_csv/streams/emg.csv")          # doctest: +SKIP
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SessionError(f"{out}: exists and is not a directory; pass a directory for the CSV files")
    config, stream_attrs = _read_extras(Path(session_path))
    with open_session(session_path) as s:
        names = s.streams
        stream_files = _stream_files(names)
        results = _checked_results(s)
        config_files = _config_files(config)
        # every file is known (and checked) before the first is written
        _prepare(out, _planned(stream_files, config_files, results), overwrite)
        written: list[Path] = []
        meta_streams = _write_streams(s, out, names, stream_files, stream_attrs, synchronised, written)
        _emit(out, Path("events.csv"), s.events, written)
        _emit(out, Path("trials.csv"), s.trials.reset_index(drop=True), written)
        _write_config(out, config_files, written)
        _write_results(out, results, written)
        _write_json(out / "session.json", {
            "session": s.info,
            "source_file": Path(session_path).name,
            "exported_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "exported_by": f"labkit {__version__} labkit.analysis.export_csv",
            "time_s": ("synchronised session clock (s): clock offsets applied, regular streams "
                       "dejittered" if synchronised else
                       "raw source time stamps (s, sender clock); see clock_offsets.csv"),
            "synchronised": synchronised,
            "config": {key: rel.as_posix() if rel is not None else None
                       for key, (_, rel) in config_files.items()},
            "streams": meta_streams,
            "results": list(results),
        })
        written.insert(0, out / "session.json")
    return written


def _stream_files(names: list[str]) -> dict[str, Path]:
    """Stream name -> its file (``streams/<safe name>.csv``, unique)."""
    taken: set[str] = set()
    stream_files = {}
    for name in names:
        safe = unique_stream_name(name, taken)
        taken.add(safe)
        stream_files[name] = Path("streams") / f"{safe}.csv"
    return stream_files


def _checked_results(s: Any) -> dict[str, Any]:
    """The session's results groups, each name checked to be a usable file name."""
    results = {}
    for rname in s.results:
        res = s.result(rname)
        _safe_part(rname, "result")
        for key in [*res.tables, *res.arrays]:
            _safe_part(key, f"result {rname} table")
        results[rname] = res
    return results


def _config_files(config: dict[str, Any]) -> dict[str, tuple[str, Path | None]]:
    """/config key -> (text, file) of every dataset, the YAML ones first."""
    config_files: dict[str, tuple[str, Path | None]] = {}
    config_taken = set(_CONFIG_YAML)
    for key in [*[k for k in _CONFIG_YAML if k in config], *sorted(set(config) - set(_CONFIG_YAML))]:
        config_files[key] = _config_file(key, config[key], config_taken)
    return config_files


def _planned(stream_files: dict[str, Path], config_files: dict[str, tuple[str, Path | None]],
             results: dict[str, Any]) -> list[Path]:
    """Every file the export writes, relative to ``out_dir``."""
    plan = [Path("session.json"), Path("channels.csv"), *stream_files.values(),
            Path("clock_offsets.csv"), Path("events.csv"), Path("trials.csv")]
    plan += [rel for _, rel in config_files.values() if rel is not None]
    for rname, res in results.items():
        plan += [Path("results", rname, f"{k}.csv") for k in [*res.tables, *res.arrays]]
        plan.append(Path("results", rname, "provenance.json"))
    return plan


def _prepare(out: Path, plan: list[Path], overwrite: bool) -> None:
    """Refuse existing files (without ``overwrite``), then make the directories."""
    existing = [out / p for p in plan if (out / p).exists()]
    if existing and not overwrite:
        raise SessionError(
            f"{out}: {len(existing)} export file(s) exist already (first: {existing[0]}); "
            "choose another directory or pass --overwrite (overwrite=True in Python)"
        )
    for sub in {(out / p).parent for p in plan}:
        sub.mkdir(parents=True, exist_ok=True)


def _emit(out: Path, rel: Path, frame: pd.DataFrame, written: list[Path]) -> None:
    _write_csv(out / rel, frame)
    written.append(out / rel)


def _write_streams(s: Any, out: Path, names: list[str], stream_files: dict[str, Path],
                   stream_attrs: dict[str, dict[str, Any]], synchronised: bool,
                   written: list[Path]) -> dict[str, dict[str, Any]]:
    """The stream files, ``channels.csv`` and ``clock_offsets.csv``; returns each stream's
    entry of ``session.json``."""
    meta_streams = {}
    channel_rows = []
    offset_rows = []
    for name in names:
        st = s.stream(name)
        time_column, columns = _column_names(st.labels)
        frame = pd.DataFrame(st.data, columns=columns, copy=False)
        frame.insert(0, time_column, st.times if synchronised else st.raw_times)
        _emit(out, stream_files[name], frame, written)
        ch = st.channels.copy()
        ch.insert(0, "stream", name)
        channel_rows.append(ch)
        co = st.clock_offsets.copy()
        co.insert(0, "stream", name)
        offset_rows.append(co)
        meta_streams[name] = {
            "file": stream_files[name].as_posix(), "type": st.type, "source_id": st.source_id,
            "rate_hz": st.rate_hz, "channel_format": st.channel_format, "device": st.device,
            "n_samples": st.n_samples, "n_channels": len(st.labels),
            "n_clock_offsets": len(st.clock_offsets),
            "time_column": time_column, "columns": columns,
            "attributes": stream_attrs.get(name, {}),
        }
    columns = ["stream", *CHANNEL_FIELDS]
    for ch in channel_rows:
        columns += [c for c in ch.columns if c not in columns]
    channels = (pd.concat(channel_rows, ignore_index=True) if channel_rows
                else pd.DataFrame(columns=columns))
    _emit(out, Path("channels.csv"), channels.reindex(columns=columns).fillna(""), written)
    offsets = (pd.concat(offset_rows, ignore_index=True) if offset_rows
               else pd.DataFrame(columns=["stream", "collection_time", "offset", "rtt"]))
    _emit(out, Path("clock_offsets.csv"), offsets, written)
    return meta_streams


def _write_config(out: Path, config_files: dict[str, tuple[str, Path | None]], written: list[Path]) -> None:
    """``config/``: each /config dataset that is not empty text."""
    for text, maybe in config_files.values():
        if maybe is not None:
            # newline="": the text exactly as stored (no line-ending translation)
            (out / maybe).write_text(text, encoding="utf-8", newline="")
            written.append(out / maybe)


def _write_results(out: Path, results: dict[str, Any], written: list[Path]) -> None:
    """``results/<name>/``: its tables, its arrays as CSV and its provenance."""
    for rname, res in results.items():
        shapes = {}
        for key, table in res.tables.items():
            _emit(out, Path("results", rname, f"{key}.csv"), table, written)
        for key, array in res.arrays.items():
            arr = np.asarray(array)
            shapes[key] = {"shape": list(arr.shape), "dtype": arr.dtype.name}
            if arr.ndim <= 1:
                frame = pd.DataFrame({"value": arr.reshape(-1)})
            else:
                frame = pd.DataFrame(arr.reshape(arr.shape[0], -1))
            _emit(out, Path("results", rname, f"{key}.csv"), frame, written)
        rel = Path("results", rname, "provenance.json")
        _write_json(out / rel, {**res.provenance, "arrays": shapes})
        written.append(out / rel)
