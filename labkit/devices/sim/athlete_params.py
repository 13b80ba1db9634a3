"""Parameters of the simulated athlete and the efforts on its timeline.

Re-exported by :mod:`labkit.devices.sim.athlete` (import them from there); split off to
keep that module short. Pure Python.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.devices.sim.athlete_force import G
from labkit.errors import ConfigError

__all__ = ["DEFAULT_EMG_LEAD_S", "AthleteParams", "Effort"]

DEFAULT_EMG_LEAD_S = {
    "gluteus_maximus": 0.02, "gluteus_medius": 0.03, "rectus_femoris": 0.05,
    "tensor_fasciae_latae": 0.045, "biceps_femoris": 0.12, "semitendinosus": 0.11,
    "external_oblique": 0.08, "internal_oblique": 0.09, "multifidus": 0.10,
    "vastus_lateralis": 0.05, "gastrocnemius": 0.03, "soleus": 0.03, "iliopsoas": 0.06,
}


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
    #: (L - R) / max(L, R) * 100 of every force both feet share (standing, pulls, jumps);
    #: positive: the left leg is stronger. Nonzero sets the left share (left_fraction).
    limb_asymmetry_pct: float = 0.0
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
    drop_jump_box_height_m: float = 0.30
    drop_jump_contact_s: float = 0.22
    drop_jump_height_m: float = 0.28
    single_leg_jump_height_m: float = 0.17
    rebound_hops: int = 10
    rebound_jump_height_m: float = 0.25
    rebound_contact_s: float = 0.20
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
    #: treadmill runs (labkit.devices.sim.athlete_run): speed when the cue gives none,
    #: stride-time coefficient of variation, peak hip extension (deg), its deficit and the
    #: pelvic drop's extra on ``run_deficit_side``, peak vertical and braking force (body
    #: weights), how long before each strike the glutes switch on
    run_speed_m_s: float = 3.5
    run_stride_cv: float = 0.02
    run_hip_extension_deg: float = 15.0
    run_hip_extension_deficit_deg: float = 0.0
    run_pelvic_drop_deg: float = 4.0
    run_pelvic_drop_extra_deg: float = 0.0
    run_deficit_side: str = "l"
    run_peak_force_bw: float = 2.5
    run_braking_force_bw: float = 0.3
    run_glute_lead_s: float = 0.05

    @property
    def left_fraction(self) -> float:
        """The left plate's share of the force both feet share: ``left_share``, or from
        ``limb_asymmetry_pct`` = a %: 1 / (2 - a) for a >= 0 (so (L - R) / L = a), else
        (1 - |a|) / (2 - |a|)."""
        a = self.limb_asymmetry_pct / 100.0
        if a == 0.0:
            return self.left_share
        return 1.0 / (2.0 - a) if a > 0 else (1.0 + a) / (2.0 + a)

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
                    "step_ramp_s", "thigh_length_m", "shank_length_m", "foot_length_m",
                    "drop_jump_box_height_m", "drop_jump_contact_s", "drop_jump_height_m",
                    "single_leg_jump_height_m", "rebound_hops", "rebound_jump_height_m",
                    "rebound_contact_s")
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"athlete.{name}={value!r} must be a positive number")
        if self.peak_force_n <= self.body_weight_n:
            raise ConfigError(f"athlete.peak_force_n={self.peak_force_n} must exceed body weight "
                              f"({self.body_weight_n:.1f} N)")
        if self.run_deficit_side not in ("l", "r"):
            raise ConfigError(f"athlete.run_deficit_side={self.run_deficit_side!r} must be 'l' or 'r'")
        for name in ("run_speed_m_s", "run_peak_force_bw"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ConfigError(f"athlete.{name}={getattr(self, name)!r} must be a positive number")
        if not 0.0 <= self.run_stride_cv < 0.2:
            raise ConfigError(f"athlete.run_stride_cv={self.run_stride_cv} must be within [0, 0.2)")
        if not 0.0 <= self.left_share <= 1.0:
            raise ConfigError(f"athlete.left_share={self.left_share} must be within 0..1")
        if not -100.0 < self.limb_asymmetry_pct < 100.0:
            raise ConfigError(f"athlete.limb_asymmetry_pct={self.limb_asymmetry_pct} must be "
                              "within (-100, 100)")
        if self.limb_asymmetry_pct != 0.0 and self.left_share != 0.5:
            raise ConfigError("athlete.limb_asymmetry_pct and athlete.left_share both split the "
                              "feet's force; set one of them")
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
    #: drop jumps: when the athlete began climbing the box (the plates unload from then);
    #: single-leg tests: when the athlete stood on the tested leg
    stance_start_s: float | None = None
    #: treadmill runs: the belt speed (m/s)
    speed_m_s: float | None = None

    def has(self, what: str) -> bool:
        return any(m == what or m.startswith(what + ":") for m in self.misbehave)

    def channels_with(self, what: str) -> set[str]:
        return {m.split(":", 1)[1] for m in self.misbehave if m.startswith(what + ":")}
