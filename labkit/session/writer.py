"""Crash-safe session writer.

Design (see ``docs/session-format.md``, section "Crash safety"):

* Every group, dataset and attribute is created up front; then the file switches to
  HDF5 single-writer/multiple-reader (SWMR) mode, whose metadata stays consistent
  on disk at every moment, so a killed writer leaves a file that opens.
* Appended rows are buffered in memory and written on ``flush()`` at most every
  ``flush_interval_s`` (default 1 s). A flush writes the rows, flushes the file,
  optionally ``fsync``s it, and only then records the new row counts in ``/committed``.
  Readers trust ``/committed``, so after a crash they see an exact prefix of what was
  appended: everything up to the last completed flush, never a torn row.
* Compressed datasets only ever receive whole chunks while recording (rewriting a
  compressed chunk under SWMR allocates new file space each time, and files balloon);
  their chunk holds half a flush interval so loss stays within one interval.
* The first failed write (a full disk, a file-size limit, an I/O error) stops the writer:
  it releases the file without writing to it again (``_h5.release_failed``) and raises a
  :class:`~labkit.errors.SessionWriteError` that says how much space is free and how to
  recover; every later call raises the same error. The file keeps everything committed.

The per-stream datasets and their chunking are in :mod:`labkit.session._stream_writer`;
the room-on-disk checks and the failure message in :mod:`labkit.session._disk_space`.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from labkit._disk import FULL, error_errno
from labkit._version import __version__
from labkit.errors import ConfigError, SessionError, SessionWriteError, StreamError
from labkit.session import format as fmt
from labkit.session._disk_space import (
    estimate_session_bytes,
    no_room_errno,
    warn_if_low_space,
    write_failure_message,
)
from labkit.session._stream_writer import _Appendable, _StreamWriter, _write_channel_table
from labkit.spec import ChannelSpec, StreamSpec

log = logging.getLogger(__name__)

__all__ = ["ChannelSpec", "SessionWriter", "StreamSpec", "estimate_session_bytes",
           "warn_if_low_space"]


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SessionWriter:
    """Write a session file while acquiring, so that a crash never loses flushed data.

    Parameters
    ----------
    path : str or Path
        File to create. An existing file is refused unless ``overwrite=True``.
    streams : sequence of StreamSpec
        Every stream of the session (HDF5 SWMR cannot add objects later).
    subject, operator, protocol, notes : str
        Root metadata: athlete code, operator, protocol name, free-form notes.
    hardware_config, protocol_text : str
        Exact text of the hardware config and protocol used, stored verbatim.
    session_id : str, optional
        Defaults to a new UUID4.
    flush_interval_s : float
        Longest time rows stay in memory only (default 1.0 s).
    compression : {None, "gzip", "lzf"}
        Compression of numeric samples and stamps. ``None`` (default) is fastest; noisy
        float EMG and force gain little from compression (see the write benchmark).
    fsync : bool
        ``fsync`` the file before each commit so data also survives a power cut.
    overwrite : bool
        Replace an existing file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from labkit.session.writer import SessionWriter, StreamSpec, ChannelSpec
    >>> spec = StreamSpec("force", "force", [ChannelSpec("fp1.Fz", "N", "force")], 1000.0)
    >>> path = os.path.join(tempfile.mkdtemp(), "s.h5")
    >>> with SessionWriter(path, [spec], subject="A01") as w:
    ...     w.append("force", np.zeros((10, 1), np.float32), np.arange(10) / 1000.0)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        streams: Sequence[StreamSpec],
        *,
        subject: str = "",
        operator: str = "",
        protocol: str = "",
        notes: str = "",
        hardware_config: str = "",
        protocol_text: str = "",
        session_id: str | None = None,
        flush_interval_s: float = 1.0,
        compression: str | None = None,
        fsync: bool = True,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        if not (0 < flush_interval_s <= 3600):
            raise ConfigError(
                f"flush_interval_s={flush_interval_s!r} is invalid: use seconds in (0, 3600]"
            )
        if compression not in (None, "gzip", "lzf"):
            raise ConfigError(
                f"compression={compression!r} is invalid: use None, 'gzip' or 'lzf'"
            )
        names = [s.name for s in streams]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"duplicate stream names {dupes}: each stream needs its own name")
        for spec in streams:
            spec.validate()
        if self.path.exists() and not overwrite:
            raise SessionError(
                f"{self.path}: file exists; choose a new path or pass overwrite=True"
            )
        self.flush_interval_s = float(flush_interval_s)
        self.fsync = bool(fsync)
        self.session_id = session_id or str(uuid.uuid4())
        self._lock = threading.RLock()
        self._closed = False
        self._failure: SessionWriteError | None = None
        self._protocol = protocol
        self._opened_at = self._committed_at = time.monotonic()
        self._compression = compression
        self._refuse_without_room()
        try:
            self._file = h5py.File(self.path, "w", libver="latest")
        except OSError as exc:
            code = error_errno(exc)
            if code in FULL or code == errno.EFBIG:
                raise SessionWriteError(self._failure_message(exc, creating=True), path=self.path,
                                        errno=code) from exc
            raise SessionError(f"{self.path}: cannot create the session file ({exc})") from exc
        try:
            self._create(streams, subject=subject, operator=operator, protocol=protocol,
                         notes=notes, hardware_config=hardware_config, protocol_text=protocol_text)
        except (OSError, RuntimeError) as exc:  # the disk filled while creating the layout
            error = self._failed(exc, creating=True)
            self.path.unlink(missing_ok=True)  # an empty layout, no data: not worth keeping
            raise error from exc

    def _create(self, streams: Sequence[StreamSpec], *, subject: str, operator: str, protocol: str,
                notes: str, hardware_config: str, protocol_text: str) -> None:
        f = self._file
        attrs = {
            "format": fmt.FORMAT_NAME,
            "session_id": self.session_id,
            "created_utc": _utc_now(),
            "ended_utc": "",
            "labkit_version": __version__,
            "status": fmt.STATUS_RECORDING,
            "subject": subject,
            "operator": operator,
            "protocol": protocol,
            "notes": notes,
            "flush_interval_s": self.flush_interval_s,
        }
        for key, value in attrs.items():
            f.attrs[key] = value
        f.attrs["format_version"] = np.int64(fmt.FORMAT_VERSION)
        config = f.create_group(fmt.CONFIG_GROUP)
        config.create_dataset("hardware", data=hardware_config, dtype=h5py.string_dtype())
        config.create_dataset("protocol", data=protocol_text, dtype=h5py.string_dtype())
        f.create_group(fmt.RESULTS_GROUP)
        sg = f.create_group(fmt.STREAMS_GROUP)
        self._streams: dict[str, _StreamWriter] = {}
        for spec in streams:
            self._streams[spec.name] = self._create_stream(sg, spec)
        events = f.create_dataset(
            fmt.EVENTS_PATH, shape=(0,), maxshape=(None,), chunks=(256,), dtype=fmt.event_dtype()
        )
        trials = f.create_dataset(
            fmt.TRIALS_PATH, shape=(0,), maxshape=(None,), chunks=(64,), dtype=fmt.trial_dtype()
        )
        self._events = _Appendable(events, False)
        self._trials = _Appendable(trials, False)
        self._trial_rows: dict[int, int] = {}
        self._dirty_trials: set[int] = set()
        self._trial_buffer: list[np.void] = []
        self._commit = f.create_dataset(
            fmt.COMMIT_PATH, shape=(0,), maxshape=(None,), chunks=(64,), dtype="<i8"
        )
        self._write_commit_table()
        f.swmr_mode = True
        self._last_flush = time.monotonic()

    # -- failed writes -------------------------------------------------------------------

    def _refuse_without_room(self) -> None:
        """Refuse before HDF5 starts when the disk (or the file-size limit) has no room for
        even the layout: HDF5 objects whose writes fail while they are created cannot be
        closed safely any more (see ``_h5.release_failed``)."""
        code = no_room_errno(self.path)
        if code is None:
            return
        raise SessionWriteError(self._failure_message(OSError(code, os.strerror(code)),
                                                      creating=True), path=self.path, errno=code)

    @property
    def failure(self) -> SessionWriteError | None:
        """The write error that stopped this writer (None while writes succeed)."""
        return self._failure

    def _failed(self, exc: BaseException, *, creating: bool = False) -> SessionWriteError:
        """Stop at the first failed write: release the file untouched, remember the error."""
        if self._failure is None:
            self._failure = SessionWriteError(self._failure_message(exc, creating=creating),
                                              path=self.path, errno=error_errno(exc))
            self._closed = True
            from labkit.session._h5 import release_failed

            release_failed(getattr(self, "_file", None))
            log.debug("%s: write failed (%s); writer stopped", self.path, exc)
        return self._failure

    def _failure_message(self, exc: BaseException, *, creating: bool = False) -> str:
        return write_failure_message(self.path, exc, creating=creating,
                                     committed_s=self._committed_at - self._opened_at,
                                     protocol=self._protocol)

    def _create_stream(self, streams_group: h5py.Group, spec: StreamSpec) -> _StreamWriter:
        g = streams_group.create_group(spec.name)
        g.attrs["name"] = spec.name
        g.attrs["type"] = spec.type
        g.attrs["source_id"] = spec.source_id
        g.attrs["nominal_rate_hz"] = float(spec.nominal_rate_hz)
        g.attrs["channel_format"] = "string" if spec.is_string else np.dtype(spec.dtype).name
        g.attrs["n_channels"] = np.int64(len(spec.channels))
        g.attrs["device"] = fmt.to_json(dict(spec.device))
        _write_channel_table(g, [c.as_row() for c in spec.channels])
        return _StreamWriter(spec, g, self.flush_interval_s, self._compression)

    def _commit_entries(self) -> list[tuple[str, _Appendable]]:
        entries = []
        for name, sw in self._streams.items():
            entries += [(f"{fmt.STREAMS_GROUP}/{name}/data", sw.data),
                        (f"{fmt.STREAMS_GROUP}/{name}/clock_offsets", sw.offsets)]
        return [*entries, (fmt.EVENTS_PATH, self._events), (fmt.TRIALS_PATH, self._trials)]

    def _write_commit_table(self) -> None:
        """(Re)declare ``/committed``; only outside SWMR mode (it changes an attribute)."""
        entries = self._commit_entries()
        self._commit.resize(len(entries), axis=0)
        self._commit[...] = np.array([src.n_written for _, src in entries], dtype="<i8")
        self._commit.attrs["paths"] = np.array([p for p, _ in entries], dtype=h5py.string_dtype())
        self._commit_sources = [src for _, src in entries]

    def add_stream(self, spec: StreamSpec) -> None:
        """Add a stream while recording (a late joiner, e.g. a marker stream started later).

        HDF5's SWMR mode cannot create objects, so the writer commits everything, reopens
        the file, creates the stream's group and returns to SWMR mode. This takes a few
        milliseconds; a crash inside that window can lose the new group's creation (the
        data committed before it stays readable).
        """
        spec.validate()
        with self._lock:
            self._check_open()
            if spec.name in self._streams:
                raise ConfigError(f"stream {spec.name!r} exists in {self.path}; choose another name")
            self.flush()
            try:
                self._file.close()
                f = h5py.File(self.path, "r+", libver="latest")
                self._file = f
                for name, sw in self._streams.items():
                    base = f"{fmt.STREAMS_GROUP}/{name}"
                    sw.data.dataset = f[f"{base}/data"]
                    sw.stamps.dataset = f[f"{base}/time_stamps"]
                    sw.offsets.dataset = f[f"{base}/clock_offsets"]
                self._events.dataset = f[fmt.EVENTS_PATH]
                self._trials.dataset = f[fmt.TRIALS_PATH]
                self._commit = f[fmt.COMMIT_PATH]
                self._streams[spec.name] = self._create_stream(f[fmt.STREAMS_GROUP], spec)
                self._write_commit_table()
                f.flush()
                f.swmr_mode = True
            except (OSError, RuntimeError) as exc:
                raise self._failed(exc) from exc

    @property
    def streams(self) -> list[str]:
        """Names of the streams being written."""
        return list(self._streams)

    @classmethod
    def reopen(cls, path: str | os.PathLike[str], streams: Sequence[StreamSpec], *,
               flush_interval_s: float | None = None, fsync: bool = True) -> SessionWriter:
        """Continue writing a closed (or repaired) session: a resumed protocol run.

        Streams already in the file are appended to (same channels and dtype required);
        new ones are added. Events and trials continue; ``status`` goes back to
        ``recording`` until :meth:`close`.
        """
        self = cls.__new__(cls)
        self.path = Path(path)
        from labkit.session._h5 import attr_str, open_h5

        with open_h5(self.path, "r") as probe:  # clear errors for foreign or damaged files
            if attr_str(probe.attrs.get("status", "")) == fmt.STATUS_RECORDING:
                raise SessionError(
                    f"{self.path}: the session is still marked as recording; run "
                    f"`labkit repair {self.path}` first (or stop the recorder writing it)"
                )
        for spec in streams:
            spec.validate()
        self._failure = None
        self._opened_at = self._committed_at = time.monotonic()
        self._protocol = ""
        try:
            f = h5py.File(self.path, "r+", libver="latest")
        except OSError as exc:
            raise SessionError(f"{self.path}: cannot open the session for writing ({exc})") from exc
        self._file = f
        try:
            self._reopen_bind(f, streams, flush_interval_s, fsync)
        except (OSError, RuntimeError) as exc:  # the disk is still full
            raise self._failed(exc) from exc
        except BaseException:
            f.close()
            raise
        return self

    def _reopen_bind(self, f: h5py.File, streams: Sequence[StreamSpec], flush_interval_s: float | None,
                     fsync: bool) -> None:
        from labkit.session._h5 import attr_str

        self._file = f
        self._protocol = attr_str(f.attrs.get("protocol", ""))
        self.session_id = attr_str(f.attrs.get("session_id", ""))
        self.flush_interval_s = float(flush_interval_s or f.attrs.get("flush_interval_s", 1.0))
        self.fsync = bool(fsync)
        self._lock = threading.RLock()
        self._closed = False
        self._compression = None
        self._streams = {}
        sg = f[fmt.STREAMS_GROUP]
        for spec in streams:
            group = sg.get(spec.name)
            self._streams[spec.name] = (_StreamWriter(spec, group, self.flush_interval_s, None)
                                        if group is not None else self._create_stream(sg, spec))
        self._events = _Appendable(f[fmt.EVENTS_PATH], False)
        self._trials = _Appendable(f[fmt.TRIALS_PATH], False)
        self._events.n_written = self._events.dataset.shape[0]
        self._trials.n_written = self._trials.dataset.shape[0]
        self._trial_buffer = list(self._trials.dataset[()])
        self._trial_rows = {int(row["id"]): i for i, row in enumerate(self._trial_buffer)}
        self._dirty_trials = set()
        self._commit = f[fmt.COMMIT_PATH]
        self._write_commit_table()
        f.attrs["status"] = fmt.STATUS_RECORDING
        f.attrs["ended_utc"] = ""
        f.flush()
        f.swmr_mode = True
        self._last_flush = time.monotonic()

    # -- appending ---------------------------------------------------------------------

    def _stream(self, name: str) -> _StreamWriter:
        try:
            return self._streams[name]
        except KeyError:
            raise StreamError(
                f"{self.path}: no stream {name!r}; declared streams are {sorted(self._streams)}"
            ) from None

    def _check_open(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise SessionError(f"{self.path}: the writer is closed; open a new SessionWriter")

    def append(self, stream: str, samples: Any, time_stamps: Any) -> None:
        """Buffer samples ``(n, n_channels)`` and their raw source time stamps ``(n,)``.

        Flushes when ``flush_interval_s`` has passed since the last flush.
        """
        sw = self._stream(stream)
        arr, stamps = sw.coerce(samples, time_stamps)
        with self._lock:
            self._check_open()
            sw.data.add(arr)
            sw.stamps.add(stamps)
        self.maybe_flush()

    def add_clock_offset(self, stream: str, collection_time_s: float, offset_s: float,
                         rtt_s: float = float("nan")) -> None:
        """Record one clock-offset measurement (receiver minus sender clock) for a stream."""
        sw = self._stream(stream)
        row = np.array([(collection_time_s, offset_s, rtt_s)], dtype=fmt.clock_offset_dtype())
        with self._lock:
            self._check_open()
            sw.offsets.add(row)

    def add_event(self, time_s: float, label: str, value: str = "", source: str = "") -> None:
        """Record an event (cue, marker, annotation) at ``time_s`` on the session clock."""
        row = np.zeros(1, dtype=fmt.event_dtype())
        row["time"] = time_s
        row["label"] = _encode("event label", label, fmt.EVENT_LABEL_BYTES)
        row["value"] = _encode("event value", value, fmt.EVENT_VALUE_BYTES)
        row["source"] = _encode("event source", source, fmt.EVENT_SOURCE_BYTES)
        with self._lock:
            self._check_open()
            self._events.add(row)

    def add_trial(self, trial_id: int, test: str, start_s: float, end_s: float = float("nan"),
                  status: str = "running", reason: str = "", side: str = "",
                  attempt: int = 1) -> None:
        """Add a trial row; change it later with :meth:`update_trial`."""
        with self._lock:
            self._check_open()
            if trial_id in self._trial_rows:
                raise SessionError(
                    f"{self.path}: trial id {trial_id} exists; use update_trial or a new id"
                )
            row = _trial_row(trial_id, test, side, attempt, start_s, end_s, status, reason)
            self._trial_rows[trial_id] = self._trials.n_written + self._trials.n_pending
            self._trial_buffer.append(row)
            self._trials.add(np.array([row], dtype=fmt.trial_dtype()))

    def update_trial(self, trial_id: int, **changes: Any) -> None:
        """Change fields of a trial (``end``, ``status``, ``reason``, ...)."""
        with self._lock:
            self._check_open()
            if trial_id not in self._trial_rows:
                raise SessionError(f"{self.path}: no trial with id {trial_id}; add it first")
            index = self._trial_rows[trial_id]
            row = self._trial_buffer[index].copy()
            for key, value in changes.items():
                if key not in fmt.trial_dtype().names or key == "id":
                    raise ConfigError(
                        f"update_trial: unknown field {key!r}; use one of "
                        f"{[n for n in fmt.trial_dtype().names if n != 'id']}"
                    )
                limit = fmt.trial_dtype()[key].itemsize
                row[key] = (
                    _encode(f"trial {key}", value, limit) if isinstance(value, str) else value
                )
            self._trial_buffer[index] = row
            if index < self._trials.n_written:
                self._dirty_trials.add(index)
            else:
                # still pending: rebuild the pending tail from the buffer
                tail = np.array(self._trial_buffer[self._trials.n_written :], dtype=fmt.trial_dtype())
                self._trials.pending = [tail]
                self._trials.n_pending = len(tail)

    # -- flushing ----------------------------------------------------------------------

    def maybe_flush(self) -> bool:
        """Flush if ``flush_interval_s`` has passed since the last flush."""
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()
            return True
        return False

    def flush(self, *, final: bool = False) -> None:
        """Write buffered rows, make them durable, then commit their counts.

        Raises
        ------
        SessionWriteError
            A write failed (disk full, file-size limit, I/O error). The writer is stopped
            and the file released untouched; the rows of the last commit stay readable.
        """
        with self._lock:
            self._check_open()
            try:
                self._write_and_commit(final)
            except (OSError, RuntimeError) as exc:  # h5py: OSError or RuntimeError with errno
                raise self._failed(exc) from exc

    def _write_and_commit(self, final: bool) -> None:
        for sw in self._streams.values():
            n_data = sw.data.write(final)
            n_stamps = sw.stamps.write(final)
            if n_data != n_stamps:  # pragma: no cover - same rows and chunking
                raise SessionError(f"{self.path}: internal row mismatch in {sw.spec.name!r}")
            sw.offsets.write(final)
        self._events.write(final)
        self._trials.write(final)
        for index in sorted(self._dirty_trials):
            self._trials.dataset[index] = self._trial_buffer[index]
        self._dirty_trials.clear()
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.id.get_vfd_handle())
        counts = np.array([src.n_written for src in self._commit_sources], dtype="<i8")
        self._commit[...] = counts
        self._commit.flush()
        self._last_flush = self._committed_at = time.monotonic()

    def close(self, status: str = fmt.STATUS_COMPLETE) -> None:
        """Write everything, end SWMR mode and mark the session ``status``.

        Raises :class:`~labkit.errors.SessionWriteError` if the last writes fail; a writer
        stopped by a failed write earlier is closed already (see :attr:`failure`), and
        ``close`` does nothing.
        """
        with self._lock:
            if self._closed:
                return
            self.flush(final=True)
            try:
                self._file.close()
            except (OSError, RuntimeError) as exc:
                raise self._failed(exc) from exc
            self._closed = True
            # attributes cannot change in SWMR mode: reopen to set the final status (if this
            # fails, the file is whole but still says `recording`; `labkit repair` ends it)
            try:
                self._file = h5py.File(self.path, "r+", libver="latest")
                self._file.attrs["status"] = status
                self._file.attrs["ended_utc"] = _utc_now()
                self._file.close()
            except (OSError, RuntimeError) as exc:
                raise self._failed(exc) from exc

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(fmt.STATUS_COMPLETE if exc_type is None else fmt.STATUS_INTERRUPTED)

    @property
    def closed(self) -> bool:
        """True once closed, or stopped by a failed write (see :attr:`failure`)."""
        return self._closed




def _encode(what: str, value: Any, n_bytes: int) -> bytes:
    raw = str(value).encode("utf-8")
    if len(raw) > n_bytes:
        raise ConfigError(
            f"{what} is {len(raw)} bytes of UTF-8, more than the {n_bytes} the session format "
            f"holds: shorten it (value starts {str(value)[:40]!r})"
        )
    return raw


def _trial_row(trial_id: int, test: str, side: str, attempt: int, start_s: float, end_s: float,
               status: str, reason: str) -> np.void:
    row = np.zeros((), dtype=fmt.trial_dtype())
    row["id"] = trial_id
    row["test"] = _encode("trial test", test, fmt.TRIAL_TEST_BYTES)
    row["side"] = _encode("trial side", side, fmt.TRIAL_SIDE_BYTES)
    row["attempt"] = attempt
    row["start"] = start_s
    row["end"] = end_s
    row["status"] = _encode("trial status", status, fmt.TRIAL_STATUS_BYTES)
    row["reason"] = _encode("trial reason", reason, fmt.TRIAL_REASON_BYTES)
    return row[()]
