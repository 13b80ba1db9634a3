"""A small synthetic trial of any catalogue test, for trying a protocol's options at load.

Not a model of an athlete (that is :mod:`labkit.devices.sim`): just a clean, noisy effort
with the step's own timing, so that an analysis that rejects its options does so here.
"""

from __future__ import annotations

import numpy as np

from labkit.config.protocol import TrialStep
from labkit.signal.window import Window
from labkit.trials.catalogue import TestEntry

__all__ = ["synthetic_windows"]

_FORCE_HZ = 2000.0
_EMG_HZ = 2148.148148148148
_BODY_WEIGHT_N = 784.0


def _effort(t: np.ndarray, start_s: float, rise_s: float = 0.15) -> np.ndarray:
    return np.where(t < start_s, 0.0, 1.0 - np.exp(-np.clip(t - start_s, 0, None) / rise_s))


def _jump_fz(t: np.ndarray, start_s: float) -> np.ndarray:
    """Body weight, an unweighting dip, a push, 0.45 s of flight, a landing, standing."""
    fz = np.full(t.size, _BODY_WEIGHT_N)
    phase = t - start_s
    dip = (phase >= 0) & (phase < 0.3)
    fz[dip] -= 350.0 * np.sin(np.pi * phase[dip] / 0.3)
    push = (phase >= 0.3) & (phase < 0.6)
    fz[push] += 1100.0 * np.sin(np.pi * (phase[push] - 0.3) / 0.3)
    fz[(phase >= 0.6) & (phase < 1.05)] = 0.0
    land = (phase >= 1.05) & (phase < 1.25)
    fz[land] += 1500.0 * np.sin(np.pi * (phase[land] - 1.05) / 0.2)
    return fz


def synthetic_windows(step: TrialStep, test: TestEntry) -> tuple[Window | None, Window | None]:
    """Force and EMG windows of one synthetic trial of ``step`` (seeded: the same every time)."""
    rng = np.random.default_rng(20261203)
    duration = step.quiet_s + max(step.effort_s, test.min_window_s) + 0.8
    go = step.quiet_s
    t = np.arange(int(duration * _FORCE_HZ)) / _FORCE_HZ
    rise = _effort(t, go + 0.2)
    total = _jump_fz(t, go + 0.2) if test.kind == "jump" else _BODY_WEIGHT_N + 1200.0 * rise
    plate = step.analysis.get("plate", "fp1")
    hip = test.sign * 300.0 * rise if test.signal == "plate_fz" else 0.0
    fp1 = total / 2 + (hip if plate == "fp1" else 0.0)
    fp2 = total / 2 + (hip if plate == "fp2" else 0.0)
    mz = 60.0 * rise * (1.0 if step.direction != "right" else -1.0)
    data = np.column_stack([fp1, fp2, mz / 2, mz / 2]) + rng.normal(0, 1.0, (t.size, 4))
    force = Window(["fp1.Fz", "fp2.Fz", "fp1.Mz", "fp2.Mz"], data, t, _FORCE_HZ, "force")
    labels = [step.muscle] if step.muscle else ["gluteus_maximus_r", "multifidus_r"]
    te = np.arange(int(duration * _EMG_HZ)) / _EMG_HZ
    active = (te > go + 0.15) & (te < go + 0.15 + min(step.effort_s, 3.0))
    emg = rng.normal(0, 5e-6, (te.size, len(labels))) * np.where(active, 40.0, 1.0)[:, None]
    return force, Window(labels, emg, te, _EMG_HZ, "emg")
