"""Simulated protocol sessions written straight to a file (no LSL, no real time).

:func:`write_battery_session` gives the same layout a ``labkit run`` of the ``imtp``
protocol writes (force plates, EMG, mocap, protocol text, ``weigh`` and ``trial`` events,
trials and a ``protocol`` results group computed by the runner's own analysis), from the
simulated athlete's signals, in well under a second. Tests and benchmarks use it to make
tens or hundreds of sessions. :func:`write_protocol_session` does the same for any force
protocol (``hip_battery``: IMTP, hip extension and flexion per side, trunk rotation both
ways, CMJ), one attempt of each trial.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labkit.errors import ConfigError

__all__ = ["write_battery_session", "write_protocol_session"]

EMG_RATE_HZ = 29 / 0.0135
FORCE_RATE_HZ = 2000.0
MOCAP_RATE_HZ = 100.0
EMG_MUSCLES = ("gluteus_maximus", "gluteus_medius", "rectus_femoris", "biceps_femoris")


def _streams(markers: tuple[str, ...]):
    from labkit.spec import COUNTER, PLATE_COMPONENTS, StreamSpec, emg_channel, marker_channels, plate_channel

    plate = [plate_channel(p, c, f"ai{6 * k + i}") for k, p in enumerate(("fp1", "fp2"))
             for i, c in enumerate(PLATE_COMPONENTS)]
    emg = [emg_channel(m, s, str(i + 1))
           for i, (m, s) in enumerate((m, s) for s in ("l", "r") for m in EMG_MUSCLES)]
    mocap = [c for m in markers for c in marker_channels(m)]
    counter = COUNTER
    return [
        StreamSpec("force", "force", [*plate, counter], FORCE_RATE_HZ, "float64",
                   source_id="synthetic-force", device={"manufacturer": "labkit", "model": "synthetic"}),
        StreamSpec("emg", "emg", [*emg, counter], EMG_RATE_HZ, "float32",
                   source_id="synthetic-emg", device={"manufacturer": "labkit", "model": "synthetic"}),
        StreamSpec("mocap", "mocap", [*mocap, counter], MOCAP_RATE_HZ, "float32",
                   source_id="synthetic-mocap", device={"manufacturer": "labkit", "model": "synthetic"}),
    ]


def write_battery_session(path: str | os.PathLike[str], *, seed: int = 0, n_trials: int = 3,
                          athlete: str | None = None, body_mass_kg: float | None = None,
                          peak_force_n: float | None = None, overwrite: bool = False,
                          trial_peak_forces_n: Sequence[float] | None = None) -> Path:
    """Write a simulated ``imtp`` protocol session, analysed as ``labkit run`` would.

    Parameters
    ----------
    path : str or Path
        Session file to write.
    seed : int
        Seeds the athlete (noise, body mass and peak force when not given).
    n_trials : int
        Number of pulls (each 1.5 s quiet, 3 s effort, 0.8 s settle, as ``--fast``).
    athlete : str, optional
        Athlete code (default ``SIM<seed>``).
    body_mass_kg, peak_force_n : float, optional
        Athlete parameters; drawn from the seed when omitted.
    overwrite : bool
        Replace an existing file.
    trial_peak_forces_n : sequence of float, optional
        The peak force of each pull (``n_trials`` values: trial-to-trial variation, e.g. a
        known test-retest noise); default: every pull at ``peak_force_n``.

    Returns
    -------
    Path
        The file, holding a ``protocol`` results group (method ``labkit.protocol.runner``).
    """
    from labkit.trials.protocols import load_protocol
    from labkit.trials.replay import step_at

    rng = np.random.default_rng([seed, 11])
    mass = float(body_mass_kg if body_mass_kg is not None else rng.uniform(60, 100))
    peak = float(peak_force_n if peak_force_n is not None else mass * 9.80665 * rng.uniform(2.8, 4.0))
    protocol, protocol_text = load_protocol("imtp")
    trial_path = "s2.a{}.s0"
    step = step_at(protocol, trial_path.format(1))
    plan = [(trial_path.format(k), step, None, k) for k in range(1, n_trials + 1)]
    if trial_peak_forces_n is not None and len(trial_peak_forces_n) != n_trials:
        raise ConfigError(f"trial_peak_forces_n has {len(trial_peak_forces_n)} values for "
                          f"n_trials={n_trials}; give one peak force per pull")
    return _write(Path(path), protocol, protocol_text, plan, rng,
                  {"seed": seed, "body_mass_kg": mass, "peak_force_n": peak, "hold_s": 3.0},
                  athlete or f"SIM{seed:03d}", "synthetic imtp battery", overwrite,
                  trial_peak_forces_n=trial_peak_forces_n)


def write_protocol_session(path: str | os.PathLike[str], protocol: str = "hip_battery", *,
                           seed: int = 0, athlete: str | None = None, overwrite: bool = False,
                           athlete_params: dict | None = None) -> Path:
    """Write a simulated session of any force protocol: one attempt of each of its trials.

    Every trial step of the protocol is run once (``per_side`` steps once per side), as
    ``labkit run --fast`` would (1.5 s quiet, 3 s effort, 0.8 s settle), by the simulated
    athlete with its default parameters (80 kg, IMTP peak 2600 N, hip extension 400 N,
    hip flexion 300 N, trunk rotation 120 N.m, CMJ 0.35 m), and analysed by the runner's
    own analysis. No LSL, no real time: well under a second per trial.

    Parameters
    ----------
    path : str or Path
        Session file to write.
    protocol : str
        A shipped protocol's name or a protocol file (its tests must not need a muscle).
    seed : int
        Seeds the noise.
    athlete : str, optional
        Athlete code (default ``SIM<seed>``).
    overwrite : bool
        Replace an existing file.
    athlete_params : dict, optional
        Parameters of the simulated athlete over the defaults (e.g. the ``run_*`` ones of
        a treadmill run's hip-extension deficit). A run's ground truth (the athlete's
        ``run`` and ``strides`` messages) is stored as ``truth`` events at its GO.

    Returns
    -------
    Path
        The file, holding a ``protocol`` results group (method ``labkit.protocol.runner``).

    Examples
    --------
    >>> import labkit  # doctest: +SKIP
    >>> p = write_protocol_session("hip.h5", "hip_battery")  # doctest: +SKIP
    >>> labkit.analyze(p).query("test == 'cmj'")  # doctest: +SKIP
    """
    from labkit.errors import ConfigError
    from labkit.trials.catalogue import entry
    from labkit.trials.protocols import load_protocol

    proto, text = load_protocol(protocol)
    plan = [(p, step, side, 1) for p, step, side in _first_attempts(proto.steps)]
    for _, step, _, _ in plan:
        if entry(step.test).needs_muscle:
            raise ConfigError(f"{protocol}: test {step.test} needs a muscle's MVC, which "
                              "write_protocol_session does not simulate; record it with `labkit run`")
    rng = np.random.default_rng([seed, 13])
    # plate moments are quieter than forces (about 0.1 N.m; trunk rotations are read from them)
    return _write(Path(path), proto, text, plan, rng, {"seed": seed, "hold_s": 3.0, **(athlete_params or {})},
                  athlete or f"SIM{seed:03d}", f"synthetic {proto.name} session", overwrite,
                  moment_noise=0.1)


def _first_attempts(steps, prefix: str = "", side: str | None = None):
    """(step path, trial step, side) of the first attempt of every trial step, in order."""
    for i, st in enumerate(steps):
        here = f"{prefix}s{i}"
        if st.kind == "trial":
            yield here, st.trial, st.trial.side or side
        elif st.kind == "repeat":
            yield from _first_attempts(st.body.steps, f"{here}.a1.", side)
        elif st.kind == "per_side":
            for sd in st.body.sides:
                yield from _first_attempts(st.body.steps, f"{here}.{sd}.", sd)


def _by_trial(owners: list, bounds: list[float]):
    """A signal of the whole session from the athlete of each pull: the pull's athlete from
    its trial start to the next trial's start (one athlete: the whole signal at once)."""

    def signal(t: np.ndarray, fn):
        if all(o is owners[0] for o in owners):
            return fn(owners[0], slice(None))
        seg = np.searchsorted(np.asarray(bounds, dtype=float), t, side="right")
        out = None
        for k, owner in enumerate(owners):
            m = seg == k
            if not m.any():
                continue
            part = fn(owner, m)
            if out is None:
                out = np.empty((len(t), *part.shape[1:]), dtype=part.dtype)
            out[m] = part
        return out

    return signal


def _cue(a, step, side: str | None, go: float, trial: int) -> None:
    """Cue the simulated athlete for one trial, as the runner's ``task`` and ``go`` cues do."""
    from labkit.trials.catalogue import entry

    test = entry(step.test)
    kwargs = {}
    if test.sided:
        kwargs["side"] = (side or "left")[0]
    if test.directional:
        kwargs["direction"] = step.direction
    hold = None if test.kind == "jump" else 3.0
    if test.paced:  # a run lasts the whole effort window, at the step's speed
        kwargs["speed_m_s"] = step.speed_m_s
        hold = max(min(step.effort_s, 3.0), test.min_window_s)
    return a.go(test.sim_task, go, trial=trial, hold_s=hold, **kwargs)


def _write(path: Path, protocol, protocol_text: str, plan, rng, athlete_params: dict,
           subject: str, notes: str, overwrite: bool, moment_noise: float = 1.5,
           trial_peak_forces_n: Sequence[float] | None = None) -> Path:
    """Simulate ``plan`` (step path, step, side, attempt), write the session and its results.

    The plates' forces get 1.5 N of white noise, their moments ``moment_noise`` N.m.
    """
    from labkit.devices.sim.athlete import MARKERS as SIM_MARKERS
    from labkit.devices.sim.athlete import MEDIAL_MARKERS, Athlete, AthleteParams
    from labkit.session.results import write_result
    from labkit.session.writer import SessionWriter
    from labkit.trials.analyse import analyse_session_trials, result_tables
    from labkit.trials.catalogue import entry, side_of
    from labkit.trials.outcome import TrialRecord
    from labkit.trials.replay import with_side

    params = AthleteParams(**athlete_params)
    a = Athlete(params)
    if trial_peak_forces_n is None:
        owners = [a] * len(plan)
    else:  # the same seed: the same athlete standing between pulls, each pull its own peak
        owners = [Athlete(dataclasses.replace(params, peak_force_n=float(f))) for f in trial_peak_forces_n]
    t0 = 5000.0  # an LSL-like clock
    weigh = (t0 + 0.5, t0 + 2.5)
    windows = []
    start = t0 + 3.0
    truths = []
    for k, (trial_path, step, side, attempt) in enumerate(plan, 1):
        go = start + step.quiet_s
        effort = _cue(owners[k - 1], step, side, go, k)
        if entry(step.test).paced:  # a run's strides and targets, as the simulated lab publishes them
            truths += [(go, msg) for msg in owners[k - 1].truth(effort)]
        end = go + max(min(step.effort_s, 3.0), entry(step.test).min_window_s) + 0.8
        windows.append((k, trial_path, with_side(step, side), side, attempt, start, go, end))
        start = end + 2.5
    duration = start - t0
    signal = _by_trial(owners, [w[5] for w in windows[1:]])
    markers = (*SIM_MARKERS, *MEDIAL_MARKERS)
    streams = _streams(markers)
    with SessionWriter(path, streams, protocol_text=protocol_text, subject=subject,
                       operator="labkit.analysis.synthetic", protocol=protocol.name,
                       notes=notes, overwrite=overwrite, fsync=False) as w:
        n = int(duration * FORCE_RATE_HZ)
        t = t0 + np.arange(n) / FORCE_RATE_HZ
        loads = signal(t, lambda ath, m: ath.plate_loads(t[m]))  # (n, 2, 6)
        noise = rng.normal(0.0, 1.5, loads.shape)
        noise[:, :, 3:] *= moment_noise / 1.5
        w.append("force", np.c_[(loads + noise).reshape(n, 12), np.arange(n)], t)
        labels = [c.label for c in streams[1].channels[:-1]]
        n = int(duration * EMG_RATE_HZ)
        idx = np.arange(n)
        t = t0 + idx / EMG_RATE_HZ
        w.append("emg", np.c_[signal(t, lambda ath, m: ath.emg(idx[m], t[m], labels, EMG_RATE_HZ)), idx], t)
        n = int(duration * MOCAP_RATE_HZ)
        t = t0 + np.arange(n) / MOCAP_RATE_HZ
        pos = signal(t, lambda ath, m: ath.markers(t[m], markers)).reshape(n, -1) \
            + rng.normal(0, 2e-4, (n, 3 * len(markers)))
        w.append("mocap", np.c_[pos, np.arange(n)], t)
        w.add_event(t0 + 0.1, "protocol_started", json.dumps({"name": protocol.name,
                                                              "version": protocol.version}), "protocol")
        fz = a.vertical_force(np.arange(weigh[0], weigh[1], 1 / FORCE_RATE_HZ))
        bw = float(np.mean(fz))
        w.add_event(weigh[1], "weigh", json.dumps({"body_weight_n": bw, "sd_n": float(np.std(fz)),
                                                   "start_s": weigh[0], "end_s": weigh[1]}), "protocol")
        for k, trial_path, step, side, attempt, s, go, e in windows:
            w.add_trial(k, step.test, s, e, "valid", attempt=attempt,
                        side=side_of(step.test, side, step.direction))
            w.add_event(s, "trial", json.dumps({"id": k, "path": trial_path, "side": side}), "protocol")
            w.add_event(go, "go", "", "protocol")
        for go, msg in truths:
            w.add_event(go, "truth", json.dumps(msg), "truth")
    records = [TrialRecord(k, trial_path, step, side, attempt, s, e, True, "")
               for k, trial_path, step, side, attempt, s, _, e in windows]
    table, aggregates, analyses, details = analyse_session_trials(path, records, bw, {})
    write_result(path, "protocol", method="labkit.protocol.runner",
                 params={"protocol": protocol.name, "protocol_version": protocol.version,
                         "body_weight_n": bw, "tare_n": {}, "analyses": analyses, "fast": True},
                 inputs={"streams": ["force", "emg"], "trials": [k for k, *_ in windows],
                         "windows": "trial start..end, session clock (synchronised times)"},
                 tables=result_tables(table, aggregates, details))
    return path
