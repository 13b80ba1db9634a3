"""EMG burst detection: :func:`detect_onsets` and its result :class:`Bursts`.

Part of :mod:`labkit.signal.emg` (import the names from there).  The pipeline
(preprocessing, a method of :data:`ONSET_METHODS`, debouncing, a refiner of
:data:`REFINERS`) is described in :func:`detect_onsets` and ``docs/emg.md``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.errors import SignalError
from labkit.signal import _emg_kernels as _k
from labkit.signal._checks import check_fs
from labkit.signal._emg_common import _as_2d, _blocks, _provenance, _samples
from labkit.signal.emg_ecg import ECG_METHODS
from labkit.signal.emg_filters import (
    _causal_gaps,
    _filtfilt_gaps,
    _offsets,
    butter_sos,
    group_delay_s,
    notch,
)
from labkit.signal.emg_onset_methods import (
    DEFAULT_METHOD,
    DEFAULT_REFINER,
    ONSET_METHODS,
    REFINERS,
    _range_stats,
)

__all__ = ["REFINE_SIGNALS", "Bursts", "detect_onsets"]

#: What the changepoint refiner fits: ``"zero_phase"``, the band-passed signal the
#: bursts are found on (forward-backward: its anti-causal half spreads a sharp onset's
#: energy up to ~40 ms backwards), or ``"causal"``, the same band-pass run forwards only
#: (no energy before the onset; docs/emg.md).
REFINE_SIGNALS = ("zero_phase", "causal")


@dataclass(frozen=True)
class Bursts:
    """Bursts of one channel from :func:`detect_onsets`.

    Attributes
    ----------
    onset_s, offset_s : numpy.ndarray
        Seconds from the first sample, sorted, one entry per burst (offset exclusive:
        the first sample back below threshold).
    peak : numpy.ndarray
        Peak moving RMS of the band-passed signal within each burst (input units).
    coarse_onset_s : numpy.ndarray
        Onsets before the changepoint refinement (equal to ``onset_s`` without it).
    params : dict
        Every parameter used, the method name, the resolved baseline and threshold.
    """

    onset_s: np.ndarray
    offset_s: np.ndarray
    peak: np.ndarray
    coarse_onset_s: np.ndarray
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.onset_s.shape[0])

    def to_frame(self):
        """The bursts as a pandas DataFrame (``params`` in ``.attrs``)."""
        import pandas as pd

        df = pd.DataFrame(
            {
                "onset_s": self.onset_s,
                "offset_s": self.offset_s,
                "duration_s": self.offset_s - self.onset_s,
                "peak": self.peak,
                "coarse_onset_s": self.coarse_onset_s,
            }
        )
        df.attrs["params"] = dict(self.params)
        return df


def _options_with_defaults(fn: Callable, options: dict, skip: set[str], what: str) -> dict:
    sig = inspect.signature(fn)
    allowed = {
        n: p.default
        for n, p in sig.parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and n not in skip
    }
    unknown = set(options) - set(allowed)
    if unknown:
        raise SignalError(
            f"unknown option(s) {sorted(unknown)} for {what}; allowed: {sorted(allowed)}"
        )
    return {**allowed, **options}


def _baseline_ranges(filtered, fs, baseline_s, baseline_window_s, baseline_tolerance):
    """Per-channel baseline sample ranges ``[(starts, stops), ...]``.

    Automatic: windows of ``baseline_window_s`` on a half-window grid whose band-passed
    power is within ``1 + baseline_tolerance`` of the quietest one.  Using every such
    window (not only the quietest, whose statistics are biased low by the selection)
    keeps the threshold unbiased.
    """
    n, n_ch = filtered.shape
    if baseline_s is None:
        win = _samples("baseline_window_s", baseline_window_s, fs, minimum=4)
        if win > n:
            raise SignalError(
                f"baseline_window_s={baseline_window_s!r} is longer than the signal "
                f"({n / fs:.3f} s); shorten it or pass baseline_s=(start_s, stop_s)"
            )
        step = max(1, win // 2)
        n_w = (n - win) // step + 1
        power = np.empty((n_w, n_ch))
        _k.window_power(filtered, win, step, _blocks(n_ch), power)
        out = []
        for c in range(n_ch):
            p = power[:, c]
            if not np.isfinite(p).any():
                raise SignalError(
                    f"channel {c} has no {baseline_window_s} s window without NaN for the "
                    "baseline; pass baseline_s=(start_s, stop_s) or a shorter "
                    "baseline_window_s"
                )
            keep = np.flatnonzero(p <= np.nanmin(p) * (1.0 + baseline_tolerance))
            out.append((keep * step, keep * step + win))
        return out
    try:
        b0, b1 = (float(v) for v in baseline_s)
    except (TypeError, ValueError):
        raise SignalError(
            f"baseline_s={baseline_s!r} must be (start_s, stop_s) in seconds or None"
        ) from None
    i0, i1 = round(b0 * fs), round(b1 * fs)
    if not (0 <= i0 < i1 <= n) or i1 - i0 < 2:
        raise SignalError(
            f"baseline_s={baseline_s!r} must lie within the signal (0 to {n / fs:.3f} s) "
            "and span at least 2 samples"
        )
    return [(np.array([i0]), np.array([i1])) for _ in range(n_ch)]


def _resolve_refiner(method: str, refine: bool | str) -> str | None:
    """Check ``method`` and turn ``refine`` into a key of :data:`REFINERS` or None."""
    if method not in ONSET_METHODS:
        raise SignalError(f"method={method!r} is not one of {sorted(ONSET_METHODS)}")
    refiner = DEFAULT_REFINER if refine is True else (refine or None)
    if refiner is not None and refiner not in REFINERS:
        raise SignalError(f"refine={refine!r} must be True, False or one of {sorted(REFINERS)}")
    return refiner


def _onset_options(method, refiner, method_options, refine_options) -> tuple[dict, dict]:
    """Options of the method and of the refiner, completed with their defaults."""
    m_opts = _options_with_defaults(
        ONSET_METHODS[method], dict(method_options or {}), {"threshold_sd"}, f"method {method!r}"
    )
    r_opts = (
        _options_with_defaults(REFINERS[refiner], dict(refine_options or {}), set(),
                               f"refiner {refiner!r}")
        if refiner
        else {}
    )
    return m_opts, r_opts


def _offset_threshold(thr: np.ndarray, info: dict, offset_sd: float | None) -> np.ndarray:
    """Per-channel level a burst must fall to to end (hysteresis; ``thr`` without it)."""
    if offset_sd is not None and "baseline_sd" in info:
        return np.minimum(info["baseline_mean"] + float(offset_sd) * info["baseline_sd"], thr)
    return thr  # no hysteresis (or a method whose score has no baseline mean and SD)


def _threshold_runs(score, thr, thr_off, min_on: int, min_off: int):
    """Debounced supra-threshold runs of every channel: ``(channel, start, stop)`` sample
    arrays sorted by channel then start (kernel ``threshold_bursts``)."""
    n, n_ch = score.shape
    cap = n // max(min_on, 1) + 2
    on_idx = np.empty((cap, n_ch), dtype=np.int64)
    off_idx = np.empty((cap, n_ch), dtype=np.int64)
    counts = np.empty(n_ch, dtype=np.int64)
    _k.threshold_bursts(score, thr, thr_off, min_on, min_off, _blocks(n_ch), on_idx, off_idx,
                        counts)
    ch = np.concatenate([np.full(counts[c], c, dtype=np.int64) for c in range(n_ch)])
    on = np.concatenate([on_idx[: counts[c], c] for c in range(n_ch)])
    off = np.concatenate([off_idx[: counts[c], c] for c in range(n_ch)])
    return ch, on, off


def _refine_onsets(filtered, fs, base, ch, on, off, refiner, r_opts, refine_pre_s, refine_post_s,
                   delay_samples: int = 0):
    """Onsets refined by the changepoint model ``refiner`` in a window around each coarse
    onset (never before the previous burst of the channel, never past its offset), minus
    ``delay_samples`` (the causal filter's delay); a refined onset outside
    ``[0, offset)`` keeps the coarse one."""
    n = filtered.shape[0]
    pre = _samples("refine_pre_s", refine_pre_s, fs)
    post = _samples("refine_post_s", refine_post_s, fs)
    prev_off = np.zeros_like(off)
    same = np.r_[False, ch[1:] == ch[:-1]]
    prev_off[same] = off[:-1][same[1:]]
    lo = np.maximum(on - pre, prev_off)
    hi = np.minimum(np.minimum(on + post, off), n)
    base_var = _range_stats(filtered, base)[:, 3]
    new = REFINERS[refiner](filtered, fs, ch, lo, on, hi, base_var, **r_opts)
    ok = (new >= 0) & (new < off)
    new = np.where(ok, np.maximum(new - delay_samples, 0), on)
    return new


def _onset_params(fs, base, thr, thr_off, info, *, method, method_options, refine,
                  refine_options, baseline_s, baseline_window_s, baseline_tolerance,
                  threshold_sd, offset_sd, min_on_s, min_off_s, min_on_samples,
                  min_off_samples, gap_guard_s, refine_pre_s, refine_post_s, refine_on,
                  causal_delay_hz, causal_delay_samples, low_hz, high_hz,
                  order, offset, notch_hz, ecg, ecg_info, peak_window_s) -> dict:
    """``params`` of a :func:`detect_onsets` result: the arguments and what they resolved to."""
    return _provenance(
        "labkit.signal.emg.detect_onsets",
        {
            "method": method,
            "method_options": method_options,
            "refine": refine,
            "refine_options": refine_options,
            "fs_hz": fs,
            "baseline_s": None if baseline_s is None else tuple(float(v) for v in baseline_s),
            "baseline_window_s": baseline_window_s,
            "baseline_tolerance": baseline_tolerance,
            "baseline_used_s": [
                [(float(a / fs), float(b / fs)) for a, b in zip(lo, hi, strict=True)]
                for lo, hi in base
            ],
            "threshold_sd": threshold_sd,
            "threshold": [float(t) for t in thr],
            "offset_sd": offset_sd,
            "offset_threshold": [float(t) for t in thr_off],
            "min_on_s": min_on_s,
            "min_off_s": min_off_s,
            "min_on_samples": min_on_samples,
            "min_off_samples": min_off_samples,
            "gap_guard_s": gap_guard_s,
            "refine_pre_s": refine_pre_s,
            "refine_post_s": refine_post_s,
            "refine_on": refine_on,
            "causal_delay_hz": causal_delay_hz,
            "causal_delay_samples": causal_delay_samples,
            "low_hz": low_hz,
            "high_hz": high_hz,
            "order": order,
            "zero_phase_cutoff": True,
            "offset": offset,
            "notch_hz": notch_hz,
            "ecg": ecg,
            "ecg_info": ecg_info,
            "peak_window_s": peak_window_s,
            "method_info": {k: np.asarray(v).tolist() for k, v in info.items()},
        },
    )


def _bursts_frame(fs, ch, on, off, peak, coarse, channels, n_ch, params):
    """The bursts of 2-D input as a DataFrame, one row per burst."""
    import pandas as pd

    labels = np.asarray(list(channels) if channels is not None else range(n_ch), dtype=object)
    df = pd.DataFrame(
        {
            "channel": labels[ch] if ch.size else np.array([], dtype=object),
            "onset_s": on / fs,
            "offset_s": off / fs,
            "duration_s": (off - on) / fs,
            "peak": peak,
            "coarse_onset_s": coarse / fs,
        }
    )
    df.attrs["params"] = params
    return df


def detect_onsets(
    x: Any,
    fs_hz: float,
    *,
    method: str = DEFAULT_METHOD,
    baseline_s: tuple[float, float] | None = None,
    baseline_window_s: float = 0.5,
    baseline_tolerance: float = 0.25,
    threshold_sd: float = 3.0,
    offset_sd: float | None = 0.0,
    min_on_s: float = 0.040,
    min_off_s: float = 0.050,
    gap_guard_s: float = 0.1,
    refine: bool | str = True,
    refine_pre_s: float = 0.15,
    refine_post_s: float = 0.12,
    refine_on: str = "causal",
    causal_delay_hz: float | None = 80.0,
    low_hz: float = 20.0,
    high_hz: float = 450.0,
    order: int = 4,
    offset: str | None = "mean",
    notch_hz: float | None = None,
    ecg: str | None = None,
    peak_window_s: float = 0.05,
    channels: Sequence[str] | None = None,
    method_options: dict | None = None,
    refine_options: dict | None = None,
) -> Bursts | Any:
    """Detect EMG bursts and their onset and offset times.

    Pipeline: offset removal, optional notch, zero-phase band-pass, optional ECG
    suppression; the ``method`` turns the band-passed signal into a score and a
    threshold from baseline statistics of that same score; supra-threshold runs shorter
    than ``min_on_s`` are dropped and gaps shorter than ``min_off_s`` merged; each onset
    is then refined by a changepoint model fitted around it, on the causally band-passed
    signal by default (``refine_on``).

    Parameters
    ----------
    x : array_like
        Raw EMG, ``(n_samples,)`` or ``(n_samples, n_channels)``; NaN = dropped sample
        (a burst never spans a NaN gap).
    fs_hz : float
        Sample rate in Hz (exact; e.g. 2148.148148...).
    method : str
        Key of :data:`ONSET_METHODS`: ``"threshold"`` (Hodges & Bui, envelope),
        ``"tkeo"`` (Solnik), ``"double_threshold"`` (Bonato).
    baseline_s : (float, float) or None
        Baseline window (start, stop) in seconds from the first sample; None finds the
        baseline automatically per channel: every ``baseline_window_s`` window (on a
        half-window grid) whose band-passed power is within ``1 + baseline_tolerance``
        of the quietest window.
    baseline_window_s, baseline_tolerance : float
        Automatic baseline: window length (s) and relative power tolerance.
    threshold_sd : float
        Threshold = baseline mean + ``threshold_sd`` x baseline SD of the score.
    offset_sd : float or None
        Hysteresis: a burst, once started, lasts until the score falls to baseline
        mean + ``offset_sd`` x SD (None: until it falls below the onset threshold).
        Keeps one burst from flickering into many at low SNR.  Methods whose score has
        no baseline mean and SD (``double_threshold``) ignore it.
    min_on_s, min_off_s : float
        Debounce: bursts shorter than ``min_on_s`` are dropped, then gaps shorter than
        ``min_off_s`` are merged.  40 ms (not Hodges & Bui's 25 ms): the 20 Hz envelope
        of pure noise stays above mean + 3 SD for 25-30 ms now and then (its correlation
        time is about 25 ms); see docs/emg.md.
    gap_guard_s : float
        No burst may start or continue within this many seconds of a NaN gap edge (the
        filters restart there and their transients are not muscle activity).
    refine : bool or str
        Changepoint refiner from :data:`REFINERS` (True = ``"posterior"``; False =
        none).
    refine_pre_s, refine_post_s : float
        Refinement window around each coarse onset (never before the previous burst).
    refine_on : {"causal", "zero_phase"}
        Signal the refiner fits (:data:`REFINE_SIGNALS`). ``"causal"`` (default): the
        same band-pass run forwards only, so no energy of a burst precedes its onset;
        ``"zero_phase"``: the band-passed signal the bursts are found on, whose
        anti-causal half spreads a sharp, strong onset's energy up to ~40 ms backwards
        and reports it 2-20 ms early (the default before; docs/emg.md).
    causal_delay_hz : float or None
        With ``refine_on="causal"``, refined onsets are moved earlier by the causal
        band-pass's group delay at this frequency (default 80 Hz, the dominant frequency
        of surface EMG: 1.6 ms at 1000 Hz, 2.1 ms at 2148 Hz); None: no correction.
    low_hz, high_hz, order, offset, notch_hz, ecg
        Preprocessing, as in :func:`preprocess`.  ``ecg="template"`` on trunk channels
        (obliques, multifidus); the method's options and the beats it found per channel
        are in ``params["ecg_info"]``.
    peak_window_s : float
        Moving-RMS window for ``peak``.
    channels : sequence of str, optional
        Channel labels for 2-D input (default 0, 1, ...).
    method_options, refine_options : dict, optional
        Extra keyword options of the method and the refiner (their defaults are recorded
        in ``params``).

    Returns
    -------
    Bursts or pandas.DataFrame
        1-D input: :class:`Bursts`.  2-D input: a DataFrame with one row per burst
        (``channel, onset_s, offset_s, duration_s, peak, coarse_onset_s``) sorted by
        channel then onset; ``df.attrs["params"]`` holds the parameters.

    Examples
    --------
    >>> from labkit.signal import emg
    >>> from labkit.signal.emg_synth import synth_emg
    >>> sim = synth_emg(1000.0, 15.0, snr_db=30.0, seed=3)
    >>> b = emg.detect_onsets(sim.x, sim.fs_hz)
    >>> b.params["method"], b.params["refine"]
    ('threshold', 'posterior')
    """
    fs = check_fs(fs_hz)
    refiner = _resolve_refiner(method, refine)
    threshold_sd = float(threshold_sd)
    x2, was_1d = _as_2d(x)
    n_ch = x2.shape[1]
    if channels is not None and len(channels) != n_ch:
        raise SignalError(f"channels has {len(channels)} labels for {n_ch} channels")
    m_opts, r_opts = _onset_options(method, refiner, method_options, refine_options)
    min_on = _samples("min_on_s", min_on_s, fs)
    min_off = _samples("min_off_s", min_off_s, fs, minimum=0)

    off = None if offset is None else _offsets(x2, offset)
    y = x2
    if notch_hz is not None:
        y = notch(x2 if off is None else x2 - off, fs, freq_hz=notch_hz)
        off = None
    # offset removal fused into the band-pass kernel (no de-meaned copy of the input)
    filtered, gap_cols = _filtfilt_gaps(
        y, butter_sos(fs, low_hz=low_hz, high_hz=high_hz, order=order), offset=off
    )
    if refine_on not in REFINE_SIGNALS:
        raise SignalError(f"refine_on={refine_on!r} is not one of {list(REFINE_SIGNALS)}")
    causal, delay = None, 0
    if refiner is not None and refine_on == "causal":
        causal_sos = butter_sos(fs, low_hz=low_hz, high_hz=high_hz, order=order,
                                zero_phase_cutoff=False)
        causal = _causal_gaps(y, causal_sos, off, gap_cols)
        if causal_delay_hz is not None:
            delay = round(group_delay_s(causal_sos, fs, causal_delay_hz) * fs)
    del y
    ecg_info: dict = {}
    if ecg is not None:
        if ecg not in ECG_METHODS:
            raise SignalError(f"ecg={ecg!r} is not one of {sorted(ECG_METHODS)} or None")
        filtered, ecg_info = ECG_METHODS[ecg](filtered, fs)
        if causal is not None:
            causal = ECG_METHODS[ecg](causal, fs)[0]

    base = _baseline_ranges(filtered, fs, baseline_s, baseline_window_s, baseline_tolerance)
    score, thr, info = ONSET_METHODS[method](
        filtered, fs, base, threshold_sd=threshold_sd, **m_opts
    )
    guard = _samples("gap_guard_s", gap_guard_s, fs, minimum=0)
    if guard and gap_cols.size:  # only channels with NaN gaps have gap edges
        _k.mask_gap_edges(filtered, guard, gap_cols.astype(np.int64), score)
    thr = np.ascontiguousarray(thr, dtype=np.float64)
    thr_off = _offset_threshold(thr, info, offset_sd)
    ch, on, off = _threshold_runs(score, thr, thr_off, min_on, min_off)
    del score
    coarse = on.copy()
    if refiner is not None and on.size:
        on = _refine_onsets(filtered if causal is None else causal, fs, base, ch, on, off,
                            refiner, r_opts, refine_pre_s, refine_post_s, delay)
    peak = np.empty(on.size)
    if on.size:
        _k.burst_peak_rms(filtered, ch, on, off, _samples("peak_window_s", peak_window_s, fs),
                          peak)

    params = _onset_params(
        fs, base, thr, thr_off, info, method=method, method_options=m_opts, refine=refiner,
        refine_options=r_opts, baseline_s=baseline_s, baseline_window_s=baseline_window_s,
        baseline_tolerance=baseline_tolerance, threshold_sd=threshold_sd, offset_sd=offset_sd,
        min_on_s=min_on_s, min_off_s=min_off_s, min_on_samples=min_on, min_off_samples=min_off,
        gap_guard_s=gap_guard_s, refine_pre_s=refine_pre_s, refine_post_s=refine_post_s,
        refine_on=refine_on, causal_delay_hz=causal_delay_hz, causal_delay_samples=delay,
        low_hz=low_hz, high_hz=high_hz, order=order, offset=offset, notch_hz=notch_hz, ecg=ecg,
        ecg_info=ecg_info, peak_window_s=peak_window_s,
    )
    if was_1d:
        return Bursts(on / fs, off / fs, peak, coarse / fs, params)
    return _bursts_frame(fs, ch, on, off, peak, coarse, channels, n_ch, params)
