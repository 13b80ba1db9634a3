"""The lab's database: :class:`Database` (connect, init, add, history, statistics, roster)."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.db import query, stats
from labkit.db.engine import check_current, configured_url, make_engine, safe_url, upgrade
from labkit.db.ingest import IngestReport, ingest_files
from labkit.errors import ConfigError

__all__ = ["ROSTER_COLUMNS", "Database", "connect"]

#: columns of a roster CSV (``labkit db athletes --import``); groups are ';'-separated
ROSTER_COLUMNS = ("code", "name", "date_of_birth", "sex", "sport", "groups")


def connect(url: str | None = None, *, init: bool = False) -> Database:
    """Open the lab's database (``url``, else ``LABKIT_DB``, else the lab config).

    Parameters
    ----------
    url : str, optional
        ``sqlite:///lab.db`` or ``postgresql+psycopg://user@host/db``.
    init : bool
        Create or migrate the tables first (``labkit db init``); otherwise a database that
        is not at this labkit's migration is refused with the fix.
    """
    db = Database(configured_url(url))
    if init:
        db.init()
    else:
        check_current(db.engine, db.url)
    return db


def _age_band(band: str) -> tuple[int, int]:
    text = band.strip().upper()
    try:
        if text.startswith("U"):
            return 0, int(text[1:]) - 1
        if text.endswith("+"):
            return int(text[:-1]), 200
        lo, hi = text.split("-")
        return int(lo), int(hi)
    except ValueError:
        raise ConfigError(f"age band {band!r} is invalid; use e.g. U18, 18-23 or 35+") from None


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class Database:
    """A labkit database at ``url`` (see :mod:`labkit.db.engine` for the URL rules).

    Examples
    --------
    >>> from labkit.db import connect  # doctest: +SKIP
    >>> db = connect("sqlite:///lab.db", init=True)  # doctest: +SKIP
    >>> db.add(["a.h5", "b.h5"]).ok  # doctest: +SKIP
    >>> db.history("A01", test="imtp", metric="peak_force_n", best=True)  # doctest: +SKIP
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def __repr__(self) -> str:
        return f"Database({safe_url(self.url)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- schema and ingest ----------------------------------------------------------------
    def init(self) -> str:
        """Create or migrate the tables (Alembic); returns the migration revision."""
        from labkit.db.engine import reachable

        reachable(self.engine, self.url)
        return upgrade(self.engine)

    def add(self, paths: Sequence[str | os.PathLike[str]], *, workers: int | None = None,
            progress: Callable[[str, str, str], None] | None = None) -> IngestReport:
        """Ingest session files (idempotent; see :mod:`labkit.db.ingest`)."""
        return ingest_files(self.engine, paths, workers=workers, progress=progress)

    def session_paths(self) -> list[str]:
        """The files of every stored session."""
        from sqlalchemy import select

        from labkit.db.schema import sessions

        with self.engine.connect() as conn:
            return [str(p) for p in conn.execute(select(sessions.c.path).order_by(sessions.c.id)).scalars()]

    def rebuild(self, paths: Sequence[str | os.PathLike[str]] | None = None, *,
                workers: int | None = None, progress: Callable[[str, str, str], None] | None = None
                ) -> IngestReport:
        """Empty the sessions (and their results, trials, metrics) and ingest the files again:
        ``paths``, or the files the database points at. The roster (athletes' details and
        groups) is the lab's own and is kept."""
        from sqlalchemy import delete

        from labkit.db.schema import metrics, provenance, results, sessions, trials

        files = [str(p) for p in paths] if paths is not None else self.session_paths()
        with self.engine.connect().execution_options(immediate=True) as conn, conn.begin():
            for table in (metrics, trials, provenance, results, sessions):
                conn.execute(delete(table))
        return self.add(files, workers=workers, progress=progress)

    # -- the roster -------------------------------------------------------------------------
    def athletes(self) -> pd.DataFrame:
        """Every athlete: code, name, date_of_birth, sex, sport, groups, sessions, first, last."""
        with self.engine.connect() as conn:
            return query.athletes_table(conn)

    def set_athlete(self, code: str, *, name: str | None = None, date_of_birth: date | str | None = None,
                    sex: str | None = None, sport: str | None = None,
                    groups: Sequence[str] | None = None) -> None:
        """Add or update an athlete's details; ``groups`` replaces the athlete's groups."""
        from sqlalchemy import delete, select, update

        from labkit.db.ingest import _insert_ignore, athlete_id
        from labkit.db.schema import athlete_groups, athletes
        from labkit.db.schema import groups as G

        if not code:
            raise ConfigError("athlete code is empty; give the code the sessions use")
        born = date.fromisoformat(date_of_birth) if isinstance(date_of_birth, str) and date_of_birth \
            else date_of_birth or None
        values = {k: v for k, v in (("name", name), ("date_of_birth", born), ("sex", sex),
                                    ("sport", sport)) if v not in (None, "")}
        with self.engine.connect().execution_options(immediate=True) as conn, conn.begin():
            aid = athlete_id(conn, code)
            if values:
                conn.execute(update(athletes).where(athletes.c.id == aid).values(**values))
            if groups is not None:
                conn.execute(delete(athlete_groups).where(athlete_groups.c.athlete_id == aid))
                for g in dict.fromkeys(x.strip() for x in groups if x.strip()):
                    _insert_ignore(conn, G, {"name": g}, ["name"])
                    gid = conn.execute(select(G.c.id).where(G.c.name == g)).scalar_one()
                    conn.execute(athlete_groups.insert().values(athlete_id=aid, group_id=gid))

    def import_roster(self, path: str | os.PathLike[str]) -> int:
        """Read a roster CSV (columns :data:`ROSTER_COLUMNS`, ``code`` required) into the
        catalogue. Returns the number of athletes."""
        p = Path(path)
        try:
            with p.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read the roster ({exc.strerror}); check the path") from None
        if rows and "code" not in rows[0]:
            raise ConfigError(f"{p}: the roster has no 'code' column; its columns are "
                              f"{', '.join(ROSTER_COLUMNS)}")
        for line, row in enumerate(rows, start=2):
            try:
                self.set_athlete(row["code"].strip(), name=row.get("name"), sex=row.get("sex"),
                                 date_of_birth=(row.get("date_of_birth") or "").strip() or None,
                                 sport=row.get("sport"),
                                 groups=(row.get("groups") or "").split(";") if "groups" in row else None)
            except ValueError as exc:
                raise ConfigError(f"{p}:{line}: {exc}; dates are YYYY-MM-DD") from None
        return len(rows)

    def cohort(self, *, sex: str | None = None, sport: str | None = None, age_band: str | None = None,
               group: str | None = None, on: date | None = None) -> list[str]:
        """Codes of the athletes matching every filter given (age in whole years on ``on``,
        default today; athletes without a date of birth match no age band)."""
        table = self.athletes()
        keep = pd.Series(True, index=table.index)
        if sex:
            keep &= table["sex"].str.lower() == sex.lower()
        if sport:
            keep &= table["sport"].str.lower() == sport.lower()
        if group:
            keep &= table["groups"].map(lambda g: group in g.split(",") if g else False)
        if age_band:
            lo, hi = _age_band(age_band)
            when = on or date.today()
            keep &= table["date_of_birth"].map(
                lambda d: bool(d) and lo <= _age(date.fromisoformat(d), when) <= hi)
        return table.loc[keep, "code"].tolist()

    # -- history and statistics -----------------------------------------------------------
    def history(self, athlete: str | Sequence[str] | None = None, *, test: str | None = None,
                metric: str | Sequence[str] | None = None, best: bool = False,
                all_versions: bool = False, valid_only: bool = False) -> pd.DataFrame:
        """An athlete's (or several, or everyone's) stored metrics as a tidy table.

        Parameters
        ----------
        athlete : str or sequence of str, optional
        test, metric : optional filters
        best : bool
            One row per session x test x side x metric: its best valid trial, with
            ``n_valid`` and ``mean`` (see :func:`labkit.db.query.best_per_session`).
        all_versions : bool
            Every stored result version, not only each session's newest.
        valid_only : bool
            Only valid trials.
        """
        codes = [athlete] if isinstance(athlete, str) else athlete
        conn = self.engine.connect()
        if self.engine.dialect.name == "postgresql":  # its queries read one snapshot (SQLite's do)
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn:
            table = query.history_table(conn, athletes=codes, test=test, metric=metric,
                                        all_versions=all_versions, valid_only=valid_only)
        return query.best_per_session(table) if best else table

    def reliability(self, test: str, metric: str, *, athletes: Sequence[str] | None = None,
                    n_baseline: int = 1) -> tuple[stats.TypicalError, float]:
        """Typical error and smallest worthwhile change of a test's metric from the cohort
        (``athletes``, default everyone)."""
        table = self.history(athletes, test=test, metric=metric)
        return (stats.typical_error(table, metric),
                stats.smallest_worthwhile_change(table, metric, n_baseline=n_baseline))

    def changes(self, athlete: str | Sequence[str] | None, test: str, metric: str, *,
                cohort: Sequence[str] | None = None, n_baseline: int = 1) -> pd.DataFrame:
        """Sessions against the baseline, flagged by the cohort's TE and SWC
        (:func:`labkit.db.stats.changes`)."""
        te, swc = self.reliability(test, metric, athletes=cohort, n_baseline=n_baseline)
        table = self.history(athlete, test=test, metric=metric)
        return stats.changes(table, metric, te=te.te, swc=swc, n_baseline=n_baseline)

    def cohort_scores(self, test: str, metric: str, **filters: Any) -> pd.DataFrame:
        """z-scores and percentiles of each athlete's latest session within the cohort that
        ``filters`` (sex, sport, age_band, group) select."""
        codes = self.cohort(**filters) if filters else None
        return stats.cohort_scores(self.history(codes, test=test, metric=metric), metric)
