"""The per-stream side of the session writer: appendable datasets and their chunking.

:class:`_Appendable` is one HDF5 dataset growing along axis 0 with the rows not yet written
kept in memory; :class:`_StreamWriter` holds a stream's three of them (``data``,
``time_stamps``, ``clock_offsets``) and checks appended samples. When rows are written and
committed is decided by :class:`~labkit.session.writer.SessionWriter` (see
``docs/session-format.md``, "Crash safety").
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import h5py
import numpy as np

from labkit.errors import StreamError
from labkit.session import format as fmt
from labkit.spec import CHANNEL_FIELDS, StreamSpec

_MAX_CHUNK_BYTES = 4 << 20
_MIN_CHUNK_ROWS = 64
_IRREGULAR_CHUNK_ROWS = 256


def _chunk_rows(rate_hz: float, row_bytes: int, flush_interval_s: float, compressed: bool) -> int:
    if rate_hz <= 0:
        rows = _IRREGULAR_CHUNK_ROWS
    else:
        per_flush = rate_hz * flush_interval_s
        rows = math.ceil(per_flush / 2) if compressed else math.ceil(per_flush)
    rows = max(_MIN_CHUNK_ROWS, rows)
    return max(1, min(rows, _MAX_CHUNK_BYTES // max(1, row_bytes)))


class _Appendable:
    """An HDF5 dataset growing along axis 0 with an in-memory tail not yet written."""

    def __init__(self, dataset: h5py.Dataset, whole_chunks: bool) -> None:
        self.dataset = dataset
        self.whole_chunks = whole_chunks
        self.chunk_rows = dataset.chunks[0]
        self.pending: list[np.ndarray] = []
        self.n_pending = 0
        self.n_written = 0

    def add(self, rows: np.ndarray) -> None:
        if len(rows):
            self.pending.append(rows)
            self.n_pending += len(rows)

    def write(self, final: bool) -> int:
        """Write pending rows (whole chunks only when compressed and not final)."""
        n = self.n_pending
        if self.whole_chunks and not final:
            n -= (self.n_written + n) % self.chunk_rows
        if n <= 0:
            return self.n_written
        block = self.pending[0] if len(self.pending) == 1 else np.concatenate(self.pending)
        start = self.n_written
        self.dataset.resize(start + n, axis=0)
        self.dataset[start : start + n] = block[:n]
        rest = block[n:]
        self.pending = [rest] if len(rest) else []
        self.n_pending = len(rest)
        self.n_written = start + n
        return self.n_written


class _StreamWriter:
    def __init__(self, spec: StreamSpec, group: h5py.Group, flush_interval_s: float,
                 compression: str | None) -> None:
        self.spec = spec
        self.n_channels = len(spec.channels)
        self.dtype = (h5py.string_dtype("utf-8", spec.max_string_bytes) if spec.is_string
                      else np.dtype(spec.dtype))
        if "data" in group:  # an existing stream (a resumed session): append to it
            self._bind(group)
            return
        compressed = compression is not None and not spec.is_string
        row_bytes = self.n_channels * self.dtype.itemsize
        rows = _chunk_rows(spec.nominal_rate_hz, row_bytes, flush_interval_s, compressed)
        comp = {"compression": compression, "shuffle": True} if compressed else {}
        data = group.create_dataset(
            "data", shape=(0, self.n_channels), maxshape=(None, self.n_channels),
            chunks=(rows, self.n_channels), dtype=self.dtype, **comp,
        )
        stamps = group.create_dataset(
            "time_stamps", shape=(0,), maxshape=(None,), chunks=(rows,), dtype="<f8", **comp
        )
        offsets = group.create_dataset(
            "clock_offsets", shape=(0,), maxshape=(None,), chunks=(64,),
            dtype=fmt.clock_offset_dtype(),
        )
        self.data = _Appendable(data, compressed)
        self.stamps = _Appendable(stamps, compressed)
        self.offsets = _Appendable(offsets, False)

    def _bind(self, group: h5py.Group) -> None:
        data = group["data"]
        if data.shape[1] != self.n_channels:
            raise StreamError(
                f"stream {self.spec.name!r} has {data.shape[1]} channels in the file but "
                f"{self.n_channels} now; resume with the same hardware config"
            )
        if self.spec.is_string:
            self.dtype = data.dtype
            self.spec = dataclasses.replace(self.spec, max_string_bytes=data.dtype.itemsize)
        elif data.dtype != self.dtype:
            raise StreamError(
                f"stream {self.spec.name!r} is {data.dtype} in the file but {self.dtype} now; "
                "resume with the same devices"
            )
        compressed = data.compression is not None
        self.data = _Appendable(data, compressed)
        self.stamps = _Appendable(group["time_stamps"], compressed)
        self.offsets = _Appendable(group["clock_offsets"], False)
        for app in (self.data, self.stamps, self.offsets):
            app.n_written = app.dataset.shape[0]

    def coerce(self, samples: Any, time_stamps: Any) -> tuple[np.ndarray, np.ndarray]:
        name = self.spec.name
        stamps = np.asarray(time_stamps, dtype=np.float64).reshape(-1)
        if self.spec.is_string:
            arr = np.asarray(samples, dtype=object)
            if arr.ndim == 1:
                arr = arr.reshape(-1, 1) if self.n_channels == 1 else arr.reshape(1, -1)
            if arr.ndim != 2 or arr.shape[1] != self.n_channels:
                raise StreamError(
                    f"stream {name!r}: samples have shape {arr.shape}, expected (n, {self.n_channels})"
                )
            encoded = np.empty(arr.shape, dtype=self.dtype)
            for idx, value in np.ndenumerate(arr):
                raw = str(value).encode("utf-8")
                if len(raw) > self.spec.max_string_bytes:
                    raise StreamError(
                        f"stream {name!r}: a string sample is {len(raw)} bytes, longer than "
                        f"max_string_bytes={self.spec.max_string_bytes}; raise max_string_bytes in "
                        "its StreamSpec"
                    )
                encoded[idx] = raw
            arr = encoded
        else:
            arr = np.asarray(samples)
            if arr.ndim == 1 and self.n_channels == 1:
                arr = arr.reshape(-1, 1)
            if arr.ndim != 2 or arr.shape[1] != self.n_channels:
                raise StreamError(
                    f"stream {name!r}: samples have shape {arr.shape}, expected (n, {self.n_channels})"
                )
            if arr.dtype != self.dtype:
                if not np.can_cast(arr.dtype, self.dtype, casting="same_kind"):
                    raise StreamError(
                        f"stream {name!r}: samples of dtype {arr.dtype} cannot be stored as "
                        f"{self.dtype} without changing their kind; send {self.dtype} samples"
                    )
                arr = arr.astype(self.dtype)
        if len(stamps) != len(arr):
            raise StreamError(
                f"stream {name!r}: {len(arr)} samples but {len(stamps)} time stamps; "
                "pass one time stamp per sample"
            )
        if not np.all(np.isfinite(stamps)):
            raise StreamError(f"stream {name!r}: time stamps contain NaN or inf; pass finite stamps")
        return np.ascontiguousarray(arr), stamps


def _write_channel_table(group: h5py.Group, rows: list[dict[str, str]]) -> None:
    columns = list(CHANNEL_FIELDS)
    for row in rows:
        columns += [k for k in row if k not in columns]
    vlen = h5py.string_dtype("utf-8")
    table = np.empty(len(rows), dtype=[(c, vlen) for c in columns])
    for i, row in enumerate(rows):
        table[i] = tuple(row.get(c, "") for c in columns)
    group.create_dataset("channels", data=table)
