"""The posterior refiner's prior over rise shapes (``shape_weights``): gradual (quadratic)
rises with a known first sample of activity are read less late, and a bad prior is one
clear line."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import SignalError
from labkit.signal import emg
from labkit.signal.emg_synth import score_onsets, synth_emg

WEIGHTED = {"shape_powers": (2.0, 4.0), "shape_weights": (0.9, 0.1)}


def _signed_ms(sim, **kw) -> float:
    b = emg.detect_onsets(sim.x, sim.fs_hz, **kw)
    s = score_onsets(sim.onset_s, b.onset_s)
    assert s.n_matched == s.n_true and s.n_false == 0
    return 1000 * float(np.median(s.errors_s))


@pytest.mark.parametrize("shape", ["gradual", "sigmoid"])
def test_a_prior_on_the_quadratic_start_reads_slow_rises_less_late(shape):
    """5-200 ms rises at 30 dB, truth = first sample of activity (measured: gradual 23.6 ->
    14.4 ms, sigmoid 20.6 -> 9.8 ms signed median)."""
    sim = synth_emg(1000.0, 60.0, snr_db=30.0, shape=shape, rise_s=(0.005, 0.2), seed=0)
    flat = _signed_ms(sim)
    weighted = _signed_ms(sim, refine_options=WEIGHTED)
    print(f"{shape} rises at 30 dB: signed median {flat:.1f} ms flat, {weighted:.1f} ms weighted")
    assert flat > 15.0  # the linear model alone is late on these starts
    assert 0.0 < weighted < flat - 7.0


def test_shape_weights_need_one_positive_weight_per_power():
    sim = synth_emg(1000.0, 8.0, snr_db=30.0, seed=1)
    with pytest.raises(SignalError, match=r"shape_weights=\(1.0,\) needs one weight per shape power"):
        emg.detect_onsets(sim.x, sim.fs_hz,
                          refine_options={"shape_powers": (2.0, 4.0), "shape_weights": (1.0,)})
    with pytest.raises(SignalError, match="shape_weights"):
        emg.detect_onsets(sim.x, sim.fs_hz, refine_options={"shape_powers": (2.0, 4.0),
                                                             "shape_weights": (1.0, -1.0)})
