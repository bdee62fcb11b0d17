"""A wait for the filing turn that gives up: lapor_wait_turn(turn, wait_ms) (PostgreSQL).

A worker that finds a partial group while another files waits for that one's
commit (handlers/jobs.py claim_group). A filer that never commits (its
process stopped, hung in a driver, its connection half-open) held every
other worker in that wait for ever: no complaint was filed on any worker
until its transaction ended. The wait now gives up after `wait_ms` and
answers false, in one round trip as before (the exception block is what
keeps the caller's transaction usable once lock_timeout fires).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION lapor_wait_turn(turn bigint, wait_ms integer)
        RETURNS boolean LANGUAGE plpgsql AS $$
        DECLARE
            before text := current_setting('lock_timeout');
        BEGIN
            PERFORM set_config('lock_timeout', wait_ms::text, true);
            PERFORM pg_advisory_xact_lock(turn);
            PERFORM set_config('lock_timeout', before, true);
            RETURN true;
        EXCEPTION WHEN lock_not_available THEN
            RETURN false;  -- the block's setting is rolled back with it
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS lapor_wait_turn(bigint, integer)")
