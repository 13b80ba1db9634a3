"""What the technician sees of a protocol run: log lines (:class:`View`) or a live terminal screen
(:class:`RichView`, rich)."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from labkit.trials.analyse import trial_label
from labkit.trials.catalogue import entry
from labkit.trials.formats import format_value, metric_unit
from labkit.trials.outcome import TrialRecord

log = logging.getLogger(__name__)

_BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: np.ndarray, width: int = 60) -> str:
    """Values as a one-line bar chart of ``width`` characters."""
    if len(values) == 0:
        return ""
    idx = np.linspace(0, len(values) - 1, width).astype(int)
    v = values[idx]
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    if not math.isfinite(lo) or hi - lo < 1e-9:
        return _BLOCKS[1] * width
    levels = np.clip(((v - lo) / (hi - lo) * (len(_BLOCKS) - 2)).round().astype(int) + 1, 1,
                     len(_BLOCKS) - 1)
    return "".join(_BLOCKS[i] for i in levels)


class View:
    """What the technician sees; the default logs lines (unattended batteries, CI logs).

    The runner calls, in order: :meth:`message` (a line of the session's story: protocol,
    body weight, results, notes), :meth:`cue` (what the athlete is told to do now, outside
    trials: ``Stand still on the plates``), :meth:`rest` (a rest of so many seconds),
    :meth:`trial_phase` (a trial's ``attempt 1: <cue> - stand still``, ``GO!``, ``relax``),
    :meth:`countdown` (seconds before GO), :meth:`trial_done`, and :meth:`tick` about ten
    times a second in between.
    """

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.echo = echo or (lambda msg: log.info("%s", msg))
        self.runner: Any = None

    def attach(self, runner: Any) -> None:
        self.runner = runner

    def message(self, text: str) -> None:
        self.echo(text)

    def cue(self, text: str) -> None:
        """What the athlete is told to do now (weighing, tare); shown until the next step.

        Parameters
        ----------
        text : str
            The step's text (``Stand still on the plates``).
        """
        self.echo(text)

    def rest(self, text: str, seconds: float) -> None:
        """A rest starts (a live screen counts it down).

        Parameters
        ----------
        text : str
            The rest step's text (``Rest``).
        seconds : float
            Its length as run (``--fast`` shortens it).
        """
        self.echo(f"{text}: {seconds:.0f} s")

    def wait_key(self, text: str) -> None:
        self.echo(text)

    def countdown(self, n: int) -> None:
        self.echo(f"  {n}...")

    def trial_phase(self, record: dict[str, Any], phase: str) -> None:
        self.echo(f"trial {record['id']} ({record['label']}): {phase}")

    def trial_done(self, trial: TrialRecord) -> None:
        self.echo(f"trial {trial.trial_id} ({trial_label(trial.step, trial.side)}, attempt "
                  f"{trial.attempt}): {trial_summary(trial)}{_verdict(trial)}")

    def tick(self) -> None:
        pass

    def skip_requested(self) -> bool:
        """True (once) when the operator skips the current rest; the runner asks while it
        rests. A view without controls never skips."""
        return False

    def redo_requested(self) -> bool:
        """True (once) when the operator wants the last trial redone (it then counts as
        invalid and the repeat runs another attempt); asked when a trial is judged and in
        the rest after it. A view without controls never asks for a redo."""
        return False

    def close(self) -> None:
        pass


def _verdict(trial: TrialRecord) -> str:
    if trial.outcome is not None and trial.outcome.config_error:
        return f"NOT ANALYSED: {trial.reason}"
    return "VALID" if trial.valid else f"INVALID: {trial.reason}"


def headline(trial: TrialRecord) -> str:
    """The test's headline metric of a finished trial, labelled as the catalogue names it.

    Parameters
    ----------
    trial : TrialRecord
        A finished trial with its outcome.

    Returns
    -------
    str
        ``peak 2608 N`` (IMTP), ``net peak 305 N`` (hip flexion), ``net peak 121 N·m``
        (trunk rotation), ``jump height 35.2 cm``, ``MVC 0.300 mV``; ``""`` without metrics.
    """
    o = trial.outcome
    if o is None or not o.metrics:
        return ""
    test = entry(trial.step.test)
    value = o.metrics.get(test.headline, float("nan"))
    unit = metric_unit(test.headline, test.unit)
    if unit == "m":  # a jump height reads in cm; RSI (m/s over s) has no unit
        return f"{test.headline_label} {format_value(100.0 * float(value), 'cm')}"
    return f"{test.headline_label} {format_value(value, unit)}"


def rfd_100(trial: TrialRecord) -> str:
    """RFD 0-100 ms of an isometric trial with its unit.

    Parameters
    ----------
    trial : TrialRecord

    Returns
    -------
    str
        ``10203 N/s`` (``N·m/s`` for trunk rotation); ``""`` for other tests or no value.
    """
    o = trial.outcome
    test = entry(trial.step.test)
    if o is None or test.kind != "isometric" or "rfd_0_100ms_n_s" not in o.metrics:
        return ""
    return format_value(o.metrics["rfd_0_100ms_n_s"], metric_unit("rfd_0_100ms_n_s", test.unit))


def trial_summary(trial: TrialRecord) -> str:
    """The headline numbers of a finished trial, e.g. ``peak 2608 N, RFD 0-100 ms 10203 N/s, ``."""
    o = trial.outcome
    if o is None or not o.metrics:
        return ""
    test = entry(trial.step.test)
    if test.kind == "jump":
        # reactive tests (RSI headline) are read with their ground contact; the others with
        # their peak force
        for key, label in (("contact_time_s", "contact time"),
                           ("contact_time_best_mean_s", "contact time best 5")):  # fmt: skip
            if test.reports(key) and key in o.metrics:
                return f"{headline(trial)}, {label} {format_value(1000.0 * float(o.metrics[key]), 'ms')}, "
        peak = format_value(o.metrics.get("peak_force_n", float("nan")), "N")
        return f"{headline(trial)}, peak force {peak}, "
    if test.kind == "isometric":
        rfd = rfd_100(trial)
        return f"{headline(trial)}, " + (f"RFD 0-100 ms {rfd}, " if rfd else "")
    return f"{headline(trial)}, " if headline(trial) else ""


class RichView(View):
    """Live screen: the step or trial and its cue, the countdown (before GO, and during a
    rest), the live trace of the trial's own signal with its live headline, the trial
    table and device health. Instructions wait for Enter unless unattended.

    Everything shown belongs to the current step: the cue, countdown and live numbers of a
    step are cleared when it ends; finished trials move to the log lines and the table.
    """

    def __init__(self, console: Any) -> None:
        super().__init__(lambda msg: self._log.append(msg))
        from rich.live import Live

        self.console = console
        self._log: deque[str] = deque(maxlen=6)
        self._trial = ""      # which trial is running (id, label, attempt)
        self._cue = ""        # what the athlete is told now
        self._countdown = ""  # seconds before GO
        self._rest: tuple[str, float] | None = None  # (text, monotonic deadline)
        self._trials: list[TrialRecord] = []
        # redrawn on every tick (the runner ticks ten times a second), not by a thread of its own
        self._live = Live(self._render(), console=console, auto_refresh=False, transient=False)
        self._live.start()

    def _clear_step(self) -> None:
        self._cue, self._countdown, self._rest = "", "", None

    def message(self, text: str) -> None:
        self._clear_step()  # a new line of the story: the previous step is over
        self._log.append(text)
        self.tick()

    def cue(self, text: str) -> None:
        self._clear_step()
        self._trial, self._cue = "", text
        self.tick()

    def rest(self, text: str, seconds: float) -> None:
        self._clear_step()
        self._trial = ""
        self._rest = (text, time.monotonic() + max(0.0, float(seconds)))
        self.tick()

    def wait_key(self, text: str) -> None:
        self._live.stop()
        self.console.print(f"[bold]{text}[/bold]")
        self.console.input("press Enter when ready ")
        self._live.start()

    def countdown(self, n: int) -> None:
        self._countdown = str(n)
        self.tick()

    def trial_phase(self, record: dict[str, Any], phase: str) -> None:
        self._clear_step()
        self._trial = f"trial {record['id']} · {record['label']} · attempt {record.get('attempt', 1)}"
        text = record.get("text") or ""
        if phase == "GO!":
            self._cue = f"GO! {text}".strip()
        else:  # "attempt 1: <cue> - stand still": the attempt is on the trial line already
            self._cue = phase.split(": ", 1)[1] if phase.startswith("attempt ") and ": " in phase else phase
        self.tick()

    def trial_done(self, trial: TrialRecord) -> None:
        self._clear_step()
        self._trial = ""
        self._trials.append(trial)
        super().trial_done(trial)
        self.tick()

    def tick(self) -> None:
        self._live.update(self._render(), refresh=True)

    def close(self) -> None:
        self._clear_step()
        self._trial = ""
        self._live.update(self._render(), refresh=True)
        self._live.stop()

    # -- rendering ------------------------------------------------------------------------
    def _force_line(self) -> tuple[str, str]:
        """The live trace and its numbers: the current trial's own signal, else the plates."""
        runner = self.runner
        buf = runner.live.get("force") if runner is not None else None
        if buf is None:
            return "", ""
        w = buf.last(4.0)
        if w is None or len(w.times) < 2:
            return "", ""
        current = runner.current or {}
        step = current.get("step")
        try:
            if step is not None and entry(step.test).kind == "isometric":
                from labkit.trials.isometric import trial_signal

                test = entry(step.test)
                sig, described = trial_signal(test, step, w.minus(getattr(runner, "tare_n", {}) or {}))
                return self._live_numbers(sig, w, current.get("go_s"), test.unit, described, test)
            fz, labels = w.sum_of(".Fz")
        except Exception:  # the live buffer may lack a channel for a moment: draw nothing
            return "", ""
        return sparkline(fz), f"{'+'.join(labels)} {format_value(fz[-1], 'N')}"

    @staticmethod
    def _live_numbers(sig: np.ndarray, w: Any, go: float | None, unit: str, described: str,
                      test: Any) -> tuple[str, str]:
        info = f"{described} {format_value(sig[-1], unit)}"
        if go is not None:
            after = w.times >= go
            if after.sum() > 40:
                base = float(np.mean(sig[~after][-200:])) if (~after).sum() else float(sig[0])
                f = sig[after]
                step = max(1, round(0.02 * w.rate_hz))
                slopes = (f[step:] - f[:-step]) / (step / w.rate_hz) if len(f) > step else np.zeros(1)
                net = f.max() - base
                if test.headline == "peak_force_n":
                    info += f"   live peak {format_value(f.max(), unit)} (net {format_value(net, unit)})"
                else:
                    info += f"   live {test.headline_label} {format_value(net, unit)}"
                info += f"   peak RFD (20 ms) {format_value(slopes.max(), unit + '/s')}"
        return sparkline(sig), info

    def _trial_table(self) -> Any:
        from rich.table import Table

        runner = self.runner
        trials = runner.trials if runner is not None and runner.trials else self._trials
        if not trials:
            return None
        table = Table(title="trials", title_justify="left", expand=False)
        for col in ("id", "test", "att.", "headline", "RFD 0-100 ms", "valid", "reason"):
            table.add_column(col)
        for t in trials[-8:]:
            table.add_row(str(t.trial_id), trial_label(t.step, t.side), str(t.attempt), headline(t),
                          rfd_100(t), "yes" if t.valid else "[red]no[/red]", t.reason[:50])
        return table

    def _health(self) -> Any:
        from rich.table import Table

        runner = self.runner
        if runner is None or runner.recorder is None or not runner.recorder.recording:
            return None
        health = Table(title="devices", title_justify="left")
        for col in ("stream", "Hz", "measured", "samples", "lost", "state"):
            health.add_column(col)
        for st in runner.recorder.status():
            health.add_row(st.name, f"{st.nominal_rate_hz:.1f}",
                           "-" if not math.isfinite(st.measured_rate_hz) else f"{st.measured_rate_hz:.1f}",
                           str(st.samples), str(st.missing_samples),
                           "[red]stalled[/red]" if st.stalled else "ok")
        return health

    def _render(self) -> Any:
        from rich.console import Group
        from rich.panel import Panel
        from rich.text import Text

        runner = self.runner
        title = "labkit run"
        if runner is not None:
            title = f"labkit run · {runner.protocol.name} · {runner.options.out_path}"
        head = Text()
        if self._trial:
            head.append(self._trial + "\n", style="bold")
        if self._cue:
            head.append(self._cue + "\n", style="bold yellow")
        if self._countdown:
            head.append(f"{self._countdown}\n", style="bold red")
        if self._rest is not None:
            left = self._rest[1] - time.monotonic()
            if left > 0:
                head.append(f"{self._rest[0]}: {math.ceil(left)} s left\n", style="bold cyan")
        trace, info = self._force_line()
        if trace:
            head.append(trace + "\n", style="cyan")
            head.append(info + "\n")
        for line in list(self._log)[-4:]:
            head.append(line + "\n", style="dim")
        parts: list[Any] = [head]
        for part in (self._trial_table(), self._health()):
            if part is not None:
                parts.append(part)
        return Panel(Group(*parts), title=title)
