"""Trial analysis: the test catalogue, one trial's analysis, and the replay of a session's trials.

This package sits below both the live protocol runner (:mod:`labkit.protocol`) and the
offline analysis (:mod:`labkit.analysis`); both call it, so a trial is analysed by the same
code live and from the file. ``docs/architecture.md`` shows where it sits.

- :mod:`labkit.trials.catalogue`: one entry per test (signal, analysis, headline metric, ...)
- :mod:`labkit.trials.protocols`: load a protocol and check its trials against the catalogue
- :mod:`labkit.trials.analyse`: analyse one trial, or every trial of a session
- :mod:`labkit.trials.replay`: rebuild a stored session's trials from its events
- :mod:`labkit.trials.isometric`, :mod:`~labkit.trials.jumps`, :mod:`~labkit.trials.mvc`:
  the analysis functions the catalogue names
- :mod:`labkit.trials.formats`: metric units and readable values for screens and reports
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from labkit.trials.analyse import aggregate_metric, analyse_session_trials, analyse_trial, trial_label
    from labkit.trials.catalogue import CATALOGUE, TESTS, TestEntry, entry
    from labkit.trials.outcome import TrialOutcome, TrialRecord
    from labkit.trials.protocols import check_protocol, load_protocol
    from labkit.trials.replay import apply_overrides, session_trials, step_at

__all__ = ["CATALOGUE", "TESTS", "TestEntry", "TrialOutcome", "TrialRecord", "aggregate_metric",
           "analyse_session_trials", "analyse_trial", "apply_overrides", "check_protocol", "entry",
           "load_protocol", "session_trials", "step_at", "trial_label"]

_LAZY = {
    "CATALOGUE": "catalogue", "TESTS": "catalogue", "TestEntry": "catalogue", "entry": "catalogue",
    "TrialOutcome": "outcome", "TrialRecord": "outcome",
    "aggregate_metric": "analyse", "analyse_session_trials": "analyse", "analyse_trial": "analyse",
    "trial_label": "analyse",
    "check_protocol": "protocols", "load_protocol": "protocols",
    "apply_overrides": "replay", "session_trials": "replay", "step_at": "replay",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit.trials' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"labkit.trials.{module}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
