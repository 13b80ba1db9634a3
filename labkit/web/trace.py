"""Live trace frames for the screens: what is new in a stream's live buffer, thinned to a
display rate, as plain lists (one frame serves every client)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["TraceReader", "emg_levels"]


class TraceReader:
    """Reads what is new in a force :class:`~labkit.protocol.live.LiveBuffer` since the last
    call, keeps every ``rate / display_rate_hz``-th sample (the phase carries over chunk
    boundaries) of each plate's vertical force and their sum.

    Parameters
    ----------
    display_rate_hz : float
        Samples per second sent to the screens (a 2000 Hz plate drawn at 250 Hz).
    """

    def __init__(self, display_rate_hz: float = 250.0) -> None:
        self.display_rate_hz = float(display_rate_hz)
        self._buffer: Any = None
        self._cursor = 0
        self._seen = 0  # samples read so far: the decimation phase

    def frame(self, buffer: Any) -> dict[str, Any] | None:
        """The new samples of ``buffer`` as a frame, or None when nothing is new.

        Returns
        -------
        dict or None
            ``{"type": "trace", "t": [...], "plates": {label: [...]}, "sum": [...],
            "t_last": float}``; times on the session clock (seconds).
        """
        if buffer is None:
            return None
        if buffer is not self._buffer:  # a new run: start at its newest chunk
            self._buffer, self._cursor, self._seen = buffer, max(0, buffer.n_chunks - 1), 0
        chunks, self._cursor = buffer.chunks_after(self._cursor)
        if not chunks:
            return None
        data = np.concatenate([d for d, _ in chunks])
        times = np.concatenate([t for _, t in chunks])
        step = max(1, round(buffer.rate_hz / self.display_rate_hz)) if buffer.rate_hz > 0 else 1
        first = (-self._seen) % step
        self._seen += len(times)
        keep = np.arange(first, len(times), step)
        fz = [i for i, lab in enumerate(buffer.labels) if lab.endswith(".Fz")]
        if not len(keep) or not fz:
            return None
        cols = np.asarray(data[keep][:, fz], dtype=float)
        return {"type": "trace", "t": np.round(times[keep], 4).tolist(),
                "plates": {buffer.labels[i]: np.round(cols[:, j], 1).tolist() for j, i in enumerate(fz)},
                "sum": np.round(cols.sum(axis=1), 1).tolist(), "t_last": float(times[-1])}


def emg_levels(buffer: Any, seconds: float = 0.25) -> dict[str, float]:
    """RMS of each EMG channel over the last ``seconds`` (volts), for the console's bars."""
    if buffer is None:
        return {}
    w = buffer.last(seconds)
    if w is None or len(w.times) < 2:
        return {}
    out = {}
    for j, label in enumerate(w.labels):
        if label == "counter":
            continue
        col = np.asarray(w.data[:, j], dtype=float)
        rms = float(np.sqrt(np.mean((col - col.mean()) ** 2)))
        if math.isfinite(rms):
            out[label] = rms
    return out
