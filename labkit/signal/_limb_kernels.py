"""Numba kernel of the per-limb metrics over many trials (labkit.signal.force.limbs_batch).

The same metrics as :func:`labkit.signal.force.limbs`, one trial per row, parallel over
trials; windows arrive as fractional sample positions (NaN: no such window), already
rounded or clipped by the wrapper exactly as :func:`~labkit.signal.force.limbs` does.
Slow twin: ``limb_trial`` in ``tests/reference/force_reference.py``.
"""

from __future__ import annotations

import math

import numpy as np

from labkit._numba import jit, prange
from labkit.signal._force_kernels import net_impulse

__all__ = ["LIMB_NET_PEAK", "LIMB_PEAK", "LIMB_WEIGHT", "limb_batch", "limb_trial"]

# ---- output layout: out[..., c]; the window metrics follow from column 3 on -----------
LIMB_WEIGHT = 0  # mean over the weighing window (N)
LIMB_PEAK = 1  # max over the peak window (N)
LIMB_NET_PEAK = 2  # peak - weight (N)


@jit
def limb_trial(f, n, fs, w0, w1, pk0, pk1, spans, kinds, out):
    """Weight (mean of f[w0:w1]), peak (max of f[pk0:pk1 + 1], NaN when pk0 < 0) and, for
    window k of ``spans`` (positions p0, p1), out[3 + k] = net impulse of (f - weight) in
    N*s (kinds[k] == 0) or the mean force (kinds[k] == 1, needs p1 > p0); NaN edges give NaN."""
    s = 0.0
    for i in range(w0, w1):
        s += f[i]
    weight = s / (w1 - w0)
    out[LIMB_WEIGHT] = weight
    if pk0 < 0 or pk1 < pk0:
        out[LIMB_PEAK] = np.nan
        out[LIMB_NET_PEAK] = np.nan
    else:
        pk = f[pk0]
        for i in range(pk0 + 1, pk1 + 1):
            if f[i] > pk:
                pk = f[i]
        out[LIMB_PEAK] = pk
        out[LIMB_NET_PEAK] = pk - weight
    for k in range(spans.shape[0]):
        p0 = spans[k, 0]
        p1 = spans[k, 1]
        c = 3 + k
        if math.isnan(p0) or math.isnan(p1):
            out[c] = np.nan
        elif kinds[k] == 0:
            out[c] = net_impulse(f, n, p0, p1, weight) / fs
        elif p1 > p0:
            out[c] = weight + net_impulse(f, n, p0, p1, weight) / (p1 - p0)
        else:
            out[c] = np.nan


@jit(parallel=True)
def limb_batch(FL, FR, lengths, fs, w0, w1, pk0, pk1, spans, kinds, out):
    """limb_trial over the rows of FL and FR (out[t, 0], out[t, 1]), parallel over trials;
    w0, w1, pk0, pk1 (int) and spans (n_trials, K, 2) per trial."""
    for t in prange(FL.shape[0]):
        n = lengths[t]
        limb_trial(FL[t], n, fs, w0[t], w1[t], pk0[t], pk1[t], spans[t], kinds, out[t, 0])
        limb_trial(FR[t], n, fs, w0[t], w1[t], pk0[t], pk1[t], spans[t], kinds, out[t, 1])
