"""Read sessions: ``labkit.open_session(path)`` and the ``Session``/``Stream`` objects."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from labkit.errors import StreamError
from labkit.session import format as fmt
from labkit.session._h5 import attr_str, committed_counts, open_h5, reading, table_to_frame
from labkit.signal.window import Window


@dataclass(frozen=True, eq=False)
class Stream:
    """One stream of a session: samples, raw stamps, channel table and clock offsets.

    Arrays are read-only snapshots; ``times`` is computed on first access.

    Attributes
    ----------
    name, type, source_id : str
    rate_hz : float
        Nominal rate (0 for irregular streams).
    channel_format : str
        Sample dtype as the device sent it, or ``"string"``.
    device : dict
        Device description.
    channels : pandas.DataFrame
        Channel table (label, unit, type, muscle, side, device_channel, ...).
    data : numpy.ndarray
        Samples ``(n_samples, n_channels)`` in the stored dtype (``str`` objects for
        string streams).
    raw_times : numpy.ndarray
        Raw source time stamps (sender clock), float64.
    clock_offsets : pandas.DataFrame
        ``collection_time``, ``offset``, ``rtt`` (seconds).
    """

    name: str
    type: str
    source_id: str
    rate_hz: float
    channel_format: str
    device: dict[str, Any]
    channels: pd.DataFrame
    data: np.ndarray
    raw_times: np.ndarray
    clock_offsets: pd.DataFrame
    sync_params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def labels(self) -> list[str]:
        return list(self.channels["label"])

    @property
    def counter(self) -> np.ndarray | None:
        """The sample-counter channel (type ``counter``) as int64, if the stream has one."""
        col = np.flatnonzero(self.channels["type"].to_numpy() == "counter")
        if len(col) == 0 or self.channel_format == "string":
            return None
        values = self.data[:, int(col[0])].astype(np.float64)
        if not np.all(np.isfinite(values)):
            return None
        if self.data.dtype == np.float32 and len(values) and np.abs(values).max() >= 2**24:
            # float32 holds integers exactly only up to 2**24; past that the counter
            # cannot place gaps exactly, so time stamps are used instead
            return None
        return np.rint(values).astype(np.int64)

    @property
    def foreign_clock_gap_s(self) -> float:
        """How far (s) the raw stamps lie from the span of the clock offsets when they are on
        another clock than the offsets (a device stamping in Unix time, offsets measured on
        the LSL clock); 0.0 when they are not. Such a stream keeps its own clock in
        :attr:`times` (:func:`labkit.signal.sync.foreign_clock_gap_s`)."""
        from labkit.signal.sync import foreign_clock_gap_s

        co = self.clock_offsets
        if len(co) == 0:
            return 0.0
        return foreign_clock_gap_s(self.raw_times, (co["collection_time"] - co["offset"]).to_numpy())

    @cached_property
    def times(self) -> np.ndarray:
        """Synchronised sample times on the session clock, in seconds.

        Applies the robust clock-offset model and dejitters regular streams
        (``labkit.signal.sync.synchronize``); the raw stamps are left unchanged.
        """
        from labkit.signal.sync import synchronize

        co = self.clock_offsets
        has_offsets = len(co) > 0
        times = synchronize(
            self.raw_times,
            self.rate_hz,
            collection_times_s=co["collection_time"].to_numpy() if has_offsets else None,
            offsets_s=co["offset"].to_numpy() if has_offsets else None,
            rtt_s=co["rtt"].to_numpy() if has_offsets else None,
            sample_index=self.counter,
            **self.sync_params,
        )
        times.setflags(write=False)
        return times

    @property
    def duration_s(self) -> float:
        if self.n_samples < 2:
            return 0.0
        return float(self.raw_times[-1] - self.raw_times[0])

    def effective_rate_hz(self) -> float:
        """Samples per second of session time, gaps between runs excluded (NaN if < 2 samples).

        A regular stream is split into runs as the synchronisation splits it
        (:func:`labkit.signal.sync.split_segments`): with a sample counter, at counter
        restarts (a restarted device, a resumed run) and clock resets; without one, at
        gaps. The rate is the sample periods of all runs over their summed duration, so a
        pause between runs does not lower it; samples the counter shows missing inside a
        run count (the device took them).
        """
        if self.n_samples < 2:
            return float("nan")
        t = self.times
        counter = self.counter
        if self.rate_hz > 0:
            from labkit.signal.sync import split_segments

            runs = split_segments(self.raw_times, self.rate_hz, sample_index=counter)
        else:
            runs = [(0, self.n_samples)]
        periods = span = 0.0
        for start, stop in runs:
            if stop - start < 2:
                continue
            periods += (counter[stop - 1] - counter[start]) if counter is not None else stop - start - 1
            span += float(t[stop - 1] - t[start])
        return float(periods / span) if span > 0 else float("nan")

    def window(self, start_s: float | None = None, end_s: float | None = None) -> Window | None:
        """The samples between ``start_s`` and ``end_s`` (synchronised times, inclusive).

        Without bounds, the whole stream. Returns None when no sample lies in the window.
        """
        whole = Window(self.labels, self.data, self.times, self.rate_hz, self.name)
        if start_s is None and end_s is None:
            return whole
        return whole.between(-np.inf if start_s is None else start_s,
                             np.inf if end_s is None else end_s)

    def to_dataframe(self, *, synchronised: bool = True) -> pd.DataFrame:
        """Samples as a DataFrame indexed by time (s), one column per channel label."""
        index = pd.Index(self.times if synchronised else self.raw_times, name="time_s")
        return pd.DataFrame(self.data, index=index, columns=self.labels, copy=False)


@dataclass(frozen=True, eq=False)
class Result:
    """A results group: tables, arrays and the provenance that produced them."""

    name: str
    provenance: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    arrays: dict[str, np.ndarray]


class Session:
    """A labkit session file opened read-only.

    Works on finished files, on files still being recorded (it shows what was committed
    at the moment of reading; call :meth:`refresh` to see more) and on files whose
    recorder was killed (it shows everything up to the last flush).

    Use :func:`open_session` to create one.
    """

    def __init__(self, path: str | os.PathLike[str], *, sync_params: dict[str, Any] | None = None
                 ) -> None:
        self.path = Path(path)
        self._sync_params = dict(sync_params or {})
        self._file: h5py.File = open_h5(self.path, "r")

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<labkit Session {self.path.name!r} streams={self.streams}>"

    def refresh(self) -> None:
        """Drop cached metadata so that rows committed since opening become visible."""
        self.__dict__.pop("info", None)

    # -- metadata -----------------------------------------------------------------------
    @cached_property
    def info(self) -> dict[str, Any]:
        """Root metadata (format, version, session id, subject, operator, protocol, ...)."""
        return {k: attr_str(v) for k, v in self._file.attrs.items()}

    @property
    def status(self) -> str:
        return str(self.info.get("status", ""))

    @property
    def streams(self) -> list[str]:
        """Names of the streams."""
        return sorted(self._file.get(fmt.STREAMS_GROUP, {}).keys())

    def _committed(self) -> dict[str, int]:
        return committed_counts(self._file)

    def _rows(self, path: str, ds: h5py.Dataset, committed: dict[str, int]) -> int:
        ds.refresh()
        n = ds.shape[0]
        return min(n, committed[path]) if path in committed else n

    def stream(self, name: str) -> Stream:
        """Read one stream (samples, stamps, channels, clock offsets)."""
        with reading(self.path, f"stream {name!r}"):
            return self._read_stream(name)

    def _read_stream(self, name: str) -> Stream:
        group = self._file.get(f"{fmt.STREAMS_GROUP}/{name}")
        if group is None:
            raise StreamError(
                f"{self.path}: no stream {name!r}; the session has {self.streams}"
            )
        committed = self._committed()
        base = f"{fmt.STREAMS_GROUP}/{name}"
        data_ds, stamp_ds = group["data"], group["time_stamps"]
        n = min(self._rows(f"{base}/data", data_ds, committed), self._rows(
            f"{base}/data", stamp_ds, committed))
        data = data_ds[:n]
        fmt_name = attr_str(group.attrs.get("channel_format", str(data_ds.dtype)))
        if fmt_name == "string":
            data = np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(data) \
                if data.size else data.astype(object)
        stamps = stamp_ds[:n]
        off_ds = group["clock_offsets"]
        offsets = off_ds[: self._rows(f"{base}/clock_offsets", off_ds, committed)]
        for arr in (data, stamps):
            arr.setflags(write=False)
        return Stream(
            name=name,
            type=attr_str(group.attrs.get("type", "")),
            source_id=attr_str(group.attrs.get("source_id", "")),
            rate_hz=float(group.attrs.get("nominal_rate_hz", 0.0)),
            channel_format=fmt_name,
            device=json.loads(attr_str(group.attrs.get("device", "{}")) or "{}"),
            channels=table_to_frame(group["channels"][()]),
            data=data,
            raw_times=stamps,
            clock_offsets=pd.DataFrame(
                {k: offsets[k] for k in ("collection_time", "offset", "rtt")}
            ),
            sync_params=self._sync_params,
        )

    def _table(self, path: str) -> pd.DataFrame:
        with reading(self.path, path):
            ds = self._file[path]
            n = self._rows(path, ds, self._committed())
            return table_to_frame(ds[:n])

    @property
    def events(self) -> pd.DataFrame:
        """Events: time (s, session clock), label, value, source."""
        return self._table(fmt.EVENTS_PATH)

    @property
    def trials(self) -> pd.DataFrame:
        """Trials: id, test, side, attempt, start, end (s), status, reason.

        Indexed by the trial id (``s.trials.loc[3]``); the index is unnamed so that ``id``
        names only the column (pandas refuses a name that is both).
        """
        return self._table(fmt.TRIALS_PATH).set_index("id", drop=False).rename_axis(None)

    @property
    def hardware_config(self) -> str:
        return attr_str(self._file[f"{fmt.CONFIG_GROUP}/hardware"][()])

    @property
    def protocol_text(self) -> str:
        return attr_str(self._file[f"{fmt.CONFIG_GROUP}/protocol"][()])

    @property
    def results(self) -> list[str]:
        """Names of the results groups, oldest first."""
        group = self._file.get(fmt.RESULTS_GROUP)
        if group is None:
            return []
        return sorted(group.keys(), key=lambda k: attr_str(group[k].attrs.get("created_utc", "")))

    def result(self, name: str) -> Result:
        """Read one results group with its provenance."""
        with reading(self.path, f"result {name!r}"):
            return self._read_result(name)

    def _read_result(self, name: str) -> Result:
        group = self._file.get(f"{fmt.RESULTS_GROUP}/{name}")
        if group is None:
            raise StreamError(f"{self.path}: no result {name!r}; the session has {self.results}")
        provenance = {k: attr_str(v) for k, v in group.attrs.items()}
        for key in ("params", "inputs"):
            if key in provenance:
                provenance[key] = json.loads(provenance[key])
        tables, arrays = {}, {}
        for key, ds in group.items():
            if ds.dtype.names:
                tables[key] = table_to_frame(ds[()])
            else:
                arrays[key] = ds[()]
        return Result(name, provenance, tables, arrays)

    def metrics(self, params: dict[str, Any] | None = None, *, result: str | None = None
                ) -> pd.DataFrame:
        """This session's metrics as a tidy table (see :func:`labkit.analyze`).

        Parameters
        ----------
        params : dict, optional
            Per-test analysis overrides; when given, the trials are analysed again (nothing
            is written; use ``labkit.analyze(path, params, write=True)`` to store it).
        result : str, optional
            Read this results group instead of the newest one.

        Returns
        -------
        pandas.DataFrame
            One row per trial x metric.
        """
        # the session layer knows nothing of analysis: this convenience is a call upwards,
        # made by name at run time (docs/architecture.md)
        import importlib

        tidy = importlib.import_module("labkit.analysis.tidy")
        return tidy.session_metrics(self, params, result=result)


def open_session(path: str | os.PathLike[str], **sync_params: Any) -> Session:
    """Open a session file read-only.

    Parameters
    ----------
    path : str or Path
        The ``.h5`` session file. Files still being recorded and files whose recorder
        crashed open too (showing everything committed up to the last flush).
    **sync_params
        Options for ``Stream.times`` (``gap_threshold_s``, ``reset_threshold_s``,
        ``huber_k``, ``apply_dejitter``), see :func:`labkit.signal.sync.synchronize`.

    Returns
    -------
    Session

    Raises
    ------
    labkit.errors.SessionError
        The file is missing, not HDF5, truncated, of another format, or of a newer format
        version; the message says which and what to do.
    """
    return Session(path, sync_params=sync_params)
