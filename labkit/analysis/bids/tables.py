"""Writing BIDS text files: TSV with ``n/a`` for missing values, JSON sidecars."""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labkit._json import dumps

NA = "n/a"


def cell(value: Any) -> str:
    """One TSV cell: ``n/a`` for None, empty text and NaN; tabs and line breaks as spaces
    (BIDS TSV has no quoting); floats with the shortest text that reads back exactly."""
    if value is None:
        return NA
    if isinstance(value, float | np.floating):
        return NA if not math.isfinite(float(value)) else repr(float(value))
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text if text.strip() else NA


def write_tsv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A TSV table with a header row (UTF-8, ``\\n`` line ends)."""
    lines = ["\t".join(columns)] + ["\t".join(cell(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_matrix(path: Path, data: np.ndarray, dtypes: Sequence[np.dtype]) -> Path:
    """A header-less numeric TSV (``.tsv`` or gzip-compressed ``.tsv.gz``), one row per
    sample; each column written with text that reads back exactly to its stored dtype
    (float32 columns as float32), NaN as ``n/a``."""
    cols = [_column_text(data[:, j], np.dtype(dt)) for j, dt in enumerate(dtypes)]
    body = "".join("\t".join(r) + "\n" for r in zip(*cols, strict=True))
    raw = body.encode("utf-8")
    if path.name.endswith(".gz"):
        # no name and mtime=0 in the gzip header: the same session gives the same bytes and
        # the header names nothing (the validator warns about a stored file name); level 6:
        # noisy samples compress little more at 9 and take three times as long
        with open(path, "wb") as fh, gzip.GzipFile(filename="", fileobj=fh, mode="wb", mtime=0,
                                                   compresslevel=6) as gz:
            gz.write(raw)
    else:
        path.write_bytes(raw)
    return path


def _column_text(col: np.ndarray, dtype: np.dtype) -> list[str]:
    """Text of one column: integers as integers, float64 with Python's shortest exact repr,
    float32 with 9 significant digits (always enough to read the same float32 back)."""
    if np.issubdtype(dtype, np.integer):
        return [str(v) for v in col.astype(np.int64).tolist()]
    fmt = repr if dtype == np.float64 else "{:.9g}".format
    return [fmt(v) if math.isfinite(v) else NA for v in col.astype(np.float64).tolist()]


def write_json(path: Path, content: dict[str, Any]) -> Path:
    """A JSON sidecar (indented, UTF-8; NaN as null, which BIDS JSON requires)."""
    path.write_text(dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
