"""Analysis and files: ``labkit analyze``, ``report``, ``plot``, ``import`` and ``export``."""

from __future__ import annotations

import glob
import math
from pathlib import Path
from typing import Annotated

import typer

from labkit.cli import render
from labkit.cli.common import check_output_file, check_output_folder, warnings_as_lines
from labkit.errors import ConfigError

_PLATE_CONVENTION_HELP = ("C3D: what the plate channels hold: 'reaction' (the force on the subject, "
                          "what Vicon/Qualisys/Motion Analysis write) or 'action' (the load on the "
                          "plate).")


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
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")] = False,
) -> None:
    """Analyse session files into one tidy table (one row per session x trial x metric)."""
    from labkit.analysis.batch import _check_out, analyze_files, write_table
    from labkit.analysis.tidy import load_params

    overrides = load_params(params) if params else None
    _check_out(output)
    check_output_file(output, overwrite=overwrite)
    paths = [str(f) for f in files]
    with render.analysis_progress(len(paths)) as progress:
        result = analyze_files(paths, overrides, workers=workers, dask=dask, write=write,
                               progress=progress)
    n_failed = len(result.failures)
    if n_failed and n_failed == result.n_files:  # an empty table never replaces a good one
        which = "the file" if n_failed == 1 else f"all {n_failed} files"
        kept = f" ({output} is left as it was)" if output.exists() else ""
        typer.echo(f"labkit: error: {which} failed; nothing written{kept}", err=True)
        raise typer.Exit(1)
    written = write_table(result.table, output)
    typer.echo(f"{len(result.table)} rows from {result.n_files - n_failed} of {result.n_files} files "
               f"-> {written}" + (f"; {n_failed} failed" if n_failed else ""))
    if n_failed:
        raise typer.Exit(1)


def report(
    file: Annotated[Path, typer.Argument(help="Session file (.h5).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write.")] = Path("report.html"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")] = False,
) -> None:
    """Write a self-contained HTML report (summary, plots, metrics) of a session."""
    from labkit.analysis.report import write_report

    check_output_file(output, overwrite=overwrite)
    typer.echo(f"wrote {write_report(file, output)}")


def plot(
    file: Annotated[Path, typer.Argument(help="Session file (.h5).")],
    trial: Annotated[int, typer.Option("--trial", help="Trial id.")],
    out_dir: Annotated[Path, typer.Option("-o", "--out-dir", help="Folder for the PNG files.")] = Path("."),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace this trial's PNG files if "
                                            "they exist.")] = False,
) -> None:
    """Save one trial's figures (force, EMG, joint angles) as PNG files."""
    from labkit.analysis.report import save_trial_pngs

    check_output_folder(out_dir)
    if not overwrite and out_dir.is_dir():  # the figures are named <file>_trial<N>_<kind>.png
        existing = sorted(out_dir.glob(f"{glob.escape(file.stem)}_trial{trial}_*.png"))
        if existing:
            raise ConfigError(f"-o {out_dir}: {existing[0]} exists; pass --overwrite to replace it, or "
                              "choose another folder")
    for path in save_trial_pngs(file, trial, out_dir):
        typer.echo(f"wrote {path}")


def _is_xdf(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".xdf", ".xdfz", ".xdf.gz"))


def _check_plate_convention(value: str) -> None:
    from labkit.analysis.c3d.parameters import _PLATE_CONVENTIONS

    if value not in _PLATE_CONVENTIONS:
        raise ConfigError(f"--plate-convention {value!r} is invalid; use 'reaction' (the channels hold "
                          "the force on the subject) or 'action' (the load on the plate)")


def _check_c3d_trial(test: str | None, side: str) -> None:
    """The library's rules for --test and --side, worded for the command line."""
    from labkit.trials.catalogue import CATALOGUE, force_tests

    if test is not None:
        if test not in force_tests():
            raise ConfigError(f"--test {test!r} cannot be analysed from an imported file; use one of "
                              f"{', '.join(force_tests())}")
        if (CATALOGUE[test].sided or CATALOGUE[test].directional) and side not in ("left", "right"):
            raise ConfigError(f"--test {test} needs --side left or --side right")
    if side not in ("", "left", "right"):
        raise ConfigError(f"--side {side!r} is invalid; use left or right (or leave it out)")


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
    with warnings_as_lines():
        if suffix == ".c3d":
            if allow_truncated:
                raise ConfigError("--allow-truncated is for XDF files; a C3D file is read whole")
            _check_plate_convention(plate_convention)
            _check_c3d_trial(test, side)
            check_output_file(output, overwrite=overwrite)
            from labkit.analysis.c3d import import_c3d

            out = import_c3d(file, output, athlete=athlete, overwrite=overwrite, test=test, side=side,
                             plate_convention=plate_convention)
        elif _is_xdf(file):
            if test is not None or side or plate_convention != "reaction":
                raise ConfigError("--test/--side/--plate-convention are for C3D files; an XDF recording "
                                  "keeps its own streams and markers")
            check_output_file(output, overwrite=overwrite)
            from labkit.analysis.xdf import import_xdf

            out = import_xdf(file, output, overwrite=overwrite, allow_truncated=allow_truncated,
                             subject=athlete)
        else:
            raise ConfigError(f"{file}: unknown file type {suffix or '(none)'!r}; labkit imports "
                              ".c3d (C3D) and .xdf/.xdfz/.xdf.gz (XDF) files")
    from labkit.session.inspect import inspect_session

    typer.echo(f"wrote {out}")
    render.print_report(inspect_session(out), show_channels=False)
    if test is not None:  # the trial spanning the file, analysed as labkit analyze would
        import labkit

        tidy = labkit.analyze(str(out))
        if len(tidy):
            first = tidy.iloc[0]
            verdict = "valid" if first["valid_analysis"] else f"invalid: {first['reason']}"
            render.print_trial_metrics(tidy, title=f"{test} trial of {file.name} ({verdict})")


def export(
    file: Annotated[Path, typer.Argument(help="Session file (.h5).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="A .c3d or .xdf file, or a folder "
                                                "for CSV files (one per stream, plus channels/events/"
                                                "trials).")
                      ] = None,
    trc: Annotated[Path | None, typer.Option("--trc", help="OpenSim: the markers to this .trc file (lab "
                                             "frame, m).")] = None,
    mot: Annotated[Path | None, typer.Option("--mot", help="OpenSim: ground reactions, COP and free "
                                             "moments to this .mot file (lab frame; N, m, N.m).")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="CSV: raw source time stamps instead of the "
                                      "synchronised session clock.")] = False,
    analog_rate: Annotated[float | None, typer.Option("--analog-rate", help="C3D: analog rate in Hz "
                                                      "(an integer multiple of the marker rate).")
                           ] = None,
    plate_convention: Annotated[str, typer.Option("--plate-convention", help=_PLATE_CONVENTION_HELP)
                                ] = "reaction",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing files.")] = False,
    bids: Annotated[Path | None, typer.Option("--bids", help="Write the session into this BIDS "
                                              "dataset folder (EMG, motion, force plates, events; "
                                              "docs/bids.md).")] = None,
    sub: Annotated[str | None, typer.Option("--sub", help="BIDS: subject label (default: the "
                                            "athlete code).")] = None,
    ses: Annotated[str | None, typer.Option("--ses", help="BIDS: session label.")] = None,
    task: Annotated[str | None, typer.Option("--task", help="BIDS: task label (default: the "
                                             "protocol name).")] = None,
    run: Annotated[int | None, typer.Option("--run", help="BIDS: run index.")] = None,
) -> None:
    """Export a session to C3D (markers, plates, EMG, events), XDF (LabRecorder), CSV files,
    OpenSim files or a BIDS dataset."""
    if bids is not None:
        if trc is not None or mot is not None:
            raise ConfigError("--trc/--mot and --bids: give one; run the OpenSim export separately")
        _export_bids(file, output, bids, sub=sub, ses=ses, task=task, run=run, overwrite=overwrite,
                     csv_c3d_options=raw or analog_rate is not None or plate_convention != "reaction")
        return
    if any(v is not None for v in (sub, ses, task, run)):
        raise ConfigError("--sub/--ses/--task/--run are for BIDS export; add --bids ROOT")
    with warnings_as_lines():
        if trc is not None or mot is not None:
            for flag, path in (("--trc", trc), ("--mot", mot)):
                if path is not None:
                    check_output_file(path, overwrite=overwrite, flag=flag)
            from labkit.analysis.opensim import export_opensim

            for path in export_opensim(file, trc_path=trc, mot_path=mot, overwrite=overwrite):
                typer.echo(f"wrote {path}")
            if output is None:
                return
        if output is None:
            raise ConfigError("give -o FILE.c3d, -o FILE.xdf, -o FOLDER (CSV), --trc FILE / --mot FILE "
                              "(OpenSim) or --bids ROOT (a BIDS dataset)")
        if output.suffix.lower() == ".c3d":
            if raw:
                raise ConfigError("--raw is for CSV export; C3D is written on the synchronised clock")
            _check_plate_convention(plate_convention)
            if analog_rate is not None and not (analog_rate > 0 and math.isfinite(analog_rate)):
                raise ConfigError(f"--analog-rate {analog_rate!r} is invalid; give a positive rate in Hz")
            check_output_file(output, overwrite=overwrite)
            from labkit.analysis.c3d import export_c3d

            out = export_c3d(file, output, overwrite=overwrite, analog_rate_hz=analog_rate,
                             plate_convention=plate_convention)
            typer.echo(f"wrote {out}")
            return
        if output.suffix.lower() == ".xdf":
            if raw or analog_rate is not None or plate_convention != "reaction":
                raise ConfigError("--raw/--analog-rate/--plate-convention are not for XDF export; XDF "
                                  "keeps the raw stamps and the clock offsets")
            check_output_file(output, overwrite=overwrite)
            from labkit.analysis.xdf import export_xdf

            typer.echo(f"wrote {export_xdf(file, output, overwrite=overwrite)}")
            return
        if output.suffix:
            raise ConfigError(f"-o {output}: give a .c3d or .xdf file, or a folder for CSV files (no "
                              "suffix)")
        if analog_rate is not None or plate_convention != "reaction":
            raise ConfigError("--analog-rate/--plate-convention are for C3D export; CSV keeps every stream "
                              "as stored")
        check_output_folder(output)
        from labkit.analysis.export_csv import export_csv

        paths = export_csv(file, output, synchronised=not raw, overwrite=overwrite)
    typer.echo(f"wrote {len(paths)} files to {output}")


def _export_bids(file: Path, output: Path | None, root: Path, *, sub: str | None,
                 ses: str | None, task: str | None, run: int | None, overwrite: bool,
                 csv_c3d_options: bool) -> None:
    if output is not None:
        raise ConfigError(f"-o {output} and --bids {root}: give one; --bids writes the BIDS dataset")
    if csv_c3d_options:
        raise ConfigError("--raw/--analog-rate/--plate-convention are for CSV and C3D export; BIDS "
                          "writes the synchronised clock and the plates as stored")
    check_output_folder(root, flag="--bids")
    from labkit.analysis.bids import export_bids

    with warnings_as_lines():
        paths = export_bids(file, root, subject=sub, session_label=ses, task=task, run=run,
                            overwrite=overwrite)
    typer.echo(f"wrote {len(paths)} files to {root}")
