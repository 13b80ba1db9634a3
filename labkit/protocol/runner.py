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

import json
import logging
import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.config.hardware import HardwareConfig, LslDevice, load_hardware_config
from labkit.errors import ConfigError, SessionError
from labkit.protocol.analysis import StreamWindow, TrialOutcome, analyse_trial
from labkit.protocol.schema import Protocol, Step, TrialStep

log = logging.getLogger(__name__)

#: how the simulated athlete (and a technician's display) names each test in cues
SIM_TASK = {"imtp": "imtp", "isometric_squat": "imtp",
            "isometric_hip_extension": "isometric_hip_extension",
            "isometric_hip_flexion": "isometric_hip_flexion",
            "isometric_trunk_rotation": "isometric_trunk_rotation",
            "cmj": "cmj", "squat_jump": "cmj", "mvc": "mvc"}
FAST_REST_S = 2.0
FAST_EFFORT_S = 3.0
SETTLE_S = 0.8  # after stop: the athlete relaxes (reaction + decay) inside the window
MIN_BETWEEN_TRIALS_S = 2.0


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
    simulate: bool | None = None  # None: start the simulated lab when the config is simulated
    overwrite: bool = False


@dataclass
class TrialRecord:
    trial_id: int
    path: str
    step: TrialStep
    side: str | None
    attempt: int
    start_s: float
    end_s: float
    valid: bool
    reason: str
    outcome: TrialOutcome | None = None


class View:
    """What the technician sees; the default logs lines (unattended batteries, CI logs)."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.echo = echo or (lambda msg: log.info("%s", msg))
        self.runner: ProtocolRunner | None = None

    def attach(self, runner: ProtocolRunner) -> None:
        self.runner = runner

    def message(self, text: str) -> None:
        self.echo(text)

    def wait_key(self, text: str) -> None:
        self.echo(text)

    def countdown(self, n: int) -> None:
        self.echo(f"  {n}...")

    def trial_phase(self, record: dict[str, Any], phase: str) -> None:
        self.echo(f"trial {record['id']} ({record['label']}): {phase}")

    def trial_done(self, trial: TrialRecord) -> None:
        o = trial.outcome
        verdict = "VALID" if trial.valid else f"INVALID: {trial.reason}"
        summary = ""
        if o is not None and "jump_height_m" in o.metrics:
            summary = (f"jump height {o.metrics['jump_height_m'] * 100:.1f} cm, peak force "
                       f"{o.metrics.get('peak_force_n', float('nan')):.0f} N, ")
        elif o is not None and "peak_force_n" in o.metrics:
            unit = o.metrics.get("unit", "N")
            key = aggregate_metric(trial.step.test)
            summary = (f"{'peak' if key == 'peak_force_n' else 'net peak'} {o.metrics[key]:.0f} {unit}, "
                       f"RFD 0-100 ms {o.metrics.get('rfd_0_100ms_n_s', float('nan')):.0f} {unit}/s, ")
        elif o is not None and "mvc_v" in o.metrics:
            summary = f"MVC {o.metrics['mvc_v'] * 1e3:.3f} mV, "
        self.echo(f"trial {trial.trial_id} ({_label(trial.step, trial.side)}, attempt "
                  f"{trial.attempt}): {summary}{verdict}")

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def _label(step: TrialStep, side: str | None) -> str:
    parts = [step.test]
    if side:
        parts.append(side)
    if step.direction:
        parts.append(step.direction)
    if step.muscle:
        parts.append(step.muscle)
    return " ".join(parts)


def _cue_task(step: TrialStep, side: str | None) -> str:
    task = SIM_TASK[step.test]
    if step.test in ("isometric_hip_extension", "isometric_hip_flexion"):
        return f"task:{task}:{(side or 'left')[0]}"
    if step.test == "isometric_trunk_rotation":
        return f"task:{task}:{step.direction}"
    if step.test == "mvc":
        return f"task:{task}:{step.muscle}"
    return f"task:{task}"


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
    """

    def __init__(self, protocol: Protocol, protocol_text: str, config: HardwareConfig,
                 config_text: str, options: RunOptions, view: View | None = None) -> None:
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
        simulated = all(not isinstance(d, LslDevice) and d.kind.startswith("sim_")
                        for d in config.devices)
        self.simulate = simulated if options.simulate is None else options.simulate
        if self.simulate:  # a lab of its own: other LSL streams on the machine are not mixed in
            if "LSLAPICFG" not in os.environ:
                from labkit.lsl.loopback import configure_loopback

                configure_loopback(f"labkit-run-{uuid.uuid4().hex[:8]}")
            prefix = f"{config.source_prefix}-run{uuid.uuid4().hex[:6]}"
            config_text = config_text.replace(f"source_prefix: {config.source_prefix}",
                                              f"source_prefix: {prefix}")
            config, config_text = load_hardware_config("hardware config", text=config_text)
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
        self._lab = None
        self._recorder = None
        self._cues = None
        self.live: dict[str, Any] = {}
        self.current: dict[str, Any] = {}

    # -- plumbing -------------------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + max(0.0, seconds)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))
            self.view.tick()
            if self._lab is not None:
                self._lab.check()

    def _now(self) -> float:
        import pylsl

        return pylsl.local_clock()

    def _cue(self, text: str) -> None:
        self._cues.push_sample([text])

    def _event(self, label: str, value: Any = "") -> None:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        self._recorder.writer.add_event(self._now(), label, text[:1024], "protocol")

    def _rest_s(self, seconds: float) -> float:
        return min(seconds, FAST_REST_S) if self.options.fast else seconds

    # -- lifecycle ------------------------------------------------------------------------
    def _load_resume_state(self) -> None:
        """Completed steps and trials from the file being resumed."""
        from labkit.session.reader import open_session
        from labkit.session.repair import needs_repair, repair_session

        path = self.options.out_path
        if needs_repair(path):
            report = repair_session(path)
            self.view.message(f"repaired {path} ({report.message}); original kept as {report.backup}")
        with open_session(path) as s:
            text = s.protocol_text
            if text and text != self.protocol_text:
                log.warning("resuming with a protocol text different from the one in %s", path)
            events = s.events
            trials = s.trials
        proto = events[events["source"] == "protocol"]
        self._done_steps = set(proto.loc[proto["label"] == "step_done", "value"])
        by_path: dict[str, dict] = {}
        for value in proto.loc[proto["label"] == "trial", "value"]:
            info = json.loads(value)
            by_path[info["path"]] = info
        for _, row in trials.iterrows():
            self._next_id = max(self._next_id, int(row["id"]) + 1)
        self._aborted = [int(r["id"]) for _, r in trials.iterrows()
                         if r["status"] in ("running", "recorded")]
        for path_, info in by_path.items():
            tid = int(info["id"])
            if tid in trials.index and trials.loc[tid, "status"] in ("valid", "invalid"):
                row = trials.loc[tid]
                self._done_trials[path_] = TrialRecord(
                    tid, path_, self._trial_step_at(path_), info.get("side"),
                    int(row["attempt"]), float(row["start"]), float(row["end"]),
                    row["status"] == "valid", str(row["reason"]))
        for value in proto.loc[proto["label"] == "weigh", "value"]:
            self.body_weight_n = float(json.loads(value)["body_weight_n"])
        for value in proto.loc[proto["label"] == "tare", "value"]:
            self.tare_n = {k: float(v) for k, v in json.loads(value).items()}

    def _trial_step_at(self, path: str) -> TrialStep:
        """The trial step a path names (``s2.a3.s0``, ``s4.left.s1``): resume needs no copy."""
        steps = self.protocol.steps
        step = None
        for token in path.split("."):
            if token.startswith("s") and token[1:].isdigit():
                step = steps[int(token[1:])]
                if step.kind in ("repeat", "per_side"):
                    steps = step.body.steps
        if step is None or step.kind != "trial":
            raise SessionError(f"the session names protocol step {path!r}, which is not a trial of "
                               f"{self.protocol.name!r}; resume with the protocol it was run with")
        return step.trial

    def _start(self) -> None:
        from labkit.lsl.streams import create_outlet
        from labkit.record.recorder import Recorder
        from labkit.spec import ChannelSpec, StreamSpec

        if self.simulate:
            from labkit.devices.sim.lab import SimulatedLab

            self._lab = SimulatedLab(self.config).start()
        cue_spec = StreamSpec("protocol_cues", "markers", [ChannelSpec("cue", "", "marker")], 0.0,
                              "string", source_id=f"{self.config.source_prefix}-cues-{uuid.uuid4().hex[:6]}")
        self._cues = create_outlet(cue_spec)
        o = self.options
        self._recorder = Recorder(
            self.config, o.out_path, config_text=self.config_text, protocol_text=self.protocol_text,
            subject=o.athlete, operator=o.operator, protocol=self.protocol.name,
            notes=f"labkit run {self.protocol.name} v{self.protocol.version}",
            overwrite=o.overwrite, resume=o.resume)
        for name in ("force", "emg"):
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
            self._recorder.writer.update_trial(tid, status="aborted", reason="run interrupted")

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

    def _stop(self) -> None:
        if self._recorder is not None and self._recorder.writer is not None:
            self._recorder.stop()
        self._cues = None  # destroys the cue outlet: a finished run leaves no stream behind
        if self._lab is not None:
            self._lab.stop()
            self._lab = None

    def run(self) -> pd.DataFrame:
        """Run (or resume) the protocol; returns the per-trial results table."""
        o = self.options
        if o.resume:
            self._load_resume_state()
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
        finally:
            self._stop()
            self.view.close()
        return self.finish()

    # -- steps ----------------------------------------------------------------------------
    def _run_steps(self, steps: list[Step], prefix: str, side: str | None) -> None:
        for j, step in enumerate(steps):
            self._run_step(step, f"{prefix}s{j}", side)

    def _mark_done(self, path: str) -> None:
        self._event("step_done", path)
        self._recorder.writer.flush()  # resume depends on it: commit now, not at the next flush
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

    def _step_instruction(self, body: Any) -> None:
        self._cue(f"instruction:{body.text[:200]}")
        if body.wait_for_key and not self.options.unattended:
            self.view.wait_key(body.text)
        else:
            self.view.message(body.text)

    def _quiet_force(self, body: Any, cue: str, settle_s: float, what: str
                     ) -> tuple[StreamWindow, float, float]:
        """Cue, let the athlete settle, and capture ``body.duration_s`` of force."""
        self.view.message(body.text)
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
        self.view.message(f"{body.text}: {seconds:.0f} s")
        self._cue("rest")
        self._sleep(seconds)

    def _window(self, name: str, start: float, end: float) -> StreamWindow | None:
        buf = self.live.get(name)
        if buf is None:
            return None
        deadline = time.monotonic() + 2.0
        while buf.last_time_s < end and time.monotonic() < deadline:
            time.sleep(0.02)
        return buf.window(start, end)

    def _tared(self, window: StreamWindow | None) -> StreamWindow | None:
        if window is None or not self.tare_n:
            return window
        offsets = np.array([self.tare_n.get(lab, 0.0) for lab in window.labels])
        data = window.data.astype(np.float64) - offsets
        return StreamWindow(window.labels, data, window.times, window.rate_hz, window.name)

    def _run_trial(self, step: TrialStep, path: str, side: str | None) -> TrialRecord:
        side = step.side or side
        if side and step.side is None and step.test in ("isometric_hip_extension",
                                                        "isometric_hip_flexion"):
            step = step.model_copy(update={"side": side})  # the per_side step's side
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
        label = _label(step, side)
        writer = self._recorder.writer
        start = self._now()
        writer.add_trial(trial_id, step.test, start, status="running",
                         side=side or step.direction or "", attempt=attempt)
        self._event("trial", {"id": trial_id, "path": path, "side": side})
        info = {"id": trial_id, "label": label, "attempt": attempt, "start_s": start}
        self.current = info
        self._cue(f"trial:{trial_id}")
        self._cue(_cue_task(step, side))
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
        if step.test in ("cmj", "squat_jump"):
            effort = max(effort, 2.5)  # a jump needs its flight and landing in the window
        self._sleep(effort)
        self._cue("stop")
        self.view.trial_phase(info, "relax")
        self._sleep(SETTLE_S)
        end = self._now()
        self._last_trial_end = end
        self.current = {}
        outcome = analyse_trial(step, self._tared(self._window("force", start, end)),
                                self._window("emg", start, end), body_weight_n=self.body_weight_n)
        writer.update_trial(trial_id, end=end, status="valid" if outcome.valid else "invalid",
                            reason=outcome.reason[:1000])
        writer.flush()  # the verdict is committed before it is announced (resume relies on it)
        record = TrialRecord(trial_id, path, step, side, attempt, start, end, outcome.valid,
                             outcome.reason, outcome)
        self.trials.append(record)
        self.view.trial_done(record)
        return record

    # -- results --------------------------------------------------------------------------
    def finish(self) -> pd.DataFrame:
        """Analyse every trial again from the session file and store results with provenance."""
        table, aggregates, params = analyse_session_trials(self.options.out_path, self.trials,
                                                           self.body_weight_n, self.tare_n)
        from labkit.session.results import write_result

        inputs = {"streams": [s for s in ("force", "emg") if s in self.config.recording.streams],
                  "trials": [int(t.trial_id) for t in self.trials],
                  "windows": "trial start..end, session clock (synchronised times)"}
        tables = {"trials": table}
        if len(aggregates):
            tables["aggregates"] = aggregates
        self.result_name = write_result(
            self.options.out_path, "protocol", method="labkit.protocol.runner",
            params={"protocol": self.protocol.name, "protocol_version": self.protocol.version,
                    "body_weight_n": self.body_weight_n, "tare_n": self.tare_n,
                    "analyses": params, "fast": self.options.fast},
            inputs=inputs, tables=tables)
        self.aggregates = aggregates
        return table


def analyse_session_trials(path: Path, trials: list[TrialRecord], body_weight_n: float | None,
                           tare_n: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per-trial metrics from the stored data (synchronised times) and per-test aggregates."""
    from labkit.session.reader import open_session
    from labkit.signal import force

    rows, params, outcomes = [], {}, []
    with open_session(path) as s:
        streams = {n: s.stream(n) for n in ("force", "emg") if n in s.streams}
        for trial in trials:
            wins = {}
            for name, st in streams.items():
                keep = (st.times >= trial.start_s) & (st.times <= trial.end_s)
                wins[name] = (StreamWindow(st.labels, st.data[keep], st.times[keep], st.rate_hz, name)
                              if keep.any() else None)
            fw = wins.get("force")
            if fw is not None and tare_n:
                offsets = np.array([tare_n.get(lab, 0.0) for lab in fw.labels])
                fw = StreamWindow(fw.labels, fw.data.astype(np.float64) - offsets, fw.times,
                                  fw.rate_hz, fw.name)
            outcome = analyse_trial(trial.step, fw, wins.get("emg"), body_weight_n=body_weight_n)
            outcomes.append((trial, outcome))
            key = _label(trial.step, trial.side)
            params[key] = {"method": outcome.method, **outcome.params}
            row = {"trial": trial.trial_id, "test": trial.step.test, "label": key,
                   "side": trial.side or "", "attempt": trial.attempt,
                   "valid": bool(trial.valid), "reason": trial.reason,
                   "valid_from_file": bool(outcome.valid)}
            row.update({k: v for k, v in outcome.metrics.items()
                        if isinstance(v, int | float | str | bool | np.floating | np.integer)})
            rows.append(row)
    table = pd.DataFrame(rows)
    agg_rows = []
    for key in dict.fromkeys(r["label"] for r in rows):
        group = [(t, o) for t, o in outcomes if _label(t.step, t.side) == key]
        step = group[0][0].step
        metric = aggregate_metric(step.test)
        values = [float(o.metrics.get(metric, float("nan"))) for t, o in group if t.valid]
        values = [v for v in values if math.isfinite(v)]
        entry = {"label": key, "test": step.test, "metric": metric, "method": step.aggregate,
                 "n_trials": len(group), "n_valid": len(values)}
        try:
            agg = force.aggregate_trials(values, method=step.aggregate)
            entry.update(value=agg.value, n_used=agg.n_used, repeat_needed=bool(agg.repeat_needed))
        except Exception as exc:  # too few valid trials for the method: say so in the table
            entry.update(value=float("nan"), n_used=0, repeat_needed=True, note=str(exc)[:200])
        agg_rows.append(entry)
    return table, pd.DataFrame(agg_rows), params


def aggregate_metric(test: str) -> str:
    """The metric a test's trials are ranked and aggregated by."""
    if test == "mvc":
        return "mvc_v"
    if test in ("cmj", "squat_jump"):
        return "jump_height_m"
    if test in ("imtp", "isometric_squat"):
        return "peak_force_n"
    return "net_peak_force_n"  # one plate or the free moment: force above the quiet baseline


def default_out_path(protocol: Protocol, athlete: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    who = athlete or "athlete"
    return Path(f"{protocol.name}_{who}_{stamp}.h5")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "no")
