"""SMPP: durable parts of concatenated MO messages until the whole has arrived.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "smpp_mo_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("total", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("data_coding", sa.SmallInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_smpp_mo_parts_inbound_id_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_mo_parts")),
        sa.UniqueConstraint("link", "digest", name=op.f("uq_smpp_mo_parts_link_digest")),
    )
    with op.batch_alter_table("smpp_mo_parts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_smpp_mo_parts_group", ["link", "sender", "recipient", "ref", "total"], unique=False
        )
        batch_op.create_index(
            "ix_smpp_mo_parts_open", ["link", "inbound_id", "received_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("smpp_mo_parts")
