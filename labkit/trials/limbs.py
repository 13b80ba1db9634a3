"""Per-limb metrics and asymmetry of a dual-plate trial (one foot on each plate).

The trial analyses of tests whose signal is the summed vertical force (``sum_fz`` in the
catalogue) call :func:`limb_metrics` after analysing the sum: with exactly the left and
right plates of :data:`~labkit.trials.isometric.SIDE_PLATE` in the stream, each plate's
share of the landmarks' windows becomes ``left_*``, ``right_*`` and ``asym_*_pct``
metrics, by the formula the step's ``analysis.asymmetry`` names (default
``percent_max``; ``docs/metrics.md`` says why).
"""

from __future__ import annotations

from typing import Any

from labkit.config.protocol import TrialStep
from labkit.signal.window import Window

__all__ = ["ASYMMETRY_OPTION", "DEFAULT_FORMULA", "limb_metrics"]

#: the ``analysis:`` key naming the asymmetry formula (not a core-function parameter)
ASYMMETRY_OPTION = "asymmetry"
DEFAULT_FORMULA = "percent_max"
_PLATES = ("fp1", "fp2")  # left, right (isometric.SIDE_PLATE)


def limb_metrics(step: TrialStep, force: Window, result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``left_*``, ``right_*`` and ``asym_*_pct`` metrics of the trial, and their params.

    Parameters
    ----------
    step : TrialStep
        Its ``analysis.asymmetry`` names the formula.
    force : Window
        The force stream over the trial (tared).
    result : JumpResult or IsometricResult
        The analysis of the summed vertical force.

    Returns
    -------
    metrics, params : dict
        Empty when the stream does not hold exactly the two plates ``fp1`` (left) and
        ``fp2`` (right).
    """
    from labkit.signal import force as force_core

    fz = sorted(lab for lab in force.labels if lab.endswith(".Fz"))
    if fz != [f"{p}.Fz" for p in _PLATES]:
        return {}, {}
    formula = step.analysis.get(ASYMMETRY_OPTION, DEFAULT_FORMULA)
    r = force_core.limbs_of(result, force.column("fp1.Fz"), force.column("fp2.Fz"), force.rate_hz,
                            formula=formula)
    params = {"method": "labkit.signal.force.limbs_of", "left": "fp1.Fz", "right": "fp2.Fz",
              **{k: v for k, v in r.params.items() if k in ("formula", "formula_expression",
                                                           "formula_source", "labkit_version")}}
    return r.to_dict(), params
