"""Between-trial summaries of force results: best of n, mean of the best two or three,
and the repeat rule for peak forces.

The public names are re-exported by :mod:`labkit.signal.force`; import them from there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.errors import SignalError

__all__ = ["AGGREGATES", "TrialAggregate", "aggregate_trials", "repeat_needed"]


@dataclass(frozen=True, slots=True)
class TrialAggregate:
    """A between-trial summary: the value, how it was formed and from how many trials."""

    value: float
    method: str
    n_trials: int
    n_used: int
    used: tuple[int, ...]
    repeat_needed: bool
    best_two_diff: float
    params: Mapping[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "method": self.method,
            "n_trials": self.n_trials,
            "n_used": self.n_used,
            "repeat_needed": self.repeat_needed,
            "best_two_diff": self.best_two_diff,
        }


def _values(trials, metric: str, valid_only: bool) -> tuple[np.ndarray, np.ndarray]:
    vals, keep = [], []
    for i, t in enumerate(trials):
        if isinstance(t, int | float | np.floating | np.integer):
            vals.append(float(t))
            keep.append(True)
        else:
            try:
                v = getattr(t, metric)
            except AttributeError:
                raise SignalError(f"trials[{i}] has no attribute {metric!r}; pass metric=") from None
            vals.append(float(v))
            keep.append(bool(t.valid) or not valid_only)
    a = np.asarray(vals, dtype=np.float64)
    return a, np.asarray(keep, dtype=bool) & np.isfinite(a)


# name -> (number of best trials averaged, minimum number of trials required)
AGGREGATES: dict[str, tuple[int, int]] = {
    "best": (1, 1),
    "mean_best_2": (2, 2),
    "mean_best_3_of_5": (3, 5),
}


def repeat_needed(peaks_n, *, max_diff_n: float = 250.0) -> bool:
    """True when the best two peak forces differ by more than ``max_diff_n`` (N).

    >>> repeat_needed([3100.0, 2800.0, 2900.0])
    False
    >>> repeat_needed([3300.0, 2900.0])
    True
    """
    a = np.sort(np.asarray(peaks_n, dtype=np.float64)[np.isfinite(peaks_n)])[::-1]
    return bool(a.size >= 2 and a[0] - a[1] > max_diff_n)


def aggregate_trials(
    trials,
    *,
    method: str = "mean_best_2",
    metric: str = "peak_force_n",
    valid_only: bool = True,
    higher_is_better: bool = True,
    max_diff_n: float = 250.0,
) -> TrialAggregate:
    """Combine repeated trials: best of n, mean of the best 2, or mean of best 3 of >= 5.

    Parameters
    ----------
    trials : sequence of results (IsometricResult, JumpResult) or of numbers
    method : {"best", "mean_best_2", "mean_best_3_of_5"}, default "mean_best_2"
    metric : str, default "peak_force_n"
        Attribute read from each result (ignored for plain numbers).
    valid_only : bool, default True
        Skip results whose ``valid`` is False.
    higher_is_better : bool, default True
    max_diff_n : float, default 250.0
        ``repeat_needed`` when the best two differ by more than this.

    Returns
    -------
    TrialAggregate
        ``value`` is NaN when fewer usable trials than the method needs.

    Examples
    --------
    >>> aggregate_trials([3000.0, 3100.0, 2900.0]).value
    3050.0
    """
    if method not in AGGREGATES:
        raise SignalError(f"method={method!r} is unknown; use one of {sorted(AGGREGATES)}")
    k, need = AGGREGATES[method]
    vals, keep = _values(list(trials), metric, valid_only)
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(-vals[idx] if higher_is_better else vals[idx], kind="stable")]
    used = tuple(int(i) for i in order[:k])
    value = float(np.mean(vals[list(used)])) if order.size >= need else math.nan
    diff = float(abs(vals[order[0]] - vals[order[1]])) if order.size >= 2 else math.nan
    return TrialAggregate(
        value=value,
        method=method,
        n_trials=len(vals),
        n_used=len(used) if order.size >= need else 0,
        used=used if order.size >= need else (),
        repeat_needed=bool(diff > max_diff_n),
        best_two_diff=diff,
        params=MappingProxyType(
            {"method": method, "metric": metric, "valid_only": valid_only,
             "higher_is_better": higher_is_better, "max_diff_n": max_diff_n,
             "labkit_version": __version__}
        ),
    )
