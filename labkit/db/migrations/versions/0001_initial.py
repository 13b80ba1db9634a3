"""The catalogue: athletes, groups, sessions, result versions, provenance, trials, metrics.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "athletes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(200), nullable=False, unique=True),
        sa.Column("name", sa.String(200)),
        sa.Column("date_of_birth", sa.Date),
        sa.Column("sex", sa.String(20)),
        sa.Column("sport", sa.String(100)),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
    )
    op.create_table(
        "athlete_groups",
        sa.Column("athlete_id", sa.Integer, sa.ForeignKey("athletes.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"),
                  primary_key=True),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_uid", sa.String(64), nullable=False, unique=True),
        sa.Column("athlete_id", sa.Integer, sa.ForeignKey("athletes.id"), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("date", sa.Date),
        sa.Column("created_utc", sa.String(40)),
        sa.Column("protocol", sa.String(200)),
        sa.Column("status", sa.String(40)),
        sa.Column("labkit_version", sa.String(40)),
        sa.Column("current_result_id", sa.Integer),
        sa.Column("ingested_utc", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_sessions_athlete_id", "sessions", ["athlete_id"])
    op.create_table(
        "results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("method", sa.String(200)),
        sa.Column("params", sa.Text),
        sa.Column("labkit_version", sa.String(40)),
        sa.Column("ingested_utc", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("session_id", "name", name="uq_results_session_name"),
    )
    op.create_table(
        "provenance",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
    )
    op.create_index("ix_provenance_result_id", "provenance", ["result_id"])
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("trial", sa.Integer, nullable=False),
        sa.Column("test", sa.String(100), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("side", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("valid_analysis", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint("result_id", "trial", name="uq_trials_result_trial"),
    )
    op.create_index("ix_trials_test", "trials", ["test"])
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("provenance_id", sa.Integer, sa.ForeignKey("provenance.id", ondelete="CASCADE"),
                  nullable=False),
        sa.UniqueConstraint("trial_id", "metric", name="uq_metrics_trial_metric"),
    )
    op.create_index("ix_metrics_metric", "metrics", ["metric"])


def downgrade() -> None:
    for table in ("metrics", "trials", "provenance", "results", "sessions", "athlete_groups",
                  "groups", "athletes"):
        op.drop_table(table)
