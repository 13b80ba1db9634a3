"""Plate maths: 6-channel calibration, Kistler 8-channel, COP, free moment, tare, combining.

Analytic cases build channels from a known load (point force at a known surface point
with a known free moment) and must give it back. Real data:
data/force/kistler_fp_data.txt from demotu/BMC (Marcos Duarte, Notes on
Scientific Computing for Biomechanics and Motor Control, data/, "Kistler force plate
calculation"), CC BY 4.0: time + fx12, fx34, fy14, fy23, fz1..fz4 in V, 100 Hz, 20 s of
standing. The amplifier ranges (N/V) are not in the file, so an assumed sensitivity is
used; every relation checked holds whatever it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labkit.errors import SignalError
from labkit.signal import force

DATA = Path(__file__).resolve().parents[2] / "data" / "force"
A_M, B_M, AZ0_M = 0.120, 0.200, -0.048  # Kistler 9281EA (docs/metrics.md)


def point_load(n=50, seed=0, az0=AZ0_M):
    """Forces, moments about an origin az0 below the surface, COP and free moment."""
    rng = np.random.default_rng(seed)
    F = np.column_stack([rng.normal(0, 80, n), rng.normal(0, 80, n), rng.uniform(100, 2000, n)])
    cop = np.column_stack([rng.uniform(-0.2, 0.2, n), rng.uniform(-0.3, 0.3, n)])
    tz = rng.normal(0, 5, n)
    r = np.column_stack([cop, np.full(n, az0)])  # surface point seen from the origin
    M = np.cross(r, F) + np.column_stack([np.zeros(n), np.zeros(n), tz])
    return F, M, cop, tz


def test_cop_and_free_moment_recover_a_point_load():
    F, M, cop, tz = point_load()
    got = force.centre_of_pressure(F, M, az0_m=AZ0_M)
    np.testing.assert_allclose(got, cop, rtol=0, atol=1e-12)
    np.testing.assert_allclose(force.free_moment(F, M, got), tz, rtol=0, atol=1e-9)
    low = F.copy()
    low[:5, 2] = 10.0
    assert np.isnan(force.centre_of_pressure(low, M, az0_m=AZ0_M)[:5]).all()


def test_plate_6ch_full_matrix_and_per_channel_scale():
    F, M, _, _ = point_load(seed=1)
    loads = np.column_stack([F, M * 1000.0])  # calibration with moment rows in N*mm
    rng = np.random.default_rng(2)
    C = np.diag([500.0, 500.0, 1000.0, 300.0, 300.0, 150.0]) + rng.normal(0, 5, (6, 6))
    gains, exc = np.array([4000.0] * 3 + [2000.0] * 3), 10.0
    v = np.linalg.solve(C, loads.T).T * gains * exc
    f, m = force.plate_6ch(v, calibration=C, gains=gains, excitation_v=exc, moment_unit="N*mm")
    np.testing.assert_allclose(f, F, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(m, M, rtol=1e-10, atol=1e-9)
    sc = np.array([2.0, 2.0, 4.0, 1.0, 1.0, 0.5])
    f2, m2 = force.plate_6ch(loads / sc, scale=sc, moment_unit="N*mm")
    np.testing.assert_allclose(f2, F, rtol=1e-12)
    np.testing.assert_allclose(m2, M, rtol=1e-12)
    with pytest.raises(SignalError, match="exactly one"):
        force.plate_6ch(v, scale=sc, calibration=C)
    with pytest.raises(SignalError, match="expected"):
        force.plate_6ch(v[:, :5], scale=sc)


def kistler_channels(F, cop, s=1.0):
    """Sensor forces of a vertical point load at cop split bilinearly over the sensors
    1 (+a,+b), 2 (-a,+b), 3 (-a,-b), 4 (+a,-b); horizontal forces split evenly."""
    x, y = cop[:, 0] / A_M, cop[:, 1] / B_M
    fz = F[:, 2]
    fz1 = fz * (1 + x) * (1 + y) / 4
    fz2 = fz * (1 - x) * (1 + y) / 4
    fz3 = fz * (1 - x) * (1 - y) / 4
    fz4 = fz * (1 + x) * (1 - y) / 4
    fx, fy = F[:, 0], F[:, 1]
    return np.column_stack([fx / 2, fx / 2, fy / 2, fy / 2, fz1, fz2, fz3, fz4]) / s


def test_kistler_8ch_recovers_forces_and_cop_of_a_vertical_load():
    F, _, cop, _ = point_load(seed=3)
    F[:, :2] = 0.0  # sensors in one plane: a vertical load keeps the COP exact
    cop = cop * [A_M / 0.2, B_M / 0.3]  # inside the sensor rectangle
    v = kistler_channels(F, cop, s=250.0)
    f, m = force.kistler_8ch(v, a_m=A_M, b_m=B_M, sensitivity_n_v=250.0)
    np.testing.assert_allclose(f, F, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(force.centre_of_pressure(f, m, az0_m=AZ0_M), cop, atol=1e-12)
    np.testing.assert_allclose(m[:, 2], 0.0, atol=1e-9)


def test_tare_and_combine_plates():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (1000, 3)) + np.array([5.0, -3.0, 12.0])
    out = force.tare(x, 1000.0, window_s=(0.0, 0.5))
    np.testing.assert_allclose(out[:500].mean(axis=0), 0.0, atol=1e-12)
    assert not np.shares_memory(out, x) and x[0, 0] != out[0, 0]
    # two plates side by side: combined COP is the Fz-weighted mean of the plate COPs
    F1, M1, c1, _ = point_load(seed=5, az0=0.0)
    F2, M2, c2, _ = point_load(seed=6, az0=0.0)
    F1[:, :2] = F2[:, :2] = 0.0
    M1 = np.cross(np.column_stack([c1, np.zeros(len(c1))]), F1)
    M2 = np.cross(np.column_stack([c2, np.zeros(len(c2))]), F2)
    origins = np.array([[0.2, 0.3, 0.0], [0.65, 0.3, 0.0]])
    F, M = force.combine_plates([F1, F2], [M1, M2], origins)
    g1, g2 = c1 + origins[0, :2], c2 + origins[1, :2]
    want = (g1 * F1[:, 2:] + g2 * F2[:, 2:]) / (F1[:, 2:] + F2[:, 2:])
    np.testing.assert_allclose(force.centre_of_pressure(F, M), want, atol=1e-12)
    with pytest.raises(SignalError, match="origins_m"):
        force.combine_plates([F1, F2], [M1, M2], origins[:1])


def test_kistler_real_file_relations_and_figure(tmp_path):
    path = DATA / "kistler_fp_data.txt"
    if not path.is_file():
        pytest.fail(f"real recording missing: {path}: it ships in data/ (data/README.md)")
    data = np.loadtxt(path, skiprows=1)
    t, v = data[:, 0], data[:, 1:]
    fs = 1.0 / np.median(np.diff(t))
    assert fs == pytest.approx(100.0)
    s_xy, s_z = 250.0, 500.0  # N/V: assumed amplifier ranges (not stored in the file)
    sens = np.array([s_xy] * 4 + [s_z] * 4)
    f, m = force.kistler_8ch(v, a_m=A_M, b_m=B_M, sensitivity_n_v=sens)
    cop = force.centre_of_pressure(f, m, az0_m=AZ0_M, fz_min_n=20.0)
    tz = force.free_moment(f, m, cop)
    # Fz is the sum of the four vertical channels times the sensitivity
    np.testing.assert_allclose(f[:, 2], s_z * v[:, 4:].sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(f[:, 0], s_xy * (v[:, 0] + v[:, 1]), rtol=1e-12)
    np.testing.assert_allclose(m[:, 0], B_M * s_z * (v[:, 4] + v[:, 5] - v[:, 6] - v[:, 7]),
                               rtol=1e-12)  # fmt: skip
    loaded = f[:, 2] > 20.0
    assert loaded.all()  # quiet standing: loaded throughout
    # COP inside the 400 x 600 mm top plate (x along a, y along b) while loaded
    assert (np.abs(cop[loaded, 0]) < 0.200).all() and (np.abs(cop[loaded, 1]) < 0.300).all()
    # with the vertical part alone, the COP is an Fz-weighted mean of the sensor positions:
    # inside the sensor rectangle; the surface term adds Fy az0 / Fz (small here)
    assert (np.abs(cop[:, 0] + AZ0_M * f[:, 0] / f[:, 2]) <= A_M).all()
    # free moment definition: moment about the COP has no horizontal lever arm left
    np.testing.assert_allclose(tz, m[:, 2] - f[:, 1] * cop[:, 0] + f[:, 0] * cop[:, 1])
    # standing still: vertical force nearly constant, horizontal forces small
    assert f[:, 2].std() / f[:, 2].mean() < 0.05
    assert np.abs(f[:, :2]).max() < 0.1 * f[:, 2].mean()
    # COP independent of a common sensitivity change
    f2, m2 = force.kistler_8ch(v, a_m=A_M, b_m=B_M, sensitivity_n_v=3 * sens)
    np.testing.assert_allclose(force.centre_of_pressure(f2, m2, az0_m=AZ0_M), cop, atol=1e-12)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
    for i, lab in enumerate(("Fx", "Fy", "Fz")):
        (ax[0, 0] if i < 2 else ax[0, 1]).plot(t, f[:, i], label=lab)
    ax[0, 0].set(title="Horizontal forces", xlabel="s", ylabel="N")
    ax[0, 1].set(title="Vertical force", xlabel="s", ylabel="N")
    for i, lab in enumerate(("Mx", "My", "Mz")):
        ax[1, 0].plot(t, m[:, i], label=lab)
    ax[1, 0].plot(t, tz, label="Tz (free)")
    ax[1, 0].set(title="Moments", xlabel="s", ylabel="N·m")
    ax[1, 1].plot(cop[:, 0] * 100, cop[:, 1] * 100, lw=0.8)
    ax[1, 1].set(title="COP (cm)", xlabel="COPx", ylabel="COPy", aspect="equal")
    for a in ax.flat[:3]:
        a.legend()
    fig.suptitle("kistler_fp_data.txt (demotu/BMC, CC BY 4.0), assumed 250/500 N/V")
    out = tmp_path / "kistler_fp.png"
    fig.savefig(out, dpi=80)
    plt.close(fig)
    assert out.stat().st_size > 10_000
