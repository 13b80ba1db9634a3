"""Force-plate analysis: isometric tests, jumps, trial validity and plate maths.

numpy arrays and a sample rate in, small frozen result objects out. Definitions,
defaults and sources are in ``docs/metrics.md`` (from ``../shared/science.md``). Every
default is a keyword parameter and every result records all parameters used in
``.params`` (with the method name and the labkit version) for provenance.

Input with NaN or inf samples (dropped samples) is rejected with a
:class:`~labkit.errors.SignalError`: fill or cut the gap first; nothing is guessed.

>>> import numpy as np
>>> from labkit.signal import force
>>> fs = 1000.0
>>> t = np.arange(3000) / fs
>>> f = np.where(t < 1.5, 700.0, 700.0 + 4000.0 * (t - 1.5)).clip(max=2500.0)
>>> r = force.isometric(f, fs)
>>> round(r.onset_s, 3), r.force_at_n[100], round(r.peak_force_n, 1)
(1.501, 1104.0, 2500.0)
"""

from __future__ import annotations

# The analyses live in one module per stage (force_isometric, force_jump,
# force_aggregate, force_plates); this module is the public entry point and re-exports
# them, so ``force.isometric(...)`` and the provenance method names
# (``labkit.signal.force.isometric``) stay as they are. The ``X as X`` names are not in
# __all__ but are used by name elsewhere: the registries and constants (docs/metrics.md
# refers to force.ONSET_METHODS) and the setup helpers benchmarks/bench_force.py calls.
from labkit.signal._force_common import G_STANDARD as G_STANDARD
from labkit.signal.force_aggregate import AGGREGATES as AGGREGATES
from labkit.signal.force_aggregate import TrialAggregate, aggregate_trials, repeat_needed
from labkit.signal.force_isometric import ONSET_METHODS as ONSET_METHODS
from labkit.signal.force_isometric import IsometricResult, isometric, isometric_batch
from labkit.signal.force_isometric import _iso_defaults as _iso_defaults
from labkit.signal.force_isometric import _isometric_setup as _isometric_setup
from labkit.signal.force_jump import PHASES as PHASES
from labkit.signal.force_jump import JumpResult, cmj, cmj_batch, squat_jump
from labkit.signal.force_jump import _jump_defaults as _jump_defaults
from labkit.signal.force_plates import (
    centre_of_pressure,
    combine_plates,
    free_moment,
    kistler_8ch,
    plate_6ch,
    tare,
)

__all__ = [
    "IsometricResult",
    "JumpResult",
    "TrialAggregate",
    "aggregate_trials",
    "centre_of_pressure",
    "cmj",
    "cmj_batch",
    "combine_plates",
    "free_moment",
    "isometric",
    "isometric_batch",
    "kistler_8ch",
    "plate_6ch",
    "repeat_needed",
    "squat_jump",
    "tare",
]

# --------------------------------------------------------------------------------------
# Show every keyword default in the public signatures (help(), IDEs, inspect): the
# defaults live once, in _iso_defaults and _jump_defaults.


def _with_keywords(fn, defaults_fn, extra=()):
    import inspect

    sig = inspect.signature(fn)
    positional = [p for p in sig.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    keywords = list(extra) + list(inspect.signature(defaults_fn).parameters.values())
    fn.__signature__ = sig.replace(parameters=positional + keywords)


def _install_signatures() -> None:
    import inspect

    squat = inspect.Parameter("squat", inspect.Parameter.KEYWORD_ONLY, default=False,
                              annotation=bool)  # fmt: skip
    _with_keywords(isometric, _iso_defaults)
    _with_keywords(isometric_batch, _iso_defaults)
    _with_keywords(cmj, _jump_defaults)
    _with_keywords(squat_jump, _jump_defaults)
    _with_keywords(cmj_batch, _jump_defaults, extra=(squat,))


_install_signatures()

