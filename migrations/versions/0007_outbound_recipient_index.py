"""An index of outbound messages by recipient: how a number is erased or exported.

Erasing a number (`python app.py erase`, and the retention sweep, which
erases every number silent for RETENTION_DAYS within a budget a run) and
exporting what is held about it find the replies sent to it by recipient.
Without this index each of them read the whole outbox: a national
deployment's retention run could erase only a few numbers before its budget
ran out, and fell further behind every day.

Built CONCURRENTLY on PostgreSQL: the outbox takes its writes meanwhile
(a plain build would hold every reply being filed until it finished).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.create_index("ix_outbound_recipient", "outbound_messages", ["recipient"])
        return
    with op.get_context().autocommit_block():
        # A build interrupted earlier leaves an invalid index of this name: built again.
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_outbound_recipient")
        op.create_index(
            "ix_outbound_recipient",
            "outbound_messages",
            ["recipient"],
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    op.drop_index("ix_outbound_recipient", table_name="outbound_messages")
