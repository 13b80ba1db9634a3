"""The ``labkit`` command line. Thin: parse, call the library, print.

Errors print one line and exit non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from labkit._version import __version__
from labkit.errors import LabkitError

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

    return Console(highlight=False)


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
    for col in ("name", "type", "Hz", "eff. Hz", "samples", "ch", "dur s", "gaps", "offsets"):
        table.add_column(col, justify="left" if col in ("name", "type") else "right")
    for st in report["streams"]:
        table.add_row(st["name"], st["type"], _fmt(st["nominal_rate_hz"]),
                      _fmt(st["effective_rate_hz"]), str(st["n_samples"]), str(st["n_channels"]),
                      _fmt(st["duration_s"]), str(len(st["gaps"])), str(st["n_clock_offsets"]))
    console.print(table)
    for st in report["streams"]:
        labels = [f"{c['label']} [{c['unit']}]" if c["unit"] else c["label"]
                  for c in st["channels"]]
        if not show_channels and len(labels) > 8:
            labels = [*labels[:6], f"... {len(labels) - 6} more (--channels)"]
        console.print(f"[bold]{st['name']}[/bold] channels: " + ", ".join(labels))
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
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic athlete.")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")]
    = False,
) -> None:
    """Write a synthetic demo session (IMTP with force, EMG, mocap, cues) and inspect it."""
    from labkit.demo import write_demo_session

    path = write_demo_session(output, seed=seed, overwrite=overwrite)
    _console().print(f"wrote {path}\n")
    from labkit.session.inspect import inspect_session

    _print_report(inspect_session(path), show_channels=False)
    _print_demo_results(path)


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
