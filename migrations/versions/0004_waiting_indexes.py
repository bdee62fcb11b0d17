"""Partial indexes of what is waiting: inbound messages to handle, outbox rows to send.

A claim reads only these rows; with the old full index on inbound state (or
none for the outbox), PostgreSQL's plan for a prepared claim walked the
primary key through every message ever received (see models.base.in_state).
Building them reads each table once, holding its writes meanwhile (about a
second per million rows).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INBOUND_WAITING = sa.text("state = 'received'")
OUTBOUND_WAITING = sa.text("status = 'queued'")


def upgrade() -> None:
    op.create_index(
        "ix_inbound_waiting",
        "inbound_messages",
        ["id"],
        postgresql_where=INBOUND_WAITING,
        sqlite_where=INBOUND_WAITING,
    )
    op.create_index(
        "ix_outbound_waiting",
        "outbound_messages",
        ["channel", "link", "id"],
        postgresql_where=OUTBOUND_WAITING,
        sqlite_where=OUTBOUND_WAITING,
    )
    op.drop_index("ix_inbound_messages_state", table_name="inbound_messages")


def downgrade() -> None:
    op.create_index("ix_inbound_messages_state", "inbound_messages", ["state"])
    op.drop_index("ix_outbound_waiting", table_name="outbound_messages")
    op.drop_index("ix_inbound_waiting", table_name="inbound_messages")
