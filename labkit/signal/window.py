"""The one samples-plus-times type: a stream's samples over a window of session time.

A :class:`Window` is what trial analysis reads (from the live buffer during a run, from
the session file afterwards) and what the kinematics/timing functions accept wherever
they want a stream: channel labels, a ``(n_samples, n_channels)`` array, the samples'
times on the session clock and the nominal rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from labkit.errors import SignalError

__all__ = ["Window"]


@dataclass(frozen=True)
class Window:
    """A stream's samples over a time window, on the session clock.

    Attributes
    ----------
    labels : sequence of str
        Channel labels, one per column of ``data``.
    data : numpy.ndarray
        Samples, shape ``(n_samples, n_channels)``.
    times : numpy.ndarray
        Sample times in seconds on the session clock, shape ``(n_samples,)``.
    rate_hz : float
        Nominal sample rate (0 for irregular streams).
    name : str
        The stream's name in the session (``force``, ``emg``, ...).
    """

    labels: Sequence[str]
    data: np.ndarray
    times: np.ndarray
    rate_hz: float
    name: str = ""

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    def column(self, label: str) -> np.ndarray:
        """One channel as float64 (a :class:`SignalError` names the missing label)."""
        try:
            return self.data[:, list(self.labels).index(label)].astype(np.float64)
        except ValueError:
            raise SignalError(f"stream {self.name!r} has no channel {label!r}; it has "
                              f"{list(self.labels)[:8]}...") from None

    def sum_of(self, suffix: str) -> tuple[np.ndarray, list[str]]:
        """Sum of the channels whose label ends in ``suffix`` (e.g. ``.Fz``), and their labels."""
        labels = [lab for lab in self.labels if lab.endswith(suffix)]
        if not labels:
            raise SignalError(f"stream {self.name!r} has no channel ending in {suffix!r}")
        return sum(self.column(lab) for lab in labels), labels

    def between(self, start_s: float, end_s: float) -> Window | None:
        """The samples with ``start_s <= t <= end_s`` as a new window (None if there are none)."""
        keep = (self.times >= start_s) & (self.times <= end_s)
        if not keep.any():
            return None
        return Window(self.labels, self.data[keep], self.times[keep], self.rate_hz, self.name)

    def minus(self, offsets: Mapping[str, float]) -> Window:
        """A float64 copy with ``offsets[label]`` subtracted from each channel (e.g. a tare)."""
        if not offsets:
            return self
        shift = np.array([float(offsets.get(lab, 0.0)) for lab in self.labels])
        return Window(self.labels, self.data.astype(np.float64) - shift, self.times, self.rate_hz,
                      self.name)
