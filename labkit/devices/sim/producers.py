"""Calibrated samples of the simulated devices, for any block of sample indices.

A producer knows a device's channel layout (:class:`labkit.spec.StreamSpec`) and turns
sample indices and their true times into calibrated values (N, N·m, V, m). It knows
nothing about LSL, clocks or faults: :class:`labkit.devices.sim.sources.SimulatedSource`
paces it and publishes the values, and a future hardware-driver backend can take the
same values (e.g. converted to volts) through the real driver code.

Channel layouts (every stream ends with a ``counter`` channel that the source fills):

* force plates: per plate ``<plate>.Fx, .Fy, .Fz`` (N) and ``.Mx, .My, .Mz`` (N.m),
  type ``force``, extra columns ``plate`` and ``component``; float64;
* EMG: ``<muscle>_<side>`` (V), type ``emg``, ``muscle``, ``side``, ``device_channel`` =
  sensor number; float32;
* mocap markers: ``<MARKER>.<x|y|z>`` (m), type ``position``, extra ``marker``, ``axis``,
  for :data:`~labkit.devices.sim.athlete.STREAMED_MARKERS` (PiG lower body + medial knee
  and ankle markers, enough for :func:`labkit.signal.kinematics.frames_from_markers`);
  segments: ``<segment>.<x|y|z>`` (m, type ``position``) and ``<segment>.<qw|qx|qy|qz>``
  (type ``orientation``), extra ``segment``, ``axis``; float32.
"""

from __future__ import annotations

import zlib

import numpy as np

from labkit.config.hardware import SimEmg, SimForcePlates, SimMocap
from labkit.devices.sim.athlete import SEGMENTS, STREAMED_MARKERS, Athlete, IndexedNoise
from labkit.spec import (
    COUNTER,
    PLATE_COMPONENTS,
    ChannelSpec,
    StreamSpec,
    emg_channel,
    marker_channels,
    plate_channel,
)

__all__ = ["COUNTER", "EmgProducer", "ForcePlateProducer", "MocapProducer", "Producer"]

COMPONENTS = PLATE_COMPONENTS
#: Lever (m) that turns the plate's force noise into its moment noise.
MOMENT_NOISE_LEVER_M = 0.05


def _key(name: str) -> int:
    return zlib.crc32(name.encode())


class Producer:
    """Base class: ``spec``, ``rate_hz`` and :meth:`produce`.

    Attributes
    ----------
    spec : StreamSpec
        The published stream, its last channel being ``counter``.
    rate_hz : float
        Nominal rate (exact).
    """

    spec: StreamSpec
    rate_hz: float

    def produce(self, index: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """Calibrated values for contiguous sample ``index`` taken at true times ``t_s``.

        Returns
        -------
        ndarray, shape (n, n_channels - 1)
            Every channel except the counter.
        """
        raise NotImplementedError


class ForcePlateProducer(Producer):
    """Simulated force plates (6 channels each) under the simulated athlete.

    Plate 1 is under the left foot, plate 2 under the right. White Gaussian noise of
    ``device.noise_n`` on the forces and ``noise_n * 0.05 m`` on the moments.
    """

    def __init__(self, device: SimForcePlates, athlete: Athlete, source_id: str):
        self.device, self.athlete, self.rate_hz = device, athlete, float(device.rate_hz)
        channels = []
        k = 0
        for plate in device.plates:
            for comp in COMPONENTS:
                channels.append(plate_channel(plate.name, comp, f"ai{k}"))
                k += 1
        self.spec = StreamSpec(device.name, "force", [*channels, COUNTER], self.rate_hz, "float64",
                               source_id=source_id,
                               device={"manufacturer": "labkit", "model": "simulated force plates",
                                       "serial": source_id,
                                       "plates": ",".join(f"{p.name}:{p.kind}" for p in device.plates)})
        self.az0_m = [p.origin_m[2] for p in device.plates]
        n = 6 * len(device.plates)
        self._noise = IndexedNoise(athlete.params.seed, _key(source_id), n)
        self._scale = np.tile([1, 1, 1, MOMENT_NOISE_LEVER_M, MOMENT_NOISE_LEVER_M, MOMENT_NOISE_LEVER_M],
                              len(device.plates)) * device.noise_n

    def produce(self, index, t_s):
        loads = self.athlete.plate_loads(t_s, self.az0_m)
        out = loads.reshape(len(t_s), -1)
        if self.device.noise_n:
            out = out + self._noise.take(int(index[0]), int(index[-1]) + 1) * self._scale
        return out


class EmgProducer(Producer):
    """Simulated wireless EMG (Trigno-like), one channel per sensor of the config."""

    def __init__(self, device: SimEmg, athlete: Athlete, source_id: str):
        self.device, self.athlete, self.rate_hz = device, athlete, float(device.rate_hz)
        channels = [emg_channel(s.muscle, s.side, str(s.sensor)) for s in device.sensors]
        self.labels = [c.label for c in channels]
        self.spec = StreamSpec(device.name, "emg", [*channels, COUNTER], self.rate_hz, "float32",
                               source_id=source_id,
                               device={"manufacturer": "labkit", "model": "simulated EMG",
                                       "serial": source_id})
        self._key = _key(source_id)

    def produce(self, index, t_s):
        return self.athlete.emg(index, t_s, self.labels, self.rate_hz,
                                ecg_on_trunk=self.device.ecg_on_trunk, noise_v=self.device.noise_v,
                                stream_key=self._key)


class MocapProducer(Producer):
    """Simulated optical motion capture: markers or segment frames, in metres."""

    def __init__(self, device: SimMocap, athlete: Athlete, source_id: str):
        self.device, self.athlete, self.rate_hz = device, athlete, float(device.rate_hz)
        if device.output == "markers":
            channels = [c for m in STREAMED_MARKERS for c in marker_channels(m)]
        else:
            channels = []
            for seg in SEGMENTS:
                channels += [ChannelSpec(f"{seg}.{a}", "m", "position", extra={"segment": seg, "axis": a})
                             for a in "xyz"]
                channels += [ChannelSpec(f"{seg}.{a}", "", "orientation",
                                         extra={"segment": seg, "axis": a})
                             for a in ("qw", "qx", "qy", "qz")]
        self.spec = StreamSpec(device.name, "mocap", [*channels, COUNTER], self.rate_hz, "float32",
                               source_id=source_id,
                               device={"manufacturer": "labkit", "serial": source_id,
                                       "model": f"simulated mocap ({device.output})"})
        self._n = len(channels)
        self._noise = IndexedNoise(athlete.params.seed, _key(source_id), self._n)

    def produce(self, index, t_s):
        if self.device.output == "markers":
            out = self.athlete.markers(t_s, STREAMED_MARKERS).reshape(len(t_s), -1)
            if self.device.noise_m:
                out = out + self.device.noise_m * self._noise.take(int(index[0]), int(index[-1]) + 1)
            return out
        return self.athlete.segments(t_s).reshape(len(t_s), -1)
