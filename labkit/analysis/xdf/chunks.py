"""Writing XDF 1.0 chunks, as LabRecorder's ``xdfwriter`` does.

No well-kept Python XDF writer exists (pyxdf only reads; the small packages that write are
unmaintained), and the format is small, so it is written here per the specification
(github.com/sccn/xdf/wiki/Specifications):

* the file is the magic code ``XDF:`` and a sequence of chunks
  ``[NumLengthBytes: 1, 4 or 8][Length][Tag: uint16][Content]`` where ``Length`` counts the
  tag and the content; the content of tags 2, 3, 4 and 6 starts with the uint32 stream id;
* tags: 1 FileHeader (XML), 2 StreamHeader (XML), 3 Samples, 4 ClockOffset, 5 Boundary,
  6 StreamFooter (XML);
* Samples: ``[NumSamples: variable-length int]``, then per sample ``[TimeStampBytes: 8]
  [TimeStamp: float64]`` and the values (little-endian numbers; strings as a variable-length
  byte count and UTF-8 bytes per channel); labkit writes every stamp, so the raw stamps
  travel bit for bit;
* ClockOffset: ``[CollectionTime: float64][OffsetValue: float64]``, the collection time on
  the sender's clock.

All numbers are little-endian. Numeric samples are packed through numpy structured arrays.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import numpy as np

TAG_FILE_HEADER = 1
TAG_STREAM_HEADER = 2
TAG_SAMPLES = 3
TAG_CLOCK_OFFSET = 4
TAG_BOUNDARY = 5
TAG_STREAM_FOOTER = 6

#: The Boundary chunk's fixed content (the specification's UUID)
BOUNDARY_UUID = bytes([0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F,
                       0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4])

#: labkit sample dtype -> (XDF channel_format, little-endian numpy dtype)
XDF_FORMATS = {"int8": ("int8", "<i1"), "int16": ("int16", "<i2"), "int32": ("int32", "<i4"),
               "int64": ("int64", "<i8"), "float32": ("float32", "<f4"),
               "float64": ("double64", "<f8"), "string": ("string", "")}


def varlen_int(value: int) -> bytes:
    """XDF variable-length integer: a byte 1, 4 or 8, then the value in that many bytes."""
    if value < 1 << 8:
        return b"\x01" + struct.pack("<B", value)
    if value < 1 << 32:
        return b"\x04" + struct.pack("<I", value)
    return b"\x08" + struct.pack("<Q", value)


class ChunkWriter:
    """Writes chunks to an open binary file (the caller opens and closes it)."""

    def __init__(self, f: BinaryIO, file_header_xml: str) -> None:
        self._f = f
        f.write(b"XDF:")
        self._chunk(TAG_FILE_HEADER, file_header_xml.encode("utf-8"))

    def _chunk(self, tag: int, content: bytes, stream_id: int | None = None) -> None:
        sid = b"" if stream_id is None else struct.pack("<I", stream_id)
        self._f.write(varlen_int(2 + len(sid) + len(content)))
        self._f.write(struct.pack("<H", tag))
        self._f.write(sid)
        self._f.write(content)

    def stream_header(self, stream_id: int, xml: str) -> None:
        self._chunk(TAG_STREAM_HEADER, xml.encode("utf-8"), stream_id)

    def stream_footer(self, stream_id: int, xml: str) -> None:
        self._chunk(TAG_STREAM_FOOTER, xml.encode("utf-8"), stream_id)

    def clock_offset(self, stream_id: int, collection_time_sender_s: float, offset_s: float) -> None:
        self._chunk(TAG_CLOCK_OFFSET, struct.pack("<dd", collection_time_sender_s, offset_s), stream_id)

    def boundary(self) -> None:
        self._chunk(TAG_BOUNDARY, BOUNDARY_UUID)

    def samples(self, stream_id: int, dtype: str, stamps: np.ndarray, values: np.ndarray) -> None:
        """One Samples chunk: ``values`` is ``(n, n_channels)``, every stamp written."""
        n = len(stamps)
        head = varlen_int(n)
        if dtype == "string":
            out = [head]
            for k in range(n):
                out.append(struct.pack("<Bd", 8, float(stamps[k])))
                for text in values[k]:
                    raw = str(text).encode("utf-8")
                    out.append(varlen_int(len(raw)) + raw)
            self._chunk(TAG_SAMPLES, b"".join(out), stream_id)
            return
        dt = np.dtype(XDF_FORMATS[dtype][1])
        arr = np.asarray(values).reshape(n, -1)
        rec = np.zeros(n, dtype=[("flag", "u1"), ("ts", "<f8"), ("v", dt, (arr.shape[1],))])
        rec["flag"] = 8
        rec["ts"] = stamps
        rec["v"] = arr
        self._chunk(TAG_SAMPLES, head + rec.tobytes(), stream_id)
