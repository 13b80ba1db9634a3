"""The simulated athlete: a seeded, analytic, pure-numpy model of force, EMG and kinematics.

The athlete keeps a timeline of :class:`Effort` objects (one per cued trial). Every signal
is a deterministic function of time (session clock, seconds) and, for the stochastic
parts of EMG, of the sample index, so that any window ``[t0, t1)`` can be produced at any
moment, in any chunking, with the same result: a device thread asks for the next chunk.

This module holds the :class:`Athlete` facade (the timeline and the signals devices ask
for) and re-exports the parameters and efforts; the rest is in modules of their own:

* :mod:`~labkit.devices.sim.athlete_params`: :class:`AthleteParams` and :class:`Effort`;
* :mod:`~labkit.devices.sim.athlete_force`: forces and moments on the plates;
* :mod:`~labkit.devices.sim.athlete_emg`: activation, EMG envelopes, ECG, surface EMG;
* :mod:`~labkit.devices.sim.athlete_motion`: joint angles, markers, segment frames;
* :mod:`~labkit.devices.sim.athlete_noise`: noise addressed by sample index;
* :mod:`~labkit.devices.sim.athlete_truth`: the ground truth of each effort.

Tasks (:data:`TASKS`): isometric pulls (``imtp``), segment tests
(``isometric_hip_extension``, ``isometric_hip_flexion``, ``isometric_trunk_rotation``),
``cmj``, ``drop_jump`` (from a box beside the plates: the athlete climbs it when the task
is announced, :meth:`Athlete.get_on_box`), ``single_leg_cmj`` (on the ``side`` leg's
plate, standing on it from the announcement, :meth:`Athlete.get_on_one_leg`),
``rebound_jumps`` (a CMJ and ``rebound_hops`` rebounds), ``run`` (a treadmill run at
``speed_m_s`` on two belts, one per foot, until the stop cue:
:mod:`~labkit.devices.sim.athlete_run`), ``mvc`` (EMG
only, no force change), ``quiet`` (nothing) and ``step_off`` (the plates are unloaded for
``step_off_duration_s``).

Misbehaviours (``Effort.misbehave``): ``countermovement`` (a ``countermovement_depth_n``
dip over ``countermovement_duration_s`` before the pull, which then starts that much
later), ``pretension`` (``pretension_n`` above BW from the reaction time on; the pull
starts ``pretension_lead_s`` later), ``step_off`` (the plates are unloaded instead of a
pull), ``weak_emg:<label>`` and ``missing_emg:<label>`` (that channel's burst is scaled
by ``weak_emg_factor`` or absent in this effort). ``weak_emg_channels`` and
``missing_emg_channels`` in the parameters do the same for the whole session
(a missing channel carries only instrument noise).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from labkit.devices.sim import athlete_emg as _emg
from labkit.devices.sim import athlete_force as _force
from labkit.devices.sim import athlete_motion as _motion
from labkit.devices.sim import athlete_run as _run
from labkit.devices.sim import athlete_truth as _truth
from labkit.devices.sim.athlete_emg import TRUNK_MUSCLES as TRUNK_MUSCLES
from labkit.devices.sim.athlete_force import G as G
from labkit.devices.sim.athlete_motion import JOINTS as JOINTS
from labkit.devices.sim.athlete_motion import MARKERS as MARKERS
from labkit.devices.sim.athlete_motion import MEDIAL_MARKERS as MEDIAL_MARKERS
from labkit.devices.sim.athlete_motion import SEGMENTS as SEGMENTS
from labkit.devices.sim.athlete_motion import STREAMED_MARKERS as STREAMED_MARKERS
from labkit.devices.sim.athlete_noise import IndexedNoise as IndexedNoise
from labkit.devices.sim.athlete_noise import sample_grid as sample_grid
from labkit.devices.sim.athlete_params import DEFAULT_EMG_LEAD_S as DEFAULT_EMG_LEAD_S
from labkit.devices.sim.athlete_params import AthleteParams, Effort
from labkit.devices.sim.athlete_truth import FORCE_EPOCHS_MS as FORCE_EPOCHS_MS
from labkit.devices.sim.athlete_truth import RFD_EPOCHS_MS as RFD_EPOCHS_MS
from labkit.errors import ConfigError

__all__ = [
    "MARKERS",
    "MEDIAL_MARKERS",
    "SEGMENTS",
    "STREAMED_MARKERS",
    "TASKS",
    "Athlete",
    "AthleteParams",
    "Effort",
    "IndexedNoise",
    "sample_grid",
]

# The models' names that were defined here before they moved to their modules (the
# ``X as X`` imports above and these) stay importable from here.
_CMJ_LEVELS = _emg.CMJ_LEVELS
_IMTP_LEVELS = _emg.IMTP_LEVELS
_emg_fir = _emg.emg_fir
_split_label = _emg.split_label
_Cmj = _force.CmjShape
_rise = _force.rise
_smoothstep = _force.smoothstep
_r6 = _truth.r6

TASKS = ("quiet", "imtp", "isometric_hip_extension", "isometric_hip_flexion",
         "isometric_trunk_rotation", "cmj", "drop_jump", "single_leg_cmj", "rebound_jumps", "mvc",
         "step_off", "run")
#: tasks that start from a stance the athlete takes when the task is announced
_STANCE = {"drop_jump": "box", "single_leg_cmj": "one_leg"}
#: a run cued without a duration lasts this long unless a stop cue ends it earlier
RUN_UNTIL_STOPPED_S = 600.0
MISBEHAVIOURS = ("countermovement", "pretension", "step_off", "weak_emg", "missing_emg")

class Athlete:
    """The simulated athlete's timeline and signals.

    Parameters
    ----------
    params : AthleteParams, optional
        Model parameters (defaults when omitted).

    Notes
    -----
    Thread-safe: efforts are added under a lock and signals read an immutable snapshot.
    All times are on the session clock (``pylsl.local_clock`` in the simulated lab).

    Examples
    --------
    >>> a = Athlete(AthleteParams(body_mass_kg=80.0, peak_force_n=2600.0))
    >>> e = a.go("imtp", cue_s=10.0)
    >>> round(e.onset_s, 3)
    10.18
    >>> bw = 80.0 * 9.80665
    >>> f100 = a.vertical_force(np.array([e.onset_s + 0.1]))[0]
    >>> bool(abs(f100 - (bw + (2600.0 - bw) * (1 - np.exp(-0.1 / 0.12)))) < 1e-9)
    True
    """

    def __init__(self, params: AthleteParams | None = None):
        self.params = params or AthleteParams()
        self.params.validate()
        self._efforts: tuple[Effort, ...] = ()
        self._lock = threading.Lock()
        self._fir: dict[float, np.ndarray] = {}  # EMG filter taps per rate
        self._noise: dict[tuple[int, float, int], IndexedNoise] = {}
        p = self.params
        rng = np.random.default_rng([p.seed & 0xFFFFFFFF, 7])
        self._ecg_phase_s = float(rng.uniform(0, 60.0 / p.heart_rate_bpm))
        self._sway = rng.uniform(0.05, 0.4, size=4), rng.uniform(0, 2 * np.pi, size=4)

    # ------------------------------------------------------------------ timeline
    @property
    def efforts(self) -> tuple[Effort, ...]:
        """Efforts so far, in the order they were added."""
        return self._efforts

    def go(self, task: str, cue_s: float, *, trial: int | None = None, side: str | None = None,
           muscle: str | None = None, direction: str | None = None,
           misbehave: Iterable[str] = (), hold_s: float | None = None,
           not_before_s: float | None = None, speed_m_s: float | None = None) -> Effort:
        """Plan an effort cued at ``cue_s`` and add it to the timeline.

        Parameters
        ----------
        task : str
            One of :data:`TASKS`.
        cue_s : float
            Time of the ``go`` cue (session clock, s).
        trial : int, optional
            Trial number, copied into the ground truth.
        side : {"l", "r"}, optional
            Tested side of segment tests (default ``"r"``) and of ``mvc`` (default both).
        muscle : str, optional
            Muscle of an ``mvc`` (default ``gluteus_maximus``).
        direction : {"left", "right"}, optional
            Rotation of ``isometric_trunk_rotation`` (default ``"left"``).
        misbehave : iterable of str
            ``countermovement``, ``pretension``, ``step_off``, ``weak_emg:<label>``,
            ``missing_emg:<label>``.
        hold_s : float, optional
            Effort duration from onset to relaxing (default ``params.hold_s``); a ``stop``
            cue (:meth:`relax`) may end it earlier.
        not_before_s : float, optional
            If anything of the effort would start before this time (signals already
            produced), the whole effort is shifted later; ``Effort.shifted_s`` says by how
            much.
        speed_m_s : float, optional
            Belt speed of a ``run`` (default ``params.run_speed_m_s``).

        Returns
        -------
        Effort
        """
        p = self.params
        if task not in TASKS:
            raise ConfigError(f"task={task!r} is not a task of the simulated athlete; use one of "
                              f"{', '.join(TASKS)}")
        misbehave = tuple(misbehave)
        for m in misbehave:
            if m.split(":", 1)[0] not in MISBEHAVIOURS:
                raise ConfigError(f"misbehave={m!r} is unknown; use one of {', '.join(MISBEHAVIOURS)} "
                                  "(weak_emg and missing_emg take ':<channel label>')")
        if side not in (None, "l", "r"):
            raise ConfigError(f"side={side!r} must be 'l' or 'r'")
        if direction not in (None, "left", "right"):
            raise ConfigError(f"direction={direction!r} must be 'left' or 'right'")
        if "step_off" in misbehave:
            task = "step_off"
        if task in ("isometric_hip_extension", "isometric_hip_flexion") and side is None:
            side = "r"
        if task == "isometric_trunk_rotation" and direction is None:
            direction = "left"
        if task == "mvc" and muscle is None:
            muscle = "gluteus_maximus"
        start = cue_s + p.reaction_time_s
        onset = start
        set_pretension = self._take_pretension_hold() if "pretension" in misbehave else None
        box_start, climbing_now = None, False
        stance = _STANCE.get(task)
        if stance:  # on the box (on one leg) since the announcement, or getting there now
            box_start = self._take_hold(stance)
            if box_start is None:
                box_start, onset, climbing_now = start, start + 2 * p.step_ramp_s, True
        if task == "single_leg_cmj" and side is None:
            side = "r"
        if "countermovement" in misbehave and task != "step_off":
            onset += p.countermovement_duration_s
        if "pretension" in misbehave and task != "step_off" and set_pretension is None:
            onset += p.pretension_lead_s
        hold = p.hold_s if hold_s is None else float(hold_s)
        if task == "run" and hold_s is None:  # runs until the stop cue (relax)
            hold = RUN_UNTIL_STOPPED_S
        if task == "step_off":
            end = onset + p.step_off_duration_s
        elif task == "cmj":
            c = _force.cmj_shape(p)
            end = onset + c.t1 + c.t2 + c.t_flight + 1.0
        elif task == "drop_jump":
            d = _force.drop_jump_shape(p)
            end = onset + d.t_fall + d.contact_s + d.t_flight + 1.0
        elif task == "single_leg_cmj":
            c = _force.cmj_shape(_force.single_leg(p))
            end = onset + c.t1 + c.t2 + c.t_flight + 1.0
        elif task == "rebound_jumps":
            rb = _force.rebound_shape(p)
            end = onset + rb.first_landing_s + rb.n_hops * (rb.contact_s + rb.t_flight) + 1.0
        else:
            end = onset + hold
        lead = max(p.emg_lead_s.values()) if task not in ("quiet", "step_off") else 0.0
        start = min(start, onset - lead)
        effort = Effort(task=task, cue_s=float(cue_s), onset_s=onset, end_s=end, start_s=start,
                        trial=trial, side=side, muscle=muscle, direction=direction,
                        misbehave=misbehave, pretension_start_s=set_pretension,
                        stance_start_s=box_start,
                        speed_m_s=(float(speed_m_s) if speed_m_s is not None else p.run_speed_m_s)
                        if task == "run" else None)
        if not_before_s is not None and start < not_before_s:
            d = not_before_s - start
            effort = dataclasses.replace(effort, onset_s=onset + d, end_s=end + d, start_s=start + d,
                                         shifted_s=d)
            if climbing_now:  # a stance hold taken already shaped the signals: it stays
                effort = dataclasses.replace(effort, stance_start_s=box_start + d)
        if effort.stance_start_s is not None:  # the effort shapes the signals from the climb on
            effort = dataclasses.replace(effort, start_s=min(effort.start_s, effort.stance_start_s))
        with self._lock:
            self._efforts = (*self._efforts, effort)
        return effort

    def get_set(self, cue_s: float, *, not_before_s: float | None = None) -> float:
        """Pre-tension while getting set (before GO): ``pretension_n`` from the reaction time
        after ``cue_s`` until the next :meth:`go` (whose pull adds on top) relaxes.

        Returns the time the pretension starts. Used for the ``pretension`` misbehaviour when
        a task is announced before GO, as a real athlete takes up the slack early.
        """
        start = float(cue_s) + self.params.reaction_time_s
        if not_before_s is not None:
            start = max(start, float(not_before_s))
        hold = Effort(task="pretension", cue_s=float(cue_s), onset_s=start, end_s=math.inf,
                      start_s=start, misbehave=("pretension",), pretension_start_s=start)
        with self._lock:
            self._efforts = (*self._efforts, hold)
        return start

    def get_on_box(self, cue_s: float, *, not_before_s: float | None = None) -> float:
        """Climb the box beside the plates (a drop jump is announced): the plates unload from
        the reaction time after ``cue_s`` until the next :meth:`go` drops onto them.

        Returns the time the athlete starts climbing.
        """
        return self._stance("box", cue_s, None, not_before_s)

    def get_on_one_leg(self, cue_s: float, side: str, *, not_before_s: float | None = None) -> float:
        """Stand on the ``side`` leg (``l``/``r``; a single-leg test is announced), from the
        reaction time after ``cue_s`` until the next :meth:`go`'s effort ends."""
        return self._stance("one_leg", cue_s, side, not_before_s)

    def _stance(self, kind: str, cue_s: float, side: str | None, not_before_s: float | None) -> float:
        start = float(cue_s) + self.params.reaction_time_s
        if not_before_s is not None:
            start = max(start, float(not_before_s))
        hold = Effort(task=kind, cue_s=float(cue_s), onset_s=start, end_s=math.inf, start_s=start,
                      side=side)
        with self._lock:
            self._efforts = (*self._efforts, hold)
        return start

    def _take_pretension_hold(self) -> float | None:
        """Remove the open pretension hold (if any) and return when it started."""
        return self._take_hold("pretension")

    def _take_hold(self, task: str) -> float | None:
        """Remove the open ``pretension`` or ``box`` hold (if any); return when it started."""
        with self._lock:
            for i in range(len(self._efforts) - 1, -1, -1):
                e = self._efforts[i]
                if e.task == task and math.isinf(e.end_s):
                    self._efforts = (*self._efforts[:i], *self._efforts[i + 1:])
                    return e.pretension_start_s if task == "pretension" else e.onset_s
        return None

    def relax(self, cue_s: float, *, not_before_s: float | None = None) -> Effort | None:
        """End the effort in progress at ``cue_s + reaction_time_s`` (a ``stop`` cue).

        Returns the updated effort, or None when no effort was in progress. CMJs and
        step-offs end by themselves and are not changed.
        """
        at = cue_s + self.params.reaction_time_s
        if not_before_s is not None:
            at = max(at, not_before_s)
        with self._lock:
            for i in range(len(self._efforts) - 1, -1, -1):
                e = self._efforts[i]
                if e.start_s <= at < e.end_s and e.task not in ("cmj", "drop_jump", "single_leg_cmj",
                                                                "rebound_jumps", "step_off", "box",
                                                                "one_leg"):
                    new = dataclasses.replace(e, end_s=max(at, e.onset_s))
                    self._efforts = (*self._efforts[:i], new, *self._efforts[i + 1:])
                    return new
        return None

    def _active(self, t0: float, t1: float) -> list[Effort]:
        tail = 25.0 * max(self.params.relax_time_constant_s, self.params.emg_fall_s) + \
            self.params.step_ramp_s + 1.0
        return [e for e in self._efforts if e.start_s - 1.0 < t1 and e.end_s + tail > t0]

    def _active_at(self, t: np.ndarray) -> list[Effort]:
        """Efforts that shape the signals at the (sorted) times ``t``; none for no times."""
        return self._active(float(t[0]), float(t[-1])) if t.size else []

    # ------------------------------------------------------------------ force
    def vertical_force(self, t_s: np.ndarray) -> np.ndarray:
        """Total vertical ground reaction force (N) over both plates, noise-free."""
        t = np.asarray(t_s, dtype=float)
        loads = self._loads(t)
        return self.params.body_weight_n + loads["both"] + loads["l"] + loads["r"]

    def plate_loads(self, t_s: np.ndarray, az0_m: Sequence[float] = (-0.04, -0.04)) -> np.ndarray:
        """Forces and moments per plate, noise-free.

        Parameters
        ----------
        t_s : array of float
            Times on the session clock (s).
        az0_m : sequence of float
            Per plate, the (negative) height of the top surface above the measurement
            origin's z, as in :func:`labkit.signal.force_plates.centre_of_pressure`.
            Plate 0 is under the left foot, plate 1 under the right (one plate: both feet).

        Returns
        -------
        ndarray, shape (n, n_plates, 6)
            ``Fx, Fy, Fz`` (N) and ``Mx, My, Mz`` (N·m) about each plate's origin, with
            the COP swaying a few millimetres around the plate centre.
        """
        t = np.asarray(t_s, dtype=float)
        return _force.plate_forces(self.params, self._loads(t), self._sway, t, az0_m)

    def _loads(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """The efforts' added loads; a run replaces standing by each foot's force."""
        active = self._active_at(t)
        loads = _force.added_loads(self.params, [e for e in active if e.task != "run"], t)
        for e in active:
            if e.task == "run":
                r = _run.run_loads(self.params, _run.run_strides(self.params, e), t)
                loads["both"] = loads["both"] - self.params.body_weight_n * (1.0 - r["stand"])
                loads["l"] = loads["l"] + r["fz_l"]
                loads["r"] = loads["r"] + r["fz_r"]
                loads["fx_l"] = loads.get("fx_l", 0.0) + r["fx_l"]
                loads["fx_r"] = loads.get("fx_r", 0.0) + r["fx_r"]
        return loads

    def run_strides(self, effort: Effort) -> _run.RunStrides:
        """The strides of a ``run`` effort (strike and toe-off times per side)."""
        return _run.run_strides(self.params, effort)

    # ------------------------------------------------------------------ EMG
    def emg_envelope(self, t_s: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """EMG amplitude (RMS volts) per channel ``<muscle>_<side>``, noise-free.

        Returns
        -------
        ndarray, shape (n, len(labels))
        """
        t = np.asarray(t_s, dtype=float)
        active = self._active_at(t)
        out = _emg.emg_envelope(self.params, [e for e in active if e.task != "run"], t, labels)
        for e in active:
            if e.task == "run":
                rs = _run.run_strides(self.params, e)
                for j, lb in enumerate(labels):
                    if lb not in self.params.missing_emg_channels:
                        out[:, j] += _run.run_emg_envelope(self.params, rs, t, _emg.split_label(lb))
        return out

    def ecg(self, t_s: np.ndarray) -> np.ndarray:
        """ECG as seen on the trunk (volts at the R wave = ``ecg_amplitude_v``)."""
        return _emg.ecg(self.params, self._ecg_phase_s, np.asarray(t_s, dtype=float))

    def emg(self, sample_index: np.ndarray, t_s: np.ndarray, labels: Sequence[str], fs_hz: float, *,
            ecg_on_trunk: bool = True, noise_v: float = 5e-6, stream_key: int = 0) -> np.ndarray:
        """Surface EMG in volts for samples ``sample_index`` taken at times ``t_s``.

        The stochastic parts are addressed by ``sample_index`` (a regular, contiguous
        index of the device), so the result does not depend on the chunking.

        Parameters
        ----------
        sample_index : array of int
            Contiguous increasing indices (``i0 .. i0 + n - 1``).
        t_s : array of float
            True times of these samples (session clock, s).
        labels : sequence of str
            ``<muscle>_<side>`` per channel.
        fs_hz : float
            Nominal rate (for the spectral shape of the noise).
        ecg_on_trunk : bool
            Add ECG to obliques and multifidus (left side at full amplitude, right at 60 %).
        noise_v : float
            RMS of the white instrument noise (electrodes and amplifier).
        stream_key : int
            Distinguishes the noise of different devices.

        Returns
        -------
        ndarray, shape (n, len(labels))
        """
        p = self.params
        idx = np.asarray(sample_index, dtype=np.int64)
        n = idx.size
        nch = len(labels)
        if n == 0:
            return np.zeros((0, nch))
        i0 = int(idx[0])
        fir = self._fir.get(fs_hz)
        if fir is None:
            fir = self._fir[fs_hz] = _emg.emg_fir(fs_hz)
        white = self._noise_for(stream_key, fs_hz, 2 * nch)
        # fir.size - 1 samples of history, so the filtered noise has no start-up transient
        w = white.take(i0 - fir.size + 1, i0 + n)
        out = _emg.shaped_emg(self.emg_envelope(t_s, labels), w, fir, noise_v)
        if ecg_on_trunk and p.ecg_amplitude_v and _emg.has_trunk(labels):
            _emg.add_trunk_ecg(out, labels, self.ecg(t_s))
        return out

    def _noise_for(self, key: int, fs: float, width: int) -> IndexedNoise:
        k = (key, fs, width)
        noise = self._noise.get(k)
        if noise is None:
            noise = self._noise[k] = IndexedNoise(self.params.seed, 1000 + key, width)
        return noise

    # ------------------------------------------------------------------ kinematics
    def joint_angles(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """Hip flexion, knee flexion and ankle dorsiflexion (rad), same on both sides.

        Returns
        -------
        dict
            ``hip``, ``knee``, ``ankle`` -> arrays like ``t_s``; plus ``lift_m``, the
            ballistic rise of the whole body during a CMJ flight.
        """
        t = np.asarray(t_s, dtype=float)
        return _motion.joint_angles(self.params, self._active_at(t), t)

    def cmj_landmarks(self, effort: Effort) -> dict[str, float]:
        """CMJ landmarks on the session clock: onset, peak negative velocity, lowest point,
        takeoff, landing, and each joint's extension onset and peak extension velocity."""
        return _motion.cmj_landmarks(self.params, effort)

    def _chain(self, t: np.ndarray) -> dict[str, Any]:
        return _motion.leg_chain(self.params, self.joint_angles(t), t)

    def markers(self, t_s: np.ndarray, names: Sequence[str] = MARKERS) -> np.ndarray:
        """Marker positions (m; x anterior, y left, z up), noise-free, shape (n, len(names), 3).

        ``names`` may also hold :data:`MEDIAL_MARKERS` (medial knee ``?KNM`` and medial
        malleolus ``?ANM``, mirroring ``?KNE`` and ``?ANK`` about the joint centres)."""
        t = np.asarray(t_s, dtype=float)
        out = _motion.marker_positions(self._chain(t), t, names)
        for e in self._active_at(t):
            if e.task == "run":
                rs = _run.run_strides(self.params, e)
                m = (t >= rs.onset_s) & (t < rs.stand_s)
                if np.any(m):
                    pos = _run.run_markers(self.params, rs, t[m])
                    out[m] = np.stack([pos[nm] for nm in names], axis=1)
        return out

    def segments(self, t_s: np.ndarray) -> np.ndarray:
        """Segment frames: origin (m) and orientation quaternion (w, x, y, z) per segment of
        :data:`SEGMENTS`; shape (n, 7, 7). Orientations are rotations about the lab y axis."""
        t = np.asarray(t_s, dtype=float)
        out = _motion.segment_frames(self._chain(t), t)
        for e in self._active_at(t):
            if e.task == "run":
                rs = _run.run_strides(self.params, e)
                m = (t >= rs.onset_s) & (t < rs.stand_s)
                if np.any(m):
                    out[m] = _run.run_rigid_bodies(self.params, rs, t[m], SEGMENTS)
        return out

    # ------------------------------------------------------------------ truth
    def truth(self, effort: Effort, emg_labels: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Ground truth of an effort as JSON-ready messages (each well under 1 KiB).

        Returns
        -------
        list of dict
            ``{"event": "effort", ...}`` (task, cue, force onset and closed-form force
            metrics), ``{"event": "emg", ...}`` (EMG onsets per channel label) when
            ``emg_labels`` are given, and ``{"event": "kinematics", ...}`` for a CMJ.
        """
        msgs = _truth.effort_truth(self.params, effort, emg_labels)
        if effort.task == "run":
            msgs = msgs[:1] + _run.run_truth(self.params, effort)
        return msgs

    def emg_truth(self, effort: Effort, labels: Sequence[str]) -> tuple[dict[str, float], list, list]:
        """True EMG burst onsets of an effort per channel label, plus weak and missing labels.

        A channel has an onset when its muscle takes part in the task and it is not missing;
        the onset is ``force_onset - emg_lead_s[muscle]``.
        """
        return _truth.emg_truth(self.params, effort, labels)
