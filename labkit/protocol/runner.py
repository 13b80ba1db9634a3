"""Run a protocol: cues out on LSL, streams into a session, trials analysed and judged live.

The runner walks the protocol's steps. Every cue goes out on an LSL marker stream (so it is
recorded with exact times, and a simulated athlete reacts to it); each trial is windowed,
analysed right away from the live data (:mod:`labkit.protocol.analysis`), judged against
its validation rules and repeated while invalid; at the end every trial is analysed again
from the session file and the per-trial metrics, the aggregates and their provenance are
written as a results group.

Resuming (``labkit run --resume FILE``): the walk through the steps depends only on which
trials were valid, so the runner replays it against the trials and ``step_done`` events
already in the file and carries on live from the first step that has no record.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.config.hardware import HardwareConfig
from labkit.config.protocol import Protocol, Step, TrialStep
from labkit.errors import ConfigError, SessionError
from labkit.protocol.resume import RUNNER_METHOD, read_resume_state
from labkit.protocol.view import View
from labkit.signal.window import Window
from labkit.trials.analyse import (
    STREAMS,
    aggregate_metric,
    analyse_session_trials,
    analyse_trial,
    result_tables,
    trial_label,
)
from labkit.trials.catalogue import entry
from labkit.trials.outcome import TrialRecord
from labkit.trials.replay import with_side
from labkit.trials.sequencing import summary_line as sequencing_summary
from labkit.trials.trunk_pairing import summary_line as pairing_summary

__all__ = ["FAST_REST_S", "ProtocolRunner", "RunOptions", "TrialRecord", "View", "aggregate_metric",
           "analyse_session_trials", "default_out_path"]

log = logging.getLogger(__name__)

FAST_REST_S = 2.0
FAST_EFFORT_S = 3.0
SETTLE_S = 0.8  # after stop: the athlete relaxes (reaction + decay) inside the window
MIN_BETWEEN_TRIALS_S = 2.0
REDO_REASON = "redo requested by the operator"


@dataclass
class RunOptions:
    """How to run: attended or not, fast, where to write, who the athlete is."""

    out_path: Path
    athlete: str = ""
    operator: str = ""
    subject_answers: dict[str, Any] = field(default_factory=dict)
    unattended: bool = False
    fast: bool = False
    resume: bool = False
    overwrite: bool = False
    #: resume a file recorded with another protocol (its trials keep their own steps)
    resume_other_protocol: bool = False


def _cue_task(step: TrialStep, side: str | None) -> str:
    """The cue that tells the (simulated) athlete what to do: ``task:<what>[:<detail>]``."""
    test = entry(step.test)
    if test.sided:
        return f"task:{test.sim_task}:{(side or 'left')[0]}"
    if test.directional:
        return f"task:{test.sim_task}:{step.direction}"
    if test.needs_muscle:
        return f"task:{test.sim_task}:{step.muscle}"
    if test.paced:
        return f"task:{test.sim_task}:{step.speed_m_s:g}"
    return f"task:{test.sim_task}"


class ProtocolRunner:
    """Run one protocol on one lab into one session file.

    Parameters
    ----------
    protocol, protocol_text : Protocol, str
        The validated protocol and its exact text (stored in the session).
    config, config_text : HardwareConfig, str
        The lab and its exact text.
    options : RunOptions
    view : View, optional
        The technician view (default: log lines).
    lab : object, optional
        A lab the run drives, e.g. :class:`labkit.devices.sim.lab.SimulatedLab` (the caller
        decides whether there is one): started before the recorder, checked while the run
        waits, stopped at the end. It needs ``start()``, ``stop()``, ``check()`` and
        ``wait_for_cue_streams(n, timeout_s=)``.
    """

    def __init__(self, protocol: Protocol, protocol_text: str, config: HardwareConfig,
                 config_text: str, options: RunOptions, view: View | None = None, *,
                 lab: Any | None = None) -> None:
        self.protocol = protocol
        self.protocol_text = protocol_text
        self.options = options
        self.view = view or View()
        self.view.attach(self)
        devices = {d.name for d in config.devices}
        missing = [s for s in protocol.requires.streams if s not in devices]
        if missing:
            raise ConfigError(
                f"protocol {protocol.name!r} needs streams {missing}, which hardware config "
                f"{config.name!r} does not have (devices: {sorted(devices)}); use another config"
            )
        wanted = [s for s in [*protocol.requires.streams, *protocol.requires.optional] if s in devices]
        rec = config.recording.model_copy(update={"streams": wanted})
        self.config = config.model_copy(update={"recording": rec})
        self.config_text = config_text
        self.trials: list[TrialRecord] = []
        self.body_weight_n: float | None = None
        self.tare_n: dict[str, float] = {}
        self._done_steps: set[str] = set()
        self._done_trials: dict[str, TrialRecord] = {}
        self._next_id = 1
        self._last_trial_end = float("-inf")
        self._lab = lab
        self._lab_started = False
        self._complete: pd.DataFrame | None = None
        self._recorder = None
        self._cues = None
        self.live: dict[str, Any] = {}
        self.current: dict[str, Any] = {}

    def expected_duration_s(self) -> float:
        """About how long the run takes: every step once, each repeat ``until_valid`` times
        (for the low-disk-space check before recording starts)."""
        fast = self.options.fast

        def steps(items: list[Step]) -> float:
            total = 0.0
            for st in items:
                b = st.body
                if st.kind == "repeat":
                    total += b.until_valid * steps(b.steps)
                elif st.kind == "per_side":
                    total += len(b.sides) * steps(b.steps)
                elif st.kind == "trial":
                    effort = min(b.effort_s, FAST_EFFORT_S) if fast else b.effort_s
                    total += (MIN_BETWEEN_TRIALS_S + b.quiet_s + b.countdown_s
                              + max(effort, entry(b.test).min_window_s) + SETTLE_S)
                elif st.kind == "rest":
                    total += self._rest_s(b.duration_s)
                else:
                    total += float(getattr(b, "duration_s", 0.0) or getattr(b, "seconds", 0.0) or 0.0)
            return total

        return steps(self.protocol.steps)

    @property
    def recorder(self) -> Any:
        """The :class:`labkit.record.Recorder` of the run (None before it starts)."""
        return self._recorder

    # -- plumbing -------------------------------------------------------------------------
    def _sleep(self, seconds: float, *, skippable: bool = False) -> None:
        """Wait, ticking the view; a ``skippable`` wait (a rest) ends early when the
        operator skips it (:meth:`View.skip_requested`)."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))
            self.view.tick()
            if self._lab is not None:
                self._lab.check()
            if skippable and self.view.skip_requested():
                self.view.message("rest skipped by the operator")
                return

    def _now(self) -> float:
        import pylsl

        return pylsl.local_clock()

    def _cue(self, text: str) -> None:
        self._cues.push_sample([text])

    def _event(self, label: str, value: Any = "") -> None:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        self._recorder.add_event(label, text[:1024], "protocol", time_s=self._now())

    def _rest_s(self, seconds: float) -> float:
        return min(seconds, FAST_REST_S) if self.options.fast else seconds

    # -- lifecycle ------------------------------------------------------------------------
    def _load_resume_state(self) -> None:
        """Completed steps and trials from the file being resumed."""
        state = read_resume_state(self.options.out_path, self.protocol, self.protocol_text,
                                  other_protocol=self.options.resume_other_protocol,
                                  message=self.view.message)
        if state.completed is not None:
            done = state.completed
            self.result_name, self.aggregates = done.result_name, done.aggregates
            self.view.message(f"{self.options.out_path} is already complete ({len(done.trials)} "
                              "trials); nothing to resume")
            self._complete = done.trials
            return
        self._done_steps, self._done_trials = state.done_steps, state.done_trials
        self._next_id, self._aborted = state.next_id, state.aborted
        if state.body_weight_n is not None:
            self.body_weight_n = state.body_weight_n
        if state.tare_n:
            self.tare_n = state.tare_n

    def _start(self) -> None:
        from labkit.lsl.streams import create_outlet
        from labkit.record.recorder import Recorder
        from labkit.spec import ChannelSpec, StreamSpec

        if self._lab is not None:
            self._lab.start()
            self._lab_started = True
        cue_spec = StreamSpec("protocol_cues", "markers", [ChannelSpec("cue", "", "marker")], 0.0,
                              "string", source_id=f"{self.config.source_prefix}-cues-{uuid.uuid4().hex[:6]}")
        self._cues = create_outlet(cue_spec)
        o = self.options
        self._recorder = Recorder(
            self.config, o.out_path, config_text=self.config_text, protocol_text=self.protocol_text,
            subject=o.athlete, operator=o.operator, protocol=self.protocol.name,
            notes=f"labkit run {self.protocol.name} v{self.protocol.version}",
            overwrite=o.overwrite, resume=o.resume, expected_duration_s=self.expected_duration_s())
        for name in STREAMS:  # the streams trial analysis reads, kept live
            if name in self.config.recording.streams:
                dev = self.config.device(name)
                self.live[name] = None
                self._recorder.add_tap(name, self._tap_for(name, dev))
        self._recorder.start()
        # every cue must be in the session: wait until the recorder records the cue stream
        if self._recorder.wait_for_stream(lambda spec: spec.source_id == cue_spec.source_id, 15) is None:
            raise SessionError("the recorder did not pick up the protocol's cue stream within 15 s")
        if self._lab is not None:
            self._lab.wait_for_cue_streams(1, timeout_s=10)
        for tid in getattr(self, "_aborted", []):
            self._recorder.update_trial(tid, status="aborted", reason="run interrupted")

    def _tap_for(self, name: str, device: Any) -> Callable:
        from labkit.protocol.live import LiveBuffer

        def tap(data: np.ndarray, times: np.ndarray) -> None:
            buf = self.live.get(name)
            if buf is None:
                spec = self._recorder.spec(name)
                if spec is None:
                    return
                buf = LiveBuffer(name, [c.label for c in spec.channels], spec.nominal_rate_hz)
                self.live[name] = buf
            buf(data, times)

        return tap

    def _stop(self, status: str = "complete") -> None:
        """Stop the recorder (its write failure, e.g. a full disk, is raised), then the lab."""
        try:
            rec = self._recorder
            if rec is not None and (rec.recording or rec.failure is not None):
                rec.stop(status=status)
        finally:
            # the simulated lab listens to the cue stream: stop it (closing its inlet) before the
            # cue outlet goes, or liblsl reports a transmission that "broke off" at a clean end
            if self._lab is not None and self._lab_started:
                self._lab.stop()
                self._lab_started = False
            self._cues = None  # destroys the cue outlet: a finished run leaves no stream behind

    def _abort_current_trial(self) -> None:
        """Mark the trial in progress (if any) aborted: an interrupted trial is never 'running'."""
        tid = self.current.get("id") if self.current else None
        if tid is None or self._recorder is None or not self._recorder.recording:
            return
        try:
            self._recorder.update_trial(int(tid), end=self._now(), status="aborted",
                                        reason="run interrupted")
        except Exception:  # the file may be what failed; the stop below reports it
            log.debug("could not mark trial %s aborted", tid, exc_info=True)
        self.current = {}

    def run(self) -> pd.DataFrame:
        """Run (or resume) the protocol; returns the per-trial results table."""
        o = self.options
        if o.resume:
            self._load_resume_state()
            if self._complete is not None:
                return self._complete
        elif o.out_path.exists() and not o.overwrite:
            raise SessionError(f"{o.out_path}: file exists; choose another --out, --resume it, "
                               "or pass --overwrite")
        self.view.message(f"protocol {self.protocol.name} v{self.protocol.version}: "
                          f"{self.protocol.description}")
        self._start()
        try:
            if not o.resume:
                self._event("protocol_started", {"name": self.protocol.name,
                                                 "version": self.protocol.version})
                if o.subject_answers:
                    self._event("subject", o.subject_answers)
            else:
                self._event("protocol_resumed", {"done_steps": len(self._done_steps),
                                                 "done_trials": len(self._done_trials)})
            self._run_steps(self.protocol.steps, "", None)
            self._event("protocol_completed", {"trials": len(self.trials)})
        except BaseException:  # Ctrl-C or an error: the file says so, and can be resumed
            self._abort_current_trial()
            self._stop(status="interrupted")
            raise
        finally:
            self.view.close()
        self._stop()
        return self.finish()

    # -- steps ----------------------------------------------------------------------------
    def _run_steps(self, steps: list[Step], prefix: str, side: str | None) -> None:
        for j, step in enumerate(steps):
            self._run_step(step, f"{prefix}s{j}", side)

    def _mark_done(self, path: str) -> None:
        self._event("step_done", path)
        self._recorder.commit()  # resume depends on it: commit now, not at the next flush
        self._done_steps.add(path)

    def _run_step(self, step: Step, path: str, side: str | None) -> TrialRecord | None:
        kind, body = step.kind, step.body
        if kind == "repeat":
            self._run_repeat(body, path, side)
            return None
        if kind == "per_side":
            for s in body.sides:
                self._run_steps(body.steps, f"{path}.{s}.", s)
            return None
        if kind == "trial":
            return self._run_trial(body, path, side)
        if path in self._done_steps:
            return None
        getattr(self, f"_step_{kind}")(body)
        self._mark_done(path)
        return None

    def _run_repeat(self, body: Any, path: str, side: str | None) -> None:
        from labkit.signal import force

        valid: list[TrialRecord] = []
        attempt = 0
        while attempt < body.max_attempts:
            attempt += 1
            finished = False
            for j, inner in enumerate(body.steps):
                record = self._run_step(inner, f"{path}.a{attempt}.s{j}", side)
                if record is not None and record.outcome is not None and record.outcome.config_error:
                    # the options are wrong, not the athlete: another attempt cannot help
                    self._event("repeat_failed", {"path": path, "reason": record.reason[:500]})
                    self.view.message(f"trial {record.trial_id} could not be analysed: "
                                      f"{record.reason}; fix the protocol, then re-analyse the file "
                                      "with `labkit analyze --params`")
                    return
                if record is None and self.view.redo_requested():  # asked in the rest after a trial
                    if valid and valid[-1] is self.trials[-1]:
                        self._redo(valid.pop())
                    continue
                if record is not None:
                    if record.valid:
                        valid.append(record)
                    peaks = [r.outcome.metrics.get("peak_force_n") for r in valid
                             if r.outcome is not None]
                    enough = len(valid) >= body.until_valid
                    spread = (enough and len(peaks) == len(valid) and len(peaks) >= 2
                              and force.repeat_needed([p for p in peaks if p is not None],
                                                      max_diff_n=record.step.validation
                                                      .max_best_peak_difference_n))
                    if spread and attempt < body.max_attempts:
                        self.view.message("best two peaks differ by more than "
                                          f"{record.step.validation.max_best_peak_difference_n:.0f} "
                                          "N: one more trial")
                        continue
                    if enough or attempt >= body.max_attempts:
                        finished = True
                        break  # no rest after the last trial
            if finished:
                break
        if len(valid) < body.until_valid:
            self._event("repeat_incomplete", {"path": path, "valid": len(valid),
                                              "wanted": body.until_valid})
            self.view.message(f"only {len(valid)} of {body.until_valid} valid trials after "
                              f"{body.max_attempts} attempts")

    def _redo(self, record: TrialRecord) -> None:
        """The operator redoes a trial judged valid: it becomes invalid, and the repeat
        runs another attempt."""
        record.valid = False
        record.reason = "; ".join(r for r in (record.reason, REDO_REASON) if r)
        if record.outcome is not None:
            record.outcome = dataclasses.replace(record.outcome, valid=False,
                                                 reasons=(*record.outcome.reasons, REDO_REASON))
        self._recorder.update_trial(record.trial_id, status="invalid", reason=record.reason[:1000])
        self._recorder.commit()
        self._event("trial_redo", {"id": record.trial_id})
        self.view.trial_done(record)  # its new verdict
        self.view.message(f"trial {record.trial_id}: {REDO_REASON}; one more attempt")

    def _step_instruction(self, body: Any) -> None:
        self._cue(f"instruction:{body.text[:200]}")
        if body.wait_for_key and not self.options.unattended:
            self.view.wait_key(body.text)
        else:
            self.view.message(body.text)

    def _quiet_force(self, body: Any, cue: str, settle_s: float, what: str
                     ) -> tuple[Window, float, float]:
        """Cue, let the athlete settle, and capture ``body.duration_s`` of force."""
        self.view.cue(body.text)
        self._cue(cue)
        self._sleep(settle_s)
        start = self._now()
        self._sleep(body.duration_s)
        end = self._now()
        window = self._window("force", start, end)
        if window is None:
            raise SessionError(f"no force data during {what}; check the force plates")
        return window, start, end

    def _step_weigh(self, body: Any) -> None:
        window, start, end = self._quiet_force(body, "task:quiet", 0.5, "weighing")
        fz, _ = window.sum_of(".Fz")
        fz = fz - sum(self.tare_n.get(lab, 0.0) for lab in window.labels if lab.endswith(".Fz"))
        self.body_weight_n = float(np.mean(fz))
        sd = float(np.std(fz, ddof=1))
        mass = self.body_weight_n / 9.80665
        self._event("weigh", {"body_weight_n": self.body_weight_n, "sd_n": sd, "start_s": start,
                              "end_s": end})
        self.view.message(f"body weight {self.body_weight_n:.1f} N ({mass:.1f} kg), SD {sd:.1f} N")
        stated = self.options.subject_answers.get("body_mass_kg")
        if stated and abs(mass - float(stated)) > 0.05 * float(stated):
            self.view.message(f"note: the plates say {mass:.1f} kg but {stated} kg was entered")

    def _step_tare(self, body: Any) -> None:
        window, _, _ = self._quiet_force(body, "step_off", 0.6, "tare")
        self.tare_n = {lab: float(np.mean(window.column(lab))) for lab in window.labels
                       if lab != "counter"}
        self._event("tare", self.tare_n)
        worst = max(abs(v) for k, v in self.tare_n.items() if k.endswith(".Fz"))
        self.view.message(f"plates zeroed (largest vertical offset {worst:.1f} N); step back on")
        self._sleep(2.5)

    def _step_countdown(self, body: Any) -> None:
        for n in range(body.seconds, 0, -1):
            self._cue(f"countdown:{n}")
            self.view.countdown(n)
            self._sleep(1.0)

    def _step_rest(self, body: Any) -> None:
        seconds = self._rest_s(body.duration_s)
        self.view.rest(body.text, seconds)
        self._cue("rest")
        self._sleep(seconds, skippable=True)

    def _window(self, name: str, start: float, end: float) -> Window | None:
        buf = self.live.get(name)
        if buf is None:
            return None
        deadline = time.monotonic() + 2.0
        while buf.last_time_s < end and time.monotonic() < deadline:
            time.sleep(0.02)
        return buf.window(start, end)

    def _tared(self, window: Window | None) -> Window | None:
        return None if window is None else window.minus(self.tare_n)

    def _run_trial(self, step: TrialStep, path: str, side: str | None) -> TrialRecord:
        side = step.side or side
        step = with_side(step, side)  # the per_side step's side
        if path in self._done_trials:
            record = self._done_trials[path]
            record.step = step
            self.trials.append(record)
            return record
        attempt = int(path.rsplit(".a", 1)[1].split(".")[0]) if ".a" in path else 1
        since = self._now() - self._last_trial_end
        if since < MIN_BETWEEN_TRIALS_S:  # let the last effort die away before the quiet window
            self._sleep(MIN_BETWEEN_TRIALS_S - since)
        trial_id = self._next_id
        self._next_id += 1
        start = self._now()
        self._recorder.add_trial(trial_id, step.test, start, status="running",
                                 side=side or step.direction or "", attempt=attempt)
        self._event("trial", {"id": trial_id, "path": path, "side": side})
        info = {"id": trial_id, "label": trial_label(step, side), "attempt": attempt, "start_s": start,
                "text": step.text, "step": step}
        self.current = info
        self._cue(f"trial:{trial_id}")
        self._cue(_cue_task(step, side))
        self._trial_phases(step, info, attempt)
        end = self._now()
        self._last_trial_end = end
        outcome = analyse_trial(step, self._tared(self._window("force", start, end)),
                                self._window("emg", start, end), body_weight_n=self.body_weight_n,
                                mocap=self._window("mocap", start, end))
        redo = self.view.redo_requested()  # asked during the trial: the operator saw it fail
        if outcome.valid and redo:
            outcome = dataclasses.replace(outcome, valid=False, reasons=(*outcome.reasons, REDO_REASON))
        status = "failed" if outcome.config_error else "valid" if outcome.valid else "invalid"
        self._recorder.update_trial(trial_id, end=end, status=status, reason=outcome.reason[:1000])
        self._recorder.commit()  # the verdict is committed before it is announced (resume relies on it)
        self.current = {}
        record = TrialRecord(trial_id, path, step, side, attempt, start, end, outcome.valid,
                             outcome.reason, outcome)
        self.trials.append(record)
        self.view.trial_done(record)
        # jumps with mocap: order and lags; trunk rotations: the obliques' pairing
        for line in (sequencing_summary(outcome.metrics), pairing_summary(outcome.metrics)):
            if line:
                self.view.message(line)
        return record

    def _trial_phases(self, step: TrialStep, info: dict[str, Any], attempt: int) -> None:
        """Quiet, countdown, GO, effort, stop and settle, each cued and shown."""
        self.view.trial_phase(info, f"attempt {attempt}: {step.text or 'get ready'} - stand still")
        self._sleep(step.quiet_s)
        for n in range(step.countdown_s, 0, -1):
            self._cue(f"countdown:{n}")
            self.view.countdown(n)
            self._sleep(1.0)
        info["go_s"] = self._now()
        self._cue("go")
        self.view.trial_phase(info, "GO!")
        effort = min(step.effort_s, FAST_EFFORT_S) if self.options.fast else step.effort_s
        # a jump needs its flight and landing in the window
        effort = max(effort, entry(step.test).min_window_s)
        self._sleep(effort)
        self._cue("stop")
        self.view.trial_phase(info, "relax")
        self._sleep(SETTLE_S)

    # -- results --------------------------------------------------------------------------
    def finish(self) -> pd.DataFrame:
        """Analyse every trial again from the session file and store results with provenance."""
        table, aggregates, params, details = analyse_session_trials(self.options.out_path, self.trials,
                                                                    self.body_weight_n, self.tare_n)
        from labkit.session.results import write_result

        inputs = {"streams": [s for s in STREAMS if s in self.config.recording.streams],
                  "trials": [int(t.trial_id) for t in self.trials],
                  "windows": "trial start..end, session clock (synchronised times)"}
        tables = result_tables(table, aggregates, details)
        self.result_name = write_result(
            self.options.out_path, "protocol", method=RUNNER_METHOD,
            params={"protocol": self.protocol.name, "protocol_version": self.protocol.version,
                    "body_weight_n": self.body_weight_n, "tare_n": self.tare_n,
                    "analyses": params, "fast": self.options.fast},
            inputs=inputs, tables=tables)
        self.aggregates = aggregates
        return table


def default_out_path(protocol: Protocol, athlete: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    who = athlete or "athlete"
    return Path(f"{protocol.name}_{who}_{stamp}.h5")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "no")
