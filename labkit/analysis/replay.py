"""Moved to :mod:`labkit.trials.replay`; this module keeps the old import path."""

from __future__ import annotations

from labkit.trials.replay import SessionTrials, apply_overrides, session_trials, step_at

__all__ = ["SessionTrials", "apply_overrides", "session_trials", "step_at"]
