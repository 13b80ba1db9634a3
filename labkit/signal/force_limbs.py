"""Per-limb forces and asymmetry from two plates (one foot on each).

A dual-plate test (CMJ, squat jump, IMTP, isometric squat) is analysed on the summed
vertical force; this module splits the landmarks' windows back over the plates: each
limb's standing weight, peak force and net impulses (net of its own standing weight, so
that the limbs' impulses add up to the total's), and the asymmetry of each metric by a
published formula from :data:`ASYMMETRY_FORMULAS`. The public names are re-exported by
:mod:`labkit.signal.force`; definitions are in ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal import _force_kernels as _k
from labkit.signal import _limb_kernels as _lk
from labkit.signal._checks import check_fs
from labkit.signal._force_common import check_trace, pack_trials

if TYPE_CHECKING:  # pandas is imported by limbs_batch only, when called
    import pandas as pd

__all__ = ["ASYMMETRY_FORMULAS", "LimbResult", "asymmetry", "epoch_windows", "limbs", "limbs_batch",
           "limbs_of"]


# The formulas take floats or arrays alike (limbs_batch applies them to whole columns).
def _pct_max(left: float, right: float) -> float:
    return 100.0 * (left - right) / np.maximum(left, right)


def _pct_mean(left: float, right: float) -> float:
    return 100.0 * (left - right) / (0.5 * (left + right))


def _pct_total(left: float, right: float) -> float:
    return 100.0 * (left - right) / (left + right)


def _lsi(left: float, right: float) -> float:
    return 100.0 * left / right


def _angle(left: float, right: float) -> float:
    return 100.0 * (np.degrees(np.arctan2(left, right)) - 45.0) / 90.0


#: name -> (function of the left and right magnitudes, formula, source). Positive: left larger.
ASYMMETRY_FORMULAS: dict[str, tuple[Callable[[float, float], float], str, str]] = {
    "percent_max": (_pct_max, "(L - R) / max(L, R) * 100",
                    "percentage difference from the stronger limb (Bishop et al. 2018)"),
    "percent_mean": (_pct_mean, "(L - R) / ((L + R) / 2) * 100",
                     "symmetry index (Robinson et al. 1987)"),
    "percent_total": (_pct_total, "(L - R) / (L + R) * 100",
                      "bilateral asymmetry index, share of the total (Impellizzeri et al. 2007)"),
    "limb_symmetry_index": (_lsi, "L / R * 100 (100 = symmetric)",
                            "limb symmetry index (Noyes et al. 1991), left over right"),
    "symmetry_angle": (_angle, "(atan(L / R) - 45 deg) / 90 deg * 100",
                       "symmetry angle (Zifchock et al. 2008), signed positive for left"),
}  # fmt: skip


def asymmetry(left: float, right: float, formula: str = "percent_max") -> float:
    """Asymmetry of two limb values by a formula of :data:`ASYMMETRY_FORMULAS`.

    The formula is applied to the magnitudes (an unweighting impulse is negative on
    both limbs); positive means the left limb's magnitude is larger (above 100 for the
    limb symmetry index). NaN when a value is NaN or both are 0.
    """
    if formula not in ASYMMETRY_FORMULAS:
        raise SignalError(f"asymmetry formula {formula!r} is unknown; use one of "
                          f"{', '.join(ASYMMETRY_FORMULAS)}")  # fmt: skip
    a, b = abs(float(left)), abs(float(right))
    if not (math.isfinite(a) and math.isfinite(b)) or (a == 0.0 and b == 0.0) or \
            (formula == "limb_symmetry_index" and b == 0.0):  # fmt: skip
        return math.nan
    return float(ASYMMETRY_FORMULAS[formula][0](a, b))


def _asymmetry_columns(left: np.ndarray, right: np.ndarray, formula: str) -> np.ndarray:
    """:func:`asymmetry` of two columns, element by element (same NaN rules)."""
    a, b = np.abs(left), np.abs(right)
    bad = ~(np.isfinite(a) & np.isfinite(b)) | ((a == 0.0) & (b == 0.0))
    if formula == "limb_symmetry_index":
        bad |= b == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = ASYMMETRY_FORMULAS[formula][0](a, b)
    return np.where(bad, np.nan, out)


@dataclass(frozen=True, slots=True)
class LimbResult:
    """Per-limb metrics of a dual-plate trial, their total and asymmetry.

    ``left``, ``right`` and ``total`` map metric name to value (the total is computed
    the same way on the summed force, so impulses add up: left + right = total);
    ``asymmetry_pct`` maps metric name to the asymmetry by ``formula``.
    """

    formula: str
    left: Mapping[str, float]
    right: Mapping[str, float]
    total: Mapping[str, float]
    asymmetry_pct: Mapping[str, float]
    params: Mapping[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Flat columns ``left_<metric>``, ``right_<metric>``, ``asym_<metric>_pct`` and
        ``asymmetry_formula``."""
        d: dict[str, Any] = {}
        for k in self.left:
            d[f"left_{k}"] = self.left[k]
            d[f"right_{k}"] = self.right[k]
            d[f"asym_{_metric_key(k)}_pct"] = self.asymmetry_pct[k]
        d["asymmetry_formula"] = self.formula
        return d


def _window(name: str, span, fs: float, n: int) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in span)
    except (TypeError, ValueError):
        raise SignalError(f"{name}={span!r} must be a (start_s, end_s) pair") from None
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.nan, math.nan
    if not 0.0 <= a <= b or b * fs > n - 1 + 1e-9:
        raise SignalError(f"{name}={span!r} is not a window within the trace (0 .. "
                          f"{(n - 1) / fs:g} s)")  # fmt: skip
    return a * fs, min(b * fs, n - 1.0)


def _metrics(f: np.ndarray, fs: float, weigh, impulses, peak, means, rfd) -> dict[str, float]:
    n = f.shape[0]
    w0, w1 = round(weigh[0]), round(weigh[1])
    weight = float(f[w0:w1].mean())
    out = {"weight_n": weight}
    a, b = peak
    if math.isnan(a):
        out["peak_force_n"] = math.nan
        out["net_peak_force_n"] = math.nan
    else:
        seg = f[math.ceil(a - 1e-9) : math.floor(b + 1e-9) + 1]
        out["peak_force_n"] = float(seg.max()) if seg.size else math.nan
        out["net_peak_force_n"] = out["peak_force_n"] - weight
    for key, (p0, p1) in impulses.items():
        ok = not (math.isnan(p0) or math.isnan(p1))
        out[key] = _k.net_impulse(f, n, p0, p1, weight) / fs if ok else math.nan
    for key, (p0, p1) in means.items():
        ok = not (math.isnan(p0) or math.isnan(p1)) and p1 > p0
        out[key] = (weight + _k.net_impulse(f, n, p0, p1, weight) / (p1 - p0)) if ok else math.nan
    for key, (p0, p1) in rfd.items():
        ok = not (math.isnan(p0) or math.isnan(p1)) and p1 > p0
        out[key] = ((_k.interp_at(f, n, p1) - _k.interp_at(f, n, p0)) * fs / (p1 - p0)
                    if ok else math.nan)  # fmt: skip
    return out


def limbs(
    f_left_n: ArrayLike,
    f_right_n: ArrayLike,
    fs_hz: float,
    *,
    weighing_s: tuple[float, float],
    peak_s: tuple[float, float] = (math.nan, math.nan),
    impulses_s: Mapping[str, tuple[float, float]] | None = None,
    means_s: Mapping[str, tuple[float, float]] | None = None,
    rfd_s: Mapping[str, tuple[float, float]] | None = None,
    formula: str = "percent_max",
) -> LimbResult:
    """Per-limb metrics over given windows, their total, and asymmetry.

    For the left plate, the right plate and their sum alike: ``weight_n`` = mean over
    ``weighing_s``; ``peak_force_n`` = max over ``peak_s`` (and ``net_peak_force_n`` =
    peak - weight); every ``impulses_s`` window gives the net impulse of (F - weight)
    (piecewise-linear model, exact at fractional window edges); every ``means_s`` window
    the mean force; every ``rfd_s`` window (F(end) - F(start)) / duration. Windows with
    NaN edges give NaN.

    Parameters
    ----------
    f_left_n, f_right_n : array_like, shape (n,)
        Vertical force of the left (fp1) and right (fp2) plate, N.
    fs_hz : float
    weighing_s : (float, float)
        Weighing window, s from the first sample.
    peak_s : (float, float), default (NaN, NaN)
    impulses_s, means_s, rfd_s : mapping of name to (start_s, end_s), optional
        The names become the metric names (``propulsive_impulse_ns`` ...).
    formula : str, default "percent_max"
        A name of :data:`ASYMMETRY_FORMULAS`.

    Returns
    -------
    LimbResult
    """
    fs = check_fs(fs_hz)
    fl = check_trace(f_left_n, "f_left_n")
    fr = check_trace(f_right_n, "f_right_n")
    if fl.shape != fr.shape:
        raise SignalError(f"f_left_n has {fl.shape[0]} samples and f_right_n {fr.shape[0]}; "
                          "pass both plates over the same samples")  # fmt: skip
    if formula not in ASYMMETRY_FORMULAS:
        raise SignalError(f"formula={formula!r} is unknown; use one of {', '.join(ASYMMETRY_FORMULAS)}")
    n = fl.shape[0]
    weigh = _window("weighing_s", weighing_s, fs, n)
    if math.isnan(weigh[0]) or round(weigh[1]) - round(weigh[0]) < 1:
        raise SignalError(f"weighing_s={weighing_s!r} must be a window of at least one sample")
    spans = [{k: _window(f"{kind}[{k!r}]", v, fs, n) for k, v in (d or {}).items()}
             for kind, d in (("impulses_s", impulses_s), ("means_s", means_s), ("rfd_s", rfd_s))]
    pk = _window("peak_s", peak_s, fs, n)
    total = fl + fr
    per = [_metrics(x, fs, weigh, spans[0], pk, spans[1], spans[2]) for x in (fl, fr, total)]
    asym = {k: asymmetry(per[0][k], per[1][k], formula) for k in per[0]}
    params = {"method": "limbs", "fs_hz": fs, "weighing_s": tuple(weighing_s), "peak_s": tuple(peak_s),
              "impulses_s": dict(impulses_s or {}), "means_s": dict(means_s or {}),
              "rfd_s": dict(rfd_s or {}), "formula": formula,
              "formula_expression": ASYMMETRY_FORMULAS[formula][1],
              "formula_source": ASYMMETRY_FORMULAS[formula][2], "labkit_version": __version__}
    return LimbResult(formula, MappingProxyType(per[0]), MappingProxyType(per[1]),
                      MappingProxyType(per[2]), MappingProxyType(asym), MappingProxyType(params))


def limbs_of(result: Any, f_left_n: ArrayLike, f_right_n: ArrayLike, fs_hz: float, *,
             formula: str = "percent_max") -> LimbResult:
    """:func:`limbs` over the landmarks of a result of the summed force.

    The result says which windows its limbs are compared over (its ``limb_windows()``):
    jumps (:class:`~labkit.signal.force_jump.JumpResult`): weight over the weighing
    window, peak force onset -> take-off, net impulses of unweighting, braking,
    propulsion and the whole push, mean propulsive force; isometric tests
    (:class:`~labkit.signal.force_isometric.IsometricResult`): peak force onset -> end,
    net impulse and RFD 0 -> X ms for its epochs; drop jumps: the contact.

    Parameters
    ----------
    result : JumpResult, IsometricResult or DropJumpResult
        The analysis of ``f_left_n + f_right_n``.
    f_left_n, f_right_n : array_like
    fs_hz : float
    formula : str, default "percent_max"

    Returns
    -------
    LimbResult
    """
    fs = check_fs(fs_hz)
    windows = getattr(result, "limb_windows", None)
    if windows is None:
        raise SignalError(f"limbs_of takes a force result with limb_windows(), not {type(result).__name__}")
    n = np.asarray(f_left_n).shape[0]
    return limbs(f_left_n, f_right_n, fs, **windows((n - 1) / fs), formula=formula)


def _metric_key(k: str) -> str:
    return k.removesuffix('_n').removesuffix('_ns').removesuffix('_n_s')


def limbs_batch(table: pd.DataFrame, f_left_n, f_right_n, fs_hz: float, *,
                formula: str = "percent_max") -> pd.DataFrame:
    """:func:`limbs_of` over the trials of a :func:`~labkit.signal.force.cmj_batch` table,
    parallel over trials (numba).

    Parameters
    ----------
    table : pandas.DataFrame
        ``cmj_batch`` of ``f_left_n + f_right_n`` (its rows are the trials); its
        landmark columns give the windows (:data:`labkit.signal.force_jump.LIMB_WINDOWS`).
    f_left_n, f_right_n : ndarray (n_trials, n_samples) or sequences of 1-D arrays
        The left (fp1) and right (fp2) plate of every trial, N.
    fs_hz : float
    formula : str, default "percent_max"
        A name of :data:`ASYMMETRY_FORMULAS`.

    Returns
    -------
    pandas.DataFrame
        One row per trial with the columns of :meth:`LimbResult.to_dict` (``left_*``,
        ``right_*``, ``asym_*_pct``, ``asymmetry_formula``), the same values as
        :func:`limbs_of` on each trial; the parameters in ``df.attrs["params"]``.
    """
    import pandas as pd  # late: only the batch table needs pandas

    from labkit.signal.force_jump import LIMB_WINDOWS

    fs = check_fs(fs_hz)
    if formula not in ASYMMETRY_FORMULAS:
        raise SignalError(f"formula={formula!r} is unknown; use one of {', '.join(ASYMMETRY_FORMULAS)}")
    method = table.attrs.get("params", {}).get("method")
    if method not in ("cmj", "squat_jump"):
        raise SignalError(f"limbs_batch takes a cmj_batch table, not one of method {method!r}")
    FL, lengths = pack_trials(f_left_n)
    FR, lengths_r = pack_trials(f_right_n)
    if FL.shape != FR.shape or not np.array_equal(lengths, lengths_r) or FL.shape[0] != len(table):
        raise SignalError(f"f_left_n, f_right_n and table must hold the same trials over the "
                          f"same samples (got {FL.shape[0]} and {FR.shape[0]} trials, "
                          f"{len(table)} rows); pass the plates of the trials in the table")  # fmt: skip
    last = (lengths - 1).astype(np.float64)
    wanted = sorted({c for spec in LIMB_WINDOWS.values()
                     for pair in (spec.values() if isinstance(spec, dict) else [spec]) for c in pair})
    # one selection (each column access deep-copies the table's attrs)
    col = dict(zip(wanted, table[wanted].to_numpy(float).T, strict=True))

    def span(a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        # as limbs() does: positions a * fs and min(b * fs, n - 1)
        return col[a] * fs, np.minimum(col[b] * fs, last)

    wa, wb = span(*LIMB_WINDOWS["weighing_s"])
    w0, w1 = np.round(wa).astype(np.int64), np.round(wb).astype(np.int64)
    pa, pb = span(*LIMB_WINDOWS["peak_s"])
    ok = np.isfinite(pa) & np.isfinite(pb)
    pk0 = np.where(ok, np.ceil(np.where(ok, pa, 0.0) - 1e-9), -1).astype(np.int64)
    pk1 = np.where(ok, np.floor(np.where(ok, pb, 0.0) + 1e-9), -1).astype(np.int64)
    names = [*LIMB_WINDOWS["impulses_s"], *LIMB_WINDOWS["means_s"]]
    kinds = np.array([0] * len(LIMB_WINDOWS["impulses_s"]) + [1] * len(LIMB_WINDOWS["means_s"]))
    cols = {**LIMB_WINDOWS["impulses_s"], **LIMB_WINDOWS["means_s"]}
    spans = np.stack([np.column_stack(span(*cols[k])) for k in names], axis=1)
    out = np.empty((FL.shape[0], 2, 3 + len(names)))
    _lk.limb_batch(FL, FR, lengths, fs, w0, w1, pk0, pk1, np.ascontiguousarray(spans), kinds, out)
    metrics = ["weight_n", "peak_force_n", "net_peak_force_n", *names]
    data: dict[str, Any] = {}
    for c, k in enumerate(metrics):
        data[f"left_{k}"] = out[:, 0, c]
        data[f"right_{k}"] = out[:, 1, c]
        data[f"asym_{_metric_key(k)}_pct"] = _asymmetry_columns(out[:, 0, c], out[:, 1, c], formula)
    data["asymmetry_formula"] = formula
    df = pd.DataFrame(data, index=table.index)
    df.attrs["params"] = {"method": "limbs_batch", "fs_hz": fs, "windows": LIMB_WINDOWS,
                          "formula": formula, "formula_expression": ASYMMETRY_FORMULAS[formula][1],
                          "formula_source": ASYMMETRY_FORMULAS[formula][2],
                          "labkit_version": __version__}  # fmt: skip
    return df


def epoch_windows(onset_s: float, epochs_ms, end_s: float) -> dict[float, tuple[float, float]]:
    """``{ms: (onset, onset + ms)}`` for epochs inside the trace (NaN past its end)."""
    return {float(ms): (onset_s, onset_s + ms / 1000.0) if onset_s + ms / 1000.0 <= end_s
            else (math.nan, math.nan) for ms in epochs_ms}  # fmt: skip
