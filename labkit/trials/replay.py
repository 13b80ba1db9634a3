"""Rebuild a session's trials (steps, windows, verdicts) from what the file stores.

A protocol session stores the exact protocol text, one ``trial`` event per trial (its id
and the path of its step in the protocol, e.g. ``s2.a3.s0``), the trials table, and the
``weigh`` and ``tare`` events. That is enough to analyse every trial again, with the
stored parameters or with others, exactly as the runner did.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.config.protocol import Protocol, TrialStep
from labkit.errors import ConfigError, SessionError
from labkit.trials.catalogue import CATALOGUE, TESTS
from labkit.trials.outcome import TrialRecord

__all__ = ["ANALYSED_STATUSES", "SessionTrials", "apply_overrides", "session_trials", "step_at",
           "with_side"]

#: trial statuses whose trials are analysed again (``failed``: the analysis could not run
#: with the run's options; a re-analysis with corrected options can)
ANALYSED_STATUSES = ("valid", "invalid", "failed")


def step_at(protocol: Protocol, path: str) -> TrialStep:
    """The trial step a step path names (``s2.a3.s0``, ``s4.left.s1``).

    Parameters
    ----------
    protocol : Protocol
        The protocol the session was run with.
    path : str
        The path as stored in the session's ``trial`` events.

    Returns
    -------
    TrialStep

    Raises
    ------
    labkit.errors.SessionError
        The path does not name a trial step of this protocol.
    """
    steps = protocol.steps
    step = None
    try:
        for token in path.split("."):
            if token.startswith("s") and token[1:].isdigit():
                step = steps[int(token[1:])]
                if step.kind in ("repeat", "per_side"):
                    steps = step.body.steps
    except IndexError:
        step = None
    if step is None or step.kind != "trial":
        raise SessionError(f"the session names protocol step {path!r}, which is not a trial of "
                           f"{protocol.name!r}; the stored protocol text does not match its events")
    return step.trial


@dataclass
class SessionTrials:
    """Everything needed to analyse a session's trials again."""

    protocol_name: str
    records: list[TrialRecord]
    body_weight_n: float | None
    tare_n: dict[str, float] = field(default_factory=dict)


def with_side(step: TrialStep, side: str | None) -> TrialStep:
    """``step`` with the side of its enclosing ``per_side`` step, for tests run per side."""
    if side and step.side is None and CATALOGUE[step.test].sided:
        return step.model_copy(update={"side": side})
    return step


def _default_step(test: str, side: str) -> TrialStep:
    e = CATALOGUE[test]
    kwargs: dict[str, Any] = {"test": test}
    if e.sided and side in ("left", "right"):
        kwargs["side"] = side
    if e.directional:
        kwargs["direction"] = side or "left"
    if e.needs_muscle:
        raise ValueError(f"a {test} trial needs its muscle, which the trials table does not hold")
    return TrialStep(**kwargs)


def session_trials(session: Any) -> SessionTrials:
    """The finished trials of an open session, with their protocol steps.

    Trials whose status is in :data:`ANALYSED_STATUSES` are returned (running and
    aborted trials are not analysed, as in ``labkit run``). Without a protocol text or a ``trial``
    event, a trial gets the default step of its test.

    Parameters
    ----------
    session : labkit.Session

    Returns
    -------
    SessionTrials
    """
    from labkit.trials.protocols import load_protocol

    text = session.protocol_text
    protocol = None
    if text.strip():
        protocol, _ = load_protocol(f"{session.path} (stored protocol)", text=text, try_options=False)
    events = session.events
    proto = events[events["source"] == "protocol"] if len(events) else events
    paths: dict[int, dict] = {}
    body_weight = None
    tare: dict[str, float] = {}
    for _, ev in proto.iterrows():
        if ev["label"] not in ("trial", "weigh", "tare"):
            continue
        try:
            value = json.loads(ev["value"])
        except ValueError:  # a plain marker (e.g. a demo file's bare 'weigh' event)
            continue
        if not isinstance(value, dict):
            continue
        if ev["label"] == "trial" and "id" in value and "path" in value:
            paths[int(value["id"])] = value
        elif ev["label"] == "weigh" and "body_weight_n" in value:
            body_weight = float(value["body_weight_n"])
        elif ev["label"] == "tare":
            tare = {k: float(v) for k, v in value.items()}
    records = []
    for _, row in session.trials.iterrows():
        if row["status"] not in ANALYSED_STATUSES or not math.isfinite(float(row["end"])):
            continue
        tid = int(row["id"])
        info = paths.get(tid)
        side = (info or {}).get("side") or None
        if protocol is not None and info is not None:
            step = step_at(protocol, info["path"])
            path = info["path"]
        else:
            if row["test"] not in TESTS:
                continue
            try:
                step = _default_step(str(row["test"]), str(row["side"]))
            except ValueError:  # e.g. an mvc trial without its muscle: cannot be analysed
                continue
            path = f"trial{tid}"
        side = step.side or side
        step = with_side(step, side)
        records.append(TrialRecord(tid, path, step, side, int(row["attempt"]), float(row["start"]),
                                   float(row["end"]), row["status"] == "valid", str(row["reason"])))
    name = protocol.name if protocol is not None else str(session.info.get("protocol", ""))
    return SessionTrials(name, records, body_weight, tare)


def apply_overrides(records: list[TrialRecord], params: Mapping[str, Any] | None) -> list[TrialRecord]:
    """Trial records whose steps carry per-test analysis parameter overrides.

    Parameters
    ----------
    records : list of TrialRecord
    params : mapping, optional
        ``{test: {parameter: value}}``; parameters are keyword arguments of the test's
        analysis (e.g. ``{"imtp": {"onset_k": 3.0}}``); a ``validation`` mapping inside
        overrides the step's validation thresholds.

    Returns
    -------
    list of TrialRecord
        New records (the inputs are not changed).
    """
    import dataclasses

    if not params:
        return list(records)
    if not isinstance(params, Mapping):
        raise ConfigError(f"analysis parameters must map a test to its parameters, got {params!r}")
    for test, over in params.items():
        if test not in TESTS:
            raise ConfigError(f"analysis parameters name test {test!r}; use one of {', '.join(TESTS)}")
        if not isinstance(over, Mapping):
            raise ConfigError(f"analysis parameters for {test!r} must be a mapping of parameter to "
                              f"value, got {over!r}")
    out = []
    checked: set[str] = set()
    for rec in records:
        over = dict(params.get(rec.step.test, {}))
        if not over:
            out.append(rec)
            continue
        validation = over.pop("validation", None)
        update: dict[str, Any] = {"analysis": {**rec.step.analysis, **over}}
        if validation:
            try:
                update["validation"] = rec.step.validation.model_copy(update=dict(validation))
                type(rec.step.validation).model_validate(update["validation"].model_dump())
            except Exception as exc:
                raise ConfigError(f"validation overrides for {rec.step.test!r} are invalid: {exc}"
                                  ) from None
        step = rec.step.model_copy(update=update)
        if rec.step.test not in checked:  # the options are the same for every trial of a test
            checked.add(rec.step.test)
            _check_overrides(step)
        out.append(dataclasses.replace(rec, step=step))
    return out


def _check_overrides(step: TrialStep) -> None:
    from labkit.trials.protocols import check_trial_options

    problems = check_trial_options(step)
    if problems:
        where, message = problems[0]
        key = ".".join(str(p) for p in where)
        raise ConfigError(f"analysis parameters for {step.test!r}{f' ({key})' if key else ''}: {message}")
