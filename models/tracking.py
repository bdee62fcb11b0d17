"""Tracking numbers: sequential, at least seven digits, never reused.

PostgreSQL hands them out from a sequence (no lock held across the
transaction; a rolled-back number is skipped, never reused). SQLite has no
sequences; its single writer makes a counter row just as safe.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

FIRST_TRACKING_NUMBER = 1000001
SEQUENCE = "tracking_number_seq"


def next_tracking_number(session: Session) -> int:
    if session.get_bind().dialect.name == "postgresql":
        return int(session.execute(text(f"SELECT nextval('{SEQUENCE}')")).scalar_one())
    return int(
        session.execute(
            text("UPDATE counters SET value = value + 1 WHERE name = 'tracking' RETURNING value")
        ).scalar_one()
    )
