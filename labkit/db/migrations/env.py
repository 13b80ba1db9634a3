"""Alembic environment of labkit's database: run by :func:`labkit.db.engine.upgrade`, which
hands over an open connection (``config.attributes["connection"]``) inside the transaction
that holds the migration lock."""

from __future__ import annotations

from alembic import context

from labkit.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
context.run_migrations()
