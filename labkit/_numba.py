"""One place for numba defaults.

Kernel modules (``labkit/signal/_*_kernels.py``) import ``jit`` from here; nothing else
in labkit imports numba, so ``import labkit`` stays light.

* ``cache=True`` so a second process does not recompile (parallel kernels included).
* fastmath without the no-NaN/no-inf assumptions: dropped samples are NaN and must
  propagate (design principle 5).
* ``NUMBA_DISABLE_JIT=1`` (numba's own switch) runs every kernel as plain Python, for
  coverage and debugging; the suite must pass that way too.
"""

from __future__ import annotations

import numba

#: Fast-math flags that keep NaN and inf semantics intact.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})


def jit(*args, parallel: bool = False, **kwargs):
    """``numba.njit`` with labkit's defaults.

    Parallel kernels are cached too: caching together with ``parallel=True`` has crashed
    in other projects (pynndescent issues), so it was measured here with numba 0.68: the
    second process hits the cache (a prange kernel's first call fell from 1.47 s to 0.5 s)
    and the suite, run with two workers sharing the cache, passes.
    """
    options = {"cache": True, "nogil": True, "fastmath": set(FASTMATH), "parallel": parallel}
    options.update(kwargs)
    return numba.njit(*args, **options)


prange = numba.prange
