"""A rolling buffer of a recorded stream, fed by the recorder's taps, for live analysis."""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from labkit.signal.window import Window


class LiveBuffer:
    """The last ``keep_s`` seconds of one stream (samples and session-clock times)."""

    def __init__(self, name: str, labels: list[str], rate_hz: float, keep_s: float = 120.0) -> None:
        self.name = name
        self.labels = list(labels)
        self.rate_hz = float(rate_hz)
        self.keep_s = float(keep_s)
        self._chunks: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._lock = threading.Lock()
        self.last_time_s = float("-inf")
        #: chunks received so far (a reader's cursor for :meth:`chunks_after`)
        self.n_chunks = 0

    def __call__(self, data: np.ndarray, times_s: np.ndarray) -> None:
        """Tap callback: keep a copy of the chunk (the recorder reuses nothing it passes)."""
        with self._lock:
            self._chunks.append((data, times_s))
            self.n_chunks += 1
            self.last_time_s = float(times_s[-1])
            while self._chunks and self.last_time_s - float(self._chunks[0][1][-1]) > self.keep_s:
                self._chunks.popleft()

    def window(self, start_s: float, end_s: float) -> Window | None:
        """Samples with ``start_s <= t <= end_s`` (None when there are none)."""
        with self._lock:
            parts = [(d, t) for d, t in self._chunks if t[-1] >= start_s and t[0] <= end_s]
        if not parts:
            return None
        data = np.concatenate([d for d, _ in parts])
        times = np.concatenate([t for _, t in parts])
        keep = (times >= start_s) & (times <= end_s)
        if not keep.any():
            return None
        return Window(self.labels, data[keep], times[keep], self.rate_hz, self.name)

    def chunks_after(self, cursor: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
        """The chunks received after the first ``cursor`` (at most those still kept) and
        the new cursor: a live display's reader takes only what is new, in time O(new).

        Parameters
        ----------
        cursor : int
            :attr:`n_chunks` as returned by the previous call (0 at first).

        Returns
        -------
        list of (samples, times_s), int
        """
        with self._lock:
            new = min(self.n_chunks - cursor, len(self._chunks))
            parts = [self._chunks[-k] for k in range(new, 0, -1)] if new > 0 else []
            return parts, self.n_chunks

    def last(self, seconds: float) -> Window | None:
        return self.window(self.last_time_s - seconds, self.last_time_s)
