"""A plate contact's antero-posterior ground reaction from the plate alone
(labkit.signal.gait_events.plate_ap_reaction): an analytic contact with known braking
and propulsion, on a plate turned four ways round."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import SignalError
from labkit.signal.gait_events import plate_ap_reaction

FS = 1000.0
T_S = 0.6  # contact time


def contact(forward_xy, *, braking_n=150.0, propulsion_n=200.0, travel_m=0.22, depth_m=0.0,
            lateral_n=0.0):
    """Loads on the plate (plate frame) for a foot rolling heel to toe along
    ``forward_xy``: Fz a half sine of 800 N; the reaction on the foot along forward
    -braking_n sin over the first half, +propulsion_n sin over the second; a medial shear
    hump of ``lateral_n``; moments about a measurement origin ``depth_m`` below the
    surface."""
    t = np.arange(round(T_S * FS)) / FS
    u = np.asarray(forward_xy, float) / np.linalg.norm(forward_xy)
    fz = 800.0 * np.sin(np.pi * t / T_S)
    half = t < T_S / 2
    ap = np.where(half, -braking_n * np.sin(2 * np.pi * t / T_S), -propulsion_n * np.sin(2 * np.pi * t / T_S))
    side = np.array([-u[1], u[0]])
    ml = lateral_n * np.sin(np.pi * t / T_S)
    fx, fy = -ap * u[0] - ml * side[0], -ap * u[1] - ml * side[1]  # the load is minus the reaction
    cop = np.array([0.05, -0.1]) + np.outer(t / T_S * travel_m, u)
    mx, my = cop[:, 1] * fz, -cop[:, 0] * fz  # about the surface: COP = (-My / Fz, Mx / Fz)
    # about an origin depth_m below (plate z down: O -> surface is (0, 0, -depth)):
    # M_O = M_C - F x (0, 0, -depth)
    mx, my = mx - fy * depth_m, my + fx * depth_m
    return (fx, fy, fz, mx, my), ap


@pytest.mark.parametrize("forward", [(1, 0), (0, 1), (-1, 0), (0.6, -0.8)])
def test_braking_and_propulsion_along_the_feet_travel_on_any_plate_orientation(forward):
    loads, truth = contact(forward)
    ap, fwd = plate_ap_reaction(*loads)
    np.testing.assert_allclose(fwd, np.asarray(forward) / np.linalg.norm(forward), atol=1e-9)
    np.testing.assert_allclose(ap, truth, atol=1e-9)
    assert np.max(-ap) == pytest.approx(150.0, rel=1e-3)  # braking peak
    assert np.max(ap) == pytest.approx(200.0, rel=1e-3)  # propulsive peak
    assert np.argmax(-ap) < np.argmax(ap)  # braking first


def test_a_forefoot_contact_on_a_deep_plate_origin_with_sideways_shear():
    """5 cm of travel, moments 4 cm below the surface (the shear shifts the centre of
    pressure by Fx x depth / Fz, against the travel) and a 60 N medial shear hump: the
    line still comes from the shear, the sense from the travel."""
    loads, truth = contact((0.6, 0.8), travel_m=0.05, depth_m=0.04, lateral_n=60.0)
    ap, fwd = plate_ap_reaction(*loads)
    np.testing.assert_allclose(fwd, [0.6, 0.8], atol=0.02)
    np.testing.assert_allclose(ap, truth, atol=3.0)  # N, of a 150-200 N swing
    assert np.max(-ap) == pytest.approx(150.0, rel=0.01)
    assert np.max(ap) == pytest.approx(200.0, rel=0.01)


def test_a_foot_that_does_not_roll_or_a_short_contact_is_one_clear_line():
    loads, _ = contact((1, 0), travel_m=0.01)
    with pytest.raises(SignalError, match=r"travels 0\.005 m along the shear \(< min_travel_m=0\.02 m\)"):
        plate_ap_reaction(*loads)
    loads, _ = contact((1, 0))
    with pytest.raises(SignalError, match=r"samples above fz_min_n=50\.0 N"):
        plate_ap_reaction(*(v[:8] for v in loads))
    with pytest.raises(SignalError, match="different lengths"):
        plate_ap_reaction(loads[0][:-1], *loads[1:])
