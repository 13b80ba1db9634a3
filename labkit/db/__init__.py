"""The lab's athlete and session database: catalogue, ingest, history, statistics, reports.

SQLAlchemy 2 (Core) with Alembic migrations; SQLite by default (one file in the lab
folder), PostgreSQL by URL for a multi-user lab. The HDF5 session files stay the source of
truth and the database can be rebuilt from them. See docs/database.md.

>>> from labkit.db import connect  # doctest: +SKIP
>>> db = connect("sqlite:///lab.db", init=True)  # doctest: +SKIP

Importing :mod:`labkit` never imports this package (nor SQLAlchemy); it needs the ``db``
extra: ``pip install "labkit[db]"``.
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401
except ImportError:  # pragma: no cover - the extra is missing
    from labkit.errors import ConfigError

    raise ConfigError('the database needs SQLAlchemy, Alembic and psycopg: pip install "labkit[db]"'
                      ) from None

from labkit.db.database import Database, connect
from labkit.db.ingest import IngestReport

__all__ = ["Database", "IngestReport", "connect"]
