"""The lab: ``labkit demo``, ``streams``, ``simulate``, ``replay``, ``record`` and ``devices check``."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from labkit import _json
from labkit.cli import render
from labkit.cli.common import check_output_file, warnings_as_lines

_CONFIG_HELP = "Hardware config (default: hardware_configs/simulated.yaml)."


def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the session.")]
    = Path("demo_session.h5"),
    trials: Annotated[int, typer.Option(help="Number of cued pulls.")] = 3,
    config: Annotated[Path | None, typer.Option("--config", "-c", help=_CONFIG_HELP)] = None,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Write a synthetic session "
                                            "without LSL instead (offline, instant).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed of --synthetic.")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")]
    = False,
) -> None:
    """Run the simulated lab end to end: cued pulls recorded over LSL, analysed, saved."""
    from labkit.session.inspect import inspect_session

    check_output_file(output, overwrite=overwrite)
    console = render.console()
    if synthetic:
        from labkit.demo import demo_trial_summary, write_demo_session

        path = write_demo_session(output, seed=seed, overwrite=overwrite)
        console.print(f"wrote {path}\n")
        render.print_report(inspect_session(path), show_channels=False)
        render.print_demo_trial(demo_trial_summary(path))
        return
    from labkit.demo import run_lab_demo

    result = run_lab_demo(output, n_trials=trials, config_path=config, overwrite=overwrite,
                          progress=lambda msg: console.print(f"[cyan]>[/cyan] {msg}"))
    console.print(f"\nwrote {result.path}\n")
    render.print_report(inspect_session(result.path), show_channels=False)
    render.print_metrics(result.metrics, result.result_name)


def streams(
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to look for streams.")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the LSL streams visible from this machine: rates, channels, source ids."""
    import pylsl

    from labkit.lsl.streams import summarize

    found = summarize(pylsl.resolve_streams(timeout))
    if as_json:
        typer.echo(_json.dumps([vars(s) for s in found], indent=2))
        return
    render.print_streams(found)


def _stop_on_sigterm():
    """Make ``kill`` (service managers, scripts) stop a command as Ctrl-C does; returns the
    previous handler."""
    import signal

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, _terminate)


def simulate(
    config: Annotated[Path | None, typer.Option("--config", "-c", help=_CONFIG_HELP)] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Stop after this many "
                                                   "seconds (default: until Ctrl-C).")] = None,
) -> None:
    """Run the simulated lab: real LSL streams from a simulated athlete until Ctrl-C."""
    from labkit.devices.sim.lab import run_simulated_lab

    _stop_on_sigterm()
    render.console().print("simulated lab running; Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        run_simulated_lab(config, duration_s=duration)
    render.console().print("simulated lab stopped")


def replay(
    file: Annotated[Path, typer.Argument(help="Session file (.h5) to publish again on LSL.")],
    speed: Annotated[float, typer.Option("--speed", help="Replay speed (1 = real time); the stamps "
                                         "keep the recording's spacing.")] = 1.0,
    loop: Annotated[bool, typer.Option("--loop", help="Start again at the end, until Ctrl-C.")] = False,
    streams: Annotated[str | None, typer.Option("--streams", help="Comma-separated streams to replay "
                                                "(default: all).")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for a consumer (a recorder, "
                                        "`labkit run`) on every stream before sending; 0: send at "
                                        "once.")] = 30.0,
) -> None:
    """Publish a recorded session's streams as LSL outlets: original metadata, samples and rates."""
    import math

    from labkit.errors import ConfigError
    from labkit.playback import SessionPlayer

    if not (math.isfinite(speed) and speed > 0):
        raise ConfigError(f"--speed {speed!r} is invalid; give a positive factor (1 = real time)")
    if not (math.isfinite(wait) and wait >= 0):
        raise ConfigError(f"--wait {wait!r} is invalid; give seconds >= 0")
    names = [n.strip() for n in streams.split(",") if n.strip()] if streams else None
    player = SessionPlayer(file, speed=speed, loop=loop, streams=names)
    console = render.console()
    _stop_on_sigterm()
    player.open()
    console.print(f"publishing {', '.join(player.stream_names)} from {file} ({player.duration_s:.1f} s "
                  f"at speed {speed:g}{', looping' if loop else ''}); Ctrl-C to stop")
    try:
        if wait > 0:
            console.print(f"waiting up to {wait:g} s for consumers")
        player.start(wait_for_consumers_s=wait)
        if player.status.waiting_for:
            console.print(f"no consumer yet for {', '.join(player.status.waiting_for)}; sending anyway")
        while not player.wait(0.2):
            pass
        time.sleep(1.0)  # the last chunks reach the inlets before the outlets close
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        player.stop()
    if player.error is not None:
        raise player.error
    sent = sum(player.status.sent.values())
    console.print(f"replayed {sent} samples in {player.status.passes} pass"
                  f"{'es' if player.status.passes != 1 else ''}")


def record(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Session file to write (.h5); with "
                                             "--rcs-port, the first file name (default: LabRecorder's "
                                             "BIDS template).")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help=_CONFIG_HELP)] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Seconds to record "
                                                   "(default: until Ctrl-C).")] = None,
    subject: Annotated[str, typer.Option(help="Athlete code.")] = "",
    operator: Annotated[str, typer.Option(help="Who runs the session.")] = "",
    notes: Annotated[str, typer.Option(help="Free-form notes.")] = "",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it exists.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No live status table.")] = False,
    rcs_port: Annotated[int | None, typer.Option("--rcs-port", help="Wait for LabRecorder's remote-"
                                                 "control commands (select, filename, start, stop) on "
                                                 "this port of 127.0.0.1 (LabRecorder's is 22345).")]
    = None,
) -> None:
    """Record every stream of a hardware config, plus marker streams, into a session file."""
    import signal
    import time

    from rich.live import Live

    from labkit.config.hardware import load_hardware_config
    from labkit.record.recorder import Recorder

    if rcs_port is not None:
        _record_remote(out, config, rcs_port)
        return
    if out is None:
        from labkit.errors import ConfigError

        raise ConfigError("--out is missing; give the session file to write, e.g. --out s.h5 "
                          "(or --rcs-port 22345 to be driven by LabRecorder's remote commands)")

    check_output_file(out, overwrite=overwrite)  # now, not after waiting for the streams
    cfg, text = load_hardware_config(config)
    rec = Recorder(cfg, out, config_text=text, subject=subject, operator=operator, notes=notes,
                   overwrite=overwrite, expected_duration_s=duration)
    console = render.console()
    previous = _stop_on_sigterm()  # `kill` closes the file cleanly too
    console.print(f"waiting for streams {cfg.recording.streams} (up to "
                  f"{cfg.recording.resolve_timeout_s:g} s)")
    with warnings_as_lines():  # a disk too full for --duration: one warning line
        rec.start()
    end = None if duration is None else time.monotonic() + duration
    plain = quiet or not console.is_terminal
    try:
        if plain:
            while (end is None or time.monotonic() < end) and rec.failure is None:
                time.sleep(0.2)
        else:
            with Live(render.status_table(rec), console=console, refresh_per_second=4) as view:
                while (end is None or time.monotonic() < end) and rec.failure is None:
                    time.sleep(0.25)
                    view.update(render.status_table(rec))
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        rec.stop()  # a failed write (disk full) raises here: one line, exit 2
    console.print(render.status_table(rec))
    console.print(f"saved {out}; check it with `labkit inspect {out}`")


def _record_remote(out: Path | None, config: Path | None, port: int) -> None:
    """``labkit record --rcs-port``: recordings started and stopped by LabRecorder's commands."""
    import time

    from labkit.cli.common import check_output_folder
    from labkit.config.hardware import load_hardware_config
    from labkit.web.control import BIDS_TEMPLATE, RecordControl
    from labkit.web.labrecorder import LabRecorderPort

    root = out.parent if out is not None else Path(".")
    check_output_folder(root, flag="--out")
    cfg, text = load_hardware_config(config)
    control = RecordControl(cfg, text, root, template=out.name if out is not None else BIDS_TEMPLATE)
    console = render.console()
    rcs = LabRecorderPort(control, port=port, echo=console.print).start()
    previous = _stop_on_sigterm()
    console.print(f"LabRecorder remote control on 127.0.0.1:{rcs.port}; next file {control.next_path()}; "
                  "Ctrl-C to quit")
    import signal

    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        rcs.stop()
        saved = control.stop()
        if saved is not None:
            console.print(f"saved {saved}")


devices_app = typer.Typer(help="Check a lab's devices and streams.", no_args_is_help=True)


@devices_app.command("check")
def devices_check(
    config: Annotated[Path | None, typer.Argument(help=_CONFIG_HELP)] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to look for each device.")] = 3.0,
) -> None:
    """Validate a hardware config and report which devices and streams are reachable, and why not."""
    from labkit.devices.check import check_devices

    report = check_devices(config, timeout_s=timeout)
    for line in report.lines():
        typer.echo(line)
    if report.exit_code:
        raise typer.Exit(report.exit_code)
