"""The session database: ``labkit db init | add | athletes | history | report | team | rebuild``.

Every command takes ``--db URL`` (``sqlite:///lab.db``, ``postgresql+psycopg://user@host/db``),
else ``LABKIT_DB``, else the lab config (``database:`` in ./labkit-lab.yaml). Tables print
as text, ``--json`` (a list of row objects) or ``--csv``. A URL is shown with its password
hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from labkit.cli import render
from labkit.cli.common import check_output_file

db_app = typer.Typer(help="The athlete and session database: ingest, history, trends, reports.",
                     no_args_is_help=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: LABKIT_DB or the "
                                           "lab config's 'database:').")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON list of row objects.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV.")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", help="Reading processes (default: CPUs).")]


def _connect(url: str | None, *, init: bool = False):
    from labkit.db import connect

    return connect(url, init=init)


def _ingest_outcome(report: Any) -> None:
    typer.echo(render.ingest_summary(report))
    if not report.ok:
        raise typer.Exit(1)


@db_app.command("init")
def init(db: DbOpt = None) -> None:
    """Create the database (or migrate it to this labkit's schema)."""
    from labkit.db.engine import safe_url

    with _connect(db, init=True) as d:
        typer.echo(f"database {safe_url(d.url)} ready (migration {d.init()})")


@db_app.command("add")
def add(files: Annotated[list[Path], typer.Argument(help="Session files (.h5).")], db: DbOpt = None,
        workers: WorkersOpt = None) -> None:
    """Add session files: new sessions, and new result versions of known ones (idempotent)."""
    with _connect(db) as d, render.ingest_progress(len(files)) as progress:
        report = d.add([str(f) for f in files], workers=workers, progress=progress)
    _ingest_outcome(report)


@db_app.command("rebuild")
def rebuild(files: Annotated[list[Path] | None, typer.Argument(help="Session files (default: the "
                                                                 "files the database holds).")] = None,
            db: DbOpt = None, workers: WorkersOpt = None) -> None:
    """Rebuild the sessions, results, trials and metrics from the files (the roster is kept)."""
    with _connect(db) as d:
        paths = [str(f) for f in files] if files else d.session_paths()
        with render.ingest_progress(len(paths)) as progress:
            report = d.rebuild(paths, workers=workers, progress=progress)
    _ingest_outcome(report)


@db_app.command("athletes")
def athletes(db: DbOpt = None, as_json: JsonOpt = False, as_csv: CsvOpt = False,
             roster: Annotated[Path | None, typer.Option("--import", help="Roster CSV to read first: "
                                                         "code,name,date_of_birth,sex,sport,groups "
                                                         "(groups ';'-separated).")] = None) -> None:
    """List the athletes (code, details, groups, sessions, first and last date)."""
    with _connect(db) as d:
        if roster is not None:
            n = d.import_roster(roster)
            if not (as_json or as_csv):
                typer.echo(f"{n} athletes read from {roster}")
        render.print_frame(d.athletes(), title="athletes", as_json=as_json, as_csv=as_csv)


@db_app.command("history")
def history(athlete: Annotated[str, typer.Argument(help="Athlete code.")], db: DbOpt = None,
            test: Annotated[str | None, typer.Option("--test", help="Only this test (e.g. imtp).")] = None,
            metric: Annotated[str | None, typer.Option("--metric", help="Only this metric "
                                                       "(e.g. peak_force_n).")] = None,
            best: Annotated[bool, typer.Option("--best", help="The best valid trial per session.")] = False,
            all_versions: Annotated[bool, typer.Option("--all-versions", help="Every stored result "
                                                       "version, not only the newest.")] = False,
            as_json: JsonOpt = False, as_csv: CsvOpt = False) -> None:
    """An athlete's stored metrics over time (the columns of `labkit analyze`)."""
    from labkit.errors import ConfigError

    with _connect(db) as d:
        table = d.history(athlete, test=test, metric=metric, best=best, all_versions=all_versions)
        if not len(table) and athlete not in set(d.athletes()["code"]):
            raise ConfigError(f"athlete {athlete!r} is not in the database; see `labkit db athletes`")
    render.print_frame(table, title=f"history of {athlete}", as_json=as_json, as_csv=as_csv,
                       columns=render.HISTORY_COLUMNS)


@db_app.command("report")
def report(athlete: Annotated[str, typer.Argument(help="Athlete code.")], db: DbOpt = None,
           output: Annotated[Path | None, typer.Option("-o", "--output", help="HTML file (default: "
                                                       "<ATHLETE>_report.html).")] = None,
           overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT.")] = False) -> None:
    """An athlete's HTML report: trends with the SWC band, latest vs baseline, asymmetry."""
    from labkit.db.report import athlete_report, write_html

    out = output or Path(f"{athlete}_report.html")
    check_output_file(out, overwrite=overwrite)
    with _connect(db) as d:
        typer.echo(f"wrote {write_html(athlete_report(d, athlete), out)}")


@db_app.command("team")
def team(group: Annotated[str, typer.Argument(help="Group (team) name.")], db: DbOpt = None,
         output: Annotated[Path | None, typer.Option("-o", "--output", help="HTML file (default: "
                                                     "team_<GROUP>.html).")] = None,
         overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT.")] = False) -> None:
    """A group's HTML table: latest values, traffic lights vs baseline, z-scores, sparklines."""
    from labkit.db.report import team_report, write_html

    out = output or Path(f"team_{group}.html")
    check_output_file(out, overwrite=overwrite)
    with _connect(db) as d:
        typer.echo(f"wrote {write_html(team_report(d, group), out)}")


def ingest_after_run(path: Path) -> None:
    """``labkit run``'s last step: add the session to the configured database, if any (one
    line either way; a failure to store never loses the session, which is in its file)."""
    from labkit.db.engine import configured_url, safe_url
    from labkit.errors import LabkitError

    try:
        url = configured_url(None, required=False)
    except LabkitError as exc:
        typer.echo(f"labkit: warning: session not added to a database: {exc}", err=True)
        return
    if url is None:
        return
    try:
        with _connect(url) as d:
            report = d.add([str(path)], workers=1)
    except LabkitError as exc:
        typer.echo(f"labkit: warning: session not added to {safe_url(url)}: {exc}", err=True)
        return
    if report.ok:
        typer.echo(f"added to the database {safe_url(url)}")
    else:
        typer.echo(f"labkit: warning: {next(iter(report.failures.values()))}; add it later with "
                   f"`labkit db add {path}`", err=True)
