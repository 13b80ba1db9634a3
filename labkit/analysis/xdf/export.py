"""Export a labkit session as an XDF file, as LabRecorder would have written it.

Per stream: a StreamHeader (the imported file's header verbatim; otherwise liblsl's
``<info>`` layout with ``<desc><channels>`` from the channel table, ``<acquisition>`` from the
device and the exact rate in ``<desc><nominal_rate_hz_exact>`` as labkit's outlets send it),
Samples chunks with every **raw** stamp (8 bytes each: bit for bit), one ClockOffset chunk
per stored measurement and a StreamFooter (verbatim, or LabRecorder's: first/last stamp,
sample count, the offsets). Chunks of all streams are interleaved in session-time order,
about one second each, with a Boundary chunk every 10 s, as LabRecorder writes them.

XDF's ClockOffset chunks have no round-trip time: labkit writes each ``rtt`` as an ``<rtt>``
beside the offset in the footer's copy of the offsets (pyxdf and other readers ignore it;
labkit's import reads it back, so labkit's RTT filter works on a re-imported file). Events
that no stream of the session carries (a protocol's cues, an operator's notes) go into one
extra string stream ``labkit_events`` of type ``Markers`` (channels ``label``, ``value``,
``source``) on the session clock, so XDF readers see them as markers; trials and results
have no place in XDF and are not written.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from labkit._files import replaced_atomically
from labkit.analysis.xdf.chunks import XDF_FORMATS, ChunkWriter
from labkit.errors import ConfigError, SessionError
from labkit.session import format as fmt
from labkit.session._h5 import attr_str
from labkit.session.reader import Session, Stream, open_session
from labkit.spec import CHANNEL_FIELDS, unique_stream_name

__all__ = ["export_xdf"]

_CHUNK_S = 1.0
_IRREGULAR_CHUNK = 100
_BOUNDARY_EVERY_S = 10.0
EVENTS_STREAM = "labkit_events"


@dataclass
class _Out:
    """One stream as it goes into the file."""

    sid: int
    name: str
    dtype: str
    header: str
    footer: str
    stamps: np.ndarray
    values: np.ndarray
    session_times: np.ndarray
    offsets: list[tuple[float, float]]
    rate_hz: float


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    node = ET.SubElement(parent, tag)
    node.text = text
    return node


def _rate_text(rate_hz: float) -> str:
    return repr(float(rate_hz)) if rate_hz % 1 else str(int(rate_hz)) if rate_hz else "0"


def _header_xml(st: Stream, name: str, xdf_format: str) -> str:
    """liblsl's ``<info>`` (what LabRecorder copies into the StreamHeader)."""
    info = ET.Element("info")
    for tag, text in (("name", name), ("type", st.type), ("channel_count", str(st.data.shape[1])),
                      ("channel_format", xdf_format), ("source_id", st.source_id),
                      ("nominal_srate", _rate_text(st.rate_hz)), ("version", "1.1000000000000001"),
                      ("created_at", repr(float(st.raw_times[0])) if st.n_samples else "0"),
                      ("uid", st.source_id or name), ("session_id", "default"),
                      ("hostname", str(st.device.get("hostname", "")))):
        _sub(info, tag, text)
    desc = ET.SubElement(info, "desc")
    channels = ET.SubElement(desc, "channels")
    for row in st.channels.to_dict(orient="records"):
        node = ET.SubElement(channels, "channel")
        for key in [*CHANNEL_FIELDS, *(k for k in row if k not in CHANNEL_FIELDS)]:
            value = "" if row.get(key) is None else str(row.get(key, ""))
            if value:
                _sub(node, key, value)
    acquisition = ET.SubElement(desc, "acquisition")
    for key, value in st.device.items():
        if key != "hostname":
            _sub(acquisition, str(key), str(value))
    _sub(desc, "nominal_rate_hz_exact", repr(float(st.rate_hz)))
    return '<?xml version="1.0"?>\n' + ET.tostring(info, encoding="unicode")


def _footer_xml(stamps: np.ndarray, offsets: list[tuple[float, float]],
                rtts: np.ndarray | None = None) -> str:
    """LabRecorder's StreamFooter: first/last stamp, sample count and the clock offsets, each
    with labkit's ``<rtt>`` when known (XDF's ClockOffset chunks have no place for it)."""
    first = repr(float(stamps[0])) if len(stamps) else "0"
    last = repr(float(stamps[-1])) if len(stamps) else "0"
    rtts = np.full(len(offsets), np.nan) if rtts is None else rtts
    body = "".join(f"<offset><time>{t!r}</time><value>{v!r}</value>"
                   + (f"<rtt>{float(r)!r}</rtt>" if np.isfinite(r) else "") + "</offset>"
                   for (t, v), r in zip(offsets, rtts, strict=True))
    return ('<?xml version="1.0"?>\n<info>'
            f"<first_timestamp>{first}</first_timestamp><last_timestamp>{last}</last_timestamp>"
            f"<sample_count>{len(stamps)}</sample_count><clock_offsets>{body}</clock_offsets></info>")


def _sender_collection_time(collection_s: float, offset_s: float) -> float:
    """The collection time on the sender clock that an importer maps back to exactly
    ``collection_s`` (``sender + offset``): ``collection - offset`` up to the last bits."""
    sender = collection_s - offset_s
    for _ in range(4):
        back = sender + offset_s
        if back == collection_s:
            break
        sender = math.nextafter(sender, math.inf if back < collection_s else -math.inf)
    return sender


def _streams_out(s: Session, f: h5py.File) -> list[_Out]:
    outs: list[_Out] = []
    groups = {name: f[f"{fmt.STREAMS_GROUP}/{name}"] for name in s.streams}
    stored_ids = {name: int(g.attrs["xdf_stream_id"]) for name, g in groups.items()
                  if "xdf_stream_id" in g.attrs}
    keep_ids = len(set(stored_ids.values())) == len(stored_ids) == len(groups)
    order = sorted(s.streams, key=lambda n: (stored_ids.get(n, 0), n)) if keep_ids else s.streams
    for k, name in enumerate(order):
        st = s.stream(name)
        g = groups[name]
        if st.channel_format not in XDF_FORMATS:
            raise ConfigError(f"{s.path}: stream {name!r} holds {st.channel_format} samples, which XDF "
                              "cannot store (int8..int64, float32, float64 or strings); export it to "
                              "CSV or C3D instead")
        xdf_format = XDF_FORMATS[st.channel_format][0]
        co = st.clock_offsets
        offsets = [(_sender_collection_time(float(c), float(o)), float(o))
                   for c, o in zip(co["collection_time"], co["offset"], strict=True)]
        header = attr_str(g.attrs.get("xdf_header", "")) or _header_xml(st, name, xdf_format)
        footer = attr_str(g.attrs.get("xdf_footer", "")) or _footer_xml(
            st.raw_times, offsets, co["rtt"].to_numpy(dtype=np.float64))
        outs.append(_Out(stored_ids[name] if keep_ids else k + 1, name, st.channel_format, header,
                         footer, st.raw_times, st.data, st.times, offsets, st.rate_hz))
    return outs


def _events_out(s: Session, outs: list[_Out]) -> _Out | None:
    """The events no stream carries, as a ``Markers`` string stream on the session clock."""
    events = s.events
    carried = {o.name for o in outs if o.dtype == "string"}
    events = events[~events["source"].isin(carried)]
    if events.empty:
        return None
    name = unique_stream_name(EVENTS_STREAM, {o.name for o in outs})
    times = events["time"].to_numpy(dtype=np.float64)
    values = events[["label", "value", "source"]].to_numpy(dtype=object)
    info = ET.Element("info")
    for tag, text in (("name", name), ("type", "Markers"), ("channel_count", "3"),
                      ("channel_format", "string"),
                      ("source_id", f"labkit-events-{s.info.get('session_id', '')}"),
                      ("nominal_srate", "0"), ("version", "1.1000000000000001"),
                      ("created_at", repr(float(times[0]))), ("uid", name), ("session_id", "default"),
                      ("hostname", "")):
        _sub(info, tag, text)
    channels = ET.SubElement(ET.SubElement(info, "desc"), "channels")
    for label in ("label", "value", "source"):
        _sub(ET.SubElement(channels, "channel"), "label", label)
    header = '<?xml version="1.0"?>\n' + ET.tostring(info, encoding="unicode")
    sid = max((o.sid for o in outs), default=0) + 1
    return _Out(sid, name, "string", header, _footer_xml(times, []), times, values, times, [], 0.0)


def _chunks(o: _Out) -> list[tuple[float, int, int, int]]:
    """(session time of the first sample, stream id, start, stop) of each Samples chunk."""
    n = len(o.stamps)
    size = max(1, round(o.rate_hz * _CHUNK_S)) if o.rate_hz > 0 else _IRREGULAR_CHUNK
    return [(float(o.session_times[a]), o.sid, a, min(a + size, n)) for a in range(0, n, size)]


def _file_header(s: Session, f: h5py.File) -> str:
    stored = attr_str(f.attrs.get("xdf_file_header", ""))
    if stored:
        return stored
    return ('<?xml version="1.0"?>\n<info>\n\t<version>1.0</version>\n'
            f"\t<datetime>{s.info.get('created_utc', '')}</datetime>\n</info>")


def export_xdf(session_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
               overwrite: bool = False) -> Path:
    """Write a session as an XDF file (LabRecorder's layout) with raw stamps and clock offsets.

    Parameters
    ----------
    session_path : str or Path
        The session file (``.h5``).
    out_path : str or Path
        The ``.xdf`` file to write (through a temporary file beside it, renamed at the end).
    overwrite : bool
        Replace an existing ``out_path``.

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    labkit.errors.ConfigError
        A stream holds unsigned integers, which XDF cannot store.
    labkit.errors.SessionError
        ``out_path`` exists (pass ``overwrite=True``) or the session cannot be read.

    Notes
    -----
    pyxdf reads the file; its synchronised times (``load_xdf`` with clock synchronisation
    and dejittering) agree with ``Stream.times`` of the session, and importing the file
    (:func:`labkit.analysis.xdf.import_xdf`) gives back the samples, raw stamps and clock
    offsets bit for bit (round-trip times through the footer).

    Examples
    --------
    >>> from labkit.analysis.xdf import export_xdf
    >>> export_xdf("session.h5", "session.xdf")                 # doctest: +SKIP
    """
    out = Path(out_path)
    if out.exists() and not overwrite:
        raise SessionError(f"{out}: file exists; choose a new path or pass overwrite=True")
    with open_session(session_path) as s:
        f = s._file
        outs = _streams_out(s, f)
        events = _events_out(s, outs)
        if events is not None:
            outs.append(events)
        file_header = _file_header(s, f)
    by_id = {o.sid: o for o in outs}
    chunks = sorted((c for o in outs for c in _chunks(o)), key=lambda c: c[0])
    with replaced_atomically(out) as tmp, open(tmp, "wb") as fh:
        w = ChunkWriter(fh, file_header)
        for o in outs:
            w.stream_header(o.sid, o.header)
        pending = {o.sid: list(o.offsets) for o in outs}
        next_boundary = chunks[0][0] + _BOUNDARY_EVERY_S if chunks else math.inf
        for t0, sid, a, b in chunks:
            if t0 >= next_boundary:
                w.boundary()
                next_boundary = t0 + _BOUNDARY_EVERY_S
            o = by_id[sid]
            w.samples(sid, o.dtype, o.stamps[a:b], o.values[a:b])
            # offsets go in as LabRecorder measures them: once their moment has come
            end = float(o.stamps[b - 1])
            while pending[sid] and pending[sid][0][0] <= end:
                w.clock_offset(sid, *pending[sid].pop(0))
        for o in outs:
            for ct, off in pending[o.sid]:
                w.clock_offset(o.sid, ct, off)
            w.stream_footer(o.sid, o.footer)
    return out
