"""Tracking numbers: sequential, at least seven digits, never reused.

PostgreSQL hands them out from a sequence (no lock held across the
transaction; a rolled-back number is skipped, never reused), as the column's
default since migration 0006: a group's INSERT draws them, no statement of
its own. SQLite has no sequences; its single writer makes a counter row just
as safe.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from models.db import on_postgresql

FIRST_TRACKING_NUMBER = 1000001
SEQUENCE = "tracking_number_seq"


def next_tracking_number(session: Session) -> int:
    return next_tracking_numbers(session, 1)[0]


def drawn_in_insert(session: Session, count: int) -> list[int] | None:
    """`count` numbers for complaints about to be inserted; None where the INSERT draws them
    (PostgreSQL: the column's default), saving a round trip a group."""
    return None if on_postgresql(session) else next_tracking_numbers(session, count)


def next_tracking_numbers(session: Session, count: int) -> list[int]:
    """`count` new numbers, ascending, in one statement: a group of complaints filed at once."""
    if on_postgresql(session):
        drawn = session.scalars(
            text(f"SELECT nextval('{SEQUENCE}') FROM generate_series(1, :count)"),
            {"count": count},
        )
        return sorted(int(n) for n in drawn)
    last = session.execute(
        text("UPDATE counters SET value = value + :count WHERE name = 'tracking' RETURNING value"),
        {"count": count},
    ).scalar_one()
    return list(range(int(last) - count + 1, int(last) + 1))
