"""Which database, and how to talk to it: the URL, the engine, the migrations.

The URL comes from ``--db URL`` / the ``url`` argument, else the ``LABKIT_DB`` environment
variable, else the lab config (``database:`` in ``./labkit-lab.yaml``, or in the file
``LABKIT_LAB_CONFIG`` names). SQLite (one file in the lab folder, ``sqlite:///lab.db``) is the
default kind; PostgreSQL (``postgresql+psycopg://user@host/db``) serves a multi-user lab.
A URL is only ever shown with its password hidden (:func:`safe_url`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from labkit.errors import ConfigError

__all__ = ["LAB_CONFIG", "check_current", "configured_url", "make_engine", "safe_url", "upgrade"]

#: the lab config file looked for in the current folder
LAB_CONFIG = "labkit-lab.yaml"
_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK = 0x6C61626B  # pg_advisory_xact_lock key of the migrations ("labk")


def _lab_config_url() -> tuple[str | None, str]:
    import yaml

    path = Path(os.environ.get("LABKIT_LAB_CONFIG") or LAB_CONFIG)
    if not path.is_file():
        if os.environ.get("LABKIT_LAB_CONFIG"):
            raise ConfigError(f"LABKIT_LAB_CONFIG={path}: no such file; create it (database: URL) "
                              "or unset the variable")
        return None, ""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the lab config ({str(exc).splitlines()[0]}); "
                          "fix the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the lab config must be a mapping, e.g. 'database: sqlite:///lab.db'")
    url = data.get("database")
    if url is not None and not isinstance(url, str):
        raise ConfigError(f"{path}: database must be a URL string, e.g. 'sqlite:///lab.db'")
    return url, str(path)


def configured_url(url: str | None = None, *, required: bool = True) -> str | None:
    """The database URL: ``url``, else ``LABKIT_DB``, else the lab config's ``database:``.

    Parameters
    ----------
    url : str, optional
        An explicit URL (``--db``).
    required : bool
        Raise when no database is configured (else return ``None``).

    Returns
    -------
    str or None
    """
    if url:
        return url
    if os.environ.get("LABKIT_DB"):
        return os.environ["LABKIT_DB"]
    found, _ = _lab_config_url()
    if found:
        return found
    if required:
        raise ConfigError(f"no database configured; pass --db URL (e.g. --db sqlite:///lab.db), set "
                          f"LABKIT_DB, or write 'database: sqlite:///lab.db' in {LAB_CONFIG}")
    return None


def safe_url(url: Any) -> str:
    """The URL with its password hidden (``postgresql+psycopg://lab:***@host/db``)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show its scheme only, never the rest
        return str(url).split(":", 1)[0] + ":..."


def _parse(url: str):
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"--db {safe_url(url)}: not a database URL; use e.g. sqlite:///lab.db or "
                          "postgresql+psycopg://user@host/dbname") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"--db {safe_url(url)}: unsupported database "
                          f"{parsed.get_backend_name()!r}; use sqlite:/// or postgresql+psycopg://")
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, the `db` extra
    return parsed


def _sqlite_setup(engine: Any) -> None:
    """SQLite: WAL (readers never block the writer), foreign keys, a 60 s busy wait, and
    transactions that take the write lock when they begin when asked
    (``execution_options(immediate=True)``), so concurrent ingesters queue instead of failing."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's begin event below emits BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 60000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate")
                             else "BEGIN")


def make_engine(url: str):
    """An SQLAlchemy engine for ``url`` (see the module docstring).

    Raises
    ------
    labkit.errors.ConfigError
        Not a URL, an unsupported database, or a SQLite file in a missing folder.
    """
    from sqlalchemy import create_engine

    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database or ""
        if db and db != ":memory:":
            folder = Path(db).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigError(f"--db {safe_url(url)}: folder {folder} does not exist; create it "
                                  "or choose another path")
        engine = create_engine(parsed, connect_args={"timeout": 60})
        _sqlite_setup(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)


def _alembic_config(connection: Any):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration this labkit knows."""
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def reachable(engine: Any, url: str) -> None:
    """Connect once; a server, user, password or database problem is one line naming the URL
    (password hidden) and the fix."""
    from sqlalchemy.exc import DBAPIError

    try:
        engine.connect().close()
    except DBAPIError as exc:
        reason = " ".join(str(exc.orig).split()) if exc.orig is not None else type(exc).__name__
        raise ConfigError(f"--db {safe_url(url)}: cannot connect ({reason[:300]}); check the server, "
                          "the database name, the user and the password (PGPASSWORD or ~/.pgpass)"
                          ) from None


def current_revision(engine: Any) -> str | None:
    """The migration the database is at (``None`` before ``labkit db init``)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Any) -> str:
    """Create or migrate the tables to the newest revision; safe when several processes do it
    at once (one lock: SQLite's write lock, PostgreSQL's advisory lock). Returns the revision."""
    from alembic import command
    from sqlalchemy import text

    with engine.connect().execution_options(immediate=True) as conn:
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
            command.upgrade(_alembic_config(conn), "head")
        return current_revision(engine) or ""


def check_current(engine: Any, url: str) -> None:
    """Refuse a database that ``labkit db init`` has not created, or that a newer labkit made."""
    reachable(engine, url)
    have = current_revision(engine)
    if have is None:
        raise ConfigError(f"--db {safe_url(url)}: no labkit database there yet; run "
                          f"`labkit db init --db {safe_url(url)}` first")
    if have != head_revision():
        raise ConfigError(f"--db {safe_url(url)}: the database is at migration {have}, this labkit "
                          f"expects {head_revision()}; run `labkit db init` to migrate it (or update "
                          "labkit)")
