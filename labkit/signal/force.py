"""Force-plate analysis: isometric tests, jumps, trial validity and plate maths.

numpy arrays and a sample rate in, small frozen result objects out. Definitions,
defaults and sources are in ``docs/metrics.md`` (from ``../shared/science.md``). Every
default is a keyword parameter and every result records all parameters used in
``.params`` (with the method name and the labkit version) for provenance.

Input with NaN or inf samples (dropped samples) is rejected with a
:class:`~labkit.errors.SignalError`: fill or cut the gap first; nothing is guessed.

>>> import numpy as np
>>> from labkit.signal import force
>>> fs = 1000.0
>>> t = np.arange(3000) / fs
>>> f = np.where(t < 1.5, 700.0, 700.0 + 4000.0 * (t - 1.5)).clip(max=2500.0)
>>> r = force.isometric(f, fs)
>>> round(r.onset_s, 3), r.force_at_n[100], round(r.peak_force_n, 1)
(1.501, 1104.0, 2500.0)
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from labkit._version import __version__
from labkit.errors import SignalError
from labkit.signal import _force_kernels as _k
from labkit.signal._checks import check_fs
from labkit.signal.force_plates import (
    centre_of_pressure,
    combine_plates,
    free_moment,
    kistler_8ch,
    plate_6ch,
    tare,
)

__all__ = [
    "IsometricResult",
    "JumpResult",
    "TrialAggregate",
    "aggregate_trials",
    "centre_of_pressure",
    "cmj",
    "cmj_batch",
    "combine_plates",
    "free_moment",
    "isometric",
    "isometric_batch",
    "kistler_8ch",
    "plate_6ch",
    "repeat_needed",
    "squat_jump",
    "tare",
]

G_STANDARD = 9.80665

# --------------------------------------------------------------------------------------
# validation helpers


def _check_trace(f_n, name: str = "f_n") -> np.ndarray:
    a = np.asarray(f_n)
    if a.ndim != 1:
        raise SignalError(f"{name} has shape {a.shape}; expected a 1-D force trace (N)")
    if a.dtype.kind not in "fiu":
        raise SignalError(f"{name} has dtype {a.dtype}; expected real numbers (N)")
    a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argmax(bad))
        raise SignalError(
            f"{name} has {int(bad.sum())} NaN/inf samples (first at index {i}); dropped "
            "samples must be filled or the trial cut before analysis"
        )
    return a


def _positive(name: str, value, *, allow_zero: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SignalError(f"{name}={value!r} is not a number") from None
    ok = x >= 0 if allow_zero else x > 0
    if not (math.isfinite(x) and ok):
        need = "non-negative" if allow_zero else "positive"
        raise SignalError(f"{name}={value!r} must be a {need} finite number")
    return x


def _samples(name: str, seconds: float, fs: float, *, minimum: int = 0) -> int:
    n = round(_positive(name, seconds, allow_zero=True) * fs)
    return max(n, minimum)


def _weighing_window(weighing_start_s, weighing_s, fs, n, *, hold=0) -> tuple[int, int]:
    w0 = _samples("weighing_start_s", weighing_start_s, fs)
    w1 = w0 + _samples("weighing_s", weighing_s, fs)
    if w1 - w0 < 2:
        raise SignalError(
            f"weighing_s={weighing_s!r} gives {w1 - w0} samples at {fs} Hz; need at least 2"
        )
    if w1 >= n:
        raise SignalError(
            f"weighing window ends at sample {w1} but the trace has {n} samples; shorten "
            "weighing_s or weighing_start_s, or pass a longer trial"
        )
    return w0, w1


def _epochs(name: str, epochs_ms, fs: float) -> tuple[tuple[float, ...], np.ndarray]:
    try:
        ms = tuple(float(e) for e in epochs_ms)
    except TypeError:
        raise SignalError(f"{name}={epochs_ms!r} must be a sequence of milliseconds") from None
    if not ms or any(not (math.isfinite(e) and e > 0) for e in ms):
        raise SignalError(f"{name}={epochs_ms!r} must be non-empty positive milliseconds")
    smp = np.array([e * fs / 1000.0 for e in ms])
    near = np.round(smp)
    smp = np.where(np.abs(smp - near) < 1e-9 * np.maximum(1.0, near), near, smp)
    return ms, smp


def _flags_tuple(names: Sequence[str], mask_rows: np.ndarray) -> list[tuple[str, ...]]:
    return [tuple(n for n, on in zip(names, row, strict=True) if on) for row in mask_rows]


def _ms_key(ms: float) -> str:
    return f"{ms:g}".replace(".", "p")


# --------------------------------------------------------------------------------------
# onset threshold methods: a registry of callables (name -> (abs_n, k_sd, frac_bw))


def _onset_sd(p: Mapping[str, Any]) -> tuple[float, float, float]:
    return 0.0, _positive("onset_k", p["onset_k"]), 0.0


def _onset_percent_bw(p: Mapping[str, Any]) -> tuple[float, float, float]:
    pct = _positive("onset_pct_bw", p["onset_pct_bw"])
    if pct >= 10.0:
        warnings.warn(
            f"onset_pct_bw={pct:g}: thresholds of 10 % BW and above detect onset late "
            "(biased); 2.5-5 % BW agree with 5 SD",
            stacklevel=4,
        )
    return 0.0, 0.0, pct / 100.0


def _onset_absolute(p: Mapping[str, Any]) -> tuple[float, float, float]:
    n = _positive("onset_n", p["onset_n"])
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
            d[f"force_at_{_ms_key(ms)}ms_n"] = v
        for ms, v in self.rfd_n_s.items():
            d[f"rfd_0_{_ms_key(ms)}ms_n_s"] = v
        for ms, v in self.impulse_ns.items():
            d[f"impulse_0_{_ms_key(ms)}ms_ns"] = v
        for (a, b), v in self.sequential_rfd_n_s.items():
            d[f"rfd_{_ms_key(a)}_{_ms_key(b)}ms_n_s"] = v
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
    w0, w1 = _weighing_window(kw["weighing_start_s"], kw["weighing_s"], fs, n_min)
    epochs_ms, epochs_smp = _epochs("epochs_ms", kw["epochs_ms"], fs)
    if any(b <= a for a, b in itertools.pairwise(epochs_ms)):
        raise SignalError(f"epochs_ms={kw['epochs_ms']!r} must be strictly increasing")
    seq = tuple(float(e) for e in kw["sequential_ms"])
    if len(seq) < 2 or seq[0] < 0 or any(b <= a for a, b in itertools.pairwise(seq)):
        raise SignalError(
            f"sequential_ms={kw['sequential_ms']!r} must be >= 2 increasing edges from >= 0 ms"
        )
    seq_smp = np.array([e * fs / 1000.0 for e in seq])
    near = np.round(seq_smp)
    seq_smp = np.where(np.abs(seq_smp - near) < 1e-9 * np.maximum(1.0, near), near, seq_smp)
    rfd_win = max(1, round(_positive("peak_rfd_window_ms", kw["peak_rfd_window_ms"]) * fs / 1000))
    backtrack = kw["onset_backtrack_n"]
    backtrack = np.nan if backtrack is None else _positive("onset_backtrack_n", backtrack, allow_zero=True)
    bw = kw["body_weight_n"]
    if bw is not None:
        bw = _positive("body_weight_n", bw)
    for name in (
        "max_weighing_range_n",
        "max_pretension_n",
        "countermovement_k",
        "g",
    ):
        _positive(name, kw[name])
    for name in ("plateau_margin_s", "min_effort_s"):
        _positive(name, kw[name], allow_zero=True)
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
        "hold": _samples("onset_hold_s", kw["onset_hold_s"], fs, minimum=1),
        "backtrack": float(backtrack),
        "backstep": _samples("onset_backstep_s", kw["onset_backstep_s"], fs),
        "epochs_ms": epochs_ms,
        "epochs_smp": epochs_smp,
        "seq_ms": seq,
        "seq_smp": seq_smp,
        "rfd_win": rfd_win,
        "params": params,
    }


def _iso_defaults(
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
) -> dict[str, Any]:
    return dict(locals())


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


def isometric(f_n, fs_hz, **kwargs) -> IsometricResult:
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
    fs = check_fs(fs_hz)
    f = _check_trace(f_n)
    kw = _iso_defaults(**kwargs)
    s = _isometric_setup(fs, f.shape[0], kw)
    n_ep = s["epochs_smp"].shape[0]
    n_seq = s["seq_smp"].shape[0] - 1
    scal = np.empty((1, _k.ISO_NCOLS))
    fa = np.empty((1, n_ep))
    rfd = np.empty((1, n_ep))
    imp = np.empty((1, n_ep))
    seq = np.empty((1, n_seq))
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
    flags = _flags_tuple(_ISO_FLAGS, rows["flags"][i : i + 1])[0]
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


def _pack_trials(trials) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D array (one trial per row) or a list of 1-D traces -> padded 2-D + lengths."""
    if isinstance(trials, np.ndarray) and trials.ndim == 2:
        F = np.ascontiguousarray(trials, dtype=np.float64)
        if not np.isfinite(F.sum()):  # fast path: a finite sum means every sample is finite
            bad = ~np.isfinite(F)
            if bad.any():
                t, i = np.argwhere(bad)[0]
                raise SignalError(
                    f"trials has {int(bad.sum())} NaN/inf samples (first: trial {t}, index "
                    f"{i}); fill or cut dropped samples before analysis"
                )
        return F, np.full(F.shape[0], F.shape[1], dtype=np.int64)
    seqs = [_check_trace(tr, f"trials[{i}]") for i, tr in enumerate(trials)]
    if not seqs:
        raise SignalError("trials is empty; pass a 2-D array or a list of 1-D traces")
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    F = np.zeros((len(seqs), int(lengths.max())))
    for i, s in enumerate(seqs):
        F[i, : s.shape[0]] = s
    return F, lengths


def isometric_batch(trials, fs_hz, **kwargs):
    """:func:`isometric` over many trials at once, parallel over trials (numba).

    Parameters
    ----------
    trials : ndarray (n_trials, n_samples) or sequence of 1-D arrays
        Trials of possibly different lengths, all at ``fs_hz``.
    fs_hz : float
    **kwargs
        As :func:`isometric`; ``body_weight_n`` may also be a sequence, one per trial.

    Returns
    -------
    pandas.DataFrame
        One row per trial with the columns of :meth:`IsometricResult.to_dict`; the
        parameters are in ``df.attrs["params"]``.
    """
    import pandas as pd

    fs = check_fs(fs_hz)
    F, lengths = _pack_trials(trials)
    bw_arg = kwargs.pop("body_weight_n", None)
    if bw_arg is None or np.ndim(bw_arg) == 0:
        kw = _iso_defaults(body_weight_n=bw_arg, **kwargs)
        bws = np.full(F.shape[0], np.nan if bw_arg is None else float(bw_arg))
    else:
        bws = np.asarray(bw_arg, dtype=np.float64)
        if bws.shape != (F.shape[0],) or not (bws > 0).all():
            raise SignalError(
                f"body_weight_n has shape {bws.shape}; give one positive value per trial "
                f"({F.shape[0]}) or a scalar"
            )
        kw = _iso_defaults(body_weight_n=None, **kwargs)
    s = _isometric_setup(fs, int(lengths.min()), kw)
    if bw_arg is not None and np.ndim(bw_arg) != 0:
        s["params"]["body_weight_n"] = tuple(bws.tolist())
    T = F.shape[0]
    n_ep = s["epochs_smp"].shape[0]
    n_seq = s["seq_smp"].shape[0] - 1
    scal = np.empty((T, _k.ISO_NCOLS))
    fa = np.empty((T, n_ep))
    rfd = np.empty((T, n_ep))
    imp = np.empty((T, n_ep))
    seq = np.empty((T, n_seq))
    _k.isometric_batch(
        F, lengths, fs, s["w0"], s["w1"], bws, *s["thr"], s["two_sided"], s["hold"],
        s["backtrack"], s["backstep"], s["epochs_smp"], s["seq_smp"], s["rfd_win"],
        scal, fa, rfd, imp, seq,
    )  # fmt: skip
    rows = _iso_rows(s, fs, lengths, scal, fa, rfd, imp, seq, bws)
    cols: dict[str, Any] = {
        k: rows[k]
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
    for j, ms in enumerate(s["epochs_ms"]):
        cols[f"force_at_{_ms_key(ms)}ms_n"] = rows["force_at"][:, j]
    for j, ms in enumerate(s["epochs_ms"]):
        cols[f"rfd_0_{_ms_key(ms)}ms_n_s"] = rows["rfd"][:, j]
    for j, ms in enumerate(s["epochs_ms"]):
        cols[f"impulse_0_{_ms_key(ms)}ms_ns"] = rows["impulse"][:, j]
    sq = s["seq_ms"]
    for j in range(len(sq) - 1):
        cols[f"rfd_{_ms_key(sq[j])}_{_ms_key(sq[j + 1])}ms_n_s"] = rows["seq"][:, j]
    flags = _flags_tuple(_ISO_FLAGS, rows["flags"])
    cols["valid"] = np.array([not fl for fl in flags])
    cols["flags"] = [";".join(fl) for fl in flags]
    cols["method"] = "isometric"
    df = pd.DataFrame(cols)
    df.index.name = "trial"
    df.attrs["params"] = dict(s["params"])
    return df


# --------------------------------------------------------------------------------------
# jumps

PHASES = ("unweighting", "braking", "propulsion", "flight", "landing")


@dataclass(frozen=True, slots=True)
class JumpResult:
    """Metrics of one countermovement or squat jump (McMahon et al. 2018 landmarks).

    Times in s from the first sample; ``phases`` maps phase name to (start_s, end_s),
    NaN where a phase does not exist (no countermovement in a squat jump).
    """

    jump_type: str
    body_weight_n: float
    baseline_sd_n: float
    weighing_range_n: float
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
    phases: Mapping[str, tuple[float, float]]
    valid: bool
    flags: tuple[str, ...]
    params: Mapping[str, Any] = field(repr=False)

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


def _jump_defaults(
    *,
    weighing_s: float = 1.0,
    weighing_start_s: float = 0.0,
    onset_k: float = 5.0,
    onset_two_sided: bool = True,
    onset_hold_s: float = 0.030,
    onset_backstep_s: float = 0.030,
    takeoff_n: float = 20.0,
    takeoff_ref: str = "zero",
    takeoff_hold_s: float = 0.015,
    landing_hold_s: float = 0.015,
    timing: str = "interpolate",
    g: float = G_STANDARD,
    countermovement_dip_n: float = 250.0,
    countermovement_k: float = 5.0,
    max_weighing_range_n: float = 50.0,
    min_flight_s: float = 0.1,
    max_flight_s: float = 2.0,
) -> dict[str, Any]:
    return dict(locals())


def _jump_setup(fs, n_min, kw, method) -> dict[str, Any]:
    w0, w1 = _weighing_window(kw["weighing_start_s"], kw["weighing_s"], fs, n_min)
    if kw["timing"] not in _TIMING:
        raise SignalError(f"timing={kw['timing']!r} is unknown; use one of {sorted(_TIMING)}")
    if kw["takeoff_ref"] not in _TAKEOFF_REF:
        raise SignalError(
            f"takeoff_ref={kw['takeoff_ref']!r} is unknown; use one of {sorted(_TAKEOFF_REF)}"
        )
    for name in ("onset_k", "g", "countermovement_dip_n", "countermovement_k",
                 "max_weighing_range_n", "max_flight_s"):  # fmt: skip
        _positive(name, kw[name])
    _positive("min_flight_s", kw["min_flight_s"], allow_zero=True)
    tk = float(kw["takeoff_n"])
    if not math.isfinite(tk):
        raise SignalError(f"takeoff_n={kw['takeoff_n']!r} must be a finite force in N")
    params = {"method": method, "fs_hz": fs, **kw, "sd_ddof": 1, "labkit_version": __version__}
    return {
        "w0": w0,
        "w1": w1,
        "args": (
            float(kw["g"]),
            float(kw["onset_k"]),
            bool(kw["onset_two_sided"]),
            _samples("onset_hold_s", kw["onset_hold_s"], fs, minimum=1),
            _samples("onset_backstep_s", kw["onset_backstep_s"], fs),
            tk,
            _TAKEOFF_REF[kw["takeoff_ref"]],
            _samples("takeoff_hold_s", kw["takeoff_hold_s"], fs, minimum=1),
            _samples("landing_hold_s", kw["landing_hold_s"], fs, minimum=1),
            _TIMING[kw["timing"]],
        ),
        "params": params,
    }


def _jump_rows(s, fs, scal, method) -> dict[str, Any]:
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
        is_cm = scal[:, _k.CMJ_MIN_FORCE] < bw - p["countermovement_dip_n"]
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
    "body_weight_n", "baseline_sd_n", "weighing_range_n", "onset_s", "takeoff_s",
    "landing_s", "flight_time_s", "takeoff_velocity_m_s", "jump_height_m",
    "jump_height_flight_m", "time_to_takeoff_s", "rsi_mod", "countermovement_depth_m",
    "peak_force_n", "min_force_n", "mean_braking_force_n", "mean_propulsive_force_n",
    "peak_power_w", "mean_propulsive_power_w", "takeoff_threshold_n",
)  # fmt: skip


def _jump(f_n, fs_hz, method, kwargs) -> JumpResult:
    fs = check_fs(fs_hz)
    f = _check_trace(f_n)
    kw = _jump_defaults(**kwargs)
    s = _jump_setup(fs, f.shape[0], kw, method)
    scal = np.empty((1, _k.CMJ_NCOLS))
    _k.jump_trial(f, f.shape[0], fs, s["w0"], s["w1"], *s["args"], scal[0])
    rows = _jump_rows(s, fs, scal, method)
    flags = _flags_tuple(_JUMP_FLAGS, rows["flags"])[0]
    return JumpResult(
        jump_type=str(rows["jump_type"][0]),
        onset_index=int(rows["onset_index"][0]),
        **{k: float(rows[k][0]) for k in _JUMP_SCALARS},
        phases=MappingProxyType(
            {ph: (float(a[0]), float(b[0])) for ph, (a, b) in rows["phases"].items()}
        ),
        valid=not flags,
        flags=flags,
        params=MappingProxyType(dict(s["params"])),
    )


_JUMP_DOC = """

    Body weight is the mean of the weighing window, m = BW / g. Onset: first sample where
    |F - BW| > onset_k * SD for onset_hold_s, searched after the weighing window, then
    stepped back onset_backstep_s. Velocity and displacement integrate (F - BW) / m from
    onset (trapezoid). Takeoff: first sample below the takeoff threshold held for
    takeoff_hold_s; landing: first sample at or above it held for landing_hold_s.
    Jump height by impulse-momentum h = v_TO^2 / (2 g) (``jump_height_m``) and by flight
    time h = g t_f^2 / 8 (``jump_height_flight_m``).

    Parameters
    ----------
    f_n : array_like, shape (n,)
        Vertical force in N (sum over plates). NaN/inf raise SignalError.
    fs_hz : float
    weighing_s : float, default 1.0
    weighing_start_s : float, default 0.0
    onset_k : float, default 5.0
    onset_two_sided : bool, default True
    onset_hold_s : float, default 0.030
    onset_backstep_s : float, default 0.030
    takeoff_n : float, default 20.0
        Takeoff/landing threshold (N), absolute or above the trial's minimum force.
    takeoff_ref : {"zero", "min"}, default "zero"
        "min" puts the threshold at min(F) + takeoff_n (plate offset or flight noise).
    takeoff_hold_s, landing_hold_s : float, default 0.015
    timing : {"interpolate", "sample"}, default "interpolate"
        "interpolate": takeoff_s and landing_s are the linear threshold crossings and the
        takeoff velocity is taken there. "sample": the first and the last airborne
        samples (flight time then reads about one sample short on real data).
    g : float, default 9.80665
    countermovement_dip_n : float, default 250.0
        A dip more than this below BW between onset and peak force makes the jump a
        countermovement jump (``jump_type``); otherwise a squat jump.
    countermovement_k : float, default 5.0
        Squat jumps: flag ``countermovement`` when force drops below BW - k SD between
        weighing and peak force.
    max_weighing_range_n : float, default 50.0
    min_flight_s, max_flight_s : float, default 0.1 and 2.0
        Sanity limits of the flight time.

    Returns
    -------
    JumpResult
    """


def cmj(f_n, fs_hz, **kwargs) -> JumpResult:
    return _jump(f_n, fs_hz, "cmj", kwargs)


def squat_jump(f_n, fs_hz, **kwargs) -> JumpResult:
    return _jump(f_n, fs_hz, "squat_jump", kwargs)


cmj.__doc__ = "Analyse one countermovement jump." + _JUMP_DOC
squat_jump.__doc__ = (
    "Analyse one squat jump (as :func:`cmj`; flags a countermovement before the push)."
    + _JUMP_DOC
)


def cmj_batch(trials, fs_hz, *, squat: bool = False, **kwargs):
    """:func:`cmj` (or :func:`squat_jump` with ``squat=True``) over many trials,
    parallel over trials (numba). Returns a pandas DataFrame, one row per trial, with
    the columns of :meth:`JumpResult.to_dict` and the parameters in ``df.attrs``."""
    import pandas as pd

    fs = check_fs(fs_hz)
    F, lengths = _pack_trials(trials)
    method = "squat_jump" if squat else "cmj"
    kw = _jump_defaults(**kwargs)
    s = _jump_setup(fs, int(lengths.min()), kw, method)
    scal = np.empty((F.shape[0], _k.CMJ_NCOLS))
    _k.jump_batch(F, lengths, fs, s["w0"], s["w1"], *s["args"], scal)
    rows = _jump_rows(s, fs, scal, method)
    cols: dict[str, Any] = {"jump_type": rows["jump_type"], "onset_index": rows["onset_index"]}
    cols.update({k: rows[k] for k in _JUMP_SCALARS})
    for ph, (a, b) in rows["phases"].items():
        cols[f"{ph}_start_s"] = a
        cols[f"{ph}_end_s"] = b
        cols[f"{ph}_duration_s"] = b - a
    flags = _flags_tuple(_JUMP_FLAGS, rows["flags"])
    cols["valid"] = np.array([not fl for fl in flags])
    cols["flags"] = [";".join(fl) for fl in flags]
    cols["method"] = method
    df = pd.DataFrame(cols)
    df.index.name = "trial"
    df.attrs["params"] = dict(s["params"])
    return df


# --------------------------------------------------------------------------------------
# between-trial helpers


@dataclass(frozen=True, slots=True)
class TrialAggregate:
    """A between-trial summary: the value, how it was formed and from how many trials."""

    value: float
    method: str
    n_trials: int
    n_used: int
    used: tuple[int, ...]
    repeat_needed: bool
    best_two_diff: float
    params: Mapping[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "method": self.method,
            "n_trials": self.n_trials,
            "n_used": self.n_used,
            "repeat_needed": self.repeat_needed,
            "best_two_diff": self.best_two_diff,
        }


def _values(trials, metric: str, valid_only: bool) -> tuple[np.ndarray, np.ndarray]:
    vals, keep = [], []
    for i, t in enumerate(trials):
        if isinstance(t, int | float | np.floating | np.integer):
            vals.append(float(t))
            keep.append(True)
        else:
            try:
                v = getattr(t, metric)
            except AttributeError:
                raise SignalError(f"trials[{i}] has no attribute {metric!r}; pass metric=") from None
            vals.append(float(v))
            keep.append(bool(t.valid) or not valid_only)
    a = np.asarray(vals, dtype=np.float64)
    return a, np.asarray(keep, dtype=bool) & np.isfinite(a)


# name -> (number of best trials averaged, minimum number of trials required)
AGGREGATES: dict[str, tuple[int, int]] = {
    "best": (1, 1),
    "mean_best_2": (2, 2),
    "mean_best_3_of_5": (3, 5),
}


def repeat_needed(peaks_n, *, max_diff_n: float = 250.0) -> bool:
    """True when the best two peak forces differ by more than ``max_diff_n`` (N).

    >>> repeat_needed([3100.0, 2800.0, 2900.0])
    False
    >>> repeat_needed([3300.0, 2900.0])
    True
    """
    a = np.sort(np.asarray(peaks_n, dtype=np.float64)[np.isfinite(peaks_n)])[::-1]
    return bool(a.size >= 2 and a[0] - a[1] > max_diff_n)


def aggregate_trials(
    trials,
    *,
    method: str = "mean_best_2",
    metric: str = "peak_force_n",
    valid_only: bool = True,
    higher_is_better: bool = True,
    max_diff_n: float = 250.0,
) -> TrialAggregate:
    """Combine repeated trials: best of n, mean of the best 2, or mean of best 3 of >= 5.

    Parameters
    ----------
    trials : sequence of results (IsometricResult, JumpResult) or of numbers
    method : {"best", "mean_best_2", "mean_best_3_of_5"}, default "mean_best_2"
    metric : str, default "peak_force_n"
        Attribute read from each result (ignored for plain numbers).
    valid_only : bool, default True
        Skip results whose ``valid`` is False.
    higher_is_better : bool, default True
    max_diff_n : float, default 250.0
        ``repeat_needed`` when the best two differ by more than this.

    Returns
    -------
    TrialAggregate
        ``value`` is NaN when fewer usable trials than the method needs.

    Examples
    --------
    >>> aggregate_trials([3000.0, 3100.0, 2900.0]).value
    3050.0
    """
    if method not in AGGREGATES:
        raise SignalError(f"method={method!r} is unknown; use one of {sorted(AGGREGATES)}")
    k, need = AGGREGATES[method]
    vals, keep = _values(list(trials), metric, valid_only)
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(-vals[idx] if higher_is_better else vals[idx], kind="stable")]
    used = tuple(int(i) for i in order[:k])
    value = float(np.mean(vals[list(used)])) if order.size >= need else math.nan
    diff = float(abs(vals[order[0]] - vals[order[1]])) if order.size >= 2 else math.nan
    return TrialAggregate(
        value=value,
        method=method,
        n_trials=len(vals),
        n_used=len(used) if order.size >= need else 0,
        used=used if order.size >= need else (),
        repeat_needed=bool(diff > max_diff_n),
        best_two_diff=diff,
        params=MappingProxyType(
            {"method": method, "metric": metric, "valid_only": valid_only,
             "higher_is_better": higher_is_better, "max_diff_n": max_diff_n,
             "labkit_version": __version__}
        ),
    )


# --------------------------------------------------------------------------------------
# Show every keyword default in the public signatures (help(), IDEs, inspect): the
# defaults live once, in _iso_defaults and _jump_defaults.


def _with_keywords(fn, defaults_fn, extra=()):
    import inspect

    sig = inspect.signature(fn)
    positional = [p for p in sig.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    keywords = list(extra) + list(inspect.signature(defaults_fn).parameters.values())
    fn.__signature__ = sig.replace(parameters=positional + keywords)


def _install_signatures() -> None:
    import inspect

    squat = inspect.Parameter("squat", inspect.Parameter.KEYWORD_ONLY, default=False,
                              annotation=bool)  # fmt: skip
    _with_keywords(isometric, _iso_defaults)
    _with_keywords(isometric_batch, _iso_defaults)
    _with_keywords(cmj, _jump_defaults)
    _with_keywords(squat_jump, _jump_defaults)
    _with_keywords(cmj_batch, _jump_defaults, extra=(squat,))


_install_signatures()
