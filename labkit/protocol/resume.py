"""What a run being resumed (``labkit run --resume FILE``) already holds.

The walk through a protocol's steps depends only on which trials were valid, so the
runner replays it against the ``step_done`` and ``trial`` events and the trials table
stored in the file, and carries on live from the first step that has no record. This
module reads that state; :class:`labkit.protocol.runner.ProtocolRunner` uses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.config.protocol import Protocol
from labkit.errors import SessionError
from labkit.trials.outcome import TrialRecord
from labkit.trials.replay import step_at

__all__ = ["CompletedRun", "ResumeState", "read_resume_state"]

RUNNER_METHOD = "labkit.protocol.runner"


@dataclass(frozen=True)
class CompletedRun:
    """A complete session's stored protocol results: resuming it is a no-op."""

    result_name: str
    trials: pd.DataFrame
    aggregates: pd.DataFrame


@dataclass
class ResumeState:
    """Steps and trials already done in an interrupted run, and its weighing and tare."""

    done_steps: set[str] = field(default_factory=set)
    done_trials: dict[str, TrialRecord] = field(default_factory=dict)
    next_id: int = 1
    aborted: list[int] = field(default_factory=list)
    body_weight_n: float | None = None
    tare_n: dict[str, float] = field(default_factory=dict)
    completed: CompletedRun | None = None


def check_resumable(s: Any, protocol: Protocol, protocol_text: str, *, other_protocol: bool) -> None:
    """Refuse to resume a file recorded with another protocol (its step paths would name
    other trials), unless ``other_protocol`` says so."""
    stored = str(s.info.get("protocol", ""))
    text = s.protocol_text
    if other_protocol or not text:
        return
    if stored and stored != protocol.name:
        raise SessionError(f"{s.path}: holds a run of protocol {stored!r}, not "
                           f"{protocol.name!r}; resume it with `labkit run {stored} --resume "
                           f"{s.path}`, or pass --resume-other-protocol")
    if text != protocol_text:
        raise SessionError(f"{s.path}: was recorded with a different text of protocol "
                           f"{stored or protocol.name!r} (edited since?); resume with the "
                           "protocol file it was run with, or pass --resume-other-protocol")


def _completed(s: Any) -> CompletedRun:
    names = [n for n in s.results if s.result(n).provenance.get("method") == RUNNER_METHOD]
    if not names:
        raise SessionError(f"{s.path}: the session is complete but holds no protocol results; "
                           "analyse it with `labkit analyze`")
    res = s.result(names[-1])
    return CompletedRun(names[-1], res.tables["trials"], res.tables.get("aggregates", pd.DataFrame()))


def read_resume_state(path: Path, protocol: Protocol, protocol_text: str, *,
                      other_protocol: bool = False, message: Any = print) -> ResumeState:
    """Read what the session file at ``path`` already holds of a run of ``protocol``.

    A file that needs repair is repaired first (``message`` tells where the original is
    kept); a file of another protocol is refused (see :func:`check_resumable`).
    """
    from labkit.session.reader import open_session
    from labkit.session.repair import needs_repair, repair_session

    if needs_repair(path):
        report = repair_session(path)
        message(f"repaired {path} ({report.message}); original kept as {report.backup}")
    state = ResumeState()
    with open_session(path) as s:
        check_resumable(s, protocol, protocol_text, other_protocol=other_protocol)
        if s.status == "complete":
            state.completed = _completed(s)
            return state
        events = s.events
        trials = s.trials
    proto = events[events["source"] == "protocol"]
    state.done_steps = set(proto.loc[proto["label"] == "step_done", "value"])
    by_path: dict[str, dict] = {}
    for value in proto.loc[proto["label"] == "trial", "value"]:
        info = json.loads(value)
        by_path[info["path"]] = info
    for _, row in trials.iterrows():
        state.next_id = max(state.next_id, int(row["id"]) + 1)
    state.aborted = [int(r["id"]) for _, r in trials.iterrows() if r["status"] in ("running", "recorded")]
    for path_, info in by_path.items():
        tid = int(info["id"])
        if tid in trials.index and trials.loc[tid, "status"] in ("valid", "invalid", "failed"):
            row = trials.loc[tid]
            state.done_trials[path_] = TrialRecord(
                tid, path_, step_at(protocol, path_), info.get("side"),
                int(row["attempt"]), float(row["start"]), float(row["end"]),
                row["status"] == "valid", str(row["reason"]))
    for value in proto.loc[proto["label"] == "weigh", "value"]:
        state.body_weight_n = float(json.loads(value)["body_weight_n"])
    for value in proto.loc[proto["label"] == "tare", "value"]:
        state.tare_n = {k: float(v) for k, v in json.loads(value).items()}
    return state
