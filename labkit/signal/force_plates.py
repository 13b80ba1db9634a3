"""Force-plate maths: channels to forces and moments, centre of pressure, free moment,
tare and combining plates. Vectorised numpy, SI units (N, N·m, m).

Conventions (docs/science.md, Kistler force plate formulae): ``forces`` and
``moments`` are arrays of shape (n, 3) in the plate frame (x, y, z); moments are about
the plate's measurement origin, which sits ``az0_m`` (negative) below the top surface.
All functions are re-exported by :mod:`labkit.signal.force`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labkit.errors import SignalError

__all__ = [
    "centre_of_pressure",
    "combine_plates",
    "free_moment",
    "kistler_8ch",
    "plate_6ch",
    "tare",
]

_MOMENT_UNITS = {"N*m": 1.0, "N*mm": 1e-3}


def _channels(x, n_ch: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != n_ch:
        raise SignalError(
            f"{name} has shape {a.shape}; expected (n_samples, {n_ch}): one column per "
            "channel (transpose it if channels are rows)"
        )
    return a


def plate_6ch(
    v,
    *,
    scale=None,
    calibration=None,
    gains=1.0,
    excitation_v=1.0,
    moment_unit: str = "N*m",
):
    """Six-channel plate (AMTI, Bertec) output to forces and moments.

    ``loads = calibration @ (v / (gains * excitation_v))`` per sample, or with ``scale``
    (C3D plate type 2) each channel times its scale; type 4 is the full 6x6 matrix.

    Parameters
    ----------
    v : array_like, shape (n, 6)
        Channel outputs in the order Fx, Fy, Fz, Mx, My, Mz (volts or bridge units).
    scale : array_like, shape (6,), optional
        Per-channel scale (N or moment unit per input unit). Exclusive with calibration.
    calibration : array_like, shape (6, 6), optional
        Full calibration (sensitivity-inverse) matrix, loads = C @ channels.
    gains : float or array_like (6,), default 1.0
        Amplifier gains, divided out before calibration.
    excitation_v : float or array_like (6,), default 1.0
        Bridge excitation voltage, divided out before calibration.
    moment_unit : {"N*m", "N*mm"}, default "N*m"
        Unit of the moment rows of the calibration (C3D files often use N*mm);
        output moments are always N*m.

    Returns
    -------
    forces, moments : ndarray, shape (n, 3)

    Examples
    --------
    >>> import numpy as np
    >>> f, m = plate_6ch(np.ones((2, 6)), scale=[1, 2, 3, 4, 5, 6], moment_unit="N*mm")
    >>> f[0].tolist(), m[0].tolist()
    ([1.0, 2.0, 3.0], [0.004, 0.005, 0.006])
    """
    a = _channels(v, 6, "v")
    if (scale is None) == (calibration is None):
        raise SignalError("plate_6ch needs exactly one of scale= (6,) or calibration= (6, 6)")
    if moment_unit not in _MOMENT_UNITS:
        raise SignalError(f"moment_unit={moment_unit!r} is unknown; use 'N*m' or 'N*mm'")
    x = a / (np.asarray(gains, dtype=np.float64) * np.asarray(excitation_v, dtype=np.float64))
    if scale is not None:
        sc = np.asarray(scale, dtype=np.float64)
        if sc.shape != (6,):
            raise SignalError(f"scale has shape {sc.shape}; expected (6,)")
        loads = x * sc
    else:
        c = np.asarray(calibration, dtype=np.float64)
        if c.shape != (6, 6):
            raise SignalError(f"calibration has shape {c.shape}; expected (6, 6)")
        loads = x @ c.T
    return loads[:, :3].copy(), loads[:, 3:] * _MOMENT_UNITS[moment_unit]


def kistler_8ch(v, *, a_m: float, b_m: float, sensitivity_n_v=1.0):
    """Kistler 8-channel plate output to forces and moments about the sensor plane.

    Channels fx12, fx34, fy14, fy23, fz1, fz2, fz3, fz4 (Kistler Force Plate Formulae):
    Fx = fx12 + fx34, Fy = fy14 + fy23, Fz = fz1 + fz2 + fz3 + fz4,
    Mx = b (fz1 + fz2 - fz3 - fz4), My = a (-fz1 + fz2 + fz3 - fz4),
    Mz = b (-fx12 + fx34) + a (fy14 - fy23).

    Parameters
    ----------
    v : array_like, shape (n, 8)
        Amplifier outputs (V) in the channel order above.
    a_m, b_m : float
        Sensor offsets from the plate centre along x and y (m, positive; 9281EA:
        a = 0.120, b = 0.200).
    sensitivity_n_v : float or array_like (8,), default 1.0
        Newtons per volt of each channel (charge-amplifier range setting).

    Returns
    -------
    forces, moments : ndarray, shape (n, 3)
        Moments about the sensor-plane origin; pass az0_m to
        :func:`centre_of_pressure` for the surface correction.
    """
    if not (a_m > 0 and b_m > 0):
        raise SignalError(f"a_m={a_m!r}, b_m={b_m!r}: sensor offsets must be positive metres")
    ch = _channels(v, 8, "v") * np.asarray(sensitivity_n_v, dtype=np.float64)
    fx12, fx34, fy14, fy23, fz1, fz2, fz3, fz4 = ch.T
    forces = np.column_stack([fx12 + fx34, fy14 + fy23, fz1 + fz2 + fz3 + fz4])
    moments = np.column_stack(
        [
            b_m * (fz1 + fz2 - fz3 - fz4),
            a_m * (-fz1 + fz2 + fz3 - fz4),
            b_m * (-fx12 + fx34) + a_m * (fy14 - fy23),
        ]
    )
    return forces, moments


def centre_of_pressure(forces, moments, *, az0_m: float = 0.0, fz_min_n: float = 20.0):
    """Centre of pressure on the plate surface.

    Mx' = Mx + Fy az0, My' = My - Fx az0, COPx = -My'/Fz, COPy = Mx'/Fz (az0 is the
    top-surface offset, negative below the surface). NaN where Fz < fz_min_n.

    Parameters
    ----------
    forces, moments : array_like, shape (n, 3)
    az0_m : float, default 0.0
        Surface offset of the measurement origin (m; negative, e.g. -0.048).
    fz_min_n : float, default 20.0
        COP is undefined (NaN) below this vertical force.

    Returns
    -------
    ndarray, shape (n, 2)
        COPx, COPy in metres in the plate frame.
    """
    fo = _channels(forces, 3, "forces")
    mo = _channels(moments, 3, "moments")
    if fo.shape != mo.shape:
        raise SignalError(f"forces {fo.shape} and moments {mo.shape} must have the same shape")
    fx, fy, fz = fo.T
    mxp = mo[:, 0] + fy * az0_m
    myp = mo[:, 1] - fx * az0_m
    loaded = fz >= fz_min_n
    with np.errstate(divide="ignore", invalid="ignore"):
        cop = np.column_stack([np.where(loaded, -myp / fz, np.nan), np.where(loaded, mxp / fz, np.nan)])
    return cop


def free_moment(forces, moments, cop):
    """Free (vertical) moment about the COP: Tz = Mz - Fy COPx + Fx COPy (N*m).

    NaN where the COP is undefined.
    """
    fo = _channels(forces, 3, "forces")
    mo = _channels(moments, 3, "moments")
    c = _channels(cop, 2, "cop")
    return mo[:, 2] - fo[:, 1] * c[:, 0] + fo[:, 0] * c[:, 1]


def tare(x, fs_hz: float, *, window_s: tuple[float, float] = (0.0, 0.5)):
    """Subtract the mean of a quiet window (unloaded plate) from every channel.

    Parameters
    ----------
    x : array_like, shape (n,) or (n, channels)
    fs_hz : float
    window_s : (start_s, stop_s), default (0.0, 0.5)
        The quiet window, in seconds from the first sample.

    Returns
    -------
    ndarray
        A new array; ``x`` is not modified.
    """
    a = np.asarray(x, dtype=np.float64)
    i0 = round(window_s[0] * fs_hz)
    i1 = round(window_s[1] * fs_hz)
    if not (0 <= i0 < i1 <= a.shape[0]):
        raise SignalError(
            f"window_s={window_s!r} is samples {i0}..{i1} of {a.shape[0]}; choose a window "
            "inside the recording"
        )
    w = a[i0:i1]
    if not np.isfinite(w).all():
        raise SignalError(f"window_s={window_s!r} contains NaN/inf samples; choose a clean window")
    return a - w.mean(axis=0)


def combine_plates(forces: Sequence, moments: Sequence, origins_m, *, rotations=None):
    """Sum several plates into one force and one moment about the global origin.

    F = sum R_i F_i, M = sum (R_i M_i + r_i x R_i F_i), where r_i is plate i's measurement
    origin in global coordinates and R_i its rotation (identity by default).

    Parameters
    ----------
    forces, moments : sequence of array_like, each (n, 3)
    origins_m : array_like, shape (k, 3)
    rotations : array_like, shape (k, 3, 3), optional

    Returns
    -------
    forces, moments : ndarray, shape (n, 3)
        Global COP follows from :func:`centre_of_pressure` with ``az0_m`` the height of
        the global origin below the (common) surface.
    """
    k = len(forces)
    if k == 0 or len(moments) != k:
        raise SignalError(f"got {k} force and {len(moments)} moment arrays; give one pair per plate")
    r = np.asarray(origins_m, dtype=np.float64)
    if r.shape != (k, 3):
        raise SignalError(f"origins_m has shape {r.shape}; expected ({k}, 3)")
    rot = np.broadcast_to(np.eye(3), (k, 3, 3)) if rotations is None else np.asarray(rotations, float)
    if rot.shape != (k, 3, 3):
        raise SignalError(f"rotations has shape {rot.shape}; expected ({k}, 3, 3)")
    f_tot = None
    m_tot = None
    for i in range(k):
        fi = _channels(forces[i], 3, f"forces[{i}]") @ rot[i].T
        mi = _channels(moments[i], 3, f"moments[{i}]") @ rot[i].T + np.cross(r[i], fi)
        f_tot = fi if f_tot is None else f_tot + fi
        m_tot = mi if m_tot is None else m_tot + mi
    return f_tot, m_tot
