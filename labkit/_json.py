"""One rule for turning labkit values into JSON: :func:`to_jsonable` and :func:`dumps`.

Every place that writes JSON (session provenance and device descriptions, the C3D
parameter store, CSV export's ``.json`` files, ``labkit inspect --json``) goes through
here, so a value is converted the same way wherever it ends up:

============================  ==========================================================
numpy scalar                  its Python value (``.item()``), then as below
numpy array, pandas Series,   a list (nested for arrays), element by element
pandas Index, tuple, set
pandas DataFrame              a list of row records ``[{"column": value, ...}, ...]``
mapping                       an object; keys become text as :func:`json.dumps` writes
                              them (``1`` -> ``"1"``, ``True`` -> ``"true"``), other keys
                              their ``str()``
``os.PathLike``               its path text (``os.fspath``)
bytes                         UTF-8 text (undecodable bytes become U+FFFD)
datetime, date, time          ISO 8601 text (``isoformat()``)
timedelta                     seconds (float)
``None``, ``pd.NA``, ``NaT``  ``null``
NaN, +inf, -inf               see ``nan`` below
anything else                 ``fallback(value)`` if given, else :class:`TypeError`
============================  ==========================================================

NaN and infinities (the one convention): ``nan="null"``, the default, writes them as
``null``, so the text is strict JSON (RFC 8259) that any JSON reader accepts: what the
CLI prints and what CSV export writes for other tools. ``nan="keep"`` keeps them as
floats, which :func:`json.dumps` writes as ``NaN``/``Infinity``/``-Infinity`` (the Python
dialect that :func:`json.loads` reads back exactly): the rule of the session file format,
whose provenance, device and C3D-parameter text must round-trip a NaN as a NaN.

This module imports neither numpy nor pandas: a value can only be one of theirs when
they are already imported.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Literal

NanRule = Literal["null", "keep"]

__all__ = ["NanRule", "dumps", "to_jsonable"]


def to_jsonable(value: Any, *, nan: NanRule = "null",
                fallback: Callable[[Any], Any] | None = None) -> Any:
    """``value`` as plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``.

    ``nan``: ``"null"`` (default) turns NaN and infinities into ``None``; ``"keep"`` keeps
    them (for the session file format). ``fallback`` converts a value of any other type
    (e.g. ``str``); without it such a value raises :class:`TypeError` naming its type.
    """
    if nan not in ("null", "keep"):
        raise ValueError(f"nan={nan!r}: give 'null' (NaN and inf become null) or 'keep'")
    return _convert(value, nan == "keep", fallback)


def dumps(value: Any, *, nan: NanRule = "null", fallback: Callable[[Any], Any] | None = None,
          **kwargs: Any) -> str:
    """:func:`json.dumps` of :func:`to_jsonable` ``(value, nan=nan, fallback=fallback)``.

    With ``nan="null"`` the text is strict JSON (``allow_nan=False``). Other keyword
    arguments (``indent``, ``sort_keys``, ``ensure_ascii``, ...) go to :func:`json.dumps`.
    """
    keep = nan == "keep"
    return json.dumps(to_jsonable(value, nan=nan, fallback=fallback), allow_nan=keep, **kwargs)


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    np = sys.modules.get("numpy")
    if np is not None and isinstance(k, np.generic):
        k = k.item()
    if isinstance(k, bool) or k is None:
        return json.dumps(k)  # "true", "false", "null": what json.dumps makes of such a key
    if isinstance(k, int | float):
        return json.dumps(k, allow_nan=True)
    return str(k)


def _convert(v: Any, keep_nan: bool, fallback: Callable[[Any], Any] | None) -> Any:
    if v is None or type(v) in (str, int, bool):
        return v
    if isinstance(v, str):  # a subclass (numpy.str_, a StrEnum): its plain text
        return str(v)
    if isinstance(v, int):  # a subclass (an IntEnum): its number
        return int(v)
    if isinstance(v, float):  # float, numpy.float64
        v = float(v)
        return v if keep_nan or math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {_key(k): _convert(x, keep_nan, fallback) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        return [_convert(x, keep_nan, fallback) for x in v]
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(v, np.ndarray):
            if v.dtype.kind in "biu" or (v.dtype.kind == "f" and (keep_nan or np.isfinite(v).all())):
                return v.tolist()  # plain numbers already: no element-by-element walk
            return _convert(v.tolist(), keep_nan, fallback)
        if isinstance(v, np.generic):
            return _convert(v.item(), keep_nan, fallback)
    pd = sys.modules.get("pandas")
    if pd is not None:
        if v is pd.NA or v is pd.NaT:
            return None
        if isinstance(v, pd.DataFrame):
            return [_convert(row, keep_nan, fallback) for row in v.to_dict(orient="records")]
        if isinstance(v, pd.Series | pd.Index):
            return _convert(v.tolist(), keep_nan, fallback)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).decode("utf-8", errors="replace")
    if isinstance(v, os.PathLike):
        return _convert(os.fspath(v), keep_nan, fallback)
    if isinstance(v, _dt.datetime | _dt.date | _dt.time):
        return v.isoformat()
    if isinstance(v, _dt.timedelta):
        return v.total_seconds()
    if fallback is not None:
        return _convert(fallback(v), keep_nan, None)
    raise TypeError(f"cannot store {type(v).__name__} value {v!r} as JSON")
