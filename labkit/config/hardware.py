"""Hardware configs: which devices a lab has, the LSL streams they publish, how to record.

A config is YAML (``hardware_configs/*.yaml``; ``simulated.yaml`` is the default). Each
device publishes one LSL stream named ``name`` whose ``source_id`` is
``<source_prefix>-<name>``. The recorder waits for every device stream listed in
``recording.streams`` and records any marker stream too.

Device kinds:

``sim_force_plates``, ``sim_emg``, ``sim_mocap``, ``sim_ground_truth``
    The simulated lab (``labkit.devices.sim``).
``lsl``
    A stream some other application publishes (Qualisys, OptiTrack, LabRecorder-style
    apps), matched by ``match`` (name, type and/or source_id).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from labkit.config.loading import load_model

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "hardware_configs"
DEFAULT_CONFIG = REPO_CONFIGS / "simulated.yaml"

MUSCLES = ("gluteus_maximus", "gluteus_medius", "rectus_femoris", "tensor_fasciae_latae",
           "biceps_femoris", "semitendinosus", "external_oblique", "internal_oblique",
           "multifidus", "vastus_lateralis", "gastrocnemius", "soleus", "iliopsoas")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceFaults(_Model):
    """Imperfections a simulated source injects (for testing sync and loss handling)."""

    clock_offset_s: float = 0.0
    rate_error_ppm: float = 0.0
    jitter_s: Annotated[float, Field(ge=0)] = 0.0
    dropouts: list[tuple[float, float]] = Field(
        default_factory=list, description="(start_s, duration_s) windows with no samples sent")
    outages: list[tuple[float, float]] = Field(
        default_factory=list, description="(start_s, duration_s) windows with the outlet gone")
    restart_at_s: float | None = Field(
        None, description="the source restarts (new outlet, clock reset) at this time")
    restart_clock_jump_s: float = Field(
        0.0, description="added to the device clock (its stamps) at each restart")


class Plate(_Model):
    name: str
    kind: Literal["amti", "bertec", "kistler"] = "amti"
    width_m: Annotated[float, Field(gt=0)] = 0.4
    length_m: Annotated[float, Field(gt=0)] = 0.6
    origin_m: tuple[float, float, float] = (0.0, 0.0, -0.04)


class EmgSensor(_Model):
    sensor: Annotated[int, Field(ge=1, le=16)]
    muscle: str
    side: Literal["l", "r"]

    @field_validator("muscle")
    @classmethod
    def _known_muscle(cls, value: str) -> str:
        if value not in MUSCLES:
            raise ValueError(f"unknown muscle; use one of {', '.join(MUSCLES)}")
        return value


class _Device(_Model):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")]
    faults: SourceFaults = SourceFaults()


class SimForcePlates(_Device):
    kind: Literal["sim_force_plates"]
    rate_hz: Annotated[float, Field(gt=0)] = 2000.0
    plates: list[Plate] = Field(default_factory=lambda: [Plate(name="fp1"), Plate(name="fp2")])
    noise_n: Annotated[float, Field(ge=0)] = 1.5


class SimEmg(_Device):
    kind: Literal["sim_emg"]
    rate_hz: Annotated[float, Field(gt=0)] = 29 / 0.0135
    sensors: list[EmgSensor] = Field(min_length=1)
    ecg_on_trunk: bool = True
    noise_v: Annotated[float, Field(ge=0)] = 5e-6


class SimMocap(_Device):
    kind: Literal["sim_mocap"]
    rate_hz: Annotated[float, Field(gt=0)] = 200.0
    output: Literal["markers", "segments"] = "markers"
    noise_m: Annotated[float, Field(ge=0)] = 0.0003


class SimGroundTruth(_Device):
    kind: Literal["sim_ground_truth"]


class LslMatch(_Model):
    name: str | None = None
    type: str | None = None
    source_id: str | None = None

    @model_validator(mode="after")
    def _something(self) -> LslMatch:
        if not (self.name or self.type or self.source_id):
            raise ValueError("give at least one of name, type, source_id")
        return self


class LslDevice(_Device):
    kind: Literal["lsl"]
    match: LslMatch


Device = Annotated[SimForcePlates | SimEmg | SimMocap | SimGroundTruth | LslDevice,
                   Field(discriminator="kind")]


class Recording(_Model):
    streams: list[str] = Field(description="device names whose streams must be present")
    record_markers: bool = True
    flush_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    clock_offset_interval_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    resolve_timeout_s: Annotated[float, Field(gt=0)] = 15.0


class Athlete(_Model):
    """Parameters of the simulated athlete (see ``labkit.devices.sim``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    seed: int = 0


class HardwareConfig(_Model):
    name: str
    description: str = ""
    source_prefix: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")] = "labkit"
    devices: list[Device] = Field(min_length=1)
    recording: Recording
    athlete: Athlete = Athlete()

    @model_validator(mode="after")
    def _consistent(self) -> HardwareConfig:
        names = [d.name for d in self.devices]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"device names must be unique; repeated: {dupes}")
        unknown = [s for s in self.recording.streams if s not in names]
        if unknown:
            raise ValueError(f"recording.streams lists {unknown}, which are not devices "
                             f"(devices: {names})")
        return self

    def source_id(self, device_name: str) -> str:
        """The LSL source_id of a device's stream."""
        return f"{self.source_prefix}-{device_name}"

    def device(self, name: str):
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)


def load_hardware_config(path: str | os.PathLike[str] | None = None, *,
                         text: str | None = None) -> tuple[HardwareConfig, str]:
    """Load and validate a hardware config; returns the model and its exact text.

    ``path=None`` loads ``hardware_configs/simulated.yaml``.
    """
    source = DEFAULT_CONFIG if path is None else path
    return load_model(source, HardwareConfig, text=text, what="hardware config")
