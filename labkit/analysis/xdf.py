"""Import XDF files (LabRecorder, Lab Streaming Layer) into labkit sessions.

An XDF file holds what LabRecorder received: per stream an XML header, the samples with
their raw time stamps on the **sender's** clock, clock-offset measurements and an XML
footer. :func:`import_xdf` turns it into an ordinary labkit session (``status complete``)
so that it is analysed like any recording of labkit's own:

* one session stream per XDF stream, named after the LSL stream name (unsafe characters
  become ``_``; repeated names get ``-2``, ``-3``, ... as the recorder does), with the
  channel table from ``<desc><channels>`` (``label``, ``unit``, ``type``, ``muscle``, ``side``,
  ... as written; ``ch0``, ``ch1``, ... and empty units when absent), the stream type
  (lower-cased when it is one labkit knows, e.g. ``Markers`` -> ``markers``), the nominal
  rate parsed from the header's text (0 -> irregular), and the samples in their XDF format
  (int8/16/32/64, float32, float64 from ``double64``, or strings);
* the **raw** time stamps as the file has them (read with pyxdf without clock
  synchronisation or dejittering);
* every ClockOffset chunk as a row of the stream's ``clock_offsets`` table, so labkit's own
  synchronisation (``Stream.times``) applies them when reading. XDF stores
  ``(collection time on the sender's clock, offset = recorder - sender clock)``; labkit
  stores the collection time on the recorder's (session) clock, so it is
  ``xdf collection time + offset``; XDF has no round-trip time (``rtt`` is NaN);
* string streams of type ``Markers`` are mirrored into ``/events`` (as the recorder mirrors
  LSL marker streams) at their synchronised times, channel 0's text as the label (text
  longer than 128 bytes: label ``marker`` and the first 1000 bytes as the value), the stream
  name as the source; the string stream itself keeps the full text;
* nothing of the XDF metadata is lost: the root attribute ``xdf_file_header`` and the
  stream attributes ``xdf_header`` / ``xdf_footer`` hold the exact XML text, ``xdf_stream_id``
  the stream id; ``source_format`` (``xdf``), ``source_file``, ``import_method`` and
  ``import_params`` (JSON) record where the session came from. Units are kept as written
  (XDF files of other labs may say ``microvolts``; labkit does not convert).

Before pyxdf reads anything, one pass over the chunk framing checks that the file is an
XDF file and is whole, so a truncated or damaged file is refused with one line naming the
file and the problem (``allow_truncated=True`` imports the complete chunks before it).
pyxdf is an optional extra, imported only when :func:`import_xdf` runs.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import math
import os
import struct
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import h5py
import numpy as np

from labkit._files import replaced_atomically
from labkit.errors import ConfigError, LabkitWarning, SessionError
from labkit.session import format as fmt
from labkit.session.writer import SessionWriter
from labkit.spec import StreamSpec, channels_from_desc, device_from_desc, unique_stream_name

__all__ = ["import_xdf"]

_MAGIC = b"XDF:"
_TAG_NAMES = {1: "FileHeader", 2: "StreamHeader", 3: "Samples", 4: "ClockOffset", 5: "Boundary",
              6: "StreamFooter"}
_STREAM_TAGS = (2, 3, 4, 6)
#: XDF channel_format -> labkit sample dtype
_FORMATS = {"int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
            "float32": "float32", "double64": "float64", "string": "string"}
_MARKER_LABEL_BYTES = 128
_MARKER_VALUE_BYTES = 1000
_METHOD = "labkit.analysis.xdf.import_xdf"


@dataclass
class _Scan:
    """What one pass over the chunk framing found."""

    file_header: str = ""
    headers: dict[int, str] = field(default_factory=dict)
    footers: dict[int, str] = field(default_factory=dict)
    offsets: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    n_chunks: int = 0
    good_bytes: int = 4  # bytes up to the end of the last complete, well-formed chunk
    problem: str = ""  # empty when the file is whole


_GZIP_MAGIC = b"\x1f\x8b"


def _open(path: Path) -> BinaryIO:
    """Open an XDF file for reading, decompressing it when it is gzip data.

    Decided by the gzip magic bytes, not the name: ``.xdfz``, ``.xdf.gz`` in any case (and a
    compressed file with any other name) are read the same way; an XDF file starts with
    ``XDF:``, never with the gzip magic.
    """
    f = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    try:
        if f.read(2) != _GZIP_MAGIC:
            f.seek(0)
            return f
        f.close()
    except BaseException:
        f.close()
        raise
    return gzip.open(path, "rb")


def _skip(f: BinaryIO, n: int, size: int | None) -> bool:
    """Move ``n`` bytes forward; False if the file ends first."""
    if size is not None:
        if f.tell() + n > size:
            return False
        f.seek(n, os.SEEK_CUR)
        return True
    while n > 0:  # compressed: read through
        block = f.read(min(n, 1 << 20))
        if not block:
            return False
        n -= len(block)
    return True


def _scan(path: Path) -> _Scan:
    """Check the chunk framing; keep the XML texts and the clock offsets (they are small)."""
    scan = _Scan()
    try:
        f = _open(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot open the XDF file ({exc.strerror or exc})") from exc
    with f:
        try:
            magic = f.read(4)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ConfigError(f"{path}: not an XDF file (cannot read it: {exc})") from exc
        if magic != _MAGIC:
            raise ConfigError(
                f"{path}: not an XDF file (it starts with {magic!r}, not b'XDF:'); pass a file "
                "recorded by LabRecorder or another XDF writer"
            )
        size = None if isinstance(f, gzip.GzipFile) else path.stat().st_size
        try:
            _scan_chunks(f, size, scan)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:  # a damaged gzip stream
            scan.problem = scan.problem or f"the compressed data is damaged ({exc})"
    if not scan.problem and scan.n_chunks == 0:
        scan.problem = "the file has no chunks after the magic code"
    return scan


def _scan_chunks(f: BinaryIO, size: int | None, scan: _Scan) -> None:
    pos = 4
    while True:
        lead = f.read(1)
        if not lead:
            return  # clean end, right after a complete chunk
        nbytes = lead[0]
        where = f"chunk {scan.n_chunks + 1} (byte {pos})"
        if nbytes not in (1, 4, 8):
            scan.problem = f"{where} has an invalid length field ({nbytes} length bytes; XDF uses 1, 4 or 8)"
            return
        raw = f.read(nbytes)
        if len(raw) < nbytes:
            scan.problem = f"truncated: the file ends inside the length field of {where}"
            return
        length = int.from_bytes(raw, "little")
        start = pos + 1 + nbytes
        if size is not None and start + length > size:
            scan.problem = (f"truncated: {where} declares {length} bytes but the file ends "
                            f"{size - start} bytes later")
            return
        if length < 2:
            scan.problem = f"{where} declares {length} bytes, too short for a chunk tag"
            return
        head = f.read(2)
        if len(head) < 2:
            scan.problem = f"truncated: the file ends inside {where}"
            return
        tag = struct.unpack("<H", head)[0]
        sid = None
        body = length - 2
        if tag in _STREAM_TAGS:
            if body < 4:
                scan.problem = f"{where} ({_TAG_NAMES[tag]}) is too short to hold a stream id"
                return
            raw_sid = f.read(4)
            if len(raw_sid) < 4:
                scan.problem = f"truncated: the file ends inside {where}"
                return
            sid = struct.unpack("<I", raw_sid)[0]
            body -= 4
        if scan.n_chunks == 0 and tag != 1:
            scan.problem = f"the first chunk has tag {tag}, not a FileHeader (tag 1)"
            return
        if tag in (1, 2, 4, 6):
            content = f.read(body)
            if len(content) < body:
                scan.problem = (f"truncated: {where} ({_TAG_NAMES[tag]}) declares {length} bytes "
                                "but the file ends first")
                return
            problem = _take_chunk(scan, tag, sid, content)
            if problem:
                scan.problem = f"{where} ({_TAG_NAMES[tag]}): {problem}"
                return
        else:
            if tag == 3 and sid not in scan.headers:
                scan.problem = f"{where} holds samples of stream {sid} before its StreamHeader"
                return
            if not _skip(f, body, size):
                scan.problem = (f"truncated: {where} ({_TAG_NAMES.get(tag, f'tag {tag}')}) declares "
                                f"{length} bytes but the file ends first")
                return
        pos = start + length
        scan.n_chunks += 1
        scan.good_bytes = pos


def _take_chunk(scan: _Scan, tag: int, sid: int | None, content: bytes) -> str:
    if tag == 4:
        if len(content) != 16:
            return f"{len(content)} bytes of content where XDF has 16 (two float64)"
        scan.offsets.setdefault(sid, []).append(struct.unpack("<dd", content))
        return ""
    text = content.decode("utf-8", "replace")
    if tag == 1:
        scan.file_header = text
        return ""
    if tag == 6:
        scan.footers[sid] = text
        return ""
    if sid in scan.headers:
        return f"a second header for stream {sid}"
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        return f"the header of stream {sid} is not valid XML ({exc})"
    problem = _check_header(root)
    if problem:
        return f"stream {sid}: {problem}"
    scan.headers[sid] = text
    return ""


def _check_header(root: ET.Element) -> str:
    if root.tag != "info":
        return f"the header's root element is <{root.tag}>, not <info>"
    text = {k: (root.findtext(k) or "").strip() for k in ("channel_count", "channel_format",
                                                           "nominal_srate")}
    try:
        n = int(text["channel_count"])
    except ValueError:
        return f"channel_count={text['channel_count']!r} is not an integer"
    if n < 1:
        return f"channel_count={n}: a stream needs at least one channel"
    if text["channel_format"] not in _FORMATS:
        return (f"channel_format={text['channel_format']!r} is not an XDF format "
                f"({', '.join(_FORMATS)})")
    try:
        rate = float(text["nominal_srate"])
    except ValueError:
        return f"nominal_srate={text['nominal_srate']!r} is not a number"
    if not math.isfinite(rate) or rate < 0:
        return f"nominal_srate={text['nominal_srate']!r} is not a rate (use >= 0)"
    return ""


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
        dtype=_FORMATS[(root.findtext("channel_format") or "").strip()],
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

    scan = _scan(src)
    if scan.problem:
        if not allow_truncated or scan.n_chunks == 0:
            hint = (f"; pass --allow-truncated (allow_truncated=True in Python) to import the "
                    f"{scan.n_chunks} complete chunks before it") if scan.n_chunks else ""
            raise ConfigError(f"{src}: damaged XDF file: {scan.problem}{hint}")
        warnings.warn(f"{src}: {scan.problem}; importing the {scan.n_chunks} complete chunks "
                      "before it (import_params records where it stopped)", LabkitWarning, stacklevel=2)
    with _open(src) as f, _pyxdf_errors() as errors:
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

    with replaced_atomically(out) as tmp:
        _write_session(tmp, src, scan, specs, ids, by_id, mirror_markers=mirror_markers,
                       subject=subject, operator=operator,
                       notes=f"imported from {src.name}" if notes is None else notes,
                       params={"pyxdf_version": getattr(pyxdf, "__version__", ""),
                               "allow_truncated": allow_truncated,
                               "mirror_markers": mirror_markers,
                               "truncated": scan.problem,
                               "bytes_imported": scan.good_bytes,
                               "synchronize_clocks": False, "dejitter_timestamps": False})
    return out


def _write_session(tmp: Path, src: Path, scan: _Scan, specs: list[StreamSpec], ids: list[int],
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
            for ct, off in zip(receiver_ct, offsets, strict=True):
                writer.add_clock_offset(spec.name, float(ct), float(off))
            if mirror_markers and spec.is_string and spec.type == "markers" and len(stamps):
                times = synchronize(stamps, 0.0, collection_times_s=receiver_ct if pairs else None,
                                    offsets_s=offsets if pairs else None,
                                    rtt_s=np.full(len(pairs), np.nan) if pairs else None)
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
