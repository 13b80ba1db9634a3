"""The XDF chunk framing: one pass that checks a file is XDF and whole, keeping its
XML texts and clock offsets (they are small); the samples are left to pyxdf."""

from __future__ import annotations

import gzip
import math
import os
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from labkit.errors import ConfigError

MAGIC = b"XDF:"
TAG_NAMES = {1: "FileHeader", 2: "StreamHeader", 3: "Samples", 4: "ClockOffset", 5: "Boundary",
             6: "StreamFooter"}
STREAM_TAGS = (2, 3, 4, 6)
#: XDF channel_format -> labkit sample dtype
FORMATS = {"int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
           "float32": "float32", "double64": "float64", "string": "string"}


@dataclass
class Scan:
    """What one pass over the chunk framing found."""

    file_header: str = ""
    headers: dict[int, str] = field(default_factory=dict)
    footers: dict[int, str] = field(default_factory=dict)
    offsets: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    n_chunks: int = 0
    good_bytes: int = 4  # bytes up to the end of the last complete, well-formed chunk
    problem: str = ""  # empty when the file is whole


_GZIPMAGIC = b"\x1f\x8b"


def open_xdf(path: Path) -> BinaryIO:
    """Open an XDF file for reading, decompressing it when it is gzip data.

    Decided by the gzip magic bytes, not the name: ``.xdfz``, ``.xdf.gz`` in any case (and a
    compressed file with any other name) are read the same way; an XDF file starts with
    ``XDF:``, never with the gzip magic.
    """
    f = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    try:
        if f.read(2) != _GZIPMAGIC:
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


def scan_file(path: Path) -> Scan:
    """Check the chunk framing; keep the XML texts and the clock offsets (they are small)."""
    scan = Scan()
    try:
        f = open_xdf(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot open the XDF file ({exc.strerror or exc})") from exc
    with f:
        try:
            magic = f.read(4)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ConfigError(f"{path}: not an XDF file (cannot read it: {exc})") from exc
        if magic != MAGIC:
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


def _scan_chunks(f: BinaryIO, size: int | None, scan: Scan) -> None:
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
        if tag in STREAM_TAGS:
            if body < 4:
                scan.problem = f"{where} ({TAG_NAMES[tag]}) is too short to hold a stream id"
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
                scan.problem = (f"truncated: {where} ({TAG_NAMES[tag]}) declares {length} bytes "
                                "but the file ends first")
                return
            problem = _take_chunk(scan, tag, sid, content)
            if problem:
                scan.problem = f"{where} ({TAG_NAMES[tag]}): {problem}"
                return
        else:
            if tag == 3 and sid not in scan.headers:
                scan.problem = f"{where} holds samples of stream {sid} before its StreamHeader"
                return
            if not _skip(f, body, size):
                scan.problem = (f"truncated: {where} ({TAG_NAMES.get(tag, f'tag {tag}')}) declares "
                                f"{length} bytes but the file ends first")
                return
        pos = start + length
        scan.n_chunks += 1
        scan.good_bytes = pos


def _take_chunk(scan: Scan, tag: int, sid: int | None, content: bytes) -> str:
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
    if text["channel_format"] not in FORMATS:
        return (f"channel_format={text['channel_format']!r} is not an XDF format "
                f"({', '.join(FORMATS)})")
    try:
        rate = float(text["nominal_srate"])
    except ValueError:
        return f"nominal_srate={text['nominal_srate']!r} is not a number"
    if not math.isfinite(rate) or rate < 0:
        return f"nominal_srate={text['nominal_srate']!r} is not a rate (use >= 0)"
    return ""
