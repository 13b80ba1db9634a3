"""Import an XDF file as a labkit session (see :mod:`labkit.analysis.xdf` for what is kept)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import h5py
import numpy as np

from labkit._files import replaced_atomically
from labkit.analysis.xdf.checks import check_footer, footer_rtts, foreign_clock_note
from labkit.analysis.xdf.framing import FORMATS, Scan, open_xdf, scan_file
from labkit.errors import ConfigError, LabkitWarning, SessionError
from labkit.session import format as fmt
from labkit.session.writer import SessionWriter
from labkit.spec import StreamSpec, channels_from_desc, device_from_desc, unique_stream_name

__all__ = ["import_xdf"]

_MARKER_LABEL_BYTES = 128
_MARKER_VALUE_BYTES = 1000
_METHOD = "labkit.analysis.xdf.import_xdf"


class _ErrorLog(logging.Handler):
    """Collects the errors pyxdf logs (it logs corruption instead of raising)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _pyxdf_errors() -> Iterator[_ErrorLog]:
    handler = _ErrorLog()
    logger = logging.getLogger("pyxdf")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _stream_spec(xml_text: str, name: str, sid: int, string_bytes: int) -> StreamSpec:
    root = ET.fromstring(xml_text)
    desc = root.find("desc")
    n = int((root.findtext("channel_count") or "").strip())
    rate_text = (root.findtext("nominal_srate") or "").strip()
    rate = float(rate_text)
    exact = (desc.findtext("nominal_rate_hz_exact") or "").strip() if desc is not None else ""
    if exact:  # labkit's own outlets send the exact rate as repr() beside liblsl's text
        with contextlib.suppress(ValueError):
            if abs(float(exact) - rate) <= 1e-9 * max(1.0, rate):
                rate = float(exact)
    stream_type = (root.findtext("type") or "").strip()
    if stream_type.lower() in fmt.STREAM_TYPES:
        stream_type = stream_type.lower()
    device = device_from_desc(desc)
    hostname = (root.findtext("hostname") or "").strip()
    if hostname and "hostname" not in device:
        device["hostname"] = hostname
    return StreamSpec(
        name=name,
        type=stream_type or "other",
        channels=channels_from_desc(desc, n),
        nominal_rate_hz=rate,
        dtype=FORMATS[(root.findtext("channel_format") or "").strip()],
        source_id=(root.findtext("source_id") or "").strip(),
        device=device,
        max_string_bytes=max(1, string_bytes),
    )


def _marker_event(text: str) -> tuple[str, str]:
    """(label, value) of a marker as the recorder mirrors it into ``/events``."""
    raw = text.encode("utf-8")
    if len(raw) > _MARKER_LABEL_BYTES:
        return "marker", raw[:_MARKER_VALUE_BYTES].decode("utf-8", "ignore")
    return text, ""


def import_xdf(
    xdf_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    allow_truncated: bool = False,
    mirror_markers: bool = True,
    subject: str = "",
    operator: str = "",
    notes: str | None = None,
) -> Path:
    """Import an XDF file (LabRecorder) as a labkit session, keeping raw stamps and clock offsets.

    Parameters
    ----------
    xdf_path : str or Path
        The ``.xdf`` file, or gzip-compressed XDF (``.xdfz`` / ``.xdf.gz``; recognised by
        the gzip magic bytes, so the name's case does not matter).
    out_path : str or Path
        The session file to write (``.h5``). Written to a temporary file beside it and
        renamed at the end, so a failed import leaves nothing behind.
    overwrite : bool
        Replace an existing ``out_path``.
    allow_truncated : bool
        Import the complete chunks before a truncated or damaged part (a LabRecorder that
        was killed) instead of refusing the file, with a
        :class:`~labkit.errors.LabkitWarning` naming the file and the problem;
        ``import_params`` records where it stopped.
    mirror_markers : bool
        Mirror string streams of type ``Markers`` into the session's events (the recorder
        does this for LSL marker streams).
    subject, operator : str
        Root metadata of the session.
    notes : str, optional
        Free text; default ``"imported from <file name>"``.

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    labkit.errors.ConfigError
        pyxdf is not installed (``pip install "labkit[xdf]"``), or the file is missing, not
        an XDF file, truncated or damaged; one line naming the file and the problem.
    labkit.errors.SessionError
        ``out_path`` exists (pass ``overwrite=True``) or cannot be written.

    Examples
    --------
    >>> import labkit
    >>> from labkit.analysis.xdf import import_xdf
    >>> path = import_xdf("jump.xdf", "jump.h5")                 # doctest: +SKIP
    >>> s = labkit.open_session(path)                            # doctest: +SKIP
    >>> s.stream("Force").times  # synchronised with the file's clock offsets  # doctest: +SKIP
    """
    src = Path(xdf_path)
    out = Path(out_path)
    if not src.exists():
        raise ConfigError(f"{src}: no such file; check the path of the XDF file")
    if src.is_dir():
        raise ConfigError(f"{src}: is a directory; pass an .xdf file")
    if out.exists() and not overwrite:
        raise SessionError(f"{out}: file exists; choose a new path or pass overwrite=True")
    if out.resolve() == src.resolve():
        raise SessionError(f"{out}: the session would replace the XDF file; choose another path")
    try:
        import pyxdf
    except ImportError:
        raise ConfigError('importing XDF files needs pyxdf: pip install "labkit[xdf]"') from None

    scan = scan_file(src)
    if scan.problem:
        if not allow_truncated or scan.n_chunks == 0:
            hint = (f"; pass --allow-truncated (allow_truncated=True in Python) to import the "
                    f"{scan.n_chunks} complete chunks before it") if scan.n_chunks else ""
            raise ConfigError(f"{src}: damaged XDF file: {scan.problem}{hint}")
        warnings.warn(f"{src}: {scan.problem}; importing the {scan.n_chunks} complete chunks "
                      "before it (import_params records where it stopped)", LabkitWarning, stacklevel=2)
    with open_xdf(src) as f, _pyxdf_errors() as errors:
        # pyxdf gets an open file (it would pick gzip by a case-sensitive suffix), and of a
        # damaged file only the complete chunks
        source: BinaryIO = io.BytesIO(f.read(scan.good_bytes)) if scan.problem else f
        try:
            streams, _ = pyxdf.load_xdf(source, synchronize_clocks=False, dejitter_timestamps=False,
                                        handle_clock_resets=False)
        except Exception as exc:  # pyxdf raises bare Exceptions; name the file and the cause
            raise ConfigError(
                f"{src}: damaged XDF file: pyxdf cannot read it ({type(exc).__name__}: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no detail'})"
            ) from exc
    if errors.messages:
        raise ConfigError(f"{src}: damaged XDF file: pyxdf reports {errors.messages[0]!r}")

    by_id = {int(s["info"]["stream_id"]): s for s in streams}
    if set(by_id) != set(scan.headers):
        raise ConfigError(f"{src}: damaged XDF file: pyxdf read streams {sorted(by_id)} but the "
                          f"file declares {sorted(scan.headers)}")
    notes_by_stream = _check_streams(scan, by_id)
    specs: list[StreamSpec] = []
    ids: list[int] = []
    taken: set[str] = set()
    for sid in scan.headers:  # file order
        header = ET.fromstring(scan.headers[sid])
        name = unique_stream_name((header.findtext("name") or "").strip() or f"stream{sid}", taken)
        taken.add(name)
        series = by_id[sid]["time_series"]
        longest = 1
        if (header.findtext("channel_format") or "").strip() == "string":
            longest = max((len(str(v).encode("utf-8")) for row in series for v in row), default=1)
        specs.append(_stream_spec(scan.headers[sid], name, sid, longest))
        ids.append(sid)
    named = {spec.name: notes_by_stream[sid] for spec, sid in zip(specs, ids, strict=True)
             if notes_by_stream.get(sid)}
    if named:
        warnings.warn(f"{src}: " + "; ".join(f"stream {name}: {', '.join(notes)}"
                                              for name, notes in named.items()),
                      LabkitWarning, stacklevel=2)

    with replaced_atomically(out) as tmp:
        _write_session(tmp, src, scan, specs, ids, by_id, mirror_markers=mirror_markers,
                       subject=subject, operator=operator,
                       notes=f"imported from {src.name}" if notes is None else notes,
                       params={"pyxdf_version": getattr(pyxdf, "__version__", ""),
                               "allow_truncated": allow_truncated,
                               "mirror_markers": mirror_markers,
                               "truncated": scan.problem,
                               "stream_notes": named,
                               "bytes_imported": scan.good_bytes,
                               "synchronize_clocks": False, "dejitter_timestamps": False})
    return out


def _check_streams(scan: Scan, by_id: dict[int, dict[str, Any]]) -> dict[int, list[str]]:
    """Apply the footer's sample count (as pyxdf does) and find stamps on another clock
    than the clock offsets; returns what to report per stream id (changes ``by_id`` and
    ``scan.offsets`` where the footer drops samples)."""
    notes: dict[int, list[str]] = {}
    for sid, stream in by_id.items():
        found = []
        offsets = scan.offsets.get(sid, [])
        footer = check_footer(len(stream["time_stamps"]), scan.footers.get(sid, ""), offsets)
        if footer.keep < len(stream["time_stamps"]):
            stream["time_stamps"] = stream["time_stamps"][: footer.keep]
            stream["time_series"] = stream["time_series"][: footer.keep]
        if footer.drop_last_offset:
            scan.offsets[sid] = offsets = offsets[:-1]
        if footer.note:
            found.append(footer.note)
        foreign = foreign_clock_note(np.asarray(stream["time_stamps"], dtype=np.float64), offsets)
        if foreign:
            found.append(foreign)
        if found:
            notes[sid] = found
    return notes


def _write_session(tmp: Path, src: Path, scan: Scan, specs: list[StreamSpec], ids: list[int],
                   by_id: dict[int, dict[str, Any]], *, mirror_markers: bool, subject: str,
                   operator: str, notes: str, params: dict[str, Any]) -> None:
    from labkit.signal.sync import synchronize

    events: list[tuple[float, str, str, str]] = []
    writer = SessionWriter(tmp, specs, subject=subject, operator=operator, notes=notes,
                           flush_interval_s=3600.0, fsync=False, overwrite=True)
    with writer:
        for spec, sid in zip(specs, ids, strict=True):
            stream = by_id[sid]
            stamps = np.asarray(stream["time_stamps"], dtype=np.float64)
            if spec.is_string:
                data = np.empty((len(stamps), len(spec.channels)), dtype=object)
                for k, row in enumerate(stream["time_series"]):
                    data[k] = row
            else:
                data = np.asarray(stream["time_series"]).reshape(len(stamps), len(spec.channels))
            if len(stamps):
                writer.append(spec.name, data, stamps)
            pairs = scan.offsets.get(sid, [])
            sender_ct = np.array([p[0] for p in pairs], dtype=np.float64)
            offsets = np.array([p[1] for p in pairs], dtype=np.float64)
            receiver_ct = sender_ct + offsets  # XDF: sender clock; labkit: session clock
            rtts = footer_rtts(scan.footers.get(sid, ""), pairs)
            for ct, off, rtt in zip(receiver_ct, offsets, rtts, strict=True):
                writer.add_clock_offset(spec.name, float(ct), float(off), float(rtt))
            if mirror_markers and spec.is_string and spec.type == "markers" and len(stamps):
                times = synchronize(stamps, 0.0, collection_times_s=receiver_ct if pairs else None,
                                    offsets_s=offsets if pairs else None, rtt_s=rtts if pairs else None)
                for t, text in zip(times, data[:, 0], strict=True):
                    label, value = _marker_event(str(text))
                    events.append((float(t), label, value, spec.name[:100]))
        for t, label, value, source in sorted(events, key=lambda e: e[0]):
            writer.add_event(t, label, value, source)
    try:
        with h5py.File(tmp, "r+", libver="latest") as f:
            f.attrs["source_format"] = "xdf"
            f.attrs["source_file"] = src.name
            f.attrs["xdf_file_header"] = scan.file_header
            f.attrs["import_method"] = _METHOD
            f.attrs["import_params"] = fmt.to_json(params)
            for spec, sid in zip(specs, ids, strict=True):
                g = f[f"{fmt.STREAMS_GROUP}/{spec.name}"]
                g.attrs["xdf_stream_id"] = np.int64(sid)
                g.attrs["xdf_header"] = scan.headers[sid]
                g.attrs["xdf_footer"] = scan.footers.get(sid, "")
    except OSError as exc:
        raise SessionError(f"{tmp}: cannot write the XDF metadata into the session ({exc})") from exc
