"""What the technician sees of a protocol run: log lines (:class:`View`) or a live terminal screen
(:class:`RichView`, rich)."""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from labkit.trials.analyse import trial_label
from labkit.trials.catalogue import entry
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
    """What the technician sees; the default logs lines (unattended batteries, CI logs)."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.echo = echo or (lambda msg: log.info("%s", msg))
        self.runner: Any = None

    def attach(self, runner: Any) -> None:
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
        self.echo(f"trial {trial.trial_id} ({trial_label(trial.step, trial.side)}, attempt "
                  f"{trial.attempt}): {trial_summary(trial)}{_verdict(trial)}")

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def _verdict(trial: TrialRecord) -> str:
    if trial.outcome is not None and trial.outcome.config_error:
        return f"NOT ANALYSED: {trial.reason}"
    return "VALID" if trial.valid else f"INVALID: {trial.reason}"


def trial_summary(trial: TrialRecord) -> str:
    """The headline numbers of a finished trial, e.g. ``peak 2608 N, RFD 0-100 ms 10203 N/s, ``."""
    o = trial.outcome
    if o is None or not o.metrics:
        return ""
    test = entry(trial.step.test)
    m = o.metrics
    if test.kind == "jump":
        return (f"jump height {m.get('jump_height_m', float('nan')) * 100:.1f} cm, peak force "
                f"{m.get('peak_force_n', float('nan')):.0f} N, ")
    if test.kind == "isometric":
        unit = m.get("unit", test.unit)
        return (f"{test.headline_label} {m.get(test.headline, float('nan')):.0f} {unit}, "
                f"RFD 0-100 ms {m.get('rfd_0_100ms_n_s', float('nan')):.0f} {unit}/s, ")
    if test.kind == "mvc":
        return f"MVC {m.get('mvc_v', float('nan')) * 1e3:.3f} mV, "
    return ""


class RichView(View):
    """Live screen: step, instruction, countdown, force trace, live peak/RFD, last trial,
    trial table and device health. Instructions wait for Enter unless unattended."""

    def __init__(self, console: Any) -> None:
        super().__init__(lambda msg: self._log.append(msg))
        from rich.live import Live

        self.console = console
        self._log: deque[str] = deque(maxlen=6)
        self._phase = ""
        self._countdown = ""
        self._last: TrialRecord | None = None
        self._live = Live(self._render(), console=console, refresh_per_second=8, transient=False)
        self._live.start()

    def message(self, text: str) -> None:
        self._log.append(text)
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
        self._phase = f"trial {record['id']} - {record['label']} - {phase}"
        self._countdown = ""
        self.tick()

    def trial_done(self, trial: TrialRecord) -> None:
        self._last = trial
        self._phase = ""
        super().trial_done(trial)
        self.tick()

    def tick(self) -> None:
        self._live.update(self._render())

    def close(self) -> None:
        self._live.update(self._render())
        self._live.stop()

    # -- rendering ------------------------------------------------------------------------
    def _force_line(self) -> tuple[str, str]:
        runner = self.runner
        buf = runner.live.get("force") if runner is not None else None
        if buf is None:
            return "", ""
        w = buf.last(4.0)
        if w is None or len(w.times) < 2:
            return "", ""
        try:
            fz, _ = w.sum_of(".Fz")
        except Exception:
            return "", ""
        trace = sparkline(fz)
        info = f"Fz {fz[-1]:7.0f} N"
        go = runner.current.get("go_s") if runner.current else None
        if go is not None:
            after = w.times >= go
            if after.sum() > 40:
                base = float(np.mean(fz[~after][-200:])) if (~after).sum() else float(fz[0])
                f = fz[after]
                step = max(1, round(0.02 * w.rate_hz))
                slopes = (f[step:] - f[:-step]) / (step / w.rate_hz) if len(f) > step else np.zeros(1)
                info += f"   live peak {f.max():7.0f} N (net {f.max() - base:6.0f})   " \
                        f"peak RFD(20 ms) {slopes.max():7.0f} N/s"
        return trace, info

    def _render(self) -> Any:
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        runner = self.runner
        parts: list[Any] = []
        title = "labkit run"
        if runner is not None:
            title = f"labkit run · {runner.protocol.name} · {runner.options.out_path}"
        head = Text()
        if self._phase:
            head.append(self._phase + "\n", style="bold yellow")
        if self._countdown:
            head.append(f"{self._countdown}\n", style="bold red")
        for line in list(self._log)[-4:]:
            head.append(line + "\n")
        trace, info = self._force_line()
        if trace:
            head.append(trace + "\n", style="cyan")
            head.append(info + "\n")
        parts.append(head)
        if self._last is not None:
            t = self._last
            verdict = "[green]VALID[/green]" if t.valid else f"[red]INVALID[/red]: {t.reason}"
            label = trial_label(t.step, t.side)
            parts.append(Text.from_markup(f"last trial {t.trial_id} ({label}): {verdict}"))
        if runner is not None and runner.trials:
            table = Table(title="trials", title_justify="left", expand=False)
            for col in ("id", "test", "att.", "peak", "RFD 0-100", "valid", "reason"):
                table.add_column(col)
            for t in runner.trials[-8:]:
                m = t.outcome.metrics if t.outcome is not None else {}
                table.add_row(str(t.trial_id), trial_label(t.step, t.side), str(t.attempt),
                              f"{m.get('peak_force_n', float('nan')):.0f}",
                              f"{m.get('rfd_0_100ms_n_s', float('nan')):.0f}",
                              "yes" if t.valid else "[red]no[/red]", t.reason[:50])
            parts.append(table)
        if runner is not None and runner.recorder is not None and runner.recorder.recording:
            health = Table(title="devices", title_justify="left")
            for col in ("stream", "Hz", "measured", "samples", "lost", "state"):
                health.add_column(col)
            for st in runner.recorder.status():
                health.add_row(st.name, f"{st.nominal_rate_hz:.1f}",
                               "-" if not math.isfinite(st.measured_rate_hz)
                               else f"{st.measured_rate_hz:.1f}",
                               str(st.samples), str(st.missing_samples),
                               "[red]stalled[/red]" if st.stalled else "ok")
            parts.append(health)
        return Panel(Group(*parts), title=title)
