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
    apps), matched by ``match`` (name, type and/or source_id), recorded as it is.
``daqmx_force_plates``
    Force plates on an NI-DAQmx card (``labkit.devices.daqmx``); ``backend: simulated``
    runs the same driver on volts made from the simulated athlete.
``trigno``
    Delsys Trigno EMG through the Trigno Control Utility SDK (``labkit.devices.trigno``);
    ``emulate: true`` starts the loopback emulator with the simulated athlete.
``lsl_mocap``
    Motion capture from an existing LSL app (Qualisys, OptiTrack, Vicon bridges), mapped to
    metres and labkit's Z-up frame and republished (``labkit.devices.lsl_source``).

Simulated devices may run through the real drivers: ``sim_force_plates`` with
``driver: daqmx`` (NI driver, simulated DAQ backend) and ``sim_emg`` with
``driver: trigno`` (Trigno client against the emulator).
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
    corners_m: list[tuple[float, float, float]] | None = Field(
        None, description="the 4 surface corners in the lab frame (m), C3D order: places the plate "
        "in the lab for lab-frame loads and the OpenSim export")

    @model_validator(mode="after")
    def _four_corners(self) -> Plate:
        if self.corners_m is not None and len(self.corners_m) != 4:
            raise ValueError("corners_m must list 4 corners")
        return self


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
    driver: Literal["direct", "daqmx"] = Field(
        "direct", description="direct: publish calibrated values; daqmx: volts through the NI "
        "driver with the simulated DAQ backend (same stream)")


class SimEmg(_Device):
    kind: Literal["sim_emg"]
    rate_hz: Annotated[float, Field(gt=0)] = 29 / 0.0135
    sensors: list[EmgSensor] = Field(min_length=1)
    ecg_on_trunk: bool = True
    noise_v: Annotated[float, Field(ge=0)] = 5e-6
    driver: Literal["direct", "trigno"] = Field(
        "direct", description="direct: publish from the producer; trigno: the Trigno client "
        "against the loopback emulator (same stream)")
    frame_interval_s: Annotated[float, Field(gt=0)] = Field(
        0.0135, description="Trigno frame interval the emulator reports (driver: trigno)")

    @model_validator(mode="after")
    def _whole_frames(self) -> SimEmg:
        if self.driver == "trigno":
            spf = round(self.rate_hz * self.frame_interval_s)
            if spf < 1 or abs(spf / self.frame_interval_s - self.rate_hz) > 1e-9 * self.rate_hz:
                raise ValueError(f"rate_hz={self.rate_hz!r} is not a whole number of samples per "
                                 f"{self.frame_interval_s} s Trigno frame; use samples/frame_interval_s, "
                                 f"e.g. {max(spf, 1) / self.frame_interval_s!r}")
        return self


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


AXES = ("x", "y", "z", "-x", "-y", "-z")


class DaqPlate(_Model):
    """One force plate on NI-DAQmx analog inputs.

    AMTI/Bertec (6 channels Fx Fy Fz Mx My Mz): exactly one of ``calibration`` (6x6, C3D
    type 4: loads = C @ (volts / (gains * excitation_v))) or ``scale`` (6 values, C3D type
    2). Kistler (8 channels fx12 fx34 fy14 fy23 fz1..fz4): ``a_m``, ``b_m`` and
    ``sensitivity_n_v`` (charge-amplifier range, N/V).
    """

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")]
    kind: Literal["amti", "bertec", "kistler"] = "amti"
    channels: list[str] = Field(description="physical channels in plate order, e.g. Dev1/ai0")
    calibration: list[list[float]] | None = None
    scale: list[float] | None = None
    moment_unit: Literal["N*m", "N*mm"] = "N*m"
    gains: float | list[float] = 1.0
    excitation_v: float | list[float] = 1.0
    a_m: Annotated[float, Field(gt=0)] | None = None
    b_m: Annotated[float, Field(gt=0)] | None = None
    sensitivity_n_v: float | list[float] = 1.0
    origin_m: tuple[float, float, float] = Field(
        (0.0, 0.0, -0.04), description="measurement origin below the surface centre (z = az0)")
    corners_m: list[tuple[float, float, float]] | None = Field(
        None, description="the 4 surface corners in the lab frame (m), C3D order")
    width_m: Annotated[float, Field(gt=0)] = 0.4
    length_m: Annotated[float, Field(gt=0)] = 0.6

    @model_validator(mode="after")
    def _consistent(self) -> DaqPlate:
        n = 8 if self.kind == "kistler" else 6
        if len(self.channels) != n:
            raise ValueError(f"plate {self.name!r} ({self.kind}) has {len(self.channels)} channels; "
                             f"list exactly {n}")
        if self.kind == "kistler":
            if self.a_m is None or self.b_m is None:
                raise ValueError(f"kistler plate {self.name!r} needs a_m and b_m (sensor offsets, m; "
                                 "9281EA: 0.120 and 0.200)")
            if isinstance(self.sensitivity_n_v, list) and len(self.sensitivity_n_v) != 8:
                raise ValueError("sensitivity_n_v: give one value or 8 (one per channel)")
        else:
            if (self.calibration is None) == (self.scale is None):
                raise ValueError(f"plate {self.name!r}: give exactly one of calibration (6x6) or "
                                 "scale (6 values)")
            if self.calibration is not None and (len(self.calibration) != 6
                                                 or any(len(r) != 6 for r in self.calibration)):
                raise ValueError("calibration must be 6 rows of 6 numbers")
            if self.scale is not None and len(self.scale) != 6:
                raise ValueError("scale must have 6 numbers (Fx Fy Fz Mx My Mz)")
        for fld in ("gains", "excitation_v"):
            v = getattr(self, fld)
            if isinstance(v, list) and len(v) != n:
                raise ValueError(f"{fld}: give one value or {n} (one per channel)")
        if self.corners_m is not None and len(self.corners_m) != 4:
            raise ValueError("corners_m must list 4 corners")
        return self


class DaqForcePlates(_Device):
    """Force plates on an NI-DAQmx card: continuous hardware-timed analog input."""

    kind: Literal["daqmx_force_plates"]
    backend: Literal["nidaqmx", "simulated"] = "nidaqmx"
    rate_hz: Annotated[float, Field(gt=0)] = 2000.0
    terminal_config: Literal["diff", "rse", "nrse", "pseudo_diff"] = "diff"
    min_v: float = -10.0
    max_v: float = 10.0
    buffer_s: Annotated[float, Field(ge=10.0)] = 10.0
    read_interval_s: Annotated[float, Field(gt=0, le=1.0)] = 0.02
    plates: list[DaqPlate] = Field(min_length=1)
    publish_raw: bool = False
    raw_stream_name: str | None = None
    start_trigger: str | None = Field(None, description="digital edge start, e.g. /Dev1/PFI0")
    start_trigger_edge: Literal["rising", "falling"] = "rising"
    sample_clock_source: str | None = Field(None, description="shared clock, e.g. /Dev1/PFI7")
    tare_window_s: tuple[float, float] | None = Field(
        None, description="(start_s, stop_s) after the start with the plates unloaded: zero them")
    noise_n: Annotated[float, Field(ge=0)] = 1.5

    @model_validator(mode="after")
    def _consistent(self) -> DaqForcePlates:
        if not self.min_v < self.max_v:
            raise ValueError(f"min_v={self.min_v} must be below max_v={self.max_v}")
        chans = [c for p in self.plates for c in p.channels]
        dupes = sorted({c for c in chans if chans.count(c) > 1})
        if dupes:
            raise ValueError(f"physical channels used twice: {dupes}")
        names = [p.name for p in self.plates]
        if len(set(names)) != len(names):
            raise ValueError(f"plate names must be unique: {names}")
        return self


class TrignoSensor(EmgSensor):
    """One Trigno sensor slot (1-16) and the muscle under it."""

    expect_type: str | None = Field(None, description="sensor type code the base must report")


class Trigno(_Device):
    """Delsys Trigno through the Trigno Control Utility SDK (TCP)."""

    kind: Literal["trigno"]
    host: str = "127.0.0.1"
    command_port: Annotated[int, Field(ge=1, le=65535)] = 50040
    emg_port: Annotated[int, Field(ge=1, le=65535)] = 50043
    aux_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    sensors: list[TrignoSensor] = Field(min_length=1)
    emg_types: list[str] = Field(
        default_factory=lambda: ["A", "D", "L", "J", "O", "K", "M", "N", "P", "Q", "R", "S", "T"],
        description="sensor type codes accepted as EMG")
    reconnect_s: Annotated[float, Field(ge=0)] = 2.0
    timeout_s: Annotated[float, Field(gt=0)] = 5.0
    emulate: bool = Field(False, description="start the loopback emulator (simulated athlete)")

    @model_validator(mode="after")
    def _unique(self) -> Trigno:
        slots = [s.sensor for s in self.sensors]
        if len(set(slots)) != len(slots):
            raise ValueError(f"sensor slots used twice: {sorted({s for s in slots if slots.count(s) > 1})}")
        return self


class LslMocap(_Device):
    """Mocap from an existing LSL app, mapped to metres and labkit's frame, republished as
    ``<source_prefix>-<name>`` (to record a foreign stream as it is, use kind ``lsl``)."""

    kind: Literal["lsl_mocap"]
    match: LslMatch
    unit: Literal["m", "mm", "cm", "auto"] = Field(
        "auto", description="unit of positions; auto reads the channel metadata (default mm)")
    axes: tuple[str, str, str] = Field(
        ("x", "y", "z"), description="source axis giving labkit x, y, z (e.g. [x, -z, y] for Y-up)")
    up: Literal["z", "y", "auto"] = Field(
        "auto", description="y: the source is Y-up (maps x, y, z -> x, -z, y); auto reads metadata")
    measure_rate_s: Annotated[float, Field(gt=0)] = 2.0

    @field_validator("axes")
    @classmethod
    def _axes(cls, value: tuple[str, str, str]) -> tuple[str, str, str]:
        if any(a not in AXES for a in value) or len({a[-1] for a in value}) != 3:
            raise ValueError(f"axes {list(value)} must map each of x, y, z once (optionally negated, "
                             "e.g. [x, -z, y])")
        return value


Device = Annotated[SimForcePlates | SimEmg | SimMocap | SimGroundTruth | LslDevice | DaqForcePlates
                   | Trigno | LslMocap,
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
