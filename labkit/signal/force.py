"""Force-plate analysis: isometric tests, jumps, trial validity and plate maths.

numpy arrays and a sample rate in, small frozen result objects out. Definitions,
defaults and sources are in ``docs/metrics.md`` and ``docs/science.md``. Every
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

# The analyses live in one module per stage (force_isometric, force_jump, force_limbs,
# force_aggregate, force_plates); this module is the public entry point and re-exports
# them, so ``force.isometric(...)`` and the provenance method names
# (``labkit.signal.force.isometric``) stay as they are. The ``X as X`` names are not in
# __all__ but are used by name elsewhere: the registries and constants (docs/metrics.md
# refers to force.ONSET_METHODS) and the setup helpers benchmarks/bench_force.py calls.
from labkit.signal._force_common import G_STANDARD as G_STANDARD
from labkit.signal.force_aggregate import AGGREGATES as AGGREGATES
from labkit.signal.force_aggregate import TrialAggregate, aggregate_trials, repeat_needed
from labkit.signal.force_drop_jump import DropJumpResult, drop_jump
from labkit.signal.force_isometric import ONSET_METHODS as ONSET_METHODS
from labkit.signal.force_isometric import IsometricResult, isometric, isometric_batch
from labkit.signal.force_isometric import _iso_defaults as _iso_defaults
from labkit.signal.force_isometric import _isometric_setup as _isometric_setup
from labkit.signal.force_jump import PHASES as PHASES
from labkit.signal.force_jump import JumpResult, cmj, cmj_batch, squat_jump
from labkit.signal.force_jump import _jump_defaults as _jump_defaults
from labkit.signal.force_limbs import ASYMMETRY_FORMULAS as ASYMMETRY_FORMULAS
from labkit.signal.force_limbs import LimbResult, asymmetry, limbs, limbs_batch, limbs_of
from labkit.signal.force_plates import (
    centre_of_pressure,
    combine_plates,
    free_moment,
    kistler_8ch,
    plate_6ch,
    tare,
)
from labkit.signal.force_rebound import ReboundResult, rebound_jumps

__all__ = [
    "DropJumpResult",
    "IsometricResult",
    "JumpResult",
    "LimbResult",
    "ReboundResult",
    "TrialAggregate",
    "aggregate_trials",
    "asymmetry",
    "centre_of_pressure",
    "cmj",
    "cmj_batch",
    "combine_plates",
    "drop_jump",
    "free_moment",
    "isometric",
    "isometric_batch",
    "kistler_8ch",
    "limbs",
    "limbs_batch",
    "limbs_of",
    "plate_6ch",
    "rebound_jumps",
    "repeat_needed",
    "squat_jump",
    "tare",
]
