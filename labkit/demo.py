"""A synthetic demo session: what a short isometric mid-thigh pull session looks like.

Stand-in for the simulated lab (which will record real LSL streams): it writes the same
kinds of streams at the real rates with the session writer, so that the format, reader
and CLI can be tried on a fresh machine. Ground truth is stored with the data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from labkit.session.writer import ChannelSpec, SessionWriter, StreamSpec

EMG_RATE_HZ = 29 / 0.0135  # Delsys Trigno: 29 samples per 13.5 ms frame, 2148.148... Hz
FORCE_RATE_HZ = 2000.0
MOCAP_RATE_HZ = 200.0
MUSCLES = ("gluteus_maximus", "gluteus_medius", "rectus_femoris", "tensor_fasciae_latae",
           "biceps_femoris", "external_oblique", "internal_oblique", "multifidus")
MARKERS = ("LASI", "RASI", "LPSI", "RPSI", "LTHI", "RTHI", "LKNE", "RKNE", "LTIB", "RTIB",
           "LANK", "RANK", "LHEE", "RHEE", "LTOE", "RTOE", "C7", "T10", "CLAV", "STRN")


def demo_streams() -> list[StreamSpec]:
    """Stream declarations of the demo lab (force plate, EMG, mocap, cue markers)."""
    plate = [ChannelSpec(f"fp1.{c}", "N" if c.startswith("F") else "N.m", "force",
                         device_channel=f"ai{i}", extra={"plate": "fp1", "component": c})
             for i, c in enumerate(("Fx", "Fy", "Fz", "Mx", "My", "Mz"))]
    emg = [ChannelSpec(f"{m}_{s}", "V", "emg", muscle=m, side=s, device_channel=str(i + 1))
           for i, (m, s) in enumerate((m, s) for s in ("l", "r") for m in MUSCLES)]
    mocap = [ChannelSpec(f"{m}.{a}", "m", "position", extra={"marker": m, "axis": a})
             for m in MARKERS for a in "xyz"]
    counter = ChannelSpec("counter", "count", "counter")
    return [
        StreamSpec("force", "force", [*plate, counter], FORCE_RATE_HZ, "float64",
                   source_id="demo-force-fp1",
                   device={"manufacturer": "labkit", "model": "demo plate", "serial": "0"}),
        StreamSpec("emg", "emg", [*emg, counter], EMG_RATE_HZ, "float32",
                   source_id="demo-emg", device={"manufacturer": "labkit", "model": "demo EMG"}),
        StreamSpec("mocap", "mocap", [*mocap, counter], MOCAP_RATE_HZ, "float32",
                   source_id="demo-mocap", device={"manufacturer": "labkit", "model": "demo mocap"}),
        StreamSpec("cues", "markers", [ChannelSpec("cue", "", "marker")], 0.0, "string",
                   source_id="demo-cues"),
    ]


def write_demo_session(path: str | os.PathLike[str], *, seed: int = 0, duration_s: float = 8.0,
                       body_weight_n: float = 800.0, peak_force_n: float = 2600.0,
                       onset_s: float = 3.0, tau_s: float = 0.12,
                       overwrite: bool = False) -> Path:
    """Write a synthetic IMTP session and return its path.

    Force is ``BW`` until ``onset_s`` and ``BW + (peak - BW) * (1 - exp(-(t - onset)/tau))``
    after it, plus 2 N Gaussian noise; EMG bursts start 60-120 ms before force onset.
    The true onset and peak are stored as a result with provenance.
    """
    rng = np.random.default_rng(seed)
    path = Path(path)
    t0 = 1000.0  # LSL clocks count from boot, not from zero
    with SessionWriter(path, demo_streams(), subject="DEMO01", operator="demo",
                       protocol="imtp_demo", notes="synthetic demo session",
                       overwrite=overwrite, fsync=False) as w:
        chunk_s = 0.1
        n_chunks = round(duration_s / chunk_s)
        counts = {"force": 0, "emg": 0, "mocap": 0}
        rates = {"force": FORCE_RATE_HZ, "emg": EMG_RATE_HZ, "mocap": MOCAP_RATE_HZ}
        leads = rng.uniform(0.06, 0.12, size=len(MUSCLES) * 2)
        for k in range(n_chunks):
            for name, rate in rates.items():
                end = round((k + 1) * chunk_s * rate)
                idx = np.arange(counts[name], end)
                counts[name] = end
                t = idx / rate
                if name == "force":
                    rise = np.where(t >= onset_s, 1 - np.exp(-(t - onset_s) / tau_s), 0.0)
                    fz = body_weight_n + (peak_force_n - body_weight_n) * rise
                    data = np.zeros((len(t), 7))
                    data[:, 2] = fz + rng.normal(0, 2.0, len(t))
                    data[:, 0:2] = rng.normal(0, 1.0, (len(t), 2))
                    data[:, 3:6] = rng.normal(0, 0.5, (len(t), 3))
                elif name == "emg":
                    on = (t[:, None] >= onset_s - leads[None, :]).astype(np.float64)
                    amp = 2e-5 + 4e-4 * on
                    data = np.c_[rng.normal(0, 1.0, (len(t), 16)) * amp, np.zeros(len(t))]
                else:
                    base = np.tile(np.linspace(0.1, 1.5, len(MARKERS) * 3), (len(t), 1))
                    data = np.c_[base + rng.normal(0, 2e-4, base.shape), np.zeros(len(t))]
                data[:, -1] = idx
                w.append(name, data, t0 + t)
        for label, when in (("weigh", 1.0), ("go", onset_s - 0.25), ("stop", onset_s + 4.0)):
            w.append("cues", [[label]], [t0 + when])
            w.add_event(t0 + when, label, "", "protocol")
        w.add_trial(1, "imtp", t0 + onset_s - 1.5, t0 + min(duration_s, onset_s + 4.0), "valid")
    from labkit.session.results import write_result

    write_result(path, "ground_truth", method="labkit.demo.write_demo_session",
                 params={"seed": seed, "body_weight_n": body_weight_n,
                         "peak_force_n": peak_force_n, "onset_s": onset_s, "tau_s": tau_s},
                 inputs={"generated": True},
                 arrays={"emg_onset_lead_s": leads})
    return path
