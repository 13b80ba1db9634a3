"""Noise and sample grids of the simulated lab, addressed by sample index.

Every stochastic part of a simulated signal is drawn by sample index, never from a
running generator, so that any window ``[t0, t1)`` comes out the same whatever the
chunking and order in which devices ask for it. Pure numpy.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["IndexedNoise", "sample_grid"]


def sample_grid(t0_s: float, t1_s: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices ``k`` and times ``k / fs_hz`` of a regular grid within ``[t0_s, t1_s)``."""
    k0 = math.ceil(t0_s * fs_hz - 1e-9)
    k1 = math.ceil(t1_s * fs_hz - 1e-9)
    k = np.arange(k0, max(k0, k1), dtype=np.int64)
    return k, k / fs_hz


class IndexedNoise:
    """Standard normal noise addressed by sample index: the same index, the same value.

    Values come in blocks of ``block`` samples from ``default_rng([seed, key, block])``,
    so any window can be produced in any order and chunking.
    """

    def __init__(self, seed: int, key: int, width: int, block: int = 4096):
        self.seed, self.key, self.width, self.block = int(seed), int(key), int(width), int(block)
        self._cache: dict[int, np.ndarray] = {}

    def _block(self, b: int) -> np.ndarray:
        out = self._cache.get(b)
        if out is None:
            rng = np.random.default_rng([self.seed & 0xFFFFFFFF, self.key, b + (1 << 40)])
            out = rng.standard_normal((self.block, self.width))
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))
            self._cache[b] = out
        return out

    def take(self, i0: int, i1: int) -> np.ndarray:
        """Noise for sample indices ``i0 <= i < i1`` as ``(i1 - i0, width)``."""
        n = max(0, i1 - i0)
        out = np.empty((n, self.width))
        pos = 0
        i = i0
        while pos < n:
            b, off = divmod(i, self.block)
            m = min(self.block - off, n - pos)
            out[pos:pos + m] = self._block(b)[off:off + m]
            pos += m
            i += m
        return out
