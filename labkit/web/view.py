"""The protocol runner's view for the web screens: it tells the :class:`~labkit.web.hub.LiveHub`
what happens and takes the operator's requests from it (continue replaces Enter)."""

from __future__ import annotations

import math
import time
from typing import Any

from labkit.errors import LabkitError
from labkit.protocol.view import View, headline, rfd_100
from labkit.trials.analyse import trial_label
from labkit.trials.catalogue import entry
from labkit.trials.formats import metric_unit
from labkit.trials.outcome import TrialRecord
from labkit.web.hub import LiveHub

__all__ = ["RunAborted", "WebView", "trial_row"]


class RunAborted(LabkitError):
    """The operator aborted the run from the console (the file is closed as interrupted)."""


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def trial_row(trial: TrialRecord) -> dict[str, Any]:
    """A finished trial as the screens show it: verdict, reason and the catalogue's
    headline metric (the athlete's big number).

    Parameters
    ----------
    trial : TrialRecord

    Returns
    -------
    dict
        ``id``, ``label``, ``attempt``, ``valid``, ``reason``, ``headline`` (the metric's
        name), ``headline_label``, ``value`` (in display units: cm for jump height),
        ``unit``, ``text`` (``peak 2608 N``), ``rfd_0_100ms`` and ``metrics`` (numbers only).
    """
    test = entry(trial.step.test)
    metrics = trial.outcome.metrics if trial.outcome is not None else {}
    value = _number(metrics.get(test.headline))
    unit = metric_unit(test.headline, test.unit)
    if test.kind == "jump" and test.headline.endswith("_m") and value is not None:
        value, unit = 100.0 * value, "cm"
    return {"id": int(trial.trial_id), "label": trial_label(trial.step, trial.side),
            "test": trial.step.test, "attempt": int(trial.attempt), "valid": bool(trial.valid),
            "reason": trial.reason, "headline": test.headline, "headline_label": test.headline_label,
            "value": value, "unit": unit, "text": headline(trial), "rfd_0_100ms": rfd_100(trial),
            "metrics": {k: _number(v) for k, v in metrics.items() if _number(v) is not None}}


class WebView(View):
    """Publishes the run to a hub and obeys the operator.

    Continue ends an instruction's wait; abort stops the run at the next tick (the runner
    closes the file as ``interrupted``: resumable); pause holds the run in its next rest
    (never inside a trial or a weighing) until resume; skip ends the current rest; redo
    makes the last trial count as invalid (asked during the trial or in the rest after it).

    Parameters
    ----------
    hub : LiveHub
    echo : callable, optional
        Also send each message line here (the terminal that started the server).
    """

    def __init__(self, hub: LiveHub, echo: Any = None) -> None:
        super().__init__(echo or (lambda msg: None))
        self.hub = hub

    def message(self, text: str) -> None:
        self.echo(text)
        self.hub.add_message(text)

    def cue(self, text: str) -> None:
        self.hub.update(phase="cue", cue=text, countdown=None, trial=None, rest_until=None, waiting=False)
        self._abort_if_asked()

    def rest(self, text: str, seconds: float) -> None:
        self.hub.update(phase="rest", cue=text, countdown=None, trial=None, waiting=False,
                        rest_text=text, rest_until=time.monotonic() + max(0.0, float(seconds)))

    def wait_key(self, text: str) -> None:
        self.hub.update(phase="instruction", cue=text, countdown=None, trial=None, rest_until=None,
                        waiting=True)
        self.hub.take("continue")  # a click before the instruction was shown is not an answer
        while True:
            got = self.hub.wait_for(("continue", "abort"), 0.2)
            if got == "abort":
                raise RunAborted("aborted by the operator from the web console")
            if got == "continue":
                break
            if self.runner is not None and self.runner._lab is not None:
                self.runner._lab.check()  # the simulated lab still runs while we wait
        self.hub.update(waiting=False)
        self.echo(text)

    def countdown(self, n: int) -> None:
        self.hub.update(countdown=int(n))

    def trial_phase(self, record: dict[str, Any], phase: str) -> None:
        name = "go" if phase == "GO!" else "relax" if phase == "relax" else "quiet"
        trial = {"id": record["id"], "label": record["label"], "attempt": record.get("attempt", 1),
                 "test": getattr(record.get("step"), "test", "")}
        self.hub.update(phase=name, cue=phase if name != "go" else f"GO! {record.get('text') or ''}".strip(),
                        countdown=None, trial=trial, rest_until=None, waiting=False,
                        go_s=record.get("go_s"))

    def trial_done(self, trial: TrialRecord) -> None:
        super().trial_done(trial)
        self.hub.add_trial(trial_row(trial))
        self.hub.update(phase="verdict", trial=None, countdown=None)

    def tick(self) -> None:
        self._abort_if_asked()
        state = self.hub.snapshot()
        if "pause" in state["requests"] and state["phase"] == "rest":
            self.hub.update(paused=True)
            self.message("paused by the operator")
            got = None
            while got is None:
                got = self.hub.wait_for(("resume", "abort"), 0.2)
            self.hub.take("pause")
            self.hub.update(paused=False)
            if got == "abort":
                raise RunAborted("aborted by the operator from the web console")
            self.message("resumed")

    def _abort_if_asked(self) -> None:
        if self.hub.take("abort"):
            raise RunAborted("aborted by the operator from the web console")

    def skip_requested(self) -> bool:
        return self.hub.take("skip")

    def redo_requested(self) -> bool:
        return self.hub.take("redo")
