"""The plan of a C3D export (:func:`~labkit.analysis.c3d.exporter.export_c3d`): which streams go
where, the C3D point and analog rates, the C3D clock, and the low-pass before a lower rate.

:func:`_export_plan` gives what :func:`~labkit.analysis.c3d.exporter._export_build` writes;
the rules (the one analog rate, what is resampled) are in :func:`~labkit.analysis.c3d.exporter.export_c3d`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.analysis.c3d.parameters import _PLATE_COMPONENTS
from labkit.errors import ConfigError, LabkitWarning
from labkit.signal.window import Window

#: an analog stream resampled to a lower C3D rate is first low-passed at this fraction of it
_AA_CUTOFF = 0.45
_AA_ORDER = 4


@dataclass(frozen=True)
class _Series:
    """One stream to place on the C3D clock: its samples and times as a
    :class:`~labkit.signal.window.Window`, with what the export needs beside them."""

    window: Window  # every channel of the stream (labels, data (n, k) float64, times, rate, name)
    kind: str  # force, emg, analog, mocap, model
    cols: list[int]  # channel columns of the stream used
    units: list[str]

    @property
    def name(self) -> str:
        return self.window.name

    @property
    def rate_hz(self) -> float:
        return self.window.rate_hz

    @property
    def times(self) -> np.ndarray:
        return self.window.times

    @property
    def data(self) -> np.ndarray:
        return self.window.data

    @property
    def labels(self) -> Sequence[str]:
        return self.window.labels


def _series(name: str, kind: str, rate_hz: float, times: np.ndarray, data: np.ndarray, cols: list[int],
            labels: list[str], units: list[str]) -> _Series:
    return _Series(Window(labels, data, times, rate_hz, name), kind, cols, units)


def _used(x: _Series) -> _Series:
    """The series with only the channels it exports (``x.cols``), in that order."""
    return _series(x.name, x.kind, x.rate_hz, x.times, x.data[:, x.cols], list(range(len(x.cols))),
                   [x.labels[j] for j in x.cols], [x.units[j] for j in x.cols])


def _runs(ok: np.ndarray, times: np.ndarray, rate: float) -> list[tuple[int, int]]:
    """[start, stop) of the runs of ``ok`` samples without a gap in ``times`` (> 1.5 periods)."""
    edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
    cuts = (np.flatnonzero(np.diff(times) > 1.5 / rate) + 1).tolist()
    out = []
    for a, b in zip(starts, stops, strict=True):
        inner = [k for k in cuts if a < k < b]
        out += list(zip([a, *inner], [*inner, b], strict=True))
    return out


def _lowpass(x: _Series, rate: float) -> np.ndarray:
    """``x.data`` with its used channels low-passed for resampling to ``rate`` (each finite,
    gap-free run on its own: zero-phase Butterworth, ``scipy.signal.sosfiltfilt``)."""
    from labkit.signal.filters import butterworth_sos, zero_phase_filter

    # not corrected for the double pass: -6 dB at the cutoff, more attenuation near Nyquist
    sos = butterworth_sos(x.rate_hz, _AA_CUTOFF * rate, order=_AA_ORDER, zero_phase=False)
    data = np.array(x.data, dtype=np.float64)
    for j in x.cols:
        col = data[:, j]
        for a, b in _runs(np.isfinite(col), x.times, x.rate_hz):
            if b - a > 1:
                col[a:b] = zero_phase_filter(sos, col[a:b])
    return data


def _is_multiple(rate: float, base: float) -> bool:
    ratio = rate / base
    return round(ratio) >= 1 and abs(ratio - round(ratio)) <= 1e-9 * max(1.0, ratio)


def _export_plan(s: Any, analog_rate_hz: float | None) -> dict[str, Any]:
    """Which streams go where, the rates and the C3D clock."""
    series, plates = _export_series(s)
    pts = [x for x in series if x.kind in ("mocap", "model")]
    ana = sorted((x for x in series if x.kind in ("force", "emg", "analog")),
                 key=lambda x: ("force", "emg", "analog").index(x.kind))  # plates first
    if not pts and not ana:
        raise ConfigError(f"{s.path}: nothing to export: no force, EMG, analog or marker stream")
    mocap = next((x for x in pts if x.kind == "mocap"), pts[0] if pts else None)
    force = next((x for x in ana if x.kind == "force"), None)
    fa = _analog_rate(analog_rate_hz, ana, mocap, force)
    fp = mocap.rate_hz if mocap is not None else fa
    ratio = round(fa / fp) if fa > 0 else 1
    t0, n_frames = _clock(series, ana, mocap, force, fa, fp)
    series = _resample(s, series, fa, fp)
    # the same series, some low-passed: pick them again (same order; names and rates unchanged)
    pts = [x for x in series if x.kind in ("mocap", "model")]
    ana = sorted((x for x in series if x.kind in ("force", "emg", "analog")),
                 key=lambda x: ("force", "emg", "analog").index(x.kind))
    force = next((x for x in ana if x.kind == "force"), None)
    return {"series": series, "plates": plates, "fp": fp, "fa": fa, "ratio": ratio, "t0": t0,
            "n_frames": n_frames, "points": pts, "analogs": ana, "force": force}


def _export_series(s: Any) -> tuple[list[_Series], list[str]]:
    """The streams C3D can hold as series of one kind each, and the plates; warns of the rest."""
    series: list[_Series] = []
    plates: list[str] = []
    skipped: list[str] = []
    for name in s.streams:
        st_series, st_plates, st_skipped = _stream_series(name, s.stream(name))
        series += st_series
        plates += st_plates
        skipped += st_skipped
    if skipped:
        # stacklevel: the caller of export_c3d (via _export_plan)
        warnings.warn(f"{s.path}: not exported to C3D: {', '.join(skipped)}", LabkitWarning, stacklevel=4)
    if len({x.name for x in series if x.kind == "force"}) > 1:
        raise ConfigError(f"{s.path}: more than one force stream with plates; export supports one")
    return series, plates


def _stream_series(name: str, st: Any) -> tuple[list[_Series], list[str], list[str]]:
    """(series, plates, what is not exported) of one stream."""
    if st.channel_format == "string":
        return [], [], [f"{name} (strings)"]
    if st.rate_hz <= 0:
        return [], [], [f"{name} (irregular)"]
    if st.type in ("force_raw", "ground_truth", "counter", "rigid_body", "markers"):
        return [], [], [f"{name} (type {st.type})"]
    ch = st.channels
    types = ch["type"].astype(str).tolist()
    labels = ch["label"].astype(str).tolist()
    units = ch["unit"].astype(str).tolist()
    keep = [j for j, ty in enumerate(types) if ty != "counter"]
    if not keep or st.n_samples == 0:
        return [], [], [f"{name} (no samples)" if keep else f"{name} (only a counter)"]
    data = np.asarray(st.data, dtype=np.float64)
    times = np.asarray(st.times, dtype=np.float64)
    if "output" in ch.columns and "c3d_group" in ch.columns and st.type == "other":
        return [_series(name, "model", st.rate_hz, times, data, keep, labels, units)], [], []
    if st.type == "mocap":
        axis = ch["axis"].astype(str).tolist() if "axis" in ch.columns else [""] * len(labels)
        pos = [j for j in keep if types[j] == "position" and axis[j] in ("x", "y", "z")]
        other = [labels[j] for j in keep if j not in pos]
        skipped = []
        if other:
            more = "..." if len(other) > 6 else ""
            skipped.append(f"{name} channels {other[:6]}{more} (not positions)")
        series = [_series(name, "mocap", st.rate_hz, times, data, pos, labels, units)] if pos else []
        return series, [], skipped
    if st.type == "force":
        comp = ch["component"].astype(str).tolist() if "component" in ch.columns else [""] * len(labels)
        plate = ch["plate"].astype(str).tolist() if "plate" in ch.columns else [""] * len(labels)
        names = list(dict.fromkeys(plate[j] for j in keep if plate[j] and comp[j] in _PLATE_COMPONENTS))
        cols, full = [], []
        for p in names:
            idx = [next((j for j in keep if plate[j] == p and comp[j] == c), None)
                   for c in _PLATE_COMPONENTS]
            if None not in idx:
                cols += idx
                full.append(p)
        series, plates = [], []
        if cols:
            series.append(_series(name, "force", st.rate_hz, times, data, cols, labels, units))
            plates += full
        rest = [j for j in keep if j not in cols]
        if rest:
            series.append(_series(name, "analog", st.rate_hz, times, data, rest, labels, units))
        return series, plates, []
    return [_series(name, "emg" if st.type == "emg" else "analog", st.rate_hz, times, data,
                    keep, labels, units)], [], []


def _analog_rate(analog_rate_hz: float | None, ana: list[_Series], mocap: _Series | None,
                 force: _Series | None) -> float:
    """The C3D analog rate (0 without analog streams)."""
    if analog_rate_hz is not None:
        if not (analog_rate_hz > 0 and math.isfinite(analog_rate_hz)):
            raise ConfigError(f"analog_rate_hz={analog_rate_hz!r} is invalid; use a positive rate in Hz")
        if mocap is not None and not _is_multiple(analog_rate_hz, mocap.rate_hz):
            raise ConfigError(f"--analog-rate {analog_rate_hz!r} (analog_rate_hz in Python) is not an "
                              f"integer multiple of the point rate {mocap.rate_hz!r} Hz (stream "
                              f"{mocap.name!r}); C3D needs one")
        return float(analog_rate_hz)
    if not ana:
        return 0.0
    # never below the fastest analog stream: default exports only upsample
    top = max(x.rate_hz for x in ana)
    if force is not None and (mocap is None or _is_multiple(force.rate_hz, mocap.rate_hz)):
        # a whole multiple of the force rate, so every plate sample stays a sample of the C3D
        # (e.g. 2000 Hz plates with 2148 Hz EMG: 4000 Hz)
        return force.rate_hz * math.ceil(top / force.rate_hz - 1e-9)
    if mocap is None:
        return top
    return math.ceil(top / mocap.rate_hz - 1e-9) * mocap.rate_hz


def _clock(series: list[_Series], ana: list[_Series], mocap: _Series | None, force: _Series | None,
           fa: float, fp: float) -> tuple[float, int]:
    """(time of frame 1, number of frames): the clock of the stream that fixes the C3D rates,
    moved back by whole frames to cover every stream."""
    ref = force if force is not None and fa > 0 and _is_multiple(fa, force.rate_hz) else \
        (mocap or next((x for x in ana if abs(x.rate_hz - fa) <= 1e-9 * fa), ana[0] if ana else None))
    t_min = min(float(x.times[0]) for x in series)
    t_max = max(float(x.times[-1]) for x in series)
    t_ref = float(ref.times[0])
    back = math.ceil((t_ref - t_min) * fp - 1e-6)
    t0 = t_ref - back / fp
    n_frames = math.floor((t_max - t0) * fp + 1e-6) + 1
    return t0, n_frames


def _resample(s: Any, series: list[_Series], fa: float, fp: float) -> list[_Series]:
    """The series, with the analogs that a lower rate would alias low-passed; warns of gaps and
    of rate changes."""
    out = []
    for x in series:
        missing = round((float(x.times[-1]) - float(x.times[0])) * x.rate_hz) + 1 - len(x.times)
        if missing > 0:
            # stacklevel: the caller of export_c3d (via _export_plan)
            warnings.warn(f"{s.path}: stream {x.name!r} misses {missing} samples (gaps in its recording); "
                          "C3D has no gaps: they are bridged by linear interpolation", LabkitWarning,
                          stacklevel=4)
        analog = x.kind in ("force", "emg", "analog")
        target = fa if analog else fp
        if abs(x.rate_hz - target) > 1e-9 * target:
            how = "quintic-spline" if analog else "linear"
            more = ""
            if analog and x.rate_hz > target:
                x = dataclasses.replace(x, window=dataclasses.replace(x.window, data=_lowpass(x, target)))
                more = (f" after a zero-phase low-pass at {_AA_CUTOFF * target:.6g} Hz (Butterworth order "
                        f"{_AA_ORDER}, forward and backward) against aliasing")
            what = "analog" if analog else "point"
            warnings.warn(f"{s.path}: stream {x.name!r} ({x.kind}) at {x.rate_hz:.6g} Hz is resampled to the "
                          f"C3D {what} rate {target:.6g} Hz by {how} interpolation on the session clock"
                          + more, LabkitWarning, stacklevel=4)
        out.append(x)
    return out
