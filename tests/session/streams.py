"""Stream declarations and deterministic data used by several session tests."""

from __future__ import annotations

import numpy as np

from labkit.session.writer import ChannelSpec, StreamSpec

EMG_RATE_HZ = 29 / 0.0135  # 2148.148... Hz, never rounded


def lab_streams() -> list[StreamSpec]:
    force = [ChannelSpec(f"fp{p}.{c}", "N" if c[0] == "F" else "N.m", "force",
                         device_channel=f"Dev1/ai{6 * (p - 1) + i}",
                         extra={"plate": f"fp{p}", "component": c})
             for p in (1, 2) for i, c in enumerate(("Fx", "Fy", "Fz", "Mx", "My", "Mz"))]
    emg = [ChannelSpec(f"{m}_{s}", "V", "emg", muscle=m, side=s, device_channel=str(k))
           for k, (m, s) in enumerate(
               [(m, s) for s in "lr" for m in ("gluteus_maximus", "gluteus_medius",
                                              "rectus_femoris", "tensor_fasciae_latae",
                                              "biceps_femoris", "external_oblique",
                                              "internal_oblique", "multifidus")])]
    markers = [ChannelSpec(f"M{i:02d}.{a}", "m", "position", extra={"marker": f"M{i:02d}",
                                                                     "axis": a})
               for i in range(20) for a in "xyz"]
    return [
        StreamSpec("force", "force", force, 2000.0, "float64", source_id="nidaq-1",
                   device={"manufacturer": "AMTI", "model": "BP400600", "serial": "1234"}),
        StreamSpec("emg", "emg", emg, EMG_RATE_HZ, "float32", source_id="trigno-1",
                   device={"manufacturer": "Delsys", "model": "Trigno"}),
        StreamSpec("mocap", "mocap", markers, 200.0, "float32", source_id="qtm-1"),
        StreamSpec("cues", "markers", [ChannelSpec("cue", "", "marker")], 0.0, "string",
                   source_id="labkit-cues"),
        StreamSpec("counts", "force_raw", [ChannelSpec("raw", "count", "adc")], 1000.0,
                   "int16", source_id="adc"),
    ]


def block(spec: StreamSpec, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic samples and stamps for rows ``start .. start + n`` of a stream."""
    rows = np.arange(start, start + n)
    if spec.is_string:
        data = np.array([f"cue-{r}-é" for r in rows], dtype=object).reshape(n, 1)
        return data, 50.0 + rows * 0.731
    k = len(spec.channels)
    values = (rows[:, None] * 7 + np.arange(k)[None, :]) % 30011
    floating = np.dtype(spec.dtype).kind == "f"
    values = values * 0.001 - 3.0 if floating else values % 32000 - 16000
    return values.astype(spec.dtype), 50.0 + rows / spec.nominal_rate_hz
