"""The database's tables (SQLAlchemy Core), as migration ``0001`` creates them.

One row per athlete, group, session file, results group of a session (a *result
version*), trial of a result version and metric of a trial. The HDF5 files are the source
of truth: every row but the roster (athletes' name, date of birth, sex, sport and groups)
can be rebuilt from them (docs/database.md).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["athlete_groups", "athletes", "groups", "metadata", "metrics", "provenance", "results",
           "sessions", "trials"]

metadata = MetaData()

athletes = Table(
    "athletes", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(200), nullable=False, unique=True),
    Column("name", String(200)),
    Column("date_of_birth", Date),
    Column("sex", String(20)),
    Column("sport", String(100)),
)

groups = Table(
    "groups", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
)

athlete_groups = Table(
    "athlete_groups", metadata,
    Column("athlete_id", Integer, ForeignKey("athletes.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)

sessions = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("session_uid", String(64), nullable=False, unique=True),  # the file's session_id
    Column("athlete_id", Integer, ForeignKey("athletes.id"), nullable=False, index=True),
    Column("path", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),  # SHA-256 of the file's bytes
    Column("date", Date),
    Column("created_utc", String(40)),
    Column("protocol", String(200)),
    Column("status", String(40)),
    Column("labkit_version", String(40)),  # of the labkit that recorded the file
    Column("current_result_id", Integer),  # the newest result version (labkit.analyze's default)
    Column("ingested_utc", DateTime(timezone=True)),
)

results = Table(
    "results", metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),  # results group: protocol, analysis, analysis-2
    Column("position", Integer, nullable=False),  # order in the file: the newest is the largest
    Column("method", String(200)),
    Column("params", Text),  # the group's provenance params (JSON)
    Column("labkit_version", String(40)),
    Column("ingested_utc", DateTime(timezone=True)),
    UniqueConstraint("session_id", "name", name="uq_results_session_name"),
)

provenance = Table(
    "provenance", metadata,
    Column("id", Integer, primary_key=True),
    Column("result_id", Integer, ForeignKey("results.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("method", String(200), nullable=False),
    Column("params", Text, nullable=False),  # JSON, as the tidy table's params column
)

trials = Table(
    "trials", metadata,
    Column("id", Integer, primary_key=True),
    Column("result_id", Integer, ForeignKey("results.id", ondelete="CASCADE"), nullable=False),
    Column("trial", Integer, nullable=False),
    Column("test", String(100), nullable=False),
    Column("label", String(200), nullable=False),
    Column("side", String(20), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("valid_analysis", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    UniqueConstraint("result_id", "trial", name="uq_trials_result_trial"),
)

metrics = Table(
    "metrics", metadata,
    Column("id", Integer, primary_key=True),
    Column("trial_id", Integer, ForeignKey("trials.id", ondelete="CASCADE"), nullable=False),
    Column("metric", String(200), nullable=False),
    Column("value", Float),  # NULL where the tidy table has NaN
    Column("unit", String(40), nullable=False),
    Column("provenance_id", Integer, ForeignKey("provenance.id", ondelete="CASCADE"), nullable=False),
    UniqueConstraint("trial_id", "metric", name="uq_metrics_trial_metric"),
)

Index("ix_metrics_metric", metrics.c.metric)
Index("ix_trials_test", trials.c.test)
