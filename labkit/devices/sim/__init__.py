"""The simulated lab: a simulated athlete and simulated force plates, EMG and motion capture
published as real LSL streams (see ``docs/devices.md``).

``athlete`` (with its models ``athlete_force``, ``athlete_emg``, ``athlete_motion``,
``athlete_noise`` and ``athlete_truth``) and ``producers`` are pure numpy; ``sources`` and
``lab`` use pylsl and are imported lazily, so ``from labkit.devices.sim import Athlete``
does not load liblsl.
"""

from __future__ import annotations

import importlib

__all__ = ["Athlete", "AthleteParams", "Effort", "SimulatedLab", "SimulatedSource", "TruthSource",
           "parse_cue", "run_simulated_lab"]

_WHERE = {"Athlete": "athlete", "AthleteParams": "athlete", "Effort": "athlete",
          "SimulatedLab": "lab", "parse_cue": "lab", "run_simulated_lab": "lab",
          "SimulatedSource": "sources", "TruthSource": "sources"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"labkit.devices.sim.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'labkit.devices.sim' has no attribute {name!r}")
