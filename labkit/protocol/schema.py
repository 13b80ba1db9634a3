"""Protocol files (the models live in :mod:`labkit.config.protocol`; the loader, which also
checks every trial against the test catalogue, in :mod:`labkit.trials.protocols`).

Kept as the entry point protocol code and scripts import from.
"""

from __future__ import annotations

from labkit.config.protocol import (
    REPO_PROTOCOLS,
    CountdownStep,
    InstructionStep,
    PerSideStep,
    Protocol,
    RepeatStep,
    Requires,
    RestStep,
    Step,
    SubjectField,
    TareStep,
    TrialStep,
    Validation,
    WeighStep,
    shipped_protocols,
)
from labkit.trials.catalogue import TESTS
from labkit.trials.protocols import load_protocol

__all__ = ["REPO_PROTOCOLS", "TESTS", "CountdownStep", "InstructionStep", "PerSideStep", "Protocol",
           "RepeatStep", "Requires", "RestStep", "Step", "SubjectField", "TareStep", "TrialStep",
           "Validation", "WeighStep", "load_protocol", "shipped_protocols"]
