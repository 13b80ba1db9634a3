"""Load protocols and check every trial against the test catalogue, before anything runs.

The protocol's structure is parsed by :mod:`labkit.config.protocol`; what depends on the
test is checked here: the test exists, it has the side, direction or muscle it needs, and
its ``analysis:`` options are parameters its analysis takes, of the right type, with
values the analysis accepts (each trial's options are tried once on a synthetic trial,
so an out-of-range value is reported at load, not after the first pull). Every problem
is one line ``FILE:LINE: field steps.2.trial.analysis.onset_kk: ...`` naming the valid
keys, so ``labkit protocols check`` and the start of ``labkit run`` catch a misspelt key.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any

from labkit.config.loading import line_of
from labkit.config.protocol import Protocol, Step, TrialStep, parse_protocol, resolve_protocol_path
from labkit.errors import ConfigError, LabkitError
from labkit.trials.catalogue import CATALOGUE, TESTS, TestEntry

__all__ = ["check_protocol", "check_trial_options", "load_protocol", "option_names"]

Problem = tuple[tuple[Any, ...], str]

#: keys of ``analysis:`` that are not parameters of the core function, per signal kind
_EXTRA_KEYS = {"plate_fz": ("plate", "emg"), "sum_fz": ("emg", "asymmetry"), "sum_mz": ("emg",),
               "emg_channel": (), "belt_fz": ("emg", "asymmetry")}
#: parameters the trial analysis sets itself (data and channel selection)
_DATA_PARAMS = ("channels",)


def load_protocol(path: str | os.PathLike[str], *, text: str | None = None,
                  try_options: bool = True) -> tuple[Protocol, str]:
    """Load a protocol and check its trials against the catalogue; returns it and its exact text.

    Parameters
    ----------
    path : path or str
        A protocol file, or the name of a shipped one (``imtp``).
    text : str, optional
        The protocol's text (``path`` then only names it in messages).
    try_options : bool
        Try each trial's ``analysis:`` options on a synthetic trial (see
        :func:`check_trial_options`); off when re-reading a protocol stored in a session.

    Returns
    -------
    Protocol, str

    Raises
    ------
    labkit.errors.ConfigError
        One line: ``FILE:LINE: field steps.N...: what is wrong and the valid values``.
    """
    source = resolve_protocol_path(path, text)
    protocol, text = parse_protocol(path, text=text)
    problems = check_protocol(protocol, try_options=try_options)
    if problems:
        where, message = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        field = ".".join(str(p) for p in where)
        raise ConfigError(f"{source}:{line_of(text, where)}: field {field}: {message}{more}")
    return protocol, text


def check_protocol(protocol: Protocol, *, try_options: bool = True) -> list[Problem]:
    """Every catalogue problem of the protocol's trials, as (YAML path, message) pairs."""
    problems: list[Problem] = []

    def walk(steps: list[Step], prefix: tuple[Any, ...], sided: bool) -> None:
        for i, s in enumerate(steps):
            where = (*prefix, i, s.kind)
            if s.kind == "trial":
                problems.extend(_check_trial(s.trial, where, sided, try_options))
            elif s.kind in ("repeat", "per_side"):
                walk(s.body.steps, (*where, "steps"), sided or s.kind == "per_side")

    walk(protocol.steps, ("steps",), False)
    return problems


def _check_trial(step: TrialStep, where: tuple[Any, ...], sided: bool, try_options: bool
                 ) -> list[Problem]:
    test = CATALOGUE.get(step.test)
    if test is None:
        return [((*where, "test"), f"unknown test {step.test!r}; use one of {', '.join(TESTS)}")]
    if test.sided and step.side is None and not sided:
        return [(where, f"a {step.test} trial needs `side: left` or `right`, or to be inside a "
                        "per_side step")]
    if test.directional and step.direction is None:
        return [(where, f"{step.test} needs `direction: left` or `right`")]
    if test.paced and step.speed_m_s is None:
        return [(where, f"a {step.test} trial needs `speed_m_s` (the belt speed, e.g. 3.5)")]
    if not test.paced and step.speed_m_s is not None:
        return [((*where, "speed_m_s"), f"speed_m_s is for paced tests (run), not {step.test}")]
    if test.needs_muscle and not step.muscle:
        return [(where, f"a {step.test} trial needs `muscle` (an EMG channel, e.g. gluteus_maximus_r)")]
    return [((*where, "analysis", *sub), msg)
            for sub, msg in check_trial_options(step, try_them=try_options)]


def option_names(test: TestEntry) -> tuple[str, ...]:
    """The keys a trial of ``test`` accepts under ``analysis:``."""
    return tuple(_core_params(test)) + _EXTRA_KEYS[test.signal]


def _core_params(test: TestEntry) -> dict[str, inspect.Parameter]:
    from labkit.trials.isometric import VALIDATION_OPTIONS

    params = inspect.signature(test.core_function()).parameters
    skip = set(_DATA_PARAMS) | (set(VALIDATION_OPTIONS) if test.kind == "isometric" else set())
    return {n: p for n, p in params.items()
            if p.default is not inspect.Parameter.empty and n not in skip}


def _emg_params() -> dict[str, inspect.Parameter]:
    from labkit.signal.emg import detect_onsets

    params = inspect.signature(detect_onsets).parameters
    return {n: p for n, p in params.items()
            if p.default is not inspect.Parameter.empty and n not in _DATA_PARAMS}


def check_trial_options(step: TrialStep, *, try_them: bool = True) -> list[Problem]:
    """Problems of a trial's ``analysis:`` options, as (path under ``analysis``, message).

    Parameters
    ----------
    step : TrialStep
    try_them : bool
        Also run the trial's analysis once on a synthetic trial with these options, so that
        values the analysis rejects (out of range, wrong choice) are found now.

    Returns
    -------
    list of (tuple, str)
    """
    from labkit.trials.emg_onsets import EMG_OPTIONS
    from labkit.trials.isometric import VALIDATION_OPTIONS

    test = CATALOGUE[step.test]
    core = _core_params(test)
    problems: list[Problem] = []
    for key, value in step.analysis.items():
        if key in VALIDATION_OPTIONS and test.kind == "isometric":
            problems.append(((key,), f"{key} is a validation threshold; set it under the trial's "
                                     f"`validation:`, not `analysis:`"))
        elif key == "emg" and "emg" in _EXTRA_KEYS[test.signal]:
            problems.extend(_check_emg(value, EMG_OPTIONS))
        elif key == "asymmetry" and "asymmetry" in _EXTRA_KEYS[test.signal]:
            from labkit.signal.force_limbs import ASYMMETRY_FORMULAS

            if value not in ASYMMETRY_FORMULAS:
                problems.append(((key,), f"asymmetry must be one of {', '.join(ASYMMETRY_FORMULAS)} "
                                         f"(got {value!r})"))
        elif key == "plate" and "plate" in _EXTRA_KEYS[test.signal]:
            if not (isinstance(value, str) and value):
                problems.append(((key,), f"plate must be a plate name such as fp1 (got {value!r})"))
        elif key not in core:
            problems.append(((key,), f"unknown option {key!r} for test {step.test}; valid options: "
                                     f"{', '.join(option_names(test))}"))
        else:
            problems.extend(((key,), m) for m in _type_problem(key, value, core[key]))
    if not problems and try_them and step.analysis:
        problems.extend(_try(step, test))
    return problems


def _check_emg(value: Any, extra: tuple[str, ...]) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [(("emg",), f"emg must be a mapping of detect_onsets options, got {value!r}")]
    params = _emg_params()
    problems: list[Problem] = []
    for key, v in value.items():
        if key in extra:
            continue
        if key not in params:
            problems.append((("emg", key), f"unknown EMG option {key!r}; valid options: "
                                           f"{', '.join([*params, *extra])}"))
        else:
            problems.extend((("emg", key), m) for m in _type_problem(key, v, params[key]))
    return problems


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _type_problem(key: str, value: Any, param: inspect.Parameter) -> list[str]:
    """A message when ``value`` cannot be of the parameter's annotated type."""
    kind = str(param.annotation).replace(" ", "")
    optional = kind.endswith("|None") or kind.startswith("None|")
    base = kind.removesuffix("|None").removeprefix("None|")
    if value is None:
        return [] if optional else [f"{key} must not be empty (default {param.default!r})"]
    ok = {"float": _is_number(value), "int": isinstance(value, int) and not isinstance(value, bool),
          "bool": isinstance(value, bool), "str": isinstance(value, str),
          "Sequence[float]": isinstance(value, list) and all(_is_number(v) for v in value)}.get(base)
    if ok is False:
        want = {"float": "a number", "int": "a whole number", "bool": "true or false",
                "str": "a text value", "Sequence[float]": "a list of numbers"}[base]
        return [f"{key} must be {want} (got {value!r}; default {param.default!r})"]
    return []


def _try(step: TrialStep, test: TestEntry) -> list[Problem]:
    """Run the trial's analysis on a synthetic trial; a rejection is a configuration problem."""
    from labkit.trials.synthetic_trial import synthetic_windows

    if test.sided and step.side is None:  # inside a per_side step: try one side
        step = step.model_copy(update={"side": "left"})
    force, emg = synthetic_windows(step, test)
    try:
        test.analysis_function()(step, force, emg, 784.0)
    except (LabkitError, TypeError, ValueError) as exc:
        return [((), f"rejected by {test.core}: {exc}")]
    return []
