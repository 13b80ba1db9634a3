"""The ``labkit`` command line. Thin: parse, call the library, print.

The commands live by group in :mod:`labkit.cli.session_cmds` (inspect, repair),
:mod:`labkit.cli.lab_cmds` (demo, streams, simulate, replay, record, devices),
:mod:`labkit.cli.protocol_cmds` (protocols, run), :mod:`labkit.cli.web_cmds` (serve: the
lab screen), :mod:`labkit.cli.analysis_cmds`
(analyze, report, plot, import, export) and :mod:`labkit.cli.db_cmds` (the database:
``labkit db ...``); every table they print is drawn by
:mod:`labkit.cli.render`. This module holds the typer ``app`` and :func:`main`.

Errors print one line and exit non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from labkit._version import __version__
from labkit.cli import analysis_cmds, db_cmds, lab_cmds, protocol_cmds, session_cmds, web_cmds
from labkit.cli.common import EXIT_ERROR, EXIT_UNEXPECTED
from labkit.errors import LabkitError

__all__ = ["EXIT_ERROR", "EXIT_UNEXPECTED", "app", "main"]

app = typer.Typer(
    name="labkit",
    help="Synchronised force-plate, EMG and motion-capture sessions: record, inspect, analyse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


# the order here is the order of `labkit --help`
app.command()(session_cmds.inspect)
app.command()(session_cmds.repair)
app.command()(lab_cmds.demo)
app.command()(lab_cmds.streams)
app.command()(lab_cmds.simulate)
app.command()(lab_cmds.replay)
app.command()(lab_cmds.record)
app.add_typer(lab_cmds.devices_app, name="devices")
app.add_typer(protocol_cmds.protocols_app, name="protocols")
app.command()(protocol_cmds.run)
app.command()(web_cmds.serve)
app.command()(analysis_cmds.analyze)
app.command()(analysis_cmds.report)
app.command()(analysis_cmds.plot)
app.command("import")(analysis_cmds.import_)
app.command()(analysis_cmds.export)
app.add_typer(db_cmds.db_app, name="db")


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
