"""Argument checks shared by the signal cores (one rule, one message each)."""

from __future__ import annotations

import math
from typing import Any

from labkit.errors import SignalError

__all__ = ["check_fs"]


def check_fs(fs_hz: Any) -> float:
    """``fs_hz`` as a positive finite float, or a :class:`SignalError` naming the value."""
    try:
        fs = float(fs_hz)
    except (TypeError, ValueError):
        raise SignalError(f"fs_hz={fs_hz!r} is not a number; pass the sample rate in Hz") from None
    if not (math.isfinite(fs) and fs > 0):
        raise SignalError(f"fs_hz={fs_hz!r} must be a positive finite rate in Hz")
    return fs
