"""Isometric force tests (IMTP, isometric squat, hip and trunk tests): onset, RFD,
impulse, plateau and validity flags, one trial or many.

The public names are re-exported by :mod:`labkit.signal.force`; import them from there.
Definitions and defaults are in ``docs/metrics.md``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal import _force_kernels as _k
from labkit.signal._checks import check_fs
from labkit.signal._force_common import (
    G_STANDARD,
    check_trace,
    epochs,
    flags_tuple,
    keyword_defaults,
    ms_key,
    pack_trials,
    positive,
    samples,
    snap_samples,
    weighing_window,
)

if TYPE_CHECKING:  # pandas is imported by the batch functions only, when called
    import pandas as pd

__all__ = ["ONSET_METHODS", "IsometricResult", "isometric", "isometric_batch"]

# --------------------------------------------------------------------------------------
# onset threshold methods: a registry of callables (name -> (abs_n, k_sd, frac_bw)).
# Their warnings use stacklevel=4 (method <- _isometric_setup <- isometric or
# isometric_batch <- caller) so they point at the caller's line.


def _onset_sd(p: Mapping[str, Any]) -> tuple[float, float, float]:
    return 0.0, positive("onset_k", p["onset_k"]), 0.0


def _onset_percent_bw(p: Mapping[str, Any]) -> tuple[float, float, float]:
    pct = positive("onset_pct_bw", p["onset_pct_bw"])
    if pct >= 10.0:
        warnings.warn(
            f"onset_pct_bw={pct:g}: thresholds of 10 % BW and above detect onset late "
            "(biased); 2.5-5 % BW agree with 5 SD",
            stacklevel=4,
        )
    return 0.0, 0.0, pct / 100.0


def _onset_absolute(p: Mapping[str, Any]) -> tuple[float, float, float]:
    n = positive("onset_n", p["onset_n"])
    if n >= 75.0:
        warnings.warn(
            f"onset_n={n:g} N: absolute thresholds of 75 N and above detect onset late (biased)",
            stacklevel=4,
        )
    return n, 0.0, 0.0


ONSET_METHODS: dict[str, Callable[[Mapping[str, Any]], tuple[float, float, float]]] = {
    "sd": _onset_sd,
    "percent_bw": _onset_percent_bw,
    "absolute": _onset_absolute,
}

# --------------------------------------------------------------------------------------
# isometric


@dataclass(frozen=True, slots=True)
class IsometricResult:
    """Metrics of one isometric trial (IMTP, isometric squat, hip or trunk test).

    Forces in N, times in s (from the first sample), RFD in N/s, impulse in N*s (net of
    the baseline). ``force_at_n``, ``rfd_n_s`` and ``impulse_ns`` map epoch (ms after
    onset) to value; NaN when the epoch runs past the end or no onset was found.
    """

    body_weight_n: float
    baseline_n: float
    baseline_sd_n: float
    weighing_range_n: float
    onset_threshold_n: float
    onset_index: int
    onset_s: float
    peak_force_n: float
    net_peak_force_n: float
    relative_peak_force_n_kg: float
    peak_index: int
    time_to_peak_s: float
    force_at_n: Mapping[float, float]
    rfd_n_s: Mapping[float, float]
    impulse_ns: Mapping[float, float]
    sequential_rfd_n_s: Mapping[tuple[float, float], float]
    peak_rfd_n_s: float
    pretension_n: float
    valid: bool
    flags: tuple[str, ...]
    params: Mapping[str, Any] = field(repr=False)

    def limb_windows(self, end_s: float) -> dict[str, Any]:
        """Windows :func:`labkit.signal.force.limbs_of` compares the limbs over (``end_s``:
        the trace's last sample): peak onset -> end, impulse and RFD 0 -> X ms."""
        from labkit.signal.force_limbs import epoch_windows

        p = self.params
        w0 = float(p["weighing_start_s"])
        ep = epoch_windows(self.onset_s, p["epochs_ms"], end_s)
        return {"weighing_s": (w0, w0 + float(p["weighing_s"])), "peak_s": (self.onset_s, end_s),
                "impulses_s": {f"impulse_0_{ms_key(ms)}ms_ns": w for ms, w in ep.items()},
                "rfd_s": {f"rfd_0_{ms_key(ms)}ms_n_s": w for ms, w in ep.items()}}

    def to_dict(self) -> dict[str, Any]:
        """Flat scalar metrics (one table row); epochs become ``force_at_100ms_n`` etc."""
        d: dict[str, Any] = {
            k: getattr(self, k)
            for k in (
                "body_weight_n",
                "baseline_n",
                "baseline_sd_n",
                "weighing_range_n",
                "onset_threshold_n",
                "onset_index",
                "onset_s",
                "peak_force_n",
                "net_peak_force_n",
                "relative_peak_force_n_kg",
                "time_to_peak_s",
                "peak_rfd_n_s",
                "pretension_n",
            )
        }
        for ms, v in self.force_at_n.items():
            d[f"force_at_{ms_key(ms)}ms_n"] = v
        for ms, v in self.rfd_n_s.items():
            d[f"rfd_0_{ms_key(ms)}ms_n_s"] = v
        for ms, v in self.impulse_ns.items():
            d[f"impulse_0_{ms_key(ms)}ms_ns"] = v
        for (a, b), v in self.sequential_rfd_n_s.items():
            d[f"rfd_{ms_key(a)}_{ms_key(b)}ms_n_s"] = v
        d["valid"] = self.valid
        d["flags"] = ";".join(self.flags)
        d["method"] = self.params["method"]
        return d


_ISO_FLAGS = (
    "no_onset",
    "unstable_weighing",
    "pretension",
    "countermovement",
    "plateau_not_reached",
    "clipped",
    "onset_too_late",
)


def _isometric_setup(fs, n_min, kw) -> dict[str, Any]:
    """Validate isometric keyword parameters; return kernel arguments and params."""
    method = kw["onset"]
    if method not in ONSET_METHODS:
        raise SignalError(f"onset={method!r} is unknown; use one of {sorted(ONSET_METHODS)}")
    thr_abs, thr_k, thr_frac = ONSET_METHODS[method](kw)
    w0, w1 = weighing_window(kw["weighing_start_s"], kw["weighing_s"], fs, n_min)
    epochs_ms, epochs_smp = epochs("epochs_ms", kw["epochs_ms"], fs)
    if any(b <= a for a, b in itertools.pairwise(epochs_ms)):
        raise SignalError(f"epochs_ms={kw['epochs_ms']!r} must be strictly increasing")
    seq = tuple(float(e) for e in kw["sequential_ms"])
    if len(seq) < 2 or seq[0] < 0 or any(b <= a for a, b in itertools.pairwise(seq)):
        raise SignalError(
            f"sequential_ms={kw['sequential_ms']!r} must be >= 2 increasing edges from >= 0 ms"
        )
    seq_smp = snap_samples(seq, fs)
    rfd_win = max(1, round(positive("peak_rfd_window_ms", kw["peak_rfd_window_ms"]) * fs / 1000))
    backtrack = kw["onset_backtrack_n"]
    backtrack = np.nan if backtrack is None else positive("onset_backtrack_n", backtrack, allow_zero=True)
    bw = kw["body_weight_n"]
    if bw is not None:
        bw = positive("body_weight_n", bw)
    for name in (
        "max_weighing_range_n",
        "max_pretension_n",
        "countermovement_k",
        "g",
    ):
        positive(name, kw[name])
    for name in ("plateau_margin_s", "min_effort_s"):
        positive(name, kw[name], allow_zero=True)
    if kw["clip_run"] is not None and int(kw["clip_run"]) < 2:
        raise SignalError(f"clip_run={kw['clip_run']!r} must be an integer >= 2 or None")
    params = {"method": "isometric", "fs_hz": fs, **kw, "epochs_ms": epochs_ms,
              "sequential_ms": seq, "sd_ddof": 1, "labkit_version": __version__}
    return {
        "w0": w0,
        "w1": w1,
        "bw": np.nan if bw is None else bw,
        "thr": (float(thr_abs), float(thr_k), float(thr_frac)),
        "two_sided": bool(kw["onset_two_sided"]),
        "hold": samples("onset_hold_s", kw["onset_hold_s"], fs, minimum=1),
        "backtrack": float(backtrack),
        "backstep": samples("onset_backstep_s", kw["onset_backstep_s"], fs),
        "epochs_ms": epochs_ms,
        "epochs_smp": epochs_smp,
        "seq_ms": seq,
        "seq_smp": seq_smp,
        "rfd_win": rfd_win,
        "params": params,
    }


def _iso_defaults(**overrides: Any) -> dict[str, Any]:
    """The keyword parameters of :func:`isometric` and their defaults, ``overrides`` applied.

    For callers that prepare the kernels themselves (``benchmarks/bench_force.py`` passes
    the result to :func:`_isometric_setup`). Read from the signature of :func:`isometric`,
    so the defaults are written in one place only.
    """
    return keyword_defaults(isometric, overrides)


def _iso_rows(setup, fs, lengths, scal, force_at, rfd, imp, seq, bws) -> dict[str, np.ndarray]:
    """Vectorised metrics and flags from kernel output (one row per trial)."""
    p = setup["params"]
    baseline = scal[:, _k.ISO_BASELINE]
    sd = scal[:, _k.ISO_SD]
    onset = scal[:, _k.ISO_ONSET].astype(np.int64)
    has_onset = onset >= 0
    onset_s = np.where(has_onset, onset / fs, np.nan)
    peak = scal[:, _k.ISO_PEAK]
    peak_idx = scal[:, _k.ISO_PEAK_IDX].astype(np.int64)
    body_weight = np.where(np.isnan(bws), baseline, bws)
    pretension = np.where(np.isnan(bws), np.nan, baseline - bws)
    dur_s = lengths / fs
    with np.errstate(invalid="ignore"):
        flags = np.column_stack(
            [
                ~has_onset,
                scal[:, _k.ISO_RANGE] > p["max_weighing_range_n"],
                pretension > p["max_pretension_n"],
                scal[:, _k.ISO_MIN_PRE] < baseline - p["countermovement_k"] * sd,
                has_onset & ((lengths - 1 - peak_idx) / fs < p["plateau_margin_s"]),
                (scal[:, _k.ISO_CLIP_RUN] >= (p["clip_run"] or np.inf))
                | (peak >= (np.inf if p["clip_n"] is None else p["clip_n"])),
                has_onset
                & (
                    (dur_s - onset_s < p["min_effort_s"])
                    | (onset_s > (np.inf if p["max_onset_s"] is None else p["max_onset_s"]))
                ),
            ]
        )
    return {
        "body_weight_n": body_weight,
        "baseline_n": baseline,
        "baseline_sd_n": sd,
        "weighing_range_n": scal[:, _k.ISO_RANGE],
        "onset_threshold_n": scal[:, _k.ISO_THRESHOLD],
        "onset_index": onset,
        "onset_s": onset_s,
        "peak_force_n": peak,
        "net_peak_force_n": peak - baseline,
        "relative_peak_force_n_kg": peak / (body_weight / p["g"]),
        "peak_index": peak_idx,
        "time_to_peak_s": np.where(has_onset, (peak_idx - onset) / fs, np.nan),
        "peak_rfd_n_s": scal[:, _k.ISO_PEAK_RFD],
        "pretension_n": pretension,
        "force_at": force_at,
        "rfd": rfd,
        "impulse": imp,
        "seq": seq,
        "flags": flags,
    }


def _iso_outputs(n_trials: int, s: Mapping[str, Any]) -> tuple[np.ndarray, ...]:
    """Preallocated kernel outputs: scalars, force at, RFD, impulse, sequential RFD."""
    n_ep = s["epochs_smp"].shape[0]
    n_seq = s["seq_smp"].shape[0] - 1
    return (np.empty((n_trials, _k.ISO_NCOLS)), np.empty((n_trials, n_ep)),
            np.empty((n_trials, n_ep)), np.empty((n_trials, n_ep)), np.empty((n_trials, n_seq)))


def isometric(
    f_n: ArrayLike,
    fs_hz: float,
    *,
    weighing_s: float = 1.0,
    weighing_start_s: float = 0.0,
    onset: str = "sd",
    onset_k: float = 5.0,
    onset_two_sided: bool = False,
    onset_pct_bw: float = 5.0,
    onset_n: float = 20.0,
    onset_hold_s: float = 0.030,
    onset_backtrack_n: float | None = None,
    onset_backstep_s: float = 0.0,
    epochs_ms: Sequence[float] = (50, 90, 100, 150, 200, 250),
    sequential_ms: Sequence[float] = (0, 50, 100, 150, 200, 250),
    peak_rfd_window_ms: float = 20.0,
    body_weight_n: float | None = None,
    g: float = G_STANDARD,
    max_weighing_range_n: float = 50.0,
    max_pretension_n: float = 100.0,
    countermovement_k: float = 5.0,
    plateau_margin_s: float = 0.25,
    min_effort_s: float = 1.0,
    max_onset_s: float | None = None,
    clip_n: float | None = None,
    clip_run: int | None = 10,
) -> IsometricResult:
    """Analyse one isometric trial (IMTP, isometric squat, hip extension/flexion, trunk).

    The baseline is the mean of the weighing window (body weight when the athlete stands
    on the plate; tared noise for a load cell). Onset is searched only after the
    weighing window: the first sample whose deviation from the baseline exceeds the
    threshold and stays above it for ``onset_hold_s``. No filtering is applied.

    Parameters
    ----------
    f_n : array_like, shape (n,)
        Vertical (or dynamometer) force in N. NaN/inf raise SignalError.
    fs_hz : float
        Sample rate in Hz (>= 1000 Hz recommended for RFD).
    weighing_s : float, default 1.0
        Length of the weighing (baseline) window.
    weighing_start_s : float, default 0.0
        Start of the weighing window.
    onset : {"sd", "percent_bw", "absolute"}, default "sd"
        Threshold: ``onset_k`` * SD, ``onset_pct_bw`` % of body weight, or ``onset_n`` N.
    onset_k : float, default 5.0
        Multiple of the baseline SD (ddof=1) for ``onset="sd"``.
    onset_two_sided : bool, default False
        Use |F - baseline| (True) or F - baseline (False, pulls and pushes).
    onset_pct_bw : float, default 5.0
    onset_n : float, default 20.0
    onset_hold_s : float, default 0.030
        The threshold must be exceeded continuously for this long.
    onset_backtrack_n : float or None, default None
        If set, step back from the detected sample to the last sample within this many
        newtons of the baseline.
    onset_backstep_s : float, default 0.0
        Fixed step back after detection.
    epochs_ms : sequence of float, default (50, 90, 100, 150, 200, 250)
        Epochs after onset for force, mean RFD ((F(on+X) - F(on)) / X) and net impulse.
    sequential_ms : sequence of float, default (0, 50, 100, 150, 200, 250)
        Edges of the sequential RFD windows.
    peak_rfd_window_ms : float, default 20.0
        Window of the sliding peak RFD (onset to peak; less reliable than epoch RFD).
    body_weight_n : float or None, default None
        Body weight for relative force, %BW onset and the pretension check; None uses
        the baseline (athlete on the plate). Give it for load-cell tests.
    g : float, default 9.80665
    max_weighing_range_n : float, default 50.0
        Flag ``unstable_weighing`` when max - min in the weighing window exceeds this.
    max_pretension_n : float, default 100.0
        Flag ``pretension`` when baseline - body_weight_n exceeds this (needs
        ``body_weight_n``: pretension cannot be told from body weight otherwise).
    countermovement_k : float, default 5.0
        Flag ``countermovement`` when the force between weighing and onset drops below
        baseline - k * SD.
    plateau_margin_s : float, default 0.25
        Flag ``plateau_not_reached`` when the peak is within this of the end of the record.
    min_effort_s : float, default 1.0
        Flag ``onset_too_late`` when less than this remains after onset ...
    max_onset_s : float or None, default None
        ... or when the onset is later than this.
    clip_n : float or None, default None
        Flag ``clipped`` when |peak| reaches this amplifier limit ...
    clip_run : int or None, default 10
        ... or when this many consecutive samples sit exactly at the maximum.

    Returns
    -------
    IsometricResult

    Examples
    --------
    >>> import numpy as np
    >>> from labkit.signal import force
    >>> t = np.arange(4000) / 1000.0
    >>> f = 800.0 + np.clip(3000.0 * (t - 1.2), 0.0, 1500.0)
    >>> r = force.isometric(f, 1000.0)
    >>> round(r.rfd_n_s[100], 6), r.net_peak_force_n
    (3000.0, 1500.0)
    """
    # Nothing but the parameters is bound yet: the keyword options, in signature order,
    # are recorded as they were passed (result.params).
    options = dict(locals())
    del options["f_n"], options["fs_hz"]
    fs = check_fs(fs_hz)
    f = check_trace(f_n)
    s = _isometric_setup(fs, f.shape[0], options)
    scal, fa, rfd, imp, seq = _iso_outputs(1, s)
    _k.isometric_trial(
        f, f.shape[0], fs, s["w0"], s["w1"], s["bw"], *s["thr"], s["two_sided"], s["hold"],
        s["backtrack"], s["backstep"], s["epochs_smp"], s["seq_smp"], s["rfd_win"],
        scal[0], fa[0], rfd[0], imp[0], seq[0],
    )  # fmt: skip
    rows = _iso_rows(s, fs, np.array([f.shape[0]]), scal, fa, rfd, imp, seq, np.array([s["bw"]]))
    return _iso_result(rows, 0, s)


def _iso_result(rows, i, s) -> IsometricResult:
    ep = s["epochs_ms"]
    seq_ms = s["seq_ms"]
    flags = flags_tuple(_ISO_FLAGS, rows["flags"][i : i + 1])[0]
    return IsometricResult(
        body_weight_n=float(rows["body_weight_n"][i]),
        baseline_n=float(rows["baseline_n"][i]),
        baseline_sd_n=float(rows["baseline_sd_n"][i]),
        weighing_range_n=float(rows["weighing_range_n"][i]),
        onset_threshold_n=float(rows["onset_threshold_n"][i]),
        onset_index=int(rows["onset_index"][i]),
        onset_s=float(rows["onset_s"][i]),
        peak_force_n=float(rows["peak_force_n"][i]),
        net_peak_force_n=float(rows["net_peak_force_n"][i]),
        relative_peak_force_n_kg=float(rows["relative_peak_force_n_kg"][i]),
        peak_index=int(rows["peak_index"][i]),
        time_to_peak_s=float(rows["time_to_peak_s"][i]),
        force_at_n=MappingProxyType(dict(zip(ep, rows["force_at"][i].tolist(), strict=True))),
        rfd_n_s=MappingProxyType(dict(zip(ep, rows["rfd"][i].tolist(), strict=True))),
        impulse_ns=MappingProxyType(dict(zip(ep, rows["impulse"][i].tolist(), strict=True))),
        sequential_rfd_n_s=MappingProxyType(
            dict(zip(itertools.pairwise(seq_ms), rows["seq"][i].tolist(), strict=True))
        ),
        peak_rfd_n_s=float(rows["peak_rfd_n_s"][i]),
        pretension_n=float(rows["pretension_n"][i]),
        valid=not flags,
        flags=flags,
        params=MappingProxyType(dict(s["params"])),
    )



_ISO_SCALAR_COLUMNS = (
    "body_weight_n",
    "baseline_n",
    "baseline_sd_n",
    "weighing_range_n",
    "onset_threshold_n",
    "onset_index",
    "onset_s",
    "peak_force_n",
    "net_peak_force_n",
    "relative_peak_force_n_kg",
    "time_to_peak_s",
    "peak_rfd_n_s",
    "pretension_n",
)


def _iso_columns(rows: Mapping[str, Any], s: Mapping[str, Any]) -> dict[str, Any]:
    """DataFrame columns of the batch, named and ordered as :meth:`IsometricResult.to_dict`."""
    cols: dict[str, Any] = {k: rows[k] for k in _ISO_SCALAR_COLUMNS}
    for j, ms in enumerate(s["epochs_ms"]):
        cols[f"force_at_{ms_key(ms)}ms_n"] = rows["force_at"][:, j]
    for j, ms in enumerate(s["epochs_ms"]):
        cols[f"rfd_0_{ms_key(ms)}ms_n_s"] = rows["rfd"][:, j]
    for j, ms in enumerate(s["epochs_ms"]):
        cols[f"impulse_0_{ms_key(ms)}ms_ns"] = rows["impulse"][:, j]
    sq = s["seq_ms"]
    for j in range(len(sq) - 1):
        cols[f"rfd_{ms_key(sq[j])}_{ms_key(sq[j + 1])}ms_n_s"] = rows["seq"][:, j]
    flags = flags_tuple(_ISO_FLAGS, rows["flags"])
    cols["valid"] = np.array([not fl for fl in flags])
    cols["flags"] = [";".join(fl) for fl in flags]
    cols["method"] = "isometric"
    return cols


def _trial_body_weights(body_weight_n, n_trials: int) -> np.ndarray:
    """One body weight per trial from a sequence, or a SignalError (not one positive each)."""
    bws = np.asarray(body_weight_n, dtype=np.float64)
    if bws.shape != (n_trials,) or not (bws > 0).all():
        raise SignalError(
            f"body_weight_n has shape {bws.shape}; give one positive value per trial "
            f"({n_trials}) or a scalar"
        )
    return bws


def isometric_batch(
    trials: np.ndarray | Sequence[ArrayLike],
    fs_hz: float,
    *,
    weighing_s: float = 1.0,
    weighing_start_s: float = 0.0,
    onset: str = "sd",
    onset_k: float = 5.0,
    onset_two_sided: bool = False,
    onset_pct_bw: float = 5.0,
    onset_n: float = 20.0,
    onset_hold_s: float = 0.030,
    onset_backtrack_n: float | None = None,
    onset_backstep_s: float = 0.0,
    epochs_ms: Sequence[float] = (50, 90, 100, 150, 200, 250),
    sequential_ms: Sequence[float] = (0, 50, 100, 150, 200, 250),
    peak_rfd_window_ms: float = 20.0,
    body_weight_n: float | Sequence[float] | None = None,
    g: float = G_STANDARD,
    max_weighing_range_n: float = 50.0,
    max_pretension_n: float = 100.0,
    countermovement_k: float = 5.0,
    plateau_margin_s: float = 0.25,
    min_effort_s: float = 1.0,
    max_onset_s: float | None = None,
    clip_n: float | None = None,
    clip_run: int | None = 10,
) -> pd.DataFrame:
    """:func:`isometric` over many trials at once, parallel over trials (numba).

    Parameters
    ----------
    trials : ndarray (n_trials, n_samples) or sequence of 1-D arrays
        Trials of possibly different lengths, all at ``fs_hz``.
    fs_hz : float
    body_weight_n : float, sequence of float or None, default None
        As :func:`isometric`, or one body weight per trial.

    Returns
    -------
    pandas.DataFrame
        One row per trial with the columns of :meth:`IsometricResult.to_dict`; the
        parameters are in ``df.attrs["params"]``.

    Other Parameters
    ----------------
    weighing_s, weighing_start_s, onset, onset_k, onset_two_sided, onset_pct_bw, onset_n
        As :func:`isometric`, with the same defaults.
    onset_hold_s, onset_backtrack_n, onset_backstep_s, epochs_ms, sequential_ms
        As :func:`isometric`.
    peak_rfd_window_ms, g, max_weighing_range_n, max_pretension_n, countermovement_k
        As :func:`isometric`.
    plateau_margin_s, min_effort_s, max_onset_s, clip_n, clip_run
        As :func:`isometric`.
    """
    # Nothing but the parameters is bound yet (see isometric).
    options = dict(locals())
    del options["trials"], options["fs_hz"]
    import pandas as pd  # late: only the batch table needs pandas

    fs = check_fs(fs_hz)
    F, lengths = pack_trials(trials)
    per_trial = body_weight_n is not None and np.ndim(body_weight_n) != 0
    if per_trial:
        bws = _trial_body_weights(body_weight_n, F.shape[0])
        options["body_weight_n"] = None  # validated above; the setup checks scalars only
    else:
        bws = np.full(F.shape[0], np.nan if body_weight_n is None else float(body_weight_n))
    s = _isometric_setup(fs, int(lengths.min()), options)
    if per_trial:
        s["params"]["body_weight_n"] = tuple(bws.tolist())
    scal, fa, rfd, imp, seq = _iso_outputs(F.shape[0], s)
    _k.isometric_batch(
        F, lengths, fs, s["w0"], s["w1"], bws, *s["thr"], s["two_sided"], s["hold"],
        s["backtrack"], s["backstep"], s["epochs_smp"], s["seq_smp"], s["rfd_win"],
        scal, fa, rfd, imp, seq,
    )  # fmt: skip
    rows = _iso_rows(s, fs, lengths, scal, fa, rfd, imp, seq, bws)
    df = pd.DataFrame(_iso_columns(rows, s))
    df.index.name = "trial"
    df.attrs["params"] = dict(s["params"])
    return df
