"""Summaries and integrity checks of a session, for ``labkit inspect``."""

from __future__ import annotations

import itertools
import math
import os
from typing import Any

import numpy as np

from labkit.session import format as fmt
from labkit.session._h5 import committed_counts
from labkit.session.reader import Session, Stream, open_session
from labkit.session.repair import needs_repair

# a counter step this much shorter than the time step (in samples) is a restart: the
# source counted from 0 again and the inlet reconnected after the counter had passed the
# value it had before (so the counter never went back)
_RESTART_BEHIND_S = 0.1


def _restart_steps(stream: Stream) -> np.ndarray:
    """Positions ``i`` where the sample counter starts again between samples ``i`` and ``i+1``.

    The counter goes back, or it moves on far less than the time stamps do: a source that
    restarted while its first samples were lost before the inlet reconnected (on a busy
    machine that can be more samples than it had sent before the restart).
    """
    counter = stream.counter
    if counter is None or stream.rate_hz <= 0 or len(counter) < 2:
        return np.zeros(0, dtype=np.int64)
    step = np.diff(counter)
    dt_samples = np.diff(stream.raw_times) * stream.rate_hz
    behind = dt_samples - step > np.maximum(_RESTART_BEHIND_S * stream.rate_hz, 0.1 * dt_samples)
    return np.flatnonzero((step <= 0) | ((step > 0) & behind))


def _restarts(stream: Stream) -> list[dict[str, Any]]:
    """Where the counter starts again: a restarted source or a resumed run, a new segment."""
    t, counter = stream.raw_times, stream.counter
    return [{"after_s": float(t[i]), "resumed_s": float(t[i + 1]),
             "silent_s": float(t[i + 1] - t[i]), "counter_before": int(counter[i]),
             "counter_after": int(counter[i + 1])} for i in _restart_steps(stream)]


def _gaps(stream: Stream) -> list[dict[str, Any]]:
    """Gaps from the sample counter (exact) or, without one, from the time stamps.

    A counter that goes back (a restart) is a new segment, not a gap: samples missing
    inside a segment are gaps.
    """
    if stream.rate_hz <= 0 or stream.n_samples < 2:
        return []
    gaps = []
    counter = stream.counter
    t = stream.raw_times
    if counter is not None:
        step = np.diff(counter)
        step[_restart_steps(stream)] = 1  # a new segment, not a gap
        for i in np.flatnonzero(step > 1):
            gaps.append({"after_s": float(t[i]), "missing_samples": int(step[i] - 1),
                         "source": "counter"})
        return gaps
    from labkit.signal.sync import split_segments

    runs = split_segments(t, stream.rate_hz)
    for (_, stop), (start, _) in itertools.pairwise(runs):
        dt = float(t[start] - t[stop - 1])
        gaps.append({"after_s": float(t[stop - 1]),
                     "missing_samples": max(0, round(dt * stream.rate_hz) - 1),
                     "source": "time_stamps"})
    return gaps


def foreign_clock_problem(stream: Stream, gap_s: float) -> str:
    """The one line saying a stream's stamps are on another clock than its clock offsets."""
    co = stream.clock_offsets
    measured = float(np.median(co["collection_time"] - co["offset"]))
    return (f"its time stamps (near {float(np.median(stream.raw_times)):.6g} s) are on another clock "
            f"than its clock offsets (measured near {measured:.6g} s, {gap_s:.3g} s away): the "
            "offsets are not applied and it keeps its own clock (aligned with streams on the same "
            "clock, not with the others)")


def _stream_summary(session: Session, name: str, committed: dict[str, int]) -> dict[str, Any]:
    st = session.stream(name)
    problems: list[str] = []
    group = session._file[f"{fmt.STREAMS_GROUP}/{name}"]
    extent = group["data"].shape[0]
    n_committed = committed.get(f"{fmt.STREAMS_GROUP}/{name}/data", extent)
    if extent > n_committed:
        problems.append(f"{extent - n_committed} rows after the last commit are not valid "
                        "(writer stopped mid-flush); `labkit repair` drops them")
    if group["time_stamps"].shape[0] != extent:
        problems.append("data and time_stamps have different lengths")
    if st.type not in fmt.STREAM_TYPES:
        problems.append(f"unknown stream type {st.type!r}")
    restart_steps = _restart_steps(st)
    if st.n_samples > 1:
        backwards = np.diff(st.raw_times) < -0.1
        backwards[restart_steps] = False  # a restarted device may restart its clock too
        if backwards.any():
            problems.append("time stamps jump backwards by more than 0.1 s (clock reset)")
    foreign_gap = st.foreign_clock_gap_s
    if foreign_gap:
        problems.append(foreign_clock_problem(st, foreign_gap))
    nan_samples = occluded_samples = 0
    if st.channel_format.startswith("float") and st.n_samples:
        nan = np.isnan(st.data)
        # a NaN marker coordinate is an occluded marker, normal in any motion capture; NaN
        # anywhere else is a dropped or invalid value
        position = (st.channels["type"] == "position").to_numpy() if "type" in st.channels else None
        if position is not None and position.any():
            occluded_samples = int(nan[:, position].any(axis=1).sum())
            nan = nan[:, ~position]
        nan_samples = int(nan.any(axis=1).sum())
        if nan_samples:
            problems.append(f"{nan_samples} samples contain NaN (dropped or invalid values)")
    gaps = _gaps(st)
    restarts = _restarts(st)
    counter = st.counter
    expected = None
    if counter is not None and len(counter):
        # a restarted source (or a resumed run) starts its counter again: a new segment,
        # expected samples are counted per segment (not a problem: nothing is lost by it)
        edges = [0, *(restart_steps + 1).tolist(), len(counter)]
        expected = int(sum(counter[b - 1] - counter[a] + 1 for a, b in itertools.pairwise(edges)))
    if gaps:
        missing = sum(g["missing_samples"] for g in gaps)
        problems.append(f"{len(gaps)} gaps, {missing} samples missing")
    effective = st.effective_rate_hz() if st.rate_hz > 0 else float("nan")
    if st.rate_hz > 0 and math.isfinite(effective):
        ppm = (effective / st.rate_hz - 1.0) * 1e6
        if abs(ppm) > 1e4:
            problems.append(f"effective rate {effective:.3f} Hz differs from nominal "
                            f"{st.rate_hz:.3f} Hz by {ppm / 1e4:.1f} %")
    return {
        "name": name,
        "type": st.type,
        "source_id": st.source_id,
        "channel_format": st.channel_format,
        "nominal_rate_hz": st.rate_hz,
        "effective_rate_hz": effective,
        "n_samples": st.n_samples,
        "n_channels": int(st.data.shape[1]) if st.data.ndim == 2 else 0,
        "duration_s": st.duration_s,
        "first_time_s": float(st.raw_times[0]) if st.n_samples else None,
        "last_time_s": float(st.raw_times[-1]) if st.n_samples else None,
        "n_clock_offsets": len(st.clock_offsets),
        "foreign_clock_gap_s": foreign_gap,
        "channels": st.channels.to_dict(orient="records"),
        "device": st.device,
        "gaps": gaps,
        "restarts": restarts,
        "segments": len(restarts) + 1 if st.n_samples else 0,
        "expected_samples": expected,
        "lost_samples": None if expected is None else expected - st.n_samples,
        "nan_samples": nan_samples,
        "occluded_samples": occluded_samples,
        "problems": problems,
    }


def inspect_session(path: str | os.PathLike[str], *, max_events: int = 50) -> dict[str, Any]:
    """Describe a session and list its integrity problems.

    Returns a JSON-serialisable dict: ``info``, ``streams`` (rates, durations, channels,
    gaps, counter restarts, problems), ``events``, ``trials``, ``results``, ``problems``
    (the whole file; ``--strict`` fails on any) and ``notes`` (worth knowing, not problems:
    a counter that starts again is a new segment of a healthy stream).
    """
    with open_session(path) as s:
        committed = committed_counts(s._file)
        problems = []
        if needs_repair(path):
            problems.append(
                "not closed cleanly (still recording, or the recorder crashed): the data "
                f"committed so far is readable; run `labkit repair {path}` once no recorder "
                "is writing it"
            )
        elif s.status == fmt.STATUS_INTERRUPTED:
            problems.append("the recording was interrupted (closed after an error)")
        streams = [_stream_summary(s, name, committed) for name in s.streams]
        notes = []
        for st in streams:
            problems += [f"stream {st['name']}: {p}" for p in st["problems"]]
            if st["restarts"]:
                starts = ", ".join(f"{r['resumed_s']:.3f} s (after {r['silent_s']:.3f} s without "
                                   "samples)" for r in st["restarts"][:5])
                notes.append(f"stream {st['name']}: {st['segments']} segments: the sample counter "
                             f"starts again at {starts}; a restarted source or a resumed run, "
                             "not lost samples")
        events = s.events
        trials = s.trials
        return {
            "file": str(path),
            "size_bytes": os.path.getsize(path),
            "info": s.info,
            "streams": streams,
            "n_events": len(events),
            "events": events.head(max_events).to_dict(orient="records"),
            "trials": trials.to_dict(orient="records"),
            "results": s.results,
            "problems": problems,
            "notes": notes,
        }
