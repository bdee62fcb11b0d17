"""Tracking numbers drawn by the complaints INSERT itself (PostgreSQL).

A worker's group drew its numbers with a statement of their own (nextval
over generate_series), a round trip in every group before the INSERT that
used them. The column's default draws from the same sequence, so the
INSERT draws them and RETURNING gives them back (models.tracking
drawn_in_insert). SQLite keeps its counter row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE complaints ALTER COLUMN tracking_number"
            " SET DEFAULT nextval('tracking_number_seq')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE complaints ALTER COLUMN tracking_number DROP DEFAULT")
