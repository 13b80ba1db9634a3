"""Where a regular stream's samples sit on its nominal sample grid.

BDF files and BIDS physio tables have no time stamps: sample ``k`` is at ``k / rate``
after the first. The synchronised times say where each stored sample belongs; samples the
device dropped (a gap the counter or the stamps show) leave empty places that the writers
fill (``n/a`` in a table, 0 in a BDF file, where an event marks them).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from labkit.errors import LabkitWarning


@dataclass(frozen=True)
class Grid:
    """Sample places of one stream.

    Attributes
    ----------
    index : numpy.ndarray
        Place of each stored sample on the grid (int64, strictly increasing, from 0).
    n_places : int
        Length of the grid (``index[-1] + 1``).
    start_s : float
        Synchronised time of place 0 (the first sample).
    gaps : list of (int, int)
        ``(first missing place, number missing)`` for every run of empty places.
    """

    index: np.ndarray
    n_places: int
    start_s: float
    gaps: list[tuple[int, int]]

    def fill(self, data: np.ndarray, value: float) -> np.ndarray:
        """``data`` (n_samples, n_channels) spread onto the grid, empty places = ``value``."""
        out = np.full((self.n_places, data.shape[1]), value, dtype=np.float64)
        out[self.index] = data
        return out


def sample_grid(times_s: np.ndarray, rate_hz: float, stream: str) -> Grid:
    """The grid of a regular stream from its synchronised ``times_s``.

    Samples whose rounded places are not strictly increasing (a clock that is not regular
    enough to place them) are written one after the other instead, with one warning.
    """
    t = np.asarray(times_s, dtype=np.float64)
    if len(t) == 0:
        return Grid(np.zeros(0, dtype=np.int64), 0, float("nan"), [])
    index = np.rint((t - t[0]) * rate_hz).astype(np.int64)
    if len(index) > 1 and np.any(np.diff(index) < 1):
        warnings.warn(f"stream {stream!r}: its times do not place every sample on the "
                      f"{rate_hz:g} Hz grid; its samples are written one after the other",
                      LabkitWarning, stacklevel=3)
        index = np.arange(len(t), dtype=np.int64)
    steps = np.diff(index)
    at = np.flatnonzero(steps > 1)
    gaps = [(int(index[i] + 1), int(steps[i] - 1)) for i in at]
    return Grid(index, int(index[-1]) + 1, float(t[0]), gaps)
