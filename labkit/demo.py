"""Demos: the simulated lab end to end (:func:`run_lab_demo`), and a synthetic session file.

:func:`run_lab_demo` is the README's main job until ``labkit run`` (scripted protocols)
exists: real LSL streams from the simulated lab, recorded, cued, analysed.
:func:`write_demo_session` writes a synthetic session straight to a file without LSL
(quick, deterministic: for trying the format, reader and CLI offline).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labkit.session.writer import SessionWriter
from labkit.spec import (
    COUNTER,
    PLATE_COMPONENTS,
    ChannelSpec,
    StreamSpec,
    emg_channel,
    marker_channels,
    plate_channel,
)

EMG_RATE_HZ = 29 / 0.0135  # Delsys Trigno: 29 samples per 13.5 ms frame, 2148.148... Hz
FORCE_RATE_HZ = 2000.0
MOCAP_RATE_HZ = 200.0
MUSCLES = ("gluteus_maximus", "gluteus_medius", "rectus_femoris", "tensor_fasciae_latae",
           "biceps_femoris", "external_oblique", "internal_oblique", "multifidus")
MARKERS = ("LASI", "RASI", "LPSI", "RPSI", "LTHI", "RTHI", "LKNE", "RKNE", "LTIB", "RTIB",
           "LANK", "RANK", "LHEE", "RHEE", "LTOE", "RTOE", "C7", "T10", "CLAV", "STRN")


def demo_streams() -> list[StreamSpec]:
    """Stream declarations of the demo lab (force plate, EMG, mocap, cue markers)."""
    plate = [plate_channel("fp1", c, f"ai{i}") for i, c in enumerate(PLATE_COMPONENTS)]
    emg = [emg_channel(m, s, str(i + 1))
           for i, (m, s) in enumerate((m, s) for s in ("l", "r") for m in MUSCLES)]
    mocap = [c for m in MARKERS for c in marker_channels(m)]
    counter = COUNTER
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


def demo_trial_summary(path: str | os.PathLike[str]) -> dict[str, float]:
    """Body weight, peak force and onset (BW + 5 SD) of the synthetic demo trial, measured
    from the stored session alone, beside the true values :func:`write_demo_session` stored."""
    from labkit.session.reader import open_session

    with open_session(path) as s:
        force = s.stream("force")
        fz = force.data[:, force.labels.index("fp1.Fz")]
        t = force.times
        truth = s.result("ground_truth").provenance["params"]
    weigh = (t >= t[0] + 1.0) & (t < t[0] + 2.0)
    bw = float(fz[weigh].mean())
    sd = float(fz[weigh].std(ddof=1))
    after = np.flatnonzero((t >= t[0] + 2.0) & (fz > bw + 5 * sd))
    onset = float(t[after[0]] - t[0]) if len(after) else float("nan")
    return {"body_weight_n": bw, "peak_force_n": float(fz.max()), "onset_s": onset,
            "true_body_weight_n": float(truth["body_weight_n"]),
            "true_peak_force_n": float(truth["peak_force_n"]), "true_onset_s": float(truth["onset_s"])}


# -- the simulated lab, end to end -------------------------------------------------------


@dataclass(frozen=True)
class LabDemoResult:
    """What :func:`run_lab_demo` produced."""

    path: Path
    metrics: pd.DataFrame
    result_name: str


def run_lab_demo(path: str | os.PathLike[str], *, n_trials: int = 3, config_path=None,
                 weigh_s: float = 1.5, effort_s: float = 2.5, rest_s: float = 1.0,
                 overwrite: bool = False, progress=None) -> LabDemoResult:
    """Run the simulated lab end to end: cued isometric mid-thigh pulls, recorded and analysed.

    The simulated lab publishes real LSL streams (two force plates, 16 EMG channels, mocap,
    ground truth); the recorder writes them into ``path``; cues go out on an LSL marker
    stream, and the simulated athlete reacts to them. Each trial is then analysed with
    :func:`labkit.signal.force.isometric` on the summed vertical force, and the metrics
    (with the ground truth beside them) are stored as a results group with provenance.

    Parameters
    ----------
    path : str or Path
        Session file to write.
    n_trials : int
        Number of pulls.
    config_path : path, optional
        Hardware config (default ``hardware_configs/simulated.yaml``); its source prefix is
        made unique so that a `labkit simulate` running elsewhere on the machine is not mixed in.
    weigh_s, effort_s, rest_s : float
        Quiet standing before ``go``, effort duration, rest after ``stop``.
    overwrite : bool
        Replace ``path`` if it exists.
    progress : callable, optional
        Called with a line of text at each step.
    """
    import uuid

    if "LSLAPICFG" not in os.environ:  # a lab of its own on loopback, unless told otherwise
        from labkit.lsl.loopback import configure_loopback

        configure_loopback(f"labkit-demo-{uuid.uuid4().hex[:8]}")
    import pylsl

    from labkit.config.hardware import load_hardware_config
    from labkit.devices.sim.lab import SimulatedLab
    from labkit.lsl.streams import create_outlet
    from labkit.record.recorder import Recorder

    say = progress or (lambda _msg: None)
    path = Path(path)
    if path.exists() and not overwrite:
        from labkit.errors import SessionError

        raise SessionError(f"{path}: file exists; choose a new path or pass --overwrite")
    config, text = load_hardware_config(config_path)
    prefix = f"{config.source_prefix}-demo{uuid.uuid4().hex[:6]}"
    text = text.replace(f"source_prefix: {config.source_prefix}", f"source_prefix: {prefix}")
    config, text = load_hardware_config(config_path or "simulated.yaml", text=text)
    cue_spec = StreamSpec("labkit-demo-cues", "markers", [ChannelSpec("cue", "", "marker")], 0.0,
                          "string", source_id=f"{prefix}-cues")
    with SimulatedLab(config) as lab:
        cues = create_outlet(cue_spec)
        lab.wait_for_cue_streams(1, timeout_s=10)
        rec = Recorder(config, path, config_text=text, subject="SIM01", operator="labkit demo",
                       protocol="imtp_demo", notes="simulated lab demo: cued isometric mid-thigh pulls",
                       overwrite=overwrite)
        say(f"recording {', '.join(config.recording.streams)} from the simulated lab")
        rec.start()
        try:
            time.sleep(0.5)
            for k in range(1, n_trials + 1):
                start = pylsl.local_clock()
                rec.writer.add_trial(k, "imtp", start, status="running")
                for cue in (f"trial:{k}", "task:imtp"):
                    cues.push_sample([cue])
                say(f"trial {k}: stand still")
                time.sleep(weigh_s)
                cues.push_sample(["go"])
                say(f"trial {k}: GO - pull as fast and hard as possible")
                time.sleep(effort_s)
                cues.push_sample(["stop"])
                say(f"trial {k}: relax")
                time.sleep(0.8)  # the athlete relaxes (reaction + decay) inside the window
                rec.writer.update_trial(k, end=pylsl.local_clock(), status="recorded")
                time.sleep(rest_s)
        finally:
            rec.stop()
        lab.check()
    say("analysing")
    metrics, params, inputs = _analyse_pulls(path, weigh_s=weigh_s)
    from labkit.session.results import write_result

    name = write_result(path, "isometric", method="labkit.signal.force.isometric", params=params,
                        inputs=inputs, tables={"metrics": metrics})
    return LabDemoResult(path, metrics, name)


def _analyse_pulls(path: Path, weigh_s: float = 1.5) -> tuple[pd.DataFrame, dict, dict]:
    import json

    from labkit.session.reader import open_session
    from labkit.signal import force

    with open_session(path) as s:
        st = s.stream("force")
        fz_labels = [lab for lab in st.labels if lab.endswith(".Fz")]
        fz = st.data[:, [st.labels.index(lab) for lab in fz_labels]].sum(axis=1)
        t = st.times
        trials = s.trials
        truth = {}
        if "truth" in s.streams:
            for raw in s.stream("truth").data[:, 0]:
                msg = json.loads(raw)
                if msg.get("event") == "effort":
                    truth[int(msg["trial"])] = msg
    rows = []
    params: dict = {}
    for _, trial in trials.iterrows():
        win = (t >= trial["start"]) & (t <= trial["end"])
        # weigh in the last second before GO (the window opens weigh_s before it)
        r = force.isometric(fz[win], st.rate_hz, weighing_start_s=max(0.0, weigh_s - 1.1))
        params = dict(r.params)
        onset = float(t[win][0] + r.onset_s) if r.onset_s == r.onset_s else float("nan")
        row = {"trial": int(trial["id"]), "onset_s": onset, "peak_force_n": r.peak_force_n,
               "rfd_0_100ms_n_s": r.rfd_n_s[100], "rfd_0_200ms_n_s": r.rfd_n_s[200],
               "force_at_100ms_n": r.force_at_n[100], "body_weight_n": r.body_weight_n,
               "valid": bool(r.valid), "flags": ",".join(r.flags)}
        tr = truth.get(int(trial["id"]))
        if tr is not None:
            row.update({"true_onset_s": tr["force_onset_s"], "true_peak_force_n": tr["peak"],
                        "true_rfd_0_100ms_n_s": tr["rfd_n_s"]["100"],
                        "true_rfd_0_200ms_n_s": tr["rfd_n_s"]["200"]})
        rows.append(row)
    inputs = {"stream": "force", "channels": fz_labels, "signal": "sum of vertical forces",
              "trials": [int(x) for x in trials["id"]], "windows": "trial start..end"}
    return pd.DataFrame(rows), params, inputs
