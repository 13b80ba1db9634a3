"""Trial analysis moved to :mod:`labkit.trials`; this module keeps the old import path."""

from __future__ import annotations

from labkit.signal.window import Window as StreamWindow
from labkit.trials.analyse import analyse_trial
from labkit.trials.emg_onsets import TRUNK_MUSCLES
from labkit.trials.isometric import SIDE_PLATE
from labkit.trials.outcome import TrialOutcome

__all__ = ["SIDE_PLATE", "TRUNK_MUSCLES", "StreamWindow", "TrialOutcome", "analyse_trial"]
