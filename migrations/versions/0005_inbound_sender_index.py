"""An index of inbound messages by sender: how an officer is texted back.

Every complaint routed to an agency texts its officers on the channel each
last wrote from (models.actions.officer_channel): the newest message of a
sender. Without this index PostgreSQL walked the primary key backwards
through every message ever received for an officer who never texted (24 ms
with 200,000 messages, growing with the table), once per officer and group.
Building it reads the table once, holding its writes meanwhile.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inbound_sender", "inbound_messages", ["sender", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_sender", table_name="inbound_messages")
