"""Jumps on a force plate: countermovement and squat jumps, their phases and validity
flags, one trial or many.

The public names are re-exported by :mod:`labkit.signal.force`; import them from there.
Definitions and defaults are in ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal import _force_kernels as _k
from labkit.signal import _jump_phases
from labkit.signal._checks import check_fs
from labkit.signal._force_common import (
    G_STANDARD,
    check_trace,
    flags_tuple,
    keyword_defaults,
    pack_trials,
    positive,
    samples,
)

if TYPE_CHECKING:  # pandas is imported by the batch functions only, when called
    import pandas as pd

__all__ = ["LIMB_WINDOWS", "PHASES", "JumpResult", "cmj", "cmj_batch", "squat_jump"]

# --------------------------------------------------------------------------------------
# jumps

PHASES = ("unweighting", "braking", "propulsion", "flight", "landing")

#: The windows the limbs of a jump are compared over, as (start, end) columns of
#: :meth:`JumpResult.to_dict` (and of the :func:`cmj_batch` table): weight over the
#: weighing window, peak force onset -> take-off, the net impulses of the phases and of
#: the whole push, the mean propulsive force. Read by :meth:`JumpResult.limb_windows`
#: and :func:`labkit.signal.force.limbs_batch`.
LIMB_WINDOWS: dict[str, Any] = {
    "weighing_s": ("weighing_start_s", "weighing_end_s"),
    "peak_s": ("onset_s", "takeoff_s"),
    "impulses_s": {"unweighting_impulse_ns": ("unweighting_start_s", "unweighting_end_s"),
                   "braking_impulse_ns": ("braking_start_s", "braking_end_s"),
                   "propulsive_impulse_ns": ("propulsion_start_s", "propulsion_end_s"),
                   "push_impulse_ns": ("onset_s", "takeoff_s")},
    "means_s": {"mean_propulsive_force_n": ("propulsion_start_s", "propulsion_end_s")},
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class JumpResult:
    """Metrics of one countermovement or squat jump (McMahon et al. 2018 landmarks).

    Times in s from the first sample; ``phases`` maps phase name to (start_s, end_s),
    NaN where a phase does not exist (no countermovement in a squat jump). The weighing
    window is ``[weighing_start_s, weighing_end_s)``, found ``before`` the movement or
    ``after`` landing, or ``given``; ``flight_baseline_n`` and ``flight_sd_n`` are the
    plate's reading and noise in the air, from which the take-off threshold is set.
    """

    jump_type: str
    body_weight_n: float
    baseline_sd_n: float
    weighing_range_n: float
    weighing_start_s: float
    weighing_end_s: float
    weighing_where: str
    onset_index: int
    onset_s: float
    takeoff_s: float
    landing_s: float
    flight_time_s: float
    takeoff_velocity_m_s: float
    jump_height_m: float
    jump_height_flight_m: float
    time_to_takeoff_s: float
    rsi_mod: float
    countermovement_depth_m: float
    peak_force_n: float
    min_force_n: float
    mean_braking_force_n: float
    mean_propulsive_force_n: float
    peak_power_w: float
    mean_propulsive_power_w: float
    takeoff_threshold_n: float
    flight_baseline_n: float
    flight_sd_n: float
    phases: Mapping[str, tuple[float, float]]
    valid: bool
    flags: tuple[str, ...]
    params: Mapping[str, Any] = field(repr=False)

    def limb_windows(self, end_s: float) -> dict[str, Any]:
        """Windows :func:`labkit.signal.force.limbs_of` compares the limbs over (``end_s``:
        the trace's last sample); :data:`LIMB_WINDOWS` names them."""
        row = self.to_dict()
        return {key: ({k: (row[a], row[b]) for k, (a, b) in spec.items()} if isinstance(spec, dict)
                      else (row[spec[0]], row[spec[1]])) for key, spec in LIMB_WINDOWS.items()}

    def to_dict(self) -> dict[str, Any]:
        """Flat scalar metrics (one table row); phases become ``<phase>_start_s`` etc."""
        d: dict[str, Any] = {}
        for name in JumpResult.__slots__:
            if name in ("phases", "flags", "params", "valid"):
                continue
            d[name] = getattr(self, name)
        for ph, (a, b) in self.phases.items():
            d[f"{ph}_start_s"] = a
            d[f"{ph}_end_s"] = b
            d[f"{ph}_duration_s"] = b - a
        d["valid"] = self.valid
        d["flags"] = ";".join(self.flags)
        d["method"] = self.params["method"]
        return d


_JUMP_FLAGS = (
    "no_onset",
    "no_takeoff",
    "no_landing",
    "unstable_weighing",
    "flight_time_out_of_range",
    "nonpositive_takeoff_velocity",
    "countermovement",
    "wrong_jump_type",
)

_TIMING = {"interpolate": True, "sample": False}
_TAKEOFF_REF = {"zero": False, "min": True}


def _jump_defaults(**overrides: Any) -> dict[str, Any]:
    """The keyword parameters of :func:`cmj` and their defaults, ``overrides`` applied.

    Read from the signature of :func:`cmj` (:func:`squat_jump` and :func:`cmj_batch`
    take the same ones), so the defaults are written in the public functions only.
    """
    return keyword_defaults(cmj, overrides)


def _jump_setup(fs, kw, method) -> dict[str, Any]:
    """Validate the keyword parameters; the kernel arguments shared by every trial."""
    if kw["timing"] not in _TIMING:
        raise SignalError(f"timing={kw['timing']!r} is unknown; use one of {sorted(_TIMING)}")
    if kw["takeoff_ref"] not in _TAKEOFF_REF:
        raise SignalError(
            f"takeoff_ref={kw['takeoff_ref']!r} is unknown; use one of {sorted(_TAKEOFF_REF)}"
        )
    for name in ("onset_k", "g", "min_countermovement_depth_m", "countermovement_k",
                 "max_weighing_range_n", "max_flight_s", "min_body_weight_n", "takeoff_k",
                 "weighing_s"):  # fmt: skip
        positive(name, kw[name])
    positive("takeoff_refine_k", kw["takeoff_refine_k"], allow_zero=True)
    for name in ("min_flight_s", "takeoff_min_n"):
        positive(name, kw[name], allow_zero=True)
    if kw["weighing_start_s"] is not None:
        positive("weighing_start_s", kw["weighing_start_s"], allow_zero=True)
    tk = kw["takeoff_n"]
    if tk is not None and not (isinstance(tk, int | float) and math.isfinite(tk)):
        raise SignalError(f"takeoff_n={tk!r} must be a finite force in N, or None (from the flight noise)")
    params = {"method": method, "fs_hz": fs, **kw, "sd_ddof": 1, "labkit_version": __version__}
    return {
        "args": (
            float(kw["g"]),
            float(kw["onset_k"]),
            bool(kw["onset_two_sided"]),
            samples("onset_hold_s", kw["onset_hold_s"], fs, minimum=1),
            samples("onset_backstep_s", kw["onset_backstep_s"], fs),
        ),
        "tail": (
            samples("takeoff_hold_s", kw["takeoff_hold_s"], fs, minimum=1),
            samples("landing_hold_s", kw["landing_hold_s"], fs, minimum=1),
            _TIMING[kw["timing"]],
        ),
        "params": params,
    }


def _jump_rows(s, fs, scal, method, lays) -> dict[str, Any]:
    p = s["params"]
    g = p["g"]
    idx = {k: scal[:, c].copy() for k, c in (
        ("onset", _k.CMJ_ONSET), ("to", _k.CMJ_TAKEOFF_IDX), ("ld", _k.CMJ_LANDING_IDX),
        ("b", _k.CMJ_B_IDX), ("z", _k.CMJ_Z_IDX), ("le", _k.CMJ_LAND_END_IDX))}  # fmt: skip
    for v in idx.values():
        v[v < 0] = np.nan
    bw = scal[:, _k.CMJ_BASELINE]
    onset_s = idx["onset"] / fs
    to_s = scal[:, _k.CMJ_TAKEOFF_S]
    ld_s = scal[:, _k.CMJ_LANDING_S]
    flight = ld_s - to_s
    v_to = scal[:, _k.CMJ_V_TAKEOFF]
    with np.errstate(invalid="ignore"):
        h = np.where(v_to > 0, v_to**2 / (2 * g), np.nan)
        h_f = g * flight**2 / 8.0
        ttt = to_s - onset_s
        is_cm = -scal[:, _k.CMJ_MIN_DISP] >= p["min_countermovement_depth_m"]
        jump_type = np.where(is_cm, "countermovement", "squat")
        b_s = np.where(is_cm, idx["b"] / fs, np.nan)
        z_s = np.where(is_cm, idx["z"] / fs, np.nan)
        prop_start = np.where(is_cm, z_s, onset_s)
        cm_before_peak = scal[:, _k.CMJ_MIN_PRE_PEAK] < bw - p["countermovement_k"] * scal[:, _k.CMJ_SD]
        expected = {"cmj": "countermovement", "squat_jump": "squat"}[method]
        flags = np.column_stack(
            [
                np.isnan(idx["onset"]),
                ~np.isnan(idx["onset"]) & np.isnan(idx["to"]),
                ~np.isnan(idx["to"]) & np.isnan(idx["ld"]),
                scal[:, _k.CMJ_RANGE] > p["max_weighing_range_n"],
                ~np.isnan(flight) & ((flight < p["min_flight_s"]) | (flight > p["max_flight_s"])),
                ~np.isnan(idx["to"]) & ~(v_to > 0),
                (method == "squat_jump") & ~np.isnan(idx["to"]) & cm_before_peak,
                ~np.isnan(idx["to"]) & (jump_type != expected),
            ]
        )
    return {
        "jump_type": jump_type,
        "body_weight_n": bw,
        "baseline_sd_n": scal[:, _k.CMJ_SD],
        "weighing_range_n": scal[:, _k.CMJ_RANGE],
        "weighing_start_s": np.array([la.w0 / fs for la in lays]),
        "weighing_end_s": np.array([la.w1 / fs for la in lays]),
        "weighing_where": np.array([la.where for la in lays]),
        "onset_index": np.where(np.isnan(idx["onset"]), -1, idx["onset"]).astype(np.int64),
        "onset_s": onset_s,
        "takeoff_s": to_s,
        "landing_s": ld_s,
        "flight_time_s": flight,
        "takeoff_velocity_m_s": v_to,
        "jump_height_m": h,
        "jump_height_flight_m": h_f,
        "time_to_takeoff_s": ttt,
        "rsi_mod": h / ttt,
        "countermovement_depth_m": -scal[:, _k.CMJ_MIN_DISP],
        "peak_force_n": scal[:, _k.CMJ_PEAK_FORCE],
        "min_force_n": scal[:, _k.CMJ_MIN_FORCE],
        "mean_braking_force_n": np.where(is_cm, scal[:, _k.CMJ_MEAN_BRAKING_F], np.nan),
        "mean_propulsive_force_n": scal[:, _k.CMJ_MEAN_PROP_F],
        "peak_power_w": scal[:, _k.CMJ_PEAK_POWER],
        "mean_propulsive_power_w": scal[:, _k.CMJ_MEAN_PROP_POWER],
        "takeoff_threshold_n": scal[:, _k.CMJ_TAKEOFF_THR],
        "flight_baseline_n": np.array([la.flight_baseline_n for la in lays]),
        "flight_sd_n": np.array([la.flight_sd_n for la in lays]),
        "phases": {
            "unweighting": (np.where(is_cm, onset_s, np.nan), b_s),
            "braking": (b_s, z_s),
            "propulsion": (prop_start, to_s),
            "flight": (to_s, ld_s),
            "landing": (ld_s, idx["le"] / fs),
        },
        "flags": flags,
    }


_JUMP_SCALARS = (
    "body_weight_n", "baseline_sd_n", "weighing_range_n", "weighing_start_s", "weighing_end_s",
    "onset_s", "takeoff_s",
    "landing_s", "flight_time_s", "takeoff_velocity_m_s", "jump_height_m",
    "jump_height_flight_m", "time_to_takeoff_s", "rsi_mod", "countermovement_depth_m",
    "peak_force_n", "min_force_n", "mean_braking_force_n", "mean_propulsive_force_n",
    "peak_power_w", "mean_propulsive_power_w", "takeoff_threshold_n", "flight_baseline_n",
    "flight_sd_n",
)  # fmt: skip


def _run_kernel(f: np.ndarray, fs: float, s: dict[str, Any], out: np.ndarray) -> _jump_phases.Layout:
    """One trial: its layout (weighing, flight, threshold), then the kernel into ``out``."""
    la = _jump_phases.layout(f, fs, s["params"])
    _k.jump_trial(f, f.shape[0], fs, la.w0, la.w1, la.s0, *s["args"], la.threshold_n,
                  la.flight_baseline_n, la.band_n, la.refine, *s["tail"], out)  # fmt: skip
    return la


def _jump(f_n, fs_hz, method: str, options: dict[str, Any]) -> JumpResult:
    """One jump through the kernel; ``options`` are the keyword parameters of :func:`cmj`."""
    fs = check_fs(fs_hz)
    f = check_trace(f_n)
    s = _jump_setup(fs, options, method)
    scal = np.empty((1, _k.CMJ_NCOLS))
    la = _run_kernel(f, fs, s, scal[0])
    rows = _jump_rows(s, fs, scal, method, [la])
    flags = flags_tuple(_JUMP_FLAGS, rows["flags"])[0]
    return JumpResult(
        jump_type=str(rows["jump_type"][0]),
        weighing_where=la.where,
        onset_index=int(rows["onset_index"][0]),
        **{k: float(rows[k][0]) for k in _JUMP_SCALARS},
        phases=MappingProxyType(
            {ph: (float(a[0]), float(b[0])) for ph, (a, b) in rows["phases"].items()}
        ),
        valid=not flags,
        flags=flags,
        params=MappingProxyType(dict(s["params"])),
    )


def cmj(
    f_n: ArrayLike,
    fs_hz: float,
    *,
    weighing_s: float = 1.0,
    weighing_start_s: float | None = None,
    min_body_weight_n: float = 200.0,
    onset_k: float = 5.0,
    onset_two_sided: bool = True,
    onset_hold_s: float = 0.030,
    onset_backstep_s: float = 0.030,
    takeoff_n: float | None = None,
    takeoff_k: float = 5.0,
    takeoff_min_n: float = 5.0,
    takeoff_ref: str = "zero",
    takeoff_refine: bool = True,
    takeoff_refine_k: float = 2.0,
    takeoff_hold_s: float = 0.015,
    landing_hold_s: float = 0.015,
    timing: str = "interpolate",
    g: float = G_STANDARD,
    min_countermovement_depth_m: float = 0.03,
    countermovement_k: float = 5.0,
    max_weighing_range_n: float = 50.0,
    min_flight_s: float = 0.1,
    max_flight_s: float = 2.0,
) -> JumpResult:
    """Analyse one countermovement jump.

    Weighing: body weight BW is the mean of the weighing window, m = BW / g. Unless
    ``weighing_start_s`` is given, the window is found: the most stable (smallest SD)
    window of ``weighing_s`` with every sample >= ``min_body_weight_n``, in the loaded
    stretch the athlete takes off from (after stepping on, before the flight), or else
    in the one after landing; none moving by <= ``max_weighing_range_n`` raises
    SignalError. Onset: first sample where |F - BW| > onset_k * SD for onset_hold_s,
    searched after the weighing window (or from the start of the take-off stretch when
    weighed after landing), then stepped back onset_backstep_s. Velocity and
    displacement integrate (F - BW) / m from onset (trapezoid). Takeoff: first sample
    below the threshold held for takeoff_hold_s (or until the record ends), refined on
    to where the force reaches the flight baseline; landing: first sample at or above
    the threshold held for landing_hold_s, refined back to the flight baseline. Jump
    height by impulse-momentum h = v_TO^2 / (2 g) (``jump_height_m``) and by flight
    time h = g t_f^2 / 8 (``jump_height_flight_m``).

    Parameters
    ----------
    f_n : array_like, shape (n,)
        Vertical force in N (sum over tared plates: about 0 N unloaded). NaN/inf raise
        SignalError.
    fs_hz : float
    weighing_s : float, default 1.0
        Length of the weighing window (s).
    weighing_start_s : float or None, default None
        Start of the weighing window (s); None finds the most stable loaded window.
    min_body_weight_n : float, default 200.0
        A weighing window is on the loaded plate when every sample is at least this;
        below half of it the plate counts as unloaded (flight, stepped off).
    onset_k : float, default 5.0
    onset_two_sided : bool, default True
    onset_hold_s : float, default 0.030
    onset_backstep_s : float, default 0.030
    takeoff_n : float or None, default None
        Fixed takeoff/landing threshold (N; see ``takeoff_ref``). None: the flight
        baseline + max(takeoff_k * flight SD, takeoff_min_n).
    takeoff_k : float, default 5.0
        Noise threshold in SDs of the unloaded plate in flight.
    takeoff_min_n : float, default 5.0
        The noise threshold is at least this far above the flight baseline.
    takeoff_ref : {"zero", "min"}, default "zero"
        Fixed thresholds: "min" puts it at min(F) + takeoff_n (plate offset).
    takeoff_refine : bool, default True
        Move takeoff on (landing back) from the threshold crossing to where the force
        reaches the flight baseline (the mean of the flight without its edges), so the
        whole push is integrated. False: the threshold crossings.
    takeoff_refine_k : float, default 2.0
        The force has reached the flight baseline at the first sample within this many
        flight SDs of it; the crossing is then where the decline, extended, meets the
        baseline (docs/metrics.md).
    takeoff_hold_s, landing_hold_s : float, default 0.015
    timing : {"interpolate", "sample"}, default "interpolate"
        "interpolate": takeoff_s and landing_s are the linear crossings (of the flight
        baseline when refined, else of the threshold) and the takeoff velocity is taken
        there. "sample": the first and the last airborne samples (flight time then
        reads about one sample short).
    g : float, default 9.80665
    min_countermovement_depth_m : float, default 0.03
        A centre-of-mass lowering (onset to takeoff) of at least this makes the jump a
        countermovement jump (``jump_type``); otherwise a squat jump.
    countermovement_k : float, default 5.0
        Squat jumps: flag ``countermovement`` when force drops below BW - k SD between
        the onset search start and peak force.
    max_weighing_range_n : float, default 50.0
    min_flight_s, max_flight_s : float, default 0.1 and 2.0
        Sanity limits of the flight time; an unloaded stretch longer than
        ``max_flight_s`` is a step-off, not a flight.

    Returns
    -------
    JumpResult

    Examples
    --------
    A 700 N athlete unweights to 420 N for 0.25 s, pushes at 1400 N for 0.3 s and is
    airborne for 0.4 s, so impulse and flight time give the same height:

    >>> import numpy as np
    >>> from labkit.signal import force
    >>> f = np.r_[np.full(1500, 700.0), np.full(250, 420.0), np.full(300, 1400.0),
    ...           np.zeros(400), np.full(1050, 700.0)]
    >>> r = force.cmj(f, 1000.0)
    >>> r.jump_type, round(r.jump_height_m, 3), round(r.jump_height_flight_m, 3), r.valid
    ('countermovement', 0.195, 0.195, True)
    """
    # Nothing but the parameters is bound yet: the keyword options, in signature order,
    # are recorded as they were passed (result.params).
    options = dict(locals())
    del options["f_n"], options["fs_hz"]
    return _jump(f_n, fs_hz, "cmj", options)


def squat_jump(
    f_n: ArrayLike,
    fs_hz: float,
    *,
    weighing_s: float = 1.0,
    weighing_start_s: float | None = None,
    min_body_weight_n: float = 200.0,
    onset_k: float = 5.0,
    onset_two_sided: bool = True,
    onset_hold_s: float = 0.030,
    onset_backstep_s: float = 0.030,
    takeoff_n: float | None = None,
    takeoff_k: float = 5.0,
    takeoff_min_n: float = 5.0,
    takeoff_ref: str = "zero",
    takeoff_refine: bool = True,
    takeoff_refine_k: float = 2.0,
    takeoff_hold_s: float = 0.015,
    landing_hold_s: float = 0.015,
    timing: str = "interpolate",
    g: float = G_STANDARD,
    min_countermovement_depth_m: float = 0.03,
    countermovement_k: float = 5.0,
    max_weighing_range_n: float = 50.0,
    min_flight_s: float = 0.1,
    max_flight_s: float = 2.0,
) -> JumpResult:
    """Analyse one squat jump (as :func:`cmj`; flags a countermovement before the push).

    Landmarks, heights and parameters are those of :func:`cmj`. A squat jump is
    flagged ``wrong_jump_type`` when the centre of mass sinks by at least
    ``min_countermovement_depth_m`` before the push, and ``countermovement`` when the
    force drops below BW - ``countermovement_k`` SD between the onset search start and
    peak force. Squat jumps often have no quiet standing before the push: the athlete
    is then weighed after landing.

    Parameters
    ----------
    f_n : array_like, shape (n,)
        Vertical force in N (sum over plates). NaN/inf raise SignalError.
    fs_hz : float
    min_countermovement_depth_m : float, default 0.03
        A deeper lowering makes the jump a countermovement jump (``jump_type``).
    countermovement_k : float, default 5.0
        Flag ``countermovement`` below BW - k SD between weighing and peak force.

    Returns
    -------
    JumpResult

    Other Parameters
    ----------------
    weighing_s, weighing_start_s, min_body_weight_n, onset_k, onset_two_sided, onset_hold_s
        As :func:`cmj`, with the same defaults.
    onset_backstep_s, takeoff_n, takeoff_k, takeoff_min_n, takeoff_ref, takeoff_refine
        As :func:`cmj`.
    takeoff_refine_k
        As :func:`cmj`.
    takeoff_hold_s, landing_hold_s, timing, g
        As :func:`cmj`.
    max_weighing_range_n, min_flight_s, max_flight_s
        As :func:`cmj`.
    """
    # Nothing but the parameters is bound yet (see cmj).
    options = dict(locals())
    del options["f_n"], options["fs_hz"]
    return _jump(f_n, fs_hz, "squat_jump", options)


def cmj_batch(
    trials: np.ndarray | Sequence[ArrayLike],
    fs_hz: float,
    *,
    squat: bool = False,
    weighing_s: float = 1.0,
    weighing_start_s: float | None = None,
    min_body_weight_n: float = 200.0,
    onset_k: float = 5.0,
    onset_two_sided: bool = True,
    onset_hold_s: float = 0.030,
    onset_backstep_s: float = 0.030,
    takeoff_n: float | None = None,
    takeoff_k: float = 5.0,
    takeoff_min_n: float = 5.0,
    takeoff_ref: str = "zero",
    takeoff_refine: bool = True,
    takeoff_refine_k: float = 2.0,
    takeoff_hold_s: float = 0.015,
    landing_hold_s: float = 0.015,
    timing: str = "interpolate",
    g: float = G_STANDARD,
    min_countermovement_depth_m: float = 0.03,
    countermovement_k: float = 5.0,
    max_weighing_range_n: float = 50.0,
    min_flight_s: float = 0.1,
    max_flight_s: float = 2.0,
) -> pd.DataFrame:
    """:func:`cmj` (or :func:`squat_jump` with ``squat=True``) over many trials,
    parallel over trials (numba).

    Parameters
    ----------
    trials : ndarray (n_trials, n_samples) or sequence of 1-D arrays
        Trials of possibly different lengths, all at ``fs_hz``.
    fs_hz : float
    squat : bool, default False
        Analyse the trials as squat jumps (:func:`squat_jump`).

    Returns
    -------
    pandas.DataFrame
        One row per trial with the columns of :meth:`JumpResult.to_dict`; the
        parameters are in ``df.attrs["params"]``.

    Other Parameters
    ----------------
    weighing_s, weighing_start_s, min_body_weight_n, onset_k, onset_two_sided, onset_hold_s
        As :func:`cmj`, with the same defaults.
    onset_backstep_s, takeoff_n, takeoff_k, takeoff_min_n, takeoff_ref, takeoff_refine
        As :func:`cmj`.
    takeoff_refine_k
        As :func:`cmj`.
    takeoff_hold_s, landing_hold_s, timing, g
        As :func:`cmj`.
    min_countermovement_depth_m, countermovement_k, max_weighing_range_n, min_flight_s
        As :func:`cmj`.
    max_flight_s
        As :func:`cmj`.
    """
    # Nothing but the parameters is bound yet (see cmj). squat picks the method (recorded
    # as params["method"]); it is not an analysis option, so it is not listed again.
    options = dict(locals())
    del options["trials"], options["fs_hz"], options["squat"]
    import pandas as pd  # late: only the batch table needs pandas

    fs = check_fs(fs_hz)
    F, lengths = pack_trials(trials)
    method = "squat_jump" if squat else "cmj"
    s = _jump_setup(fs, options, method)
    lays = _jump_phases.layouts(F, lengths, fs, s["params"])
    col = {name: np.array([getattr(la, name) for la in lays]) for name in
           ("w0", "w1", "s0", "threshold_n", "flight_baseline_n", "band_n")}  # fmt: skip
    scal = np.empty((F.shape[0], _k.CMJ_NCOLS))
    _k.jump_batch(F, lengths, fs, col["w0"].astype(np.int64), col["w1"].astype(np.int64),
                  col["s0"].astype(np.int64), *s["args"], col["threshold_n"],
                  col["flight_baseline_n"], col["band_n"], np.array([la.refine for la in lays]),
                  *s["tail"], scal)  # fmt: skip
    rows = _jump_rows(s, fs, scal, method, lays)
    df = pd.DataFrame(_jump_columns(rows, method))
    df.index.name = "trial"
    df.attrs["params"] = dict(s["params"])
    return df


def _jump_columns(rows: dict[str, Any], method: str) -> dict[str, Any]:
    """DataFrame columns of the batch, named and ordered as :meth:`JumpResult.to_dict`."""
    cols: dict[str, Any] = {"jump_type": rows["jump_type"], "weighing_where": rows["weighing_where"],
                            "onset_index": rows["onset_index"]}
    cols.update({k: rows[k] for k in _JUMP_SCALARS})
    for ph, (a, b) in rows["phases"].items():
        cols[f"{ph}_start_s"] = a
        cols[f"{ph}_end_s"] = b
        cols[f"{ph}_duration_s"] = b - a
    flags = flags_tuple(_JUMP_FLAGS, rows["flags"])
    cols["valid"] = np.array([not fl for fl in flags])
    cols["flags"] = [";".join(fl) for fl in flags]
    cols["method"] = method
    return cols
