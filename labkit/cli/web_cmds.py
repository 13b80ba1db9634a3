"""The lab screen: ``labkit serve`` (and the server behind ``labkit run --web``)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from labkit.cli import render
from labkit.errors import ConfigError

TOKEN_HELP = ("Require this token on every request (needed to bind to a non-loopback address); "
              "'generate' makes and prints one. Default: $LABKIT_WEB_TOKEN.")


def resolve_token(token: str | None) -> str | None:
    """The token to require: given, generated (``generate``), from $LABKIT_WEB_TOKEN, or None."""
    from labkit.web.security import new_token

    token = token or os.environ.get("LABKIT_WEB_TOKEN") or None
    return new_token() if token == "generate" else token


def web_modules() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"the web screens need the 'web' extra ({exc.name} is missing); "
                          "install it with: pip install 'labkit[web]'") from None


def start_server(lab: Any, host: str, port: int, token: str | None) -> Any:
    """Check the address, start the server and print where to open it."""
    web_modules()
    from labkit.web.server import LabServer

    server = LabServer(lab, host=host, port=port, token=token).start()
    query = f"?token={token}" if token else ""
    console = render.console()
    console.print(f"technician console: {server.url}{query}")
    console.print(f"athlete screen:     {server.url}athlete{query}")
    return server


def serve(
    host: Annotated[str, typer.Option(help="Address to serve on (a non-loopback one needs --token).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web screens.")] = 8765,
    token: Annotated[str | None, typer.Option(help=TOKEN_HELP)] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Hardware config (default: "
                                                "hardware_configs/simulated.yaml).")] = None,
    protocol: Annotated[str | None, typer.Option(help="Run this protocol from the console (file or "
                                                 "shipped name); without it the console records.")] = None,
    folder: Annotated[Path, typer.Option(help="Where sessions are written and browsed.")] = Path("."),
    fast: Annotated[bool, typer.Option("--fast", help="Shorten rests and efforts (demos).")] = False,
    rcs_port: Annotated[int | None, typer.Option("--rcs-port", help="Also listen for LabRecorder's "
                                                 "remote-control commands on this port (22345).")] = None,
    target_pct: Annotated[float, typer.Option("--target-pct", help="The athlete screen's target line, "
                                              "% of the best trial.")] = 90.0,
) -> None:
    """Serve the lab screen: technician console, athlete screen, session browser and remote control."""
    from labkit.cli.common import check_output_folder
    from labkit.config.hardware import load_hardware_config
    from labkit.web.security import check_bind

    token = resolve_token(token)
    check_bind(host, token)  # before anything starts
    check_output_folder(folder, flag="--folder")
    folder.mkdir(exist_ok=True)
    web_modules()
    from labkit.web.app import LabApp
    from labkit.web.control import RecordControl, RunControl

    cfg, cfg_text = load_hardware_config(config)
    run = record = None
    console = render.console()
    if protocol is not None:
        from labkit.protocol.schema import load_protocol

        proto, proto_text = load_protocol(protocol)
        run = RunControl(proto, proto_text, cfg, cfg_text, folder, fast=fast,
                         echo=lambda msg: console.print(f"[cyan]>[/cyan] {msg}"))
    else:
        record = RecordControl(cfg, cfg_text, folder)
    rcs = _rcs(record, cfg, cfg_text, folder, rcs_port)
    server = start_server(LabApp(run=run, record=record, folder=folder, target_pct=target_pct), host, port,
                          token)
    from labkit.cli.lab_cmds import _stop_on_sigterm

    _stop_on_sigterm()
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        if run is not None and run.running:
            run.hub.request("abort")
            run.wait(30)
        if rcs is not None:  # first: no remote command may start a recording while we close
            rcs.stop()
        for control in {id(c): c for c in (record, rcs.control if rcs is not None else None)
                        if c is not None}.values():
            if control.recording:  # the port's own recording (with --protocol) is closed too
                control.stop()
        server.stop()


def _rcs(record: Any, cfg: Any, cfg_text: str, folder: Path, port: int | None) -> Any:
    if port is None:
        return None
    from labkit.web.control import RecordControl
    from labkit.web.labrecorder import LabRecorderPort

    control = record or RecordControl(cfg, cfg_text, folder)
    rcs = LabRecorderPort(control, port=port, echo=lambda msg: render.console().print(msg)).start()
    render.console().print(f"LabRecorder remote control on 127.0.0.1:{rcs.port}")
    return rcs
