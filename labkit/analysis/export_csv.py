"""Export a session to CSV files, for spreadsheets, R, MATLAB or any tool without HDF5.

Layout of ``out_dir`` (it mirrors the session file's groups, so a stream can never collide
with the tables beside it)::

    session.json                 root metadata, the time base of the stream files, and per stream:
                                 file, type, source_id, rate_hz, channel_format, device, n_samples
    channels.csv                 stream, label, unit, type, muscle, side, device_channel, then every
                                 extra channel column of any stream (empty where a stream has none)
    streams/<stream>.csv         time_s, then one column per channel label, one row per sample
    clock_offsets.csv            stream, collection_time, offset, rtt (s; see docs/session-format.md)
    events.csv                   time, label, value, source (time in s on the session clock)
    trials.csv                   id, test, side, attempt, start, end, status, reason (s, session clock)
    config/hardware.yaml         exact hardware-config text (only when the session has one)
    config/protocol.yaml         exact protocol text (only when the session has one)
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

import numpy as np
import pandas as pd

from labkit._version import __version__
from labkit.errors import SessionError
from labkit.session.reader import open_session
from labkit.spec import CHANNEL_FIELDS, unique_stream_name

__all__ = ["export_csv"]

TIME_COLUMN = "time_s"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False, default=_jsonable) + "\n",
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

    The layout is described in the module docstring (``labkit.analysis.export_csv``).

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
    with open_session(session_path) as s:
        names = s.streams
        taken: set[str] = set()
        stream_files = {}
        for name in names:
            safe = unique_stream_name(name, taken)
            taken.add(safe)
            stream_files[name] = Path("streams") / f"{safe}.csv"
        results = {}
        for rname in s.results:
            res = s.result(rname)
            _safe_part(rname, "result")
            for key in [*res.tables, *res.arrays]:
                _safe_part(key, f"result {rname} table")
            results[rname] = res
        hardware, protocol = s.hardware_config, s.protocol_text
        plan = [Path("session.json"), Path("channels.csv"), *stream_files.values(),
                Path("clock_offsets.csv"), Path("events.csv"), Path("trials.csv")]
        plan += [Path("config/hardware.yaml")] if hardware else []
        plan += [Path("config/protocol.yaml")] if protocol else []
        for rname, res in results.items():
            plan += [Path("results", rname, f"{k}.csv") for k in [*res.tables, *res.arrays]]
            plan.append(Path("results", rname, "provenance.json"))
        existing = [out / p for p in plan if (out / p).exists()]
        if existing and not overwrite:
            raise SessionError(
                f"{out}: {len(existing)} export file(s) exist already (first: {existing[0]}); "
                "choose another directory or pass overwrite=True"
            )
        for sub in {(out / p).parent for p in plan}:
            sub.mkdir(parents=True, exist_ok=True)

        written: list[Path] = []

        def emit(rel: Path, frame: pd.DataFrame) -> None:
            _write_csv(out / rel, frame)
            written.append(out / rel)

        meta_streams = {}
        channel_rows = []
        offset_rows = []
        for name in names:
            st = s.stream(name)
            frame = pd.DataFrame(st.data, columns=st.labels, copy=False)
            frame.insert(0, TIME_COLUMN, st.times if synchronised else st.raw_times)
            emit(stream_files[name], frame)
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
            }
        columns = ["stream", *CHANNEL_FIELDS]
        for ch in channel_rows:
            columns += [c for c in ch.columns if c not in columns]
        channels = (pd.concat(channel_rows, ignore_index=True) if channel_rows
                    else pd.DataFrame(columns=columns))
        emit(Path("channels.csv"), channels.reindex(columns=columns).fillna(""))
        offsets = (pd.concat(offset_rows, ignore_index=True) if offset_rows
                   else pd.DataFrame(columns=["stream", "collection_time", "offset", "rtt"]))
        emit(Path("clock_offsets.csv"), offsets)
        emit(Path("events.csv"), s.events)
        emit(Path("trials.csv"), s.trials.reset_index(drop=True))
        for rel, text in ((Path("config/hardware.yaml"), hardware), (Path("config/protocol.yaml"), protocol)):
            if text:
                (out / rel).write_text(text, encoding="utf-8")
                written.append(out / rel)
        for rname, res in results.items():
            shapes = {}
            for key, table in res.tables.items():
                emit(Path("results", rname, f"{key}.csv"), table)
            for key, array in res.arrays.items():
                arr = np.asarray(array)
                shapes[key] = {"shape": list(arr.shape), "dtype": arr.dtype.name}
                if arr.ndim <= 1:
                    frame = pd.DataFrame({"value": arr.reshape(-1)})
                else:
                    frame = pd.DataFrame(arr.reshape(arr.shape[0], -1))
                emit(Path("results", rname, f"{key}.csv"), frame)
            rel = Path("results", rname, "provenance.json")
            _write_json(out / rel, {**res.provenance, "arrays": shapes})
            written.append(out / rel)
        _write_json(out / "session.json", {
            "session": s.info,
            "source_file": Path(session_path).name,
            "exported_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "exported_by": f"labkit {__version__} labkit.analysis.export_csv",
            "time_s": ("synchronised session clock (s): clock offsets applied, regular streams "
                       "dejittered" if synchronised else
                       "raw source time stamps (s, sender clock); see clock_offsets.csv"),
            "synchronised": synchronised,
            "streams": meta_streams,
            "results": list(results),
        })
        written.insert(0, out / "session.json")
    return written
