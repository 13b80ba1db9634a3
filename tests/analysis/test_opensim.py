"""OpenSim files (labkit.analysis.opensim) read back by OpenSim itself (issue 16, item 9).

The reader is OpenSim 4.6's own Python API (``pip install opensim``, in the test extra): its
``TRCFileAdapter`` (``TimeSeriesTableVec3``) for the markers, its ``STOFileAdapter``
(``TimeSeriesTable``) for the ``.mot`` file and an ``ExternalForce`` with the
``<plate>_ground_force_v/p`` and ``<plate>_ground_torque_`` identifiers, as an inverse
dynamics setup would use them. Real data: c3d/PiG_Motion3_FF.c3d (BTKData
``Input/C3DSamples/PiG/``, BSD-style licence; data/README.md): Vicon Nexus walk, markers at
100 Hz and three type-2 plates at 1000 Hz; its ground reactions are also checked against
ezc3d's own platform output, independently of labkit's lab-frame code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import labkit
from labkit.errors import ConfigError, LabkitWarning

ezc3d = pytest.importorskip("ezc3d", reason="ezc3d is the optional extra for C3D files (labkit[c3d])")
osim = pytest.importorskip("opensim", reason="OpenSim's Python API reads the files back (pip install "
                                             "opensim; in the test extra)")
osim.Logger.removeFileSink()  # OpenSim would otherwise write opensim.log into the working folder

from labkit.analysis.c3d import import_c3d  # noqa: E402
from labkit.analysis.lab_loads import lab_loads  # noqa: E402
from labkit.analysis.opensim import Z_UP_TO_Y_UP, export_opensim  # noqa: E402
from tests.analysis.test_c3d import PIG, _need  # noqa: E402


@pytest.fixture(scope="module")
def pig_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("osim")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabkitWarning)
        h5 = import_c3d(_need(PIG), d / "pig.h5")
    trc, mot = export_opensim(h5, trc_path=d / "pig.trc", mot_path=d / "pig.mot")
    return h5, trc, mot


def _vec3_table(table):
    """(frames, columns, 3) of an OpenSim TimeSeriesTableVec3 (flattened by OpenSim to x, y, z columns)."""
    flat = table.flatten()
    values = np.array(flat.getMatrix().to_numpy())  # a copy while ``flat`` is alive (SWIG view)
    return values.reshape(table.getNumRows(), table.getNumColumns(), 3)


def test_trc_read_by_opensim_equals_the_markers(pig_files):
    h5, trc, _ = pig_files
    table = osim.TimeSeriesTableVec3(str(trc))
    with labkit.open_session(h5) as s:
        mocap = s.stream("mocap")
        data, times, labels = mocap.data, np.asarray(mocap.times), mocap.labels
    markers = [lab[:-2] for lab in labels if lab.endswith(".x")]
    assert list(table.getColumnLabels()) == markers and len(markers) == 61
    assert table.getTableMetaDataAsString("Units") == "m"
    assert table.getTableMetaDataAsString("DataRate") == "100"
    np.testing.assert_allclose(np.asarray(table.getIndependentColumn()), times, atol=1e-9)
    got = _vec3_table(table)
    want = data.reshape(len(times), -1, 3)
    assert np.isnan(want).any()  # the walk has gaps: OpenSim reads them as NaN, nowhere else
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[np.isfinite(got)], want[np.isfinite(want)], rtol=1e-9, atol=1e-12)


def test_mot_read_by_opensim_equals_the_lab_loads_and_ezc3d(pig_files):
    h5, _, mot = pig_files
    table = osim.TimeSeriesTable(str(mot))
    labels = list(table.getColumnLabels())
    assert labels[:9] == ["fp1_ground_force_vx", "fp1_ground_force_vy", "fp1_ground_force_vz",
                          "fp1_ground_force_px", "fp1_ground_force_py", "fp1_ground_force_pz",
                          "fp1_ground_torque_x", "fp1_ground_torque_y", "fp1_ground_torque_z"]
    assert len(labels) == 27 and table.getTableMetaDataAsString("inDegrees") == "no"
    assert "Units are S.I. units (second, meters, Newtons, ...)" in mot.read_text().split("endheader")[0]
    values = np.array(table.getMatrix().to_numpy())
    with labkit.open_session(h5) as s:
        loads = lab_loads(s)
    ref = ezc3d.c3d(str(PIG), extract_forceplat_data=True)["data"]["platform"]
    np.testing.assert_allclose(np.asarray(table.getIndependentColumn()), loads["fp1"].times_s, atol=1e-9)
    for k, (name, ld) in enumerate(loads.items()):
        assert labels[9 * k] == f"{name}_ground_force_vx"
        block = values[:, 9 * k:9 * k + 9]
        on = np.isfinite(ld.cop_m[:, 0])
        assert 300 < on.sum() < len(on)  # each plate is stepped on, and left
        np.testing.assert_allclose(block[on, 0:3], ld.force_n[on], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(block[on, 3:6], ld.cop_m[on], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(block[on, 6:9], ld.free_moment_nm[on], rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(block[~on, 0:3], 0.0)  # nobody on the plate: no load
        # and ezc3d's own lab-frame platform output (N, mm, N.mm), independent of labkit
        p = ref[k]
        np.testing.assert_allclose(block[on, 0:3], p["force"].T[on], rtol=1e-9, atol=1e-8)
        np.testing.assert_allclose(block[on, 3:6], p["center_of_pressure"].T[on] * 1e-3, atol=1e-9)
        np.testing.assert_allclose(block[on, 8], p["Tz"].T[on, 2] * 1e-3, atol=1e-8)
        assert block[on, 2].max() > 700  # body weight, upward (the lab z is up)


def test_external_force_reads_the_columns_as_inverse_dynamics_would(pig_files):
    """An OpenSim ExternalForce on a model, identified by the column prefixes, gives the
    written ground reaction, COP and free moment at the sample times."""
    h5, _, mot = pig_files
    with labkit.open_session(h5) as s:
        ld = lab_loads(s)["fp2"]
    model = osim.Model()
    body = osim.Body("foot", 1.0, osim.Vec3(0), osim.Inertia(1))
    model.addBody(body)
    model.addJoint(osim.FreeJoint("free", model.getGround(), body))
    storage = osim.Storage(str(mot))  # kept alive: the force holds a reference to it
    ef = osim.ExternalForce(storage, "fp2_ground_force_v", "fp2_ground_force_p",
                            "fp2_ground_torque_", "foot", "ground", "ground")
    ef.setName("fp2")
    model.addForce(ef)
    model.initSystem()
    on = np.flatnonzero(np.isfinite(ld.cop_m[:, 0]))
    for i in on[[10, len(on) // 2, -10]]:
        t = float(ld.times_s[i])
        f, p, m = (ef.getForceAtTime(t), ef.getPointAtTime(t), ef.getTorqueAtTime(t))
        np.testing.assert_allclose([f.get(a) for a in range(3)], ld.force_n[i], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose([p.get(a) for a in range(3)], ld.cop_m[i], atol=1e-8)
        np.testing.assert_allclose([m.get(a) for a in range(3)], ld.free_moment_nm[i], atol=1e-6)


def test_rotation_to_opensim_y_up_and_millimetres(pig_files, tmp_path):
    h5, trc, mot = pig_files
    trc2, mot2 = export_opensim(h5, trc_path=tmp_path / "y.trc", mot_path=tmp_path / "y.mot", units="mm",
                                rotation=Z_UP_TO_Y_UP)
    lab = _vec3_table(osim.TimeSeriesTableVec3(str(trc)))
    turned = osim.TimeSeriesTableVec3(str(trc2))
    assert turned.getTableMetaDataAsString("Units") == "mm"
    got = _vec3_table(turned)
    np.testing.assert_allclose(got[..., 0], lab[..., 0] * 1e3, rtol=1e-9)  # x stays
    np.testing.assert_allclose(got[..., 1], lab[..., 2] * 1e3, rtol=1e-9)  # y' = up = lab z
    np.testing.assert_allclose(got[..., 2], -lab[..., 1] * 1e3, rtol=1e-9)  # z' = -lab y
    table_a, table_b = osim.TimeSeriesTable(str(mot)), osim.TimeSeriesTable(str(mot2))  # kept: the
    a, b = table_a.getMatrix().to_numpy(), table_b.getMatrix().to_numpy()  # matrices are views
    np.testing.assert_allclose(b[:, 1], a[:, 2], rtol=1e-9, atol=1e-12)  # vy' = vertical reaction
    np.testing.assert_allclose(b[:, 4], a[:, 5], rtol=1e-9, atol=1e-12)  # py' = COP height
    assert "turned by the given rotation" in mot2.read_text().split("endheader")[0]


def test_errors_are_one_line(pig_files, tmp_path):
    h5, trc, _ = pig_files
    with pytest.raises(ConfigError, match=r"pig.trc: file exists; choose a new path or pass overwrite=True"):
        export_opensim(h5, trc_path=trc)
    with pytest.raises(ConfigError, match=r"give a .trc file for the markers and/or a .mot file"):
        export_opensim(h5)
    with pytest.raises(ConfigError, match=r"is not a rotation \(3 x 3, orthonormal, determinant 1\)"):
        export_opensim(h5, trc_path=tmp_path / "r.trc", rotation=np.diag([1.0, 1.0, -1.0]))
    with pytest.raises(ConfigError, match=r"units='cm' is invalid; a TRC file is written in 'm' or 'mm'"):
        export_opensim(h5, trc_path=tmp_path / "r.trc", units="cm")
    assert not (tmp_path / "r.trc").exists()
    # with both files asked for, what refuses the .mot refuses before the .trc is written
    with pytest.raises(ConfigError, match=r"fz_min_n=-1.0 is invalid"):
        export_opensim(h5, trc_path=tmp_path / "r.trc", mot_path=tmp_path / "r.mot", fz_min_n=-1.0)
    assert not (tmp_path / "r.trc").exists() and not (tmp_path / "r.mot").exists()


def test_cli_writes_the_opensim_files(pig_files, tmp_path, capsys):
    from labkit.cli import main

    h5, trc, _ = pig_files
    assert main(["export", str(h5), "--trc", str(tmp_path / "c.trc"), "--mot", str(tmp_path / "c.mot")]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'c.trc'}" in out and f"wrote {tmp_path / 'c.mot'}" in out
    assert (tmp_path / "c.trc").read_text() == trc.read_text().replace("pig.trc", "c.trc")
    assert main(["export", str(h5), "--trc", str(tmp_path / "c.trc")]) != 0
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (f"labkit: error: --trc {tmp_path / 'c.trc'}: file exists; pass "
                                            "--overwrite to replace it, or choose another path")
