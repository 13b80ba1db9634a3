"""Replay a recorded session as LSL outlets (``labkit replay SESSION``).

Each stream of the session is published again with its metadata (name, type, source_id,
channel table, device, nominal rate, sample format) and its samples as recorded, the
counter channel included, so that ``labkit record``, ``labkit run``'s live analysis and the
web console can be exercised on real recordings. mne-lsl's ``PlayerLSL`` is the model.

Time stamps: the samples keep the session's times, with the clock offsets applied but not
dejittered (the recorded jitter stays), shifted by one constant so that the first sample of
the session is stamped "now" on this machine's LSL clock; every stream is shifted by the
same constant, so they keep their alignment (streams that kept their own clock, stamped on
another clock than their offsets, start with the others). ``speed`` changes how fast
samples are sent, not their stamps: at ``speed=4`` a 60 s recording is sent in 15 s and its
stamps still span 60 s, so an analysis of the replay gives the recording's numbers. With
``loop`` each pass starts where the last ended (stamps go on increasing; the sample counter
starts again, a new segment for the recorder).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pylsl

from labkit.errors import ConfigError
from labkit.lsl.streams import create_outlet
from labkit.session.reader import Stream, open_session
from labkit.spec import CHANNEL_FIELDS, ChannelSpec, StreamSpec

__all__ = ["SessionPlayer"]

log = logging.getLogger(__name__)

_TICK_S = 0.005
_LEAD_S = 0.05  # the first chunk is due this long after start


@dataclass
class _Track:
    """One stream to replay: its declaration, samples and session times (not dejittered)."""

    spec: StreamSpec
    data: np.ndarray
    times: np.ndarray
    outlet: Any = None
    pos: int = 0
    sent: int = 0


def _spec_of(st: Stream) -> StreamSpec:
    channels = []
    for row in st.channels.to_dict(orient="records"):
        base = {k: str(row.get(k, "") or "") for k in CHANNEL_FIELDS}
        extra = {str(k): str(v or "") for k, v in row.items() if k not in CHANNEL_FIELDS}
        channels.append(ChannelSpec(base.pop("label"), extra=extra, **base))
    return StreamSpec(name=st.name, type=st.type, channels=channels, nominal_rate_hz=st.rate_hz,
                      dtype=st.channel_format, source_id=st.source_id or f"labkit-replay-{st.name}",
                      device=st.device)


def _align_foreign_clocks(tracks: list[_Track], foreign: list[bool]) -> None:
    """Streams that kept their own clock (stamps on another clock than their offsets, e.g.
    Unix time) start with the others: one shift for all of them, so streams of one such
    device stay aligned with each other (their alignment with the rest is unknown anyway)."""
    own = [t for t, f in zip(tracks, foreign, strict=True) if f]
    rest = [t for t, f in zip(tracks, foreign, strict=True) if not f]
    if not own or not rest:
        return
    shift = min(float(t.times[0]) for t in rest) - min(float(t.times[0]) for t in own)
    for t in own:
        t.times += shift


@dataclass
class ReplayStatus:
    """What the player has done so far."""

    passes: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    waiting_for: list[str] = field(default_factory=list)


class SessionPlayer:
    """Publish a session's streams on LSL with their recorded samples and (shifted) stamps.

    Parameters
    ----------
    session_path : str or Path
        The session file (``.h5``).
    speed : float
        Replay speed (1 is real time); stamps keep the recording's spacing at any speed.
    loop : bool
        Start again at the end, until :meth:`stop`.
    streams : list of str, optional
        Replay only these streams (default: all).

    Raises
    ------
    labkit.errors.ConfigError
        A bad speed, an unknown stream name, or a stream that LSL cannot carry (unsigned
        integers); one line naming it.

    Examples
    --------
    >>> from labkit.playback import SessionPlayer
    >>> with SessionPlayer("session.h5", speed=2.0) as player:   # doctest: +SKIP
    ...     player.start(wait_for_consumers_s=10.0)
    ...     player.wait()
    """

    def __init__(self, session_path: str | Path, *, speed: float = 1.0, loop: bool = False,
                 streams: list[str] | None = None) -> None:
        if not (isinstance(speed, int | float) and np.isfinite(speed) and speed > 0):
            raise ConfigError(f"speed {speed!r} is invalid; give a positive factor (1 = real time)")
        self.path = Path(session_path)
        self.speed = float(speed)
        self.loop = loop
        with open_session(self.path, apply_dejitter=False) as s:
            names = s.streams if streams is None else list(streams)
            unknown = [n for n in names if n not in s.streams]
            if unknown:
                raise ConfigError(f"{self.path}: no stream {unknown[0]!r} to replay; the session has "
                                  f"{', '.join(s.streams)}")
            self._tracks = []
            foreign = []
            for name in names:
                st = s.stream(name)
                if st.n_samples == 0:
                    continue
                if st.channel_format.startswith("uint"):
                    raise ConfigError(f"{self.path}: stream {name!r} holds {st.channel_format} samples, "
                                      "which LSL cannot carry; replay the other streams (--streams)")
                data = st.data if st.channel_format != "string" else st.data.tolist()
                self._tracks.append(_Track(_spec_of(st), data, np.array(st.times)))
                foreign.append(bool(st.foreign_clock_gap_s))
        if not self._tracks:
            raise ConfigError(f"{self.path}: no samples to replay")
        _align_foreign_clocks(self._tracks, foreign)
        self.status = ReplayStatus()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def stream_names(self) -> list[str]:
        return [t.spec.name for t in self._tracks]

    @property
    def duration_s(self) -> float:
        """The session time one pass spans."""
        first = min(float(t.times[0]) for t in self._tracks)
        return max(float(t.times[-1]) for t in self._tracks) - first

    def open(self) -> SessionPlayer:
        """Create the outlets (visible on the network from now on)."""
        for t in self._tracks:
            if t.outlet is None:
                t.outlet = create_outlet(t.spec)
        return self

    def wait_for_consumers(self, timeout_s: float) -> list[str]:
        """Wait until every outlet has a consumer (an inlet); the streams still without one."""
        self.open()
        end = time.monotonic() + timeout_s
        while True:
            missing = [t.spec.name for t in self._tracks if not t.outlet.have_consumers()]
            if not missing or time.monotonic() >= end or self._stop.is_set():
                return missing
            time.sleep(0.05)

    def start(self, *, wait_for_consumers_s: float = 0.0) -> SessionPlayer:
        """Open the outlets, wait up to ``wait_for_consumers_s`` for consumers, then send."""
        self.open()
        self.status.waiting_for = self.wait_for_consumers(wait_for_consumers_s) \
            if wait_for_consumers_s > 0 else []
        self._thread = threading.Thread(target=self._guarded, name="labkit-replay", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the replay to end (never, with ``loop``, until :meth:`stop`); True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Stop sending and close the outlets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        for t in self._tracks:
            t.outlet = None

    def __enter__(self) -> SessionPlayer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc
            log.exception("replay of %s failed", self.path)

    def _run(self) -> None:
        tracks = self._tracks
        first = min(float(t.times[0]) for t in tracks)
        fastest = max((t.spec.nominal_rate_hz for t in tracks), default=0.0)
        # one pass's span in stamps: the next pass's first sample follows one period after
        span = self.duration_s + (1.0 / fastest if fastest > 0 else 1e-3)
        start = pylsl.local_clock() + _LEAD_S
        shift = start - first
        while not self._stop.is_set():
            for t in tracks:
                t.pos = 0
            offset = shift + self.status.passes * span
            wall0 = start + self.status.passes * span / self.speed
            while not self._stop.is_set():
                reached = first + (pylsl.local_clock() - wall0) * self.speed  # session time due
                left = False
                for t in tracks:
                    stop = int(np.searchsorted(t.times, reached, side="right"))
                    if stop > t.pos:
                        stamps = (t.times[t.pos:stop] + offset).tolist()
                        t.outlet.push_chunk(t.data[t.pos:stop], stamps)
                        t.sent += stop - t.pos
                        self.status.sent[t.spec.name] = t.sent
                        t.pos = stop
                    left = left or t.pos < len(t.times)
                if not left:
                    break
                time.sleep(_TICK_S)
            if self._stop.is_set():
                return
            self.status.passes += 1
            if not self.loop:
                return
