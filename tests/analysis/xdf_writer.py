"""A minimal XDF 1.0 writer for tests (the format LabRecorder writes).

Follows the XDF specification (github.com/sccn/xdf/wiki/Specifications) as LabRecorder's
``xdfwriter`` implements it:

* the file starts with the magic code ``XDF:``, then a sequence of chunks;
* a chunk is ``[NumLengthBytes: 1, 4 or 8][Length: uint of that many bytes][Tag: uint16]
  [Content]``, where ``Length`` counts the tag and the content; chunks of tags 2, 3, 4 and 6
  start their content with the ``uint32`` stream id;
* tags: 1 FileHeader (XML), 2 StreamHeader (XML), 3 Samples, 4 ClockOffset, 5 Boundary,
  6 StreamFooter (XML);
* Samples: ``[NumSamples: variable-length int]`` then per sample ``[TimeStampBytes: 0 or 8]
  [TimeStamp: float64]`` (0 means "previous stamp + 1/nominal_srate") and the values,
  little-endian numbers, or per channel a variable-length int byte count and UTF-8 bytes
  for strings;
* ClockOffset: ``[CollectionTime: float64][OffsetValue: float64]``, the collection time on
  the **sender's** clock (LabRecorder writes ``now - offset``) and the offset = recorder
  clock - sender clock;
* all numbers little-endian.

Numeric samples chunks are packed with numpy structured arrays, so long streams write fast.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

TAG_FILE_HEADER = 1
TAG_STREAM_HEADER = 2
TAG_SAMPLES = 3
TAG_CLOCK_OFFSET = 4
TAG_BOUNDARY = 5
TAG_STREAM_FOOTER = 6

BOUNDARY_UUID = bytes([0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F,
                       0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4])

#: XDF channel_format -> little-endian numpy dtype
XDF_DTYPES = {"int8": "<i1", "int16": "<i2", "int32": "<i4", "int64": "<i8",
              "float32": "<f4", "double64": "<f8"}


def varlen_int(value: int) -> bytes:
    """XDF variable-length integer: a byte 1, 4 or 8, then the value in that many bytes."""
    if value < 0:
        raise ValueError("XDF lengths are unsigned")
    if value < 1 << 8:
        return b"\x01" + struct.pack("<B", value)
    if value < 1 << 32:
        return b"\x04" + struct.pack("<I", value)
    return b"\x08" + struct.pack("<Q", value)


def stream_header_xml(name: str, type_: str, channel_format: str, nominal_srate: str,
                      channels: Sequence[dict[str, str]] | int, *, source_id: str = "",
                      extra_desc: str = "", hostname: str = "lab-pc") -> str:
    """A stream header as liblsl writes it (``<info>`` with ``<desc><channels>``).

    ``channels`` is a list of dicts (one ``<channel>`` each, tags in order) or a channel
    count without a ``<channels>`` description. ``nominal_srate`` is the exact text.
    """
    if isinstance(channels, int):
        count, chans = channels, ""
    else:
        count = len(channels)
        chans = "<channels>" + "".join(
            "<channel>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in ch.items()) + "</channel>"
            for ch in channels) + "</channels>"
    return ('<?xml version="1.0"?>\n<info>'
            f"<name>{escape(name)}</name><type>{escape(type_)}</type>"
            f"<channel_count>{count}</channel_count><channel_format>{channel_format}</channel_format>"
            f"<source_id>{escape(source_id)}</source_id><nominal_srate>{nominal_srate}</nominal_srate>"
            "<version>1.1000000000000001</version><created_at>1234.5</created_at>"
            f"<uid>uid-{escape(source_id or name)}</uid><session_id>default</session_id>"
            f"<hostname>{hostname}</hostname>"
            f"<desc>{chans}{extra_desc}</desc></info>")


def stream_footer_xml(first_timestamp: float, last_timestamp: float, sample_count: int,
                      clock_offsets: Sequence[tuple[float, float]] = ()) -> str:
    """A stream footer as LabRecorder writes it (with its copy of the clock offsets)."""
    offsets = "".join(f"<offset><time>{t!r}</time><value>{v!r}</value></offset>"
                      for t, v in clock_offsets)
    return ('<?xml version="1.0"?>\n<info>'
            f"<first_timestamp>{first_timestamp!r}</first_timestamp>"
            f"<last_timestamp>{last_timestamp!r}</last_timestamp>"
            f"<sample_count>{sample_count}</sample_count>"
            f"<clock_offsets>{offsets}</clock_offsets></info>")


class XdfWriter:
    """Write an XDF file chunk by chunk.

    Examples
    --------
    >>> w = XdfWriter(path)                                    # doctest: +SKIP
    >>> w.stream_header(1, stream_header_xml("emg", "EMG", "float32", "1000", 2))
    >>> w.samples(1, "float32", stamps, values)
    >>> w.clock_offset(1, 12.0, -0.5)
    >>> w.stream_footer(1, stream_footer_xml(stamps[0], stamps[-1], len(stamps)))
    >>> w.close()
    """

    def __init__(self, path: str | Path, *, header_xml: str | None = None) -> None:
        self.path = Path(path)
        self._f = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self._f.write(b"XDF:")
        self._formats: dict[int, str] = {}
        self.file_header = header_xml if header_xml is not None else (
            '<?xml version="1.0"?>\n  <info>\n    <version>1.0</version>\n'
            "    <datetime>2024-05-01T10:11:12+0200</datetime>\n  </info>")
        self._chunk(TAG_FILE_HEADER, self.file_header.encode("utf-8"))

    def _chunk(self, tag: int, content: bytes, stream_id: int | None = None) -> None:
        sid = b"" if stream_id is None else struct.pack("<I", stream_id)
        self._f.write(varlen_int(2 + len(sid) + len(content)))
        self._f.write(struct.pack("<H", tag))
        self._f.write(sid)
        self._f.write(content)

    def stream_header(self, stream_id: int, xml: str) -> None:
        fmt = xml.split("<channel_format>", 1)[1].split("</channel_format>", 1)[0]
        self._formats[stream_id] = fmt
        self._chunk(TAG_STREAM_HEADER, xml.encode("utf-8"), stream_id)

    def samples(self, stream_id: int, stamps: Sequence[float], values, *,
                write_stamp: Sequence[bool] | None = None) -> None:
        """One Samples chunk. ``write_stamp[k]`` False omits sample k's stamp (deduced)."""
        fmt = self._formats[stream_id]
        stamps = np.asarray(stamps, dtype="<f8")
        n = len(stamps)
        flags = np.ones(n, bool) if write_stamp is None else np.asarray(write_stamp, bool)
        out = [varlen_int(n)]
        if fmt == "string":
            for k in range(n):
                out.append(struct.pack("<Bd", 8, stamps[k]) if flags[k] else b"\x00")
                for text in values[k]:
                    raw = str(text).encode("utf-8")
                    out.append(varlen_int(len(raw)) + raw)
            self._chunk(TAG_SAMPLES, b"".join(out), stream_id)
            return
        dt = np.dtype(XDF_DTYPES[fmt])
        arr = np.asarray(values).astype(dt, copy=False).reshape(n, -1)
        nch = arr.shape[1]
        # every sample: 1 flag byte, 8 stamp bytes if flagged, then nch values (packed)
        with_ts = np.dtype([("flag", "u1"), ("ts", "<f8"), ("v", dt, (nch,))])
        without = np.dtype([("flag", "u1"), ("v", dt, (nch,))])
        body = bytearray()
        k = 0
        while k < n:  # runs of samples with or without stamps
            stop = k + 1
            while stop < n and flags[stop] == flags[k]:
                stop += 1
            rec = np.zeros(stop - k, dtype=with_ts if flags[k] else without)
            if flags[k]:
                rec["flag"] = 8
                rec["ts"] = stamps[k:stop]
            rec["v"] = arr[k:stop]
            body += rec.tobytes()
            k = stop
        self._chunk(TAG_SAMPLES, out[0] + bytes(body), stream_id)

    def clock_offset(self, stream_id: int, collection_time_sender_s: float, offset_s: float) -> None:
        self._chunk(TAG_CLOCK_OFFSET, struct.pack("<dd", collection_time_sender_s, offset_s), stream_id)

    def boundary(self) -> None:
        self._chunk(TAG_BOUNDARY, BOUNDARY_UUID)

    def stream_footer(self, stream_id: int, xml: str) -> None:
        self._chunk(TAG_STREAM_FOOTER, xml.encode("utf-8"), stream_id)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> XdfWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
