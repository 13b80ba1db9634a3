"""What one trial gave (metrics, verdict, provenance) and the record of a run's trial."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkit.config.protocol import TrialStep

__all__ = ["TrialOutcome", "TrialRecord", "flag_text"]


@dataclass(frozen=True)
class TrialOutcome:
    """What one trial gave: metrics, validity with reasons, and the provenance.

    ``config_error`` is True when the analysis could not run because of the protocol's or
    the caller's options (a misspelt or out-of-range parameter): that is the lab's
    mistake, not an invalid attempt of the athlete.
    """

    test: str
    valid: bool
    reasons: tuple[str, ...]
    metrics: dict[str, Any]
    method: str
    params: dict[str, Any]
    inputs: dict[str, Any]
    onset_time_s: float = float("nan")
    result: Any = field(default=None, repr=False, compare=False)
    config_error: bool = False

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class TrialRecord:
    """One trial of a run: where it is in the protocol, its window and its verdict."""

    trial_id: int
    path: str
    step: TrialStep
    side: str | None
    attempt: int
    start_s: float
    end_s: float
    valid: bool
    reason: str
    outcome: TrialOutcome | None = None


def _contact_s(result: Any) -> float:
    """A drop jump's contact time, or the mean contact of a rebound test's best hops."""
    for name in ("contact_time_s", "contact_time_best_mean_s"):
        if hasattr(result, name):
            return float(getattr(result, name))
    return float("nan")


def flag_text(flag: str, result: Any, params: dict[str, Any]) -> str:
    """A technician's sentence for a signal-core quality flag."""
    texts = {
        "no_onset": "no pull detected",
        "unstable_weighing": (f"not still before the effort (force moved by "
                              f"{getattr(result, 'weighing_range_n', float('nan')):.0f} N, max "
                              f"{params.get('max_weighing_range_n', 50):.0f} N)"),
        "pretension": (f"pretension: {getattr(result, 'pretension_n', float('nan')):.0f} N above "
                       f"body weight before the pull (max {params.get('max_pretension_n', 100):.0f} N)"),
        "countermovement": "countermovement: force dipped below body weight before the pull",
        "plateau_not_reached": "effort too short to reach a plateau",
        "clipped": "signal clipped (amplifier range)",
        "onset_too_late": "pull started too late in the trial window",
        "no_takeoff": "no take-off found",
        "no_landing": "no landing found",
        "flight_time_out_of_range": "flight time out of range",
        "nonpositive_takeoff_velocity": "no upward take-off velocity",
        "wrong_jump_type": "wrong jump type (countermovement in a squat jump, or none in a CMJ)",
        "no_touchdown": "no touchdown found (the plate was never loaded after the box)",
        "double_contact": "double contact: the feet left the plate between touchdown and take-off",
        "contact_too_long": (f"contact too long for a reactive test ({_contact_s(result):.3f} s, "
                             f"max {params.get('max_contact_s', 0.25):.2f} s)"),
        "too_few_hops": f"too few rebounds (fewer than {params.get('n_best', 5)} hops)",
        "no_final_landing": "the record ends in the air after the last rebound",
    }
    return texts.get(flag, flag.replace("_", " "))
