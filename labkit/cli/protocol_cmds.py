"""Protocols: ``labkit protocols list/show/check`` and ``labkit run``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from labkit.cli import render
from labkit.cli.common import EXIT_ERROR, check_output_file, warnings_as_lines
from labkit.errors import ConfigError, LabkitError

protocols_app = typer.Typer(help="List, show and check protocol files.", no_args_is_help=True)


@protocols_app.command("list")
def protocols_list() -> None:
    """List the protocols shipped in protocols/."""
    from labkit.protocol.schema import load_protocol, shipped_protocols

    render.print_protocols([(load_protocol(path)[0], path) for path in shipped_protocols()])


@protocols_app.command("show")
def protocols_show(protocol: Annotated[str, typer.Argument(help="Protocol file or shipped name.")]) -> None:
    """Show a protocol's steps as the runner will run them."""
    from labkit.protocol.schema import load_protocol

    render.print_protocol(load_protocol(protocol)[0])


@protocols_app.command("check")
def protocols_check(files: Annotated[list[Path], typer.Argument(help="Protocol files to check.")]) -> None:
    """Validate protocol files; print one line per file."""
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
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--subject {pair!r} is not NAME=VALUE; write e.g. --subject body_mass_kg=80")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _subject_answers(protocol: Any, athlete: str, given: dict[str, str], unattended: bool,
                     console: Any) -> dict[str, Any]:
    from labkit.protocol.subject import field_value

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
        answers[field.name] = field_value(field, value)
    return answers


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
    resume_other_protocol: Annotated[bool, typer.Option(
        "--resume-other-protocol", help="With --resume: continue a file recorded with another "
        "protocol (or another text of it).")] = False,
    web: Annotated[bool, typer.Option("--web", help="Run it from the web console (athlete form, "
                                      "controls, live trace) and show the athlete screen.")] = False,
    host: Annotated[str, typer.Option(help="With --web: address to serve on (a non-loopback one "
                                      "needs --token).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --web: port of the web screens.")] = 8765,
    token: Annotated[str | None, typer.Option(help="With --web: require this token ('generate' "
                                              "makes one). Default: $LABKIT_WEB_TOKEN.")] = None,
) -> None:
    """Run a protocol end to end: cues, recording, live analysis, validation, results."""
    from labkit.config.hardware import load_hardware_config
    from labkit.protocol.runner import ProtocolRunner, RunOptions, View, default_out_path
    from labkit.protocol.schema import load_protocol

    if web:
        _run_web(protocol, config=config, out=out, operator=operator, fast=fast, resume=resume,
                 host=host, port=port, token=token)
        return

    # before the questions and the simulated lab; an existing session the runner words itself
    # (--resume it or --overwrite)
    if resume is None and out is not None:
        check_output_file(out, overwrite=None)
    console = render.console()
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
    if resume is None and out is None:
        check_output_file(Path(path), overwrite=None, flag="")
    options = RunOptions(out_path=Path(path), athlete=code, operator=operator, subject_answers=answers,
                         unattended=unattended, fast=fast, resume=resume is not None, overwrite=overwrite,
                         resume_other_protocol=resume_other_protocol)
    if console.is_terminal and not unattended:
        from labkit.protocol.view import RichView

        view: View = RichView(console)
    else:
        view = View(lambda msg: console.print(f"[cyan]>[/cyan] {msg}"))
    lab = None
    from labkit.devices.sim.private import is_simulated, private_lab_config

    if is_simulated(cfg):  # the simulated lab is this command's to start, on a loopback of its own
        cfg, cfg_text = private_lab_config(cfg, cfg_text)  # before anything loads liblsl
        from labkit.devices.sim.lab import SimulatedLab

        lab = SimulatedLab(cfg)
    runner = ProtocolRunner(proto, proto_text, cfg, cfg_text, options, view, lab=lab)
    again = _resume_command(protocol, path, config=config, unattended=unattended, fast=fast)
    try:
        with warnings_as_lines():  # e.g. too little disk space for the run: one line, at once
            table = runner.run()
    except KeyboardInterrupt:
        console.print(f"interrupted; the session is saved. Continue with: {again}")
        raise typer.Exit(130) from None
    except LabkitError as exc:  # the run stopped on an error: the file is kept and resumable
        if runner.recorder is None:  # refused before anything was recorded
            raise
        raise type(exc)(f"{exc} (the session is saved; continue with: {again})") from None
    render.print_run_results(table, runner.aggregates, Path(path), runner.result_name)
    from labkit.cli.db_cmds import ingest_after_run

    ingest_after_run(Path(path))  # when a database is configured (LABKIT_DB or the lab config)


def _run_web(protocol: str, *, config: Path | None, out: Path | None, operator: str, fast: bool,
             resume: Path | None, host: str, port: int, token: str | None) -> None:
    """``labkit run --web``: one run driven from the console, then its results here."""
    import time

    from labkit.cli.web_cmds import resolve_token, start_server, web_modules
    from labkit.config.hardware import load_hardware_config
    from labkit.protocol.schema import load_protocol
    from labkit.web.security import check_bind

    token = resolve_token(token)
    check_bind(host, token)
    web_modules()
    if resume is None and out is not None:
        check_output_file(out, overwrite=False)
    proto, proto_text = load_protocol(protocol)
    cfg, cfg_text = load_hardware_config(config)
    from labkit.web.app import LabApp
    from labkit.web.control import RunControl

    console = render.console()
    where = (resume or out or Path("x")).parent
    run_control = RunControl(proto, proto_text, cfg, cfg_text, where, fast=fast, operator=operator,
                             echo=lambda msg: console.print(f"[cyan]>[/cyan] {msg}"))
    if out is not None and resume is None:
        run_control.default_name = out.name
    server = start_server(LabApp(run=run_control), host, port, token)
    try:
        if resume is not None:
            run_control.resume(resume.name)
        else:
            console.print("fill in the athlete form in the console to start")
        while not (run_control.finished.is_set() and run_control.runner is not None):
            time.sleep(0.2)
        time.sleep(1.0)  # the screens show the end
    except KeyboardInterrupt:
        if run_control.running:
            run_control.hub.request("abort")
            run_control.wait(30)
        raise
    finally:
        server.stop()
    if run_control.error is not None:
        path = run_control.runner.options.out_path
        again = _resume_command(protocol, path, config=config, unattended=False, fast=fast) + " --web"
        raise LabkitError(f"{run_control.error} (the session is saved; continue with: {again})")
    runner = run_control.runner
    render.print_run_results(run_control.table, runner.aggregates, runner.options.out_path,
                             runner.result_name)
    from labkit.cli.db_cmds import ingest_after_run

    ingest_after_run(Path(runner.options.out_path))  # as the terminal run does


def _resume_command(protocol: str, path: Any, *, config: Path | None, unattended: bool, fast: bool) -> str:
    """The command that continues an interrupted run, with the flags it was started with."""
    import shlex

    parts = ["labkit", "run", protocol, "--resume", str(path)]
    if config is not None:
        parts += ["--config", str(config)]
    parts += [flag for flag, on in (("--unattended", unattended), ("--fast", fast)) if on]
    return shlex.join(parts)
