"""``labkit inspect`` and ``labkit repair``: look at and mend session files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labkit import _json
from labkit.cli import render


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
        # strict JSON for machines: NaN and inf are null (labkit._json)
        typer.echo(_json.dumps(report, indent=2, ensure_ascii=False))
    else:
        render.print_report(report, show_channels=channels)
    if strict and report["problems"]:
        raise typer.Exit(1)


def repair(
    file: Annotated[Path, typer.Argument(help="Session file left open by a crashed recorder.")],
    no_backup: Annotated[bool, typer.Option("--no-backup", help="Do not keep the original as "
                                            "FILE.crashed.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rewrite even a clean file.")] = False,
) -> None:
    """Make a crashed session a normal HDF5 file again, keeping everything flushed."""
    from labkit.session.repair import repair_session

    render.print_repair(file, repair_session(file, backup=not no_backup, force=force))
