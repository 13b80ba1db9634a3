"""The shared zero-phase Butterworth helper (labkit.signal.filters)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from labkit.errors import SignalError
from labkit.signal import filters


def _zero_phase_gain(sos, f_hz, fs):
    _, h = sps.sosfreqz(sos, worN=[f_hz], fs=fs)
    return float(np.abs(h[0]) ** 2)  # forward-backward: the single-pass gain squared


@pytest.mark.parametrize("fs", [100.0, 200.0, 1000.0, 2148.148148148148])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("btype", ["lowpass", "highpass"])
def test_zero_phase_response_is_minus_3_db_at_the_cutoff(fs, order, btype):
    f = 0.05 * fs
    sos = filters.butterworth_sos(fs, f, order=order, btype=btype)
    assert _zero_phase_gain(sos, f, fs) == pytest.approx(1 / np.sqrt(2), rel=1e-9)
    # uncorrected: the single pass is -3 dB there, the zero-phase response -6 dB
    raw = filters.butterworth_sos(fs, f, order=order, btype=btype, zero_phase=False)
    assert _zero_phase_gain(raw, f, fs) == pytest.approx(0.5, rel=1e-9)


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_apply_matches_sosfiltfilt_default_padding(order):
    x = np.random.default_rng(order).normal(size=(300, 2))
    sos = filters.butterworth_sos(200.0, 20.0, order=order)
    np.testing.assert_array_equal(filters.zero_phase_filter(sos, x), sps.sosfiltfilt(sos, x, axis=0))


def test_apply_shortens_the_padding_for_short_signals():
    sos = filters.butterworth_sos(200.0, 20.0, order=4)
    x = np.arange(8.0)
    assert filters.default_padlen(sos) > x.size
    np.testing.assert_array_equal(filters.zero_phase_filter(sos, x),
                                  sps.sosfiltfilt(sos, x, padlen=x.size - 1))


def test_unknown_edge_type_is_refused():
    with pytest.raises(SignalError, match="btype='bandpass'"):
        filters.butterworth_sos(200.0, 20.0, order=2, btype="bandpass")


def test_a_given_padding_is_used_and_shortened():
    sos = filters.butterworth_sos(200.0, 20.0, order=3)
    x = np.random.default_rng(0).normal(size=50)
    np.testing.assert_array_equal(filters.zero_phase_filter(sos, x, padlen=15),
                                  sps.sosfiltfilt(sos, x, padlen=15))
    np.testing.assert_array_equal(filters.zero_phase_filter(sos, x[:9], padlen=15),
                                  sps.sosfiltfilt(sos, x[:9], padlen=8))
