"""The ``labkit`` command line. Thin: parse, call the library, print.

Errors print one line and exit non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from labkit._version import __version__
from labkit.errors import ConfigError, LabkitError

app = typer.Typer(
    name="labkit",
    help="Synchronised force-plate, EMG and motion-capture sessions: record, inspect, analyse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_ERROR = 2
EXIT_UNEXPECTED = 1


def _version(value: bool) -> None:
    if value:
        typer.echo(f"labkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the labkit version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """labkit: synchronised force, EMG and motion-capture sessions in HDF5."""


def _console():
    from rich.console import Console

    # pipes and CI logs get a width that fits the tables; terminals keep their own
    return Console(highlight=False, width=None if sys.stdout.isatty() else 132)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _jsonable(value.item())
    return value


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="Session file (.h5).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report for machines.")]
    = False,
    channels: Annotated[bool, typer.Option("--channels", help="List every channel.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when integrity problems are "
                                         "found.")] = False,
) -> None:
    """Show streams, rates, durations, channels, events, trials, gaps and integrity problems."""
    from labkit.session.inspect import inspect_session

    report = inspect_session(file)
    if as_json:
        typer.echo(json.dumps(_jsonable(report), indent=2, ensure_ascii=False))
    else:
        _print_report(report, show_channels=channels)
    if strict and report["problems"]:
        raise typer.Exit(1)


def _print_report(report: dict[str, Any], *, show_channels: bool) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    info = report["info"]
    console.print(f"[bold]{report['file']}[/bold]  ({report['size_bytes'] / 1e6:.1f} MB)")
    console.print(
        f"format {info.get('format')} v{info.get('format_version')} · status "
        f"[bold]{info.get('status')}[/bold] · session {info.get('session_id')}\n"
        f"subject {info.get('subject') or '-'} · operator {info.get('operator') or '-'} · "
        f"protocol {info.get('protocol') or '-'} · created {info.get('created_utc')} · "
        f"labkit {info.get('labkit_version')}"
    )
    if info.get("notes"):
        console.print(f"notes: {info['notes']}")
    table = Table(title="streams", title_justify="left")
    for col in ("name", "type", "Hz", "eff. Hz", "samples", "expected", "lost", "ch", "dur s",
                "gaps", "offsets"):
        table.add_column(col, justify="left" if col in ("name", "type") else "right")
    for st in report["streams"]:
        table.add_row(st["name"], st["type"], _fmt(st["nominal_rate_hz"]),
                      _fmt(st["effective_rate_hz"]), str(st["n_samples"]),
                      _fmt(st["expected_samples"]), _fmt(st["lost_samples"]), str(st["n_channels"]),
                      _fmt(st["duration_s"]), str(len(st["gaps"])), str(st["n_clock_offsets"]))
    for st in report["streams"]:
        for gap in st["gaps"][:10]:
            console.print(f"[yellow]gap[/yellow] in {st['name']} after {gap['after_s']:.3f} s: "
                          f"{gap['missing_samples']} samples missing ({gap['source']})")
    console.print(table)
    for st in report["streams"]:
        labels = [f"{c['label']} [{c['unit']}]" if c["unit"] else c["label"]
                  for c in st["channels"]]
        if not show_channels and len(labels) > 8:
            labels = [*labels[:6], f"... {len(labels) - 6} more (--channels)"]
        # escaped: a unit like "[m]" would otherwise be read as rich markup and vanish
        console.print(f"[bold]{st['name']}[/bold] channels: " + escape(", ".join(labels)))
    if report["n_events"]:
        ev = Table(title=f"events ({report['n_events']})", title_justify="left")
        for col in ("time s", "label", "value", "source"):
            ev.add_column(col)
        for e in report["events"]:
            ev.add_row(_fmt(e["time"]), e["label"], e["value"], e["source"])
        console.print(ev)
    if report["trials"]:
        tr = Table(title="trials", title_justify="left")
        for col in ("id", "test", "side", "attempt", "start s", "end s", "status", "reason"):
            tr.add_column(col)
        for t in report["trials"]:
            tr.add_row(str(t["id"]), t["test"], t["side"], str(t["attempt"]), _fmt(t["start"]),
                       _fmt(t["end"]), t["status"], t["reason"])
        console.print(tr)
    if report["results"]:
        console.print("results: " + ", ".join(report["results"]))
    for st in report["streams"]:
        if st.get("occluded_samples"):
            console.print(f"{st['name']}: {st['occluded_samples']} of {st['n_samples']} frames have an "
                          "occluded marker (NaN coordinates)")
    for note in report.get("notes", ()):
        console.print(note)
    if report["problems"]:
        console.print("[bold red]problems:[/bold red]")
        for p in report["problems"]:
            console.print(f"  [red]-[/red] {p}")
    else:
        console.print("[green]no integrity problems found[/green]")


@app.command()
def repair(
    file: Annotated[Path, typer.Argument(help="Session file left open by a crashed recorder.")],
    no_backup: Annotated[bool, typer.Option("--no-backup", help="Do not keep the original as "
                                            "FILE.crashed.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rewrite even a clean file.")] = False,
) -> None:
    """Make a crashed session a normal HDF5 file again, keeping everything flushed."""
    from labkit.session.repair import repair_session

    report = repair_session(file, backup=not no_backup, force=force)
    console = _console()
    if not report.repaired:
        console.print(f"{file}: {report.message}")
        return
    kept = {k: v for k, v in report.rows_kept.items() if k.endswith("/data")}
    console.print(f"{file}: {report.message}")
    for key, n in kept.items():
        console.print(f"  {key.split('/')[1]}: {n} samples")
    if report.backup:
        console.print(f"original kept as {report.backup}")


@app.command()
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the session.")]
    = Path("demo_session.h5"),
    trials: Annotated[int, typer.Option(help="Number of cued pulls.")] = 3,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Hardware config (default: "
                                                "hardware_configs/simulated.yaml).")] = None,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Write a synthetic session "
                                            "without LSL instead (offline, instant).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed of --synthetic.")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")]
    = False,
) -> None:
    """Run the simulated lab end to end: cued pulls recorded over LSL, analysed, saved."""
    console = _console()
    if synthetic:
        from labkit.demo import write_demo_session
        from labkit.session.inspect import inspect_session

        path = write_demo_session(output, seed=seed, overwrite=overwrite)
        console.print(f"wrote {path}\n")
        _print_report(inspect_session(path), show_channels=False)
        _print_demo_results(path)
        return
    from labkit.demo import run_lab_demo
    from labkit.session.inspect import inspect_session

    result = run_lab_demo(output, n_trials=trials, config_path=config, overwrite=overwrite,
                          progress=lambda msg: console.print(f"[cyan]>[/cyan] {msg}"))
    console.print(f"\nwrote {result.path}\n")
    _print_report(inspect_session(result.path), show_channels=False)
    _print_metrics(result.metrics, result.result_name)


def _print_metrics(metrics: Any, result_name: str) -> None:
    from rich.table import Table

    table = Table(title=f"isometric mid-thigh pulls (results group '{result_name}'; true values "
                        "from the simulated athlete in brackets)", title_justify="left")
    for col in ("trial", "onset error ms", "peak force N", "RFD 0-100 ms N/s", "RFD 0-200 ms N/s",
                "valid", "flags"):
        table.add_column(col, justify="right" if col not in ("valid", "flags") else "left")
    for _, row in metrics.iterrows():
        has_truth = "true_onset_s" in row and row["true_onset_s"] == row["true_onset_s"]

        def pair(key: str, true_key: str, row=row, has_truth=has_truth) -> str:
            value = f"{row[key]:.0f}"
            return f"{value} [{row[true_key]:.0f}]" if has_truth else value

        onset_err = (f"{(row['onset_s'] - row['true_onset_s']) * 1e3:+.1f}" if has_truth else "-")
        table.add_row(str(row["trial"]), onset_err, pair("peak_force_n", "true_peak_force_n"),
                      pair("rfd_0_100ms_n_s", "true_rfd_0_100ms_n_s"),
                      pair("rfd_0_200ms_n_s", "true_rfd_0_200ms_n_s"),
                      "yes" if row["valid"] else "[red]no[/red]", row["flags"] or "-")
    _console().print(table)
    _console().print("onset by the default BW + 5 SD rule (held 30 ms) detects late by design; "
                     "see docs/metrics.md")


def _print_demo_results(path: Path) -> None:
    """Peak force and onset of the demo trial, from the stored session alone."""
    import numpy as np

    from labkit.session.reader import open_session

    with open_session(path) as s:
        force = s.stream("force")
        fz = force.data[:, force.labels.index("fp1.Fz")]
        t = force.times
        truth = s.result("ground_truth").provenance["params"]
    weigh = (t >= t[0] + 1.0) & (t < t[0] + 2.0)
    bw = float(fz[weigh].mean())
    sd = float(fz[weigh].std(ddof=1))
    after = np.flatnonzero((t >= t[0] + 2.0) & (fz > bw + 5 * sd))
    onset = float(t[after[0]] - t[0]) if len(after) else float("nan")
    console = _console()
    console.print(
        f"\n[bold]IMTP trial[/bold]: body weight {bw:.1f} N (true "
        f"{truth['body_weight_n']:.1f}), peak force {fz.max():.1f} N (true "
        f"{truth['peak_force_n']:.1f}), onset (BW + 5 SD) {onset:.4f} s (true "
        f"{truth['onset_s']:.4f} s)"
    )


@app.command()
def streams(
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to look for streams.")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the LSL streams visible from this machine: rates, channels, source ids."""
    import pylsl

    from labkit.lsl.streams import summarize

    found = summarize(pylsl.resolve_streams(timeout))
    if as_json:
        typer.echo(json.dumps(_jsonable([vars(s) for s in found]), indent=2))
        return
    from rich.table import Table

    table = Table(title=f"LSL streams ({len(found)})", title_justify="left")
    for col in ("name", "type", "source_id", "Hz", "format", "ch", "channels", "host"):
        table.add_column(col)
    for st in found:
        labels = ", ".join(st.labels[:4]) + (f", ... (+{len(st.labels) - 4})" if len(st.labels) > 4 else "")
        table.add_row(st.name, st.type, st.source_id, _fmt(st.nominal_rate_hz), st.channel_format,
                      str(st.n_channels), labels, st.hostname)
    _console().print(table)
    if not found:
        _console().print("no streams found: start the devices or `labkit simulate`")


@app.command()
def simulate(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Hardware config (default: "
                                                "hardware_configs/simulated.yaml).")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Stop after this many "
                                                   "seconds (default: until Ctrl-C).")] = None,
) -> None:
    """Run the simulated lab: real LSL streams from a simulated athlete until Ctrl-C."""
    import signal

    from labkit.devices.sim.lab import run_simulated_lab

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)  # `kill` (service managers, scripts) stops it cleanly
    _console().print("simulated lab running; Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        run_simulated_lab(config, duration_s=duration)
    _console().print("simulated lab stopped")


def _status_table(recorder: Any):
    from rich.table import Table

    elapsed = 0.0
    if recorder.started_at is not None:
        import pylsl

        elapsed = pylsl.local_clock() - recorder.started_at
    table = Table(title=f"recording {recorder.out_path}  {elapsed:7.1f} s  "
                        f"{recorder.file_size_bytes() / 1e6:.1f} MB", title_justify="left")
    for col in ("stream", "type", "Hz", "measured Hz", "samples", "gaps", "lost", "lag ms", "state"):
        table.add_column(col, justify="left" if col in ("stream", "type", "state") else "right")
    for st in recorder.status():
        state = "[red]stalled[/red]" if st.stalled else "[green]ok[/green]"
        table.add_row(st.name, st.type, _fmt(st.nominal_rate_hz, 1), _fmt(st.measured_rate_hz, 2),
                      str(st.samples), str(st.gaps), str(st.missing_samples),
                      _fmt(st.lag_s * 1e3, 1), state)
    return table


@app.command()
def record(
    out: Annotated[Path, typer.Option("--out", "-o", help="Session file to write (.h5).")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Hardware config (default: "
                                                "hardware_configs/simulated.yaml).")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Seconds to record "
                                                   "(default: until Ctrl-C).")] = None,
    subject: Annotated[str, typer.Option(help="Athlete code.")] = "",
    operator: Annotated[str, typer.Option(help="Who runs the session.")] = "",
    notes: Annotated[str, typer.Option(help="Free-form notes.")] = "",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it exists.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No live status table.")] = False,
) -> None:
    """Record every stream of a hardware config, plus marker streams, into a session file."""
    import signal
    import time

    from rich.live import Live

    from labkit.config.hardware import load_hardware_config
    from labkit.record.recorder import Recorder

    cfg, text = load_hardware_config(config)
    rec = Recorder(cfg, out, config_text=text, subject=subject, operator=operator, notes=notes,
                   overwrite=overwrite, expected_duration_s=duration)
    console = _console()

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)  # `kill` closes the file cleanly too
    console.print(f"waiting for streams {cfg.recording.streams} (up to "
                  f"{cfg.recording.resolve_timeout_s:g} s)")
    with _warnings_as_lines():  # a disk too full for --duration: one warning line
        rec.start()
    end = None if duration is None else time.monotonic() + duration
    plain = quiet or not console.is_terminal
    try:
        if plain:
            while (end is None or time.monotonic() < end) and rec.failure is None:
                time.sleep(0.2)
        else:
            with Live(_status_table(rec), console=console, refresh_per_second=4) as view:
                while (end is None or time.monotonic() < end) and rec.failure is None:
                    time.sleep(0.25)
                    view.update(_status_table(rec))
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        rec.stop()  # a failed write (disk full) raises here: one line, exit 2
    console.print(_status_table(rec))
    console.print(f"saved {out}; check it with `labkit inspect {out}`")


devices_app = typer.Typer(help="Check a lab's devices and streams.", no_args_is_help=True)
app.add_typer(devices_app, name="devices")


@devices_app.command("check")
def devices_check(
    config: Annotated[Path | None, typer.Argument(help="Hardware config (default: "
                                                  "hardware_configs/simulated.yaml).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to look for each device.")] = 3.0,
) -> None:
    """Validate a hardware config and report which devices and streams are reachable, and why not."""
    from labkit.devices.check import check_devices

    report = check_devices(config, timeout_s=timeout)
    for line in report.lines():
        typer.echo(line)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


protocols_app = typer.Typer(help="List, show and check protocol files.", no_args_is_help=True)
app.add_typer(protocols_app, name="protocols")


@protocols_app.command("list")
def protocols_list() -> None:
    """List the protocols shipped in protocols/."""
    from rich.table import Table

    from labkit.protocol.schema import load_protocol, shipped_protocols

    table = Table(title="protocols", title_justify="left")
    for col in ("name", "file", "trials", "description"):
        table.add_column(col)
    for path in shipped_protocols():
        p, _ = load_protocol(path)
        tests = sorted({t.test for t in p.trial_steps()})
        table.add_row(p.name, str(path.name), ", ".join(tests), p.description)
    _console().print(table)


@protocols_app.command("show")
def protocols_show(protocol: Annotated[str, typer.Argument(help="Protocol file or shipped name.")]) -> None:
    """Show a protocol's steps as the runner will run them."""
    from labkit.protocol.schema import load_protocol

    p, _ = load_protocol(protocol)
    console = _console()
    console.print(f"[bold]{p.name}[/bold] v{p.version}: {p.description}")
    console.print(f"needs streams {p.requires.streams}; uses {p.requires.optional} when present")
    for field in p.subject:
        console.print(f"asks: {field.prompt} ({field.type}{'' if field.required else ', optional'})")

    def walk(steps, depth):
        for step in steps:
            body = step.body
            pad = "  " * depth
            if step.kind == "repeat":
                console.print(f"{pad}- repeat until {body.until_valid} valid (at most "
                              f"{body.max_attempts} attempts):")
                walk(body.steps, depth + 1)
            elif step.kind == "per_side":
                console.print(f"{pad}- for each side {body.sides}:")
                walk(body.steps, depth + 1)
            elif step.kind == "trial":
                extra = " ".join(x for x in (body.side, body.direction, body.muscle) if x)
                console.print(f"{pad}- trial {body.test} {extra}: quiet {body.quiet_s:g} s, effort "
                              f"{body.effort_s:g} s, aggregate {body.aggregate}")
            else:
                detail = {k: v for k, v in body.model_dump().items() if v not in (None, "")}
                console.print(f"{pad}- {step.kind} {detail}")

    walk(p.steps, 0)


@protocols_app.command("check")
def protocols_check(files: Annotated[list[Path], typer.Argument(help="Protocol files to check.")]) -> None:
    """Validate protocol files; print one line per file."""
    from labkit.errors import ConfigError
    from labkit.protocol.schema import load_protocol

    bad = 0
    for path in files:
        try:
            p, _ = load_protocol(path)
            typer.echo(f"{path}: ok ({p.name} v{p.version}, {len(p.trial_steps())} trial steps)")
        except ConfigError as exc:
            bad += 1
            typer.echo(f"labkit: error: {exc}", err=True)
    if bad:
        raise typer.Exit(EXIT_ERROR)


def _parse_subject(pairs: list[str]) -> dict[str, str]:
    from labkit.errors import ConfigError

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--subject {pair!r} is not NAME=VALUE; write e.g. --subject body_mass_kg=80")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _subject_answers(protocol: Any, athlete: str, given: dict[str, str], unattended: bool,
                     console: Any) -> dict[str, Any]:
    from labkit.errors import ConfigError

    answers: dict[str, Any] = dict(given)
    if athlete:
        answers.setdefault("athlete", athlete)
    for field in protocol.subject:
        value = answers.get(field.name)
        while value in (None, ""):
            if unattended or not sys.stdin.isatty():
                if field.required:
                    raise ConfigError(f"protocol {protocol.name!r} asks for {field.name!r} "
                                      f"({field.prompt}); pass --subject {field.name}=VALUE"
                                      + (" or --athlete CODE" if field.name == "athlete" else ""))
                break
            value = console.input(f"{field.prompt}: ").strip()
            if not value and not field.required:
                break
        if value in (None, ""):
            continue
        if field.type in ("float", "int"):
            try:
                number = float(value) if field.type == "float" else int(value)
            except ValueError:
                raise ConfigError(f"{field.name}={value!r} is not a number; give a {field.type}") from None
            too_low = field.min is not None and number < field.min
            if too_low or (field.max is not None and number > field.max):
                raise ConfigError(f"{field.name}={number} is outside [{field.min}, {field.max}]")
            value = number
        answers[field.name] = value
    return answers


@app.command()
def run(
    protocol: Annotated[str, typer.Argument(help="Protocol file, or a shipped name (e.g. imtp).")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Hardware config (default: "
                                                "hardware_configs/simulated.yaml).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Session file (default: "
                                             "<protocol>_<athlete>_<time>.h5).")] = None,
    athlete: Annotated[str, typer.Option(help="Athlete code.")] = "",
    operator: Annotated[str, typer.Option(help="Who runs the session.")] = "",
    subject: Annotated[list[str] | None, typer.Option("--subject", help="Answer a subject question: "
                                                      "NAME=VALUE (repeatable).")] = None,
    unattended: Annotated[bool, typer.Option("--unattended", help="No keypresses: log instead of "
                                             "waiting (automated batteries).")] = False,
    fast: Annotated[bool, typer.Option("--fast", help="Shorten rests and efforts (demos, tests).")]
    = False,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue an interrupted run in "
                                                "this session file.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it exists.")] = False,
) -> None:
    """Run a protocol end to end: cues, recording, live analysis, validation, results."""
    from labkit.config.hardware import load_hardware_config
    from labkit.protocol.runner import ProtocolRunner, RunOptions, View, default_out_path
    from labkit.protocol.schema import load_protocol

    console = _console()
    proto, proto_text = load_protocol(protocol)
    cfg, cfg_text = load_hardware_config(config)
    if resume is not None:  # the answers were given when the run started; they are in the file
        from labkit.session.reader import open_session

        with open_session(resume) as s:
            answers, code = {}, str(s.info.get("subject", ""))
    else:
        answers = _subject_answers(proto, athlete, _parse_subject(subject or []), unattended, console)
        code = str(answers.get("athlete", athlete) or "")
    path = resume or out or default_out_path(proto, code)
    options = RunOptions(out_path=Path(path), athlete=code, operator=operator, subject_answers=answers,
                         unattended=unattended, fast=fast, resume=resume is not None, overwrite=overwrite)
    if console.is_terminal and not unattended:
        from labkit.protocol.view import RichView

        view: View = RichView(console)
    else:
        view = View(lambda msg: console.print(f"[cyan]>[/cyan] {msg}"))
    runner = ProtocolRunner(proto, proto_text, cfg, cfg_text, options, view)
    try:
        with _warnings_as_lines():
            table = runner.run()
    except KeyboardInterrupt:
        console.print(f"interrupted; the session is saved. Continue with: labkit run {protocol} "
                      f"--resume {path}")
        raise typer.Exit(130) from None
    _print_run_results(table, runner.aggregates, Path(path), runner.result_name)


def _print_run_results(table: Any, aggregates: Any, path: Path, result_name: str) -> None:
    import numpy as np
    from rich.table import Table

    from labkit.protocol.runner import aggregate_metric

    console = _console()
    t = Table(title=f"trials ({path}, results group '{result_name}')", title_justify="left")
    for col in ("trial", "test", "att.", "valid", "peak", "RFD 0-100 ms", "RFD 0-200 ms", "other",
                "reason"):
        t.add_column(col)
    for _, row in table.iterrows():
        unit = row.get("unit", "N") if isinstance(row.get("unit", "N"), str) else "N"
        other = ""
        if isinstance(row.get("jump_height_m"), float) and row["jump_height_m"] == row["jump_height_m"]:
            other = f"jump {row['jump_height_m'] * 100:.1f} cm"
        elif isinstance(row.get("mvc_v"), float):
            other = f"MVC {row['mvc_v'] * 1e3:.3f} mV"
        # EMD of the muscles that switched on with this effort (a plausible 0-300 ms lead)
        emd = [row[c] for c in table.columns if c.startswith("emd_") and 0 <= row[c] <= 300]
        if emd:
            other = (other + " " if other else "") + f"EMD {np.median(emd):.0f} ms ({len(emd)} mm.)"
        key = aggregate_metric(str(row["test"]))
        peak = row.get(key) if key.endswith("force_n") else row.get("peak_force_n")
        t.add_row(str(row["trial"]), str(row["label"]), str(row["attempt"]),
                  "yes" if row["valid"] else "[red]no[/red]",
                  _fmt(peak, 0) + (f" {unit}" if peak is not None else "")
                  + (" net" if key == "net_peak_force_n" else ""),
                  _fmt(row.get("rfd_0_100ms_n_s"), 0), _fmt(row.get("rfd_0_200ms_n_s"), 0), other,
                  str(row["reason"])[:60])
    console.print(t)
    if aggregates is not None and len(aggregates):
        a = Table(title="per test", title_justify="left")
        for col in ("test", "metric", "method", "value", "valid/total", "repeat needed"):
            a.add_column(col)
        for _, row in aggregates.iterrows():
            a.add_row(str(row["label"]), str(row["metric"]), str(row["method"]), _fmt(row["value"], 3),
                      f"{row['n_valid']}/{row['n_trials']}", "yes" if row["repeat_needed"] else "no")
        console.print(a)
    console.print(f"saved {path}; open it with labkit.open_session({str(path)!r})")


# -- analysis (labkit.analysis; issue 9) ------------------------------------------------
@app.command()
def analyze(
    files: Annotated[list[Path], typer.Argument(help="Session files (.h5).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Tidy table: .csv or .parquet.")],
    params: Annotated[Path | None, typer.Option("--params", help="YAML/JSON per-test analysis "
                                                "overrides, e.g. 'imtp: {onset_k: 3.0}'.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes (default: "
                                                "CPUs).")] = None,
    dask: Annotated[str | None, typer.Option("--dask", help="Run on Dask: a scheduler address or "
                                             "'local'.")] = None,
    write: Annotated[bool, typer.Option("--write", help="Store each re-analysis as a new results "
                                        "group in its file.")] = False,
) -> None:
    """Analyse session files into one tidy table (one row per session x trial x metric)."""
    from labkit.analysis.batch import cli_analyze

    code = cli_analyze([str(f) for f in files], str(output), params_file=str(params) if params else None,
                       workers=workers, dask=dask, write=write, echo=typer.echo)
    if code:
        raise typer.Exit(code)


@app.command()
def report(
    file: Annotated[Path, typer.Argument(help="Session file (.h5).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write.")] = Path("report.html"),
) -> None:
    """Write a self-contained HTML report (summary, plots, metrics) of a session."""
    from labkit.analysis.report import write_report

    typer.echo(f"wrote {write_report(file, output)}")


@app.command()
def plot(
    file: Annotated[Path, typer.Argument(help="Session file (.h5).")],
    trial: Annotated[int, typer.Option("--trial", help="Trial id.")],
    out_dir: Annotated[Path, typer.Option("-o", "--out-dir", help="Folder for the PNG files.")] = Path("."),
) -> None:
    """Save one trial's figures (force, EMG, joint angles) as PNG files."""
    from labkit.analysis.report import save_trial_pngs

    for path in save_trial_pngs(file, trial, out_dir):
        typer.echo(f"wrote {path}")


def _is_xdf(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".xdf", ".xdfz", ".xdf.gz"))


_PLATE_CONVENTION_HELP = ("C3D: what the plate channels hold: 'reaction' (the force on the subject, "
                          "what Vicon/Qualisys/Motion Analysis write) or 'action' (the load on the "
                          "plate).")


@contextlib.contextmanager
def _warnings_as_lines():
    """Print each labkit warning as one ``labkit: warning: ...`` line (no source excerpt),
    when it is issued (a low-disk warning must not wait for the end of a run)."""
    from labkit.errors import LabkitWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", LabkitWarning)
        show = warnings.showwarning

        def _line(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, LabkitWarning):
                typer.echo(f"labkit: warning: {message}", err=True)
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = _line
        yield


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A C3D (.c3d) or XDF (.xdf, .xdfz) file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Session file to write (.h5).")],
    athlete: Annotated[str, typer.Option("--athlete", help="Athlete code (default: from the file, "
                                         "if it names one).")] = "",
    test: Annotated[str | None, typer.Option("--test", help="C3D: record one trial of this test "
                                             "(cmj, squat_jump, imtp, ...) spanning the file so "
                                             "`labkit analyze` can analyse it.")] = None,
    side: Annotated[str, typer.Option("--side", help="C3D: side of that trial (left/right).")] = "",
    plate_convention: Annotated[str, typer.Option("--plate-convention", help=_PLATE_CONVENTION_HELP)
                                ] = "reaction",
    allow_truncated: Annotated[bool, typer.Option("--allow-truncated", help="XDF: import the complete "
                                                  "part of a cut file instead of refusing it.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
) -> None:
    """Import a C3D (Vicon, Qualisys, Motion Analysis) or XDF (LabRecorder) file as a session."""
    suffix = file.suffix.lower()
    with _warnings_as_lines():
        if suffix == ".c3d":
            if allow_truncated:
                raise ConfigError("--allow-truncated is for XDF files; a C3D file is read whole")
            from labkit.analysis.c3d import import_c3d

            out = import_c3d(file, output, athlete=athlete, overwrite=overwrite, test=test, side=side,
                             plate_convention=plate_convention)
        elif _is_xdf(file):
            if test is not None or side or plate_convention != "reaction":
                raise ConfigError("--test/--side/--plate-convention are for C3D files; an XDF recording "
                                  "keeps its own streams and markers")
            from labkit.analysis.xdf import import_xdf

            out = import_xdf(file, output, overwrite=overwrite, allow_truncated=allow_truncated,
                             subject=athlete)
        else:
            raise ConfigError(f"{file}: unknown file type {suffix or '(none)'!r}; labkit imports "
                              ".c3d (C3D) and .xdf/.xdfz/.xdf.gz (XDF) files")
    from labkit.session.inspect import inspect_session

    typer.echo(f"wrote {out}")
    _print_report(inspect_session(out), show_channels=False)


@app.command()
def export(
    file: Annotated[Path, typer.Argument(help="Session file (.h5).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="A .c3d file, or a folder for CSV "
                                         "files (one per stream, plus channels/events/trials).")],
    raw: Annotated[bool, typer.Option("--raw", help="CSV: raw source time stamps instead of the "
                                      "synchronised session clock.")] = False,
    analog_rate: Annotated[float | None, typer.Option("--analog-rate", help="C3D: analog rate in Hz "
                                                      "(an integer multiple of the marker rate).")
                           ] = None,
    plate_convention: Annotated[str, typer.Option("--plate-convention", help=_PLATE_CONVENTION_HELP)
                                ] = "reaction",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing files.")] = False,
) -> None:
    """Export a session to C3D (markers, plates, EMG, events) or to CSV files."""
    with _warnings_as_lines():
        if output.suffix.lower() == ".c3d":
            if raw:
                raise ConfigError("--raw is for CSV export; C3D is written on the synchronised clock")
            from labkit.analysis.c3d import export_c3d

            out = export_c3d(file, output, overwrite=overwrite, analog_rate_hz=analog_rate,
                             plate_convention=plate_convention)
            typer.echo(f"wrote {out}")
            return
        if output.suffix:
            raise ConfigError(f"-o {output}: give a .c3d file or a folder for CSV files (no suffix)")
        if analog_rate is not None or plate_convention != "reaction":
            raise ConfigError("--analog-rate/--plate-convention are for C3D export; CSV keeps every stream "
                              "as stored")
        from labkit.analysis.export_csv import export_csv

        paths = export_csv(file, output, synchronised=not raw, overwrite=overwrite)
    typer.echo(f"wrote {len(paths)} files to {output}")


# -- end of analysis commands -------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labkit`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        code = app(args=args, prog_name="labkit", standalone_mode=False)
    except LabkitError as exc:
        if debug:
            raise
        typer.echo(f"labkit: error: {exc}", err=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        typer.echo("labkit: interrupted", err=True)
        return 130
    except Exception as exc:
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # a usage error from the command-line parser: it prints its own line
            return exc.exit_code
        if type(exc).__name__ == "Abort":
            typer.echo("labkit: aborted", err=True)
            return 130
        if debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        typer.echo(f"labkit: unexpected error: {type(exc).__name__}: {first} (rerun with --debug "
                   "for the traceback and report it)", err=True)
        return EXIT_UNEXPECTED
    return code if isinstance(code, int) else 0

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
