"""The simulated athlete: a seeded, analytic, pure-numpy model of force, EMG and kinematics.

The athlete keeps a timeline of :class:`Effort` objects (one per cued trial). Every signal
is a deterministic function of time (session clock, seconds) and, for the stochastic
parts of EMG, of the sample index, so that any window ``[t0, t1)`` can be produced at any
moment, in any chunking, with the same result: a device thread asks for the next chunk.

Force model (vertical force summed over both feet, split ``left_share`` : 1 - ``left_share``
between the left plate ``fp1`` and the right plate ``fp2``):

* quiet standing: ``F = BW = m g`` exactly (plates add their own noise);
* isometric pulls (``imtp``): ``F = BW + A (1 - exp(-(t - t_on)/tau))`` from the onset
  ``t_on = cue + reaction_time`` until the relax time, then an exponential return to BW
  with ``relax_time_constant_s``; ``A = peak_force_n - BW``. Mean RFD over 0-X is
  ``A (1 - exp(-X/tau)) / X``, net impulse ``A (X - tau (1 - exp(-X/tau)))``;
* segment tests load one plate like a load cell (document: the tested side's plate):
  ``isometric_hip_extension`` adds ``+A`` to that plate's Fz (heel pressed down),
  ``isometric_hip_flexion`` adds ``-A`` (strap anchored to the plate pulled up),
  ``isometric_trunk_rotation`` adds a free moment Mz (``+`` turning left) split over both
  plates; all with the same exponential rise;
* ``cmj``: unweighting and braking as one sine period of net force
  ``-D sin(2 pi s/T1)`` (lowest point at ``T1``, velocity 0), propulsion
  ``BW (1 - s/T2) + P sin(pi s/T2)`` (reaches 0 N at takeoff), flight at 0 N, landing
  ``BW + L (s/tl) exp(1 - s/tl)``. ``P`` is chosen so that the takeoff velocity gives
  exactly ``cmj_jump_height_m``;
* ``mvc``: EMG only (no force change); ``quiet``: nothing; ``step_off``: the plates are
  unloaded for ``step_off_duration_s``.

EMG per channel ``<muscle>_<side>``: ``envelope(t) * shaped(i) + noise(i) + ECG(t)``;
the envelope rises linearly over ``emg_rise_s`` from ``t_on - emg_lead_s[muscle]`` to the
task's level (fraction of MVC times ``emg_mvc_v``); ``shaped`` is unit-variance noise with
a typical surface-EMG spectrum (FIR filtered white noise, indexed by sample); trunk
channels carry ECG when asked.

Kinematics: a sagittal stick model per leg built from the toe up (toe fixed on the
plate; the heel rises when the ankle plantarflexes), with hip, knee and ankle angles
(Plug-in Gait signs: hip flexion +, knee flexion +, dorsiflexion +). In a CMJ each joint
flexes from the onset, reaches its maximum flexion (its extension onset) at
``lowest point + cmj_extension_lags_s[joint]`` and extends until takeoff, so the
proximal-to-distal lags are exact.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from labkit.errors import ConfigError

__all__ = [
    "MARKERS",
    "MEDIAL_MARKERS",
    "SEGMENTS",
    "TASKS",
    "Athlete",
    "AthleteParams",
    "Effort",
    "IndexedNoise",
    "sample_grid",
]

G = 9.80665
TASKS = ("quiet", "imtp", "isometric_hip_extension", "isometric_hip_flexion",
         "isometric_trunk_rotation", "cmj", "mvc", "step_off")
MISBEHAVIOURS = ("countermovement", "pretension", "step_off", "weak_emg", "missing_emg")
RFD_EPOCHS_MS = (50, 100, 150, 200, 250)
FORCE_EPOCHS_MS = (50, 90, 100, 150, 200, 250)
TRUNK_MUSCLES = ("external_oblique", "internal_oblique", "multifidus")
JOINTS = ("hip", "knee", "ankle")
MARKERS = ("LASI", "RASI", "LPSI", "RPSI", "LTHI", "RTHI", "LKNE", "RKNE", "LTIB", "RTIB",
           "LANK", "RANK", "LHEE", "RHEE", "LTOE", "RTOE")
# medial knee (epicondyle) and medial malleolus, for the simple marker set of
# docs/kinematics.md; not streamed by the simulated mocap (ask markers() for them)
MEDIAL_MARKERS = ("LKNM", "RKNM", "LANM", "RANM")
SEGMENTS = ("pelvis", "thigh_l", "thigh_r", "shank_l", "shank_r", "foot_l", "foot_r")

DEFAULT_EMG_LEAD_S = {
    "gluteus_maximus": 0.02, "gluteus_medius": 0.03, "rectus_femoris": 0.05,
    "tensor_fasciae_latae": 0.045, "biceps_femoris": 0.12, "semitendinosus": 0.11,
    "external_oblique": 0.08, "internal_oblique": 0.09, "multifidus": 0.10,
    "vastus_lateralis": 0.05, "gastrocnemius": 0.03, "soleus": 0.03, "iliopsoas": 0.06,
}

# Activation (fraction of MVC) per task; "both" sides unless the task has a tested side.
_IMTP_LEVELS = {"gluteus_maximus": 0.8, "gluteus_medius": 0.5, "rectus_femoris": 0.5,
                "tensor_fasciae_latae": 0.4, "biceps_femoris": 0.7, "semitendinosus": 0.7,
                "vastus_lateralis": 0.9, "gastrocnemius": 0.7, "soleus": 0.6,
                "external_oblique": 0.4, "internal_oblique": 0.4, "multifidus": 0.7,
                "iliopsoas": 0.2}
_CMJ_LEVELS = {"gluteus_maximus": 0.7, "gluteus_medius": 0.4, "rectus_femoris": 0.6,
               "tensor_fasciae_latae": 0.3, "biceps_femoris": 0.5, "semitendinosus": 0.5,
               "vastus_lateralis": 0.9, "gastrocnemius": 0.8, "soleus": 0.7,
               "external_oblique": 0.3, "internal_oblique": 0.3, "multifidus": 0.5,
               "iliopsoas": 0.3}


@dataclass(frozen=True)
class AthleteParams:
    """Parameters of the simulated athlete (SI units; names carry them).

    Built from the ``athlete:`` mapping of a hardware config with :meth:`from_mapping`;
    every field below may appear there. Mapping fields (``emg_lead_s``,
    ``cmj_extension_lags_s``) are merged into their defaults.
    """

    seed: int = 0
    body_mass_kg: float = 80.0
    peak_force_n: float = 2600.0
    rise_time_constant_s: float = 0.12
    relax_time_constant_s: float = 0.15
    reaction_time_s: float = 0.18
    hold_s: float = 4.0
    left_share: float = 0.5
    sway_m: float = 0.005
    hip_extension_peak_n: float = 400.0
    hip_flexion_peak_n: float = 300.0
    trunk_rotation_peak_nm: float = 120.0
    pretension_n: float = 200.0
    pretension_lead_s: float = 1.0
    countermovement_depth_n: float = 150.0
    countermovement_duration_s: float = 0.3
    step_off_duration_s: float = 2.0
    step_ramp_s: float = 0.3
    cmj_jump_height_m: float = 0.35
    cmj_unweighting_fraction: float = 0.5
    cmj_countermovement_s: float = 0.6
    cmj_propulsion_s: float = 0.25
    cmj_landing_peak_s: float = 0.06
    cmj_extension_lags_s: Mapping[str, float] = field(
        default_factory=lambda: {"hip": 0.0, "knee": 0.03, "ankle": 0.06})
    emg_lead_s: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EMG_LEAD_S))
    emg_mvc_v: float = 3e-4
    emg_rise_s: float = 0.03
    emg_fall_s: float = 0.1
    ecg_amplitude_v: float = 1.5e-4
    heart_rate_bpm: float = 62.0
    weak_emg_channels: tuple[str, ...] = ()
    missing_emg_channels: tuple[str, ...] = ()
    weak_emg_factor: float = 0.1
    thigh_length_m: float = 0.42
    shank_length_m: float = 0.42
    foot_length_m: float = 0.25

    @property
    def body_weight_n(self) -> float:
        """Body weight ``m g`` in newtons (g = 9.80665 m/s²)."""
        return self.body_mass_kg * G

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> AthleteParams:
        """Parameters from a mapping (e.g. ``config.athlete.model_dump()``), validated.

        Raises
        ------
        ConfigError
            On an unknown key or a value of the wrong kind or range.
        """
        mapping = dict(mapping or {})
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in names:
                raise ConfigError(f"athlete.{key} is not a parameter of the simulated athlete; "
                                  f"use one of {', '.join(sorted(names))}")
            default = names[key].default
            if key in ("emg_lead_s", "cmj_extension_lags_s"):
                if not isinstance(value, Mapping):
                    raise ConfigError(f"athlete.{key}={value!r} must be a mapping of name to seconds")
                base = dict(DEFAULT_EMG_LEAD_S) if key == "emg_lead_s" else \
                    {"hip": 0.0, "knee": 0.03, "ankle": 0.06}
                unknown = set(value) - set(base)
                if unknown:
                    raise ConfigError(f"athlete.{key} has unknown names {sorted(unknown)}; "
                                      f"use {', '.join(base)}")
                base.update({k: float(v) for k, v in value.items()})
                kwargs[key] = base
            elif key in ("weak_emg_channels", "missing_emg_channels"):
                kwargs[key] = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
            elif key == "seed":
                kwargs[key] = int(value)
            else:
                try:
                    kwargs[key] = float(value) if isinstance(default, float) else value
                except (TypeError, ValueError):
                    raise ConfigError(f"athlete.{key}={value!r} must be a number") from None
        params = cls(**kwargs)
        params.validate()
        return params

    def validate(self) -> None:
        """Check ranges; raise ``ConfigError`` naming the parameter."""
        positive = ("body_mass_kg", "rise_time_constant_s", "relax_time_constant_s",
                    "reaction_time_s", "hold_s", "cmj_jump_height_m", "cmj_countermovement_s",
                    "cmj_propulsion_s", "cmj_landing_peak_s", "emg_rise_s", "emg_fall_s",
                    "heart_rate_bpm", "countermovement_duration_s", "step_off_duration_s",
                    "step_ramp_s", "thigh_length_m", "shank_length_m", "foot_length_m")
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"athlete.{name}={value!r} must be a positive number")
        if self.peak_force_n <= self.body_weight_n:
            raise ConfigError(f"athlete.peak_force_n={self.peak_force_n} must exceed body weight "
                              f"({self.body_weight_n:.1f} N)")
        if not 0.0 <= self.left_share <= 1.0:
            raise ConfigError(f"athlete.left_share={self.left_share} must be within 0..1")
        if not 0.0 < self.cmj_unweighting_fraction < 1.0:
            raise ConfigError(f"athlete.cmj_unweighting_fraction={self.cmj_unweighting_fraction} "
                              "must be within (0, 1)")
        lead = max(self.emg_lead_s.values())
        if lead > self.reaction_time_s - 0.05:
            raise ConfigError(f"athlete.emg_lead_s has a lead of {lead} s: keep every lead at least "
                              f"50 ms below reaction_time_s={self.reaction_time_s}")
        lags = self.cmj_extension_lags_s
        if max(lags.values()) >= self.cmj_propulsion_s or min(lags.values()) < 0:
            raise ConfigError(f"athlete.cmj_extension_lags_s={dict(lags)} must be >= 0 and shorter "
                              f"than cmj_propulsion_s={self.cmj_propulsion_s}")


@dataclass(frozen=True)
class Effort:
    """One cued trial on the athlete's timeline (times on the session clock, s).

    ``onset_s`` is the true force onset (start of the pull, of the countermovement, of
    the stepping off); ``start_s`` is the first moment anything changes (EMG onset,
    dip or pretension start); ``end_s`` is when the athlete relaxes.
    """

    task: str
    cue_s: float
    onset_s: float
    end_s: float
    start_s: float
    trial: int | None = None
    side: str | None = None
    muscle: str | None = None
    direction: str | None = None
    misbehave: tuple[str, ...] = ()
    shifted_s: float = 0.0
    #: when pretension began (set when the athlete pre-tensioned while getting set, before GO)
    pretension_start_s: float | None = None

    def has(self, what: str) -> bool:
        return any(m == what or m.startswith(what + ":") for m in self.misbehave)

    def channels_with(self, what: str) -> set[str]:
        return {m.split(":", 1)[1] for m in self.misbehave if m.startswith(what + ":")}


def sample_grid(t0_s: float, t1_s: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices ``k`` and times ``k / fs_hz`` of a regular grid within ``[t0_s, t1_s)``."""
    k0 = math.ceil(t0_s * fs_hz - 1e-9)
    k1 = math.ceil(t1_s * fs_hz - 1e-9)
    k = np.arange(k0, max(k0, k1), dtype=np.int64)
    return k, k / fs_hz


class IndexedNoise:
    """Standard normal noise addressed by sample index: the same index, the same value.

    Values come in blocks of ``block`` samples from ``default_rng([seed, key, block])``,
    so any window can be produced in any order and chunking.
    """

    def __init__(self, seed: int, key: int, width: int, block: int = 4096):
        self.seed, self.key, self.width, self.block = int(seed), int(key), int(width), int(block)
        self._cache: dict[int, np.ndarray] = {}

    def _block(self, b: int) -> np.ndarray:
        out = self._cache.get(b)
        if out is None:
            rng = np.random.default_rng([self.seed & 0xFFFFFFFF, self.key, b + (1 << 40)])
            out = rng.standard_normal((self.block, self.width))
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))
            self._cache[b] = out
        return out

    def take(self, i0: int, i1: int) -> np.ndarray:
        """Noise for sample indices ``i0 <= i < i1`` as ``(i1 - i0, width)``."""
        n = max(0, i1 - i0)
        out = np.empty((n, self.width))
        pos = 0
        i = i0
        while pos < n:
            b, off = divmod(i, self.block)
            m = min(self.block - off, n - pos)
            out[pos:pos + m] = self._block(b)[off:off + m]
            pos += m
            i += m
        return out


def _emg_fir(fs_hz: float, n_taps: int = 63) -> np.ndarray:
    """FIR taps shaping white noise to a surface-EMG spectrum (peak near 80 Hz), unit gain
    in variance: ``P(f) ~ fh^4 f^2 / ((f^2 + fl^2)(f^2 + fh^2)^2)``, fl = 50, fh = 150 Hz."""
    nfft = 1024
    f = np.fft.rfftfreq(nfft, 1.0 / fs_hz)
    fl, fh = 50.0, 150.0
    gain = np.sqrt(fh**4 * f**2 / ((f**2 + fl**2) * (f**2 + fh**2) ** 2))
    h = np.fft.irfft(gain, nfft)
    h = np.roll(h, n_taps // 2)[:n_taps] * np.hanning(n_taps + 2)[1:-1]
    return h / np.sqrt(np.sum(h**2))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _rise(t: np.ndarray, on: float, end: float, amp: float, tau: float, tau_r: float) -> np.ndarray:
    """``amp (1 - exp(-(t-on)/tau))`` on [on, end), then an exponential return to 0."""
    out = np.zeros_like(t)
    m = (t >= on) & (t < end)
    out[m] = -amp * np.expm1(-(t[m] - on) / tau)
    a_end = -amp * math.expm1(-(end - on) / tau) if end > on else 0.0
    m = t >= end
    out[m] = a_end * np.exp(-(t[m] - end) / tau_r)
    return out


@dataclass(frozen=True)
class _Cmj:
    """Closed-form CMJ landmarks and amplitudes (times relative to onset)."""

    t1: float
    t2: float
    dip_n: float
    push_n: float
    v_to: float
    t_flight: float
    land_n: float
    tl: float
    depth_m: float
    rise_m: float


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
        self._fir: dict[float, np.ndarray] = {}
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
           not_before_s: float | None = None) -> Effort:
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
        if "countermovement" in misbehave and task != "step_off":
            onset += p.countermovement_duration_s
        if "pretension" in misbehave and task != "step_off" and set_pretension is None:
            onset += p.pretension_lead_s
        hold = p.hold_s if hold_s is None else float(hold_s)
        if task == "step_off":
            end = onset + p.step_off_duration_s
        elif task == "cmj":
            c = self._cmj()
            end = onset + c.t1 + c.t2 + c.t_flight + 1.0
        else:
            end = onset + hold
        lead = max(p.emg_lead_s.values()) if task not in ("quiet", "step_off") else 0.0
        start = min(start, onset - lead)
        effort = Effort(task=task, cue_s=float(cue_s), onset_s=onset, end_s=end, start_s=start,
                        trial=trial, side=side, muscle=muscle, direction=direction,
                        misbehave=misbehave, pretension_start_s=set_pretension)
        if not_before_s is not None and start < not_before_s:
            d = not_before_s - start
            effort = dataclasses.replace(effort, onset_s=onset + d, end_s=end + d, start_s=start + d,
                                         shifted_s=d)
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

    def _take_pretension_hold(self) -> float | None:
        """Remove the open pretension hold (if any) and return when it started."""
        with self._lock:
            for i in range(len(self._efforts) - 1, -1, -1):
                e = self._efforts[i]
                if e.task == "pretension" and math.isinf(e.end_s):
                    self._efforts = (*self._efforts[:i], *self._efforts[i + 1:])
                    return e.pretension_start_s
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
                if e.start_s <= at < e.end_s and e.task not in ("cmj", "step_off"):
                    new = dataclasses.replace(e, end_s=max(at, e.onset_s))
                    self._efforts = (*self._efforts[:i], new, *self._efforts[i + 1:])
                    return new
        return None

    def _active(self, t0: float, t1: float) -> list[Effort]:
        tail = 25.0 * max(self.params.relax_time_constant_s, self.params.emg_fall_s) + \
            self.params.step_ramp_s + 1.0
        return [e for e in self._efforts if e.start_s - 1.0 < t1 and e.end_s + tail > t0]

    # ------------------------------------------------------------------ force
    def _cmj(self) -> _Cmj:
        p = self.params
        m, bw = p.body_mass_kg, p.body_weight_n
        t1, t2 = p.cmj_countermovement_s, p.cmj_propulsion_s
        dip = p.cmj_unweighting_fraction * bw
        v_to = math.sqrt(2 * G * p.cmj_jump_height_m)
        push = (m * v_to + bw * t2 / 2) * math.pi / (2 * t2)
        t_flight = 2 * v_to / G
        tl = p.cmj_landing_peak_s
        land = m * v_to / (tl * math.e)
        depth = dip * t1**2 / (2 * math.pi * m)
        rise = (-bw * t2**2 / 6 + push * t2**2 / math.pi) / m
        return _Cmj(t1, t2, dip, push, v_to, t_flight, land, tl, depth, rise)

    def _cmj_net(self, s: np.ndarray) -> np.ndarray:
        """Net vertical force F - BW of a CMJ, ``s`` seconds after its onset."""
        c = self._cmj()
        bw = self.params.body_weight_n
        out = np.zeros_like(s)
        m = (s >= 0) & (s < c.t1)
        out[m] = -c.dip_n * np.sin(2 * np.pi * s[m] / c.t1)
        u = s - c.t1
        m = (u >= 0) & (u < c.t2)
        out[m] = -bw * u[m] / c.t2 + c.push_n * np.sin(np.pi * u[m] / c.t2)
        u = s - c.t1 - c.t2
        m = (u >= 0) & (u < c.t_flight)
        out[m] = -bw
        u = s - c.t1 - c.t2 - c.t_flight
        m = u >= 0
        out[m] = c.land_n * (u[m] / c.tl) * np.exp(1.0 - u[m] / c.tl)
        return out

    def _loads(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """Added loads: vertical on both feet, on the left/right plate, free moment."""
        p = self.params
        z = np.zeros_like(t)
        both, left, right, mz = z.copy(), z.copy(), z.copy(), z.copy()
        if t.size == 0:
            return {"both": both, "l": left, "r": right, "mz": mz}
        tau, tau_r = p.rise_time_constant_s, p.relax_time_constant_s
        for e in self._active(float(t[0]), float(t[-1])):
            if e.task == "step_off":
                off = _smoothstep((t - e.onset_s) / p.step_ramp_s)
                back = _smoothstep((t - e.end_s) / p.step_ramp_s)
                both -= p.body_weight_n * off * (1.0 - back)
                continue
            pre_start = (e.pretension_start_s if e.pretension_start_s is not None
                         else e.cue_s + p.reaction_time_s + e.shifted_s)
            if e.has("countermovement"):
                d = p.countermovement_duration_s
                s = t - (e.onset_s - d)
                m = (s >= 0) & (s < d)
                both[m] -= p.countermovement_depth_n * np.sin(np.pi * s[m] / d) ** 2
            if e.has("pretension"):
                ramp = _smoothstep((t - pre_start) / p.step_ramp_s)
                pre = p.pretension_n * ramp
                after = t >= e.end_s
                pre[after] = p.pretension_n * np.exp(-(t[after] - e.end_s) / tau_r)
                both += pre
            if e.task == "imtp":
                both += _rise(t, e.onset_s, e.end_s, p.peak_force_n - p.body_weight_n, tau, tau_r)
            elif e.task == "cmj":
                both += self._cmj_net(t - e.onset_s)
            elif e.task in ("isometric_hip_extension", "isometric_hip_flexion"):
                sign = 1.0 if e.task == "isometric_hip_extension" else -1.0
                amp = p.hip_extension_peak_n if sign > 0 else p.hip_flexion_peak_n
                add = sign * _rise(t, e.onset_s, e.end_s, amp, tau, tau_r)
                if e.side == "l":
                    left += add
                else:
                    right += add
            elif e.task == "isometric_trunk_rotation":
                sign = 1.0 if e.direction == "left" else -1.0
                mz += sign * _rise(t, e.onset_s, e.end_s, p.trunk_rotation_peak_nm, tau, tau_r)
        return {"both": both, "l": left, "r": right, "mz": mz}

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
        p = self.params
        t = np.asarray(t_s, dtype=float)
        n_pl = len(az0_m)
        loads = self._loads(t)
        total = p.body_weight_n + loads["both"]
        if n_pl == 1:
            fz = [total + loads["l"] + loads["r"]]
            mzs = [loads["mz"]]
        else:
            fz = [p.left_share * total + loads["l"], (1 - p.left_share) * total + loads["r"]]
            fz += [np.zeros_like(t)] * (n_pl - 2)
            mzs = [0.5 * loads["mz"], 0.5 * loads["mz"]] + [np.zeros_like(t)] * (n_pl - 2)
        f, ph = self._sway
        out = np.zeros((t.size, n_pl, 6))
        for i in range(n_pl):
            cx = p.sway_m * np.sin(2 * np.pi * f[0] * t + ph[0] + i)
            cy = p.sway_m * np.sin(2 * np.pi * f[1] * t + ph[1] + i)
            fx = 0.01 * fz[i] * np.sin(2 * np.pi * f[2] * t + ph[2] + i)
            fy = 0.01 * fz[i] * np.sin(2 * np.pi * f[3] * t + ph[3] + i)
            if i < 2 and n_pl >= 2:  # the rotation couple also shows as opposite shear
                fx = fx + (0.5 if i == 0 else -0.5) * mzs[i] / 0.2
            a = az0_m[i]
            out[:, i, 0], out[:, i, 1], out[:, i, 2] = fx, fy, fz[i]
            out[:, i, 3] = cy * fz[i] - fy * a
            out[:, i, 4] = -cx * fz[i] + fx * a
            out[:, i, 5] = mzs[i] + fy * cx - fx * cy
        return out

    # ------------------------------------------------------------------ EMG
    def _levels(self, e: Effort) -> dict[tuple[str, str], float]:
        both = ("l", "r")
        out: dict[tuple[str, str], float] = {}
        if e.task in ("imtp", "cmj"):
            table = _IMTP_LEVELS if e.task == "imtp" else _CMJ_LEVELS
            out = {(m, s): v for m, v in table.items() for s in both}
        elif e.task == "isometric_hip_extension":
            s = e.side or "r"
            other = "l" if s == "r" else "r"
            out = {(m, s): v for m, v in (("gluteus_maximus", 0.9), ("biceps_femoris", 0.8),
                                          ("semitendinosus", 0.8), ("multifidus", 0.4))}
            out.update({("multifidus", other): 0.3, ("gluteus_medius", other): 0.2})
        elif e.task == "isometric_hip_flexion":
            s = e.side or "r"
            out = {(m, s): v for m, v in (("rectus_femoris", 0.8), ("tensor_fasciae_latae", 0.7),
                                          ("iliopsoas", 0.8))}
            out.update({(m, x): 0.3 for m in ("external_oblique", "internal_oblique") for x in both})
        elif e.task == "isometric_trunk_rotation":
            # turning left: right external oblique with left internal oblique
            eo, io = ("r", "l") if e.direction == "left" else ("l", "r")
            out = {("external_oblique", eo): 0.8, ("internal_oblique", io): 0.8,
                   ("external_oblique", io): 0.2, ("internal_oblique", eo): 0.2,
                   ("multifidus", "l"): 0.5, ("multifidus", "r"): 0.5}
        elif e.task == "mvc":
            sides = (e.side,) if e.side else both
            out = {(e.muscle or "gluteus_maximus", s): 1.0 for s in sides}
        return out

    def _burst_end(self, e: Effort) -> float:
        if e.task == "cmj":
            c = self._cmj()
            return e.onset_s + c.t1 + c.t2
        return e.end_s

    def emg_envelope(self, t_s: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """EMG amplitude (RMS volts) per channel ``<muscle>_<side>``, noise-free.

        Returns
        -------
        ndarray, shape (n, len(labels))
        """
        p = self.params
        t = np.asarray(t_s, dtype=float)
        out = np.zeros((t.size, len(labels)))
        if t.size == 0:
            return out
        keys = [_split_label(lb) for lb in labels]
        for e in self._active(float(t[0]), float(t[-1])):
            levels = self._levels(e)
            weak, missing = e.channels_with("weak_emg"), e.channels_with("missing_emg")
            end = self._burst_end(e)
            for j, (lb, key) in enumerate(zip(labels, keys, strict=True)):
                level = levels.get(key, 0.0)
                if level <= 0 or lb in missing:
                    continue
                if lb in weak:
                    level *= p.weak_emg_factor
                b = e.onset_s - p.emg_lead_s.get(key[0], 0.05)
                up = np.clip((t - b) / p.emg_rise_s, 0.0, 1.0)
                at_end = min(1.0, max(0.0, (end - b) / p.emg_rise_s))
                down = np.where(t >= end, np.clip(1.0 - (t - end) / p.emg_fall_s, 0.0, 1.0) * at_end, up)
                out[:, j] += level * p.emg_mvc_v * down
        for j, lb in enumerate(labels):
            if lb in p.missing_emg_channels:
                out[:, j] = 0.0
            elif lb in p.weak_emg_channels:
                out[:, j] *= p.weak_emg_factor
        return out

    def ecg(self, t_s: np.ndarray) -> np.ndarray:
        """ECG as seen on the trunk (volts at the R wave = ``ecg_amplitude_v``)."""
        p = self.params
        t = np.asarray(t_s, dtype=float)
        beat = 60.0 / p.heart_rate_bpm
        k = np.round((t - self._ecg_phase_s) / beat)
        out = np.zeros_like(t)
        for dk in (-1.0, 0.0, 1.0):
            kk = k + dk
            tb = self._ecg_phase_s + kk * beat + 0.03 * beat * np.sin(2 * np.pi * kk / 7.3)
            tt = t - tb
            for off, w, a in ((-0.025, 0.008, -0.15), (0.0, 0.010, 1.0), (0.025, 0.009, -0.3)):
                out += a * np.exp(-0.5 * ((tt - off) / w) ** 2)
        return p.ecg_amplitude_v * out

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
            fir = self._fir[fs_hz] = _emg_fir(fs_hz)
        white = self._noise_for(stream_key, fs_hz, 2 * nch)
        w = white.take(i0 - fir.size + 1, i0 + n)
        env = self.emg_envelope(t_s, labels)
        out = np.empty((n, nch))
        for j in range(nch):
            shaped = np.convolve(w[:, j], fir, mode="valid")
            out[:, j] = env[:, j] * shaped + noise_v * w[fir.size - 1:, nch + j]
        if ecg_on_trunk and p.ecg_amplitude_v:
            ecg = None
            for j, lb in enumerate(labels):
                muscle, side = _split_label(lb)
                if muscle in TRUNK_MUSCLES:
                    if ecg is None:
                        ecg = self.ecg(t_s)
                    out[:, j] += (1.0 if side == "l" else 0.6) * ecg
        return out

    def _noise_for(self, key: int, fs: float, width: int) -> IndexedNoise:
        k = (key, fs, width)
        noise = self._noise.get(k)
        if noise is None:
            noise = self._noise[k] = IndexedNoise(self.params.seed, 1000 + key, width)
        return noise

    # ------------------------------------------------------------------ kinematics
    _POSTURES_DEG: ClassVar = {"stand": (5.0, 5.0, 3.0), "imtp": (35.0, 40.0, 15.0)}
    _CMJ_FLEX_DEG: ClassVar = {"hip": 70.0, "knee": 80.0, "ankle": 25.0}   # added at maximum flexion
    _CMJ_TAKEOFF_DEG: ClassVar = {"hip": -10.0, "knee": -3.0, "ankle": -30.0}  # added at takeoff

    def joint_angles(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """Hip flexion, knee flexion and ankle dorsiflexion (rad), same on both sides.

        Returns
        -------
        dict
            ``hip``, ``knee``, ``ankle`` -> arrays like ``t_s``; plus ``lift_m``, the
            ballistic rise of the whole body during a CMJ flight.
        """
        t = np.asarray(t_s, dtype=float)
        base = np.array(self._POSTURES_DEG["stand"])
        ang = {j: np.full(t.shape, base[i]) for i, j in enumerate(JOINTS)}
        lift = np.zeros_like(t)
        if t.size:
            for e in self._active(float(t[0]), float(t[-1])):
                if e.task == "imtp":
                    # gets set in the pull posture from the cue on, back after relaxing
                    w = _smoothstep((t - e.cue_s) / 0.5) * (1 - _smoothstep((t - e.end_s - 0.5) / 0.5))
                    target = np.array(self._POSTURES_DEG["imtp"]) - base
                    for i, j in enumerate(JOINTS):
                        ang[j] += w * target[i]
                elif e.task == "cmj":
                    self._cmj_angles(t, e, ang, lift)
        return {"hip": np.deg2rad(ang["hip"]), "knee": np.deg2rad(ang["knee"]),
                "ankle": np.deg2rad(ang["ankle"]), "lift_m": lift}

    def cmj_landmarks(self, effort: Effort) -> dict[str, float]:
        """CMJ landmarks on the session clock: onset, peak negative velocity, lowest point,
        takeoff, landing, and each joint's extension onset and peak extension velocity."""
        c = self._cmj()
        o = effort.onset_s
        z = o + c.t1
        to = z + c.t2
        out = {"onset_s": o, "peak_negative_velocity_s": o + c.t1 / 2, "lowest_s": z,
               "takeoff_s": to, "landing_s": to + c.t_flight}
        for j in JOINTS:
            ej = z + self.params.cmj_extension_lags_s[j]
            out[f"{j}_extension_onset_s"] = ej
            out[f"{j}_peak_extension_velocity_s"] = 0.5 * (ej + to)
        return out

    def _cmj_angles(self, t, e, ang, lift) -> None:
        lm = self.cmj_landmarks(e)
        o, to, land = lm["onset_s"], lm["takeoff_s"], lm["landing_s"]
        for j in JOINTS:
            ej = lm[f"{j}_extension_onset_s"]
            flex, off = self._CMJ_FLEX_DEG[j], self._CMJ_TAKEOFF_DEG[j]
            d = np.zeros_like(t)
            m = (t >= o) & (t < ej)
            d[m] = flex * _smoothstep((t[m] - o) / (ej - o))
            m = (t >= ej) & (t < to)
            d[m] = off + (flex - off) * (1 - _smoothstep((t[m] - ej) / (to - ej)))
            m = (t >= to) & (t < land)
            d[m] = off
            m = t >= land  # absorb (to 40 % of the flexion within 0.15 s) and stand up
            s = t[m] - land
            peak = 0.4 * flex
            d[m] = np.where(s < 0.15, off + (peak - off) * _smoothstep(s / 0.15),
                            peak * (1 - _smoothstep((s - 0.15) / 0.6)))
            ang[j] += d
        c = self._cmj()
        m = (t >= to) & (t < land)
        s = t[m] - to
        lift[m] += c.v_to * s - 0.5 * G * s**2

    def _chain(self, t: np.ndarray):
        """Sagittal stick model; returns per side dict of points (n, 3) and segment angles."""
        p = self.params
        a = self.joint_angles(t)
        h, k, d, lift = a["hip"], a["knee"], a["ankle"], a["lift_m"]
        pf = np.maximum(0.0, -d)          # heel rise (foot pitch) when plantarflexed
        sa = np.maximum(0.0, d)           # shank forward lean
        phi_t = sa - k                    # thigh (knee -> hip) lean
        phi_p = phi_t + h                 # pelvis up-axis lean
        n = t.size
        out = {}
        for side, y in (("l", 0.1), ("r", -0.1)):
            lat = 1.0 if side == "l" else -1.0
            toe = np.zeros((n, 3))
            toe[:, 0], toe[:, 1], toe[:, 2] = 0.18, y, lift
            heel = toe - p.foot_length_m * np.column_stack([np.cos(pf), np.zeros(n), -np.sin(pf)])
            ankle = heel + np.column_stack([0.05 * np.cos(pf) + 0.07 * np.sin(pf), np.zeros(n),
                                            -0.05 * np.sin(pf) + 0.07 * np.cos(pf)])
            knee = ankle + p.shank_length_m * np.column_stack([np.sin(sa), np.zeros(n), np.cos(sa)])
            hip = knee + p.thigh_length_m * np.column_stack([np.sin(phi_t), np.zeros(n), np.cos(phi_t)])
            out[side] = {"toe": toe, "heel": heel, "ankle": ankle, "knee": knee, "hip": hip, "lat": lat}
        out["angles"] = {"pelvis": phi_p, "thigh": phi_t, "shank": sa, "foot": pf}
        return out

    def markers(self, t_s: np.ndarray, names: Sequence[str] = MARKERS) -> np.ndarray:
        """Marker positions (m; x anterior, y left, z up), noise-free, shape (n, len(names), 3).

        ``names`` may also hold :data:`MEDIAL_MARKERS` (medial knee ``?KNM`` and medial
        malleolus ``?ANM``, mirroring ``?KNE`` and ``?ANK`` about the joint centres)."""
        t = np.asarray(t_s, dtype=float)
        ch = self._chain(t)
        phi_p = ch["angles"]["pelvis"]
        mid = 0.5 * (ch["l"]["hip"] + ch["r"]["hip"])
        c, s = np.cos(phi_p), np.sin(phi_p)

        def pelvis_point(x, y, z):  # rotate a pelvis-frame offset about y by phi_p
            return mid + np.column_stack([c * x + s * z, np.full(t.size, y), -s * x + c * z])

        pos = {}
        for side, up in (("l", "L"), ("r", "R")):
            leg = ch[side]
            lat = np.array([0.0, leg["lat"], 0.0])
            sgn = leg["lat"]
            pos[up + "ASI"] = pelvis_point(0.07, sgn * 0.12, 0.08)
            pos[up + "PSI"] = pelvis_point(-0.12, sgn * 0.05, 0.11)
            pos[up + "THI"] = 0.5 * (leg["hip"] + leg["knee"]) + 0.07 * lat
            pos[up + "KNE"] = leg["knee"] + 0.05 * lat
            pos[up + "TIB"] = 0.5 * (leg["knee"] + leg["ankle"]) + 0.05 * lat
            pos[up + "ANK"] = leg["ankle"] + 0.04 * lat
            pos[up + "KNM"] = leg["knee"] - 0.05 * lat
            pos[up + "ANM"] = leg["ankle"] - 0.04 * lat
            pos[up + "HEE"] = leg["heel"] + np.array([0.0, 0.0, 0.02])
            pos[up + "TOE"] = leg["toe"] + np.array([0.0, 0.0, 0.02])
        try:
            return np.stack([pos[nm] for nm in names], axis=1)
        except KeyError as exc:
            raise ConfigError(f"marker {exc.args[0]!r} is not simulated; use "
                              f"{', '.join(MARKERS + MEDIAL_MARKERS)}") from None

    def segments(self, t_s: np.ndarray) -> np.ndarray:
        """Segment frames: origin (m) and orientation quaternion (w, x, y, z) per segment of
        :data:`SEGMENTS`; shape (n, 7, 7). Orientations are rotations about the lab y axis."""
        t = np.asarray(t_s, dtype=float)
        ch = self._chain(t)
        ang = ch["angles"]
        out = np.zeros((t.size, len(SEGMENTS), 7))
        origins = {"pelvis": 0.5 * (ch["l"]["hip"] + ch["r"]["hip"])}
        for side in ("l", "r"):
            origins[f"thigh_{side}"] = ch[side]["hip"]
            origins[f"shank_{side}"] = ch[side]["knee"]
            origins[f"foot_{side}"] = ch[side]["ankle"]
        for i, seg in enumerate(SEGMENTS):
            a = ang[seg.split("_")[0]]
            out[:, i, :3] = origins[seg]
            out[:, i, 3] = np.cos(a / 2)
            out[:, i, 5] = np.sin(a / 2)
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
        p = self.params
        e = effort
        bw = p.body_weight_n
        r6 = _r6
        head = {"event": "effort", "trial": e.trial, "task": e.task, "cue_s": r6(e.cue_s),
                "reaction_time_s": p.reaction_time_s, "force_onset_s": r6(e.onset_s),
                "relax_s": r6(e.end_s)}
        if e.side:
            head["side"] = e.side
        if e.muscle:
            head["muscle"] = e.muscle
        if e.direction:
            head["direction"] = e.direction
        if e.misbehave:
            head["misbehave"] = list(e.misbehave)
        if e.shifted_s:
            head["shifted_s"] = r6(e.shifted_s)
        head["body_weight_n"] = r6(bw)
        msgs = [head]
        tau = p.rise_time_constant_s
        amp = None
        if e.task == "imtp":
            amp, head["signal"], head["baseline"] = p.peak_force_n - bw, "Fz_total", bw
        elif e.task in ("isometric_hip_extension", "isometric_hip_flexion"):
            ext = e.task == "isometric_hip_extension"
            amp = p.hip_extension_peak_n if ext else p.hip_flexion_peak_n
            head["signal"] = f"{'fp1' if e.side == 'l' else 'fp2'}.Fz"
            head["sign"] = 1 if ext else -1
            head["baseline"] = bw * (p.left_share if e.side == "l" else 1 - p.left_share)
        elif e.task == "isometric_trunk_rotation":
            amp, head["signal"], head["baseline"] = p.trunk_rotation_peak_nm, "Mz_total", 0.0
            head["sign"] = 1 if e.direction == "left" else -1
        if e.has("pretension") and e.task != "step_off":
            head["pretension_n"] = p.pretension_n
            if isinstance(head.get("baseline"), float) and e.task == "imtp":
                head["baseline"] = bw + p.pretension_n
        if e.has("countermovement") and e.task != "step_off":
            head["countermovement_min_n"] = r6(bw - p.countermovement_depth_n)
            head["countermovement_s"] = r6(e.onset_s - p.countermovement_duration_s / 2)
        if amp is not None:
            head["unit"] = "N.m" if e.task == "isometric_trunk_rotation" else "N"
            head["baseline"] = r6(head["baseline"])
            dur = e.end_s - e.onset_s
            head["peak"] = r6(head["baseline"] - amp * math.expm1(-dur / tau))
            head["time_to_peak_s"] = r6(dur)
            head["force_at"] = {str(x): r6(head["baseline"] - amp * math.expm1(-x / 1000 / tau))
                                for x in FORCE_EPOCHS_MS}
            head["rfd_n_s"] = {str(x): r6(-amp * math.expm1(-x / 1000 / tau) / (x / 1000))
                               for x in RFD_EPOCHS_MS}
            head["impulse_n_s"] = {str(x): r6(amp * (x / 1000 + tau * math.expm1(-x / 1000 / tau)))
                                   for x in RFD_EPOCHS_MS}
            head["peak_rfd_n_s"] = r6(amp / tau)
            head["peak_rfd_20ms_n_s"] = r6(-amp * math.expm1(-0.02 / tau) / 0.02)
        if e.task == "step_off":
            head["force_onset_s"] = None
            head["step_off_s"] = r6(e.onset_s)
            head["step_on_s"] = r6(e.end_s)
        if e.task == "cmj":
            c = self._cmj()
            lm = self.cmj_landmarks(e)
            head.update({"jump_height_m": r6(c.v_to**2 / (2 * G)), "takeoff_velocity_m_s": r6(c.v_to),
                         "flight_time_s": r6(c.t_flight), "depth_m": r6(c.depth_m),
                         "peak_negative_velocity_s": r6(lm["peak_negative_velocity_s"]),
                         "lowest_s": r6(lm["lowest_s"]), "takeoff_s": r6(lm["takeoff_s"]),
                         "landing_s": r6(lm["landing_s"]),
                         "min_force_n": r6(bw - c.dip_n)})
            lags = p.cmj_extension_lags_s
            msgs.append({"event": "kinematics", "trial": e.trial, "task": e.task,
                         "extension_onset_s": {j: r6(lm[f"{j}_extension_onset_s"]) for j in JOINTS},
                         "peak_extension_velocity_s": {
                             j: r6(lm[f"{j}_peak_extension_velocity_s"]) for j in JOINTS},
                         "lag_s": {"hip_knee": r6(lags["knee"] - lags["hip"]),
                                   "knee_ankle": r6(lags["ankle"] - lags["knee"])},
                         "order": sorted(JOINTS, key=lambda j: lags[j]),
                         "takeoff_s": r6(lm["takeoff_s"])})
        if emg_labels and e.task not in ("quiet", "step_off"):
            onsets, weak, missing = self.emg_truth(e, emg_labels)
            msg = {"event": "emg", "trial": e.trial, "task": e.task, "force_onset_s": r6(e.onset_s),
                   "emg_onset_s": {k: r6(v) for k, v in onsets.items()}}
            if weak:
                msg["weak"] = weak
            if missing:
                msg["missing"] = missing
            msgs.append(msg)
        return msgs

    def emg_truth(self, effort: Effort, labels: Sequence[str]) -> tuple[dict[str, float], list, list]:
        """True EMG burst onsets of an effort per channel label, plus weak and missing labels.

        A channel has an onset when its muscle takes part in the task and it is not missing;
        the onset is ``force_onset - emg_lead_s[muscle]``.
        """
        p = self.params
        levels = self._levels(effort)
        weak_e, missing_e = effort.channels_with("weak_emg"), effort.channels_with("missing_emg")
        onsets, weak, missing = {}, [], []
        for lb in labels:
            key = _split_label(lb)
            if levels.get(key, 0.0) <= 0:
                continue
            if lb in missing_e or lb in p.missing_emg_channels:
                missing.append(lb)
                continue
            if lb in weak_e or lb in p.weak_emg_channels:
                weak.append(lb)
            onsets[lb] = effort.onset_s - p.emg_lead_s.get(key[0], 0.05)
        return onsets, weak, missing


def _r6(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _split_label(label: str) -> tuple[str, str]:
    muscle, _, side = label.rpartition("_")
    if side not in ("l", "r") or not muscle:
        return label, ""
    return muscle, side
