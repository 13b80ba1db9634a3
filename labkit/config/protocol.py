"""Protocol files: YAML a technician can read and edit, parsed into validated models.

A protocol is metadata, what it needs, what to ask about the athlete, and a list of
steps. Each step is a one-key mapping naming its type::

    steps:
      - instruction: {text: "Stand on the plates, hands on the bar"}
      - weigh: {duration_s: 2}
      - repeat:
          until_valid: 3
          max_attempts: 5
          steps:
            - trial: {test: imtp, effort_s: 5}
            - rest: {duration_s: 60}

See ``docs/protocols.md`` for every field. This module checks the structure; what depends
on the test (its name, side, direction, muscle and ``analysis:`` options) is checked
against the test catalogue by :func:`labkit.trials.load_protocol`, the loader to use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labkit.config.loading import load_model

REPO_PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubjectField(_Model):
    """A question for the operator before the protocol starts."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    prompt: str
    type: Literal["text", "float", "int"] = "text"
    required: bool = True
    min: float | None = None
    max: float | None = None


class Requires(_Model):
    streams: list[str] = Field(default_factory=lambda: ["force"],
                               description="hardware-config devices the protocol needs")
    optional: list[str] = Field(default_factory=list, description="used when present")


class Validation(_Model):
    """Thresholds a trial must meet; each maps to a parameter of the force analysis."""

    max_pretension_n: Annotated[float, Field(gt=0)] = 100.0
    max_weighing_range_n: Annotated[float, Field(gt=0)] = 50.0
    countermovement_k: Annotated[float, Field(gt=0)] = 5.0
    min_effort_s: Annotated[float, Field(ge=0)] = 1.0
    min_peak_force_n: float | None = Field(None, description="reject weaker efforts (net of baseline)")
    require_plateau: bool = True
    max_best_peak_difference_n: Annotated[float, Field(gt=0)] = 250.0


class InstructionStep(_Model):
    text: str
    wait_for_key: bool = True


class WeighStep(_Model):
    duration_s: Annotated[float, Field(gt=0, le=30)] = 2.0
    text: str = "Stand still on the plates"


class TareStep(_Model):
    duration_s: Annotated[float, Field(gt=0, le=30)] = 1.0
    text: str = "Step off the plates"


class CountdownStep(_Model):
    seconds: Annotated[int, Field(ge=1, le=10)] = 3


class RestStep(_Model):
    duration_s: Annotated[float, Field(ge=0, le=1800)]
    text: str = "Rest"


class TrialStep(_Model):
    test: Annotated[str, Field(min_length=1, description="a test of the catalogue (labkit.trials)")]
    side: Literal["left", "right"] | None = None
    direction: Literal["left", "right"] | None = None
    muscle: str | None = Field(None, description="mvc: e.g. gluteus_maximus_r")
    text: str = ""
    quiet_s: Annotated[float, Field(ge=0.5, le=10)] = 1.5
    countdown_s: Annotated[int, Field(ge=0, le=10)] = 0
    effort_s: Annotated[float, Field(gt=0, le=30)] = 5.0
    analysis: dict[str, Any] = Field(default_factory=dict,
                                     description="keyword parameters of the analysis function")
    validation: Validation = Validation()
    aggregate: Literal["best", "mean_best_2", "mean_best_3_of_5"] = "best"
    speed_m_s: Annotated[float, Field(gt=0, le=12, description="run: the treadmill belt speed")] | None = None



class RepeatStep(_Model):
    until_valid: Annotated[int, Field(ge=1, le=20)]
    max_attempts: Annotated[int, Field(ge=1, le=50)]
    steps: list[Step]

    @model_validator(mode="after")
    def _one_trial(self) -> RepeatStep:
        n = sum(1 for s in self.steps if s.kind == "trial")
        if n != 1:
            raise ValueError(f"a repeat needs exactly one trial step among its steps, found {n}")
        if self.max_attempts < self.until_valid:
            raise ValueError("max_attempts must be at least until_valid")
        return self


class PerSideStep(_Model):
    sides: list[Literal["left", "right"]] = Field(default_factory=lambda: ["left", "right"],
                                                  min_length=1)
    steps: list[Step]


_KINDS = {"instruction": InstructionStep, "weigh": WeighStep, "tare": TareStep,
          "countdown": CountdownStep, "trial": TrialStep, "rest": RestStep,
          "repeat": RepeatStep, "per_side": PerSideStep}


class Step(_Model):
    """One step: exactly one of the fields below (the YAML key names the step type)."""

    instruction: InstructionStep | None = None
    weigh: WeighStep | None = None
    tare: TareStep | None = None
    countdown: CountdownStep | None = None
    trial: TrialStep | None = None
    rest: RestStep | None = None
    repeat: RepeatStep | None = None
    per_side: PerSideStep | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_key(cls, data: Any) -> Any:
        if not isinstance(data, dict) or len(data) != 1:
            raise ValueError(f"a step is a mapping with exactly one key, one of {', '.join(_KINDS)}")
        key = next(iter(data))
        if key not in _KINDS:
            raise ValueError(f"unknown step type {key!r}; use one of {', '.join(_KINDS)}")
        if data[key] is None:
            return {key: {}}
        return data

    @property
    def kind(self) -> str:
        return next(k for k in _KINDS if getattr(self, k) is not None)

    @property
    def body(self) -> Any:
        return getattr(self, self.kind)


RepeatStep.model_rebuild()
PerSideStep.model_rebuild()


class Protocol(_Model):
    name: Annotated[str, Field(min_length=1)]
    version: str = "1"
    description: str = ""
    requires: Requires = Requires()
    subject: list[SubjectField] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    def trial_steps(self) -> list[TrialStep]:
        out: list[TrialStep] = []

        def walk(steps: list[Step]) -> None:
            for s in steps:
                if s.kind == "trial":
                    out.append(s.trial)
                elif s.kind in ("repeat", "per_side"):
                    walk(s.body.steps)

        walk(self.steps)
        return out


def parse_protocol(path: str | os.PathLike[str], *, text: str | None = None
                   ) -> tuple[Protocol, str]:
    """Parse a protocol's structure; returns the model and its exact text.

    A bare name (``imtp``) is looked up in the shipped ``protocols/`` folder. Use
    :func:`labkit.trials.load_protocol`, which also checks each trial against the test
    catalogue.
    """
    return load_model(resolve_protocol_path(path, text), Protocol, text=text, what="protocol")


def resolve_protocol_path(path: str | os.PathLike[str], text: str | None = None) -> Path:
    """``path``, or the shipped protocol it names (``imtp`` -> ``protocols/imtp.yaml``)."""
    p = Path(path)
    if text is None and not p.exists() and not p.suffix and (REPO_PROTOCOLS / f"{p}.yaml").exists():
        p = REPO_PROTOCOLS / f"{p}.yaml"
    return p


def shipped_protocols() -> list[Path]:
    """The protocol files shipped in ``protocols/``."""
    return sorted(REPO_PROTOCOLS.glob("*.yaml"))
